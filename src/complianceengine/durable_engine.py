"""The durable-rules matching engine of the live monitor (``Monitor(..., engine="durable")``).

durable-rules evaluates each match block's event conditions and joins each response's answers
to a trigger of the same case; what it decides is filed exactly as the Python engine files it
(:class:`~complianceengine.monitor_engines.Filed`), so the shared kinds judge it the same way.
It needs the optional ``complianceengine[durable]`` extra (durable-rules 2.0.28: no wheels, a C
compiler to install, Python before 3.13).

**Conditions.** durable-rules rulesets of at most :data:`BLOCKS_PER_RULESET` rules and
:data:`ALTERNATIVES_PER_RULESET` alternatives (it refuses more than 256 rules and hangs past
about 512 alternatives) hold one rule per block: the event kinds and the ``where`` conditions
durable-rules can say exactly (``eq`` and ``in`` on text and numbers, ``gt``/``gte``/``lt``/
``lte`` on numbers; it orders texts as JSON-escaped), on fields that hold one value, with values
it reads exactly (numbers within 2**53, no ``1e-05`` form, valid Unicode). An event with a
value it cannot be given exactly is matched by the same predicates in Python. Each event is asserted as a
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

import math
import threading
import uuid
from collections.abc import Callable
from typing import Any

from durable import engine as durable  # type: ignore[import-untyped]  # the optional extra: an ImportError tells Monitor to say so

from .errors import EngineError
from .match import matcher
from .model import CORE_EVENT_FIELDS, Comparison, Event, EventMatch, Ruleset
from .monitor_engines import Block, Filed, blocks_of, predicates_by_kind

__all__ = ["SUBJECTS_PER_RULESET", "DurableEngine"]

#: cases per durable-rules ruleset (it fails with MemoryError beyond 1,024 states)
SUBJECTS_PER_RULESET = 1000

#: fields that hold one value on every event (participants is a list)
_SCALAR_CORE = frozenset(CORE_EVENT_FIELDS) - {"participants", "time"}
#: attribute types whose values are one text or one number
_SCALAR_TYPES = frozenset({"string", "enum", "integer", "number", "ref"})
_ORDER = (("gt", "$gt"), ("gte", "$gte"), ("lt", "$lt"), ("lte", "$lte"))
#: numbers beyond this are not held exactly by both an int64 and a double, which durable-rules mixes
_EXACT = 2**53
#: what one conditions ruleset may hold: durable-rules refuses more than 256 rules (error 108)
#: and hangs past about 512 alternatives (``$or`` terms) in one ruleset
BLOCKS_PER_RULESET, ALTERNATIVES_PER_RULESET, ALTERNATIVES_PER_BLOCK = 200, 400, 100


def _exact(value: Any) -> bool:
    """Can durable-rules be given ``value`` and compare it exactly as Python does? Texts that
    are valid Unicode; whole numbers and finite floats within 2**53 whose JSON it can parse
    (not ``1e-05``: an exponent without a decimal point)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate
            return False
        return True
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float):
        text = repr(value)
        if not math.isfinite(value) or ("e" in text and "." not in text):
            return False
    return abs(value) <= _EXACT


def _alternatives(node: Any) -> int:
    """The ``$or`` terms in a durable-rules condition (at least 1)."""
    if isinstance(node, list):
        return sum(_alternatives(part) for part in node)
    if isinstance(node, dict) and "$or" in node:
        return sum(max(1, _alternatives(part)) for part in node["$or"])
    if isinstance(node, dict) and "$and" in node:
        return _alternatives(node["$and"])
    return 1


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
        self._residual: dict[int, Callable[[Event], bool] | None] = {}
        # the conditions, in rulesets small enough for durable-rules, each asked about an event
        # of one of its kinds
        self._conditions: list[tuple[str, frozenset[str]]] = []
        chunk: dict[str, Any] = {}
        kinds: set[str] = set()
        alternatives = 0
        for block in self.filed.blocks:
            condition, residual, count = self._compile(ruleset, block)
            if chunk and (len(chunk) >= BLOCKS_PER_RULESET or alternatives + count > ALTERNATIVES_PER_RULESET):
                self._register_conditions(chunk, kinds)
                chunk, kinds, alternatives = {}, set(), 0
            chunk[f"b{block.index}"] = {"all": [{"m": condition}], "run": self._action(self._on_match(block.index))}
            kinds.update(block.match.kinds)
            alternatives += count
            self._residual[block.index] = residual if residual is None else matcher(residual, ruleset.timezone)
        if chunk:
            self._register_conditions(chunk, kinds)
        # an event durable-rules cannot be given exactly is matched by the same predicates in Python
        self._in_python = predicates_by_kind(self.filed.blocks, ruleset.timezone)
        # step blocks with the same match and case fields (two responses sharing a step): an
        # answer filed in one is filed in the others, since a kind's question names the match,
        # not the obligation (each then holds at least the answers its own triggers need)
        self._twins: dict[int, list[int]] = {
            b.index: [o.index for o in self.filed.blocks
                      if o.role == "step" and o.index != b.index and o.match == b.match and o.correlate_on == b.correlate_on]
            for b in self.filed.blocks if b.role == "step"
        }
        self._answered: set[tuple[int, str]] = set()  # (step block, event id) filed
        self._serial = 0  # facts are named by number: durable-rules never sees an event's own id
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

    def _compile(self, ruleset: Ruleset, block: Block) -> tuple[dict[str, Any], EventMatch | None, int]:
        """The durable-rules condition of a block, what durable-rules cannot say exactly (a
        match block for :func:`~complianceengine.match.matcher`, None when nothing is left) and
        how many alternatives the condition holds."""
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
        return (parts[0] if len(parts) == 1 else {"$and": parts}), rest, _alternatives(parts)

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

        if _exact(condition):
            return [{self._slot(name, condition): condition}]
        if isinstance(condition, list):
            if not condition or len(condition) > ALTERNATIVES_PER_BLOCK or not all(_exact(v) for v in condition):
                return None
            return [{"$or": [{self._slot(name, v): v} for v in condition]}] if len(condition) > 1 else [{self._slot(name, condition[0]): condition[0]}]
        if not isinstance(condition, Comparison) or condition.exists is not None or condition.ne is not None or condition.not_in is not None:
            return None
        out: list[dict[str, Any]] = []
        if condition.eq is not None:
            if not _exact(condition.eq):
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
                # texts are ordered by durable-rules as JSON-escaped (a quote or a tab sorts as a
                # backslash): only numbers are ordered there
                if not _exact(bound) or isinstance(bound, str):
                    return None
                out.append({operator: {self._slot(name, bound): bound}})
        return out or None

    def _register_conditions(self, rules: dict[str, Any], kinds: set[str]) -> None:
        name = f"{self._prefix}-conditions-{len(self._conditions)}"
        self._register({name: rules})
        self._conditions.append((name, frozenset(kinds)))

    def _register(self, rulesets: dict[str, Any]) -> None:
        try:
            self._host.register_rulesets(rulesets)
        except Exception as exc:
            raise EngineError(f"durable-rules refused the rules of {', '.join(rulesets)}: {type(exc).__name__}: {exc}") from exc

    def _name(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial}"

    def _fact(self, event: Event) -> dict[str, Any] | None:
        """The fact durable-rules is asked about ``event`` with; None when one of the values it
        would compare cannot be given to it exactly (the event is then matched in Python)."""
        fact: dict[str, Any] = {"id": self._name("f"), "k": event.kind}
        for name, index in self._slots.items():
            value = event.field(name)
            if isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
                if not _exact(value):
                    return None
                fact[f"{'s' if isinstance(value, str) else 'n'}{index}"] = value
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
            fired: list[int] = []
            fact = self._fact(event)
            if fact is None:
                fired = [index for index, accepts in self._in_python.get(event.kind, ()) if accepts(event)]
            else:
                for name, kinds in self._conditions:
                    if event.kind in kinds:
                        self._fired = []
                        self._call(self._host.assert_fact, name, fact)
                        self._call(self._host.retract_fact, name, fact)  # matched: settled
                        for block in self._fired:
                            residual = self._residual[block]
                            if residual is None or residual(event):
                                fired.append(block)
            self.filed.events.add(stamp, event)
            for block in sorted(set(fired)):
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
                fact = {"sid": sid, "id": self._name("t"), "r": "t", "t": stamp}
                self._call(self._host.assert_fact, ruleset, fact)
                self._earliest[(block.obligation, sid)] = fact
                if kept is not None:
                    self._call(self._host.retract_fact, ruleset, kept)
        else:
            assert block.step is not None
            answer = self._name("a")
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
            for step in (block, *self._twins[block]):
                if (step, event.id) not in self._answered:
                    self._answered.add((step, event.id))
                    self.filed.answer(step, key, event.time.timestamp(), event)
            self._call(self._host.retract_fact, ruleset, fact)

    def close(self) -> None:
        """Drop the host and its rulesets. (``delete_state`` is never called; durable-rules frees
        a ruleset's memory only with its host.)"""
        with self._lock:
            if not self._closed:
                self._closed = True
                del self._host
