"""Renderers: a :class:`~complianceengine.findings.Report` as JSON, Markdown or CSV text."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator

from .errors import PluginError, UsageError
from .findings import Report, StatusCounts
from .plugins import Plugins
from .timeframes import local

__all__ = ["BUILTIN_FORMATS", "json_chunks", "render"]


def render(report: Report, format: str = "markdown", plugins: Plugins | None = None) -> str:
    """The report as text in ``format``: a built-in one (markdown, json, csv) or one a plugin adds."""
    formats = (plugins or Plugins()).reporters()
    try:
        plugin, renderer = formats[format]
    except KeyError:
        raise UsageError(f"unknown report format {format!r}; use one of {', '.join(formats)}") from None
    try:
        text = renderer(report)
    except (Exception, SystemExit) as exc:
        raise PluginError(plugin, f"report format {format!r}", f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(text, str):
        raise PluginError(plugin, f"report format {format!r}", f"returned {type(text).__name__}, not text")
    return text


def _json(report: Report) -> str:
    return "".join(json_chunks(report))


def json_chunks(report: Report) -> Iterator[str]:
    """The JSON report a piece at a time: everything but the findings, then one finding after
    another, so that writing the report of a million findings never holds all of its text."""
    head = report.model_dump_json(indent=2, exclude={"findings"})
    yield head[: head.rindex("}")].rstrip() + ',\n  "findings": ['
    for index, finding in enumerate(report.findings):
        yield ("," if index else "") + "\n" + finding.model_dump_json(indent=2)
    yield "\n  ]\n}\n"


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _counts(counts: StatusCounts) -> list[str]:
    return [str(counts.met), str(counts.late), str(counts.missed), str(counts.open), str(counts.excused), str(counts.not_applicable)]


_CONTROL = dict.fromkeys([*range(0, 32), 127], " ")
_HTML = {ord("<"): "&lt;", ord(">"): "&gt;", ord("&"): "&amp;"}


def _cell(text: object) -> str:
    """A Markdown table cell: control characters (line breaks included) become spaces, ``|`` is
    escaped, and ``<``, ``>``, ``&`` are entities, so names from the input cannot break the table
    or inject HTML."""
    return str(text).translate(_CONTROL).translate(_HTML).replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _markdown(report: Report) -> str:
    total = report.counts
    out = [
        f"# Compliance audit: {report.title}",
        "",
        f"Ruleset `{report.ruleset}` version {report.ruleset_version}; days {report.first_day} to {report.last_day} "
        f"({report.timezone}); as of {local(report.as_of, report.timezone).format('YYYY-MM-DD HH:mm')}.",
        f"{report.events_used} events used, {len(report.rejects)} rejected, {len(report.duplicates)} duplicate ids."
        + (f" The verdicts look back to {local(report.looked_back_to, report.timezone).format('YYYY-MM-DD HH:mm')}."
           if report.looked_back_to is not None else ""),
        "",
        *[f"> Warning: {_cell(w)}" for w in report.warnings],
        *([""] if report.warnings else []),
        f"**{total.met} met, {total.late} late, {total.missed} missed, {total.open} open, {total.excused} excused, "
        f"{total.not_applicable} not applicable; compliance rate {_rate(total.rate)}.**",
        "",
        "## By obligation",
        "",
    ]
    out += _table(
        ["obligation", "kind", "cited", "met", "late", "missed", "open", "excused", "n/a", "rate"],
        [
            [f"{o.obligation}{' (assumed)' if o.assumed else ''}", o.kind, o.cited, *_counts(o.counts), _rate(o.rate)]
            for o in report.obligations
        ],
    )
    out += ["", "## By unit (each unit includes the units below it)", ""]
    out += _table(
        ["unit", "kind", "met", "late", "missed", "open", "excused", "n/a", "rate"],
        [["\u2003" * u.depth + (f"{u.name.zh or u.name.en} ({u.unit})" if u.name else u.unit), u.kind, *_counts(u.counts), _rate(u.rate)] for u in report.units],
    )
    problems = [f for f in report.findings if f.status not in ("met", "excused", "not_applicable")]
    problems.sort(key=lambda f: (-f.severity, f.obligation, f.period.start))
    out += ["", f"## Findings that are not met ({len(problems)})", ""]
    if problems:
        out += _table(
            ["status", "obligation", "cited", "subject", "unit", "period", "required", "observed", "evidence"],
            [
                [
                    f.status, f.obligation + (f" / {f.step}" if f.step else ""), f.cited, str(f.subject), f.unit or "-",
                    f.period.label, f.required, f.observed, ", ".join(f.evidence) or "-",
                ]
                for f in problems
            ],
        )
    else:
        out.append("None.")
    excused = [f for f in report.findings if f.excused_by]
    if excused:
        out += ["", f"## Exemptions applied ({len(excused)} findings)", ""]
        out += _table(
            ["status", "obligation", "subject", "period", "excused by", "note"],
            [[f.status, f.obligation, str(f.subject), f.period.label, ", ".join(f.excused_by), f.note or "-"] for f in excused],
        )
    unjudged = [o for o in report.obligations if o.not_judged]
    if unjudged:
        out += ["", f"## Not judged ({len(unjudged)} obligations)", ""]
        out += [f"- `{o.obligation}` ({o.cited}): {o.not_judged}" for o in unjudged]
    assumed = [o for o in report.obligations if o.assumed]
    if assumed:
        out += ["", "## Assumed requirements", "", "These numbers are the ruleset's choice; the source document does not give them:", ""]
        out += [f"- `{o.obligation}` ({o.cited}): {'; '.join(o.assumptions)}" for o in assumed]
    if report.rejects:
        out += ["", f"## Rejected events ({len(report.rejects)})", ""]
        out += _table(["where", "reasons", "line"], [[f"{r.file}:{r.line}", "; ".join(r.errors), r.raw[:120]] for r in report.rejects])
    if report.duplicates:
        out += ["", f"## Duplicate event ids ({len(report.duplicates)})", ""]
        out += _table(
            ["id", "where", "first seen", "handling"],
            [[d.id, f"{d.file}:{d.line}", f"{d.first_file}:{d.first_line}", "counted once" if d.identical else "rejected: different content"] for d in report.duplicates],
        )
    return "\n".join(out) + "\n"


CSV_COLUMNS = [
    "id", "obligation", "step", "kind", "cited", "assumed", "subject_kind", "subject", "role", "unit", "period",
    "period_start", "period_end", "status", "required", "observed", "required_count", "observed_count",
    "due", "decided", "delay_seconds", "evidence", "window", "excused_by", "note",
]


def _inert(cell: object) -> object:
    """A CSV cell a spreadsheet will not run as a formula: text starting with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return gets a leading apostrophe (OWASP's advice), unless it is a
    number or a lone dash."""
    if not isinstance(cell, str) or len(cell) < 2 or cell[0] not in "=+-@\t\r":
        return cell
    try:
        float(cell)
        return cell
    except ValueError:
        return "'" + cell


def _csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for f in report.findings:
        row: list[object] = [
            f.id, f.obligation, f.step or "", f.obligation_kind, f.cited, str(f.assumed).lower(), f.subject.kind, f.subject.id,
            f.subject.role or "", f.unit or "", f.period.label, f.period.start.isoformat(), f.period.end.isoformat(),
            f.status, f.required, f.observed, "" if f.required_count is None else f.required_count,
            "" if f.observed_count is None else f.observed_count, f.due.isoformat() if f.due else "",
            f.decided.isoformat() if f.decided else "", "" if f.delay_seconds is None else f.delay_seconds, " ".join(f.evidence), f.window or "", " ".join(f.excused_by),
            f.note or "",
        ]
        writer.writerow([_inert(cell) for cell in row])
    return buffer.getvalue()


BUILTIN_FORMATS: dict[str, Callable[[Report], str]] = {"markdown": _markdown, "json": _json, "csv": _csv}
