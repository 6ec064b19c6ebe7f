"""The reference evaluator: small, slow and obviously correct.

It walks every target, every period and every event with plain loops, so that each verdict can be
checked by reading a few lines. Faster backends must give exactly the same findings; the tests
check them against this module with hypothesis on random histories. The semantics implemented
here are written down in ``docs/semantics.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from ..compile import CompiledObligation, Plan, Target, matcher, prorated
from ..findings import Finding, Status, SubjectRef
from ..model import CadenceObligation, Event, FrequencyObligation, ResponseObligation, StaffingObligation, format_duration
from ..timeframes import Interval, Period, clip, day_start, describe, local, periods, shift


def evaluate(plan: Plan, events: Iterable[Event]) -> list[Finding]:
    """Every finding of every obligation in ``plan`` over ``events``.

    Events at or after ``plan.as_of`` are not known yet and are ignored.
    """
    known = sorted((e for e in events if e.time < plan.as_of), key=lambda e: (e.time, e.id))
    findings: list[Finding] = []
    for compiled in plan.obligations:
        obligation = compiled.obligation
        if isinstance(obligation, FrequencyObligation):
            findings += _frequency(plan, compiled, obligation, known)
        elif isinstance(obligation, CadenceObligation):
            findings += _cadence(plan, compiled, obligation, known)
        elif isinstance(obligation, ResponseObligation):
            findings += _response(plan, compiled, obligation, known)
        elif isinstance(obligation, StaffingObligation):
            findings += _staffing(plan, compiled, obligation)
    return findings


# --------------------------------------------------------------------------------------------
# Shared pieces


def _finding(compiled: CompiledObligation, subject: SubjectRef, unit: str | None, period: Period, status: Status, required: str, observed: str, **extra) -> Finding:
    obligation = compiled.obligation
    return Finding(
        obligation=obligation.id,
        obligation_kind=obligation.kind,
        title=obligation.title,
        citation=obligation.citation,
        cited=compiled.cited,
        assumed=obligation.assumed,
        subject=subject,
        unit=unit,
        period=period,
        status=status,
        required=required,
        observed=observed,
        **extra,
    )


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


def _what(plan: Plan, kinds: Sequence[str]) -> str:
    labels = [plan.ruleset.event_kinds[k].label.en for k in kinds]
    return " or ".join(labels)


def _when(instant: dt.datetime, plan: Plan) -> str:
    return local(instant, plan.tz).format("YYYY-MM-DD HH:mm")


def _span_label(interval: Interval, plan: Plan) -> str:
    return f"{_when(interval.start, plan)} to {_when(interval.end, plan)}"


# --------------------------------------------------------------------------------------------
# frequency


def _frequency(plan: Plan, compiled: CompiledObligation, obligation: FrequencyObligation, known: list[Event]) -> list[Finding]:
    out = []
    what = _what(plan, obligation.match.kinds)
    assert compiled.matches is not None
    calendar = list(periods(obligation.period, plan.range, plan.tz, plan.ruleset.week_start))
    for target in compiled.targets:
        relevant = [e for e in known if compiled.matches(e) and _counts_for(plan, obligation, target, e)]
        for period in calendar:
            window = period.interval.intersect(plan.range)
            coverage = clip(target.active, window) if window else []
            covered = sum(part.seconds for part in coverage)
            if covered == 0:
                continue
            whole = period.interval.seconds
            share = covered / whole
            note = None
            if covered < whole:
                note = f"duty in force for {share:.0%} of the period ({'; '.join(_span_label(p, plan) for p in coverage)})"
            applies = {
                "whole": covered >= whole,
                "majority": share >= 0.5,
                "any": True,
            }[obligation.partial_periods]
            if not applies:
                out.append(
                    _finding(
                        compiled, target.subject, target.unit, period, "not_applicable",
                        required=f"none: partial_periods is {obligation.partial_periods}",
                        observed="-", note=note,
                    )
                )
                continue
            required = obligation.at_least if covered >= whole else prorated(obligation.at_least, covered, whole)
            if required != obligation.at_least:
                note = f"{note}; requirement prorated from {obligation.at_least} to {required}"
            seen = [e for e in relevant if any(e.time in part for part in coverage)]
            count = len(seen)
            over = max(part.end for part in coverage) <= plan.as_of
            wanted = f"at least {required} {what}" + (f", at most {obligation.at_most}" if obligation.at_most is not None else "")
            wanted += f" in {period.label}"
            status: Status
            if obligation.at_most is not None and count > obligation.at_most:
                status = "missed"
            elif count >= required:
                status = "met" if over or obligation.at_most is None else "open"
            else:
                status = "missed" if over else "open"
            out.append(
                _finding(
                    compiled, target.subject, target.unit, period, status,
                    required=wanted, observed=f"{count} counted ({what})", required_count=required, observed_count=count,
                    evidence=tuple(e.id for e in seen), note=note,
                )
            )
    return out


# --------------------------------------------------------------------------------------------
# cadence


def _cadence(plan: Plan, compiled: CompiledObligation, obligation: CadenceObligation, known: list[Event]) -> list[Finding]:
    out = []
    what = _what(plan, obligation.match.kinds)
    gap = format_duration(obligation.max_gap)
    assert compiled.matches is not None
    for target in compiled.targets:
        relevant = [e for e in known if compiled.matches(e) and _counts_for(plan, obligation, target, e)]
        for active in target.active:
            anchor, anchor_text = local(active.start, plan.tz), "the start of the duty"
            if active.start == plan.range.start:
                anchor_text = "the start of the audit range"
            for event in (e for e in relevant if e.time in active):
                due = shift(anchor, obligation.max_gap)
                period = Period(label=f"{_when(anchor, plan)} to {_when(event.time, plan)}", start=anchor, end=event.time)
                required = f"a {what} within {gap} of {anchor_text} ({_when(anchor, plan)}), by {_when(due, plan)}"
                if event.time <= due:
                    out.append(
                        _finding(
                            compiled, target.subject, target.unit, period, "met", required=required,
                            observed=f"{what} at {_when(event.time, plan)}", evidence=(event.id,), due=due,
                        )
                    )
                else:
                    delay = event.time - due
                    out.append(
                        _finding(
                            compiled, target.subject, target.unit, period, "missed", required=required,
                            observed=f"next {what} only at {_when(event.time, plan)}, {describe(delay)} after the deadline",
                            evidence=(event.id,), due=due, delay_seconds=int(delay.total_seconds()),
                        )
                    )
                anchor, anchor_text = local(event.time, plan.tz), f"the previous {what}"
            due = shift(anchor, obligation.max_gap)
            if due >= active.end:
                continue  # the next deadline falls after the range or the duty ends first
            required = f"a {what} within {gap} of {anchor_text} ({_when(anchor, plan)}), by {_when(due, plan)}"
            if due <= plan.as_of:
                period = Period(label=f"{_when(anchor, plan)} to {_when(due, plan)}", start=anchor, end=due)
                overdue = min(plan.as_of, active.end) - due
                out.append(
                    _finding(
                        compiled, target.subject, target.unit, period, "missed", required=required,
                        observed=f"no {what} by the deadline (checked until {_when(min(plan.as_of, active.end), plan)}, {describe(overdue)} overdue)",
                        due=due, delay_seconds=int(overdue.total_seconds()),
                    )
                )
            else:
                period = Period(label=f"{_when(anchor, plan)} to {_when(due, plan)}", start=anchor, end=due)
                out.append(
                    _finding(compiled, target.subject, target.unit, period, "open", required=required, observed=f"no {what} yet", due=due)
                )
    return out


# --------------------------------------------------------------------------------------------
# response


def _response(plan: Plan, compiled: CompiledObligation, obligation: ResponseObligation, known: list[Event]) -> list[Finding]:
    out = []
    is_trigger = matcher(obligation.trigger)
    step_matches = [matcher(step.match) for step in obligation.steps]
    for trigger in (e for e in known if is_trigger(e) and e.time in plan.range):
        key = [trigger.field(name) for name in obligation.correlate_on]
        case = ", ".join(f"{name}={value}" for name, value in zip(obligation.correlate_on, key))
        subject = SubjectRef(kind="case", id=case)
        previous: Event | None = None
        for step, matches in zip(obligation.steps, step_matches):
            title = step.title.en if step.title else step.id
            if step.counted_from == "previous" and previous is None:
                period = Period(label=f"{step.id} after the previous step", start=trigger.time, end=trigger.time)
                out.append(
                    _finding(
                        compiled, subject, trigger.unit, period, "not_applicable", step=step.id,
                        required=f"{title} within {format_duration(step.within)} of the previous step",
                        observed="the previous step has no event, so this deadline has not started",
                        evidence=(trigger.id,),
                    )
                )
                continue
            base = previous.time if step.counted_from == "previous" and previous is not None else trigger.time
            due = shift(local(base, plan.tz), step.within)
            answer = next(
                (
                    e for e in known
                    if e.id != trigger.id and matches(e) and e.time >= base and None not in key
                    and [e.field(name) for name in obligation.correlate_on] == key
                ),
                None,
            )
            since = "the trigger" if step.counted_from == "trigger" else "the previous step"
            required = f"{title} within {format_duration(step.within)} of {since} ({_when(base, plan)}), by {_when(due, plan)}"
            period = Period(label=f"{_when(base, plan)} to {_when(due, plan)}", start=base, end=due)
            if answer is not None:
                delay = answer.time - due
                late = answer.time > due
                out.append(
                    _finding(
                        compiled, subject, trigger.unit, period, "late" if late else "met", step=step.id, required=required,
                        observed=f"{title} at {_when(answer.time, plan)}" + (f", {describe(delay)} late" if late else ""),
                        evidence=(trigger.id, answer.id), due=due,
                        delay_seconds=int(delay.total_seconds()) if late else None,
                    )
                )
            elif due <= plan.as_of:
                overdue = plan.as_of - due
                out.append(
                    _finding(
                        compiled, subject, trigger.unit, period, "missed", step=step.id, required=required,
                        observed=f"no '{title}' event by {_when(plan.as_of, plan)} ({describe(overdue)} overdue)",
                        evidence=(trigger.id,), due=due, delay_seconds=int(overdue.total_seconds()),
                    )
                )
            else:
                out.append(
                    _finding(
                        compiled, subject, trigger.unit, period, "open", step=step.id, required=required,
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
                    _finding(compiled, subject, target.unit, period, "met", required=required, observed=f"at least {needed} throughout",
                             required_count=needed)
                )
                continue
            for first, last, present in runs:
                start, end = day_start(first, plan.tz), day_start(last + dt.timedelta(days=1), plan.tz)
                period = Period(label=f"{first} to {last}", start=start, end=end)
                out.append(
                    _finding(
                        compiled, subject, target.unit, period, "open" if start >= plan.as_of else "missed", required=required,
                        observed=f"{len(present)} ({', '.join(present) or 'vacant'})", required_count=needed, observed_count=len(present),
                        note="a shortfall on record that begins after the as-of time" if start >= plan.as_of else None,
                    )
                )
    return out
