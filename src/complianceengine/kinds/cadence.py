"""``cadence``: the gap between matching events of each target never exceeds ``max_gap``.

Planned: the requirement variants (a shorter gap inside campaign windows). Judged: each gap in
each stretch of time the duty is in force, from its start or the previous counted event to the
next one, against the earliest deadline in force; exemptions overlapping a gap restart its clock.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from ..events import build_together
from ..exemptions import ExcusedSpan, excusing, exemption_spans, fixed_excusing
from ..findings import Finding, instant_key
from ..model import AppliesTo, ByRoles, Duration, Event, EventMatch, ObligationBase, Raised, Ruleset
from ..timeframes import BEGINNING, EXACT_SECONDS, Interval, Period, from_micros, local, micros, shift
from ..words import delay_text, duration_text
from ..trace import Decision, GapStep
from .base import EventSource, ObligationKind, check_timed, raised, say, variants, what, when

if TYPE_CHECKING:
    from ..trace import Tracer
    from ..events import Timeline
    from ..plan import ObligationPlan, Plan, Target, Variant


class CadenceObligation(ObligationBase):
    kind: Literal["cadence"]
    applies_to: AppliesTo
    match: EventMatch
    by: ByRoles | None = None
    max_gap: Duration
    during: list[Raised] = Field(default_factory=list, description="Other maximum gaps inside calendar windows; the first listed wins")
    excused_in: list[str] = Field(default_factory=list, description="Calendars whose windows excuse everyone (e.g. public holidays)")
    min_spacing: Duration | None = Field(
        None, description="A counted event closer than this to the previous counted one is flagged (it still closes the gap)")

    @model_validator(mode="after")
    def _gaps_only(self) -> CadenceObligation:
        for entry in self.during:
            if entry.max_gap is None or entry.period is not None or entry.at_least is not None or entry.at_most is not None:
                raise ValueError(f"during {entry.calendar}: a cadence obligation takes only max_gap inside windows")
        return self


def plan(obligation: CadenceObligation, plan: Plan, targets: tuple[Target, ...]) -> dict[str, Any]:
    registry = exemption_spans(plan, ())
    return {"variants": variants(plan, obligation),
            "excused": tuple(fixed_excusing(plan, target, obligation, registry) for target in targets)}


def deadline(
    plan: Plan, obligation: CadenceObligation, variants: tuple[Variant, ...], anchor: dt.datetime, excused: list[ExcusedSpan]
) -> tuple[dt.datetime, tuple[str, ...], str | None]:
    """(due, exemption records used, calendar) for the gap that starts at ``anchor``.

    The deadline is the earliest of: the anchor plus the base gap; and, for each window of a
    ``during`` entry that ends after the anchor, the later of the anchor and the window's start,
    plus the window's gap, when that point still lies inside the window. An exemption overlapping
    the gap restarts the clock at the exemption's end.
    """
    clock, used = local(anchor, plan.tz), list[str]()
    while True:
        due, window = shift(clock, obligation.max_gap), None
        for variant in variants[1:]:
            gap = raised(obligation, variant)
            assert gap is not None and gap.max_gap is not None
            for part in variant.mask:
                # a window over by then, or starting at or after the deadline found (a gap added
                # to its start cannot end sooner): nothing to work out
                if part.end <= clock or part.start >= due:
                    continue
                sooner = shift(local(max(clock, part.start), plan.tz), gap.max_gap)
                if sooner < part.end and sooner < due:  # windows are half-open
                    due, window = sooner, variant.window
        pushed = [x for x in excused if x.span.start < due and x.span.end > clock]
        if not pushed:
            return due, tuple(dict.fromkeys(used)), window
        clock = local(max(x.span.end for x in pushed), plan.tz)
        used += [x.record for x in pushed]


def anchors(plan: Plan, compiled: ObligationPlan, countings: Sequence[Timeline]) -> list[float]:
    """The instants (POSIX seconds, as :class:`~complianceengine.events.Timeline` holds them) a
    gap judged in this audit may start at, and some more: the range's first instant, the start
    of each stretch of duty that touches the range and every counted event of each target
    (``countings``, in the order of the targets). What :func:`judge` asks
    :meth:`~complianceengine.kinds.EventSource.deadlines` for, and what a backend that answers
    its questions ahead answers."""
    start, end = plan.range.start.timestamp(), plan.range.end.timestamp()
    out = {start}
    for target, counting in zip(compiled.targets, countings, strict=True):
        times = counting.times
        for active in target.active:
            first, last = active.start.timestamp(), active.end.timestamp()
            if last <= start or first >= end:
                continue
            if active.start > BEGINNING:
                out.add(first)
            # the stretch's events: the last one before the range, those in it, the first after it
            lo, hi = bisect.bisect_left(times, first), bisect.bisect_left(times, last)
            out.update(times[max(lo, bisect.bisect_left(times, start, lo, hi) - 1):min(hi, bisect.bisect_left(times, end, lo, hi) + 1)])
    # beyond the year 2242 a timestamp no longer names one microsecond: such a gap's deadline is
    # worked out by the judge from its instant
    return sorted(t for t in out if abs(t) < EXACT_SECONDS)


def plain_deadlines(plan: Plan, compiled: ObligationPlan, instants: Sequence[float]) -> list[tuple[dt.datetime, str | None]]:
    """:func:`deadline` with no exemption for a gap starting at each of ``instants`` (POSIX
    seconds, below :data:`~complianceengine.timeframes.EXACT_SECONDS`): the reference's answer to :meth:`~complianceengine.kinds.EventSource.deadlines`."""
    obligation = compiled.obligation
    assert isinstance(obligation, CadenceObligation)
    out = []
    for instant in instants:
        due, _, window = deadline(plan, obligation, compiled.variants, from_micros(micros(instant), plan.tz), [])
        out.append((due, window))
    return out


#: where a gap's clock started: the previous counted event, the start of the duty, or (a duty with
#: no start date and no event before the range) the range's first day
Since = Literal["previous", "duty", "range"]


@dataclass(frozen=True, slots=True)
class Gap:
    """A cadence verdict as data: what :class:`Wording` turns into sentences."""

    anchor: dt.datetime
    since: Since
    due: dt.datetime
    #: met / late (closed after the deadline) / excused (an exemption moved the deadline past the
    #: end of the duty) / missed / open (not closed yet)
    outcome: Literal["met", "late", "excused", "missed", "open"]
    closed: dt.datetime | None = None
    used: tuple[str, ...] = ()
    #: how far a missed gap was checked: the as-of time, or the end of the duty if earlier
    checked: dt.datetime | None = None


class Wording:
    """The sentences of one cadence obligation's findings, rendered from :class:`Gap`: the one
    place their words are chosen."""

    def __init__(self, plan: Plan, compiled: ObligationPlan):
        obligation = compiled.obligation
        assert isinstance(obligation, CadenceObligation)
        self.plan, self.what = plan, what(plan, obligation.match)
        self.words = say(plan, _WORDS)
        self.since = {key: self.words[f"since_{key}"].format(what=self.what) for key in ("previous", "duty", "range")}
        self.spacing = None if obligation.min_spacing is None else duration_text(obligation.min_spacing, plan.lang)

    def __call__(self, gap: Gap) -> tuple[str, str]:
        """(required, observed)."""
        plan, what_, w, lang = self.plan, self.what, self.words, self.plan.lang
        required = w["required"].format(what=what_, since=self.since[gap.since], anchor=when(gap.anchor, plan), due=when(gap.due, plan))
        if gap.outcome == "met":
            assert gap.closed is not None
            return required, w["met"].format(what=what_, at=when(gap.closed, plan))
        if gap.outcome == "late":
            assert gap.closed is not None
            return required, w["late"].format(what=what_, at=when(gap.closed, plan), delay=delay_text(gap.closed - gap.due, lang))
        if gap.outcome == "excused":
            return required, w["excused"].format(records=w["list"].join(gap.used))
        if gap.outcome == "missed":
            assert gap.checked is not None
            return required, w["missed"].format(what=what_, at=when(gap.checked, plan), delay=delay_text(gap.checked - gap.due, lang))
        return required, w["open"].format(what=what_)

    def flag(self, event: Event, previous: Event) -> str:
        """The note of a gap closed less than ``min_spacing`` after the previous counted event."""
        return self.words["flagged"].format(event=event.id, previous=previous.id, spacing=self.spacing,
                                            delay=delay_text(event.time - previous.time, self.plan.lang))


_WORDS = {
    "en": {
        "since_previous": "the previous {what}", "since_duty": "the start of the duty",
        "since_range": "the start of the audit range (the duty has no start date)",
        "required": "a {what} after {since} ({anchor}), by {due}", "met": "{what} at {at}",
        "late": "next {what} only at {at}, {delay} after the deadline",
        "excused": "exemption moved the deadline past the end of the duty ({records})",
        "missed": "no {what} by the deadline (checked until {at}, {delay} overdue)", "open": "no {what} yet", "list": ", ",
        "flagged": "{event} only {delay} after {previous} (less than the minimum spacing of {spacing})",
    },
    "zh": {
        "since_previous": "上一次{what}", "since_duty": "职责开始", "since_range": "审计范围开始（职责无开始日期）",
        "required": "{since}（{anchor}）后须有{what}，截止{due}", "met": "{at}有{what}",
        "late": "下一次{what}迟至{at}，超过截止时间{delay}", "excused": "免除使截止时间延至职责结束之后（{records}）",
        "missed": "截止时间前无{what}（核查至{at}，已逾期{delay}）", "open": "尚无{what}", "list": "、",
        "flagged": "{event}距{previous}仅{delay}（不足最小间隔{spacing}）",
    },
}


def lookback(obligation: CadenceObligation, ruleset: Ruleset, span: Interval) -> dt.datetime:
    """The longest gap (base or raised) before the range: a gap that began earlier, with no
    exemption pushing its deadline, was decided before the range."""
    gaps = [obligation.max_gap, *(r.max_gap for r in obligation.during if r.max_gap is not None)]
    return min(shift(local(span.start, ruleset.timezone), gap, -1) for gap in gaps)


def judge(plan: Plan, compiled: ObligationPlan, source: EventSource) -> list[Finding]:
    obligation = compiled.obligation
    assert isinstance(obligation, CadenceObligation)
    out = []
    what_ = what(plan, obligation.match)
    words = Wording(plan, compiled)
    gaps = compiled.variants
    tracer = source.tracer
    unknown_start = 0
    # clocks that start at the start of a duty before the earliest event given: a matching event
    # between the two, had it been given, would have moved them
    earliest = source.known[0].time if source.known else plan.range.start
    unseen: list[dt.datetime] = []
    spacing = obligation.min_spacing
    countings = [source.counting(plan, compiled, target) for target in compiled.targets]
    build_together(countings)  # the gaps read every counted event: a table builds them at once
    # the deadline of each gap without exemptions, asked of the backend for every gap at once
    # (a gap that starts at an event: by the instant its timeline holds)
    asked = anchors(plan, compiled, countings)
    plain_due = dict(zip(asked, _deadlines(source, plan, compiled, asked), strict=True))

    def plain_for(anchor: dt.datetime, at: float) -> tuple[dt.datetime, tuple[str, ...], str | None]:
        found = plain_due.get(at)
        if found is None:  # not foreseen: worked out here
            return deadline(plan, obligation, gaps, anchor, [])
        return found[0], (), found[1]

    for index, target in enumerate(compiled.targets):
        relevant = countings[index]
        excused = excusing(plan, target, obligation, source.exemptions, compiled.excused[index])
        for active in target.active:
            if active.end <= plan.range.start or active.start >= plan.range.end:
                continue  # every gap of this stretch is decided outside the range
            stretch = relevant.slice([active])
            counted = stretch.events
            # the clock runs from the last counted event before the range: every earlier gap
            # was decided (kept or overrun) before the range began
            before = bisect.bisect_left(stretch.times, plan.range.start.timestamp())
            opened_by: Event | None = None
            since: Since
            # counted events before the opening one at the same instant: a second gap opening at
            # one instant needs its own id (anchor "<instant>#1"), not the first one's
            # (the start of the duty counts as one: a visit at that very instant opens the second gap)
            repeat = 0
            if before:
                opened_by = counted[before - 1]
                anchor, at, since = local(opened_by.time, plan.tz), stretch.times[before - 1], "previous"
                while repeat + 1 < before and stretch.times[before - 2 - repeat] == stretch.times[before - 1]:
                    repeat += 1
                if stretch.times[0] == stretch.times[before - 1] == active.start.timestamp():
                    repeat += 1
            elif active.start <= BEGINNING:
                # a unit's duty has no start date: with no event before the range, the clock can
                # only start at the range's first day (the report warns: tiles may not add up)
                anchor, at, since = local(plan.range.start, plan.tz), plan.range.start.timestamp(), "range"
                unknown_start += 1
            else:
                anchor, at, since = local(active.start, plan.tz), active.start.timestamp(), "duty"
                if active.start < min(earliest, plan.range.start):
                    unseen.append(active.start)
            for index in range(before, len(counted)):
                event = counted[index]
                # exemptions only matter when the plain deadline was not kept
                due, used, window = plain_for(anchor, at)
                if event.time > due and excused:
                    due, used, window = deadline(plan, obligation, gaps, anchor, excused)
                period = Period(label=f"{when(anchor, plan)} to {when(event.time, plan)}", start=anchor, end=event.time)
                extra: dict[str, Any] = {"due": due, "window": window, "excused_by": used, "evidence": (event.id,),
                                         "anchor": f"{instant_key(anchor)}#{repeat}" if repeat else None}
                if spacing is not None and opened_by is not None and event.time < shift(opened_by.time, spacing):
                    extra["flagged"] = (event.id,)
                    extra["note"] = words.flag(event, opened_by)
                if event.time <= due:
                    required, observed = words(Gap(anchor, since, due, "met", event.time))
                    finding = compiled.finding(target.subject, target.unit, period, "met", required, observed, decided=event.time, **extra)
                else:
                    required, observed = words(Gap(anchor, since, due, "late", event.time))
                    finding = compiled.finding(target.subject, target.unit, period, "missed", required, observed,
                                               delay_seconds=int((event.time - due).total_seconds()), decided=due, **extra)
                if tracer is not None:
                    _trace(tracer, finding, GapStep(target, active, anchor, opened_by, event, due, window, (), used), relevant, excused)
                out.append(finding)
                repeat = repeat + 1 if stretch.times[index] == anchor.timestamp() else 0
                anchor, at, since, opened_by = local(event.time, plan.tz), stretch.times[index], "previous", event
                if anchor >= plan.range.end:
                    break  # later gaps are decided after the range
            due, used, window = plain_for(anchor, at)
            plain = due
            if due < active.end and excused:  # (with no exemption, the plain deadline again)
                due, used, window = deadline(plan, obligation, gaps, anchor, excused)
            period = Period(label=f"{when(anchor, plan)} to {when(due, plan)}", start=anchor, end=due)
            extra = {"due": due, "window": window, "excused_by": used, "decided": due,
                     "anchor": f"{instant_key(anchor)}#{repeat}" if repeat else None}
            if due >= active.end:
                if not used:
                    continue  # the duty ends before the next deadline
                # without the exemption a deadline would have fallen while the duty was in force: say so
                extra["decided"] = plain
                required, observed = words(Gap(anchor, since, due, "excused", used=used))
                finding = compiled.finding(target.subject, target.unit, period, "excused", required, observed, **extra)
            elif due <= plan.as_of:
                checked = min(plan.as_of, active.end)
                required, observed = words(Gap(anchor, since, due, "missed", checked=checked))
                finding = compiled.finding(target.subject, target.unit, period, "missed", required, observed,
                                           delay_seconds=int((checked - due).total_seconds()), **extra)
            else:
                required, observed = words(Gap(anchor, since, due, "open"))
                finding = compiled.finding(target.subject, target.unit, period, "open", required, observed, **extra)
            if tracer is not None:
                _trace(tracer, finding, GapStep(target, active, anchor, opened_by, None, due, window, (), used), relevant, excused)
            out.append(finding)
    if unseen:
        source.warnings.append(
            f"{compiled.id}: {len(unseen)} clock(s) start at the start of a duty (from {when(min(unseen), plan)}), before the range and "
            f"the earliest event given ({when(earliest, plan)}): gaps from then are judged as if no {what_} happened in between"
        )
    if unknown_start:
        source.warnings.append(
            f"{compiled.id}: {unknown_start} clock(s) start at the audit's first day, because the duty has no start date (a unit's) "
            "and no counted event came before the range; audits of parts of this range may not add up to it"
        )
    return out


def _deadlines(source: EventSource, plan: Plan, compiled: ObligationPlan, instants: Sequence[float]) -> list[tuple[dt.datetime, str | None]]:
    """``source.deadlines``; :func:`plain_deadlines` from a source that has no such method (one
    written against the protocol before it had one)."""
    asking = getattr(source, "deadlines", None)
    return plain_deadlines(plan, compiled, instants) if asking is None else asking(plan, compiled, instants)


def _trace(tracer: Tracer, finding: Finding, gap: GapStep, relevant: Timeline, excused: list[ExcusedSpan]) -> None:
    """Record the gap and the counting events from its start to the event that closes it (for
    the gap after the last event: to its deadline or the end of the duty's time, the later):
    the one that closes it counts, the others close other gaps or fall outside the duty's time."""
    closer = gap.closed_by
    end = closer.time if closer is not None else max(gap.due, gap.span.end)
    decisions = []
    for event in relevant:
        if gap.anchor <= event.time and (event.time <= end if closer is not None else event.time < end):
            if closer is not None and event.id == closer.id:
                decisions.append(Decision(event, "counted", True))
            else:
                decisions.append(Decision(event, "other_gap" if event.time in gap.span else "outside_period"))
    shown = Interval(gap.anchor, max(finding.period.end, gap.anchor + dt.timedelta(seconds=1)))
    touching = tuple(x for x in excused if x.span.intersect(shown) is not None)
    tracer.record(finding, replace(gap, exemptions=touching), decisions)


def lint(obligation: CadenceObligation, ruleset: Ruleset) -> list[tuple[str, tuple[Any, ...], str, str]]:
    """CE102: a gap allowed during a calendar window longer than outside it; CE113: a
    ``min_spacing`` as long as the gap allowed (every gap kept in time would be flagged)."""
    # total_seconds counts a month as 30 days and a year as 365: close enough to compare
    out: list[tuple[str, tuple[Any, ...], str, str]] = [
        ("CE102", ("during", j), f"{obligation.id}: during {raised_.calendar} the gap allowed is longer than outside it",
            "a campaign should shorten max_gap, not lengthen it")
           for j, raised_ in enumerate(obligation.during)
           if raised_.max_gap is not None and raised_.max_gap.total_seconds() > obligation.max_gap.total_seconds()]
    gaps = [obligation.max_gap, *(r.max_gap for r in obligation.during if r.max_gap is not None)]
    if obligation.min_spacing is not None and obligation.min_spacing.total_seconds() >= min(g.total_seconds() for g in gaps):
        out.append(("CE113", ("min_spacing",), f"{obligation.id}: min_spacing is not shorter than the gap allowed, so every gap "
                    "kept in time is flagged", "shorten min_spacing"))
    return out


KIND: ObligationKind = ObligationKind(model=CadenceObligation, judge=judge, plan=plan, check=check_timed, lookback=lookback, lint=lint)
