"""One registry of renderers for everything the commands write.

A document (the audit ``report``, ``check``'s ``diagnostics``, ``test``'s ``cases``, ``explain``'s
``explanation``) is rendered in a format by :func:`render_document`. Report formats come from the
``complianceengine_reporters`` hook (built-ins and plugins alike); the others are built in here.
JUnit XML is written by :mod:`complianceengine.junit` alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import casetests, lint
from .errors import UsageError
from .explain import Explanation, render_explanation
from .findings import Report
from .model import Ruleset
from .plugins import Plugins
from .report import json_chunks, render

__all__ = ["CaseRun", "CheckResult", "FORMATS", "document_chunks", "render_document"]


@dataclass(frozen=True)
class CheckResult:
    """What ``check`` found: each file with its ruleset (None when invalid), the diagnostics, and
    the severity from which JUnit counts a failure."""

    checked: Mapping[Path, Ruleset | None]
    diagnostics: Sequence[lint.Diagnostic]
    threshold: lint.Severity = "warning"


@dataclass(frozen=True)
class CaseRun:
    """What ``test`` ran: each case's result and each ruleset's rule coverage."""

    results: Sequence[casetests.CaseResult]
    coverage: Sequence[casetests.Coverage]


def _check_text(result: CheckResult) -> str:
    lines = [f"{path}: ruleset {r.id} {r.version}, {len(r.obligations)} obligations" for path, r in result.checked.items() if r is not None]
    return "\n".join(lines) + ("\n" if lines else "") + lint.render_text(result.diagnostics, list(result.checked))


#: document -> format -> renderer (the report's formats come from the plugins)
FORMATS: Mapping[str, Mapping[str, Callable[[Any], str]]] = {
    "diagnostics": {
        "text": _check_text,
        "json": lambda r: lint.render_json(r.diagnostics, list(r.checked)),
        "sarif": lambda r: lint.render_sarif(r.diagnostics, list(r.checked)),
        "github": lambda r: lint.render_github(r.diagnostics, list(r.checked)),
        "junit": lambda r: lint.render_junit(r.diagnostics, list(r.checked), r.threshold),
    },
    "cases": {
        "text": lambda run: casetests.render_text(run.results, run.coverage),
        "junit": lambda run: casetests.render_junit(run.results),
    },
    "explanation": {"text": render_explanation},
}


def document_chunks(
    document: str, format: str, data: Report | CheckResult | CaseRun | Explanation, plugins: Plugins | None = None
) -> Iterable[str]:
    """:func:`render_document` as pieces of text to write in order: the JSON report is made a
    finding at a time (a county's report is gigabytes); everything else in one piece, rendered
    now (so a failing renderer fails here, before anything is written)."""
    if document == "report" and format == "json":
        assert isinstance(data, Report)
        return json_chunks(data)
    return [render_document(document, format, data, plugins)]


def render_document(document: str, format: str, data: Report | CheckResult | CaseRun | Explanation, plugins: Plugins | None = None) -> str:
    """``data`` (a document of kind ``document``) as text in ``format``."""
    if document == "report":
        assert isinstance(data, Report)
        return render(data, format, plugins)
    formats = FORMATS.get(document)
    if formats is None:
        raise UsageError(f"unknown document {document!r}; use one of report, {', '.join(FORMATS)}")
    if format not in formats:
        raise UsageError(f"unknown {document} format {format!r}; use one of {', '.join(formats)}")
    return formats[format](data)
