"""How one verdict came about: the period, the requirement in force and why, and every event
that was considered with the reason it did or did not count.

:func:`explain` runs the audit's own steps (:func:`complianceengine.evaluate.judge`: the plan,
the reference backend, the kinds, then the plugins' ``complianceengine_process_findings``;
notifiers are *not* called) with a recording tracer (:mod:`complianceengine.trace`),
picks the findings of one obligation for one subject and one period, and renders what the kinds
recorded for each: the frame, gap, case step, post or record it came from, the requirement and
exemptions the verdict used, and the decision on every event the kind looked at.

The explanation never decides anything. Events the kind never looked at (the index hands a target
only the events that can concern it) are still listed when they are of the matched kinds and
about the target, with the reason they do not count: the match block's conditions
(:func:`complianceengine.match.condition_holds`) and ``counts_for`` serve as diagnostics only.
The events marked counted must be the finding's evidence; when they are not, the notes say so.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from .errors import UsageError
from .evaluate import judge
from .trace import CHECKS, CaseStep, Decision, FieldsStep, FrameStep, GapStep, NotJudged, PostStep, Record, Recorder, Step
from .exemptions import ExcusedSpan
from .findings import Finding
from .kinds import counts_for
from .kinds import raised as raised_of
from .kinds import what as what_of
from .match import condition_holds
from .kinds.cadence import CadenceObligation
from .kinds.frequency import FrequencyObligation
from .kinds.response import ResponseObligation
from .kinds.staffing import StaffingObligation
from .model import Comparison, Event, EventLog, EventMatch, FixedPeriod, Label, Registry, Ruleset, format_duration
from .plan import ObligationPlan, Target
from .plugins import Plugins
from .timeframes import Interval, clip, day_start, describe, local

__all__ = [
    "CHECKS", "ConsideredEvent", "ExemptionNote", "ExplainedFinding", "Explainer", "Explanation", "FieldState", "Holder", "explain",
    "render_explanation",
]


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
    check: str  # one of CHECKS
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


def explain(
    ruleset: Ruleset, registry: Registry, events: EventLog | Iterable[Event], *, obligation: str, subject: str, period: str,
    first_day: dt.date, last_day: dt.date, as_of: dt.datetime | None = None, plugins: Plugins | None = None,
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
    """One traced evaluation, explained finding by finding (build it once to explain many)."""

    def __init__(
        self, ruleset: Ruleset, registry: Registry, events: EventLog | Iterable[Event], *, first_day: dt.date, last_day: dt.date,
        as_of: dt.datetime | None = None, plugins: Plugins | None = None,
    ):
        self.trace = Recorder()
        # the audit's own steps, traced, without its notifications (explaining sends nothing)
        judged = judge(ruleset, registry, events, first_day=first_day, last_day=last_day, as_of=as_of, plugins=plugins, tracer=self.trace)
        [self.plan], findings, log = judged.plans, judged.findings, judged.log
        self.findings: list[Finding] = list(findings)
        self.tz = self.plan.tz
        #: every event, known or not, in the evaluator's order
        self.events: list[Event] = sorted(log.events, key=lambda e: (e.time.timestamp(), e.id))
        self._times = [e.time.timestamp() for e in self.events]  # the order of instants, as the evaluator's
        self._matchers: dict[str, Callable[[Event], bool]] = {}
        self._cases: dict[str, dict[tuple[Any, ...], list[Event]]] = {}

    def select(self, obligation: str, subject: str, period: str) -> list[Finding]:
        """The findings of ``obligation`` for ``subject`` in ``period`` (see :func:`explain`)."""
        compiled = self.plan.obligation(obligation)
        mine = [f for f in self.findings if f.obligation == compiled.obligation.id]
        if not mine:
            raise UsageError(f"obligation {obligation!r} has no findings in the audit of {self.plan.first_day} to {self.plan.last_day}")
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
        compiled = self.plan.obligation(obligation)
        o = compiled.obligation
        return Explanation(
            ruleset=self.plan.ruleset.id, obligation=o.id, obligation_kind=o.kind, title=o.title, cited=compiled.cited,
            subject=subject, period=period, timezone=self.tz, first_day=self.plan.first_day, last_day=self.plan.last_day,
            as_of=self.plan.as_of, entries=tuple(self.explain_finding(f) for f in findings),
        )

    def explain_finding(self, finding: Finding) -> ExplainedFinding:
        """Explain one finding of this evaluation from its trace."""
        compiled = self.plan.obligation(finding.obligation)
        record = self.trace.of(finding, self.findings)
        step = record.step if record is not None else None
        if record is None:  # a plugin kind that records nothing: its evaluator decides
            entry = self._extension(compiled, finding)
        elif isinstance(step, FrameStep):
            entry = self._frame(compiled, finding, record, step)
        elif isinstance(step, GapStep):
            entry = self._gap(compiled, finding, record, step)
        elif isinstance(step, CaseStep):
            entry = self._case(compiled, finding, record, step)
        elif isinstance(step, PostStep):
            entry = self._post(finding, step)
        elif isinstance(step, FieldsStep):
            entry = self._fields(finding, step)
        else:
            assert isinstance(step, NotJudged)
            entry = self._entry(finding, requirement=f"not judged: {step.reason}")
        if entry.events or finding.evidence:
            mine, theirs = set(entry.counted), set(finding.evidence)
            if mine != theirs:
                warning = (
                    "this explanation disagrees with the evaluator: it marks "
                    f"{', '.join(sorted(mine)) or 'nothing'} counted, the finding's evidence is {', '.join(sorted(theirs)) or 'empty'}"
                )
                entry = entry.model_copy(update={"notes": (*entry.notes, warning)})
        return entry

    # ---------------------------------------------------------------------------- the kinds

    def _frame(self, compiled: ObligationPlan, finding: Finding, record: Record, step: FrameStep) -> ExplainedFinding:
        plan, frame, target = self.plan, step.frame, step.target
        obligation = compiled.obligation
        assert isinstance(obligation, FrequencyObligation)
        raised = raised_of(obligation, next(v for v in compiled.variants if v.window == frame.window))
        what = what_of(plan, obligation.match)
        base = _requirement_text(*obligation.requirement(None), what)
        if raised is None:
            parts = [f"{base} (base requirement)"]
        else:
            windows = "; ".join(self._span(w) for w in plan.windows.get(raised.calendar, [])) or "none in range"
            in_force = _requirement_text(obligation.requirement(raised)[0], frame.at_least, frame.at_most, what)
            parts = [f"raised during {self._calendar_label(raised.calendar)}: {in_force} instead of {base} (windows: {windows})"]
        period, covered, whole = finding.period, frame.covered, frame.whole
        if covered < whole:
            causes = []
            duty = clip(target.active, period.interval)
            if sum(p.seconds for p in duty) < whole:
                causes.append(f"the duty is in force {'; '.join(self._span(p) for p in duty) or 'never'} in this period")
            if raised is None and obligation.during:
                causes.append("campaign windows in the period are judged under their raised requirement")
            elif raised is not None:
                causes.append(f"only the part inside the {raised.calendar} windows is judged under it")
            parts.append(f"in force for {_days(covered)} of the period's {_days(whole)} ({'; '.join(self._span(p) for p in frame.active)})"
                         + (f": {', '.join(causes)}" if causes else ""))
        rule = {"whole": "only whole periods are judged", "majority": "periods covered at least half are judged",
                "any": "every covered period is judged"}[step.rule]
        if step.used:
            records = ", ".join(f"{x.record} ({x.reason}) {self._span(x.span)}" for x in step.exemptions if x.record in step.used)
            parts.append(f"excused by {records}: {_days(covered - step.left)} of it excused, {_days(step.left)} left")
        notes = []
        if not frame.judged:
            parts.append(f"not judged: partial_periods is {step.rule} ({rule}), and {covered / whole:.0%} of the period is covered")
        elif step.required is None:
            parts.append(f"what is left is below the partial_periods rule ({step.rule}: {rule}), so the period is excused")
        else:
            each = obligation.in_at_least if isinstance(obligation, FrequencyObligation) else None
            if each is not None:
                parts.append(f"the requirement holds per {each.each}, and {step.required} of the period's {each.each}s must meet it"
                             + (f" (prorated from {each.periods}: {_days(step.left)} of {_days(whole)} in force)"
                                if step.required != each.periods else ""))
            elif step.required != frame.at_least:
                parts.append(f"prorated from {frame.at_least} to {step.required}: {_days(step.left)} of {_days(whole)} in force")
            if frame.at_most is not None:
                parts.append(f"at most {frame.at_most} (never prorated)")
            if not frame.over:
                notes.append(f"the period is not over at the as-of time ({self._when(plan.as_of)}): more events may still come")
        notes += self._assumed(obligation, raised)
        return self._entry(
            finding, requirement="; ".join(parts), counts=self._counts_text(obligation.match, obligation, target),
            events=self._events(record, finding, step, self._between(period.start, period.end), self._diagnose(obligation, target)),
            looks_at_events=True, exemptions=self._exemptions(step.exemptions, step.used, finding), notes=tuple(notes),
        )

    def _gap(self, compiled: ObligationPlan, finding: Finding, record: Record, step: GapStep) -> ExplainedFinding:
        plan, obligation = self.plan, compiled.obligation
        assert isinstance(obligation, CadenceObligation)
        what = what_of(plan, obligation.match)
        base = format_duration(obligation.max_gap)
        parts = [f"a {what} at most {base} after the previous one (base requirement)"]
        raised = next((r for r in obligation.during if r.calendar == step.window), None)
        if raised is not None:
            gap = format_duration(raised.max_gap) if raised.max_gap is not None else "?"
            windows = "; ".join(self._span(w) for w in plan.windows.get(raised.calendar, [])) or "none in range"
            parts.append(f"raised during {self._calendar_label(raised.calendar)}: max gap {gap} instead of {base}, counted from the later "
                         f"of the anchor and the window's start (windows: {windows})")
        if step.used:
            records = ", ".join(f"{x.record} ({x.reason}) {self._span(x.span)}" for x in step.exemptions if x.record in step.used)
            parts.append(f"the clock restarted at the end of {records}")
        if step.opened_by is not None:
            anchor = f"the previous {what} ({step.opened_by.id})"
        else:
            anchor = ("the start of the audit range (the duty has no start date)" if step.anchor == plan.range.start
                      and step.span.start < plan.range.start else "the start of the duty")
        parts.append(f"counted from {anchor} at {self._when(step.anchor)}: due by {self._when(step.due)}")
        if finding.status == "excused":
            parts.append(f"the exemption moved the deadline past the end of the duty ({self._when(step.span.end)})")
        elif finding.status == "open":
            parts.append(f"the deadline is after the as-of time ({self._when(plan.as_of)}): still open")
        closer = step.closed_by
        shown = (self._between(step.anchor, closer.time, inclusive=True) if closer is not None
                 else self._between(step.anchor, max(step.due, step.span.end)))
        return self._entry(
            finding, requirement="; ".join(parts), counts=self._counts_text(obligation.match, obligation, step.target),
            events=self._events(record, finding, step, shown, self._diagnose(obligation, step.target)), looks_at_events=True,
            exemptions=self._exemptions(step.exemptions, step.used, finding), notes=tuple(self._assumed(obligation, raised)),
        )

    def _case(self, compiled: ObligationPlan, finding: Finding, record: Record, step: CaseStep) -> ExplainedFinding:
        obligation = compiled.obligation
        assert isinstance(obligation, ResponseObligation)
        this = next(s for s in obligation.steps if s.id == step.step)
        title = this.title.en if this.title else this.id
        since = "the trigger" if this.counted_from == "trigger" else "the previous step"
        parts = [f"step {this.id!r} ({title}): within {format_duration(this.within)} of {since}"]
        if step.started and step.due is not None:
            parts.append(f"the clock started at {self._when(step.base)}: due by {self._when(step.due)}")
        else:
            parts.append("not started: the previous step has no event, so this step's clock never started")
        parts.append(f"the case is {finding.subject.id}, opened by {step.trigger.id} at {self._when(step.trigger.time)}")
        parts.append("response duties are never excused")
        notes = [f"the deadline is the ruleset's choice: {obligation.note or 'not given by the source'}"] if obligation.assumed else []
        if compiled.id not in self._cases:  # every event of the trigger's or a step's kinds, by correlation key
            kinds = {*obligation.trigger.kinds, *(k for s in obligation.steps for k in s.match.kinds)}
            cases: dict[tuple[Any, ...], list[Event]] = {}
            self._cases[compiled.id] = cases
            for event in self.events:
                if event.kind in kinds:
                    cases.setdefault(tuple(event.field(name) for name in obligation.correlate_on), []).append(event)

        def diagnose(event: Event) -> tuple[str, str]:
            if event.time >= self.plan.as_of:
                return "after_as_of", f"at or after the as-of time {self._when(self.plan.as_of)}: not known yet"
            if event.kind in this.match.kinds:
                return self._why_no_match(this.match, event)
            others = [s.id for s in obligation.steps if event.kind in s.match.kinds]
            if others:
                return "other_step", f"an event of step {', '.join(repr(o) for o in others)}, not of step {this.id!r}"
            return "other_step", f"a {self._kind_label(event.kind)} event that does not match the trigger"

        return self._entry(
            finding, requirement="; ".join(parts), looks_at_events=True, notes=tuple(notes),
            counts=self._counts_text(this.match, None, None) + f", with the same {', '.join(obligation.correlate_on)}",
            events=self._events(record, finding, step, self._cases[compiled.id].get(step.key, []), diagnose),
        )

    def _post(self, finding: Finding, step: PostStep) -> ExplainedFinding:
        org, role, unit, period = self.plan.organisation, step.role, step.target.unit or finding.subject.id, finding.period
        holders = []
        for assignment in org.registry.assignments:
            if assignment.role != role or assignment.unit != unit:
                continue
            first, last = day_start(assignment.start, self.tz), assignment.end
            end = day_start(last + dt.timedelta(days=1), self.tz) if last is not None else None
            until = f"{assignment.start} to {last}" if last is not None else f"{assignment.start} with no end"
            if first <= period.start and (end is None or end >= period.end):
                text = f"in post for the whole period ({until})"
            elif first >= period.end or (end is not None and end <= period.start):
                text = f"not in post during this period ({until})"
            else:
                text = f"in post for part of the period ({until})"
            person = org.people.get(assignment.person)
            holders.append(Holder(person=assignment.person, name=person.name if person else None, role=role, unit=unit,
                                  start=assignment.start, end=assignment.end, text=text))
        elsewhere = sorted(
            {f"{person} at {where}" for (person, held, where), intervals in org.holdings.items()
             if held == role and where != unit and where in org.line(unit) and any(i.intersect(period.interval) for i in intervals)}
        )
        obligation = self.plan.obligation(finding.obligation).obligation
        low, high = obligation.bounds(role) if isinstance(obligation, StaffingObligation) else (step.needed, None)
        bound = f"exactly {low}" if low == high else f"{low} to {high}" if low and high is not None else (
            f"at most {high}" if high is not None else f"at least {low}")
        parts = [f"{bound} {self._role_label(role)} at {unit} itself on every day of the range"]
        if step.shortfall is not None:
            present = ", ".join(step.shortfall.present) or "vacant"
            short = "short" if len(step.shortfall.present) < low else "over"
            parts.append(f"{short} on {step.shortfall.first} to {step.shortfall.last}: {len(step.shortfall.present)} ({present})")
        notes = ["staffing is judged from the registry over the whole range, whatever the as-of time; it is never excused"]
        if elsewhere:
            notes.append(f"holders of the role at units above or below do not count: {', '.join(elsewhere)}")
        return self._entry(finding, requirement="; ".join(parts), holders=tuple(holders), notes=tuple(notes))

    def _fields(self, finding: Finding, step: FieldsStep) -> ExplainedFinding:
        record = next((s for s in self.plan.registry.subjects if s.id == step.target.subject.id), None)
        kind = self.plan.ruleset.subject_kinds.get(record.kind) if record is not None else None
        specs = kind.attributes if kind is not None else {}
        fields = tuple(
            FieldState(field=name, label=spec.label.en if (spec := specs.get(name)) is not None and spec.label is not None else None,
                       value=None if value is None else str(value), present=value not in (None, "", [], {}))
            for name, value in step.values
        )
        names = ", ".join(name for name, _ in step.values)
        requirement = (f"{step.missing!r} filled in (one finding per missing field of: {names})" if step.missing is not None
                       else f"filled in and not empty: {names}")
        return self._entry(finding, requirement=requirement, fields=fields)

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
                        "listed as evidence by the plugin's evaluator" if listed else "not listed as evidence by the plugin's evaluator"))
        notes = (f"obligation kind {compiled.obligation.kind!r} comes from a plugin; its evaluator decides what counts",)
        return self._entry(finding, requirement=finding.required, events=tuple(considered), looks_at_events=isinstance(match, EventMatch),
                           notes=notes)

    # ---------------------------------------------------------------------------- events

    def _events(
        self, record: Record, finding: Finding, step: Step, shown: Iterable[Event], diagnose: Callable[[Event], tuple[str, str] | None],
    ) -> tuple[ConsideredEvent, ...]:
        """The recorded decisions, and the events of ``shown`` the kind never looked at that
        ``diagnose`` finds worth listing, with why they do not count, in time order."""
        decided = {d.event.id for d in record.decisions}
        out = [self._considered(d.event, d.counted, d.check, self._reason(d, finding, step)) for d in record.decisions]
        for event in shown:
            why = diagnose(event) if event.id not in decided else None
            if why is not None:
                out.append(self._considered(event, False, *why))
        return tuple(sorted(out, key=lambda c: (c.time, c.id)))

    def _reason(self, decision: Decision, finding: Finding, step: Step) -> str:
        """A recorded decision in words."""
        event, check, when = decision.event, decision.check, self._when
        if check == "counted":
            if isinstance(step, (GapStep, CaseStep)):
                what, due = ("closes the gap", step.due) if isinstance(step, GapStep) else ("the answer,", step.due)
                if due is not None and event.time > due:
                    return f"{what} {describe(event.time - due)} after the deadline ({when(due)})"
                return f"{what} in time" + (f" (due by {when(due)})" if due is not None else "")
            during = [x.record for x in step.exemptions if event.time in x.span] if isinstance(step, FrameStep) else []
            return f"during excused time ({', '.join(during)}); events in excused time still count" if during else ""
        if check == "distinct_within":
            obligation = self.plan.obligation(finding.obligation).obligation
            gap = format_duration(obligation.distinct_within) if isinstance(obligation, FrequencyObligation) and obligation.distinct_within else "?"
            earlier = decision.related
            if earlier is None:
                return f"less than {gap} after an earlier counted event: counts once"
            return f"less than {gap} after {earlier.id} ({when(earlier.time)}), which counted: counts once"
        if check == "not_judged":
            return "it would count, but this period is not judged (partial period)"
        if check == "outside_period":
            return self._outside(event, finding, step)
        if check == "other_gap" and isinstance(step, GapStep):
            if step.opened_by is not None and event.id == step.opened_by.id:
                return "it counts, but it closes the previous gap; this gap is measured from it"
            return f"it counts, but it closes {'an earlier' if event.time <= step.anchor else 'a later'} gap"
        if check == "trigger":
            return f"the trigger: opened the case at {when(event.time)}"
        if isinstance(step, CaseStep):
            obligation = self.plan.obligation(finding.obligation).obligation
            assert isinstance(obligation, ResponseObligation)
            if check == "other_case":
                return f"another trigger with the same {', '.join(obligation.correlate_on)}: it opens a case of its own"
            if check == "other_step":
                return f"an event of step {decision.step!r}, not of step {step.step!r}"
            if check == "no_clock":
                return "this step's clock never started (the previous step has no event)"
            if check == "before_clock":
                since = next("the trigger" if s.counted_from == "trigger" else "the previous step" for s in obligation.steps if s.id == step.step)
                return f"before the clock started at {when(step.base)} ({since})"
            if check == "later_answer" and decision.related is not None:
                return f"the earliest event after the clock started is the answer ({decision.related.id} at {when(decision.related.time)})"
        return check.replace("_", " ")

    def _outside(self, event: Event, finding: Finding, step: Step) -> str:
        plan = self.plan
        if isinstance(step, GapStep):
            return f"outside the duty's time in force for {step.target.subject.id} ({self._span(step.span)})"
        assert isinstance(step, FrameStep)
        if not any(event.time in part for part in step.target.active):
            return f"outside the duty's time in force for {step.target.subject.id} ({'; '.join(self._span(p) for p in step.target.active)})"
        for variant in plan.obligation(finding.obligation).variants:
            if any(event.time in part for part in variant.mask):
                if variant.window is None:
                    return "outside the raised-requirement windows: judged under the base requirement instead"
                if step.frame.window is None:
                    return f"inside the {self._calendar_label(variant.window)} window: judged under the raised requirement instead"
                return f"inside the {variant.window} window, whose own raised requirement applies"
        return "outside the part of the period this requirement covers"

    def _diagnose(self, obligation: FrequencyObligation | CadenceObligation, target: Target) -> Callable[[Event], tuple[str, str] | None]:
        """Why an event of the matched kinds, about the target, that the kind never looked at does
        not count (None: not worth listing)."""

        def diagnose(event: Event) -> tuple[str, str] | None:
            if event.kind not in obligation.match.kinds or not _near(target, event):
                return None
            if event.time >= self.plan.as_of:
                return "after_as_of", f"at or after the as-of time {self._when(self.plan.as_of)}: not known yet"
            if not self._matches(obligation.match)(event):
                return self._why_no_match(obligation.match, event)
            if not counts_for(self.plan, obligation, target, event):
                return self._why_not_for(obligation, target, event)
            return "not_for_target", "not looked at by the evaluator"

        return diagnose

    def _value_label(self, kind: str, name: str, value: Any) -> str:
        """`` (线上)`` after an enum value the ruleset labels (its Chinese label, else its English one)."""
        declared = self.plan.ruleset.event_kinds.get(kind)
        spec = declared.attributes.get(name) if declared is not None else None
        label = spec.value_labels.get(value) if spec is not None and isinstance(value, str) else None
        return f" ({label.zh or label.en})" if label is not None else ""

    def _why_no_match(self, match: EventMatch, event: Event) -> tuple[str, str]:
        """Why the match block refuses an event (a diagnostic: the matcher decided)."""
        if event.kind not in match.kinds:
            return "unmatched", f"a {self._kind_label(event.kind)} event, not {' or '.join(match.kinds)}"
        for name, condition in match.where.items():
            value = event.field(name)
            if not condition_holds(value, condition):
                labelled = self._value_label(event.kind, name, value)
                return "where", f"{name} is {_show(value)}{labelled}, expected {_condition_text(condition)}"
        clock = match.time_of_day
        if clock is not None:
            now = local(event.time, self.tz).format("HH:mm")
            if not (clock.from_ <= now < clock.to if clock.from_ < clock.to else (now >= clock.from_ or now < clock.to)):
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
        """Why ``counts_for`` refuses a matching event for this target (a diagnostic)."""
        subject, org, credited = target.subject, self.plan.organisation, event.credited
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
            held = []
            for person in credited:
                posts = sorted(f"{role} at {unit}" for (holder, role, unit), intervals in org.holdings.items()
                               if holder == person and any(event.time in i for i in intervals))
                held.append(f"{person} held {', '.join(posts) or 'no role'}")
            place = f"at {target.unit}, above or below it" if target.unit is not None else "anywhere"
            wanted = " or ".join(self._role_label(r) for r in obligation.by.roles)
            return "by_role", (f"done by {', '.join(credited) or 'no one'}, but only {wanted} {place} count; at that time "
                               + ("; ".join(held) or "no one was credited"))
        return "not_for_target", f"does not count for {subject.id}"

    # ---------------------------------------------------------------------------- helpers

    def _matches(self, match: EventMatch) -> Callable[[Event], bool]:
        key = match.model_dump_json()
        if key not in self._matchers:
            self._matchers[key] = self.plan.matcher(match)
        return self._matchers[key]

    def _when(self, instant: dt.datetime) -> str:
        return local(instant, self.tz).format("YYYY-MM-DD HH:mm")

    def _span(self, interval: Interval) -> str:
        return f"{self._when(interval.start)} to {self._when(interval.end)}"

    def _entry(self, finding: Finding, **fields: Any) -> ExplainedFinding:
        return ExplainedFinding(finding=finding, period_start=self._when(finding.period.start), period_end=self._when(finding.period.end),
                                **fields)

    def _between(self, start: dt.datetime, end: dt.datetime, *, inclusive: bool = False) -> list[Event]:
        """Every event (known or not) in ``[start, end)``, or ``[start, end]`` when inclusive."""
        lo = bisect.bisect_left(self._times, start.timestamp())
        return self.events[lo:(bisect.bisect_right if inclusive else bisect.bisect_left)(self._times, end.timestamp())]

    def _considered(self, event: Event, counted: bool, check: str, reason: str) -> ConsideredEvent:
        return ConsideredEvent(
            id=event.id, kind=event.kind, time=event.time, local_time=self._when(event.time), actor=event.actor,
            participants=event.participants, on_behalf_of=event.on_behalf_of, unit=event.unit, subject=event.subject,
            counted=counted, check=check, reason=("counted" if counted else "not counted") + (f" — {reason}" if reason else ""),
        )

    def _exemptions(self, spans: Iterable[ExcusedSpan], used: tuple[str, ...], finding: Finding) -> tuple[ExemptionNote, ...]:
        registry = {e.id for e in self.plan.registry.exemptions}
        unused = "not needed" if finding.status == "met" else "not used"
        out = []
        for span in spans:
            source = "calendar" if span.who == "calendar" else "registry" if span.record in registry else "event"
            applied = span.record in used
            text = f"{span.record} ({span.reason}; {source}) for {span.who} {span.id}, {self._span(span.span)}: " + ("applied" if applied else unused)
            out.append(ExemptionNote(record=span.record, source=source, who=span.who, id=span.id, start=self._when(span.span.start),
                                     end=self._when(span.span.end), reason=span.reason, applied=applied, text=text))
        return tuple(out)

    def _assumed(self, obligation: FrequencyObligation | CadenceObligation, raised: Any) -> list[str]:
        notes = [f"the number is the ruleset's choice: {obligation.note or 'not given by the source'}"] if obligation.assumed else []
        if raised is not None and raised.assumed:
            notes.append(f"the raised requirement is the ruleset's choice: {raised.note or 'not given by the source'}")
        return notes

    def _counts_text(self, match: EventMatch, obligation: Any, target: Target | None) -> str:
        parts = [" or ".join(f"{self._kind_label(k)} ({k})" for k in match.kinds) + " events"]
        if match.where:
            parts.append("where " + " and ".join(f"{n} {_condition_text(c)}" for n, c in match.where.items()))
        if match.time_of_day is not None:
            parts.append(f"between {match.time_of_day.from_} and {match.time_of_day.to} local time")
        if match.in_calendar is not None:
            parts.append(f"inside the {self._calendar_label(match.in_calendar)} windows")
        if match.quorum is not None:
            parts.append(f"with at least {match.quorum.at_least} of {len(set(match.quorum.members))} listed members in {match.quorum.attribute}")
        if target is not None:
            if target.subject.kind == "person":
                parts.append(f"credited to {target.subject.id} (actor, participant or on_behalf_of) at {target.unit} or a unit below it")
            elif target.subject.kind == "unit":
                parts.append(f"at {target.unit} or a unit below it")
            else:
                parts.append(f"about {target.subject.id}")
        if getattr(obligation, "by", None) is not None:
            parts.append("done by " + " or ".join(self._role_label(r) for r in obligation.by.roles) + " of that unit, above or below it")
        if getattr(obligation, "distinct_within", None) is not None:
            parts.append(f"events less than {format_duration(obligation.distinct_within)} after a counted one count once")
        return ", ".join(parts)

    def _kind_label(self, kind: str) -> str:
        spec = self.plan.ruleset.event_kinds.get(kind)
        return spec.label.en if spec is not None else kind

    def _calendar_label(self, name: str) -> str:
        calendar = self.plan.ruleset.calendars.get(name)
        return f"{calendar.label.en} ({name})" if calendar is not None else name

    def _role_label(self, role: str) -> str:
        spec = self.plan.ruleset.roles.get(role)
        return f"{spec.label.en} ({role})" if spec is not None else role


# --------------------------------------------------------------------------------------------
# Small pieces


def _near(target: Target, event: Event) -> bool:
    """Is the event about this target at least in part (worth listing)?"""
    subject = target.subject
    if subject.kind == "person":
        return subject.id in event.credited or (event.unit is not None and event.unit in target.units)
    if subject.kind == "unit":
        return event.unit in target.units
    return event.subject == subject.id or (event.unit is not None and event.unit == target.unit)


def _subject_matches(finding: Finding, subject: str) -> bool:
    if finding.subject.id == subject:
        return True
    if finding.subject.kind == "case":  # "info_id=INFO-0812" also answers to "INFO-0812"
        return subject == ", ".join(part.split("=", 1)[-1] for part in finding.subject.id.split(", "))
    return False


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _day_in(day: dt.date, finding: Finding, tz: str) -> bool:
    """Does the local day overlap the finding's period (or hold it, for an instant)?"""
    start, end, period = day_start(day, tz), day_start(day + dt.timedelta(days=1), tz), finding.period
    if period.start >= period.end:
        return start <= period.start < end
    return period.start < end and period.end > start


def _choices(values: list[str], limit: int = 10) -> str:
    return ", ".join(values[:limit]) + (f" (and {len(values) - limit} more)" if len(values) > limit else "")


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
        ops = [f"{label} {_show(bound)}" for label, bound in (("=", condition.eq), ("≠", condition.ne), (">", condition.gt),
               (">=", condition.gte), ("<", condition.lt), ("<=", condition.lte)) if bound is not None]
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
        return "1 day" if round(days) == 1 else f"{round(days)} days"
    return f"{seconds / 3600:.1f} h" if days < 1 else f"{days:.1f} days"


def _requirement_text(unit: str | FixedPeriod, at_least: int, at_most: int | None, what: str) -> str:
    text = f"at least {at_least} {what}" if at_least else "no minimum"
    if at_most is not None:
        text += f", at most {at_most}"
    return f"{text} per {f'{format_duration(unit.every)} period' if isinstance(unit, FixedPeriod) else unit}"


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
    head = f"{explanation.obligation} — {explanation.title.en} ({explanation.cited})"
    intro = (f"audit {explanation.first_day} to {explanation.last_day}, as of "
             f"{local(explanation.as_of, explanation.timezone).format('YYYY-MM-DD HH:mm')} ({explanation.timezone})")
    if len(explanation.entries) > 1:
        intro += f"; {len(explanation.entries)} findings match {explanation.subject!r} in {explanation.period!r}"
    blocks = []
    for entry in explanation.entries:
        f = entry.finding
        lines = [head, _subject_line(f)]
        span = f"{entry.period_start} to {entry.period_end}"
        lines.append(f"period {span if f.period.label == span else f'{f.period.label}: {span}'} ({explanation.timezone})")
        if f.window:
            lines.append(f"window: {f.window}")
        lines.append(f"requirement: {entry.requirement}")
        if entry.counts:
            lines.append(f"counts: {entry.counts}")
        verdict = f"verdict: {f.status} — {f.observed if f.observed != '-' else f.required}"
        if f.status in ("late", "missed") and f.delay_seconds:
            verdict += f" (delay {describe(dt.timedelta(seconds=f.delay_seconds))})"
        lines.append(verdict)
        lines += [f"note: {note}" for note in ((f.note,) if f.note else ()) + entry.notes]
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
