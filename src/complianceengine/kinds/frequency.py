"""``frequency``: at least N (at most M) matching events per period, per target.

Planned: one :class:`~complianceengine.plan.Frame` per target, requirement variant and period,
with the part of the period the duty is in force, whether the ``partial_periods`` rule judges it
and the number required after prorating. Judged: the counted events of each frame, exemptions
(which only lower the bar), and the status.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, StrictInt, model_validator

from ..exemptions import ExcusedSpan, excusing, exemption_spans, fixed_excusing
from ..events import Timeline
from ..findings import Finding, Status, anchored_ids, id_prefix, instant_key
from ..findingtable import FindingColumns, FindingTable
from ..model import (
    AppliesTo, ByRoles, CalendarUnit, Duration, Event, EventMatch, FixedPeriod, ObligationBase, Raised, Ruleset, Strict,
    duration_parts,
)
from ..plan import Frame
from ..timeframes import Interval, Period, clip, overlap, periods, shift, subtract
from ..trace import Decision, FrameStep
from ..words import delay_text, duration_text, in_lang, number_text, period_text
from .base import EventSource, ObligationKind, check_timed, raised, say, span_label, variants, what
from ..checks import period_days, rate

if TYPE_CHECKING:
    import pendulum

    from ..trace import Tracer
    from ..plan import ObligationPlan, Plan, Target, Variant


PartialPeriods = Literal["whole", "majority", "any"]
#: a frame's target index
_TARGET = operator.itemgetter(0)


class Measure(Strict):
    """What a frequency duty counts instead of events: ``sum`` of a number attribute of the
    counted events (vessels checked per sortie). An event without the attribute adds 0."""

    sum: str = Field(description="A number or integer attribute of every matched event kind")


#: which calendar sub-periods nest exactly in which periods (a week straddles months and years)
NESTED: dict[str, tuple[str, ...]] = {"day": ("week", "month", "quarter", "year"), "month": ("quarter", "year"), "quarter": ("year",)}


class InAtLeast(Strict):
    """The requirement holds per sub-period (``each``), and the period is met when at least
    ``periods`` of its sub-periods meet it: "in at least 10 of the 12 months"."""

    periods: StrictInt = Field(ge=1)
    each: Literal["day", "month", "quarter"]


class FrequencyObligation(ObligationBase):
    kind: Literal["frequency"]
    applies_to: AppliesTo
    match: EventMatch
    by: ByRoles | None = None
    period: CalendarUnit | FixedPeriod
    at_least: StrictInt = Field(ge=0)
    at_most: StrictInt | None = Field(None, ge=0)
    partial_periods: PartialPeriods = "majority"
    distinct_within: Duration | None = Field(None, description="Events closer than this to the last counted one count once")
    during: list[Raised] = Field(default_factory=list, description="Other requirements inside calendar windows; the first listed wins")
    excused_in: list[str] = Field(default_factory=list, description="Calendars whose windows excuse everyone (e.g. public holidays)")
    measure: Measure | None = Field(None, description="Count a sum of an attribute instead of events: {sum: vessels_checked}")
    in_at_least: InAtLeast | None = Field(
        None, description="at_least/at_most hold per sub-period; the period is met when at least `periods` of them meet it")
    min_spacing: Duration | None = Field(
        None, description="Counted events of one target closer than this to the previous counted one are flagged (still counted)")

    @model_validator(mode="after")
    def _bounds(self) -> FrequencyObligation:
        if self.at_most is not None and self.at_most < self.at_least:
            raise ValueError(f"at_most ({self.at_most}) is below at_least ({self.at_least})")
        if self.in_at_least is not None:
            if isinstance(self.period, FixedPeriod) or self.period not in NESTED[self.in_at_least.each]:
                fits = ", ".join(NESTED[self.in_at_least.each])
                raise ValueError(f"in_at_least: each {self.in_at_least.each} needs a period it nests in ({fits}), "
                                 f"not {self.period if isinstance(self.period, str) else 'a fixed period'}")
            if self.during:
                raise ValueError("in_at_least cannot be combined with `during` entries (a sub-period would be split between "
                                 "requirements); write the raised requirement as its own obligation")
        if self.at_least == 0 and self.at_most is None:
            raise ValueError("an obligation with at_least: 0 needs at_most, or it can never be missed")
        for entry in self.during:
            if entry.max_gap is not None:
                raise ValueError(f"during {entry.calendar}: max_gap belongs to cadence obligations; use period and at_least")
            if entry.period is None and entry.at_least is None and entry.at_most is None:
                raise ValueError(f"during {entry.calendar}: give period, at_least or at_most")
        return self

    def requirement(self, raised: Raised | None) -> tuple[CalendarUnit | FixedPeriod, int, int | None]:
        """(period, at_least, at_most) in force: the base one, or a window's override."""
        if raised is None:
            return self.period, self.at_least, self.at_most
        return (
            raised.period or self.period,
            self.at_least if raised.at_least is None else raised.at_least,
            self.at_most if raised.at_most is None else raised.at_most,
        )


def plan(obligation: FrequencyObligation, plan: Plan, targets: tuple[Target, ...]) -> dict[str, Any]:
    """The requirement variants and every frame: target x variant x period, in that order. The
    periods are those that end in the range (each is judged, whole, by the audit that holds its
    last day); the duty's own start and end are what can make one partial, not the audit's."""
    rule = obligation.partial_periods
    as_of = plan.as_of.timestamp()
    laid_out = []
    requirements = variants(plan, obligation)
    for variant in requirements:
        unit, at_least, at_most = obligation.requirement(raised(obligation, variant))
        if not variant.mask:
            continue
        # what does not depend on the target, once per period: the part of it inside the
        # variant's windows (all of a target's frame when its duty covers the period)
        calendar = []
        for period in periods(unit, plan.range, plan.tz, plan.ruleset.week_start):
            if not plan.reports(period.end):
                continue
            window = period.interval
            start, end = window.start.timestamp(), window.end.timestamp()
            # the frame of every target whose duty covers the whole period, but its index
            shared = _frame_fields(period, variant, tuple(overlap([window], variant.mask)), end - start, rule, as_of, at_least, at_most)
            calendar.append((period, window, start, end, shared))
        laid_out.append((variant, at_least, at_most, calendar))
    frames = []
    # a calendar's periods follow each other: those a target's duty touches are found by bisection
    edges = [([entry[2] for entry in calendar], [entry[3] for entry in calendar]) for _, _, _, calendar in laid_out]
    for index, target in enumerate(targets):
        in_force = [(part.start.timestamp(), part.end.timestamp()) for part in target.active]
        for (variant, at_least, at_most, calendar), (starts, ends) in zip(laid_out, edges):
            for position in _touched(in_force, starts, ends):
                period, window, start, end, shared = calendar[position]
                if covers(in_force, start, end):
                    if shared is not None:
                        frames.append(Frame(index, *shared))
                    continue
                fields = _frame_fields(period, variant, tuple(overlap(clip(target.active, window), variant.mask)), end - start, rule,
                                       as_of, at_least, at_most)
                if fields is not None:
                    frames.append(Frame(index, *fields))
    registry = exemption_spans(plan, ())
    return {"variants": requirements, "frames": tuple(frames),
            "excused": tuple(fixed_excusing(plan, target, obligation, registry) for target in targets)}


def _frame_fields(
    period: Period, variant: Variant, active: tuple[Interval, ...], whole: float, rule: str, as_of: float, at_least: int,
    at_most: int | None,
) -> tuple[Any, ...] | None:
    """The fields of a :class:`~complianceengine.plan.Frame` after its target index, for the
    part of a period the duty is in force (``active``), or None when that part is empty."""
    bounds = tuple((part.start.timestamp(), part.end.timestamp()) for part in active)
    covered = sum(last - first for first, last in bounds)
    if covered <= 0:
        return None
    required = at_least if covered >= whole else prorated(at_least, covered, whole)
    return (period, variant.window, active, covered, whole, judged(rule, covered, whole), bounds[-1][1] <= as_of, at_least, at_most,
            required, bounds)


def _touched(in_force: list[tuple[float, float]], starts: list[float], ends: list[float]) -> list[int]:
    """The positions of the periods (given by their sorted, non-overlapping ``starts`` and
    ``ends``) that overlap one of the ``in_force`` intervals, in order."""
    if len(in_force) == 1:
        first, last = in_force[0]
        return list(range(bisect.bisect_right(ends, first), bisect.bisect_left(starts, last)))
    chosen: set[int] = set()
    for first, last in in_force:
        chosen.update(range(bisect.bisect_right(ends, first), bisect.bisect_left(starts, last)))
    return sorted(chosen)


def covers(in_force: list[tuple[float, float]], start: float, end: float) -> bool:
    """Does one of the intervals (as timestamps) hold all of ``start``..``end``?"""
    for first, last in in_force:
        if first <= start and end <= last:
            return True
    return False


def lookback(obligation: FrequencyObligation, ruleset: Ruleset, span: Interval) -> dt.datetime:
    """The start of the earliest period (of the base or a raised requirement) that ends in
    ``span``: the period that holds its first instant."""
    units = [obligation.period, *(r.period for r in obligation.during if r.period is not None)]
    starts = [next(periods(unit, Interval(span.start, span.start + dt.timedelta(seconds=1)), ruleset.timezone, ruleset.week_start)).start
              for unit in units]
    return min(starts)


def judged(rule: str, seconds: float, whole: float) -> bool:
    """Does the ``partial_periods`` rule judge a period covered for ``seconds`` of ``whole``?"""
    if rule == "whole":
        return seconds >= whole
    if rule == "majority":
        return seconds / whole >= 0.5
    return seconds > 0


def prorated(at_least: int, covered: float, whole: float) -> int:
    """The requirement for a partly covered period: ``ceil(at_least x covered / whole)``."""
    return math.ceil(at_least * Fraction(round(covered)) / Fraction(round(whole)))


def thin(events: Sequence[Event], distinct_within: pendulum.Duration | None, dropped: dict[str, Event] | None = None) -> list[Event]:
    """Drop events closer than ``distinct_within`` to the last kept one (they count once).
    ``dropped``, when given, receives each dropped event's id with the kept event it is too close to."""
    if distinct_within is None:
        return list(events)
    kept: list[Event] = []
    for event in events:
        if not kept or event.time >= shift(kept[-1].time, distinct_within):
            kept.append(event)
        elif dropped is not None:
            dropped[event.id] = kept[-1]
    return kept


def too_close(counted: Timeline, spacing: pendulum.Duration) -> dict[str, tuple[str, float]]:
    """The counted events less than ``spacing`` after the previous counted one (``min_spacing``):
    each one's id -> the previous one's id and the seconds between them."""
    out = {}
    years, months, days, seconds = duration_parts(spacing)
    ids, times = counted.ids, counted.times
    # a spacing of hours and minutes is a number of seconds; days and months are calendar ones
    events = counted.events if (years or months or days) else None
    for i in range(1, len(ids)):
        gap = times[i] - times[i - 1]
        close = gap < seconds if events is None else events[i].time < shift(events[i - 1].time, spacing)
        if close:
            out[ids[i]] = ids[i - 1], gap
    return out


def amount(event: Event, attribute: str) -> float:
    """An event's value for a sum measure (0 without the attribute)."""
    value = event.attributes.get(attribute)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def judge(plan: Plan, compiled: ObligationPlan, source: EventSource) -> FindingTable:
    obligation = compiled.obligation
    assert isinstance(obligation, FrequencyObligation)
    out = FindingColumns()  # the plain verdicts as rows, the others as objects
    words = Wording(plan, compiled)
    rule = obligation.partial_periods
    relevant: dict[int, Timeline] = {}
    close: dict[int, dict[str, tuple[str, float]]] = {}
    excused_of: dict[int, list[ExcusedSpan]] = {}
    tracer = source.tracer
    # the fields every plainly judged finding shares (None: no plain verdicts, each frame goes
    # through _verdict: a measure, sub-periods, or a trace to record)
    plain = None
    if obligation.measure is None and obligation.in_at_least is None and tracer is None:
        plain = compiled.finding_fields()
    # tracing only: each target's every counting event, and those thinned out
    everything: dict[int, tuple[Timeline, dict[str, Event]]] = {}
    anchors: dict[int, bytes] = {}  # a period's anchor (encoded), by period (shared by every target)
    texts = words.plain_texts  # the sentences of plain verdicts, by (period, events, required, at_least, at_most)
    targets = compiled.targets
    # the frames come target by target: each target's timeline, exemptions and row family are
    # worked out once, and its plain verdicts gathered as columns (a million of them in a county)
    for index, frames in itertools.groupby(compiled.frames, key=_TARGET):
        target = targets[index]
        if index not in relevant:
            # thin only the events inside the duty's own time, so an event before the range or
            # before the assignment cannot swallow one inside it
            counting = source.counting(plan, compiled, target)
            dropped: dict[str, Event] | None = None
            if tracer is not None:
                everything[index] = counting, (dropped := {})
            counting = counting.slice(target.active)
            relevant[index] = (
                counting if obligation.distinct_within is None else Timeline(thin(counting.events, obligation.distinct_within, dropped))
            )
            excused_of[index] = excusing(plan, target, obligation, source.exemptions, compiled.excused[index])
            if obligation.min_spacing is not None:
                close[index] = too_close(relevant[index], obligation.min_spacing)
        timeline, excused, flagged = relevant[index], excused_of[index], close.get(index)
        times, ids = timeline.times, tuple(timeline.ids)
        prefixes: dict[str | None, bytes] = {None: id_prefix(compiled.ruleset, obligation.id, target.subject, target.unit, None, None)}
        rows: list[_Row] = []
        family = -1  # the target's family of rows, once it has one
        for frame in frames:
            _, period, window, _, covered, whole, judged_, _, at_least, at_most, required, bounds = frame
            if plain is not None and judged_:
                # the bulk of the verdicts: a period judged plainly (see _verdict, whose outcome
                # this is when no exemption can lower the bar)
                if len(bounds) == 1:  # Timeline.ids_between, inlined on a tuple of ids (a slice is the evidence as it is kept)
                    lo = bisect.bisect_left(times, bounds[0][0])
                    hi = bisect.bisect_left(times, bounds[0][1], lo)
                    seen = ids[lo:hi]
                else:
                    seen = tuple(timeline.ids_between(bounds))
                count = len(seen)
                # min_spacing: a period with a flagged event has a note
                if (count >= required or not excused) and not (flagged and any(name in flagged for name in seen)):
                    status = _status(frame, count, required, capped=True)
                    anchor = anchors.get(id(period))
                    if anchor is None:
                        anchor = anchors[id(period)] = instant_key(period.start).encode("utf-8")
                    # a whole period under the base requirement: its sentences looked up here
                    said = texts.get((id(period), count, required, at_least, at_most)) if window is None and covered >= whole else None
                    if said is None:
                        said = words.judged(frame, count, required)
                    prefix = prefixes.get(window)
                    if prefix is None:
                        prefix = prefixes[window] = id_prefix(compiled.ruleset, obligation.id, target.subject, target.unit, None, window)
                    rows.append((prefix, anchor, period, status, said, required, count, seen, window))
                    continue
            if rows:  # the rows before this finding, in their place
                family = _add_rows(out, family, rows, plain, target)
            finding, left, needed = _verdict(plan, compiled, frame, target, timeline, excused, words, rule, flagged)
            if tracer is not None:
                _trace(tracer, finding, frame, target, rule, *everything[index], timeline, excused, left, needed)
            out.append(finding)
        if rows:
            _add_rows(out, family, rows, plain, target)
    return out.table()


#: a frequency verdict added as a row: its id's prefix and anchor, period, status, sentences,
#: number required, count, evidence and window
_Row = tuple[bytes, bytes, Period, str, tuple[str, str, str | None], int, int, tuple[str, ...], str | None]


def _trace(
    tracer: Tracer, finding: Finding, frame: Frame, target: Target, rule: str, everything: Timeline, dropped: dict[str, Event],
    relevant: Timeline, excused: list[ExcusedSpan], left: float, required: int | None,
) -> None:
    """Record the frame and every counting event inside its period: counted (or not judged),
    outside the frame's coverage, or thinned out by ``distinct_within``."""
    kept = {e.id for e in relevant.within(frame.active)}
    decisions = []
    for event in everything.within([frame.period.interval]):
        if event.id in kept:
            decisions.append(Decision(event, "counted", True) if frame.judged else Decision(event, "not_judged"))
        elif not any(event.time in part for part in frame.active):
            decisions.append(Decision(event, "outside_period"))
        else:
            decisions.append(Decision(event, "distinct_within", related=dropped.get(event.id)))
    touching = tuple(x for x in excused if x.span.intersect(frame.period.interval) is not None)
    tracer.record(finding, FrameStep(target, frame, rule, touching, finding.excused_by, left, required), decisions)


def _add_rows(out: FindingColumns, family: int, rows: list[_Row], fields: dict[str, Any] | None, target: Target) -> int:
    """Add one target's plain verdicts in a row (``rows``) to ``out`` as columns, in the
    target's ``family`` of rows (-1: made now, of the obligation's ``fields``); empty ``rows``
    for the next ones. The family's number."""
    assert fields is not None
    if family < 0:
        family = out.family({**fields, "subject": target.subject, "unit": target.unit})
    prefixes, anchors, periods, statuses, said, needed, counts, evidence, windows = zip(*rows)
    wanted, observed, notes = zip(*said)
    prefix = prefixes[0]
    shared = all(own is prefix for own in prefixes)  # under the base requirement alone, as a rule
    out.add_rows(family, ids=anchored_ids(prefix if shared else prefixes, anchors), periods=list(periods), statuses=list(statuses),
                 required=list(wanted), observed=list(observed), required_counts=list(needed), observed_counts=list(counts),
                 evidence=list(evidence), decided=[period.end for period in periods], notes=list(notes),
                 windows=None if all(window is None for window in windows) else list(windows))
    rows.clear()
    return family


@dataclass(frozen=True, slots=True)
class Counted:
    """A frequency verdict as data: what :class:`Wording` turns into sentences (any backend that
    works out these numbers gives the same words)."""

    frame: Frame
    #: "not_judged" (the partial-period rule leaves the period out), "excused" (what exemptions
    #: leave is below that rule) or "judged"
    outcome: Literal["not_judged", "excused", "judged"]
    #: what is compared with the requirement: the counted events, the sum of their measure, or
    #: (in_at_least) the sub-periods that meet it
    count: float = 0
    #: the number required in the end (prorated for coverage and exemptions); None unless judged
    required: int | None = None
    #: the share of the coverage exemptions took, and the records and reasons that took it
    excused_share: float = 0.0
    used: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    #: the counted events (differs from count with a measure or in_at_least)
    events: int = 0
    #: in_at_least: the sub-periods judged, and the names of those not met
    sub_periods: int = 0
    unmet: tuple[str, ...] = ()
    #: min_spacing: (event, previous counted event, seconds between them) for each one flagged
    flagged: tuple[tuple[str, str, float], ...] = ()


_WORDS = {
    "en": {
        "covered": "duty in force for {share:.0%} of the period ({spans})", "window": "raised requirement during {window}",
        "not_judged": "none: partial_periods is {rule}", "excused_note": "excused for {share:.0%} of it by {records}",
        "observed": "{count} counted ({what})", "excused": "none: excused ({reasons})",
        "prorated": "requirement prorated from {was} to {now}", "at_least": "at least {n} {what}", "at_most": ", at most {n}",
        "in": " ({period})", "sep": "; ", "list": ", ",
        "sum_at_least": "at least {n} {measure} in {what}", "sum_at_most": ", at most {n}",
        "sum_observed": "{amount} {measure} in {count} counted ({what})",
        "each": " in each of at least {k} {each}s", "each_observed": "{met} of {total} {each}s met ({count} counted: {what})",
        "unmet": "not met in: {names}", "flagged": "{n} counted less than {spacing} after the previous one: {which}",
        "flag": "{event} {delay} after {previous}",
    },
    "zh": {
        "covered": "职责在本周期{share:.0%}的时间内有效（{spans}）", "window": "{window}期间要求提高",
        "not_judged": "无：partial_periods 为 {rule}", "excused_note": "其中{share:.0%}由{records}免除",
        "observed": "计入{count}次（{what}）", "excused": "无：已免除（{reasons}）",
        "prorated": "要求按比例由{was}次调整为{now}次", "at_least": "至少{n}次{what}", "at_most": "，至多{n}次",
        "in": "（{period}）", "sep": "；", "list": "、",
        "sum_at_least": "{what}合计{measure}至少{n}", "sum_at_most": "，至多{n}",
        "sum_observed": "{count}次{what}合计{measure}{amount}",
        "each": "，至少{k}个{each}达到", "each_observed": "{total}个{each}中{met}个达到（计入{count}次{what}）",
        "unmet": "未达到：{names}", "flagged": "{n}次与上一次间隔不足{spacing}：{which}",
        "flag": "{event}距{previous}仅{delay}",
    },
}
_EACH = {"en": {"day": "day", "month": "month", "quarter": "quarter"}, "zh": {"day": "天", "month": "月", "quarter": "季度"}}


class Wording:
    """The sentences of one frequency obligation's findings, rendered from :class:`Counted` in
    the plan's language: the one place their words are chosen (built once per obligation and
    audit)."""

    def __init__(self, plan: Plan, compiled: ObligationPlan):
        obligation = compiled.obligation
        assert isinstance(obligation, FrequencyObligation)
        self.plan, self.what, self.rule = plan, what(plan, obligation.match), obligation.partial_periods
        self.words = say(plan, _WORDS)
        self.measure = None if obligation.measure is None else measure_label(plan, obligation)
        self.each = None if obligation.in_at_least is None else (obligation.in_at_least.periods, _EACH[plan.lang][obligation.in_at_least.each])
        self.spacing = None if obligation.min_spacing is None else duration_text(obligation.min_spacing, plan.lang)
        self.periods: dict[int, str] = {}
        # (period, events, required, at_least, at_most) -> the sentences of a plain verdict, and
        # (..., coverage, window) -> those of one in part of a period or in a window; the periods
        # and coverages are kept alive by the plan's frames, so their ids are not reused meanwhile
        self.plain_texts: dict[tuple[Any, ...], tuple[str, str, str | None]] = {}

    def __call__(self, facts: Counted) -> tuple[str, str, str | None]:
        """(required, observed, note)."""
        frame = facts.frame
        # most findings are a whole period judged plainly: their sentences depend on a few
        # numbers and the period alone, and are shared by every target with the same ones
        plain = (facts.outcome == "judged" and frame.covered >= frame.whole and frame.window is None and not facts.flagged
                 and not facts.used and self.each is None and self.measure is None)
        if not plain:
            return self._words(facts)
        assert facts.required is not None  # judged
        return self.judged(frame, facts.events, facts.required)

    def judged(self, frame: Frame, events: int, required: int) -> tuple[str, str, str | None]:
        """What ``__call__`` gives for ``Counted(frame, "judged", events, required, events=events)``
        (no exemption, measure, sub-periods or flag), remembered: by the period and the numbers
        for a whole period under the base requirement (the key ``__call__`` uses), by the coverage
        and the window too otherwise (the same objects for every target whose duty covers the
        period)."""
        key: tuple[Any, ...] = (id(frame.period), events, required, frame.at_least, frame.at_most)
        if frame.covered < frame.whole or frame.window is not None:
            key += (id(frame.active), frame.window)
        found = self.plain_texts.get(key)
        if found is None:
            found = self.plain_texts[key] = self._words(Counted(frame, "judged", events, required, events=events))
        return found

    def _words(self, facts: Counted) -> tuple[str, str, str | None]:
        frame, plan, w = facts.frame, self.plan, self.words
        notes = []
        if frame.covered < frame.whole:
            notes.append(w["covered"].format(share=frame.covered / frame.whole, spans=w["sep"].join(span_label(p, plan) for p in frame.active)))
        if frame.window is not None:
            notes.append(w["window"].format(window=in_lang(plan.ruleset.calendars[frame.window].label, plan.lang)
                                            if plan.lang == "zh" and frame.window in plan.ruleset.calendars else frame.window))
        if facts.flagged:
            which = w["list"].join(w["flag"].format(event=e, previous=p, delay=delay_text(dt.timedelta(seconds=gap), plan.lang))
                                   for e, p, gap in facts.flagged[:3]) + (w["list"] + "..." if len(facts.flagged) > 3 else "")
            notes.append(w["flagged"].format(n=len(facts.flagged), spacing=self.spacing, which=which))
        if facts.outcome == "not_judged":
            return w["not_judged"].format(rule=self.rule), "-", w["sep"].join(notes)
        if facts.used:
            notes.append(w["excused_note"].format(share=facts.excused_share, records=w["list"].join(facts.used)))
        if self.each is not None:
            observed = w["each_observed"].format(met=int(facts.count), total=facts.sub_periods, each=self.each[1], count=facts.events,
                                                 what=self.what)
            if facts.unmet:
                notes.append(w["unmet"].format(names=w["list"].join(facts.unmet)))
        elif self.measure is not None:
            observed = w["sum_observed"].format(amount=number_text(facts.count), measure=self.measure, count=facts.events, what=self.what)
        else:
            observed = w["observed"].format(count=facts.events, what=self.what)
        if facts.outcome == "excused":
            return w["excused"].format(reasons=w["sep"].join(facts.reasons)), observed, w["sep"].join(notes)
        assert facts.required is not None
        base = self.each[0] if self.each is not None else frame.at_least
        if facts.required != base:
            notes.append(w["prorated"].format(was=base, now=facts.required))
        if self.measure is not None:
            wanted = (w["sum_at_least"].format(n=frame.at_least if self.each else facts.required, measure=self.measure, what=self.what)
                      + (w["sum_at_most"].format(n=frame.at_most) if frame.at_most is not None else ""))
        else:
            wanted = (w["at_least"].format(n=frame.at_least if self.each else facts.required, what=self.what)
                      + (w["at_most"].format(n=frame.at_most) if frame.at_most is not None else ""))
        if self.each is not None:
            wanted += w["each"].format(k=facts.required, each=self.each[1])
        named = self.periods.get(id(frame.period))
        if named is None:  # a period is one object shared by every target's frame
            named = self.periods[id(frame.period)] = period_text(frame.period, plan.tz, plan.lang)
        wanted += w["in"].format(period=named)
        return wanted, observed, w["sep"].join(notes) or None


def measure_label(plan: Plan, obligation: FrequencyObligation) -> str:
    """The measured attribute's label (of the first matched event kind that declares it), else its name."""
    assert obligation.measure is not None
    name = obligation.measure.sum
    for kind in obligation.match.kinds:
        spec = plan.ruleset.event_kinds[kind].attributes.get(name) if kind in plan.ruleset.event_kinds else None
        if spec is not None and spec.label is not None:
            return in_lang(spec.label, plan.lang)
    return name


def _sub_periods(plan: Plan, obligation: FrequencyObligation, frame: Frame, relevant: Timeline, measure: str | None,
                 ) -> tuple[int, int, tuple[str, ...]]:
    """in_at_least: (sub-periods that meet the requirement, sub-periods the duty is in force in,
    names of those not met). A sub-period counts the events in its part of the frame's coverage."""
    assert obligation.in_at_least is not None
    met, total, unmet = 0, 0, []
    for sub in periods(obligation.in_at_least.each, frame.period.interval, plan.tz, plan.ruleset.week_start):
        parts = clip(frame.active, sub.interval)
        if not parts:
            continue
        total += 1
        value = (sum(amount(e, measure) for e in relevant.within(parts)) if measure is not None
                 else len(relevant.ids_between([(part.start.timestamp(), part.end.timestamp()) for part in parts])))
        if value >= frame.at_least and (frame.at_most is None or value <= frame.at_most):
            met += 1
        else:
            unmet.append(period_text(sub, plan.tz, plan.lang))
    return met, total, tuple(unmet)


def _verdict(
    plan: Plan, compiled: ObligationPlan, frame: Frame, target: Target, relevant: Timeline, excused: list[ExcusedSpan], words: Wording,
    rule: str, close: dict[str, tuple[str, float]] | None = None,
) -> tuple[Finding, float, int | None]:
    """The finding, with the seconds of coverage left after exemptions and the number required
    in the end (None when the period is not judged or excused)."""
    obligation = compiled.obligation
    assert isinstance(obligation, FrequencyObligation)
    period, active, covered, whole = frame.period, list(frame.active), frame.covered, frame.whole
    if not frame.judged:
        required_text, observed_text, note = words(Counted(frame, "not_judged"))
        return compiled.finding(target.subject, target.unit, period, "not_applicable", required_text, observed_text, note=note,
                                window=frame.window, decided=period.end), covered, None
    # events during an exemption still count: an exemption can only lower the bar; their ids
    # are enough but for a measure (the events are built only then)
    bounds = frame.bounds or tuple((part.start.timestamp(), part.end.timestamp()) for part in active)
    seen = relevant.ids_between(bounds)
    measure = obligation.measure.sum if obligation.measure is not None else None
    extra: dict[str, Any] = {}
    if measure is not None:
        values = tuple(amount(e, measure) for e in relevant.between(bounds))
        extra = {"observed_amount": float(sum(values)), "evidence_values": values}
    flagged: tuple[tuple[str, str, float], ...] = ()
    if close:
        flagged = tuple((name, close[name][0], close[name][1]) for name in seen if name in close)
        extra["flagged"] = tuple(e for e, _, _ in flagged)
    sub_periods, unmet = 0, tuple[str, ...]()
    base, required = frame.at_least, frame.required
    count: float
    if obligation.in_at_least is not None:
        met, sub_periods, unmet = _sub_periods(plan, obligation, frame, relevant, measure)
        count = met
        base = obligation.in_at_least.periods
        required = base if covered >= whole else prorated(base, covered, whole)
    else:
        count = extra["observed_amount"] if measure is not None else len(seen)
    facts = functools.partial(Counted, frame, events=len(seen), sub_periods=sub_periods, unmet=unmet, flagged=flagged)
    used: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    left = covered
    if count < required and excused:
        used = tuple(dict.fromkeys(x.record for x in excused if overlap(active, [x.span])))
        left = sum(part.seconds for part in subtract(active, [x.span for x in excused]))
        reasons = tuple({x.record: x.reason for x in excused if x.record in used}.values())  # a calendar's windows: one reason
        if used and not judged(rule, left, whole):
            required_text, observed_text, note = words(facts("excused", count, None, 1 - left / covered, used, reasons))
            return compiled.finding(target.subject, target.unit, period, "excused", required_text, observed_text,
                                    observed_count=_whole(count), evidence=tuple(seen), note=note, window=frame.window,
                                    decided=period.end, excused_by=used, **extra), left, None
        if used:
            required = prorated(base, left, whole)
    status = _status(frame, count, required, capped=obligation.in_at_least is None)
    required_text, observed_text, note = words(facts("judged", count, required, 1 - left / covered, used, reasons))
    return compiled.finding(target.subject, target.unit, period, status, required_text, observed_text, required_count=required,
                            observed_count=_whole(count), evidence=tuple(seen), note=note, window=frame.window,
                            decided=period.end, excused_by=used, **extra), left, required


def _status(frame: Frame, count: float, required: int, *, capped: bool) -> Status:
    """A judged period's status: ``missed`` past ``at_most`` when the count is capped (not with
    ``in_at_least``, whose count is of sub-periods), else met, open or missed by the count and
    whether the period is over."""
    if capped and frame.at_most is not None and count > frame.at_most:
        return "missed"
    if count >= required:
        # with at_most, a period not over may still be broken (another event in a sub-period, too)
        return "met" if frame.over or frame.at_most is None else "open"
    return "missed" if frame.over else "open"


def _whole(count: float) -> int | None:
    """``observed_count`` for a finding: the count, or a sum when it is a whole number."""
    return int(count) if float(count).is_integer() else None


def check(obligation: FrequencyObligation, ruleset: Ruleset) -> list[tuple[tuple[Any, ...], str]]:
    """The timed duties' references (:func:`check_timed`), and a ``measure`` that every matched
    event kind declares as a number or integer attribute."""
    problems = check_timed(obligation, ruleset)
    if obligation.measure is not None:
        name = obligation.measure.sum
        for kind in obligation.match.kinds:
            spec = ruleset.event_kinds[kind].attributes.get(name) if kind in ruleset.event_kinds else None
            if kind in ruleset.event_kinds and (spec is None or spec.type not in ("integer", "number")):
                declared = "does not declare it" if spec is None else f"declares it as {spec.type}"
                problems.append((("measure", "sum"), f"the measure {name!r} must be a number or integer attribute of event kind "
                                                     f"{kind!r}, which {declared}"))
    return problems


def lint(obligation: FrequencyObligation, ruleset: Ruleset) -> list[tuple[str, tuple[Any, ...], str, str]]:
    """CE102: a raised requirement that is in fact weaker; CE104: ``distinct_within`` so long that
    fewer than ``at_least`` counted events fit in a period; CE113: ``min_spacing`` so long that
    ``at_least`` events in a period are always flagged; CE114: ``in_at_least`` asking for more
    sub-periods than a period has."""

    out: list[tuple[str, tuple[Any, ...], str, str]] = []
    for j, raised_ in enumerate(obligation.during):
        base = rate(obligation.period, obligation.at_least)
        inside = rate(raised_.period or obligation.period, raised_.at_least if raised_.at_least is not None else obligation.at_least)
        if base is not None and inside is not None and inside < base:
            out.append(("CE102", ("during", j),
                        f"{obligation.id}: during {raised_.calendar} the requirement is about {inside * 7:.2f} a week, "
                        f"weaker than the base {base * 7:.2f} a week",
                        "raise at_least or shorten the period inside the window, or remove the `during` entry"))
    if obligation.distinct_within is not None:
        days = period_days(obligation.period)
        window = obligation.distinct_within.total_seconds() / 86400  # a month counts as 30 days
        at_least = obligation.at_least or 0
        # at_least events, each distinct_within after the previous, need (at_least - 1) windows
        if days and at_least > 1 and (at_least - 1) * window >= days:
            fit = 1 + int((days - 1e-9) // window) if window else at_least
            out.append(("CE104", ("distinct_within",),
                        f"{obligation.id}: with distinct_within between counted events, at most {fit} fit in a period but {at_least} are required",
                        "shorten distinct_within, lower at_least or lengthen the period"))
    days = period_days(obligation.period)
    if obligation.min_spacing is not None and obligation.measure is None and obligation.in_at_least is None and days:
        spacing = obligation.min_spacing.total_seconds() / 86400
        if obligation.at_least > 1 and (obligation.at_least - 1) * spacing >= days:
            out.append(("CE113", ("min_spacing",),
                        f"{obligation.id}: {obligation.at_least} events a period cannot all be min_spacing apart",
                        "shorten min_spacing, lower at_least or lengthen the period"))
    if obligation.in_at_least is not None:
        most = {("day", "week"): 7, ("day", "month"): 31, ("day", "quarter"): 92, ("day", "year"): 366, ("month", "quarter"): 3,
                ("month", "year"): 12, ("quarter", "year"): 4}.get((obligation.in_at_least.each, str(obligation.period)))
        if most is not None and obligation.in_at_least.periods > most:
            out.append(("CE114", ("in_at_least", "periods"),
                        f"{obligation.id}: {obligation.in_at_least.periods} {obligation.in_at_least.each}s are asked for, "
                        f"but a {obligation.period} has at most {most}",
                        "lower in_at_least.periods"))
    return out


KIND: ObligationKind = ObligationKind(model=FrequencyObligation, judge=judge, plan=plan, check=check, lookback=lookback, lint=lint)
