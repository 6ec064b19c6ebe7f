"""What the judges decided and why, recorded finding by finding (for ``explain``).

In the spirit of OPA's ``topdown.QueryTracer``: the evaluation itself reports its steps to a
:class:`Tracer` when one is given (``EventSource.tracer``; ``None`` in an audit, where the kinds
skip every tracing call behind ``if tracer is not None``). For each finding a kind records
:meth:`Tracer.record` once, right after building it: the *step* the finding came from (a
frequency frame, a cadence gap, a response case step, a staffing post, a completeness record,
an obligation not judged) with the facts the verdict used (requirement in force, coverage,
exemptions considered and used, the requirement left after them, the deadline), and a
:class:`Decision` for each event the kind looked at for it, with a check code of :data:`CHECKS`.

A trace never changes a verdict: the kinds build the same findings with or without a tracer
(a test compares them on every bundled sample). Plugin kinds may ignore the tracer; ``explain``
then says that the plugin's evaluator decides.

This module has no runtime dependencies on the rest of the package, so the kinds can import it
without an import cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .exemptions import ExcusedSpan
    from .findings import Finding
    from .model import Event
    from .plan import Frame, Shortfall, Target
    from .timeframes import Interval

__all__ = [
    "CHECKS", "CaseStep", "Decision", "FieldsStep", "FrameStep", "GapStep", "NotJudged", "PostStep", "Record", "Recorder", "Step", "Tracer",
]

#: the codes of :attr:`Decision.check` (and of ``explain``'s diagnostics for events the kinds never
#: looked at: the index only hands a target the events that can concern it)
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
    "not_for_target",  # `counts_for` refused it and no single condition explains why
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


@dataclass(frozen=True, slots=True)
class Decision:
    """What became of one event the kind looked at for a finding."""

    event: Event
    check: str  # one of CHECKS
    counted: bool = False
    #: distinct_within: the counted event it is too close to; later_answer: the answer
    related: Event | None = None
    #: other_step: the step whose event it is
    step: str | None = None


@dataclass(frozen=True, slots=True)
class FrameStep:
    """A frequency finding: one frame of the plan, and what the judge made of it."""

    target: Target
    frame: Frame
    rule: str  # partial_periods
    exemptions: tuple[ExcusedSpan, ...]  # those of the target that touch the period
    used: tuple[str, ...]  # the records that lowered the bar
    left: float  # seconds of the frame's coverage left after the exemptions used
    required: int | None  # the number required at the end (None: not judged or excused)


@dataclass(frozen=True, slots=True)
class GapStep:
    """A cadence finding: one gap of one stretch of time in force."""

    target: Target
    span: Interval  # the stretch of the duty's time in force the gap lies in
    anchor: dt.datetime
    opened_by: Event | None  # the counted event the gap starts at (None: the start of the span)
    closed_by: Event | None  # None: the gap after the last counted event
    due: dt.datetime
    window: str | None  # the calendar whose shorter gap set the deadline
    exemptions: tuple[ExcusedSpan, ...]
    used: tuple[str, ...]  # the records that restarted the clock


@dataclass(frozen=True, slots=True)
class CaseStep:
    """A response finding: one step of one case."""

    trigger: Event
    key: tuple[Any, ...]  # the correlate_on values
    step: str
    started: bool  # False: counted from a previous step that has no answer
    base: dt.datetime  # when the clock started
    due: dt.datetime | None
    answer: Event | None


@dataclass(frozen=True, slots=True)
class PostStep:
    """A staffing finding: one role at one unit, and the shortfall (None: none in the range)."""

    target: Target
    role: str
    needed: int
    shortfall: Shortfall | None


@dataclass(frozen=True, slots=True)
class FieldsStep:
    """A completeness finding: the record's listed fields and the one missing (None: complete)."""

    target: Target
    values: tuple[tuple[str, Any], ...]
    missing: str | None


@dataclass(frozen=True, slots=True)
class NotJudged:
    """An obligation that could not be judged (a provider plugin is missing)."""

    target: Target
    reason: str


Step = FrameStep | GapStep | CaseStep | PostStep | FieldsStep | NotJudged


@dataclass(frozen=True, slots=True)
class Record:
    """Everything recorded for one finding."""

    finding: Finding
    step: Step
    decisions: tuple[Decision, ...]


class Tracer(Protocol):
    """Receives what the kinds decide (see the module's doc)."""

    def record(self, finding: Finding, step: Step, decisions: Sequence[Decision] = ()) -> None: ...


class Recorder:
    """A tracer that keeps every record, by finding id."""

    def __init__(self) -> None:
        self.records: dict[str, list[Record]] = {}

    def record(self, finding: Finding, step: Step, decisions: Sequence[Decision] = ()) -> None:
        self.records.setdefault(finding.id, []).append(Record(finding, step, tuple(decisions)))

    def of(self, finding: Finding, findings: Sequence[Finding] = ()) -> Record | None:
        """The record of ``finding`` (one of ``findings``, the audit's findings in order). Ids are
        stable, so a finding a plugin post-processed still has its record. Two gaps closed by
        events at the same instant share an id: the finding equal to the recorded one, else the
        same position among the findings with that id, tells them apart."""
        records = self.records.get(finding.id, [])
        if len(records) <= 1:
            return records[0] if records else None
        same = next((r for r in records if r.finding == finding), None)
        if same is not None:
            return same
        twins = [f for f in findings if f.id == finding.id]
        position = next((i for i, f in enumerate(twins) if f is finding), 0)
        return records[min(position, len(records) - 1)]
