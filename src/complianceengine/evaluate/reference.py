"""The reference evaluator: small, slow and obviously correct.

It walks every target and every period with plain loops, so that each verdict can be checked by
reading a few lines. Events are indexed once (:mod:`.index`): each target reads only the matching
events credited to it, and each period slices them by bisection, so the cost grows with
``events x log events + targets x periods`` rather than with their product. Faster backends must give exactly the same findings; the tests
check them against this module with hypothesis on random histories. The semantics implemented
here are written down in ``docs/semantics.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from ..compile import (
    CompiledObligation,
    ExcusedSpan,
    Exemptions,
    Plan,
    Target,
    excusing,
    exemption_spans,
    matcher,
    prorated,
)
from ..errors import PluginError
from ..findings import Finding, Status, SubjectRef
from ..model import (
    CadenceObligation,
    CompletenessObligation,
    Event,
    EventMatch,
    FrequencyObligation,
    Raised,
    ResponseObligation,
    StaffingObligation,
    format_duration,
)
from .index import EventIndex, Timeline
from ..timeframes import (
    Interval,
    Period,
    clip,
    day_start,
    describe,
    local,
    overlap,
    periods,
    shift,
    subtract,
)


def evaluate(plan: Plan, events: Iterable[Event]) -> list[Finding]:
    """Every finding of every obligation in ``plan`` over ``events``.

    Events at or after ``plan.as_of`` are not known yet and are ignored.
    """
    known = sorted((e for e in events if e.time < plan.as_of), key=lambda e: (e.time, e.id))
    spans = exemption_spans(plan, known)
    index = EventIndex(known)
    findings: list[Finding] = []
    for compiled in plan.obligations:
        obligation = compiled.obligation
        if compiled.unavailable is not None:
            findings += _not_judged(plan, compiled)
        elif compiled.extension is not None:
            findings += _extension(plan, compiled, known)
        elif isinstance(obligation, FrequencyObligation):
            findings += _frequency(plan, compiled, obligation, index, spans)
        elif isinstance(obligation, CadenceObligation):
            findings += _cadence(plan, compiled, obligation, index, spans)
        elif isinstance(obligation, CompletenessObligation):
            findings += _completeness(plan, compiled, obligation)
        elif isinstance(obligation, ResponseObligation):
            findings += _response(plan, compiled, obligation, index)
        elif isinstance(obligation, StaffingObligation):
            findings += _staffing(plan, compiled, obligation)
    return findings


# --------------------------------------------------------------------------------------------
# Shared pieces


def _not_judged(plan: Plan, compiled: CompiledObligation) -> list[Finding]:
    """One ``not_applicable`` finding per target over the whole range, saying why."""
    period = Period(label=f"{plan.first_day} to {plan.last_day}", start=plan.range.start, end=plan.range.end)
    return [
        compiled.finding(target.subject, target.unit, period, "not_applicable", "not judged", "not judged", note=compiled.unavailable)
        for target in compiled.targets
    ]


def _extension(plan: Plan, compiled: CompiledObligation, known: list[Event]) -> list[Finding]:
    """Findings of a plugin's obligation kind, checked to be findings of this obligation."""
    assert compiled.extension is not None
    plugin, kind = compiled.extension
    try:
        found = kind.evaluate(plan, compiled, list(known))
    except Exception as exc:
        raise PluginError(plugin, f"evaluator of kind {compiled.obligation.kind!r}", f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(found, list) or not all(isinstance(f, Finding) and f.obligation == compiled.obligation.id for f in found):
        raise PluginError(plugin, f"evaluator of kind {compiled.obligation.kind!r}", f"must return a list of findings of obligation {compiled.obligation.id!r}")
    return found


def _counts_for(plan: Plan, obligation: FrequencyObligation | CadenceObligation, target: Target, event: Event) -> bool:
    """Does this (already matching) event count for this target?"""
    subject = target.subject
    if subject.kind == "person":
        if subject.id not in event.credited:
            return False
        # an event without a unit counts wherever the person holds the role
        if event.unit is not None and event.unit not in target.units:
            return False
    elif subject.kind == "unit":
        if event.unit not in target.units:
            return False
    elif event.subject != subject.id:
        return False
    if obligation.by is not None:
        org = plan.organisation
        where = org.line(target.unit) if target.unit is not None else frozenset(org.units)
        roles = frozenset(obligation.by.roles)
        if not any(org.holds(person, roles, where, event.time) for person in event.credited):
            return False
    return True


def _candidates(plan: Plan, compiled: CompiledObligation, obligation: FrequencyObligation | CadenceObligation, target: Target, index: EventIndex) -> Timeline:
    """The matching events that count for ``target``, in time order. The index hands out only the
    events credited to the person, at the units, or about the subject; ``_counts_for`` decides."""
    assert compiled.matches is not None
    matched = index.matched(obligation.id, obligation.match.kinds, compiled.matches)
    subject = target.subject
    if subject.kind == "person":
        pool = matched.by_person.get(subject.id, [])
    elif subject.kind == "unit":
        pool = matched.at_units(target.units)
    else:
        pool = matched.by_subject.get(subject.id, [])
    return Timeline([e for e in pool if _counts_for(plan, obligation, target, e)])


def _what(plan: Plan, match: EventMatch) -> str:
    labels = " or ".join(plan.ruleset.event_kinds[k].label.en for k in match.kinds)
    if match.in_calendar is not None:
        labels += f" ({plan.ruleset.calendars[match.in_calendar].label.en})"
    return labels


def _when(instant: dt.datetime, plan: Plan) -> str:
    return local(instant, plan.tz).format("YYYY-MM-DD HH:mm")


def _span_label(interval: Interval, plan: Plan) -> str:
    return f"{_when(interval.start, plan)} to {_when(interval.end, plan)}"


# --------------------------------------------------------------------------------------------
# frequency


def _thin(events: list[Event], distinct_within) -> list[Event]:
    """Drop events closer than ``distinct_within`` to the last kept one (they count once)."""
    if distinct_within is None:
        return events
    kept: list[Event] = []
    for event in events:
        if not kept or event.time >= shift(kept[-1].time, distinct_within):
            kept.append(event)
    return kept


def _variants(plan: Plan, obligation: FrequencyObligation | CadenceObligation) -> list[tuple[Raised | None, list[Interval]]]:
    """Each requirement with the part of the range where it is in force. Inside a calendar's
    windows the first listed ``during`` entry applies; everywhere else the base requirement."""
    out: list[tuple[Raised | None, list[Interval]]] = []
    claimed: list[Interval] = []
    for raised in obligation.during:
        windows = plan.windows.get(raised.calendar, [])
        out.append((raised, subtract(windows, claimed)))
        claimed = clip([*claimed, *windows], plan.range)
    return [(None, subtract([plan.range], claimed)), *out]


def _frequency(plan: Plan, compiled: CompiledObligation, obligation: FrequencyObligation, index: EventIndex, spans: Exemptions) -> list[Finding]:
    out = []
    what = _what(plan, obligation.match)
    assert compiled.matches is not None
    rule = obligation.partial_periods
    variants = []
    for raised, mask in _variants(plan, obligation):
        unit, at_least, at_most = obligation.requirement(raised)
        if mask:
            variants.append((raised, mask, at_least, at_most, list(periods(unit, plan.range, plan.tz, plan.ruleset.week_start))))
    for target in compiled.targets:
        # thin only the events inside the duty's own time, so an event before the range or before
        # the assignment cannot swallow one inside it
        relevant = Timeline(_thin(_candidates(plan, compiled, obligation, target, index).within(target.active), obligation.distinct_within))
        excused = excusing(plan, target, obligation, spans)
        for raised, mask, at_least, at_most, calendar in variants:
            window_name = raised.calendar if raised else None
            for period in calendar:
                window = period.interval.intersect(plan.range)
                active = overlap(clip(target.active, window), mask) if window else []
                covered = sum(part.seconds for part in active)
                if covered == 0:
                    continue
                whole = period.interval.seconds

                def judged(seconds: float) -> bool:
                    return {"whole": seconds >= whole, "majority": seconds / whole >= 0.5, "any": seconds > 0}[rule]

                notes = []
                if covered < whole:
                    notes.append(f"duty in force for {covered / whole:.0%} of the period ({'; '.join(_span_label(p, plan) for p in active)})")
                if raised is not None:
                    notes.append(f"raised requirement during {raised.calendar}")
                if not judged(covered):
                    out.append(
                        compiled.finding(target.subject, target.unit, period, "not_applicable",
                            required=f"none: partial_periods is {rule}", observed="-", note="; ".join(notes), window=window_name,
                        )
                    )
                    continue
                # events during an exemption still count: an exemption can only lower the bar
                seen = relevant.within(active)
                count = len(seen)
                over = max(part.end for part in active) <= plan.as_of
                required = at_least if covered >= whole else prorated(at_least, covered, whole)
                used: tuple[str, ...] = ()
                if count < required and excused:
                    remaining = subtract(active, [x.span for x in excused])
                    used = tuple(dict.fromkeys(x.record for x in excused if overlap(active, [x.span])))
                    left = sum(part.seconds for part in remaining)
                    if used:
                        notes.append(f"excused for {1 - left / covered:.0%} of it by {', '.join(used)}")
                    if used and not judged(left):
                        out.append(
                            compiled.finding(target.subject, target.unit, period, "excused",
                                required=f"none: excused ({'; '.join(x.reason for x in excused if x.record in used)})",
                                observed=f"{count} counted ({what})", observed_count=count, evidence=tuple(e.id for e in seen),
                                note="; ".join(notes), window=window_name, excused_by=used,
                            )
                        )
                        continue
                    if used:
                        required = prorated(at_least, left, whole)
                if required != at_least:
                    notes.append(f"requirement prorated from {at_least} to {required}")
                wanted = f"at least {required} {what}" + (f", at most {at_most}" if at_most is not None else "") + f" in {period.label}"
                status: Status
                if at_most is not None and count > at_most:
                    status = "missed"
                elif count >= required:
                    status = "met" if over or at_most is None else "open"
                else:
                    status = "missed" if over else "open"
                out.append(
                    compiled.finding(target.subject, target.unit, period, status,
                        required=wanted, observed=f"{count} counted ({what})", required_count=required, observed_count=count,
                        evidence=tuple(e.id for e in seen), note="; ".join(notes) or None, window=window_name, excused_by=used,
                    )
                )
    return out


# --------------------------------------------------------------------------------------------
# cadence


def _deadline(plan: Plan, obligation: CadenceObligation, variants, anchor: dt.datetime, excused: list[ExcusedSpan]):
    """(due, exemption records used, calendar) for the gap that starts at ``anchor``.

    The deadline is the earliest of: the anchor plus the base gap; and, for each window of a
    ``during`` entry that ends after the anchor, the later of the anchor and the window's start,
    plus the window's gap, when that point still lies inside the window. An exemption overlapping
    the gap restarts the clock at the exemption's end.
    """
    clock, used = local(anchor, plan.tz), []
    while True:
        due, window = shift(clock, obligation.max_gap), None
        for raised, mask in variants[1:]:
            for part in mask:
                if part.end <= clock:
                    continue
                sooner = shift(local(max(clock, part.start), plan.tz), raised.max_gap)
                if sooner < part.end and sooner < due:  # windows are half-open
                    due, window = sooner, raised.calendar
        pushed = [x for x in excused if x.span.start < due and x.span.end > clock]
        if not pushed:
            return due, tuple(dict.fromkeys(used)), window
        clock = local(max(x.span.end for x in pushed), plan.tz)
        used += [x.record for x in pushed]


def _cadence(plan: Plan, compiled: CompiledObligation, obligation: CadenceObligation, index: EventIndex, spans: Exemptions) -> list[Finding]:
    out = []
    what = _what(plan, obligation.match)
    variants = _variants(plan, obligation)
    assert compiled.matches is not None
    for target in compiled.targets:
        relevant = _candidates(plan, compiled, obligation, target, index)
        excused = excusing(plan, target, obligation, spans)
        for active in target.active:
            anchor, anchor_text = local(active.start, plan.tz), "the start of the duty"
            if active.start == plan.range.start:
                anchor_text = "the start of the audit range"
            for event in relevant.within([active]):
                # exemptions only matter when the plain deadline was not kept
                due, used, window = _deadline(plan, obligation, variants, anchor, [])
                if event.time > due:
                    due, used, window = _deadline(plan, obligation, variants, anchor, excused)
                period = Period(label=f"{_when(anchor, plan)} to {_when(event.time, plan)}", start=anchor, end=event.time)
                required = f"a {what} after {anchor_text} ({_when(anchor, plan)}), by {_when(due, plan)}"
                extra = {"due": due, "window": window, "excused_by": used, "evidence": (event.id,)}
                if event.time <= due:
                    out.append(
                        compiled.finding(target.subject, target.unit, period, "met", required=required,
                                 observed=f"{what} at {_when(event.time, plan)}", **extra)
                    )
                else:
                    delay = event.time - due
                    out.append(
                        compiled.finding(target.subject, target.unit, period, "missed", required=required,
                            observed=f"next {what} only at {_when(event.time, plan)}, {describe(delay)} after the deadline",
                            delay_seconds=int(delay.total_seconds()), **extra,
                        )
                    )
                anchor, anchor_text = local(event.time, plan.tz), f"the previous {what}"
            due, used, window = _deadline(plan, obligation, variants, anchor, [])
            if due < active.end:
                due, used, window = _deadline(plan, obligation, variants, anchor, excused)
            required = f"a {what} after {anchor_text} ({_when(anchor, plan)}), by {_when(due, plan)}"
            period = Period(label=f"{_when(anchor, plan)} to {_when(due, plan)}", start=anchor, end=due)
            extra = {"due": due, "window": window, "excused_by": used}
            if due >= active.end:
                if used:  # without the exemption a deadline would have fallen in the range: say so
                    out.append(
                        compiled.finding(target.subject, target.unit, period, "excused", required=required,
                                 observed=f"exemption moved the deadline past the end ({', '.join(used)})", **extra)
                    )
                continue  # otherwise the next deadline falls after the range or the duty ends first
            if due <= plan.as_of:
                overdue = min(plan.as_of, active.end) - due
                out.append(
                    compiled.finding(target.subject, target.unit, period, "missed", required=required,
                        observed=f"no {what} by the deadline (checked until {_when(min(plan.as_of, active.end), plan)}, {describe(overdue)} overdue)",
                        delay_seconds=int(overdue.total_seconds()), **extra,
                    )
                )
            else:
                out.append(compiled.finding(target.subject, target.unit, period, "open", required=required, observed=f"no {what} yet", **extra))
    return out


# --------------------------------------------------------------------------------------------
# response


def _correlated(events: Iterable[Event], correlate_on: list[str]) -> dict[tuple[Any, ...], Timeline]:
    """Events by the values of their ``correlate_on`` fields, each group in time order."""
    groups: dict[tuple[Any, ...], list[Event]] = {}
    for event in events:
        groups.setdefault(tuple(event.field(name) for name in correlate_on), []).append(event)
    return {key: Timeline(group) for key, group in groups.items()}


def _response(plan: Plan, compiled: CompiledObligation, obligation: ResponseObligation, index: EventIndex) -> list[Finding]:
    out = []
    is_trigger = matcher(obligation.trigger, plan.tz, plan.windows)
    # each step's matching events grouped by correlation key: a case looks up its own answers
    answers = [
        _correlated(filter(matcher(step.match, plan.tz, plan.windows), index.of_kinds(step.match.kinds)), obligation.correlate_on)
        for step in obligation.steps
    ]
    for trigger in (e for e in index.of_kinds(obligation.trigger.kinds) if is_trigger(e) and e.time in plan.range):
        key = [trigger.field(name) for name in obligation.correlate_on]
        case = ", ".join(f"{name}={value}" for name, value in zip(obligation.correlate_on, key))
        subject = SubjectRef(kind="case", id=case)
        previous: Event | None = None
        for step, answering in zip(obligation.steps, answers):
            title = step.title.en if step.title else step.id
            if step.counted_from == "previous" and previous is None:
                period = Period(label=f"{step.id} after the previous step", start=trigger.time, end=trigger.time)
                out.append(
                    compiled.finding(subject, trigger.unit, period, "not_applicable", anchor=trigger.id, step=step.id,
                        required=f"{title} within {format_duration(step.within)} of the previous step",
                        observed="the previous step has no event, so this deadline has not started",
                        evidence=(trigger.id,),
                    )
                )
                continue
            base = previous.time if step.counted_from == "previous" and previous is not None else trigger.time
            due = shift(local(base, plan.tz), step.within)
            same_case = answering.get(tuple(key), Timeline([])) if None not in key else Timeline([])
            answer = next((e for e in same_case.since(base) if e.id != trigger.id), None)
            since = "the trigger" if step.counted_from == "trigger" else "the previous step"
            required = f"{title} within {format_duration(step.within)} of {since} ({_when(base, plan)}), by {_when(due, plan)}"
            period = Period(label=f"{_when(base, plan)} to {_when(due, plan)}", start=base, end=due)
            if answer is not None:
                delay = answer.time - due
                late = answer.time > due
                out.append(
                    compiled.finding(subject, trigger.unit, period, "late" if late else "met", anchor=trigger.id, step=step.id, required=required,
                        observed=f"{title} at {_when(answer.time, plan)}" + (f", {describe(delay)} late" if late else ""),
                        evidence=(trigger.id, answer.id), due=due,
                        delay_seconds=int(delay.total_seconds()) if late else None,
                    )
                )
            elif due <= plan.as_of:
                overdue = plan.as_of - due
                out.append(
                    compiled.finding(subject, trigger.unit, period, "missed", anchor=trigger.id, step=step.id, required=required,
                        observed=f"no '{title}' event by {_when(plan.as_of, plan)} ({describe(overdue)} overdue)",
                        evidence=(trigger.id,), due=due, delay_seconds=int(overdue.total_seconds()),
                    )
                )
            else:
                out.append(
                    compiled.finding(subject, trigger.unit, period, "open", anchor=trigger.id, step=step.id, required=required,
                        observed=f"no '{title}' event yet", evidence=(trigger.id,), due=due,
                    )
                )
            previous = answer
    return out


# --------------------------------------------------------------------------------------------
# staffing


def _staffing(plan: Plan, compiled: CompiledObligation, obligation: StaffingObligation) -> list[Finding]:
    out = []
    org = plan.organisation
    days = [plan.first_day + dt.timedelta(days=i) for i in range((plan.last_day - plan.first_day).days + 1)]
    for target in compiled.targets:
        assert target.unit is not None
        for role, needed in obligation.require.items():
            label = plan.ruleset.roles[role].label.en
            subject = target.subject.model_copy(update={"role": role})
            runs: list[tuple[dt.date, dt.date, list[str]]] = []
            for day in days:
                present = org.holders(role, target.unit, day_start(day, plan.tz))
                if len(present) >= needed:
                    continue
                if runs and runs[-1][1] == day - dt.timedelta(days=1) and runs[-1][2] == present:
                    runs[-1] = (runs[-1][0], day, present)
                else:
                    runs.append((day, day, present))
            required = f"at least {needed} {label} at every moment"
            if not runs:
                period = Period(label=f"{plan.first_day} to {plan.last_day}", start=plan.range.start, end=plan.range.end)
                out.append(
                    compiled.finding(subject, target.unit, period, "met", required=required, observed=f"at least {needed} throughout",
                             required_count=needed)
                )
                continue
            for first, last, present in runs:
                start, end = day_start(first, plan.tz), day_start(last + dt.timedelta(days=1), plan.tz)
                period = Period(label=f"{first} to {last}", start=start, end=end)
                out.append(
                    compiled.finding(subject, target.unit, period, "open" if start >= plan.as_of else "missed", required=required,
                        observed=f"{len(present)} ({', '.join(present) or 'vacant'})", required_count=needed, observed_count=len(present),
                        note="a shortfall on record that begins after the as-of time" if start >= plan.as_of else None,
                    )
                )
    return out


# --------------------------------------------------------------------------------------------
# completeness


def _completeness(plan: Plan, compiled: CompiledObligation, obligation: CompletenessObligation) -> list[Finding]:
    out = []
    subjects = {s.id: s for s in plan.organisation.registry.subjects}
    period = Period(label=f"{plan.first_day} to {plan.last_day}", start=plan.range.start, end=plan.range.end)
    for target in compiled.targets:
        record = subjects[target.subject.id]
        missing = [name for name in obligation.fields if record.attributes.get(name) in (None, "", [], {})]
        for name in missing:
            out.append(
                compiled.finding(target.subject, target.unit, period, "missed", step=name,
                         required=f"'{name}' filled in", observed=f"'{name}' is missing or empty")
            )
        if not missing:
            out.append(
                compiled.finding(target.subject, target.unit, period, "met", required=f"filled in: {', '.join(obligation.fields)}",
                         observed="all present")
            )
    return out
