"""Hook specifications: the extension points local plugins implement (with pluggy).

A plugin is any object or module with functions named like the hooks below, marked with
:data:`hookimpl`. Plugins reach an audit three ways: passed explicitly to
:class:`complianceengine.plugins.Plugins`, installed under the ``complianceengine`` entry-point
group, or built in (complianceengine's own renderers are registered as an internal plugin).

``firstresult`` hooks stop at the first plugin that returns something other than ``None``
(the most recently registered plugin is asked first, built-ins last). The other hooks collect
every plugin's result.
"""

# Hook specifications are signatures that pluggy reads and never calls, so their bodies are only
# docstrings; mypy would report every one with a return type as an empty body.
# mypy: disable-error-code="empty-body"

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # imported for annotations only, to keep this module free of cycles
    from .findings import Finding, Report
    from .model import Calendar, Ruleset
    from .kinds import ObligationKind
    from .formats import ReportFormat

PROJECT = "complianceengine"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def complianceengine_calendar_providers() -> list[str]:
    """Names of the calendar providers you implement (the ``provider:`` of a ruleset calendar).

    Lets ``check`` and the audit tell a missing provider apart without computing any windows.
    Collected from every plugin; a provider named by two plugins goes to the one asked first.
    """


@hookspec(firstresult=True)
def complianceengine_calendar_windows(
    name: str, calendar: Calendar, first_day: dt.date, last_day: dt.date, timezone: str, base_dir: Path
) -> list[tuple[dt.datetime, dt.datetime]] | None:
    """Windows of a calendar whose ruleset entry names a ``provider`` (holidays, tide windows,
    campaigns from an external source).

    Return the ``(start, end)`` instants (timezone-aware, end excluded) that overlap the local
    days ``first_day`` to ``last_day``, or ``None`` when ``calendar.provider`` is not yours.
    ``calendar.options`` carries the provider's settings from the ruleset; relative file paths in
    them are relative to ``base_dir``, the folder of the ruleset file that declares the calendar. Raise (with a message a ruleset
    author understands) when you cannot answer for the range, e.g. a tide table that ends too
    early: an empty list means "no windows", never "unknown". firstresult.
    """


@hookspec(firstresult=True)
def complianceengine_read_events(path: Path, ruleset: Ruleset) -> Iterable[tuple[int, str, dict[str, Any]]] | None:
    """Read an events file the built-in JSONL and CSV readers do not handle.

    Return ``(line number, raw text, record)`` for every record, or ``None`` when the file is not
    yours. A record has the core fields (``id``, ``kind``, ``time``, ...) and an ``attributes``
    mapping; it is validated and typed like any other event, and a bad one becomes a reject with
    your line number. firstresult.
    """


@hookspec(firstresult=True)
def complianceengine_normalise_record(record: dict[str, Any], path: Path, ruleset: Ruleset) -> dict[str, Any] | None:
    """Map one raw record from a platform's export (its own field names, codes, formats) to the
    standard record shape, before validation.

    Called for every record of every source (a hook call each: where speed matters, give a
    function per file with :func:`complianceengine_record_normaliser`). Return a new record (do
    not modify the one you are given), or ``None`` when the record is not in your platform's
    shape. firstresult.
    """


@hookspec
def complianceengine_record_normaliser(path: Path, ruleset: Ruleset) -> Callable[[dict[str, Any]], dict[str, Any] | None] | None:
    """A function that maps the raw records of one events file from a platform's export to the
    standard record shape, before validation: :func:`complianceengine_normalise_record` asked once
    per file instead of once per record (a million-line file costs a million calls of your
    function, not a million hook calls).

    Return ``None`` when no record of ``path`` can be yours. The function is given a copy of each
    record (the core fields and an ``attributes`` dict) and returns a new record, or ``None``
    when the record is not in your platform's shape. Collected: the functions are asked in hook
    call order and the first record returned wins; ``complianceengine_normalise_record`` is asked
    only when none of them answers.

    Give the function a ``keys`` attribute (a collection of texts, e.g. your export's column
    headers) when it returns ``None`` for every record that has none of these keys, at the top or
    in ``attributes``: a reader that screens lines in bulk (the DuckDB engine,
    :mod:`complianceengine.screen`) then hands it only the records with one of them. Without
    ``keys`` every record of the file is read line by line in Python.

    Give it a ``table`` attribute as well to map the records of a CSV file in bulk:
    ``table(records)`` gets a pyarrow table of the records of some of the file's lines (a column
    per header, texts, an empty cell null, ``participants`` a list of texts) and returns
    ``(normalised, kept)``: a pyarrow table of the normalised records, row for row (a column per
    core field or attribute, null where a record has none: texts, true/false or whole numbers,
    ``participants`` a list of texts), and a boolean pyarrow array saying for which rows that
    table holds exactly what the function returns for the record, its attributes in the same
    order (the table's column order). DuckDB screens those (their
    texts typed as a CSV cell's are), and the function is asked for every other row, so a row the
    table function is not sure of costs only speed. The DuckDB reader uses it when this is the
    only function of the file answering to its columns.
    """


@hookspec
def complianceengine_obligation_kinds() -> dict[str, ObligationKind]:
    """Obligation kinds you add: kind name (the ``kind:`` in a ruleset) -> :class:`ObligationKind`,
    which names the pydantic model of the obligation (a subclass of
    :class:`~complianceengine.model.ObligationBase` with ``kind: Literal[name]``) and its evaluator.

    Obligations of the kind are validated with your model when the ruleset is loaded (errors are
    located in the YAML file like any other), their ``applies_to`` targets and ``match`` are
    compiled by the core when the model has those fields, and your evaluator is called with the
    plan, the compiled obligation and the known events in time order. Collected from every
    plugin; a kind provided twice, or clashing with a built-in kind, is an error.
    """


@hookspec
def complianceengine_process_findings(findings: list[Finding], ruleset: Ruleset) -> list[Finding] | None:
    """Post-process findings (add notes, route, escalate) before the report is built.

    Return a replacement list, or ``None`` to leave the findings as they are. Plugins run in turn,
    each receiving the previous one's result. Findings are frozen: use ``model_copy(update=...)``, which
    validates the new values (an unknown field or a wrong type raises ``pydantic.ValidationError``).
    """


@hookspec
def complianceengine_reporters() -> dict[str, Callable[[Report], str] | ReportFormat]:
    """Report formats you provide: format name -> a function rendering a report as text, or a
    :class:`~complianceengine.report.ReportFormat` for anything else:

    - ``ReportFormat(render=f, binary=True)``: ``f(report)`` returns the whole report as ``bytes``;
    - ``ReportFormat(write=f)``: ``f(report, stream)`` writes it piece by piece to a text stream
      (a report too large to hold at once); with ``binary=True`` to a binary stream (a workbook,
      a PDF; a library that writes to a file object).

    The command line writes a format to ``--output`` through a temporary file renamed over it, so
    a format that fails half-way leaves nothing behind (the report is then kept as JSON); to
    standard output, a plugin's ``write`` is held until it has finished. Binary formats are never
    written to a terminal. Collected from every plugin; a name provided twice is an error."""


@hookspec
def complianceengine_notify(findings: list[Finding], report: Report) -> None:
    """Called after an audit with the findings that are not met (``open``, ``late``,
    ``missed``), e.g. to send them to a duty platform. Every notifier is called."""
