"""The DuckDB backend: the kinds' questions about events answered in SQL.

:class:`DuckDBSource` holds the known events of one audit as a DuckDB table (through Arrow) and
answers "which events does this ``match`` block accept" and "which of them count for each target
of this obligation" with the statements of :mod:`complianceengine.evaluate.sql`, one statement
per obligation and kind of subject rather than a loop per target. Everything else is the reference
backend's (:class:`~complianceengine.evaluate.reference.ReferenceSource`, whose class this
extends): the events in time order, the exemptions they give, the timelines the kinds slice; and
the kinds judge as they do on the reference, so the findings are the same by construction as far
as the SQL gives the same answers, which the differential tests check on random worlds.

The tables: ``events`` (one row per known event: ``pos``, its position in time order; ``t``, its
instant as POSIX seconds, as :class:`~complianceengine.events.Timeline` orders events; the core
fields as text, ``participants`` a text list; ``attrs`` the attributes as one JSON object; and,
computed only when a query asks, ``clock``, the local ``HH:MM`` in the ruleset's zone),
``credited`` (one row per event and person it counts for), ``windows`` (``calendar``, ``t0``,
``t1``) and ``holdings`` (``person``, ``role``, ``unit``, ``t0``, ``t1``).

Each source opens its own in-memory DuckDB connection (no process-wide state) and closes it when
the audit is done (:meth:`close`), or when it cannot be built. ``threads`` and ``memory_limit`` are
passed to DuckDB, which spills to disk beyond the limit, into a temporary folder of its own that
goes with the connection. DuckDB's errors (a setting it refuses, memory it cannot get) are
:class:`~complianceengine.errors.UsageError`.

Needs duckdb, pyarrow and sqlglot (dependencies of the package).
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import importlib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pendulum

from ..duck import available, connect
from ..errors import UsageError
from ..events import EventIndex, Timeline
from ..eventtable import EventTable, View, events_arrow
from ..exemptions import exemption_spans
from ..kinds.base import raised
from ..kinds.cadence import CadenceObligation, anchors
from ..kinds.completeness import CompletenessObligation
from ..kinds.frequency import FrequencyObligation
from ..kinds import Ask
from ..kinds.response import ResponseObligation, cases, step_bases
from ..kinds.staffing import StaffingObligation
from ..model import Event, EventMatch, duration_parts
from ..plan import ObligationPlan, Plan, Target
from ..timeframes import Interval, exact_micros, from_micros, micros, shift, zone
from ..trace import Tracer
from .reference import ReferenceSource
from .sql import answers_query, counting_lists_query, matching_query, untexted_query

if TYPE_CHECKING:
    import duckdb

__all__ = ["DuckDBSource", "available", "connect"]

#: the obligations of the built-in kinds, whose questions the source answers ahead
_BUILTIN = (FrequencyObligation, CadenceObligation, ResponseObligation, StaffingObligation, CompletenessObligation)

#: the known events, from Python objects already in order
_STORED = ("CREATE TABLE stored AS SELECT pos, id, kind, t, actor, participants, on_behalf_of, unit, subject, CAST(attrs AS JSON) AS attrs "
           "FROM events_in")
#: the events of a table: its rows the log keeps, and those it holds as objects
_TABLED = ("CREATE VIEW events_in AS SELECT pos, id, kind, t, actor, participants, on_behalf_of, unit, subject, "
           "coalesce(attributes, '{}') AS attrs FROM rows_in WHERE pos >= 0 UNION ALL SELECT * FROM held_in")
#: the known events, from a table in the log's order (``pos``: the position in the log): ordered
#: as the reference backend orders them (instant, id, position), ``logged`` the log's position.
#: Only the keys are sorted, then joined to the rows by position: sorting the whole rows held
#: twice the table in memory (400 MB against 180 MB at a million events) and took twice as long
_ORDERED = ("CREATE TABLE stored AS SELECT o.pos, e.pos AS logged, e.id, e.kind, e.t, e.actor, e.participants, e.on_behalf_of, e.unit, "
            "e.subject, CAST(e.attrs AS JSON) AS attrs FROM events_in e JOIN (SELECT pos AS logged, "
            "(row_number() OVER (ORDER BY t, id, pos) - 1)::INTEGER AS pos FROM events_in WHERE t < getvariable('as_of')) o "
            "ON o.logged = e.pos")
_LOAD = [
    # the local wall clock of each event, for time_of_day windows (ICU's zone database): a view,
    # so that it is worked out only for the queries that name it
    "CREATE VIEW events AS SELECT *, strftime(timezone(getvariable('zone'), to_timestamp(t)), '%H:%M') AS clock FROM stored",
    # everyone an event counts for: the actor, each participant, the person a delegate acted for
    "CREATE TABLE credited AS SELECT DISTINCT pos, person FROM (SELECT pos, unnest(list_concat([actor], participants, [on_behalf_of])) "
    "AS person FROM events) WHERE person IS NOT NULL AND person <> ''",
    "CREATE TABLE windows AS SELECT * FROM windows_in",
    "CREATE TABLE holdings AS SELECT * FROM holdings_in",
]


#: the deadline of a cadence gap starting at each anchor (``anchors_in``: ``i``, ``t`` in POSIX
#: microseconds), without exemptions: the base gap added on the wall clock, and the sooner end of
#: a raised gap inside a window of ``parts_in`` (``v`` the variant, ``k`` the window's place,
#: ``t0``/``t1`` its bounds, ``months``/``days``/``micros`` its gap), the earliest winning (as
#: :func:`~complianceengine.kinds.cadence.deadline` does; the variants' windows do not overlap,
#: so two never give one deadline, and the order by variant and window only makes the choice total).
#: Only for a zone whose offset (``$offset``, in microseconds) does not change meanwhile: its wall
#: clock is then a timestamp without zone, whose calendar arithmetic is pendulum's (31 January
#: plus a month is 28 or 29 February)
_DEADLINES = """
WITH b AS (
  SELECT i, t, epoch_us(make_timestamp(t + $offset) + to_months($months) + to_days($days) + to_microseconds($micros)) - $offset AS base
  FROM anchors_in),
c AS (
  SELECT b.i, p.v, p.k, b.base, p.t1,
         epoch_us(make_timestamp(greatest(b.t, p.t0) + $offset) + to_months(p.months) + to_days(p.days) + to_microseconds(p.micros))
           - $offset AS sooner
  FROM b JOIN parts_in p ON p.t1 > b.t AND p.t0 < b.base),
d AS (
  SELECT i, min({'due': sooner, 'v': v, 'k': k}) AS best FROM c WHERE sooner < t1 AND sooner < base GROUP BY i)
SELECT coalesce(d.best.due, b.base) AS due, d.best.v AS v FROM b LEFT JOIN d USING (i) ORDER BY b.i
"""


class DuckDBSource(ReferenceSource):
    """The events of one audit in a DuckDB database of its own."""

    def __init__(self, plan: Plan, events: Iterable[Event], tracer: Tracer | None = None, *, threads: int | None = None,
                 memory_limit: str | None = None):
        table = events if isinstance(events, EventTable) else None
        if table is None:
            super().__init__(plan, events, tracer)
        self._counted: dict[int, tuple[ObligationPlan, dict[int, int], dict[int, list[int]]]] = {}
        # (id of a match block, correlation fields) -> (the block, each ask answered: the answer's position or None), an ask
        # by its instant (:func:`_asked`)
        self._answers: dict[tuple[int, tuple[str, ...]], tuple[EventMatch, dict[tuple[Any, ...], int | None]]] = {}
        # id of a cadence obligation -> (the obligation, each anchor's plain deadline and window)
        self._due: dict[int, tuple[ObligationPlan, dict[float, tuple[dt.datetime, str | None]]]] = {}
        # a duration (months, days, microseconds) -> each instant shifted by it on the wall clock
        self._shifts: dict[tuple[int, int, int], dict[float, dt.datetime]] = {}
        self._con: duckdb.DuckDBPyConnection | None
        self._con, self._spill = connect(threads, memory_limit)
        try:
            if table is None:
                self._load(plan)
            else:
                self._load_table(plan, table, tracer)
            self._answer_ahead(plan)
        except BaseException:
            self.close()
            raise

    def _answer_ahead(self, plan: Plan) -> None:
        """When every obligation is of a built-in kind, every question those kinds ask answered
        now (the counting of each frequency and cadence target, the events each response's
        trigger and steps match) and the connection closed, so that the audit's peak is reached
        without DuckDB's tables (a quarter of a gigabyte at 1M events). A response's questions are
        the cases' steps: its cases are worked out as its judge will (:func:`cases`), each step's
        answers asked in SQL and kept. A plan with a plugin's kind keeps the connection for its
        questions. Asked anything else later (a target made outside the plan), the source
        answers as the reference does."""
        if not all(type(c.obligation) in _BUILTIN for c in plan.obligations):
            return
        for compiled in plan.obligations:
            obligation = compiled.obligation
            if compiled.unavailable is not None:
                continue
            if isinstance(obligation, (FrequencyObligation, CadenceObligation)):
                self._counts(plan, compiled)
            if isinstance(obligation, CadenceObligation):
                self.deadlines(plan, compiled, anchors(plan, compiled, [self.counting(plan, compiled, t) for t in compiled.targets]))
            elif isinstance(obligation, ResponseObligation):
                for match in (obligation.trigger, *(step.match for step in obligation.steps)):
                    self._matching(plan, match)
                found = cases(plan, obligation, self)
                for step, bases in zip(obligation.steps, step_bases(found, len(obligation.steps)), strict=True):
                    self.shifted(plan, step.within, bases)
        self.close()

    def _load(self, plan: Plan) -> None:
        """The known events (Python objects, in time order) as the ``events`` table."""
        self._store(plan, {"events_in": events_arrow(self.known, range(len(self.known)), self._index.times)}, [_STORED])

    def _load_table(self, plan: Plan, table: EventTable, tracer: Tracer | None) -> None:
        """The events of a table, ordered and cut at the as-of time in DuckDB: what the reference
        backend's constructor does with Python objects (the same order: instant, id, position
        in the log), without building an event. ``known`` is a view of the table."""
        self.tracer, self.warnings = tracer, []
        rows, held = table.parts()  # the table's rows as they are (no copy), the few events held as objects
        self._store(plan, {"rows_in": rows, "held_in": held}, [_TABLED, _ORDERED, "DROP VIEW events_in"])
        with self._query("ordering the events"):
            con = self._connection()
            logged, times, ids = (column.to_pylist() for column in con.sql("SELECT logged, t, id FROM stored ORDER BY pos").to_arrow_table().columns)
            by_kind = dict(con.execute("SELECT kind, list(pos ORDER BY pos) FROM stored GROUP BY kind").fetchall())
        self.known = View(table, logged)
        self._index = EventIndex(self.known, times, ids=ids, by_kind=by_kind)
        excusing = [name for name, kind in plan.ruleset.event_kinds.items() if kind.excuses is not None]
        self.exemptions = exemption_spans(plan, self._index.events_at(self._index.of_kinds(excusing)), registry=False)
        self._matched, self._alike = {}, {}

    def _store(self, plan: Plan, events: dict[str, Any], stored: list[str]) -> None:
        """The tables of :data:`_LOAD`, the events from the Arrow tables ``events`` (by name) by
        the ``stored`` statements."""
        pa = importlib.import_module("pyarrow")
        text = pa.string()
        windows = [(name, w.start.timestamp(), w.end.timestamp()) for name, parts in plan.windows.items() for w in parts]
        windows_in = pa.table({"calendar": pa.array([name for name, _, _ in windows], text),
                               "t0": pa.array([t0 for _, t0, _ in windows], pa.float64()),
                               "t1": pa.array([t1 for _, _, t1 in windows], pa.float64())})
        stamps: dict[int, tuple[float, float]] = {}  # by interval: assignments share their spans (``days_interval``)

        def seconds(i: Interval) -> tuple[float, float]:
            found = stamps.get(id(i))
            if found is None:
                found = stamps[id(i)] = (i.start.timestamp(), i.end.timestamp())
            return found

        holdings = [(person, role, unit, *seconds(i)) for (person, role, unit), intervals in plan.organisation.holdings.items() for i in intervals]
        holdings_in = pa.table({"person": pa.array([h[0] for h in holdings], text), "role": pa.array([h[1] for h in holdings], text),
                                "unit": pa.array([h[2] for h in holdings], text), "t0": pa.array([h[3] for h in holdings], pa.float64()),
                                "t1": pa.array([h[4] for h in holdings], pa.float64())})
        tables = {**events, "windows_in": windows_in, "holdings_in": holdings_in}
        with self._query("loading the events"):
            con = self._connection()
            con.execute("SET VARIABLE zone = ?", [plan.tz])
            con.execute("SET VARIABLE as_of = ?", [plan.as_of.timestamp()])
            for name, table in tables.items():
                con.register(name, table)
            try:
                for statement in [*stored, *_LOAD]:
                    con.execute(statement)
            finally:
                for name in tables:
                    con.unregister(name)

    def close(self) -> None:
        """Close the DuckDB connection and remove its spill folder (the source answers no more
        questions)."""
        if self._con is not None:
            self._con.close()
            self._con = None
            self._spill.cleanup()

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise UsageError("the DuckDB source is closed")
        return self._con

    @contextlib.contextmanager
    def _query(self, doing: str) -> Iterator[None]:
        """DuckDB's errors while ``doing`` as a :class:`UsageError` (memory it cannot get, a
        zone it does not know)."""
        import duckdb

        try:
            yield
        except duckdb.Error as exc:
            raise UsageError(f"DuckDB failed while {doing}: {type(exc).__name__}: {exc}") from None

    def _accepted(self, plan: Plan, match: EventMatch) -> Iterable[int]:
        if self._con is None:  # answered ahead and closed: a question nobody foresaw, asked as the reference asks
            return super()._accepted(plan, match)
        with self._query("matching events"):
            return [row[0] for row in self._connection().execute(matching_query(match)).fetchall()]

    def _counts(self, plan: Plan, obligation: ObligationPlan) -> tuple[ObligationPlan, dict[int, int], dict[int, list[int]]] | None:
        """Target index -> the positions of the events that count for it (and the targets'
        indices by identity), worked out once per obligation; ``None`` once the connection is
        closed for an obligation not answered ahead."""
        found = self._counted.get(id(obligation))
        if found is None or found[0] is not obligation:
            if self._con is None:
                return None
            with self._query(f"counting the events of {obligation.id}"):
                found = self._counted[id(obligation)] = (obligation, {id(t): i for i, t in enumerate(obligation.targets)},
                                                         self._count(plan, obligation))
        return found

    def counting(self, plan: Plan, obligation: ObligationPlan, target: Target) -> Timeline:
        found = self._counts(plan, obligation)
        index = None if found is None else found[1].get(id(target))
        if found is None or index is None:  # a target made outside the plan: asked as the reference asks
            return super().counting(plan, obligation, target)
        return self._index.timeline(found[2].get(index, ()))

    def first_answers(self, plan: Plan, match: EventMatch, correlate_on: Sequence[str], asks: Sequence[Ask]) -> list[Event | None]:
        """Each ask's answer by a keyed as-of join (:func:`answers_query`), kept; asked again
        once the connection is closed, from what was kept; as the reference answers when a
        correlation value of an event the block accepts is not a text (Python's ``1 == 1.0 ==
        True`` is no SQL equality) or an ask was not foreseen."""
        memo = (id(match), tuple(correlate_on))
        found = self._answers.get(memo)
        known = found[1] if found is not None and found[0] is match else None
        if known is not None:
            asked = [_asked(ask) for ask in asks]
            if all(ask in known for ask in asked):
                return self._events_or_none([known[ask] for ask in asked])
        positions = None if self._con is None else self._first_positions(match, correlate_on, asks)
        if positions is None:
            return super().first_answers(plan, match, correlate_on, asks)
        if known is None:
            known = {}
            self._answers[memo] = (match, known)
        known.update(zip(map(_asked, asks), positions))
        return self._events_or_none(positions)

    def deadlines(self, plan: Plan, obligation: ObligationPlan, instants: Sequence[float]) -> list[tuple[dt.datetime, str | None]]:
        """Each anchor's plain deadline in SQL (:data:`_DEADLINES`), kept; asked again once the
        connection is closed, from what was kept; as the reference answers when the ruleset's
        zone changes its offset between the first anchor and the last deadline (DuckDB's
        calendar arithmetic in a zone takes the earlier of two wall times the clocks show twice,
        pendulum the later) or an anchor was not foreseen."""
        found = self._due.get(id(obligation))
        known = found[1] if found is not None and found[0] is obligation else None
        if known is not None and all(t in known for t in instants):
            return [known[t] for t in instants]
        answered = None if self._con is None or not instants else self._plain_deadlines(plan, obligation, instants)
        if answered is None:  # (kept too: the judge asks what was answered ahead again)
            answered = super().deadlines(plan, obligation, instants)
        if known is None:
            known = {}
            self._due[id(obligation)] = (obligation, known)
        known.update(zip(instants, answered, strict=True))
        return answered

    def _plain_deadlines(self, plan: Plan, compiled: ObligationPlan, instants: Sequence[float]) -> list[tuple[dt.datetime, str | None]] | None:
        """:meth:`deadlines` by :data:`_DEADLINES`; ``None`` in a zone whose offset changes meanwhile."""
        obligation = compiled.obligation
        assert isinstance(obligation, CadenceObligation)
        raised_gaps = [(variant, gap.max_gap) for variant in compiled.variants[1:]
                       if (gap := raised(obligation, variant)) is not None and gap.max_gap is not None]
        found = self._on_wall_clock(plan, obligation.max_gap, raised_gaps, instants, f"working out the deadlines of {obligation.id}")
        return None if found is None else [(due, None if v is None else raised_gaps[v][0].window) for due, v in found]

    def shifted(self, plan: Plan, duration: pendulum.Duration, instants: Sequence[float]) -> list[dt.datetime]:
        """Each instant plus ``duration`` on the wall clock in SQL (:data:`_DEADLINES` without
        windows), kept; as :meth:`deadlines` falls back, so does this."""
        memo = _calendar(duration)
        known = self._shifts.setdefault(memo, {})
        if all(t in known for t in instants):
            return [known[t] for t in instants]
        found = None if self._con is None or not instants else self._on_wall_clock(plan, duration, [], instants, "working out deadlines")
        answered = super().shifted(plan, duration, instants) if found is None else [due for due, _ in found]
        known.update(zip(instants, answered, strict=True))
        return answered

    def _on_wall_clock(self, plan: Plan, gap: pendulum.Duration, raised_gaps: Sequence[tuple[Any, pendulum.Duration]],
                       instants: Sequence[float], doing: str) -> list[tuple[dt.datetime, int | None]] | None:
        """:data:`_DEADLINES` from ``instants`` with the base ``gap`` and each raised variant's
        (``raised_gaps``: the variant, its gap): each deadline and the index of the variant that
        set it (``None``: the base gap); ``None`` in a zone whose offset changes meanwhile."""
        pa = importlib.import_module("pyarrow")
        tz = zone(plan.tz)
        lengths = [gap, *(length for _, length in raised_gaps)]
        latest = pendulum.from_timestamp(max(instants), tz=tz)
        for length in lengths:
            shift(latest, length)  # a deadline past what pendulum can name fails as the reference's would
        # the zone's offset is looked at around each instant, up to the latest its deadline can
        # be (a month as 31 days), not across the whole span: one stray old date must not make
        # the look take seconds
        ahead = max(months * 31 * _DAY + days * _DAY + micro / 1e6 for months, days, micro in map(_calendar, lengths)) + _DAY
        spans: list[list[float]] = []
        for t in sorted(instants):
            if spans and t - _DAY <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], t + ahead)
            else:
                spans.append([t - _DAY, t + ahead])
        offset = _fixed_offset(tz, spans)
        if offset is None:
            return None
        parts = [(v, k, exact_micros(part.start), exact_micros(part.end), *_calendar(length))
                 for v, (variant, length) in enumerate(raised_gaps) for k, part in enumerate(variant.mask)]
        months, days, seconds = _calendar(gap)
        tables = {
            "anchors_in": pa.table({"i": pa.array(range(len(instants)), pa.int64()),
                                    "t": pa.array([micros(t) for t in instants], pa.int64())}),
            "parts_in": pa.table({name: pa.array([part[j] for part in parts], pa.int64())
                                  for j, name in enumerate(("v", "k", "t0", "t1", "months", "days", "micros"))}),
        }
        with self._query(doing):
            con = self._connection()
            for name, table in tables.items():
                con.register(name, table)
            try:
                found = con.execute(_DEADLINES, {"offset": offset, "months": months, "days": days, "micros": seconds}).fetchall()
            finally:
                for name in tables:
                    con.unregister(name)
        return [(from_micros(due, plan.tz), v) for due, v in found]

    def _events_or_none(self, positions: Sequence[int | None]) -> list[Event | None]:
        """The events at ``positions`` (built together), ``None`` for ``None``."""
        built = iter(self._index.events_at([p for p in positions if p is not None]))
        return [None if p is None else next(built) for p in positions]

    def _first_positions(self, match: EventMatch, correlate_on: Sequence[str], asks: Sequence[Ask]) -> list[int | None] | None:
        """The position of each ask's answer (``None``: none), or ``None`` when SQL cannot
        answer as Python would: a correlation value of an event ``match`` accepts is neither a
        text nor absent. An ask whose key is not all texts then has no answer. An answer with the
        ask's ``other_than`` id (the trigger itself, when a step accepts it) is passed over: the
        ask is asked again from the position after it."""
        pa = importlib.import_module("pyarrow")
        check = untexted_query(match, correlate_on)
        with self._query("answering a response's steps"):
            con = self._connection()
            if check is None or con.execute(check).fetchall()[0][0]:
                return None
            out: list[int | None] = [None] * len(asks)
            times = self._index.times
            pending = {i: bisect.bisect_left(times, ask.base.timestamp()) for i, ask in enumerate(asks) if all(isinstance(v, str) for v in ask.key)}
            query = answers_query(match, correlate_on)
            while pending:
                chosen = list(pending)
                table = pa.table({"ask": pa.array(chosen, pa.int64()), "from_pos": pa.array([pending[i] for i in chosen], pa.int64()),
                                  **{f"k{j}": pa.array([asks[i].key[j] for i in chosen], pa.string()) for j in range(len(correlate_on))}})
                con.register("asks", table)
                try:
                    found = con.execute(query).fetchall()
                finally:
                    con.unregister("asks")
                pending = {}
                for i, position, name in found:
                    if name == asks[i].other_than:
                        pending[i] = position + 1
                    else:
                        out[i] = position
            return out

    def _count(self, plan: Plan, compiled: ObligationPlan) -> dict[int, list[int]]:
        """Target index -> the positions of the events that count for it, in order."""
        pa = importlib.import_module("pyarrow")
        counted = compiled.obligation
        assert isinstance(counted, (FrequencyObligation, CadenceObligation))
        org = plan.organisation
        roles = counted.by.roles if counted.by is not None else None
        out: dict[int, list[int]] = {}
        con = self._connection()
        text = pa.string()
        for kind in dict.fromkeys(t.subject.kind for t in compiled.targets):
            chosen = [(i, t) for i, t in enumerate(compiled.targets) if t.subject.kind == kind]
            units = [(i, u) for i, t in chosen for u in sorted(t.units)]
            line: Sequence[tuple[int, str]] = []
            if roles is not None:
                line = [(i, u) for i, t in chosen if t.unit is not None for u in sorted(org.line(t.unit))]
            tables = {
                "targets": pa.table({"ti": pa.array([i for i, _ in chosen], pa.int32()), "sid": pa.array([t.subject.id for _, t in chosen], text),
                                     "anywhere": pa.array([t.unit is None for _, t in chosen], pa.bool_())}),
                "target_units": pa.table({"ti": pa.array([i for i, _ in units], pa.int32()), "unit": pa.array([u for _, u in units], text)}),
                "target_line": pa.table({"ti": pa.array([i for i, _ in line], pa.int32()), "unit": pa.array([u for _, u in line], text)}),
            }
            for name, table in tables.items():
                con.register(name, table)
            try:
                found = con.sql(counting_lists_query(counted.match, kind, roles)).to_arrow_table()
                out.update(zip(found.column("ti").to_pylist(), found.column("positions").to_pylist()))
            finally:
                for name in tables:
                    con.unregister(name)
        return out


_DAY = 86_400.0


def _calendar(duration: pendulum.Duration) -> tuple[int, int, int]:
    """A duration as (months, days, microseconds): what pendulum adds on the wall clock, in its order."""
    years, months, days, seconds = duration_parts(duration)
    return 12 * years + months, days, seconds * 1_000_000 + duration.microseconds


def _fixed_offset(tz: dt.tzinfo, spans: Sequence[Sequence[float]]) -> int | None:
    """The zone's UTC offset in microseconds if it is the same throughout ``spans`` (first and
    last POSIX seconds each; looked at every hour and at each end: no zone changes its offset for
    less than an hour), else ``None``."""
    seen: set[dt.timedelta | None] = set()
    for first, last in spans:
        t = first
        while True:
            seen.add(dt.datetime.fromtimestamp(min(t, last), tz).utcoffset())
            if len(seen) > 1:
                return None
            if t >= last:
                break
            t += 3600.0
    offset = next(iter(seen), None)
    return None if offset is None else offset // dt.timedelta(microseconds=1)


def _asked(ask: Ask) -> tuple[Any, ...]:
    """An ask as the memo of answers keys it: by its base's instant (two datetimes of one zone
    object compare and hash by wall clock, and the two instants a local time names when the
    clocks go back would be one ask)."""
    return ask.key, ask.base.timestamp(), ask.other_than
