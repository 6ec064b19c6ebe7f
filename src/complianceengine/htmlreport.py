"""The report as one self-contained HTML page (``--format html``): the audit's facts, a summary
per obligation, a heat map of the compliance rate by unit and week (or month), a trend line, and a
table of findings that filters and pages in the browser.

The page fetches nothing: its CSS and script are inline and the charts are SVG and tables made
here, so it opens from a file on a machine without a network and prints as it shows. The findings
are embedded once, as compact JSON (every repeated string in one table, each finding an array of
indexes), and the script draws the table a page at a time: a report of 100,000 findings stays a
file of a few megabytes that opens at once, where a table row per finding would not.

Every word comes from :mod:`complianceengine.words`, in the report's language; every piece of text
from the input is escaped (HTML), and the JSON cannot end its script element.
"""

from __future__ import annotations

import bisect
import datetime as dt
import html
import json
import math
from dataclasses import dataclass

from .findings import FAILING, SEVERITY, Finding, Report, evidence_text
from .timeframes import Period, day_start, local
from .words import Lang, in_lang, period_text, status_text, text, when_text

__all__ = ["PAGE_SIZE", "WEEKS_UP_TO", "render_html"]

#: findings the table shows at once
PAGE_SIZE = 100
#: a range of up to this many days is bucketed by ISO week, a longer one by month
WEEKS_UP_TO = 26 * 7
#: the heat map's colour bands: a rate at or above the floor gets the class
_BANDS = ((1.0, "b0", "100%"), (0.95, "b1", "95–99%"), (0.90, "b2", "90–94%"), (0.80, "b3", "80–89%"), (0.60, "b4", "60–79%"),
          (0.0, "b5", "< 60%"))
#: rows of the rejected lines and duplicate ids shown (a broken export can have millions)
_LISTED = 200
_STATUS = {status: index for index, status in enumerate(SEVERITY)}
_MET, _LATE, _MISSED = _STATUS["met"], _STATUS["late"], _STATUS["missed"]

Tally = list[int]  # findings by status, in the order of SEVERITY


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _rate_text(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


def _rate(tally: Tally) -> float | None:
    """met / (met + late + missed), as :attr:`StatusCounts.rate`."""
    judged = tally[_MET] + tally[_LATE] + tally[_MISSED]
    return None if judged == 0 else tally[_MET] / judged


def _band(rate: float | None) -> str:
    return "empty" if rate is None else next(name for floor, name, _ in _BANDS if rate >= floor)


def _counts_text(tally: Tally, lang: Lang) -> str:
    return text("counts", lang, **dict(zip(SEVERITY, tally)))


@dataclass(frozen=True)
class _Bucket:
    """A column of the heat map: an ISO week or a month, ``first`` to the day before ``end``."""

    first: dt.date
    end: dt.date
    head: str
    sub: str


def _weekly(report: Report) -> bool:
    return (report.last_day - report.first_day).days + 1 <= WEEKS_UP_TO


def _bucket_word(report: Report) -> str:
    return text("week" if _weekly(report) else "month", report.lang)


def _buckets(report: Report) -> list[_Bucket]:
    """ISO weeks covering the range when it is at most :data:`WEEKS_UP_TO` days, else months."""
    first, last, lang = report.first_day, report.last_day, report.lang
    out: list[_Bucket] = []
    if _weekly(report):
        day = first - dt.timedelta(days=first.weekday())
        while day <= last:
            out.append(_Bucket(day, day + dt.timedelta(days=7), text("html_week_head", lang, week=day.isocalendar().week),
                               f"{day:%m-%d}"))
            day += dt.timedelta(days=7)
    else:
        day = first.replace(day=1)
        while day <= last:
            following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            out.append(_Bucket(day, following, f"{day:%Y-%m}", ""))
            day = following
    return out


def _bucket_name(bucket: _Bucket, report: Report) -> str:
    tz = report.timezone
    period = Period(label=bucket.first.isoformat(), start=day_start(bucket.first, tz), end=day_start(bucket.end, tz))
    return period_text(period, tz, report.lang)


@dataclass(frozen=True)
class _Row:
    """A unit as the heat map and the unit filter show it; ``parent`` is a row index or -1."""

    label: str
    kind: str
    depth: int
    parent: int


def _unit_rows(report: Report) -> tuple[list[_Row], dict[str | None, int]]:
    """The units in the registry's order, then units the registry does not have, then "no unit"
    when a finding has none (a case whose trigger names none), named by :attr:`UnitSummary.label`
    as in every report."""
    lang = report.lang
    index: dict[str | None, int] = {u.unit: i for i, u in enumerate(report.units)}
    rows = [_Row(u.label, u.kind, u.depth,
                 index.get(u.parent, -1)) for u in report.units]
    found = {f.unit for f in report.findings}
    for unit in sorted(u for u in found if u is not None and u not in index):
        index[unit] = len(rows)
        rows.append(_Row(f"{unit}{text('not_in_registry', lang)}", "", 0, -1))
    if None in found:
        index[None] = len(rows)
        rows.append(_Row(text("no_unit", lang), "", 0, -1))
    return rows, index


@dataclass(frozen=True)
class _Tallies:
    """Findings counted by status per unit row (with the rows below it) and bucket, per unit row
    over the range, and per bucket over all units."""

    grid: list[list[Tally]]
    totals: list[Tally]
    trend: list[Tally]


def _day(finding: Finding, report: Report, days: dict[dt.datetime, dt.date]) -> dt.date:
    """The local day a finding was decided on, clamped into the range. As the audit does, an
    instant at midnight belongs to the day that ends then (a daily period decided at its end is
    that day's); without a decision time, the end of its period."""
    instant = finding.decided or finding.period.end
    day = days.get(instant)
    if day is None:
        day = days[instant] = local(instant - dt.timedelta(microseconds=1), report.timezone).date()
    return min(max(day, report.first_day), report.last_day)


def _tally(report: Report, rows: list[_Row], index: dict[str | None, int], buckets: list[_Bucket]) -> _Tallies:
    chains: list[list[int]] = []
    for row in range(len(rows)):
        chain: list[int] = []
        at = row
        while at >= 0 and len(chain) <= len(rows):  # a cycle in a hand-made report stops here
            chain.append(at)
            at = rows[at].parent
        chains.append(chain)
    starts, days = [b.first for b in buckets], dict[dt.datetime, dt.date]()
    tallies = _Tallies([[[0] * len(SEVERITY) for _ in buckets] for _ in rows], [[0] * len(SEVERITY) for _ in rows],
                       [[0] * len(SEVERITY) for _ in buckets])
    for finding in report.findings:
        column = bisect.bisect_right(starts, _day(finding, report, days)) - 1
        status = _STATUS[finding.status]
        tallies.trend[column][status] += 1
        for row in chains[index[finding.unit]]:
            tallies.grid[row][column][status] += 1
            tallies.totals[row][status] += 1
    return tallies


# ---------------------------------------------------------------------------------------- sections


def _header(report: Report) -> str:
    lang, tz = report.lang, report.timezone
    facts = [
        (text("ruleset", lang), f"<code>{_e(report.ruleset)}</code> · {_e(text('version', lang))} {_e(report.ruleset_version)}"),
        (text("range", lang), f'<span class="nowrap">{report.first_day} – {report.last_day}</span>'),
        (text("as_of", lang), _e(when_text(report.as_of, tz))),
        (text("timezone", lang), _e(tz)),
        (text("engine", lang), _e(report.engine)),
        (text("events", lang), " · ".join([
            f'<b>{report.events_used}</b> {_e(text("events_used", lang))}',
            f'<b>{len(report.rejects)}</b> {_e(text("rejected", lang))}',
            f'<b>{len(report.duplicates)}</b> {_e(text("duplicates", lang))}',
        ])),
    ]
    out = [f'<header id="facts"><p class="eyebrow">{_e(text("html_kicker", lang))}</p>',
           f'<h1>{_e(in_lang(report.title, lang, report.ruleset))}</h1><dl class="facts">']
    out += [f"<div><dt>{_e(label)}</dt><dd>{value}</dd></div>" for label, value in facts]
    out.append("</dl>")
    if report.looked_back_to is not None:
        out.append(f'<p class="muted">{_e(text("looked_back", lang, when=when_text(report.looked_back_to, tz)))}</p>')
    out += [f'<p class="warning" role="alert"><b>{_e(text("warning", lang))}:</b> {_e(w)}</p>' for w in report.warnings]
    if report.inputs:
        out.append(_table("inputs", [text("kind", lang), text("path", lang), "SHA-256"], [
            [_e(text(i.kind, lang)), f"<code>{_e(i.path)}</code>", f'<code class="hash">{_e(i.sha256)}</code>'] for i in report.inputs]))
    out.append("</header>")
    return "\n".join(out)


def _table(cls: str, header: list[str], rows: list[list[str]], foot: list[str] | None = None) -> str:
    """A plain table; ``header`` is text, ``rows`` and ``foot`` are cells already escaped."""
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    end = "<tfoot><tr>" + "".join(f"<td>{c}</td>" for c in foot) + "</tr></tfoot>" if foot else ""
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{end}</table>'


def _chips(tally: Tally, lang: Lang) -> str:
    return "".join(f'<span class="chip s-{s}"><b>{n}</b> {_e(status_text(s, lang))}</span>' for s, n in zip(SEVERITY, tally))


_SHOWN = ("met", "late", "missed", "open", "excused", "not_applicable")  # the columns' order, worst judged first after met


def _summary(report: Report) -> str:
    lang = report.lang
    total = report.counts
    tally = [getattr(total, s) for s in SEVERITY]
    out = [f'<section id="summary"><h2>{_e(text("html_summary", lang))}</h2><div class="headline">',
           f'<div class="card"><div class="big {_band(total.rate)}-text">{_rate_text(total.rate)}</div>'
           f'<div class="label">{_e(text("raw_rate", lang))}</div></div>',
           f'<div class="card"><div class="big {_band(report.weighted_rate)}-text">{_rate_text(report.weighted_rate)}</div>'
           f'<div class="label">{_e(text("weighted_rate", lang))}</div></div>',
           f'<div class="explain"><p class="chips">{_chips(tally, lang)}</p><p>{_e(text("rates_explained", lang))}</p></div></div>']
    header = [text("obligation", lang), text("cited", lang), *[status_text(s, lang) for s in _SHOWN], text("rate", lang)]
    rows = []
    for o in report.obligations:
        name = f'<code>{_e(o.obligation)}</code><div class="sub">{_e(in_lang(o.title, lang, o.obligation))}</div>'
        if o.not_judged:
            name += f'<div class="sub warn">{_e(text("html_not_judged", lang))}: {_e(o.not_judged)}</div>'
        cited = _e(o.cited) + (f' <span class="badge" title="{_e("; ".join(o.assumptions))}">{_e(text("assumed", lang))}</span>'
                               if o.assumed else "")
        rows.append([name, cited, *_count_cells(o.counts.model_dump()), _rate_cell(o.rate)])
    foot = [f'<b>{_e(text("all_obligations", lang))}</b>', "", *_count_cells(total.model_dump()), _rate_cell(total.rate)]
    out += [f'<h3>{_e(text("by_obligation", lang))}</h3>', _table("obligations", header, rows, foot), "</section>"]
    return "\n".join(out)


def _count_cells(counts: dict[str, int]) -> list[str]:
    return [f'<span class="n s-{s}">{counts[s]}</span>' if counts[s] else '<span class="zero">0</span>' for s in _SHOWN]


def _rate_cell(rate: float | None) -> str:
    width = 0 if rate is None else round(rate * 100)
    return f'<span class="rate"><span class="bar"><i class="{_band(rate)}" style="width:{width}%"></i></span>{_rate_text(rate)}</span>'


def _heatmap(report: Report, rows: list[_Row], buckets: list[_Bucket], tallies: _Tallies) -> str:
    lang, bucket = report.lang, _bucket_word(report)
    names = [_bucket_name(b, report) for b in buckets]

    def cell(tally: Tally, where: str, extra: str = "") -> str:
        rate = _rate(tally)
        tip = f"{where}: {_rate_text(rate)} · {_counts_text(tally, lang)}"
        shown = "–" if rate is None else str(math.floor(rate * 100 + 1e-9))  # 100 only when all were met
        return f'<td class="{_band(rate)}"{extra} title="{_e(tip)}">{shown}</td>'

    head = "".join(f'<th scope="col" title="{_e(n)}">{_e(b.head)}<small>{_e(b.sub)}</small></th>' for b, n in zip(buckets, names))
    body = []
    for index, row in enumerate(rows):
        kind = f"<small>{_e(row.kind)}</small>" if row.kind else ""
        cells = "".join(cell(t, f"{row.label} · {n}") for t, n in zip(tallies.grid[index], names))
        body.append(f'<tr><th scope="row" style="padding-left:{0.6 + 1.2 * row.depth:.1f}em">{_e(row.label)}{kind}</th>{cells}'
                    f'{cell(tallies.totals[index], row.label + " · " + text("total", lang), " data-total")}</tr>')
    legend = "".join(f'<span><i class="{name}"></i>{label}</span>' for _, name, label in _BANDS)
    legend += f'<span><i class="empty"></i>{_e(text("html_no_judged", lang))}</span>'
    return "\n".join([
        f'<section id="units"><h2>{_e(text("heatmap", lang, bucket=bucket))}</h2>',
        f'<p class="muted">{_e(text("html_heatmap_note", lang, bucket=bucket))}</p><div class="scroll">',
        f'<table id="heatmap" class="heatmap"><thead><tr><th scope="col">{_e(text("unit", lang))}</th>{head}'
        f'<th scope="col">{_e(text("total", lang))}</th></tr></thead><tbody>{"".join(body)}</tbody></table></div>',
        f'<p class="legend">{legend}</p></section>',
    ])


def _trend(report: Report, buckets: list[_Bucket], tallies: _Tallies) -> str:
    """The rate over all findings per bucket as an SVG line; the axis starts at 80% or lower, a
    tenth below the lowest rate, so that the usual rates in the nineties are told apart."""
    lang = report.lang
    width, height, left, right, top, bottom = 960, 230, 46, 14, 12, 40
    rates = [_rate(t) for t in tallies.trend]
    lowest = min((r for r in rates if r is not None), default=1.0)
    floor = max(0.0, min(0.8, math.floor((lowest - 0.02) * 10) / 10))
    step = 0.05 if 1 - floor <= 0.25 else 0.1 if 1 - floor <= 0.5 else 0.2
    n = max(1, len(buckets))

    def x(i: int) -> float:
        return left + (width - left - right) * (i + 0.5) / n

    def y(rate: float) -> float:
        return top + (height - top - bottom) * (1 - (rate - floor) / (1 - floor))

    out = [f'<svg id="trend" class="trend" viewBox="0 0 {width} {height}" role="img" aria-label="{_e(text("trend", lang))}">']
    for k in range(round((1 - floor) / step) + 1):
        tick = floor + k * step
        out.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
                   f'<text class="axis" x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.0%}</text>')
    every = math.ceil(len(buckets) / 16) or 1
    for i, b in enumerate(buckets):
        if i % every == 0:
            out.append(f'<text class="axis" x="{x(i):.1f}" y="{height - bottom + 18}" text-anchor="middle">{_e(b.head)}</text>')
    segments: list[list[str]] = [[]]
    for i, rate in enumerate(rates):
        if rate is None:
            segments.append([])
        else:
            segments[-1].append(f"{x(i):.1f},{y(rate):.1f}")
    out += [f'<polyline class="line" points="{" ".join(s)}"/>' for s in segments if len(s) > 1]
    for i, (b, rate, tally) in enumerate(zip(buckets, rates, tallies.trend)):
        if rate is not None:
            tip = f"{_bucket_name(b, report)}: {_rate_text(rate)} · {_counts_text(tally, lang)}"
            out.append(f'<circle class="pt {_band(rate)}" cx="{x(i):.1f}" cy="{y(rate):.1f}" r="4.5"><title>{_e(tip)}</title></circle>')
    out.append("</svg>")
    return (f'<section id="over-time"><h2>{_e(text("trend", lang))}</h2>'
            f'<p class="muted">{_e(text("html_trend_note", lang, bucket=_bucket_word(report)))}</p>{"".join(out)}</section>')


def _data(report: Report, rows: list[_Row], index: dict[str | None, int]) -> tuple[str, list[str], list[tuple[str, str]]]:
    """The findings as JSON for the script (worst first, then by unit, obligation and period), the
    roles and the obligations (id, title) the filters offer."""
    lang, tz = report.lang, report.timezone
    strings: dict[str, int] = {"": 0}

    def s(value: str | None) -> int:
        if not value:
            return 0
        number = strings.get(value)
        if number is None:
            number = strings[value] = len(strings)
        return number

    obligations = {o.obligation: (i, in_lang(o.title, lang, o.obligation)) for i, o in enumerate(report.obligations)}
    for f in report.findings:
        if f.obligation not in obligations:  # a hand-made report may lack a summary
            obligations[f.obligation] = (len(obligations), in_lang(f.title, lang, f.obligation))
    ordered = sorted(report.findings, key=lambda f: (-f.severity, index[f.unit], obligations[f.obligation][0], f.period.start, f.subject.id))
    findings = [
        [_STATUS[f.status], obligations[f.obligation][0], s(f.step), s(f.cited), s(f.subject.name), s(f.subject.id), s(f.subject.role),
         index[f.unit], s(period_text(f.period, tz, lang)), s(f.required), s(f.observed), s(f.note), evidence_text(f, report.evidence_limit, " "),
         " ".join(f.excused_by)]
        for f in ordered
    ]
    roles = sorted({f.subject.role for f in report.findings if f.subject.role})
    payload: dict[str, object] = {
        "statuses": [[status, status_text(status, lang)] for status in SEVERITY],
        "notMet": [_STATUS[status] for status in FAILING],
        "o": [[name, title] for name, (_, title) in obligations.items()],
        "u": [[row.label, row.depth, row.parent] for row in rows],
        "s": list(strings),
        "rows": findings,
        "pageSize": PAGE_SIZE,
        "t": {key: text(f"html_{key}", lang) for key in ("match", "page", "no_match")} | {"excused_by": text("excused_by", lang)},
        "roleLabels": {role: in_lang(report.roles.get(role), lang, role) for role in roles},
    }
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    # nothing in the data may end the script element or start a comment that hides its end
    data = data.replace("</", "<\\/").replace("<!--", "<\\u0021--")
    return data, roles, [(name, title) for name, (_, title) in obligations.items()]


def _findings(report: Report, rows: list[_Row], index: dict[str | None, int]) -> str:
    lang = report.lang
    data, roles, obligations = _data(report, rows, index)
    every = text("all", lang)
    not_met = f"{text('html_not_met', lang)} ({('、' if lang == 'zh' else ', ').join(status_text(s, lang) for s in FAILING)})"
    statuses = [("notmet", not_met), ("all", every), *[(str(_STATUS[s]), status_text(s, lang)) for s in SEVERITY]]
    units = [("all", every), *[(str(i), "\u2002" * row.depth + row.label) for i, row in enumerate(rows)]]
    choices = {
        "status": statuses, "unit": units, "role": [("all", every), *[(r, in_lang(report.roles.get(r), lang, r)) for r in roles]],
        "obligation": [("all", every), *[(str(i), f"{name} — {title}") for i, (name, title) in enumerate(obligations)]],
    }
    controls = "".join(
        f'<label>{_e(text(name, lang))}<select id="filter-{name}">'
        + "".join(f'<option value="{_e(value)}">{_e(label)}</option>' for value, label in options) + "</select></label>"
        for name, options in choices.items())
    columns = ("status", "obligation", "cited", "subject", "unit", "period", "required", "observed", "note", "evidence")
    head = "".join(f'<th scope="col" class="c-{c}">{_e(text(c, lang))}</th>' for c in columns)

    def pager(at: str) -> str:  # above the table and below it
        return (f'<div class="pager"><button type="button" id="{at}prev">{_e(text("html_previous", lang))}</button>'
                f'<span id="{at}info"></span><button type="button" id="{at}next">{_e(text("html_next", lang))}</button></div>')

    return "\n".join([
        f'<section id="list"><h2>{_e(text("findings", lang))}</h2><div class="controls">{controls}</div>',
        f'<div class="bar-line"><p id="match-count" aria-live="polite"></p>{pager("page-")}</div>',
        f'<noscript><p class="warning">{_e(text("html_noscript", lang))}</p></noscript>',
        f'<div class="scroll"><table id="findings" class="findings"><thead><tr>{head}</tr></thead><tbody></tbody></table></div>',
        f'<div class="bar-line bottom">{pager("page-bottom-")}</div>',
        f'<script type="application/json" id="data">{data}</script></section>',
    ])


def _notes(report: Report) -> str:
    """What the ruleset assumed, the rejected event lines and the duplicate ids (the first
    :data:`_LISTED` of each)."""
    lang, out = report.lang, []
    assumed = [o for o in report.obligations if o.assumed and o.assumptions]
    if assumed:
        out.append(f'<h3>{_e(text("assumed_title", lang))}</h3><p class="muted">{_e(text("assumed_intro", lang))}</p><ul class="assumed">')
        out += [f"<li><code>{_e(o.obligation)}</code> ({_e(o.cited)}): {_e('; '.join(o.assumptions))}</li>" for o in assumed]
        out.append("</ul>")
    if report.rejects:
        out.append(f'<h3>{_e(text("rejects", lang))} ({len(report.rejects)})</h3>')
        out.append(_table("plain", [text(k, lang) for k in ("where", "reasons", "line")], [
            [f"<code>{_e(r.file)}:{r.line}</code>", _e("; ".join(r.errors)), f"<code>{_e(r.raw[:160])}</code>"]
            for r in report.rejects[:_LISTED]]))
    if report.duplicates:
        out.append(f'<h3>{_e(text("duplicates_title", lang))} ({len(report.duplicates)})</h3>')
        out.append(_table("plain", [text(k, lang) for k in ("id", "where", "first_seen", "handling")], [
            [f"<code>{_e(d.id)}</code>", f"<code>{_e(d.file)}:{d.line}</code>", f"<code>{_e(d.first_file)}:{d.first_line}</code>",
             _e(text("counted_once" if d.identical else "rejected_different", lang))] for d in report.duplicates[:_LISTED]]))
    more = max(len(report.rejects), len(report.duplicates)) - _LISTED
    if more > 0:
        out.append(f'<p class="muted">{_e(text("html_listed", lang, n=_LISTED))}</p>')
    return f'<section id="notes">{"".join(out)}</section>' if out else ""


def render_html(report: Report) -> str:
    """The report as one HTML page that loads nothing from elsewhere (see the module's docstring)."""
    lang = report.lang
    rows, index = _unit_rows(report)
    buckets = _buckets(report)
    tallies = _tally(report, rows, index, buckets)
    title = text("title", lang, title=in_lang(report.title, lang, report.ruleset))
    return "\n".join([
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>",
        _header(report), _summary(report), _heatmap(report, rows, buckets, tallies), _trend(report, buckets, tallies),
        _findings(report, rows, index), _notes(report),
        f"</main><script>{_JS}</script></body></html>",
        "",
    ])


_CSS = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--card:#fff;--accent:#1f4e8c;
--met:#1e7b34;--met-bg:#e3f4e7;--late:#a35200;--late-bg:#fdf0d5;--missed:#c0262d;--missed-bg:#fde4e4;
--open:#1d5fc4;--open-bg:#e1ecfd;--grey:#5f6b7a;--grey-bg:#eceff3;
--b0:#1e7b34;--b1:#6cbf72;--b2:#cbe6a3;--b3:#f2c94c;--b4:#f08c3a;--b5:#c0262d}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,
"Noto Sans","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;font-variant-numeric:tabular-nums}
main{max-width:1240px;margin:0 auto;padding:24px 24px 48px}
header,section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:20px 24px;margin:0 0 18px}
header{border-top:4px solid var(--accent)}
h1{font-size:22px;line-height:1.3;margin:2px 0 14px}h2{font-size:17px;margin:0 0 10px}h3{font-size:14px;margin:18px 0 6px}
.eyebrow{margin:0;color:var(--accent);font-weight:600;font-size:12px;letter-spacing:.06em;text-transform:uppercase}
code{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
.nowrap{white-space:nowrap}.muted,.sub,small{color:var(--muted)}.sub{font-size:.92em}.warn{color:var(--late)}
.facts{display:flex;flex-wrap:wrap;gap:10px 44px;margin:0 0 12px}
.facts dt{font-size:11.5px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}.facts dd{margin:0;font-weight:500}
.warning{background:var(--late-bg);border-left:4px solid var(--late);padding:8px 12px;border-radius:4px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
thead th{font-size:11.5px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.03em;border-bottom:2px solid var(--line)}
table.inputs{margin-top:6px}table.inputs td,table.inputs th{padding:3px 8px}.hash{font-size:11.5px;color:var(--muted)}
.headline{display:grid;grid-template-columns:170px 170px 1fr;gap:16px;align-items:stretch;margin-bottom:16px}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 16px;background:#fbfcfd}
.big{font-size:34px;font-weight:700;line-height:1.1}.label{font-size:12px;color:var(--muted)}
.explain p{margin:0 0 8px}.explain p:last-child{color:var(--muted);font-size:13px}
.chip{display:inline-block;border-radius:999px;padding:1px 10px;margin:0 6px 4px 0;font-size:12.5px}
.s-met{color:var(--met);background:var(--met-bg)}.s-late{color:var(--late);background:var(--late-bg)}
.s-missed{color:var(--missed);background:var(--missed-bg)}.s-open{color:var(--open);background:var(--open-bg)}
.s-excused,.s-not_applicable{color:var(--grey);background:var(--grey-bg)}
.n{display:inline-block;min-width:2.2em;text-align:center;border-radius:4px;font-weight:600}.zero{color:#b8c0ca;display:inline-block;min-width:2.2em;text-align:center}
table.obligations td:nth-child(n+3),table.obligations th:nth-child(n+3){text-align:center}
table.obligations td:last-child,table.obligations th:last-child{text-align:right;white-space:nowrap}
tfoot td{border-top:2px solid var(--line);border-bottom:none;background:#fafbfc}
.badge{display:inline-block;font-size:11px;padding:0 6px;border-radius:4px;background:var(--late-bg);color:var(--late);cursor:help}
.rate{display:inline-flex;align-items:center;gap:6px;font-weight:600}
.bar{display:inline-block;width:54px;height:6px;background:var(--grey-bg);border-radius:3px;overflow:hidden}.bar i{display:block;height:100%}
.b0{background:var(--b0);color:#fff}.b1{background:var(--b1);color:#0b2e13}.b2{background:var(--b2);color:#23400f}
.b3{background:var(--b3);color:#3d2e00}.b4{background:var(--b4);color:#3a1a00}.b5{background:var(--b5);color:#fff}
.empty{background:repeating-linear-gradient(45deg,#f1f3f5 0 4px,#fff 4px 8px);color:#9aa5b1}
.b0-text,.b1-text{color:var(--b0)}.b2-text{color:#4d7f1e}.b3-text{color:#9a7400}.b4-text{color:#b65a12}.b5-text{color:var(--b5)}
.empty-text{color:var(--muted)}
ul.assumed{margin:0;padding-left:20px;font-size:13px}
.scroll{overflow-x:auto}
table.heatmap{border-collapse:separate;border-spacing:2px}.heatmap tbody th{width:1%}
.heatmap th,.heatmap td{border:none;padding:4px 6px}
.heatmap thead th{text-align:center;font-size:11px;min-width:44px}.heatmap thead th:first-child{text-align:left}
.heatmap thead th small{display:block;font-weight:400;text-transform:none;letter-spacing:0}
.heatmap tbody th{font-weight:500;white-space:nowrap;padding-right:14px}.heatmap tbody th small{margin-left:6px}
.heatmap td{text-align:center;font-size:12px;font-weight:600;border-radius:3px;min-width:44px;cursor:default}
.heatmap td[data-total]{font-weight:700}
.legend{font-size:12px;color:var(--muted);margin:10px 0 0}.legend span{margin-right:14px;white-space:nowrap}
.legend i{display:inline-block;width:14px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:5px}
svg.trend{width:100%;height:auto;display:block}
.trend .grid{stroke:var(--line)}.trend .axis{font-size:12px;fill:var(--muted)}
.trend .line{fill:none;stroke:var(--accent);stroke-width:2.5}.trend .pt{stroke:var(--accent);stroke-width:1.5}
.trend .pt.b0{fill:var(--b0)}.trend .pt.b1{fill:var(--b1)}.trend .pt.b2{fill:var(--b2)}.trend .pt.b3{fill:var(--b3)}
.trend .pt.b4{fill:var(--b4)}.trend .pt.b5{fill:var(--b5)}
.controls{display:flex;flex-wrap:wrap;gap:10px 18px;margin-bottom:10px}
.controls label{display:flex;flex-direction:column;font-size:11.5px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
select{font:inherit;font-size:13px;text-transform:none;letter-spacing:0;padding:4px 6px;border:1px solid #cbd2d9;border-radius:5px;
background:#fff;color:var(--ink);max-width:340px}
.bar-line{display:flex;justify-content:space-between;align-items:center;gap:12px;margin:6px 0}
#match-count{margin:0;font-weight:600}
.pager{display:flex;align-items:center;gap:10px;font-size:13px}
button{font:inherit;font-size:13px;padding:4px 12px;border:1px solid #cbd2d9;border-radius:5px;background:#fff;color:var(--ink);cursor:pointer}
button:disabled{opacity:.4;cursor:default}
table.findings{font-size:12.5px}table.findings td{padding:5px 8px}
table.findings tbody tr:nth-child(even){background:#fafbfc}
.st{display:inline-block;border-radius:4px;padding:0 6px;font-weight:600;white-space:nowrap}
.c-status{width:80px}.c-obligation{width:150px}.c-cited{width:100px}.c-subject{width:130px}.c-unit{width:120px}
.c-period{width:115px}.c-note{width:90px}.c-evidence{width:90px}.ids{font-family:ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.92em;word-break:break-all}
table.plain{font-size:12.5px}
@page{size:A4 landscape;margin:12mm}
@media print{body{background:#fff;font-size:10px}main{max-width:none;padding:0}
header,section{border:none;border-radius:0;padding:0;margin:0 0 14px}
.controls,.pager,noscript{display:none}.scroll{overflow:visible}h2{break-after:avoid}
table.heatmap,svg.trend,.headline{break-inside:avoid}tr{break-inside:avoid}
.heatmap th,.heatmap td{padding:2px 3px;min-width:0;font-size:9px}
table.findings{font-size:9.5px}table.findings th{width:auto}table.findings td{padding:3px 4px}}
"""

_JS = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var rows = data.rows, S = data.s, T = data.t, units = data.u;
  var byId = function (id) { return document.getElementById(id); };
  var within = units.map(function (u, i) {  // each unit row and the rows above it
    var chain = [], at = i;
    while (at >= 0 && chain.length <= units.length) { chain.push(at); at = units[at][2]; }
    return chain;
  });
  var filters = ["status", "unit", "role", "obligation"].map(function (name) { return byId("filter-" + name); });
  var body = document.querySelector("#findings tbody");
  var matching = [], page = 0;
  function fill(template, values) {
    return template.replace(/\\{(\\w+)\\}/g, function (all, key) { return key in values ? values[key] : all; });
  }
  function number(n) { return n.toLocaleString("en-US"); }
  function filter() {
    var status = filters[0].value, unit = filters[1].value, role = filters[2].value, obligation = filters[3].value;
    var statuses = status === "all" ? null : status === "notmet" ? data.notMet : [Number(status)];
    var u = unit === "all" ? -1 : Number(unit), r = role === "all" ? -1 : S.indexOf(role), o = obligation === "all" ? -1 : Number(obligation);
    matching = [];
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      if (statuses && statuses.indexOf(row[0]) < 0) continue;
      if (o >= 0 && row[1] !== o) continue;
      if (r >= 0 && row[6] !== r) continue;
      if (u >= 0 && within[row[7]].indexOf(u) < 0) continue;
      matching.push(i);
    }
    page = 0;
    draw();
  }
  function add(tr, parts, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    parts.forEach(function (part, index) {
      if (!part[0]) return;
      var el = document.createElement(index ? "div" : "span");
      el.textContent = part[0];
      if (part[1]) el.className = part[1];
      td.appendChild(el);
    });
    tr.appendChild(td);
    return td;
  }
  function draw() {
    var pages = Math.max(1, Math.ceil(matching.length / data.pageSize));
    page = Math.min(Math.max(page, 0), pages - 1);
    var fragment = document.createDocumentFragment();
    matching.slice(page * data.pageSize, (page + 1) * data.pageSize).forEach(function (i) {
      var row = rows[i], tr = document.createElement("tr"), status = data.statuses[row[0]];
      var name = S[row[4]], id = S[row[5]], step = S[row[2]];
      tr.className = "r-" + status[0];
      add(tr, [[status[1], "st s-" + status[0]]]);
      add(tr, [[data.o[row[1]][0] + (step ? " / " + step : "")]]).title = data.o[row[1]][1];
      add(tr, [[S[row[3]]]]);
      add(tr, [[name && name !== id ? name + " (" + id + ")" : id], [data.roleLabels[S[row[6]]] || S[row[6]], "sub"]]);
      add(tr, [[units[row[7]][0]]]);
      add(tr, [[S[row[8]]]]);
      add(tr, [[S[row[9]]]]);
      add(tr, [[S[row[10]]]]);
      add(tr, [[S[row[11]]]]);
      add(tr, [[row[12].split(" ").join(", ")], [row[13] ? T.excused_by + ": " + row[13].split(" ").join(", ") : "", "sub"]], "ids");
      fragment.appendChild(tr);
    });
    if (!matching.length) {
      var tr = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = 10; td.className = "muted"; td.textContent = T.no_match;
      tr.appendChild(td); fragment.appendChild(tr);
    }
    body.replaceChildren(fragment);
    byId("match-count").textContent = fill(T.match, {n: number(matching.length), total: number(rows.length)});
    ["page-", "page-bottom-"].forEach(function (prefix) {
      byId(prefix + "info").textContent = fill(T.page, {page: number(page + 1), pages: number(pages)});
      byId(prefix + "prev").disabled = page === 0;
      byId(prefix + "next").disabled = page >= pages - 1;
    });
  }
  filters.forEach(function (select) { select.addEventListener("change", filter); });
  ["page-", "page-bottom-"].forEach(function (prefix) {
    byId(prefix + "prev").addEventListener("click", function () { page -= 1; draw(); });
    byId(prefix + "next").addEventListener("click", function () { page += 1; draw(); });
  });
  filter();
})();
"""
