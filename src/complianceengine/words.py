"""The words of reports and findings in English and Chinese: statuses, headings, periods and
durations as people write them (``9月第3周``, ``24小时``, ``week of Sep 14, 2026``, ``3 days``).

Plural forms, month names and unit words come from Babel (CLDR); what is chosen here is which
words and which order. Periods are named from their start and end on the ruleset's wall clock,
so a finding's data (``Period.label`` stays the machine-readable ``2026-W38``) never depends on
the language of a report. See docs/reports.md, "Languages".
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Literal, get_args

import pendulum
from babel.dates import format_skeleton
from babel.units import format_unit

from .findings import SubjectRef
from .model import Label, duration_parts
from .timeframes import Period, zone

__all__ = [
    "LANGS", "Lang", "delay_text", "duration_text", "in_lang", "number_text", "period_text", "status_text", "subject_text", "text", "when_text",
]

Lang = Literal["en", "zh"]
#: the languages reports and findings are written in
LANGS: tuple[Lang, ...] = get_args(Lang)
_LOCALE = {"en": "en", "zh": "zh_Hans_CN"}

_STATUS = {
    "en": {"met": "met", "excused": "excused", "not_applicable": "not applicable", "open": "open", "late": "late", "missed": "missed"},
    "zh": {"met": "达标", "excused": "免除", "not_applicable": "不适用", "open": "进行中", "late": "逾期", "missed": "未完成"},
}

#: the fixed words of the reports (headings, column names, sentences around numbers)
_TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Compliance audit: {title}", "zh": "履职合规审计：{title}"},
    "ruleset": {"en": "Ruleset", "zh": "规则集"},
    "version": {"en": "version", "zh": "版本"},
    "range": {"en": "Days", "zh": "审计日期"},
    "as_of": {"en": "As of", "zh": "截至"},
    "timezone": {"en": "Time zone", "zh": "时区"},
    "engine": {"en": "Engine", "zh": "判定引擎"},
    "inputs": {"en": "Inputs", "zh": "输入"},
    "events_used": {"en": "events used", "zh": "条事件已采用"},
    "rejected": {"en": "rejected", "zh": "条被拒"},
    "duplicates": {"en": "duplicate ids", "zh": "个重复编号"},
    "looked_back": {"en": "The verdicts look back to {when}.", "zh": "结论追溯至 {when}。"},
    "warning": {"en": "Warning", "zh": "注意"},
    "obligation": {"en": "obligation", "zh": "职责"},
    "obligations": {"en": "Obligations", "zh": "职责"},
    "kind": {"en": "kind", "zh": "类型"},
    "cited": {"en": "cited", "zh": "依据"},
    "rate": {"en": "rate", "zh": "达标率"},
    "weighted_rate": {"en": "obligation-weighted rate", "zh": "按职责平均达标率"},
    "raw_rate": {"en": "rate over all findings", "zh": "全部结论达标率"},
    "rates_explained": {
        "en": "A rate is met / (met + late + missed). The rate over all findings counts every period alike, so daily duties "
              "dominate it; the obligation-weighted rate is the mean of the obligations' rates, each obligation weighing the same.",
        "zh": "达标率 = 达标 / (达标 + 逾期 + 未完成)。全部结论达标率中每个周期同等计数，日常职责占多数；"
              "按职责平均达标率是各职责达标率的平均值，每项职责权重相同。",
    },
    "assumed": {"en": "assumed", "zh": "自定"},
    "unit": {"en": "unit", "zh": "单位"},
    "units": {"en": "Units", "zh": "单位"},
    "role": {"en": "role", "zh": "岗位"},
    "status": {"en": "status", "zh": "状态"},
    "subject": {"en": "subject", "zh": "对象"},
    "period": {"en": "period", "zh": "周期"},
    "required": {"en": "required", "zh": "要求"},
    "observed": {"en": "observed", "zh": "实际"},
    "evidence": {"en": "evidence", "zh": "证据"},
    "note": {"en": "note", "zh": "备注"},
    "excused_by": {"en": "excused by", "zh": "免除依据"},
    "findings": {"en": "Findings", "zh": "结论"},
    "not_met": {"en": "Findings that are not met", "zh": "未达标结论"},
    "by_obligation": {"en": "By obligation", "zh": "按职责"},
    "by_unit": {"en": "By unit (each unit includes the units below it)", "zh": "按单位（含下级单位）"},
    "heatmap": {"en": "Compliance rate by unit and {bucket}", "zh": "各单位按{bucket}达标率"},
    "trend": {"en": "Compliance rate over time", "zh": "达标率趋势"},
    "week": {"en": "week", "zh": "周"},
    "month": {"en": "month", "zh": "月"},
    "all": {"en": "all", "zh": "全部"},
    "none": {"en": "None.", "zh": "无。"},
    "no_unit": {"en": "no unit", "zh": "无单位"},
    "total": {"en": "Total", "zh": "合计"},
    "rejects": {"en": "Rejected events", "zh": "被拒事件"},
    "counts": {
        "en": "{met} met, {late} late, {missed} missed, {open} open, {excused} excused, {not_applicable} not applicable",
        "zh": "达标 {met}，逾期 {late}，未完成 {missed}，进行中 {open}，免除 {excused}，不适用 {not_applicable}",
    },
}


#: the Markdown report's phrases (beside the shared ones above)
_TEXT.update({
    "md_header": {"en": "Ruleset `{ruleset}` version {version}; days {first} to {last} ({tz}); as of {as_of}; judged on the {engine} engine.",
                  "zh": "规则集 `{ruleset}` 版本 {version}；{first} 至 {last}（{tz}）；截至 {as_of}；判定引擎 {engine}。"},
    "md_events": {"en": "{used} events used, {rejected} rejected, {duplicates} duplicate ids.",
                  "zh": "采用事件 {used} 条，被拒 {rejected} 条，重复编号 {duplicates} 个。"},
    "not_met_index": {
        "en": "By unit, county down to dock. A unit's list holds the findings of that unit; the number beside it in this index "
              "also counts the units below it.",
        "zh": "按单位从县到码头排列。各单位清单只列本单位的结论；索引中的数字含下级单位。",
    },
    "not_in_registry": {"en": " (not in the registry)", "zh": "（不在名册中）"},
    "here_and_below": {"en": "{here} here, {total} with the units below", "zh": "本级 {here}，含下级 {total}"},
    "below_only": {"en": "{total} in the units below", "zh": "下级共 {total}"},
    "in_path": {"en": "In {path}: ", "zh": "隶属 {path}："},
    "no_unit_title": {"en": "Findings of no unit", "zh": "无单位的结论"},
    "no_unit_where": {"en": "Cases whose trigger names no unit: ", "zh": "触发事件未指明单位的案件："},
    "exemptions_applied": {"en": "Exemptions applied ({n} findings)", "zh": "已适用的免除（{n} 条结论）"},
    "not_judged": {"en": "Not judged ({n} obligations)", "zh": "未审计（{n} 项职责）"},
    "assumed_title": {"en": "Assumed requirements", "zh": "自定要求"},
    "assumed_intro": {"en": "These numbers are the ruleset's choice; the source document does not give them:",
                      "zh": "以下数字由规则集自定，来源文件未作规定："},
    "where": {"en": "where", "zh": "位置"},
    "reasons": {"en": "reasons", "zh": "原因"},
    "line": {"en": "line", "zh": "原文"},
    "id": {"en": "id", "zh": "编号"},
    "first_seen": {"en": "first seen", "zh": "首次出现"},
    "handling": {"en": "handling", "zh": "处理"},
    "duplicates_title": {"en": "Duplicate event ids", "zh": "重复事件编号"},
    "counted_once": {"en": "counted once", "zh": "只计一次"},
    "rejected_different": {"en": "rejected: different content", "zh": "已拒绝：内容不同"},
    "all_obligations": {"en": "all obligations", "zh": "全部职责"},
    "name": {"en": "name", "zh": "名称"},
    "headline": {"en": "{counts}; rate over all findings {raw}, obligation-weighted rate {weighted}.",
                 "zh": "{counts}；全部结论达标率 {raw}，按职责平均达标率 {weighted}。"},
})


#: the HTML report's phrases
_TEXT.update({
    "html_kicker": {"en": "Compliance audit", "zh": "履职合规审计"},
    "html_summary": {"en": "Summary", "zh": "概要"},
    "events": {"en": "Events", "zh": "事件"},
    "registry": {"en": "Registry", "zh": "名册"},
    "path": {"en": "file", "zh": "文件"},
    "html_not_judged": {"en": "not judged", "zh": "未审计"},
    "html_week_head": {"en": "W{week}", "zh": "第{week}周"},
    "html_heatmap_note": {
        "en": "Each cell is the rate of the findings decided in that {bucket}, at the unit and the units below it "
              "(hover for the counts); the last column covers the whole range.",
        "zh": "每格为该{bucket}内判定的本单位及下级单位结论的达标率（悬停查看数量）；最后一列为整个审计期间。",
    },
    "html_no_judged": {"en": "nothing judged", "zh": "无可评结论"},
    "html_trend_note": {"en": "The rate over all findings decided in each {bucket}.", "zh": "每{bucket}判定的全部结论的达标率。"},
    "html_not_met": {"en": "not met", "zh": "未达标"},
    "html_match": {"en": "{n} of {total} findings match", "zh": "共 {total} 条结论，符合 {n} 条"},
    "html_page": {"en": "page {page} of {pages}", "zh": "第 {page} 页，共 {pages} 页"},
    "html_previous": {"en": "Previous", "zh": "上一页"},
    "html_next": {"en": "Next", "zh": "下一页"},
    "html_no_match": {"en": "No findings match the filters.", "zh": "没有符合筛选条件的结论。"},
    "html_noscript": {"en": "The table of findings needs JavaScript; the summaries above do not.",
                      "zh": "结论表需要启用 JavaScript；以上汇总不需要。"},
    "html_listed": {"en": "The first {n} of each are listed.", "zh": "各列出前 {n} 条。"},
})


def text(key: str, lang: Lang = "en", **values: object) -> str:
    """A fixed phrase of the reports in ``lang``, with ``values`` put in."""
    phrase = _TEXT[key][lang]
    return phrase.format(**values) if values else phrase


def status_text(status: str, lang: Lang = "en") -> str:
    """A status as a reader says it: ``not applicable``, ``未完成``."""
    return _STATUS[lang].get(status, status)


def in_lang(label: Label | None, lang: Lang = "en", fallback: str = "") -> str:
    """A bilingual label in ``lang`` (Chinese falls back to English when the ruleset gives none)."""
    if label is None:
        return fallback
    return (label.zh or label.en) if lang == "zh" else label.en


def _units(pairs: list[tuple[int, str]], lang: Lang) -> str:
    parts = [format_unit(n, f"duration-{unit}", length="long", locale=_LOCALE[lang]) for n, unit in pairs if n]
    if not parts:
        return format_unit(0, "duration-minute", length="long", locale=_LOCALE[lang])
    return ("" if lang == "zh" else " ").join(parts)


@functools.lru_cache(maxsize=4096)
def _duration_text(years: int, months: int, days: int, seconds: int, lang: Lang) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    weeks = 0
    if days and days % 7 == 0 and not (years or months or hours or minutes or seconds):
        weeks, days = days // 7, 0
    pairs = [(years, "year"), (months, "month"), (weeks, "week"), (days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second")]
    return _units(pairs, lang)


def duration_text(duration: pendulum.Duration, lang: Lang = "en") -> str:
    """A duration in words, as the engine applies it: ``PT2H`` is ``2 hours`` / ``2小时``,
    ``P1M`` ``1 month`` / ``1个月``, ``P14D`` ``2 weeks``. Whole days are days: ``PT24H`` reads
    ``1 day`` / ``1天``, because pendulum keeps it as one (calendar) day."""
    return _duration_text(*duration_parts(duration), lang)


def delay_text(delay: dt.timedelta, lang: Lang = "en") -> str:
    """How late or overdue, to the minute under a day and to the hour beyond: ``2 days 3 hours``,
    ``45 minutes``, ``2天3小时``."""
    seconds = abs(int(delay.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return _delay_text(days, hours, 0 if days else rest // 60, delay.total_seconds() < 0, lang)


@functools.lru_cache(maxsize=1 << 14)
def _delay_text(days: int, hours: int, minutes: int, negative: bool, lang: Lang) -> str:
    # babel formats each unit in about 25 us; a delay is one of few (days, hours, minutes)
    return ("-" if negative else "") + _units([(days, "day"), (hours, "hour"), (minutes, "minute")], lang)


def subject_text(subject: SubjectRef, roles: Mapping[str, Label], lang: Lang = "en") -> str:
    """Whom a finding is about, as reports name it: the name and id, and the role by its label
    (``余红 (p-yu-hong)，码头日常管理人员``, ``余红 (p-yu-hong) as dock daily staff``); a role the
    report has no label for by its id."""
    who = f"{subject.name} ({subject.id})" if subject.name and subject.name != subject.id else subject.id
    if not subject.role:
        return who
    role = in_lang(roles.get(subject.role), lang, subject.role)
    return f"{who}，{role}" if lang == "zh" else f"{who} as {role}"


def number_text(value: float) -> str:
    """A count or a sum as people write it: ``12``, not ``12.0``; ``2.5`` as ``2.5`` (every
    digit a float needs to read back the same)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def when_text(instant: dt.datetime, tz: str) -> str:
    """An instant on the ruleset's wall clock, to the minute: ``2026-09-14 08:00`` (the same in
    both languages). The wall clock is read with the standard library (the same as
    :func:`~complianceengine.timeframes.local`, a third of the cost: findings name event times by
    the hundred thousand)."""
    if instant.tzinfo is None:  # a naive instant is UTC (as pendulum reads one), not the host's time
        instant = instant.replace(tzinfo=dt.timezone.utc)
    return _wall_clock(instant.timestamp(), tz)


@functools.lru_cache(maxsize=1 << 16)
def _wall_clock(seconds: float, tz: str) -> str:
    """:func:`when_text` of an instant given as POSIX seconds (remembered: a case's clock start
    and deadline are each named in its period and in its sentences)."""
    return dt.datetime.fromtimestamp(seconds, zone(tz)).strftime("%Y-%m-%d %H:%M")


def _day(day: dt.date, lang: Lang) -> str:
    return format_skeleton("yMMMd", day, locale=_LOCALE[lang])


def period_text(period: Period, tz: str, lang: Lang = "en") -> str:
    """A period as people name it, read from its start and end on the ruleset's wall clock:
    a day (``Sep 14, 2026`` / ``2026年9月14日``), a week (``week of Sep 14, 2026`` /
    ``2026年9月第3周``, the month and ordinal of the week's fourth day, as ISO weeks belong to
    the year of their Thursday), a month, a quarter, a year, other whole days as the first and
    the last day (``Aug 1, 2026 to Oct 31, 2026``); anything else (a cadence gap, a deadline) as
    its two ends to the minute."""
    return _period_text(period.start.timestamp(), period.end.timestamp(), tz, lang, period.label)


@functools.lru_cache(maxsize=1 << 14)
def _period_text(start_ts: float, end_ts: float, tz: str, lang: Lang, label: str) -> str:
    start, end = pendulum.from_timestamp(start_ts, tz=tz), pendulum.from_timestamp(end_ts, tz=tz)
    if start == end:
        return label
    midnight = start == start.start_of("day") and end == end.start_of("day")
    if midnight:
        first = start.date()
        if end.date() == first + dt.timedelta(days=1):
            return _day(first, lang)
        if end.date() == first + dt.timedelta(days=7):
            middle = first + dt.timedelta(days=3)
            if lang == "zh":
                return f"{middle.year}年{middle.month}月第{(middle.day - 1) // 7 + 1}周"
            return f"week of {_day(first, lang)}"
        if first.day == 1:
            months = (end.year - first.year) * 12 + end.month - first.month
            if end.day == 1 and months == 1:
                return format_skeleton("yMMMM", first, locale=_LOCALE[lang])
            if end.day == 1 and months == 3 and first.month % 3 == 1:
                quarter = (first.month - 1) // 3 + 1
                return f"{first.year}年第{quarter}季度" if lang == "zh" else f"Q{quarter} {first.year}"
            if end.day == 1 and months == 12 and first.month == 1:
                return f"{first.year}年" if lang == "zh" else str(first.year)
        last = end.date() - dt.timedelta(days=1)
        return f"{_day(first, lang)}{'至' if lang == 'zh' else ' to '}{_day(last, lang)}"
    return f"{start.strftime('%Y-%m-%d %H:%M')} {'至' if lang == 'zh' else 'to'} {end.strftime('%Y-%m-%d %H:%M')}"
