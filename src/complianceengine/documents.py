"""One registry of renderers for everything the commands write.

A document (the audit ``report``, ``check``'s ``diagnostics``, ``test``'s ``cases``, ``explain``'s
``explanation``) is rendered in a format by :func:`render_document` (as text) or
:func:`document_output` (ready to write: the JSON report a finding at a time, the workbook as
bytes). Report formats come from the ``complianceengine_reporters`` hook (built-ins and plugins
alike); the others are built in here. JUnit XML is written by :mod:`complianceengine.junit` alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from . import casetests, lint
from .errors import UsageError
from .explain import Explanation, render_explanation
from .findings import Report
from .model import Ruleset
from .plugins import Plugins
from .report import Rendered, render, rendered_report

__all__ = ["CaseRun", "CheckResult", "FORMATS", "document_output", "render_document"]


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


def document_output(
    document: str, format: str, data: Report | CheckResult | CaseRun | Explanation, plugins: Plugins | None = None
) -> Rendered:
    """``data`` in ``format``, ready to write (:class:`~complianceengine.report.Rendered`): a report
    format as the format says (the JSON report is written a finding at a time, a county's report
    being gigabytes; the workbook as bytes); everything else as text rendered now (so a failing
    renderer fails here, before anything is written)."""
    if document == "report":
        assert isinstance(data, Report)
        return rendered_report(data, format, plugins)
    text = render_document(document, format, data, plugins)

    def write(stream: IO[Any]) -> None:
        stream.write(text)

    return Rendered(write)


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
