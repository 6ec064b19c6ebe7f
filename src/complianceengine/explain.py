"""How one verdict came about: the period, the requirement in force and why, and every event
that was considered with the reason it did or did not count.

:func:`explain` runs the same evaluation as an audit (the plan and the reference evaluator, then
the plugins' ``complianceengine_process_findings``; notifiers are *not* called), picks the
findings of one obligation for one subject and one period, and explains each of them.

The explanation never decides a verdict of its own. Whether an event counts is asked of the
compiled matcher and of ``kinds.counts_for``; per-condition checks are only used to
say *why* the matcher or ``counts_for`` refused an event. The events marked counted must be the
finding's evidence; when they are not, the explanation says so in its notes instead of hiding it.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from .errors import UsageError
from .evaluate import judge
from .exemptions import ExcusedSpan, Exemptions, excusing, exemption_spans
from .kinds import raised as raised_of
from .kinds import what as what_of
from .kinds.frequency import prorated, thin
from .kinds import counts_for
from .match import condition_holds, matcher
from .plan import ObligationPlan, Target
from .findings import Finding
from .model import (
    BUILTIN_KINDS,
    CadenceObligation,
    Comparison,
    CompletenessObligation,
    Event,
    EventLog,
    EventMatch,
    FixedPeriod,
    FrequencyObligation,
    Label,
    Raised,
    Registry,
    ResponseObligation,
    ResponseStep,
    Ruleset,
    StaffingObligation,
    format_duration,
)
from .plugins import Plugins
from .timeframes import (
    Interval,
    clip,
    day_start,
    describe,
    local,
    overlap,
    shift,
    subtract,
)

__all__ = [
    "ConsideredEvent",
    "ExemptionNote",
    "ExplainedFinding",
    "Explainer",
    "Explanation",
    "FieldState",
    "Holder",
    "explain",
    "render_explanation",
]

#: each requirement (None: the base one) with the part of the range it is in force for
Variants = list[tuple[Raised | None, list[Interval]]]

#: the codes of :attr:`ConsideredEvent.check`, in the order the checks are made
CHECKS = (
    "after_as_of",  # at or after the as-of time: not known yet
    "outside_period",  # outside the period's coverage (range, time in force, raised window, gap)
    "where",  # a `match.where` condition failed
    "time_of_day",  # outside `match.time_of_day`
    "in_calendar",  # outside the `match.in_calendar` windows
    "quorum",  # `match.quorum` not reached
    "unmatched",  # the matcher refused it and no single condition explains why
    "not_credited",  # person target: not the actor, a participant or on_behalf_of
    "other_unit",  # at a unit outside the target's unit and the units below it
    "other_subject",  # subject target: about another subject (or none)
    "by_role",  # no one credited held one of the `by` roles at that time
    "not_for_target",  # `_counts_for` refused it and no single condition explains why
    "distinct_within",  # too close to an earlier counted event: counts once
    "not_judged",  # would count, but the period is not judged (partial period)
    "other_gap",  # cadence: counted, but it closes another gap
    "trigger",  # response: the case's trigger (counted: part of the evidence)
    "other_case",  # response: a trigger of another case, or one that opens no case
    "other_step",  # response: an event of another step
    "no_clock",  # response: this step's clock never started
    "before_clock",  # response: before the step's clock started
    "later_answer",  # response: a later event than the answer
    "evidence",  # plugin kind: listed (or not) as evidence by the plugin's evaluator
    "counted",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ConsideredEvent(_Frozen):
    """One event looked at for a finding, and what became of it."""

    id: str
    kind: str
    time: dt.datetime
    local_time: str
    actor: str | None = None
    participants: tuple[str, ...] = ()
    on_behalf_of: str | None = None
    unit: str | None = None
    subject: str | None = None
    counted: bool
    check: str
    reason: str


class ExemptionNote(_Frozen):
    """An exemption that touches the finding's period, and whether the verdict used it."""

    record: str
    source: str  # "registry", "event" or "calendar"
    who: str
    id: str
    start: str
    end: str
    reason: str
    applied: bool
    text: str


class Holder(_Frozen):
    """An assignment of the required role at the unit (staffing)."""

    person: str
    name: str | None
    role: str
    unit: str
    start: dt.date
    end: dt.date | None
    text: str


class FieldState(_Frozen):
    """One attribute a completeness duty asks for."""

    field: str
    label: str | None
    value: str | None
    present: bool


class ExplainedFinding(_Frozen):
    """One finding and how it came about."""

    finding: Finding
    period_start: str
    period_end: str
    requirement: str
    counts: str | None = None
    events: tuple[ConsideredEvent, ...] = ()
    exemptions: tuple[ExemptionNote, ...] = ()
    holders: tuple[Holder, ...] = ()
    fields: tuple[FieldState, ...] = ()
    notes: tuple[str, ...] = ()
    #: whether events were looked at (frequency, cadence, response, plugin kinds with a match)
    looks_at_events: bool = False

    @property
    def counted(self) -> tuple[str, ...]:
        """Ids of the events marked counted."""
        return tuple(e.id for e in self.events if e.counted)


class Explanation(_Frozen):
    """The findings of one obligation for one subject and period, each explained."""

    ruleset: str
    obligation: str
    obligation_kind: str
    title: Label
    cited: str
    subject: str
    period: str
    timezone: str
    first_day: dt.date
    last_day: dt.date
    as_of: dt.datetime
    entries: tuple[ExplainedFinding, ...]


# --------------------------------------------------------------------------------------------
# Entry points


def explain(
    ruleset: Ruleset,
    registry: Registry,
    events: EventLog | Iterable[Event],
    *,
    obligation: str,
    subject: str,
    period: str,
    first_day: dt.date,
    last_day: dt.date,
    as_of: dt.datetime | None = None,
    plugins: Plugins | None = None,
) -> Explanation:
    """Explain the findings of ``obligation`` for ``subject`` in ``period`` over the audit of the
    local days ``first_day``..``last_day`` at ``as_of`` (default: now).

    ``subject`` is the finding's subject id (a person, unit or subject id, or a response case
    such as ``info_id=INFO-0812``; for a case the correlation value alone also works). ``period``
    is a period label (``2026-W38``, ``2026-08``, ``2026-08-03``, ``2026-Q3``, a gap or deadline
    label), a response step or completeness field, or an ISO date inside the period (local
    time). Several findings may match (response steps, the raised-window weeks inside a month):
    each is explained. Raises :class:`UsageError` for an unknown obligation, subject or period,
    listing what is available.
    """
    explainer = Explainer(ruleset, registry, events, first_day=first_day, last_day=last_day, as_of=as_of, plugins=plugins)
    return explainer.explain(obligation=obligation, subject=subject, period=period)


class Explainer:
    """One evaluation, explained finding by finding (build it once to explain many findings)."""

    def __init__(
        self,
        ruleset: Ruleset,
        registry: Registry,
        events: EventLog | Iterable[Event],
        *,
        first_day: dt.date,
        last_day: dt.date,
        as_of: dt.datetime | None = None,
        plugins: Plugins | None = None,
    ):
        # the audit's own steps, without its notifications (explaining a verdict sends nothing)
        [self.plan], _, findings, log = judge(ruleset, registry, events, first_day=first_day, last_day=last_day, as_of=as_of, plugins=plugins)
        self.tz = self.plan.tz
        # every event, known or not, in the evaluator's order
        self.events: list[Event] = sorted(log.events, key=lambda e: (e.time, e.id))
        self._times = [e.time for e in self.events]
        self.known: list[Event] = [e for e in self.events if e.time < self.plan.as_of]
        self.findings: list[Finding] = findings
        self.spans: Exemptions = exemption_spans(self.plan, self.known)
        self._cache: dict[tuple[str, int], list[Event]] = {}
        self._matchers: dict[str, Callable[[Event], bool]] = {}

    # ---------------------------------------------------------------------------- selection

    def select(self, obligation: str, subject: str, period: str) -> list[Finding]:
        """The findings of ``obligation`` for ``subject`` in ``period`` (see :func:`explain`)."""
        compiled = self._compiled(obligation)
        mine = [f for f in self.findings if f.obligation == compiled.obligation.id]
        if not mine:
            raise UsageError(
                f"obligation {obligation!r} has no findings in the audit of {self.plan.first_day} to {self.plan.last_day}"
            )
        of_subject = [f for f in mine if _subject_matches(f, subject)]
        if not of_subject:
            subjects = list(dict.fromkeys(f.subject.id for f in mine))
            raise UsageError(f"obligation {obligation!r} has no finding for subject {subject!r}; subjects: {_choices(subjects)}")
        exact = [f for f in of_subject if period in (f.period.label, f.step) or (f.subject.kind == "case" and period == f.subject.id)]
        if exact:
            return exact
        day = _date(period)
        inside = [f for f in of_subject if day is not None and _day_in(day, f, self.tz)]
        if inside:
            return inside
        periods = list(dict.fromkeys(x for f in of_subject for x in (f.step, f.period.label) if x))
        raise UsageError(
            f"obligation {obligation!r} has no finding for subject {subject!r} in period {period!r}; "
            f"give a period label, a step or a date inside a period: {_choices(periods)}"
        )

    def explain(self, *, obligation: str, subject: str, period: str) -> Explanation:
        findings = self.select(obligation, subject, period)
        compiled = self._compiled(obligation)
        o = compiled.obligation
        return Explanation(
            ruleset=self.plan.ruleset.id, obligation=o.id, obligation_kind=o.kind, title=o.title, cited=compiled.cited,
            subject=subject, period=period, timezone=self.tz, first_day=self.plan.first_day, last_day=self.plan.last_day,
            as_of=self.plan.as_of, entries=tuple(self.explain_finding(f) for f in findings),
        )

    def explain_finding(self, finding: Finding) -> ExplainedFinding:
        """Explain one finding of this evaluation."""
        compiled = self._compiled(finding.obligation)
        obligation = compiled.obligation
        if compiled.unavailable is not None:
            entry = self._entry(finding, requirement=f"not judged: {compiled.unavailable}")
        elif compiled.kind not in BUILTIN_KINDS:
            entry = self._extension(compiled, finding)
        elif isinstance(obligation, FrequencyObligation):
            entry = self._frequency(compiled, obligation, finding)
        elif isinstance(obligation, CadenceObligation):
            entry = self._cadence(compiled, obligation, finding)
        elif isinstance(obligation, ResponseObligation):
            entry = self._response(obligation, finding)
        elif isinstance(obligation, StaffingObligation):
            entry = self._staffing(obligation, finding)
        elif isinstance(obligation, CompletenessObligation):
            entry = self._completeness(obligation, finding)
        else:  # pragma: no cover - every built-in kind is handled above
            entry = self._entry(finding, requirement=finding.required)
        if entry.events or finding.evidence:
            mine, theirs = set(entry.counted), set(finding.evidence)
            if mine != theirs:
                warning = (
                    "this explanation disagrees with the evaluator: it marks "
                    f"{', '.join(sorted(mine)) or 'nothing'} counted, the finding's evidence is {', '.join(sorted(theirs)) or 'empty'}"
                )
                entry = entry.model_copy(update={"notes": (*entry.notes, warning)})
        return entry

    # ---------------------------------------------------------------------------- helpers

    def _compiled(self, obligation_id: str) -> ObligationPlan:
        return self.plan.obligation(obligation_id)

    def _matches(self, match: EventMatch) -> Callable[[Event], bool]:
        """The predicate of a match block (built once per block)."""
        key = match.model_dump_json()
        if key not in self._matchers:
            self._matchers[key] = self.plan.matcher(match)
        return self._matchers[key]

    def _when(self, instant: dt.datetime) -> str:
        return local(instant, self.tz).format("YYYY-MM-DD HH:mm")

    def _span(self, interval: Interval) -> str:
        return f"{self._when(interval.start)} to {self._when(interval.end)}"

    def _entry(self, finding: Finding, **fields: Any) -> ExplainedFinding:
        return ExplainedFinding(
            finding=finding, period_start=self._when(finding.period.start), period_end=self._when(finding.period.end), **fields
        )

    def _between(self, start: dt.datetime, end: dt.datetime, *, inclusive: bool = False) -> list[Event]:
        """Every event (known or not) in ``[start, end)``, or ``[start, end]`` when inclusive."""
        lo = bisect.bisect_left(self._times, start)
        hi = bisect.bisect_right(self._times, end) if inclusive else bisect.bisect_left(self._times, end)
        return self.events[lo:hi]

    def _target(self, compiled: ObligationPlan, finding: Finding) -> Target:
        for target in compiled.targets:
            if target.subject == finding.subject and target.unit == finding.unit:
                return target
        for target in compiled.targets:  # a plugin may have touched the subject's name
            if target.subject.id == finding.subject.id and target.subject.role == finding.subject.role and target.unit == finding.unit:
                return target
        raise UsageError(f"no target of {finding.obligation!r} matches the finding for {finding.subject.id!r}")

    def _relevant(
        self, compiled: ObligationPlan, obligation: FrequencyObligation | CadenceObligation, target: Target
    ) -> list[Event]:
        """The known events the evaluator counts for the target (before any thinning): matched
        by the compiled matcher and accepted by ``_counts_for``."""
        key = (compiled.obligation.id, id(target))
        if key not in self._cache:
            matches = self._matches(obligation.match)
            self._cache[key] = [e for e in self.known if matches(e) and counts_for(self.plan, obligation, target, e)]
        return self._cache[key]

    def _considered(self, event: Event, counted: bool, check: str, reason: str) -> ConsideredEvent:
        text = ("counted" if counted else "not counted") + (f" — {reason}" if reason else "")
        return ConsideredEvent(
            id=event.id, kind=event.kind, time=event.time, local_time=self._when(event.time), actor=event.actor,
            participants=event.participants, on_behalf_of=event.on_behalf_of, unit=event.unit, subject=event.subject,
            counted=counted, check=check, reason=text,
        )

    def _kind_label(self, kind: str) -> str:
        spec = self.plan.ruleset.event_kinds.get(kind)
        return spec.label.en if spec is not None else kind

    def _calendar_label(self, name: str) -> str:
        calendar = self.plan.ruleset.calendars.get(name)
        return f"{calendar.label.en} ({name})" if calendar is not None else name

    def _role_label(self, role: str) -> str:
        spec = self.plan.ruleset.roles.get(role)
        return f"{spec.label.en} ({role})" if spec is not None else role

    # ---------------------------------------------------------------------------- matching

    def _why_no_match(self, match: EventMatch, event: Event) -> tuple[str, str]:
        """Why the compiled matcher refused an event of one of the match's kinds."""
        if event.kind not in match.kinds:
            return "unmatched", f"a {self._kind_label(event.kind)} event, not {' or '.join(match.kinds)}"
        for name, condition in match.where.items():
            value = event.field(name)
            if not condition_holds(value, condition):
                return "where", f"{name} is {_show(value)}, expected {_condition_text(condition)}"
        clock = match.time_of_day
        if clock is not None:
            now = local(event.time, self.tz).format("HH:mm")
            inside = clock.from_ <= now < clock.to if clock.from_ < clock.to else (now >= clock.from_ or now < clock.to)
            if not inside:
                return "time_of_day", f"at {now} local time, outside the time-of-day window {clock.from_}–{clock.to}"
        if match.in_calendar is not None:
            windows = self.plan.windows.get(match.in_calendar, ())
            if not any(event.time in part for part in windows):
                day = local(event.time, self.tz).date()
                that_day = Interval(day_start(day, self.tz), day_start(day + dt.timedelta(days=1), self.tz))
                near = [w for w in windows if w.intersect(that_day) is not None]
                listed = ", ".join(f"{self._when(w.start)[11:]}–{self._when(w.end)[11:]}" for w in near) or "none"
                calendar = self._calendar_label(match.in_calendar)
                return "in_calendar", f"at {self._when(event.time)[11:]}, outside the {calendar} windows (windows that day: {listed})"
        quorum = match.quorum
        if quorum is not None:
            present = event.attributes.get(quorum.attribute)
            if not isinstance(present, tuple):
                return "quorum", f"{quorum.attribute} is {_show(present)}: no attendance list, quorum of {quorum.at_least} not reached"
            found = sorted(set(present) & set(quorum.members))
            if len(found) < quorum.at_least:
                names = ", ".join(found) or "none"
                return "quorum", f"{quorum.attribute} names {len(found)} of the listed members ({names}), quorum needs at least {quorum.at_least}"
        return "unmatched", "the match does not accept it (no single condition explains why)"

    def _why_not_for(self, obligation: FrequencyObligation | CadenceObligation, target: Target, event: Event) -> tuple[str, str]:
        """Why ``_counts_for`` refused a matching event for this target."""
        subject = target.subject
        org = self.plan.organisation
        credited = event.credited
        if subject.kind == "person":
            if subject.id not in credited:
                if not credited:
                    return "not_credited", f"credited to no one (no actor, participants or on_behalf_of), not {subject.id}"
                return "not_credited", f"credited to {', '.join(credited)}, not {subject.id}"
            if event.unit is not None and event.unit not in target.units:
                return "other_unit", f"at {event.unit}, which is not {target.unit} or a unit below it"
        elif subject.kind == "unit":
            if event.unit not in target.units:
                return "other_unit", f"at {event.unit or 'no unit'}, which is not {target.unit} or a unit below it"
        elif event.subject != subject.id:
            return "other_subject", f"about {event.subject or 'no subject'}, not {subject.id}"
        if obligation.by is not None:
            roles = frozenset(obligation.by.roles)
            where = org.line(target.unit) if target.unit is not None else frozenset(org.units)
            if not any(org.holds(person, roles, where, event.time) for person in credited):
                held = []
                for person in credited:
                    posts = sorted(
                        f"{role} at {unit}"
                        for (holder, role, unit), intervals in org.holdings.items()
                        if holder == person and any(event.time in i for i in intervals)
                    )
                    held.append(f"{person} held {', '.join(posts) or 'no role'}")
                place = f"at {target.unit}, above or below it" if target.unit is not None else "anywhere"
                wanted = " or ".join(self._role_label(r) for r in obligation.by.roles)
                return "by_role", (
                    f"done by {', '.join(credited) or 'no one'}, but only {wanted} {place} count; at that time "
                    + ("; ".join(held) or "no one was credited")
                )
        return "not_for_target", f"does not count for {subject.id}"

    def _near(self, target: Target, event: Event) -> bool:
        """Is the event about this target at least in part (worth listing)?"""
        subject = target.subject
        if subject.kind == "person":
            return subject.id in event.credited or (event.unit is not None and event.unit in target.units)
        if subject.kind == "unit":
            return event.unit in target.units
        return event.subject == subject.id or (event.unit is not None and event.unit == target.unit)

    def _counts_text(self, match: EventMatch, obligation: Any, target: Target | None) -> str:
        parts = [" or ".join(f"{self._kind_label(k)} ({k})" for k in match.kinds) + " events"]
        if match.where:
            parts.append("where " + " and ".join(f"{n} {_condition_text(c)}" for n, c in match.where.items()))
        if match.time_of_day is not None:
            parts.append(f"between {match.time_of_day.from_} and {match.time_of_day.to} local time")
        if match.in_calendar is not None:
            parts.append(f"inside the {self._calendar_label(match.in_calendar)} windows")
        if match.quorum is not None:
            q = match.quorum
            parts.append(f"with at least {q.at_least} of {len(set(q.members))} listed members in {q.attribute}")
        if target is not None:
            if target.subject.kind == "person":
                parts.append(f"credited to {target.subject.id} (actor, participant or on_behalf_of) at {target.unit} or a unit below it")
            elif target.subject.kind == "unit":
                parts.append(f"at {target.unit} or a unit below it")
            else:
                parts.append(f"about {target.subject.id}")
        by = getattr(obligation, "by", None)
        if by is not None:
            parts.append("done by " + " or ".join(self._role_label(r) for r in by.roles) + " of that unit, above or below it")
        distinct = getattr(obligation, "distinct_within", None)
        if distinct is not None:
            parts.append(f"events less than {format_duration(distinct)} after a counted one count once")
        return ", ".join(parts)

    def _exemption_notes(self, excused: list[ExcusedSpan], within: Interval, used: tuple[str, ...], unused_text: str) -> list[ExemptionNote]:
        registry_ids = {e.id for e in self.plan.organisation.registry.exemptions}
        out = []
        for span in excused:
            if span.span.intersect(within) is None:
                continue
            source = "calendar" if span.who == "calendar" else "registry" if span.record in registry_ids else "event"
            applied = span.record in used
            text = (
                f"{span.record} ({span.reason}; {source}) for {span.who} {span.id}, {self._span(span.span)}: "
                + ("applied" if applied else unused_text)
            )
            out.append(
                ExemptionNote(
                    record=span.record, source=source, who=span.who, id=span.id, start=self._when(span.span.start),
                    end=self._when(span.span.end), reason=span.reason, applied=applied, text=text,
                )
            )
        return out

    # ---------------------------------------------------------------------------- frequency

    def _frequency(self, compiled: ObligationPlan, obligation: FrequencyObligation, finding: Finding) -> ExplainedFinding:
        plan = self.plan
        target = self._target(compiled, finding)
        variants = [(raised_of(obligation, v), list(v.mask)) for v in compiled.variants]
        raised, mask = next(((r, m) for r, m in variants if (r.calendar if r else None) == finding.window), variants[0])
        unit, at_least, at_most = obligation.requirement(raised)
        period = finding.period
        whole = period.interval.seconds
        window = period.interval.intersect(plan.range)
        active = overlap(clip(target.active, window), mask) if window else []
        covered = sum(part.seconds for part in active)
        rule = obligation.partial_periods
        excused = excusing(plan, target, obligation, self.spans)
        what = what_of(plan, obligation.match)

        # the requirement in force and why
        base_unit, base_least, base_most = obligation.requirement(None)
        base_text = _requirement_text(base_least, base_most, base_unit, what)
        parts = []
        if raised is None:
            parts.append(f"{base_text} (base requirement)")
        else:
            windows = "; ".join(self._span(w) for w in plan.windows.get(raised.calendar, [])) or "none in range"
            parts.append(
                f"raised during {self._calendar_label(raised.calendar)}: {_requirement_text(at_least, at_most, unit, what)} "
                f"instead of {base_text} (windows: {windows})"
            )
        if 0 < covered < whole:
            causes = []
            if period.start < plan.range.start or period.end > plan.range.end:
                causes.append(f"the audit range is {plan.first_day} to {plan.last_day}")
            in_force = clip(target.active, window) if window else []
            if sum(p.seconds for p in in_force) < (window.seconds if window else 0):
                causes.append(f"the duty is in force {'; '.join(self._span(p) for p in in_force) or 'never'} in this period")
            if raised is None and obligation.during:
                causes.append("campaign windows in the period are judged under their raised requirement")
            elif raised is not None:
                causes.append(f"only the part inside the {raised.calendar} windows is judged under it")
            parts.append(
                f"in force for {_days(covered)} of the period's {_days(whole)} ({'; '.join(self._span(p) for p in active)})"
                + (f": {', '.join(causes)}" if causes else "")
            )
        rule_text = {"whole": "only whole periods are judged", "majority": "periods covered at least half are judged",
                     "any": "every covered period is judged"}[rule]
        notes: list[str] = []
        used = finding.excused_by
        left = covered
        if used:
            remaining = subtract(active, [x.span for x in excused if x.record in used])
            left = sum(p.seconds for p in remaining)
            records = ", ".join(f"{x.record} ({x.reason}) {self._span(x.span)}" for x in excused if x.record in used)
            parts.append(f"excused by {records}: {_days(covered - left)} of it excused, {_days(left)} left")
        if finding.status == "not_applicable":
            parts.append(f"not judged: partial_periods is {rule} ({rule_text}), and {covered / whole:.0%} of the period is covered")
        elif finding.status == "excused":
            parts.append(f"what is left is below the partial_periods rule ({rule}: {rule_text}), so the period is excused")
        else:
            required = finding.required_count
            expected = at_least if covered >= whole and not used else prorated(at_least, left, whole)
            if required is not None and required != at_least:
                parts.append(f"prorated from {at_least} to {required}: {_days(left)} of {_days(whole)} in force")
            if required is not None and required != expected:
                notes.append(f"the evaluator required {required}, the explanation expected {expected}")
            if at_most is not None:
                parts.append(f"at most {at_most} (never prorated)")
            over = bool(active) and max(p.end for p in active) <= plan.as_of
            if not over:
                notes.append(f"the period is not over at the as-of time ({self._when(plan.as_of)}): more events may still come")
        if obligation.assumed:
            notes.append(f"the number is the ruleset's choice: {obligation.note or 'not given by the source'}")
        if raised is not None and raised.assumed:
            notes.append(f"the raised requirement is the ruleset's choice: {raised.note or 'not given by the source'}")

        # the events
        relevant = self._relevant(compiled, obligation, target)
        relevant_ids = {e.id for e in relevant}
        kept = thin([e for e in relevant if any(e.time in p for p in target.active)], obligation.distinct_within)
        kept_ids = {e.id for e in kept}
        kinds = set(obligation.match.kinds)
        considered = []
        for event in self._between(period.start, period.end):
            if event.kind not in kinds or not self._near(target, event):
                continue
            considered.append(
                self._frequency_event(event, compiled, obligation, target, variants, raised, active, relevant_ids, kept, kept_ids,
                                      finding, excused)
            )
        exemptions = self._exemption_notes(excused, period.interval, used, "not needed" if finding.status == "met" else "not used")
        return self._entry(
            finding, requirement="; ".join(parts), counts=self._counts_text(obligation.match, obligation, target),
            events=tuple(considered), looks_at_events=True, exemptions=tuple(exemptions), notes=tuple(notes),
        )

    def _frequency_event(
        self, event: Event, compiled: ObligationPlan, obligation: FrequencyObligation, target: Target, variants: Variants, raised: Raised | None,
        active: list[Interval], relevant_ids: set[str], kept: list[Event], kept_ids: set[str], finding: Finding, excused: list[ExcusedSpan],
    ) -> ConsideredEvent:
        plan = self.plan
        if event.time >= plan.as_of:
            return self._considered(event, False, "after_as_of", f"at or after the as-of time {self._when(plan.as_of)}: not known yet")
        # outside the range or the duty's time in force: the evaluator never looks at it
        if event.time not in plan.range or not any(event.time in part for part in target.active):
            return self._considered(event, False, "outside_period", self._outside_coverage(event, target, variants, raised))
        if not self._matches(obligation.match)(event):
            return self._considered(event, False, *self._why_no_match(obligation.match, event))
        if event.id not in relevant_ids:
            return self._considered(event, False, *self._why_not_for(obligation, target, event))
        # it counts for the target, but in the part of the period another requirement covers
        if not any(event.time in part for part in active):
            return self._considered(event, False, "outside_period", self._outside_coverage(event, target, variants, raised))
        if event.id not in kept_ids:
            before = [e for e in kept if (e.time, e.id) < (event.time, event.id)]
            earlier = before[-1] if before else None
            assert obligation.distinct_within is not None
            gap = format_duration(obligation.distinct_within)
            text = (
                f"less than {gap} after {earlier.id} ({self._when(earlier.time)}), which counted: counts once"
                if earlier is not None else f"less than {gap} after an earlier counted event: counts once"
            )
            return self._considered(event, False, "distinct_within", text)
        if finding.status == "not_applicable":
            return self._considered(event, False, "not_judged", "it would count, but this period is not judged (partial period)")
        during = [x.record for x in excused if event.time in x.span]
        extra = f"during excused time ({', '.join(during)}); events in excused time still count" if during else ""
        return self._considered(event, True, "counted", extra)

    def _outside_coverage(self, event: Event, target: Target, variants: Variants, raised: Raised | None) -> str:
        plan = self.plan
        if event.time not in plan.range:
            return f"outside the audit range ({plan.first_day} to {plan.last_day})"
        if not any(event.time in part for part in target.active):
            spans = "; ".join(self._span(p) for p in target.active)
            return f"outside the duty's time in force for {target.subject.id} ({spans})"
        for other, mask in variants:
            if any(event.time in part for part in mask):
                if other is None:
                    return "outside the raised-requirement windows: judged under the base requirement instead"
                if raised is None:
                    return f"inside the {self._calendar_label(other.calendar)} window: judged under the raised requirement instead"
                return f"inside the {other.calendar} window, whose own raised requirement applies"
        return "outside the part of the period this requirement covers"

    # ---------------------------------------------------------------------------- cadence

    def _cadence(self, compiled: ObligationPlan, obligation: CadenceObligation, finding: Finding) -> ExplainedFinding:
        plan = self.plan
        target = self._target(compiled, finding)
        relevant = self._relevant(compiled, obligation, target)
        period = finding.period
        what = what_of(plan, obligation.match)
        span = next((a for a in target.active if a.start <= period.start < a.end), None)
        if span is None:
            span = next((a for a in target.active if a.start <= period.start <= a.end), target.active[0])
        sequence = [e for e in relevant if e.time in span]
        gaps: list[tuple[dt.datetime, Event | None]] = []
        anchor = local(span.start, self.tz)
        for event in sequence:
            gaps.append((anchor, event))
            anchor = local(event.time, self.tz)
        gaps.append((anchor, None))
        # a gap closed by an event ends at the event; the gap after the last event ends at its deadline
        closed = [i for i, (start, closer) in enumerate(gaps) if start == period.start and closer is not None and closer.time == period.end]
        open_ended = [i for i, (start, closer) in enumerate(gaps) if start == period.start and closer is None]
        if finding.status == "met":
            candidates = closed
        elif finding.status in ("open", "excused"):
            candidates = open_ended
        else:
            candidates = closed or open_ended
        same = [
            f for f in self.findings
            if f.obligation == finding.obligation and f.subject == finding.subject and f.unit == finding.unit
            and f.period.start == period.start and f.period.end == period.end
        ]
        rank = _rank(same, finding)
        notes: list[str] = []
        index = candidates[min(rank, len(candidates) - 1)] if candidates else None
        if index is None:
            notes.append("the explanation could not place this gap among the counted events")
        closer = gaps[index][1] if index is not None else None

        # the requirement
        base = format_duration(obligation.max_gap)
        parts = [f"a {what} at most {base} after the previous one (base requirement)"]
        anchor_text = "the start of the audit range" if period.start == plan.range.start else (
            "the start of the duty" if period.start == span.start else f"the previous {what}")
        if finding.window is not None:
            entry = next((r for r in obligation.during if r.calendar == finding.window), None)
            gap = format_duration(entry.max_gap) if entry is not None and entry.max_gap is not None else "?"
            windows = "; ".join(self._span(w) for w in plan.windows.get(finding.window, [])) or "none in range"
            parts.append(
                f"raised during {self._calendar_label(finding.window)}: max gap {gap} instead of {base}, counted from the later of "
                f"the anchor and the window's start (windows: {windows})"
            )
            if entry is not None and entry.assumed:
                notes.append(f"the raised requirement is the ruleset's choice: {entry.note or 'not given by the source'}")
        excused = excusing(plan, target, obligation, self.spans)
        if finding.excused_by:
            records = ", ".join(f"{x.record} ({x.reason}) {self._span(x.span)}" for x in excused if x.record in finding.excused_by)
            parts.append(f"the clock restarted at the end of {records}")
        if finding.due is not None:
            parts.append(f"counted from {anchor_text} at {self._when(period.start)}: due by {self._when(finding.due)}")
        if finding.status == "excused":
            parts.append(f"the exemption moved the deadline past the end of the duty's time in range ({self._when(span.end)})")
        elif finding.status == "open":
            parts.append(f"the deadline is after the as-of time ({self._when(plan.as_of)}): still open")
        if obligation.assumed:
            notes.append(f"the number is the ruleset's choice: {obligation.note or 'not given by the source'}")

        # the events: the gap, and for a trailing gap everything up to the end of the duty's span
        if closer is not None:
            window_events = self._between(period.start, period.end, inclusive=True)
        else:
            window_events = self._between(period.start, max(period.end, span.end))
        kinds = set(obligation.match.kinds)
        relevant_ids = {e.id for e in relevant}
        considered = []
        for event in window_events:
            if event.kind not in kinds or not self._near(target, event):
                continue
            if event.time >= plan.as_of:
                considered.append(self._considered(event, False, "after_as_of", f"at or after the as-of time {self._when(plan.as_of)}: not known yet"))
            elif event.time not in span:
                text = (f"outside the audit range ({plan.first_day} to {plan.last_day})" if event.time not in plan.range
                        else f"outside the duty's time in force for {target.subject.id} ({self._span(span)})")
                considered.append(self._considered(event, False, "outside_period", text))
            elif not self._matches(obligation.match)(event):
                considered.append(self._considered(event, False, *self._why_no_match(obligation.match, event)))
            elif event.id not in relevant_ids:
                considered.append(self._considered(event, False, *self._why_not_for(obligation, target, event)))
            elif closer is not None and event.id == closer.id:
                due = finding.due
                if due is not None and event.time > due:
                    text = f"closes the gap {describe(event.time - due)} after the deadline ({self._when(due)})"
                else:
                    text = "closes the gap in time" + (f" (due by {self._when(due)})" if due is not None else "")
                considered.append(self._considered(event, True, "counted", text))
            else:
                where = "the previous gap; this gap is measured from it" if event.time <= period.start else "a later gap"
                considered.append(self._considered(event, False, "other_gap", f"it counts, but it closes {where}"))
        exemptions = self._exemption_notes(excused, Interval(period.start, max(period.end, period.start + dt.timedelta(seconds=1))),
                                           finding.excused_by, "not needed" if finding.status == "met" else "not used")
        return self._entry(
            finding, requirement="; ".join(parts), counts=self._counts_text(obligation.match, obligation, target),
            events=tuple(considered), looks_at_events=True, exemptions=tuple(exemptions), notes=tuple(notes),
        )

    # ---------------------------------------------------------------------------- response

    def _response(self, obligation: ResponseObligation, finding: Finding) -> ExplainedFinding:
        plan = self.plan
        is_trigger = matcher(obligation.trigger, self.tz, plan.windows)
        steps: list[tuple[ResponseStep, Callable[[Event], bool]]] = [
            (step, matcher(step.match, self.tz, plan.windows)) for step in obligation.steps
        ]

        def key_of(event: Event) -> list[Any]:
            return [event.field(name) for name in obligation.correlate_on]

        def case_of(key: list[Any]) -> str:
            return ", ".join(f"{name}={value}" for name, value in zip(obligation.correlate_on, key, strict=True))

        # the cases of this subject, walked step by step as the evaluator does
        # (trigger, step, started, base, due, answer)
        chains: list[tuple[Event, ResponseStep, bool, dt.datetime, dt.datetime, Event | None]] = []
        for trigger in (e for e in self.known if is_trigger(e) and e.time in plan.range):
            key = key_of(trigger)
            if case_of(key) != finding.subject.id:
                continue
            previous: Event | None = None
            for step, matches in steps:
                if step.counted_from == "previous" and previous is None:
                    chains.append((trigger, step, False, trigger.time, trigger.time, None))
                    continue
                base = previous.time if step.counted_from == "previous" and previous is not None else trigger.time
                due: dt.datetime = shift(local(base, self.tz), step.within)
                answer = next(
                    (e for e in self.known if e.id != trigger.id and matches(e) and e.time >= base and None not in key and key_of(e) == key),
                    None,
                )
                chains.append((trigger, step, True, base, due, answer))
                previous = answer
        candidates = [c for c in chains if c[1].id == finding.step and c[3] == finding.period.start and c[4] == finding.period.end]
        same = [
            f for f in self.findings
            if f.obligation == finding.obligation and f.subject == finding.subject and f.step == finding.step
            and f.period.start == finding.period.start and f.period.end == finding.period.end
        ]
        rank = _rank(same, finding)
        notes = []
        if not candidates:
            notes.append("the explanation could not find the case's trigger")
            return self._entry(finding, requirement=finding.required, notes=tuple(notes))
        trigger, step, started, base, due, answer = candidates[min(rank, len(candidates) - 1)]
        key = key_of(trigger)
        title = step.title.en if step.title else step.id
        since = "the trigger" if step.counted_from == "trigger" else "the previous step"
        parts = [f"step {step.id!r} ({title}): within {format_duration(step.within)} of {since}"]
        if started:
            parts.append(f"the clock started at {self._when(base)}: due by {self._when(due)}")
        else:
            parts.append("not started: the previous step has no event, so this step's clock never started")
        parts.append(f"the case is {case_of(key)}, opened by {trigger.id} at {self._when(trigger.time)}")
        parts.append("response duties are never excused")
        if obligation.assumed:
            notes.append(f"the deadline is the ruleset's choice: {obligation.note or 'not given by the source'}")

        trigger_kinds = set(obligation.trigger.kinds)
        step_kinds = {k for s, _ in steps for k in s.match.kinds}
        this_matches = next(m for s, m in steps if s.id == step.id)
        considered = []
        for event in self.events:
            if event.kind not in trigger_kinds | step_kinds or key_of(event) != key:
                continue
            if event.id == trigger.id:
                considered.append(self._considered(event, True, "trigger", f"the trigger: opened the case at {self._when(event.time)}"))
            elif event.time >= plan.as_of:
                considered.append(self._considered(event, False, "after_as_of", f"at or after the as-of time {self._when(plan.as_of)}: not known yet"))
            elif event.kind not in step.match.kinds:
                if event.kind in trigger_kinds and is_trigger(event):
                    text = ("another trigger with the same " + ", ".join(obligation.correlate_on)
                            + (": it opens a case of its own" if event.time in plan.range else ", outside the audit range: it opens no case"))
                    considered.append(self._considered(event, False, "other_case", text))
                else:
                    others = [s.id for s, _ in steps if event.kind in s.match.kinds]
                    text = (f"an event of step {', '.join(repr(o) for o in others)}, not of step {step.id!r}" if others
                            else f"a {self._kind_label(event.kind)} event that does not match the trigger")
                    considered.append(self._considered(event, False, "other_step", text))
            elif not this_matches(event):
                considered.append(self._considered(event, False, *self._why_no_match(step.match, event)))
            elif not started:
                considered.append(self._considered(event, False, "no_clock", "this step's clock never started (the previous step has no event)"))
            elif event.time < base:
                considered.append(self._considered(event, False, "before_clock", f"before the clock started at {self._when(base)} ({since})"))
            elif answer is not None and event.id == answer.id:
                if event.time > due:
                    text = f"the answer, {describe(event.time - due)} after the deadline ({self._when(due)})"
                else:
                    text = f"the answer, in time (due by {self._when(due)})"
                considered.append(self._considered(event, True, "counted", text))
            elif answer is not None:
                considered.append(self._considered(event, False, "later_answer",
                                                   f"the earliest event after the clock started is the answer ({answer.id} at {self._when(answer.time)})"))
            else:  # pragma: no cover - a matching, known event after the clock would have been the answer
                considered.append(self._considered(event, False, "unmatched", "not taken as the answer"))
        return self._entry(
            finding, requirement="; ".join(parts), counts=self._counts_text(step.match, None, None) + f", with the same {', '.join(obligation.correlate_on)}",
            events=tuple(considered), looks_at_events=True, notes=tuple(notes),
        )

    # ---------------------------------------------------------------------------- staffing and completeness

    def _staffing(self, obligation: StaffingObligation, finding: Finding) -> ExplainedFinding:
        plan = self.plan
        org = plan.organisation
        role = finding.subject.role or ""
        unit = finding.unit or finding.subject.id
        needed = obligation.require.get(role)
        period = finding.period
        holders = []
        for assignment in org.registry.assignments:
            if assignment.role != role or assignment.unit != unit:
                continue
            first = day_start(assignment.start, self.tz)
            last = assignment.end
            end = day_start(last + dt.timedelta(days=1), self.tz) if last is not None else None
            until = f"to {last}" if last is not None else "with no end"
            if first <= period.start and (end is None or end >= period.end):
                text = f"in post for the whole period ({assignment.start} {until})"
            elif first >= period.end or (end is not None and end <= period.start):
                text = f"not in post during this period ({assignment.start} {until})"
            else:
                text = f"in post for part of the period ({assignment.start} {until})"
            person = org.people.get(assignment.person)
            holders.append(
                Holder(person=assignment.person, name=person.name if person else None, role=role, unit=unit,
                       start=assignment.start, end=assignment.end, text=text)
            )
        elsewhere = sorted(
            {f"{person} at {where}" for (person, held, where), intervals in org.holdings.items()
             if held == role and where != unit and where in org.line(unit) and any(i.intersect(period.interval) for i in intervals)}
        )
        parts = [f"at least {needed} {self._role_label(role)} at {unit} itself on every day of the range"]
        notes = ["staffing is judged from the registry over the whole range, whatever the as-of time; it is never excused"]
        if elsewhere:
            notes.append(f"holders of the role at units above or below do not count: {', '.join(elsewhere)}")
        if finding.status != "met":
            parts.append(f"short on {period.label}: {finding.observed}")
        return self._entry(finding, requirement="; ".join(parts), holders=tuple(holders), notes=tuple(notes))

    def _completeness(self, obligation: CompletenessObligation, finding: Finding) -> ExplainedFinding:
        plan = self.plan
        record = next((s for s in plan.organisation.registry.subjects if s.id == finding.subject.id), None)
        subject_kind = plan.ruleset.subject_kinds.get(record.kind) if record is not None else None
        specs = subject_kind.attributes if subject_kind is not None else {}
        fields = []
        for name in obligation.fields:
            value = record.attributes.get(name) if record is not None else None
            present = value not in (None, "", [], {})
            spec = specs.get(name)
            fields.append(
                FieldState(field=name, label=spec.label.en if spec is not None and spec.label is not None else None,
                           value=None if value is None else str(value), present=present)
            )
        if finding.step is not None:
            requirement = f"{finding.step!r} filled in (one finding per missing field of: {', '.join(obligation.fields)})"
        else:
            requirement = f"filled in and not empty: {', '.join(obligation.fields)}"
        return self._entry(finding, requirement=requirement, fields=tuple(fields))

    # ---------------------------------------------------------------------------- plugin kinds

    def _extension(self, compiled: ObligationPlan, finding: Finding) -> ExplainedFinding:
        match = getattr(compiled.obligation, "match", None)
        considered = []
        if isinstance(match, EventMatch):
            evidence = set(finding.evidence)
            for event in self._between(finding.period.start, finding.period.end, inclusive=True):
                if event.kind in match.kinds or event.id in evidence:
                    listed = event.id in evidence
                    considered.append(self._considered(
                        event, listed, "evidence",
                        "listed as evidence by the plugin's evaluator" if listed else "not listed as evidence by the plugin's evaluator",
                    ))
        notes = (f"obligation kind {compiled.obligation.kind!r} comes from a plugin; its evaluator decides what counts",)
        return self._entry(finding, requirement=finding.required, events=tuple(considered), looks_at_events=isinstance(match, EventMatch),
                           notes=notes)


# --------------------------------------------------------------------------------------------
# Small pieces


def _subject_matches(finding: Finding, subject: str) -> bool:
    if finding.subject.id == subject:
        return True
    if finding.subject.kind == "case":  # "info_id=INFO-0812" also answers to "INFO-0812"
        values = [part.split("=", 1)[-1] for part in finding.subject.id.split(", ")]
        return subject == ", ".join(values)
    return False


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _day_in(day: dt.date, finding: Finding, tz: str) -> bool:
    """Does the local day overlap the finding's period (or hold it, for an instant)?"""
    start, end = day_start(day, tz), day_start(day + dt.timedelta(days=1), tz)
    period = finding.period
    if period.start >= period.end:
        return start <= period.start < end
    return period.start < end and period.end > start


def _choices(values: list[str], limit: int = 10) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" (and {len(values) - limit} more)" if len(values) > limit else "")


def _show(value: Any) -> str:
    if value is None:
        return "absent"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def _condition_text(condition: Any) -> str:
    if isinstance(condition, Comparison):
        ops = []
        for label, bound in (("=", condition.eq), ("≠", condition.ne), (">", condition.gt), (">=", condition.gte),
                             ("<", condition.lt), ("<=", condition.lte)):
            if bound is not None:
                ops.append(f"{label} {_show(bound)}")
        if condition.in_ is not None:
            ops.append(f"one of {_show(condition.in_)}")
        if condition.not_in is not None:
            ops.append(f"none of {_show(condition.not_in)}")
        if condition.exists is not None:
            ops.append("present" if condition.exists else "absent")
        return " and ".join(ops)
    if isinstance(condition, list):
        return f"one of {_show(condition)}"
    return f"= {_show(condition)}"


def _days(seconds: float) -> str:
    days = seconds / 86400
    if abs(days - round(days)) < 1e-9:
        n = round(days)
        return f"{n} day" if n == 1 else f"{n} days"
    if days < 1:
        return f"{seconds / 3600:.1f} h"
    return f"{days:.1f} days"


def _period_name(unit: str | FixedPeriod) -> str:
    if isinstance(unit, FixedPeriod):
        return f"{format_duration(unit.every)} period"
    return unit


def _requirement_text(at_least: int, at_most: int | None, unit: str | FixedPeriod, what: str) -> str:
    text = f"at least {at_least} {what}" if at_least else "no minimum"
    if at_most is not None:
        text += f", at most {at_most}"
    return f"{text} per {_period_name(unit)}"


# --------------------------------------------------------------------------------------------
# Rendering


def _subject_line(finding: Finding) -> str:
    subject = finding.subject
    name = f"{subject.name} ({subject.id})" if subject.name and subject.name != subject.id else subject.id
    if subject.kind == "person":
        return f"subject: {name}, role {subject.role}, unit {finding.unit}"
    if subject.kind == "unit":
        return f"subject: unit {name}" + (f", role {subject.role}" if subject.role else "")
    if subject.kind == "case":
        return f"subject: case {name}" + (f", step {finding.step}" if finding.step else "") + (f", unit {finding.unit}" if finding.unit else "")
    return f"subject: {name}" + (f", at {finding.unit}" if finding.unit else "") + (f", field {finding.step}" if finding.step else "")


def _event_line(event: ConsideredEvent) -> str:
    who = f" by {event.actor}" if event.actor else ""
    if event.participants:
        who += f" with {', '.join(event.participants)}"
    if event.on_behalf_of:
        who += f" for {event.on_behalf_of}"
    where = f" at {event.unit}" if event.unit else ""
    about = f" about {event.subject}" if event.subject else ""
    return f"  {event.id} {event.local_time} {event.kind}{who}{where}{about}: {event.reason}"


def render_explanation(explanation: Explanation) -> str:
    """Plain text for a duty officer: one block per finding."""
    head = (
        f"{explanation.obligation} — {explanation.title.en} ({explanation.cited})"
    )
    blocks = []
    intro = (
        f"audit {explanation.first_day} to {explanation.last_day}, as of "
        f"{local(explanation.as_of, explanation.timezone).format('YYYY-MM-DD HH:mm')} ({explanation.timezone})"
    )
    if len(explanation.entries) > 1:
        intro += f"; {len(explanation.entries)} findings match {explanation.subject!r} in {explanation.period!r}"
    for entry in explanation.entries:
        f = entry.finding
        lines = [head, _subject_line(f)]
        span = f"{entry.period_start} to {entry.period_end}"
        if f.period.label == span:
            lines.append(f"period {span} ({explanation.timezone})")
        else:
            lines.append(f"period {f.period.label}: {span} ({explanation.timezone})")
        if f.window:
            lines.append(f"window: {f.window}")
        lines.append(f"requirement: {entry.requirement}")
        if entry.counts:
            lines.append(f"counts: {entry.counts}")
        verdict = f"verdict: {f.status} — {f.observed if f.observed != '-' else f.required}"
        if f.status in ("late", "missed") and f.delay_seconds:
            verdict += f" (delay {describe(dt.timedelta(seconds=f.delay_seconds))})"
        lines.append(verdict)
        if f.note:
            lines.append(f"note: {f.note}")
        for note in entry.notes:
            lines.append(f"note: {note}")
        if entry.exemptions:
            lines.append(f"exemptions ({len(entry.exemptions)}):")
            lines += [f"  {x.text}" for x in entry.exemptions]
        if entry.holders or f.obligation_kind == "staffing":
            lines.append(f"holders of {f.subject.role} at {f.unit} ({len(entry.holders)}):")
            lines += [f"  {h.name or h.person} ({h.person}): {h.text}" for h in entry.holders]
        if entry.fields:
            lines.append("fields:")
            for field in entry.fields:
                label = f" ({field.label})" if field.label else ""
                lines.append(f"  {field.field}{label}: " + (field.value if field.present and field.value is not None else "missing or empty"))
        if entry.looks_at_events:
            lines.append(f"events considered ({len(entry.events)}):")
            lines += [_event_line(e) for e in entry.events]
            if f.evidence and not entry.events:
                lines.append(f"  evidence: {', '.join(f.evidence)}")
        blocks.append("\n".join(lines))
    return intro + "\n\n" + "\n\n".join(blocks) + "\n"


def _rank(same: list[Finding], finding: Finding) -> int:
    """The position of ``finding`` among findings with the same subject and period (the
    evaluator emits them in order), by identity, else by value."""
    for test in (lambda f: f is finding, lambda f: f == finding):
        found = next((i for i, f in enumerate(same) if test(f)), None)
        if found is not None:
            return found
    return 0
