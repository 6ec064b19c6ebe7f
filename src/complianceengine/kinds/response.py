"""``response``: each trigger is followed by ordered steps, each within its deadline.

Nothing to plan: cases come from events. Judged: every trigger known at the as-of time opens a
case, keyed by its ``correlate_on`` values; each step's answer is the earliest event of the step
with the same key at or after the step's clock start (the trigger, or the previous step's
answer). A step is decided by its answer when it came in time, else at its deadline; the audit
reports the steps decided in its range, so a case opened before the range whose deadline falls
in it is judged there. The answers of one step are one question to the backend for every case
(:func:`cases`, ``EventSource.first_answers``), which DuckDB answers with an as-of join.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from ..findings import Finding, SubjectRef
from ..model import Duration, Event, EventMatch, Identifier, Label, ObligationBase, Ruleset, Strict
from ..timeframes import EXACT_SECONDS, Period, local, shift
from ..words import delay_text, duration_text, in_lang
from ..trace import CaseStep, Decision
from .base import Ask, EventSource, ObligationKind, say, shifted_instants, when
from ..checks import check_match, has_field, path_text

if TYPE_CHECKING:
    from ..trace import Tracer
    from ..events import Timeline
    from ..plan import ObligationPlan, Plan


class ResponseStep(Strict):
    id: Identifier
    title: Label | None = None
    match: EventMatch
    within: Duration
    counted_from: Literal["trigger", "previous"] = Field(
        "trigger", description="Deadline counted from the trigger or from the previous step's event"
    )


class ResponseObligation(ObligationBase):
    kind: Literal["response"]
    trigger: EventMatch
    correlate_on: list[str] = Field(min_length=1)
    steps: list[ResponseStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _steps(self) -> ResponseObligation:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"step ids must be unique, got {ids}")
        if self.steps[0].counted_from == "previous":
            raise ValueError("the first step has no previous step; use counted_from: trigger")
        return self


@dataclass(frozen=True, slots=True)
class Answered:
    """A verdict on one step of a case, as data: what :class:`Wording` turns into sentences."""

    step: int
    #: not_started (the previous step has no answer), answered (in time or late), missed, open
    outcome: Literal["not_started", "answered", "missed", "open"]
    base: dt.datetime | None = None
    due: dt.datetime | None = None
    answered: dt.datetime | None = None


class Wording:
    """The sentences of one response obligation's findings, rendered from :class:`Answered`: the
    one place their words are chosen."""

    def __init__(self, plan: Plan, compiled: ObligationPlan):
        obligation = compiled.obligation
        assert isinstance(obligation, ResponseObligation)
        self.plan, self.steps = plan, obligation.steps
        self.titles = [in_lang(step.title, plan.lang, step.id) for step in obligation.steps]
        self.words = say(plan, _WORDS)

    def __call__(self, facts: Answered) -> tuple[str, str]:
        """(required, observed)."""
        plan, step, title, w, lang = self.plan, self.steps[facts.step], self.titles[facts.step], self.words, self.plan.lang
        within = duration_text(step.within, lang)
        if facts.outcome == "not_started":
            return w["not_started"].format(title=title, within=within), w["not_started_seen"]
        assert facts.base is not None and facts.due is not None
        since = w["since_trigger"] if step.counted_from == "trigger" else w["since_previous"]
        required = w["required"].format(title=title, within=within, since=since, base=when(facts.base, plan), due=when(facts.due, plan))
        if facts.outcome == "answered":
            assert facts.answered is not None
            late = facts.answered > facts.due
            return required, w["answered"].format(title=title, at=when(facts.answered, plan)) + (
                w["late"].format(delay=delay_text(facts.answered - facts.due, lang)) if late else "")
        if facts.outcome == "missed":
            return required, w["missed"].format(title=title, at=when(plan.as_of, plan), delay=delay_text(plan.as_of - facts.due, lang))
        return required, w["open"].format(title=title)


_WORDS = {
    "en": {
        "not_started": "{title} within {within} of the previous step",
        "not_started_seen": "the previous step has no event, so this deadline has not started",
        "since_trigger": "the trigger", "since_previous": "the previous step",
        "required": "{title} within {within} of {since} ({base}), by {due}", "answered": "{title} at {at}", "late": ", {delay} late",
        "missed": "no '{title}' event by {at} ({delay} overdue)", "open": "no '{title}' event yet",
    },
    "zh": {
        "not_started": "上一步骤后{within}内{title}", "not_started_seen": "上一步骤尚无事件，本时限尚未开始计算",
        "since_trigger": "触发事件", "since_previous": "上一步骤",
        "required": "{since}（{base}）后{within}内{title}，截止{due}", "answered": "{at}{title}", "late": "，迟了{delay}",
        "missed": "截至{at}无“{title}”事件（已逾期{delay}）", "open": "尚无“{title}”事件",
    },
}


@dataclass(frozen=True, slots=True)
class Case:
    """One trigger's case, as the backend's answers left it: per step whether its clock started
    (a step counted from the previous one starts only when that one has an answer), when it
    started, and its answer (``None``: none)."""

    trigger: Event
    key: tuple[Any, ...]
    started: tuple[bool, ...]
    bases: tuple[dt.datetime, ...]
    answers: tuple[Event | None, ...]


def cases(plan: Plan, obligation: ResponseObligation, source: EventSource) -> list[Case]:
    """The cases of the triggers known by the end of the range, in time order, each step's
    answers asked of ``source`` for every case at once (one question a step): the earliest event
    of the step with the case's key at or after the step's clock start, other than the trigger."""
    triggers = [e for e in source.matching(plan, obligation.trigger) if e.time <= plan.range.end]
    keys = [tuple(trigger.field(name) for name in obligation.correlate_on) for trigger in triggers]
    started: list[list[bool]] = [[] for _ in triggers]
    bases: list[list[dt.datetime]] = [[] for _ in triggers]
    answers: list[list[Event | None]] = [[] for _ in triggers]
    previous: list[Event | None] = [None] * len(triggers)  # the previous step's answer
    for step in obligation.steps:
        asks, asking = [], []
        for c, trigger in enumerate(triggers):
            before = previous[c]
            on = step.counted_from == "trigger" or before is not None
            base = before.time if step.counted_from == "previous" and before is not None else trigger.time
            started[c].append(on)
            bases[c].append(base)
            answers[c].append(None)
            if on and None not in keys[c]:  # a key with a missing value is no case's key
                asks.append(Ask(keys[c], base, trigger.id))
                asking.append(c)
        for c, answer in zip(asking, source.first_answers(plan, step.match, obligation.correlate_on, asks) if asks else (), strict=True):
            answers[c][-1] = answer
        previous = [found[-1] for found in answers]
    return [Case(trigger, key, tuple(on), tuple(base), tuple(found))
            for trigger, key, on, base, found in zip(triggers, keys, started, bases, answers, strict=True)]


def step_bases(found: list[Case], steps: int) -> list[list[float]]:
    """For each step, the instants (POSIX seconds, sorted, each once) its clocks start at in the
    cases ``found``: what a step's deadlines are asked from
    (:meth:`~complianceengine.kinds.EventSource.shifted`). Beyond the year 2242, where a timestamp
    no longer names one microsecond, the judge works a deadline out from its instant."""
    return [sorted({t for case in found if case.started[i] and abs(t := case.bases[i].timestamp()) < EXACT_SECONDS}) for i in range(steps)]


def judge(plan: Plan, compiled: ObligationPlan, source: EventSource) -> list[Finding]:
    obligation = compiled.obligation
    assert isinstance(obligation, ResponseObligation)
    out = []
    words = Wording(plan, compiled)
    tracer = source.tracer
    # what explaining shows: each step's matching events grouped by correlation key, the triggers too
    answers = [source.correlated(plan, step.match, obligation.correlate_on) for step in obligation.steps] if tracer is not None else []
    triggers = source.correlated(plan, obligation.trigger, obligation.correlate_on) if tracer is not None else {}
    found = cases(plan, obligation, source)
    # each step's deadlines, asked of the backend for every case at once
    shifting = getattr(source, "shifted", None)  # (a source written before it had this question: worked out here)
    dues = [dict(zip(bases, shifted_instants(plan, step.within, bases) if shifting is None else shifting(plan, step.within, bases),
                     strict=True))
            for step, bases in zip(obligation.steps, step_bases(found, len(obligation.steps)), strict=True)]
    for case in found:
        trigger, key = case.trigger, case.key
        subject = SubjectRef(kind="case", id=", ".join(f"{name}={value}" for name, value in zip(obligation.correlate_on, key)))
        decided = trigger.time
        for index, step in enumerate(obligation.steps):
            if not case.started[index]:
                period = Period(label=f"{step.id} after the previous step", start=trigger.time, end=trigger.time)
                required, observed = words(Answered(index, "not_started"))
                finding = compiled.finding(subject, trigger.unit, period, "not_applicable", required, observed, anchor=trigger.id,
                                           step=step.id, evidence=(trigger.id,), decided=decided)
                if tracer is not None:
                    _trace(tracer, finding, CaseStep(trigger, key, step.id, False, trigger.time, None, None), obligation, answers, index,
                           triggers)
                out.append(finding)
                continue
            base, answer = case.bases[index], case.answers[index]
            due = dues[index].get(base.timestamp()) or shift(local(base, plan.tz), step.within)
            period = Period(label=f"{when(base, plan)} to {when(due, plan)}", start=base, end=due)
            decided = due
            if answer is not None:
                late = answer.time > due
                decided = due if late else answer.time
                required, observed = words(Answered(index, "answered", base, due, answer.time))
                finding = compiled.finding(subject, trigger.unit, period, "late" if late else "met", required, observed, anchor=trigger.id,
                    step=step.id, evidence=(trigger.id, answer.id), due=due,
                    delay_seconds=int((answer.time - due).total_seconds()) if late else None, decided=decided,
                )
            elif due <= plan.as_of:
                required, observed = words(Answered(index, "missed", base, due))
                finding = compiled.finding(subject, trigger.unit, period, "missed", required, observed, anchor=trigger.id, step=step.id,
                    evidence=(trigger.id,), due=due, delay_seconds=int((plan.as_of - due).total_seconds()), decided=decided,
                )
            else:
                required, observed = words(Answered(index, "open", base, due))
                finding = compiled.finding(subject, trigger.unit, period, "open", required, observed, anchor=trigger.id, step=step.id,
                                           evidence=(trigger.id,), due=due, decided=decided)
            if tracer is not None:
                _trace(tracer, finding, CaseStep(trigger, key, step.id, True, base, due, answer), obligation, answers, index, triggers)
            out.append(finding)
    return out


def _trace(
    tracer: Tracer, finding: Finding, case: CaseStep, obligation: ResponseObligation, answers: list[Mapping[tuple[Any, ...], Timeline]],
    index: int, triggers: Mapping[tuple[Any, ...], Timeline],
) -> None:
    """Record the case step and every event with the case's key the step's match, another
    step's or the trigger's accepts: the trigger, the answer, events before the clock started
    or after the answer, events of other steps, other triggers."""
    trigger, decisions = case.trigger, [Decision(case.trigger, "trigger", True)]
    seen = {trigger.id}

    def add(decision: Decision) -> None:
        if decision.event.id not in seen:
            seen.add(decision.event.id)
            decisions.append(decision)

    same_case = answers[index].get(case.key) if None not in case.key else None
    for event in same_case or ():
        if not case.started:
            add(Decision(event, "no_clock"))
        elif event.time < case.base:
            add(Decision(event, "before_clock"))
        elif case.answer is not None and event.id == case.answer.id:
            add(Decision(event, "counted", True))
        else:
            add(Decision(event, "later_answer", related=case.answer))
    for event in triggers.get(case.key, ()) if None not in case.key else ():
        add(Decision(event, "other_case"))
    for step, answering in zip(obligation.steps, answers):
        for event in answering.get(case.key, ()) if None not in case.key else ():
            add(Decision(event, "other_step", step=step.id))
    tracer.record(finding, case, sorted(decisions, key=lambda d: (d.event.time, d.event.id)))


def check(obligation: ResponseObligation, ruleset: Ruleset) -> list[tuple[tuple[Any, ...], str]]:
    """The trigger's and every step's match, and the correlation fields every matched kind must have."""

    matches = [(obligation.trigger, ("trigger",)), *((step.match, ("steps", i, "match")) for i, step in enumerate(obligation.steps))]
    problems = [problem for match, where in matches for problem in check_match(ruleset, match, where)]
    for j, field in enumerate(obligation.correlate_on):
        for match, where in matches:
            for kind_name in match.kinds:
                if kind_name in ruleset.event_kinds and not has_field(ruleset, kind_name, field):
                    problems.append(
                        (("correlate_on", j), f"event kind {kind_name!r} (used in this obligation's {path_text(where)}) has no field {field!r} to correlate on")
                    )
    return problems


KIND: ObligationKind = ObligationKind(model=ResponseObligation, judge=judge, check=check)
