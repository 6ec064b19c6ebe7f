"""Findings held as columns: an audit's million verdicts without a Python object each.

A county's audit has about as many findings as events, nearly all of them a frequency duty's
whole period judged plainly. :class:`FindingColumns` gathers an audit's findings: a kind adds such
a verdict as a row (:meth:`FindingColumns.add`, or many at once with
:meth:`FindingColumns.add_rows`: the fields that differ from one verdict to the next) and any
other finding as the object it built (:meth:`FindingColumns.append`); the fields one target's
findings share (obligation, title, citation, subject, unit: a *family*) are kept
once. :class:`FindingTable` is the result: a sequence equal to the tuple of the same findings, a
finding built (validated as :class:`~complianceengine.findings.Finding` is) each time one is
asked for and not kept, an object added as one returned as it is. What reads every finding
without needing the objects asks for the fields it wants
(:func:`~complianceengine.findings.field_values`): the summaries,
the failing findings, the JSON report (:class:`FindingJSON`).

The columns are Python lists (the core needs no pyarrow); :meth:`FindingTable.arrow` gives them
as one Arrow table for a host that wants them there (pandas, polars, DuckDB).
"""

from __future__ import annotations

import bisect
import datetime as dt
import importlib
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

from pydantic_core import to_json

from .findings import Finding, LazyFindings, SubjectRef, shown
from .timeframes import Period

__all__ = ["FAMILY", "RARE", "ROW", "FindingColumns", "FindingJSON", "FindingTable"]

#: the fields every finding of one obligation and target shares: kept once per family
FAMILY = ("obligation", "obligation_kind", "title", "citation", "cited", "assumed", "subject", "unit")
#: the fields kept per finding (a row's), in the order of :class:`Finding`'s fields
ROW = ("id", "period", "status", "required", "observed", "required_count", "observed_count", "evidence", "decided", "window", "note")
#: the other fields, and their values in a row: the findings added as objects have theirs
RARE = {"step": None, "evidence_omitted": 0, "due": None, "delay_seconds": None, "excused_by": (), "observed_amount": None,
        "evidence_values": (), "flagged": ()}
_AT = {name: i for i, name in enumerate(ROW)}
_VALIDATE = getattr(Finding, "__pydantic_validator__").validate_python  # Finding.model_validate, one call less
_FINDING_JSON = getattr(Finding, "__pydantic_serializer__").to_json  # a subclass's object written as a Finding, as in a tuple


class FindingColumns:
    """Findings being gathered, in order: rows (:meth:`add`), objects (:meth:`append`), other
    tables (:meth:`extend`). :meth:`table` gives the :class:`FindingTable` of what was added."""

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        self._families: list[dict[str, Any]] = []
        self._known: dict[tuple[Any, ...], list[int]] = {}  # a family's texts -> the families with them
        self._family: list[int] = []
        self._columns: tuple[list[Any], ...] = tuple([] for _ in ROW)
        self._objects: dict[int, Finding] = {}

    def __len__(self) -> int:
        return len(self._family)

    def column(self, name: str) -> list[Any]:
        """The values of field ``name`` (one of :data:`ROW`) of the findings added so far."""
        return self._columns[_AT[name]]

    def family(self, fields: Mapping[str, Any]) -> int:
        """A new family: the :data:`FAMILY` fields of the rows :meth:`add` will add with its number
        (values of the types a finding has: they are not validated until a finding is built)."""
        self._families.append({name: fields[name] for name in FAMILY})
        return len(self._families) - 1

    def add(self, family: int, id: str, period: Period, status: str, required: str, observed: str, required_count: int,
            observed_count: int, evidence: tuple[str, ...], decided: dt.datetime, note: str | None, window: str | None = None) -> None:
        """One finding of ``family`` with these fields and the defaults for the others (a period
        judged plainly: no step, exemption, measure or flag); :meth:`add_rows` adds many at once."""
        self.add_rows(family, ids=[id], periods=[period], statuses=[status], required=[required], observed=[observed],
                      required_counts=[required_count], observed_counts=[observed_count], evidence=[evidence], decided=[decided],
                      notes=[note], windows=[window])

    def add_rows(self, family: int, *, ids: list[str], periods: list[Period], statuses: list[str], required: list[str],
                 observed: list[str], required_counts: list[int], observed_counts: list[int], evidence: list[tuple[str, ...]],
                 decided: list[dt.datetime], notes: list[str | None], windows: list[str | None] | None = None) -> None:
        """Findings of ``family`` as :meth:`add` adds one, given as columns of equal length (one
        target's verdicts in a row: a list each instead of a call each); ``windows`` (default:
        none) the raised requirements' calendars."""
        given: tuple[list[Any], ...] = (ids, periods, statuses, required, observed, required_counts, observed_counts, evidence, decided,
                                        [None] * len(ids) if windows is None else windows, notes)
        if len({len(column) for column in given}) > 1:
            raise ValueError(f"the columns of add_rows differ in length: {[len(column) for column in given]}")
        self._family += [family] * len(ids)
        for mine, column in zip(self._columns, given, strict=True):
            mine += column

    def append(self, finding: Finding) -> None:
        """A finding built as an object: kept as it is (returned as it is), its :data:`ROW`
        fields also in the columns."""
        self._objects[len(self._family)] = finding
        self._family.append(self._family_of(finding))
        for column, name in zip(self._columns, ROW, strict=True):
            column.append(getattr(finding, name))

    def extend(self, findings: Iterable[Finding]) -> None:
        """Every finding of ``findings`` in order (a table's rows stay rows)."""
        if not isinstance(findings, FindingTable):
            for finding in findings:
                self.append(finding)
            return
        base, offset = len(self._families), len(self._family)
        self._families += findings.families
        self._family += [base + f for f in findings.family] if base else findings.family
        for mine, theirs in zip(self._columns, findings.columns, strict=True):
            mine += theirs
        self._objects.update((offset + i, finding) for i, finding in findings.objects.items())

    def drop(self, rows: Sequence[int]) -> None:
        """Remove the findings at ``rows`` (ascending, each once), in place, one column at a time
        (each rebuilt from its runs between them), so that a million findings are never held
        twice: an audit drops the few findings the kinds judged outside its range."""
        rows = _ascending(rows, len(self._family))
        if not rows:
            return
        for column in (self._family, *self._columns):
            column[:] = _without(column, rows)
        if self._objects:
            gone = set(rows)
            self._objects = {i - bisect.bisect_left(rows, i): found for i, found in self._objects.items() if i not in gone}

    def _family_of(self, finding: Finding) -> int:
        subject = finding.subject
        key = (finding.obligation, finding.obligation_kind, finding.cited, finding.assumed, subject.kind, subject.id, subject.name,
               subject.role, finding.unit)
        candidates = self._known.setdefault(key, [])
        for index in candidates:
            family = self._families[index]
            title, citation = family["title"], family["citation"]  # the same objects, as a rule: compared by identity first
            if (title is finding.title or title == finding.title) and (citation is finding.citation or citation == finding.citation):
                return index
        candidates.append(self.family({name: getattr(finding, name) for name in FAMILY}))
        return candidates[-1]

    def table(self) -> FindingTable:
        """The findings added, as a table; the columns are handed over (not copied) and these
        start empty again."""
        table = FindingTable(self._families, self._family, self._columns, self._objects)
        self._start()
        return table


class FindingTable(LazyFindings):
    """Findings in order: row ``i`` is ``objects[i]`` when it was added as an object, else the
    finding of family ``families[family[i]]`` with the values of the row's ``columns`` (in
    :data:`ROW` order) and :data:`RARE`'s for the other fields. Made by :class:`FindingColumns`;
    not to be changed once made."""

    def __init__(self, families: list[dict[str, Any]], family: list[int], columns: tuple[list[Any], ...], objects: dict[int, Finding]):
        self.families, self.family, self.columns, self.objects = families, family, columns, objects

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> FindingTable:
        """The table of ``findings`` (a table is returned as it is)."""
        if isinstance(findings, FindingTable):
            return findings
        columns = FindingColumns()
        columns.extend(findings)
        return columns.table()

    def __len__(self) -> int:
        return len(self.family)

    @overload
    def __getitem__(self, index: int) -> Finding: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Finding, ...]: ...

    def __getitem__(self, index: int | slice) -> Finding | tuple[Finding, ...]:
        if isinstance(index, slice):  # as a tuple slices
            return tuple(self._build(i) for i in range(len(self))[index])
        try:
            return self._build(range(len(self))[index])  # an int (or what stands for one), negative from the end
        except IndexError:
            raise IndexError("finding index out of range") from None

    def _build(self, i: int) -> Finding:
        found = self.objects.get(i)
        if found is not None:
            return found
        fields = {**self.families[self.family[i]], **RARE}
        for name, column in zip(ROW, self.columns, strict=True):
            fields[name] = column[i]
        built: Finding = _VALIDATE(fields)
        return built

    def __iter__(self) -> Iterator[Finding]:
        return (self._build(i) for i in range(len(self)))

    def __repr__(self) -> str:
        return f"FindingTable({len(self)} findings, {len(self.objects)} as objects)"

    def is_row(self, i: int) -> bool:
        """Was finding ``i`` added as a row (:meth:`FindingColumns.add`), not as an object?"""
        return i not in self.objects

    def take(self, rows: Sequence[int]) -> FindingTable:
        """The findings at ``rows`` (ascending, each once), as a table sharing this one's families."""
        rows = _ascending(rows, len(self))
        pick = _picker(rows)
        return FindingTable(self.families, list(pick(self.family)), tuple(list(pick(column)) for column in self.columns),
                            _renumbered(self.objects, rows))

    def values(self, name: str) -> Sequence[Any]:
        """Field ``name`` of every finding, in order (a tuple), without building them (any other
        attribute of a finding, such as ``severity``, from the findings built one by one)."""
        if name in _AT:
            return tuple(self.columns[_AT[name]])
        if name in RARE:
            values = [RARE[name]] * len(self)
            for i, finding in self.objects.items():
                values[i] = getattr(finding, name)
            return tuple(values)
        if name in FAMILY:
            shared = [family[name] for family in self.families]
            return tuple([shared[f] for f in self.family])
        return tuple(getattr(finding, name) for finding in self)

    def arrow(self) -> Any:
        """Every finding as one row of an Arrow table (needs pyarrow): the scalar fields as
        columns, the subject as ``subject_kind``, ``subject_id``, ``subject_name`` and
        ``subject_role``, the period as ``period_label``, ``period_start`` and ``period_end``
        (UTC), ``title_en``/``title_zh``, the citation as ``cited``, the id lists as lists."""
        pa = importlib.import_module("pyarrow")
        text, when = pa.string(), pa.timestamp("us", tz="UTC")
        subjects: Sequence[SubjectRef] = self.values("subject")
        periods: Sequence[Period] = self.values("period")
        titles = self.values("title")

        def instants(values: Iterable[dt.datetime | None]) -> Any:
            return pa.array([None if v is None else v.astimezone(dt.timezone.utc) for v in values], when)

        return pa.table({
            "id": pa.array(self.values("id"), text), "obligation": pa.array(self.values("obligation"), text),
            "obligation_kind": pa.array(self.values("obligation_kind"), text),
            "title_en": pa.array([t.en for t in titles], text), "title_zh": pa.array([t.zh for t in titles], text),
            "cited": pa.array(self.values("cited"), text), "assumed": pa.array(self.values("assumed"), pa.bool_()),
            "subject_kind": pa.array([s.kind for s in subjects], text), "subject_id": pa.array([s.id for s in subjects], text),
            "subject_name": pa.array([s.name for s in subjects], text), "subject_role": pa.array([s.role for s in subjects], text),
            "unit": pa.array(self.values("unit"), text), "period_label": pa.array([p.label for p in periods], text),
            "period_start": instants(p.start for p in periods), "period_end": instants(p.end for p in periods),
            "step": pa.array(self.values("step"), text), "status": pa.array(self.values("status"), text),
            "required": pa.array(self.values("required"), text), "observed": pa.array(self.values("observed"), text),
            "required_count": pa.array(self.values("required_count"), pa.int64()),
            "observed_count": pa.array(self.values("observed_count"), pa.int64()),
            "evidence": pa.array([list(v) for v in self.values("evidence")], pa.list_(text)),
            "evidence_omitted": pa.array(self.values("evidence_omitted"), pa.int64()),
            "due": instants(self.values("due")), "decided": instants(self.values("decided")),
            "delay_seconds": pa.array(self.values("delay_seconds"), pa.int64()), "window": pa.array(self.values("window"), text),
            "excused_by": pa.array([list(v) for v in self.values("excused_by")], pa.list_(text)),
            "note": pa.array(self.values("note"), text), "observed_amount": pa.array(self.values("observed_amount"), pa.float64()),
            "evidence_values": pa.array([list(v) for v in self.values("evidence_values")], pa.list_(pa.float64())),
            "flagged": pa.array([list(v) for v in self.values("flagged")], pa.list_(text)),
        })


def _picker(rows: Sequence[int]) -> Callable[[list[Any]], Sequence[Any]]:
    """What takes the items at ``rows`` of a column (in C)."""
    if not rows:
        return lambda column: ()
    if len(rows) == 1:
        return lambda column: (column[rows[0]],)
    return operator.itemgetter(*rows)


def _without(column: list[Any], rows: Sequence[int]) -> list[Any]:
    """The column without the items at ``rows`` (ascending): its runs between them, copied in C."""
    out: list[Any] = []
    start = 0
    for row in rows:
        out += column[start:row]
        start = row + 1
    out += column[start:]
    return out


def _renumbered(objects: dict[int, Finding], rows: Sequence[int]) -> dict[int, Finding]:
    """The findings held as objects, by their number among ``rows``."""
    return {j: objects[i] for j, i in enumerate(rows) if i in objects} if objects else {}


def _ascending(rows: Sequence[int], size: int) -> Sequence[int]:
    """``rows`` if they are row numbers below ``size``, ascending and each once; else an error."""
    previous = -1
    for row in rows:
        if not isinstance(row, int) or not previous < row < size:
            raise IndexError(f"rows must be ascending row numbers below {size}, each once; got {row!r} after {previous}")
        previous = row
    return rows


#: the pieces :class:`FindingJSON` keeps of the fields rows share, before it starts again
_REMEMBERED = 1 << 16


class FindingJSON:
    """The JSON texts of a table's findings in UTF-8, each as pydantic writes a :class:`Finding`
    with ``indent=2`` (as :func:`~complianceengine.findings.shown` with ``limit`` shows it),
    without building the findings added as rows: their texts are put together from pieces, each
    family's, period's, text's and instant's worked out once for the whole table, and the fields
    before and after the evidence once for all the rows that share them (a finding added as an
    object is written by pydantic). Bytes, not text: a family's title in Chinese would make each
    finding's text one of two bytes a character, to be encoded again on its way to a file."""

    def __init__(self, table: FindingTable, limit: int | None = None):
        self.table, self.limit = table, limit
        self._strings: dict[str | None, str] = {None: "null"}
        self._instants: dict[int, tuple[dt.datetime, str]] = {}
        self._periods: dict[int, tuple[Period, str]] = {}
        self._families: dict[int, bytes] = {}
        self._heads: dict[tuple[Any, ...], bytes] = {}
        self._tails: dict[tuple[Any, ...], bytes] = {}

    def __call__(self, start: int, stop: int) -> Iterator[bytes]:
        """The texts of findings ``start``..``stop``, in UTF-8."""
        table = self.table
        columns, family_of, families, objects = table.columns, table.family, table.families, table.objects
        ids, periods, statuses, required, observed = (columns[_AT[n]] for n in ("id", "period", "status", "required", "observed"))
        wanted, counted, evidence, decided, notes = (columns[_AT[n]] for n in ("required_count", "observed_count", "evidence", "decided", "note"))
        windows = columns[_AT["window"]]
        family_texts, ident, limit = self._families, self._ident, self.limit
        instants, period_texts, heads, tails = self._instants.get, self._periods.get, self._heads, self._tails
        for i in range(start, stop):
            found = objects.get(i)
            if found is not None:
                yield _FINDING_JSON(shown(found, limit), indent=2)  # as a Finding, whatever its class
                continue
            f = family_of[i]
            family = family_texts.get(f)
            if family is None:
                family = family_texts[f] = _family_text(families[f]).encode()
            seen, name = evidence[i], ids[i]
            kept = seen if limit is None else seen[:limit]
            # the id and the evidence quoted as they are when none needs an escape (checked at once)
            probe = name + "".join(kept)
            if probe.isascii() and probe.isprintable() and '"' not in probe and "\\" not in probe:
                name = f'"{name}"'
                listed = '[\n    "' + '",\n    "'.join(kept) + '"\n  ]' if kept else "[]"
            else:
                name = ident(name)
                listed = "[\n    " + ",\n    ".join([ident(e) for e in kept]) + "\n  ]" if kept else "[]"
            if len(kept) < len(seen):
                listed += f',\n  "evidence_omitted": {len(seen) - len(kept)}'
            period, end = periods[i], decided[i]
            found_period, found_end = period_texts(id(period)), instants(id(end))
            period_text = found_period[1] if found_period is not None and found_period[0] is period else self._period(period)
            end_text = found_end[1] if found_end is not None and found_end[0] is end else self._instant(end)
            # the fields before the evidence and those after it, each put together once for all the
            # rows that share them (the targets of a frequency duty share periods, sentences, counts)
            status, needed, count = statuses[i], wanted[i], counted[i]
            if type(needed) is int and type(count) is int:  # a bool or float that equals the int is written otherwise
                key = (period_text, status, required[i], observed[i], needed, count)
                head = heads.get(key)
                if head is None:
                    head = heads[key] = self._head(period_text, status, required[i], observed[i], needed, count)
            else:
                head = self._head(period_text, status, required[i], observed[i], needed, count)
            after = (end_text, windows[i], notes[i])
            tail = tails.get(after)
            if tail is None:
                tail = tails[after] = self._tail(end_text, windows[i], notes[i])
            yield b"".join((b'{\n  "id": ', name.encode(), b",", family, head, listed.encode(), tail))

    def _head(self, period: str, status: str, required: str, observed: str, wanted: int, counted: int) -> bytes:
        """A row's fields from its period to the evidence's name (the period already written)."""
        if len(self._heads) >= _REMEMBERED:  # ever new periods or sentences: start again
            self._heads.clear()
        string = self._string
        return (f'\n  "period": {period},\n  "step": null,\n  "status": "{status}",\n  "required": {string(required)},'
                f'\n  "observed": {string(observed)},\n  "required_count": {wanted},\n  "observed_count": {counted},'
                f'\n  "evidence": ').encode()

    def _tail(self, decided: str, window: str | None, note: str | None) -> bytes:
        """A row's fields after its evidence, to its end (the instant decided already written)."""
        if len(self._tails) >= _REMEMBERED:
            self._tails.clear()
        string = self._string
        return (f',\n  "due": null,\n  "decided": {decided},\n  "delay_seconds": null,\n  "window": {string(window)},'
                f'\n  "excused_by": [],\n  "note": {string(note)},\n  "observed_amount": null,\n  "evidence_values": [],'
                f'\n  "flagged": []\n}}').encode()

    def _string(self, value: str | None) -> str:
        found = self._strings.get(value)
        if found is None:
            found = self._strings[value] = to_json(value).decode()
        return found

    def _ident(self, value: str) -> str:
        """An id: quoted as it is when nothing in it is escaped (not kept: ids rarely repeat)."""
        if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
            return f'"{value}"'
        return to_json(value).decode()

    def _instant(self, value: dt.datetime) -> str:
        # by object: the instants of plain rows are their periods' ends, shared by every target
        found = self._instants.get(id(value))
        if found is None or found[0] is not value:
            found = self._instants[id(value)] = (value, to_json(value).decode())
        return found[1]

    def _period(self, period: Period) -> str:
        found = self._periods.get(id(period))
        if found is None or found[0] is not period:
            found = self._periods[id(period)] = (period, to_json(period, indent=2).decode().replace("\n", "\n  "))
        return found[1]


def _family_text(family: Mapping[str, Any]) -> str:
    """The lines of a family's fields as pydantic writes them inside a finding (``indent=2``):
    cut from a dump of a dict with the same values, which pydantic lays out as it lays out the
    dataclass's fields."""
    text = to_json({name: family[name] for name in FAMILY}, indent=2).decode()
    return text[1:text.rindex("\n")] + ","
