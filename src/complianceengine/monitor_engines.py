"""The live monitor's matching engines: which events each match block of a ruleset accepts, and
how a response's events group by case, kept up to date as events arrive.

A ruleset's obligations hold *match blocks* (a frequency or cadence duty's ``match``, a
response's ``trigger`` and each step's ``match``). An engine is told of each new valid event once
(:meth:`MatchingEngine.add`) and files it into the blocks that accept it, keeping per block the
events in time order by credited person, by unit, by subject and, for response blocks, by
correlation key. What the engine decides is the part of a block that does not depend on an audit
(event kinds, ``where`` conditions, time of day, quorum); calendar windows (``in_calendar``)
depend on the audit's range and are applied when asked.

:class:`EngineSource` answers the kinds' questions (:class:`~complianceengine.kinds.EventSource`)
for one plan from what the engine has filed, so a status judges frames without matching or
indexing any event again: judging stays the shared code of :mod:`complianceengine.kinds`, and the
findings are the reference backend's (tested on random histories in random orders).

Two engines: :class:`PythonEngine` (the default: :mod:`complianceengine.match`'s predicates) and
``DurableEngine`` (:mod:`complianceengine.durable_engine`, the ``complianceengine[durable]``
extra: durable-rules evaluates the conditions and joins each answer to a trigger of its case).
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pendulum

from .events import Timeline
from .exemptions import Exemptions, exemption_spans
from .kinds import Ask, answers_in, counter, shifted_instants
from .match import matcher
from .kinds.cadence import CadenceObligation, plain_deadlines
from .kinds.frequency import FrequencyObligation
from .kinds.response import ResponseObligation
from .model import Event, EventMatch, PerAssignee, PerUnit, Ruleset
from .plan import ObligationPlan, Plan, Target
from .trace import Tracer

__all__ = ["Block", "EngineSource", "Filed", "MatchingEngine", "PythonEngine", "blocks_of", "predicates_by_kind"]


@dataclass(frozen=True)
class Block:
    """One match block of a ruleset: ``role`` says whose (an obligation's ``match``, a response's
    ``trigger``, or its step ``step``); response blocks have the ``correlate_on`` fields."""

    index: int
    obligation: str
    role: Literal["match", "trigger", "step"]
    match: EventMatch
    step: int | None = None
    correlate_on: tuple[str, ...] = ()
    #: how the kinds look the block's events up: by credited person, unit or subject (what its
    #: obligation's targets are), or only all of them and by case (a response's)
    lookup: Literal["person", "unit", "subject", "all"] = "all"

    @property
    def independent(self) -> EventMatch:
        """The block without its calendar condition: what an engine decides once per event."""
        return self.match.model_copy(update={"in_calendar": None}) if self.match.in_calendar is not None else self.match


def blocks_of(ruleset: Ruleset) -> list[Block]:
    """Every match block of the built-in kinds' obligations, in order (a plugin kind's blocks are
    not known to the engines: its questions are answered from all events)."""
    out: list[Block] = []
    for obligation in ruleset.obligations:
        if isinstance(obligation, (FrequencyObligation, CadenceObligation)):
            applies = obligation.applies_to
            lookup: Literal["person", "unit", "subject"] = (
                "person" if isinstance(applies, PerAssignee) else "unit" if isinstance(applies, PerUnit) else "subject")
            out.append(Block(len(out), obligation.id, "match", obligation.match, lookup=lookup))
        elif isinstance(obligation, ResponseObligation):
            key = tuple(obligation.correlate_on)
            out.append(Block(len(out), obligation.id, "trigger", obligation.trigger, correlate_on=key))
            out += [Block(len(out) + i, obligation.id, "step", step.match, i, key) for i, step in enumerate(obligation.steps)]
    return out


def predicates_by_kind(blocks: Sequence[Block], tz: str) -> dict[str, list[tuple[int, Callable[[Event], bool]]]]:
    """Event kind -> (block index, the block's predicate without calendar windows) for every
    block that matches events of that kind."""
    out: dict[str, list[tuple[int, Callable[[Event], bool]]]] = {}
    for block in blocks:
        accepts = matcher(block.independent, tz)
        for kind in dict.fromkeys(block.match.kinds):
            out.setdefault(kind, []).append((block.index, accepts))
    return out


class _Line:
    """Events in time order (then by id), with their timestamps: appended in the common case,
    inserted in place when an event arrives late. (Two flat lists, no tuple per entry: a
    monitor holds millions of entries, and tuples are what the garbage collector walks.)"""

    __slots__ = ("events", "times")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.events: list[Event] = []

    def add(self, stamp: float, event: Event) -> None:
        times, events = self.times, self.events
        if not times or stamp > times[-1] or (stamp == times[-1] and event.id > events[-1].id):
            times.append(stamp)
            events.append(event)
            return
        at = bisect.bisect_right(times, stamp)
        while at > 0 and times[at - 1] == stamp and events[at - 1].id > event.id:
            at -= 1
        times.insert(at, stamp)
        events.insert(at, event)

    def before(self, stamp: float) -> tuple[list[Event], list[float]]:
        """The events strictly before ``stamp`` and their timestamps."""
        cut = bisect.bisect_left(self.times, stamp)
        return self.events[:cut], self.times[:cut]


@dataclass
class _Filed:
    """What one block has accepted, looked up the ways the kinds ask."""

    all: _Line = field(default_factory=_Line)
    by_person: dict[str, _Line] = field(default_factory=dict)
    by_unit: dict[str | None, _Line] = field(default_factory=dict)
    by_subject: dict[str, _Line] = field(default_factory=dict)
    by_key: dict[tuple[Any, ...], _Line] = field(default_factory=dict)


class Filed:
    """The events each block accepted, filed by an engine. ``accept`` files an event into a
    block's lines (all, by person, unit and subject); ``answer`` into a response block's case
    (by correlation key). An engine that joins answers to triggers itself (durable-rules) files
    only the answers that follow a trigger of their case, the only ones a verdict can use."""

    def __init__(self, blocks: Sequence[Block]):
        self.blocks = list(blocks)
        self.filed = [_Filed() for _ in self.blocks]
        #: every event told to the engine, in time order
        self.events = _Line()

    def accept(self, block: int, stamp: float, event: Event, *, keyed: bool = True) -> None:
        filed, lookup = self.filed[block], self.blocks[block].lookup
        filed.all.add(stamp, event)
        if lookup == "person":
            for person in event.credited:
                _line(filed.by_person, person).add(stamp, event)
        elif lookup == "unit":
            _line(filed.by_unit, event.unit).add(stamp, event)
        elif lookup == "subject":
            if event.subject is not None:
                _line(filed.by_subject, event.subject).add(stamp, event)
        correlate_on = self.blocks[block].correlate_on
        if keyed and correlate_on:
            self.answer(block, tuple(event.field(name) for name in correlate_on), stamp, event)

    def answer(self, block: int, key: tuple[Any, ...], stamp: float, event: Event) -> None:
        _line(self.filed[block].by_key, key).add(stamp, event)


def _line(lines: dict[Any, _Line], key: Any) -> _Line:
    line = lines.get(key)
    if line is None:
        line = lines[key] = _Line()
    return line


class MatchingEngine(Protocol):
    """What the monitor asks of an engine: be told of each new valid event once (any order),
    keep :attr:`filed` up to date, and release what it holds when closed."""

    name: str
    filed: Filed

    def add(self, event: Event) -> None: ...

    def close(self) -> None: ...


class PythonEngine:
    """The default engine: each new event is tried against the blocks of its kind with the
    predicates of :mod:`complianceengine.match` (without calendar windows) and filed."""

    name = "python"

    def __init__(self, ruleset: Ruleset):
        self.filed = Filed(blocks_of(ruleset))
        self._by_kind = predicates_by_kind(self.filed.blocks, ruleset.timezone)

    def add(self, event: Event) -> None:
        stamp = event.time.timestamp()
        self.filed.events.add(stamp, event)
        for index, accepts in self._by_kind.get(event.kind, ()):
            if accepts(event):
                self.filed.accept(index, stamp, event)

    def close(self) -> None:
        """Nothing to release."""


class EngineSource:
    """The kinds' questions for one plan (:class:`~complianceengine.kinds.EventSource`), answered
    from what an engine has filed: events at or after the plan's as-of time are left out, a
    block's calendar condition is applied with the plan's windows, and a block the engine does
    not know (a plugin kind's) is matched against every known event, as the reference does."""

    def __init__(self, filed: Filed, plan: Plan, tracer: Tracer | None = None):
        self.tracer = tracer
        self.warnings: list[str] = []
        self.filed = filed
        self._as_of = plan.as_of.timestamp()
        known, _ = filed.events.before(self._as_of)
        self.known: Sequence[Event] = known
        excusing = {name for name, kind in plan.ruleset.event_kinds.items() if kind.excuses is not None}
        self.exemptions: Exemptions = exemption_spans(plan, (e for e in known if e.kind in excusing), registry=False)
        self._blocks: dict[int, tuple[EventMatch, Block | None]] = {}

    def _block(self, match: EventMatch, correlate_on: Sequence[str] = ()) -> Block | None:
        """The engine's block for ``match`` (the same block, or an equal one), None if unknown."""
        seen = self._blocks.get(id(match))
        if seen is None or seen[0] is not match:  # keyed by identity; the match is kept alive with it
            found = next((b for b in self.filed.blocks if b.match is match), None) or next(
                (b for b in self.filed.blocks if b.match == match), None)
            seen = self._blocks[id(match)] = (match, found)
        block = seen[1]
        if block is not None and correlate_on and tuple(correlate_on) != block.correlate_on:
            return None
        return block

    def _timeline(self, plan: Plan, match: EventMatch, lines: Iterable[_Line]) -> Timeline:
        """The events of ``lines`` before the as-of time (merged in order) that fall in the
        block's calendar windows."""
        parts = [line.before(self._as_of) for line in lines]
        if len(parts) == 1:
            events, times = parts[0]
        else:
            merged = list(heapq.merge(*(zip(t, (e.id for e in ev), ev) for ev, t in parts), key=lambda x: (x[0], x[1])))
            events, times = [e for _, _, e in merged], [t for t, _, _ in merged]
        if match.in_calendar is not None:
            inside = plan.matcher(EventMatch(kind=match.kinds, in_calendar=match.in_calendar))
            kept = [i for i, e in enumerate(events) if inside(e)]
            events, times = [events[i] for i in kept], [times[i] for i in kept]
        return Timeline(events, times)

    def matching(self, plan: Plan, match: EventMatch) -> list[Event]:
        block = self._block(match)
        if block is None:
            accepts = plan.matcher(match)
            return [e for e in self.known if accepts(e)]
        return list(self._timeline(plan, match, [self.filed.filed[block.index].all]).events)

    def counting(self, plan: Plan, obligation: ObligationPlan, target: Target) -> Timeline:
        counted = obligation.obligation
        assert isinstance(counted, (FrequencyObligation, CadenceObligation))
        block = self._block(counted.match)
        subject = target.subject
        if block is None or block.lookup != subject.kind:
            pool = Timeline(self.matching(plan, counted.match))
        else:
            filed = self.filed.filed[block.index]
            if subject.kind == "person":
                lines = [filed.by_person[subject.id]] if subject.id in filed.by_person else []
            elif subject.kind == "unit":
                lines = [filed.by_unit[u] for u in sorted(target.units) if u in filed.by_unit]
            else:
                lines = [filed.by_subject[subject.id]] if subject.id in filed.by_subject else []
            pool = self._timeline(plan, counted.match, lines)
        keep = counter(plan, counted, target)
        kept = [i for i, e in enumerate(pool.events) if keep(e)]
        return Timeline([pool.events[i] for i in kept], [pool.times[i] for i in kept])

    def correlated(self, plan: Plan, match: EventMatch, correlate_on: Sequence[str]) -> Mapping[tuple[Any, ...], Timeline]:
        block = self._block(match, correlate_on)
        if block is None:
            groups: dict[tuple[Any, ...], list[Event]] = {}
            for event in self.matching(plan, match):
                groups.setdefault(tuple(event.field(name) for name in correlate_on), []).append(event)
            return {key: Timeline(events) for key, events in groups.items()}
        out = {}
        for key, line in self.filed.filed[block.index].by_key.items():
            timeline = self._timeline(plan, match, [line])
            if timeline.events:
                out[key] = timeline
        return out

    def first_answers(self, plan: Plan, match: EventMatch, correlate_on: Sequence[str], asks: Sequence[Ask]) -> list[Event | None]:
        return answers_in(self.correlated(plan, match, correlate_on), asks)

    def deadlines(self, plan: Plan, obligation: ObligationPlan, instants: Sequence[float]) -> list[tuple[dt.datetime, str | None]]:
        return plain_deadlines(plan, obligation, instants)

    def shifted(self, plan: Plan, duration: pendulum.Duration, instants: Sequence[float]) -> list[dt.datetime]:
        return shifted_instants(plan, duration, instants)
