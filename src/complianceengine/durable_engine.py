"""The durable-rules matching engine of the live monitor (``Monitor(..., engine="durable")``).

durable-rules evaluates each match block's event conditions and joins each response's answers
to a trigger of the same case; what it decides is filed exactly as the Python engine files it
(:class:`~complianceengine.monitor_engines.Filed`), so the shared kinds judge it the same way.
It needs the optional ``complianceengine[durable]`` extra (durable-rules 2.0.28: no wheels, a C
compiler to install, Python before 3.13).

**Conditions.** One durable-rules ruleset holds one rule per block: the event kinds and the
``where`` conditions durable-rules can say exactly (``eq`` and ``in`` on text and numbers,
``gt``/``gte``/``lt``/``lte``), on fields that hold one value. Each event is asserted as a
fact (a fact is seen by every rule, an event only by the first), the firing rules name the
blocks, and the fact is retracted at once: matched, it is settled. What durable-rules cannot say
exactly is checked after it fires by the predicates of :mod:`complianceengine.match`: ``ne``,
``not_in`` and ``exists`` (true of a missing field), a condition on a list field (participants,
list attributes: it holds when one item satisfies it) or with a boolean, time of day, quorum.
Texts and numbers go in separate slots of a fact, because durable-rules compares ``"2"`` and
``2`` as equal and Python does not.

**Correlations.** Per response obligation, rulesets whose subjects (``sid``) are its cases (one
generated name per ``correlate_on`` value; durable-rules never sees the case's own texts): a
trigger and an answer of step *j* are asserted as facts of their case, and a rule per step joins
each answer to each trigger of the case. An answer is filed in its case when it joins a trigger
at or before it (at once, or when such a trigger arrives late), which is every answer a verdict
can use: a case's clock never starts before its trigger. So one trigger fact per case is
enough, the earliest (a later trigger is settled at once; an earlier one arriving late replaces
it), and a filed answer is settled and retracted: durable-rules holds one fact per case plus the
answers that precede every trigger of theirs.

**What the wrapper contains** (issue 13; each measured on durable-rules 2.0.28):

- its ``lang`` module keeps a process-wide host; this module never imports it. Each engine has
  its own :class:`_Host` with generated ruleset names, and no background threads (the base host
  starts dispatch and timer loops that make posts asynchronous and grow memory);
- no timers (they run on the wall clock): deadlines are judged by the shared kinds at the
  as-of time asked about, from event times;
- a join condition comparing one fact's field with another's (``a.t >= t.t``) crashed the
  process (segmentation fault in ``reduceExpressionSequence``, found by the differential test):
  the join here has no such condition, the action compares the times;
- at most :data:`SUBJECTS_PER_RULESET` cases per ruleset (durable-rules raises ``MemoryError``
  beyond 1,024): a new ruleset is opened for the next cases;
- ``delete_state`` is never called (on a half-matched join it can crash the process); a
  monitor that must forget is replaced (``Monitor.restore`` builds a new engine);
- an exception in an action is swallowed by durable-rules into the state: the actions here
  catch their own and the engine raises :class:`~complianceengine.errors.EngineError` after the
  call, and a state that carries ``exception`` is raised too;
- it is not thread-safe: one lock per engine around every call;
- memory: measured, about 95 KB per subject (case) and 8.5 KB per fact held, never given back:
  what is settled is retracted (a condition fact once matched, an answer once filed, every
  trigger of a case but its earliest); 100,000 open deadlines over 5,000 cases hold about
  0.9 GB (1.9 GB when every trigger was kept).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from durable import engine as durable  # type: ignore[import-untyped]  # the optional extra: an ImportError tells Monitor to say so

from .errors import EngineError
from .match import matcher
from .model import CORE_EVENT_FIELDS, Comparison, Event, EventMatch, Ruleset
from .monitor_engines import Block, Filed, blocks_of

__all__ = ["SUBJECTS_PER_RULESET", "DurableEngine"]

#: cases per durable-rules ruleset (it fails with MemoryError beyond 1,024 states)
SUBJECTS_PER_RULESET = 1000

#: fields that hold one value on every event (participants is a list)
_SCALAR_CORE = frozenset(CORE_EVENT_FIELDS) - {"participants", "time"}
#: attribute types whose values are one text or one number
_SCALAR_TYPES = frozenset({"string", "enum", "integer", "number", "ref"})
_ORDER = (("gt", "$gt"), ("gte", "$gte"), ("lt", "$lt"), ("lte", "$lte"))


class _Host(durable.Host):  # type: ignore[misc]
    """A durable-rules host of one engine, without the base host's background threads."""

    def _run(self) -> None:
        """The base host starts its dispatch and timer loops here; this engine posts and asserts
        synchronously and uses no timers."""


class DurableEngine:
    """Match blocks and response cases evaluated by durable-rules (see the module's description)."""

    name = "durable"

    def __init__(self, ruleset: Ruleset):
        self.filed = Filed(blocks_of(ruleset))
        self._lock = threading.Lock()
        self._closed = False
        self._host = _Host()
        self._prefix = f"ce-{uuid.uuid4().hex}"
        self._errors: list[BaseException] = []
        self._slots: dict[str, int] = {}  # field name -> its slot in a fact (s<i> for texts, n<i> for numbers)
        self._fired: list[int] = []  # blocks whose rule fired for the current event
        # (step block, answer id, case, whether the answer is not before the trigger) joined since the last call
        self._joined: list[tuple[int, str, str, bool]] = []
        rules: dict[str, Any] = {}
        self._residual: dict[int, Callable[[Event], bool] | None] = {}
        for block in self.filed.blocks:
            condition, residual = self._compile(ruleset, block)
            rules[f"b{block.index}"] = {"all": [{"m": condition}], "run": self._action(self._on_match(block.index))}
            self._residual[block.index] = residual if residual is None else matcher(residual, ruleset.timezone)
        self._kinds = frozenset(kind for block in self.filed.blocks for kind in block.match.kinds)
        self._conditions = f"{self._prefix}-conditions"
        if rules:
            self._host.register_rulesets({self._conditions: rules})
        # per response obligation: its trigger block, its step blocks, its rulesets and their cases
        self._responses: dict[str, tuple[int, list[int]]] = {}
        for block in self.filed.blocks:
            if block.role == "trigger":
                self._responses[block.obligation] = (block.index, [])
            elif block.role == "step":
                self._responses[block.obligation][1].append(block.index)
        self._parts: dict[str, list[str]] = {obligation: [] for obligation in self._responses}
        self._cases: dict[str, dict[str, tuple[str, tuple[Any, ...]]]] = {o: {} for o in self._responses}  # sid -> (ruleset, key)
        self._filled: dict[str, int] = {}  # ruleset -> cases in it
        self._sids: dict[tuple[str, tuple[Any, ...]], str] = {}  # (obligation, case key) -> its subject
        self._earliest: dict[tuple[str, str], dict[str, Any]] = {}  # (obligation, subject) -> the trigger fact kept
        self._answers: dict[str, tuple[Event, str, dict[str, Any]]] = {}  # answer fact id -> (event, ruleset, fact), not filed yet

    # ------------------------------------------------------------------------------ compiling

    def _compile(self, ruleset: Ruleset, block: Block) -> tuple[dict[str, Any], EventMatch | None]:
        """The durable-rules condition of a block, and what durable-rules cannot say exactly
        (a match block for :func:`~complianceengine.match.matcher`, None when nothing is left)."""
        kinds = list(dict.fromkeys(block.match.kinds))
        parts: list[dict[str, Any]] = [{"$or": [{"k": k} for k in kinds]} if len(kinds) > 1 else {"k": kinds[0]}]
        left: dict[str, Any] = {}
        for name, condition in block.match.where.items():
            translated = self._condition(name, condition) if self._scalar(ruleset, kinds, name) else None
            if translated is None:
                left[name] = condition
            else:
                parts += translated
        match = block.match
        rest = None
        if left or match.time_of_day is not None or match.quorum is not None:
            rest = EventMatch(kind=kinds, where=left, time_of_day=match.time_of_day, quorum=match.quorum)
        return (parts[0] if len(parts) == 1 else {"$and": parts}), rest

    @staticmethod
    def _scalar(ruleset: Ruleset, kinds: list[str], name: str) -> bool:
        """Does ``name`` hold one text or number (never a list or a boolean) on events of every kind?"""
        if name in _SCALAR_CORE:
            return True
        specs = [ruleset.event_kinds[k].attributes.get(name) if k in ruleset.event_kinds else None for k in kinds]
        return all(spec is not None and spec.type in _SCALAR_TYPES for spec in specs)

    def _slot(self, name: str, value: Any) -> str:
        index = self._slots.setdefault(name, len(self._slots))
        return f"{'s' if isinstance(value, str) else 'n'}{index}"

    def _condition(self, name: str, condition: Any) -> list[dict[str, Any]] | None:
        """The durable-rules conditions that say exactly what ``condition`` says of the field
        ``name``, or None when they cannot."""

        def value(v: Any) -> bool:
            return isinstance(v, str) or (isinstance(v, (int, float)) and not isinstance(v, bool))

        if value(condition):
            return [{self._slot(name, condition): condition}]
        if isinstance(condition, list):
            if not condition or not all(value(v) for v in condition):
                return None
            return [{"$or": [{self._slot(name, v): v} for v in condition]}] if len(condition) > 1 else [{self._slot(name, condition[0]): condition[0]}]
        if not isinstance(condition, Comparison) or condition.exists is not None or condition.ne is not None or condition.not_in is not None:
            return None
        out: list[dict[str, Any]] = []
        if condition.eq is not None:
            if not value(condition.eq):
                return None
            out.append({self._slot(name, condition.eq): condition.eq})
        if condition.in_ is not None:
            one_of = self._condition(name, list(condition.in_))
            if one_of is None:
                return None
            out += one_of
        for key, operator in _ORDER:
            bound = getattr(condition, key)
            if bound is not None:
                if not value(bound):
                    return None
                out.append({operator: {self._slot(name, bound): bound}})
        return out or None

    def _fact(self, event: Event) -> dict[str, Any]:
        fact: dict[str, Any] = {"id": event.id, "k": event.kind}
        for name, index in self._slots.items():
            value = event.field(name)
            if isinstance(value, str):
                fact[f"s{index}"] = value
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                fact[f"n{index}"] = value
        return fact

    # ------------------------------------------------------------------------------ actions

    def _action(self, body: Callable[[Any], None]) -> Callable[[Any], None]:
        """An action that never lets an exception reach durable-rules (which would swallow it):
        it is kept and raised by the engine after the call."""

        def run(c: Any) -> None:
            try:
                body(c)
            except BaseException as exc:  # noqa: BLE001 - re-raised by _call
                self._errors.append(exc)

        return run

    def _on_match(self, block: int) -> Callable[[Any], None]:
        def matched(c: Any) -> None:
            self._fired.append(block)

        return matched

    def _on_join(self, block: int) -> Callable[[Any], None]:
        def joined(c: Any) -> None:
            self._joined.append((block, c.a.id, c.s.sid, c.a.t >= c.t.t))

        return joined

    def _call(self, method: Callable[..., Any], ruleset: str, message: dict[str, Any]) -> None:
        """One durable-rules call; what its actions raised, or an exception it kept in the
        state, is raised as :class:`EngineError`."""
        try:
            state = method(ruleset, message)
        except durable.MessageNotHandledException:
            state = None  # no rule wanted the message: nothing matched
        except BaseException as exc:
            raise EngineError(f"durable-rules refused {message.get('id')!r} in {ruleset}: {type(exc).__name__}: {exc}") from exc
        if self._errors:
            error, self._errors = self._errors[0], []
            raise EngineError(f"an action failed on {message.get('id')!r}: {type(error).__name__}: {error}") from error
        if isinstance(state, dict) and "exception" in state:
            raise EngineError(f"durable-rules kept an exception on {message.get('id')!r}: {state['exception']}")

    # ------------------------------------------------------------------------------ events in

    def add(self, event: Event) -> None:
        """File ``event`` into the blocks whose conditions it meets and, for a response's
        trigger or step, into its case."""
        with self._lock:
            if self._closed:
                raise EngineError("the engine is closed")
            stamp = event.time.timestamp()
            self.filed.events.add(stamp, event)
            if event.kind not in self._kinds:
                return
            fact = self._fact(event)
            self._fired = []
            self._call(self._host.assert_fact, self._conditions, fact)
            self._call(self._host.retract_fact, self._conditions, fact)
            for block in sorted(set(self._fired)):
                residual = self._residual[block]
                if residual is None or residual(event):
                    self.filed.accept(block, stamp, event, keyed=False)
                    self._correlate(self.filed.blocks[block], stamp, event)
            self._take_joined()

    def _correlate(self, block: Block, stamp: float, event: Event) -> None:
        if block.role == "match":
            return
        key = tuple(event.field(name) for name in block.correlate_on)
        if None in key:
            return  # a case without its key is never looked up
        ruleset, sid = self._case(block.obligation, key)
        if block.role == "trigger":
            self.filed.answer(block.index, key, stamp, event)  # the trigger is its own case
            # an answer is filed when it follows some trigger of its case, so the earliest
            # trigger is the only one the joins need: a later one is settled at once, an earlier
            # one that arrives late takes the place of the one kept
            kept = self._earliest.get((block.obligation, sid))
            if kept is None or stamp < kept["t"]:
                fact = {"sid": sid, "id": f"t:{event.id}", "r": "t", "t": stamp}
                self._call(self._host.assert_fact, ruleset, fact)
                self._earliest[(block.obligation, sid)] = fact
                if kept is not None:
                    self._call(self._host.retract_fact, ruleset, kept)
        else:
            assert block.step is not None
            answer = f"a{block.step}:{event.id}"
            self._answers[answer] = (event, ruleset, {"sid": sid, "id": answer, "r": "a", "s": block.step, "t": stamp})
            self._call(self._host.assert_fact, ruleset, self._answers[answer][2])

    def _case(self, obligation: str, key: tuple[Any, ...]) -> tuple[str, str]:
        """The ruleset and subject of a case, opening a ruleset when the last one is full."""
        cases = self._cases[obligation]
        known = self._sids.get((obligation, key))
        if known is not None:
            return cases[known][0], known
        # a plain generated subject name: durable-rules is not given the case's own texts
        sid = self._sids[(obligation, key)] = f"c{len(self._sids)}"
        parts = self._parts[obligation]
        if not parts or self._filled[parts[-1]] >= SUBJECTS_PER_RULESET:
            name = f"{self._prefix}-r{list(self._responses).index(obligation)}-{len(parts)}"
            self._host.register_rulesets({name: self._join_rules(obligation)})
            parts.append(name)
            self._filled[name] = 0
        self._filled[parts[-1]] += 1
        cases[sid] = (parts[-1], key)
        return parts[-1], sid

    def _join_rules(self, obligation: str) -> dict[str, Any]:
        """One rule per step: an answer of the step joins each trigger of its case (a subject of
        its own). The answer must not be before the trigger; that is checked by the action, not
        by a condition on the trigger's time: durable-rules 2.0.28 crashes (a segmentation fault
        in ``reduceExpressionSequence``) evaluating such a cross-fact condition in some states."""
        _, steps = self._responses[obligation]
        return {
            f"s{self.filed.blocks[block].step}": {
                "all": [{"t": {"r": "t"}}, {"a": {"$and": [{"r": "a"}, {"s": self.filed.blocks[block].step}]}}],
                "run": self._action(self._on_join(block)),
            }
            for block in steps
        }

    def _take_joined(self) -> None:
        """File each answer joined to a trigger at or before it, in its case, and retract its
        fact: it is settled (a later trigger of the case finds it in the case already). An answer
        before every trigger of its case stays, for a trigger that may arrive late."""
        joined, self._joined = self._joined, []
        for block, answer, sid, after in joined:
            if not after or answer not in self._answers:
                continue
            event, ruleset, fact = self._answers.pop(answer)
            key = self._cases[self.filed.blocks[block].obligation][sid][1]
            self.filed.answer(block, key, event.time.timestamp(), event)
            self._call(self._host.retract_fact, ruleset, fact)

    def close(self) -> None:
        """Drop the host and its rulesets. (``delete_state`` is never called; durable-rules frees
        a ruleset's memory only with its host.)"""
        with self._lock:
            self._closed = True
            del self._host
