"""Exceptions raised by complianceengine.

Every error is a :class:`ComplianceError` and carries *where* (file, line, column, or the path of
the offending value inside a document) and *what was expected*, so a ruleset author can fix the
input without reading Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file and, when known, a 1-based line and column."""

    file: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input document."""

    location: Location
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.location}: {where}{self.message}"


class ComplianceError(Exception):
    """Base class of every error complianceengine raises on purpose."""


class InputError(ComplianceError):
    """An input document (ruleset, registry, events file) is invalid.

    ``problems`` lists every located problem found, not just the first one.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RulesetError(InputError):
    """The ruleset is malformed or refers to things it does not declare."""


class RegistryError(InputError):
    """The registry is malformed or does not fit the ruleset."""


class EventSourceError(InputError):
    """An events file cannot be read at all (missing, unknown format).

    Individual malformed events are *not* raised: they are collected as rejects.
    """


class UsageError(ComplianceError):
    """An API or command-line argument is invalid (a bad date range, an unknown format)."""


class MissingPluginError(ComplianceError):
    """The ruleset needs a plugin (e.g. a calendar provider) that is not installed or registered."""


class PluginError(ComplianceError):
    """A plugin failed: it raised inside a hook, could not be loaded, or returned the wrong thing.

    ``plugin`` names it, ``hook`` says where, so a failure never goes unattributed.
    """

    def __init__(self, plugin: str, hook: str, message: str):
        self.plugin = plugin
        self.hook = hook
        super().__init__(f"plugin {plugin!r} failed in {hook}: {message}")


class EngineError(ComplianceError):
    """The live monitor's matching engine failed (durable-rules refused a fact or one of its
    actions raised): the engine's state is no longer known to be right; start a new monitor
    (``Monitor.restore`` from the last snapshot)."""


class NotificationError(ComplianceError):
    """One or more notifiers failed after the audit. Every notifier was still called, and the
    audit's result is intact: ``report`` holds it, ``failures`` the errors of each notifier."""

    def __init__(self, report: Any, failures: list[PluginError]):
        self.report = report
        self.failures = failures
        super().__init__("; ".join(str(f) for f in failures))
