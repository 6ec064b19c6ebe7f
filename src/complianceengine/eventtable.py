"""Events held as columns: a log whose screened events stay in an Arrow table until asked for.

``read_events(..., engine="duckdb")`` keeps the lines DuckDB found plain (:mod:`complianceengine.screen`)
as rows of an Arrow table and every other event as an :class:`~complianceengine.model.Event`;
:class:`EventTable` is the sequence of all of them in the log's order. An event is built when it
is first asked for, exactly as the reference reader builds it, and kept. The DuckDB backend reads
the table's rows themselves (:meth:`EventTable.parts`), so a county's events never become Python
objects there; anything else (the reference backend, ``explain``, the monitor) iterates it as it
iterates a tuple of events, and gets equal events.

:class:`View` is a part of a table (positions in it) as a sequence of events: what timelines hold
when the events come from a table, so slicing a timeline builds no event.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from pydantic_core import to_json

from .model import Event, LazyEvents

__all__ = ["EventTable", "View", "events_arrow"]

#: how many events are built from rows at once (one Arrow ``take``)
_CHUNK = 1 << 16
#: the columns of :meth:`EventTable.arrow`
_COLUMNS = ("pos", "id", "kind", "t", "actor", "participants", "on_behalf_of", "unit", "subject", "attrs")


class EventTable(LazyEvents):
    """Events in log order: position ``p`` is ``objects[p]`` or row ``where[p]`` of ``rows``.

    ``rows`` has the columns of :func:`complianceengine.screen.screen`'s plain lines and ``file``
    (an index into the reader's files); ``build(row)`` makes the event of one row (a dict of its
    columns), as the reader that screened it would have."""

    def __init__(self, rows: Any, where: Sequence[int], objects: dict[int, Event], build: Callable[[dict[str, Any]], Event]):
        # one chunk per column: taking rows from a chunked table costs as much as the table
        self.rows, self.where, self.objects, self._build = rows.combine_chunks(), list(where), dict(objects), build
        self._built: dict[int, Event] = {}

    def __len__(self) -> int:
        return len(self.where)

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Event, ...]: ...

    def __getitem__(self, index: int | slice) -> Event | tuple[Event, ...]:
        if isinstance(index, slice):  # as a tuple slices (the events built); timelines use views
            return tuple(self.view()[index])
        return self.view()[index]

    def __iter__(self) -> Iterator[Event]:
        return iter(self.view())

    # equal to the tuple of the same events, added and multiplied into tuples (LazyTuple); a view
    # compares itself; unhashable, as it always was (hashing would build every event)
    __hash__ = None  # type: ignore[assignment]

    def view(self) -> View:
        """Every event of the table, as a view."""
        return View(self, range(len(self)))

    def __repr__(self) -> str:
        return f"EventTable({len(self)} events, {len(self.objects)} as objects)"

    def at(self, positions: Sequence[int]) -> list[Event]:
        """The events at ``positions``, built from their rows where not built yet (in one go)."""
        built, objects, where = self._built, self.objects, self.where
        missing = [p for p in dict.fromkeys(positions) if p not in built and p not in objects]
        if missing:
            pa = importlib.import_module("pyarrow")
            for p, row in zip(missing, self.rows.take(pa.array([where[p] for p in missing], pa.int64())).to_pylist(), strict=True):
                built[p] = self._build(row)
        return [objects[p] if p in objects else built[p] for p in positions]

    def arrow(self) -> Any:
        """Every event as one Arrow row, in log order, with the columns the DuckDB backend loads:
        ``pos``, ``id``, ``kind``, ``t`` (POSIX seconds), ``actor``, ``participants``,
        ``on_behalf_of``, ``unit``, ``subject`` and ``attrs`` (the attributes as JSON text)."""
        pa = importlib.import_module("pyarrow")
        rows, objects = self.parts()
        kept = rows.filter(importlib.import_module("pyarrow.compute").greater_equal(rows.column("pos"), 0))
        planted = pa.table({name: kept.column("attributes" if name == "attrs" else name) for name in _COLUMNS})
        planted = planted.set_column(planted.schema.get_field_index("attrs"), "attrs",
                                     importlib.import_module("pyarrow.compute").coalesce(planted.column("attrs"), pa.scalar("{}", pa.string())))
        return pa.concat_tables([planted, objects.cast(planted.schema)]).sort_by("pos")

    def parts(self) -> tuple[Any, Any]:
        """The table's events as two Arrow tables, without copying its rows: the rows with a
        ``pos`` column (their position in the log; -1 for a row the log does not keep, a
        repeat), and the events held as objects with the columns of :meth:`arrow`."""
        pa = importlib.import_module("pyarrow")
        pos = [-1] * self.rows.num_rows
        for p, row in enumerate(self.where):
            if row >= 0:
                pos[row] = p
        objects = sorted(self.objects.items())
        held = events_arrow([e for _, e in objects], [p for p, _ in objects])
        return self.rows.append_column("pos", pa.array(pos, pa.int64())), held

    def times(self) -> list[float]:
        """Each event's instant as POSIX seconds, in log order (as ``event.time.timestamp()``)."""
        pa = importlib.import_module("pyarrow")
        # an event held as an object has no row (-1): any row stands in until it is set below
        stamps = (self.rows.column("t").take(pa.array([max(row, 0) for row in self.where], pa.int64())).to_pylist() if self.rows.num_rows
                  else [0.0] * len(self))
        for p, event in self.objects.items():
            stamps[p] = event.time.timestamp()
        return stamps


class View(Sequence[Event]):
    """Some events of a table, by their positions in it, in order: built when iterated."""

    def __init__(self, table: EventTable, positions: Sequence[int]):
        self.table, self.positions = table, positions

    def __len__(self) -> int:
        return len(self.positions)

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> View: ...

    def __getitem__(self, index: int | slice) -> Event | View:
        if isinstance(index, slice):
            return View(self.table, self.positions[index])
        return self.table.at([self.positions[index]])[0]  # a negative index or one out of range as a list takes it

    def __iter__(self) -> Iterator[Event]:
        positions = self.positions
        for start in range(0, len(positions), _CHUNK):
            yield from self.table.at(positions[start:start + _CHUNK])

    def __eq__(self, other: object) -> bool:
        return _equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    def picked(self, spans: Sequence[tuple[int, int]]) -> View:
        """The events in the ``(lo, hi)`` spans of this view, in order."""
        if len(spans) == 1:
            return View(self.table, self.positions[spans[0][0]:spans[0][1]])
        return View(self.table, [p for lo, hi in spans for p in self.positions[lo:hi]])


def _equal(events: Sequence[Event], other: object) -> bool:
    """Lazy events equal any sequence of the same events (a tuple, a list, another table)."""
    if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
        return NotImplemented  # type: ignore[no-any-return]
    return len(events) == len(other) and all(a == b for a, b in zip(events, other))


def events_arrow(events: Sequence[Event], positions: Sequence[int], times: Sequence[float] | None = None) -> Any:
    """Events held as objects as an Arrow table with the columns of :meth:`EventTable.arrow`
    (``pos`` from ``positions``; ``t`` from ``times`` when they are known already)."""
    pa = importlib.import_module("pyarrow")
    text = pa.string()
    return pa.table({
        "pos": pa.array(positions, pa.int64()), "id": pa.array([e.id for e in events], text), "kind": pa.array([e.kind for e in events], text),
        "t": pa.array(times if times is not None else [e.time.timestamp() for e in events], pa.float64()),
        "actor": pa.array([e.actor for e in events], text), "participants": pa.array([list(e.participants) for e in events], pa.list_(text)),
        "on_behalf_of": pa.array([e.on_behalf_of for e in events], text), "unit": pa.array([e.unit for e in events], text),
        "subject": pa.array([e.subject for e in events], text),
        "attrs": pa.array([to_json(e.attributes).decode() if e.attributes else "{}" for e in events], text),
    })
