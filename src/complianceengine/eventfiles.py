"""Reading events (JSONL, CSV, or a plugin's format) into an :class:`~complianceengine.model.EventLog`.

Events are read line by line (JSONL straight from the file); a malformed event becomes a
:class:`~complianceengine.model.Reject` with its file, line and raw text instead of stopping the
read or vanishing, and every non-blank line is exactly one of an event, a reject or an identical
repeat.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import functools
import dataclasses
import datetime as dt
import importlib
import io
import json
import os
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import pendulum
from pendulum.tz import fixed_timezone
from pydantic import BaseModel, ValidationError

from .bulk import gc_paused
from .progress import Progress, quiet
from .errors import EventSourceError, Location, PluginError, Problem, UsageError
from .loading import _message
from .model import CORE_EVENT_FIELDS, AttributeSpec, Duplicate, Event, EventLog, Registry, Reject, Ruleset
from .outputs import write_atomically
from .plugins import Plugins
from .references import missing_record, records
from .checks import path_text
from .duck import AUTO_BYTES, AUTO_ROWS, ENGINES, Engine, available, importable
from .eventtable import EventTable
from .screen import RECORD_LINE, Rules, csv_connection, normalised_screen, screen, screen_csv, screen_table, screenable, split_csv

def read_events(
    paths: str | Path | Iterable[str | Path], ruleset: Ruleset, registry: Registry | None = None, plugins: Plugins | None = None,
    *, progress: Progress = quiet, engine: Engine = "auto", threads: int | None = None, memory_limit: str | None = None,
) -> EventLog:
    """Read events from JSONL (``.jsonl``, ``.ndjson``) and CSV (``.csv``) files; ``-`` is
    standard input, read as JSON lines.

    Every line becomes an :class:`Event` or a :class:`Reject`; repeated ids are listed in
    ``duplicates`` (identical repeats are used once, conflicting ones are rejected). Naive times
    are read in the ruleset's time zone. With a registry, actors, participants, units and subjects
    must exist in it. Plugins (default: the installed ones) may read other formats and normalise
    platform exports. Events built in code are checked the same way by :func:`events_from_records`.
    ``progress`` is told how many lines of each file have been read, every 20,000 (every block
    of lines DuckDB screens, with the ``duckdb`` engine; :mod:`complianceengine.progress`).

    ``engine="duckdb"`` screens JSON lines, CSV and Parquet files with DuckDB
    (:mod:`complianceengine.screen`): the plain lines are checked in bulk and kept as rows of an
    Arrow table, every other line is read as the reference reader reads it, and ``events`` is an
    :class:`~complianceengine.eventtable.EventTable` equal to the tuple the reference reader
    gives (each event built when first asked for; the DuckDB engine of :func:`audit` builds
    few); ``threads`` (the blocks screened at once: unless told two, no more than the processors,
    or one with a ``memory_limit``) and ``memory_limit`` are DuckDB's settings then. ``"reference"`` reads
    every line in Python. ``"auto"`` (the default, as :func:`audit`'s) screens a file with DuckDB
    when it is large (a JSON lines or CSV file of :data:`~complianceengine.duck.AUTO_BYTES` or more, a
    Parquet file of :data:`~complianceengine.duck.AUTO_ROWS` rows or more), and every file when
    ``threads`` or ``memory_limit`` is given; standard input is read in Python unless they are.
    Whichever engine reads, the log is the same.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    reader = _EventReader(ruleset, registry, plugins or Plugins(), progress, _engine(engine, threads, memory_limit))
    reader.settings = {"threads": threads, "memory_limit": memory_limit}
    with gc_paused():
        for path in paths:
            reader.read_file(Path(path))
        return reader.log()


def _engine(engine: Engine, threads: int | None, memory_limit: str | None) -> Engine:
    """The engine a reader is asked for, checked (:class:`UsageError`): ``auto`` with DuckDB's
    settings is ``duckdb`` (without them ``auto`` decides file by file, and reads in Python when
    DuckDB does not import)."""
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    settings = threads is not None or memory_limit is not None
    if engine == "auto" and settings:
        engine = "duckdb"
    if engine == "duckdb" and not available():
        raise UsageError("reading with the duckdb engine needs duckdb, pyarrow and sqlglot: pip install 'complianceengine[duckdb]'")
    if engine == "reference" and settings:
        raise UsageError("threads and memory_limit are DuckDB settings: give them with engine='duckdb' or 'auto'")
    return engine


def events_from_records(
    records: Iterable[Any], ruleset: Ruleset, registry: Registry | None = None, plugins: Plugins | None = None, *, source: str = "<records>",
    engine: Engine = "auto", threads: int | None = None, memory_limit: str | None = None,
) -> EventLog:
    """Validate events built in code, exactly as :func:`read_events` validates the lines of a
    JSON lines file, and return them as an :class:`EventLog`.

    Each record is a mapping, a dataclass or a pydantic model (an :class:`Event` included) with
    the fields of a JSON line: ``id``, ``kind``, ``time``, ``actor``, ``participants``,
    ``on_behalf_of``, ``unit``, ``subject`` and ``attributes``. ``time`` (and a ``datetime``
    attribute) may also be a :class:`datetime.datetime`; a naive one is in the ruleset's zone.
    ``origin`` is ignored: the record's place in ``records`` is its origin. A record that is not
    a valid event becomes a :class:`Reject` whose ``file`` is ``source`` and whose ``line`` is the
    record's index in ``records`` (counted from 0); repeated ids are listed in ``duplicates``.
    With a registry, people, units and subjects must exist in it. Nothing passed in is modified.

    ``records`` may also be a table: a pyarrow ``Table`` or ``RecordBatch``, or anything that
    exports the Arrow stream interface (``__arrow_c_stream__``: a polars or DuckDB result) or is a
    pandas ``DataFrame``, read through pyarrow. A row is a record: its core
    columns are the event's fields, an ``attributes`` column (a struct or map) and every other
    column its attributes, and an empty cell (null) is no value, as an empty CSV cell is; its
    ``line`` is its row number (from 0). With ``engine="duckdb"`` (``threads`` and
    ``memory_limit`` DuckDB's settings) a table's rows are screened by DuckDB, as the lines of a
    JSON lines file are: the plain ones stay rows of an Arrow table, the others are read as
    records, and ``events`` is an :class:`~complianceengine.eventtable.EventTable` equal to the
    tuple the reference gives (docs/semantics.md, "Reading with DuckDB", says which columns).
    ``"auto"`` (the default) screens a table of :data:`~complianceengine.duck.AUTO_ROWS` rows or
    more (any table, with ``threads`` or ``memory_limit``); ``"reference"`` reads every row in Python.
    """
    engine = _engine(engine, threads, memory_limit)
    table = _as_table(records)
    if table is None and isinstance(records, (Mapping, BaseModel, str, bytes)):  # one record, or an EventLog, where records belong
        raise UsageError(
            f"events_from_records takes an iterable of records (a list of dicts, dataclasses or models), got {type(records).__name__}"
        )
    reader = _EventReader(ruleset, registry, plugins or Plugins(), engine=engine)
    reader.settings = {"threads": threads, "memory_limit": memory_limit}
    reader.path = Path(source)
    with gc_paused():
        if table is not None:
            reader.read_table(table, source, 0)
        else:
            for index, record in enumerate(records):
                reader.read_record(source, index, record)
        return reader.log()


def _record_fields(record: Any) -> dict[str, Any] | None:
    """A new dict of the fields of a record built in code, or None when it is no kind of record."""
    if isinstance(record, BaseModel):
        return record.model_dump()
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.asdict(record)
    if isinstance(record, Mapping):
        return dict(record)
    return None


def _pyarrow(what: str, module: str = "") -> Any:
    """pyarrow (or one of its modules), or a :class:`UsageError` saying it is missing (a dependency
    of the package, also named by the ``arrow`` extra)."""
    try:
        return importlib.import_module("pyarrow" + (f".{module}" if module else ""))
    except ImportError:
        raise UsageError(f"{what} needs pyarrow: pip install 'complianceengine[arrow]'") from None


def _as_table(records: Any) -> Any:
    """``records`` as a pyarrow table when it is one (a Table or RecordBatch, an object with the
    Arrow stream interface, a pandas DataFrame), else None (an iterable of records)."""
    kind = type(records)
    module = kind.__module__.split(".")[0]
    if module == "pyarrow" and hasattr(records, "to_pylist"):
        pa = _pyarrow(f"a {kind.__name__} of events")
        if isinstance(records, pa.RecordBatch):
            return pa.Table.from_batches([records])
        if isinstance(records, (pa.StructArray, pa.ChunkedArray)) and pa.types.is_struct(records.type):
            return pa.Table.from_struct_array(records)
        return records  # any other pyarrow value: its rows read one by one
    if hasattr(records, "__arrow_c_stream__") or (module == "pandas" and kind.__name__ == "DataFrame"):
        return _pyarrow(f"a {kind.__name__} of events").table(records)
    return None


def _microseconds(pa: Any, table: Any) -> Any:
    """The table with its instants in nanoseconds read to the microsecond, as a time written with
    nine digits of fraction is read (pendulum keeps six): floored, so that one before 1970 is not
    moved later (pyarrow makes no ``datetime`` of a nanosecond); those in a struct column's fields
    too (an ``attributes`` struct)."""
    pc = importlib.import_module("pyarrow.compute")
    for i, field in enumerate(table.schema):
        if _has_nanoseconds(pa, field.type):
            column = pa.chunked_array([_floored(pa, pc, chunk) for chunk in table.column(i).chunks], _floored_type(pa, field.type))
            table = table.set_column(i, field.name, column)
    return table


def _utc_named(pa: Any, table: Any) -> Any:
    """The table with each column of instants in the zone ``Z`` (UTC, as ISO 8601 writes it, but
    no zone name Python knows: pyarrow makes no ``datetime`` of it) labelled ``UTC``: the same
    instants, read alike by both engines (the reference stopped with pyarrow's error, DuckDB read
    them as UTC)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz == "Z":
            table = table.set_column(i, field.name, table.column(i).cast(pa.timestamp(field.type.unit, tz="UTC")))
    return table


def _has_nanoseconds(pa: Any, kind: Any) -> bool:
    if pa.types.is_struct(kind):
        return any(_has_nanoseconds(pa, kind.field(j).type) for j in range(kind.num_fields))
    return bool(pa.types.is_timestamp(kind) and kind.unit == "ns")


def _floored_type(pa: Any, kind: Any) -> Any:
    if pa.types.is_struct(kind):
        return pa.struct([kind.field(j).with_type(_floored_type(pa, kind.field(j).type)) for j in range(kind.num_fields)])
    return pa.timestamp("us", tz=kind.tz) if pa.types.is_timestamp(kind) and kind.unit == "ns" else kind


def _floored(pa: Any, pc: Any, array: Any) -> Any:
    """One chunk of a column with its nanosecond instants floored to the microsecond."""
    kind = array.type
    if pa.types.is_struct(kind) and _has_nanoseconds(pa, kind):
        children = [_floored(pa, pc, array.field(j)) for j in range(kind.num_fields)]
        return pa.StructArray.from_arrays(children, fields=list(_floored_type(pa, kind)), mask=array.is_null())
    if pa.types.is_timestamp(kind) and kind.unit == "ns":
        # floored in UTC (the same instants: a zone's offsets are whole seconds); in the zone's own
        # time, pyarrow refuses an instant whose local time the clocks pass twice
        utc = array if kind.tz is None else array.cast(pa.timestamp("ns", tz="UTC"))
        return pc.floor_temporal(utc, unit="microsecond").cast(pa.timestamp("us", tz=kind.tz))
    return array


def _check_names(pa: Any, table: Any, file: str) -> None:
    """:class:`EventSourceError` when a table names a value twice, so that a record could keep
    only one of the two (as a CSV header naming a column twice is): a column twice, a field of
    an ``attributes`` struct that is also an attribute column, or a struct field twice (pyarrow
    makes no record of such a row)."""
    names = table.schema.names
    problems = [f"column {name!r} appears twice" for name in dict.fromkeys(n for n in names if names.count(n) > 1)]
    if names.count("attributes") == 1 and pa.types.is_struct(table.schema.field("attributes").type):
        kind = table.schema.field("attributes").type
        problems += [f"{kind.field(j).name!r} is both a column and a field of the attributes column" for j in range(kind.num_fields)
                     if kind.field(j).name in names and kind.field(j).name not in _CORE_FIELDS]  # a core column is no attribute
    for field in table.schema:
        twice = _field_twice(pa, field.type)
        if twice is not None:
            problems.append(f"column {field.name!r} has the field {twice!r} twice")
    if problems:
        raise EventSourceError([Problem(Location(file), "", f"{problem}: a record holds one value of each name") for problem in problems])


def _field_twice(pa: Any, kind: Any) -> str | None:
    """A field name a struct type (or a struct inside it) gives twice, else None: pyarrow makes
    no record of such a row."""
    if pa.types.is_struct(kind):
        names = [kind.field(j).name for j in range(kind.num_fields)]
        twice = next((name for name in names if names.count(name) > 1), None)
        return twice if twice is not None else next(
            (found for j in range(kind.num_fields) if (found := _field_twice(pa, kind.field(j).type)) is not None), None)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return _field_twice(pa, kind.value_type)
    if pa.types.is_map(kind):
        return _field_twice(pa, kind.key_type) or _field_twice(pa, kind.item_type)
    return None


def _row_record(row: dict[str, Any]) -> dict[str, Any]:
    """A table row as a record: the core columns as fields, the ``attributes`` column and the
    other columns as attributes, empty cells (nulls) left out."""
    record: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for name, value in row.items():
        if value is None:
            continue
        if name in _CORE_FIELDS:
            record[name] = value
        elif name == "attributes" and isinstance(value, (dict, list)):  # a struct, or a map (pairs)
            pairs = value.items() if isinstance(value, dict) else value
            attributes.update((key, item) for key, item in pairs if item is not None)
        else:
            attributes[name] = value
    if attributes:
        record["attributes"] = attributes
    return record


#: the raw text of a record, or what writes it when it is needed (a reject)
Raw = str | Callable[[], str]


def _record_text(fields: Any) -> str:
    """A record as the raw text of its reject: JSON when it can be, its repr otherwise."""
    try:
        return json.dumps(fields, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(fields)


class _EventReader:
    def __init__(self, ruleset: Ruleset, registry: Registry | None, plugins: Plugins, progress: Progress = quiet,
                 engine: Engine = "reference"):
        self.ruleset = ruleset
        self.registry = registry
        self.engine = engine
        self.settings: dict[str, Any] = {}  # DuckDB's, when it screens
        self.progress = progress
        self.plugins = plugins
        self.path = Path()
        self.zone = pendulum.timezone(ruleset.timezone)
        # registry ids (each mapped to itself: an event's name is replaced by the registry's text)
        self.people = None if registry is None else {p.id: p.id for p in registry.people}
        self.units = None if registry is None else {u.id: u.id for u in registry.units}
        self.subjects = None if registry is None else {s.id: s.id for s in registry.subjects}
        self.records = None if registry is None else records(registry)
        self.kinds = {name: _Kind(name, kind) for name, kind in ruleset.event_kinds.items()}
        self.events: list[Event] = []
        # once a file is screened (see _read_screened): the events kept, in order, each an event
        # or the number of a plain row of ``tables``
        self.kept: list[Event | int] | None = None
        self.rejects: list[Reject] = []
        self.duplicates: list[Duplicate] = []
        self.first: dict[str, Event | int] = {}
        # screened lines: the plain rows of each block, the rows before each block ends, the files
        self.tables: list[Any] = []
        self.offsets: list[int] = []
        self.files: list[str] = []
        # the per-record normaliser hook is asked for every record, but only when some plugin has
        # it; the per-file one once for each file (its functions then for every record)
        self.normalises = plugins.has("complianceengine_normalise_record")
        self.normaliser_hook = plugins.has(_NORMALISER)
        self._normalisers: dict[Path, list[tuple[str, Callable[[dict[str, Any]], Any]]]] = {}
        # one copy of each repeated text (kinds, people, units, subjects, attribute names and enum
        # values) instead of one per line
        self.texts: dict[str, str] = {}
        self.builder = _RowBuilder(self.zone, self.kinds, self.people, self.units, self.subjects, self.texts, self.files)

    def read_file(self, path: Path) -> None:
        self.path = path
        suffix = path.suffix.lower()
        if str(path) == "-":  # standard input: JSON lines (of a size not known before it is read)
            claimed = self._screening(path, False)
            if claimed is None:
                self._read_jsonl(_text_lines(sys.stdin.buffer), "<stdin>")
            else:
                self._read_screened(sys.stdin.buffer, "<stdin>", claimed)
            return
        if not path.exists():
            raise EventSourceError([Problem(Location(str(path)), "", "cannot read file: no such file")])
        reader, provided = self.plugins.first_named("complianceengine_read_events", path=path, ruleset=self.ruleset)
        if provided is not None:
            try:
                rows = [(line, raw, record) for line, raw, record in provided]
            except (TypeError, ValueError) as exc:
                raise PluginError(str(reader), "complianceengine_read_events", f"must give (line, raw text, record) triples for {path}: {exc}") from None
            for line, raw, record in rows:
                if not isinstance(record, dict):
                    self._reject(str(path), line, raw, ["the reader plugin gave something other than a record"])
                    continue
                record = dict(record)
                attributes = record.pop("attributes", {})
                self._accept(str(path), line, raw, record, attributes if isinstance(attributes, dict) else {}, from_text=True,
                             unchecked_text=True)
            return
        if suffix == ".parquet" or path.is_dir():
            self._read_parquet(path)
            return
        if suffix not in (".jsonl", ".ndjson", ".csv"):
            raise EventSourceError([Problem(Location(str(path)), "", f"unknown events format {suffix or '(none)'}; use .jsonl, .csv or .parquet")])
        try:
            if suffix == ".csv":  # a quoted cell may span lines: the reader needs the whole text
                data = path.read_bytes()
                text, undecodable = _decoded(data)
                if undecodable and undecodable[0][0] == 1:  # without its header no row can be read
                    raise EventSourceError([Problem(Location(str(path), 1), "", f"the header is {_NOT_UTF8}")])
                for number, raw in undecodable:
                    self._reject(str(path), number, raw, [_NOT_UTF8])
                claimed = self._screening(path, len(data) >= AUTO_BYTES)
                # DuckDB reads the bytes of the text (the file's own when it is all UTF-8)
                data = data.removeprefix(b"\xef\xbb\xbf") if not undecodable else text.encode("utf-8")
                if claimed is None or not self._read_csv_screened(text, data, str(path), claimed):
                    self._read_csv(text, str(path))
            else:  # one line at a time: memory grows with the events kept, not with the file
                with path.open("rb") as stream:
                    claimed = self._screening(path, os.fstat(stream.fileno()).st_size >= AUTO_BYTES)
                    if claimed is None:
                        self._read_jsonl(_text_lines(stream), str(path))
                    else:
                        self._read_screened(stream, str(path), claimed)
        except OSError as exc:
            raise EventSourceError([Problem(Location(str(path)), "", f"cannot read file: {exc.strerror or exc}")]) from None

    def _read_parquet(self, path: Path) -> None:
        """A Parquet file, or a folder of them (hive-partitioned: ``kind=patrol/part-0.parquet``,
        the partition values are columns too), read with pyarrow a file at a time, each with its
        own columns (and the partition's): a column only some files have is not lost, a column
        of another type in one file is that file's; each row is a record as in
        :func:`events_from_records`, its ``line`` its row number in its file (from 1, as a
        line's)."""
        dataset = _pyarrow("the Parquet events file " + str(path), "dataset")
        pa = importlib.import_module("pyarrow")
        try:  # pyarrow's errors are one or the other (ArrowInvalid, ArrowIOError)
            found = dataset.dataset(str(path), format="parquet", partitioning="hive")
            fragments = sorted(found.get_fragments(), key=lambda fragment: fragment.path)
        except (OSError, ValueError) as exc:
            raise EventSourceError([Problem(Location(str(path)), "", f"cannot read Parquet: {exc}")]) from None
        if not fragments:
            raise EventSourceError([Problem(Location(str(path)), "", "no Parquet files in this folder")])
        names = set(found.schema.names)
        for fragment in fragments:
            # the folders' key=value names above the file are its partition columns
            folders = Path(os.path.relpath(fragment.path, path)).parts[:-1] if path.is_dir() else ()
            keys = [part.split("=", 1)[0] for part in folders if "=" in part]
            own = fragment.physical_schema
            partition = [found.schema.field(key) for key in dict.fromkeys(keys) if key in names and key not in own.names]
            try:
                table = fragment.to_table(schema=pa.schema([*own, *partition]))
            except (OSError, ValueError) as exc:
                raise EventSourceError([Problem(Location(fragment.path), "", f"cannot read Parquet: {exc}")]) from None
            self.read_table(table, fragment.path, 1)

    def read_record(self, file: str, index: int, record: Any) -> None:
        """One record built in code (see :func:`events_from_records`), checked as a JSON line is."""
        fields = _record_fields(record)
        if fields is None:
            self._reject(file, index, _record_text(record), [f"expected a mapping, a dataclass or a pydantic model, got {type(record).__name__}"])
            return
        fields.pop("origin", None)
        # the raw text is only needed for a reject: kept as a copy of the record (cheaper than
        # writing JSON for every accepted event) and written out when rejected
        original = dict(fields)
        raw: Raw = lambda: _record_text(original)  # noqa: E731
        attributes = fields.pop("attributes", None)
        if attributes is None:
            attributes = {}
        elif isinstance(attributes, Mapping):
            attributes = dict(attributes)
        else:
            self._reject(file, index, raw, ["'attributes' must be a mapping"])
            return
        if not fields.keys() <= _CORE_FIELDS:
            extra = sorted(map(str, set(fields) - _CORE_FIELDS))
            self._reject(file, index, raw, [f"unknown fields {extra}; attributes go inside 'attributes'"])
            return
        self._accept(file, index, raw, fields, attributes, from_text=False, unchecked_text=True)

    def _read_jsonl(self, lines: Iterable[tuple[int, str, bool]], file: str) -> None:
        progress, reading, line = self.progress, f"reading {Path(file).name}", self._jsonl_line
        for number, text, utf8 in lines:
            if not number % _EVERY:
                progress(reading, number, None)
            line(file, number, text, utf8)

    def _jsonl_line(self, file: str, number: int, line: str, utf8: bool) -> None:
        """One line of a JSON lines file: an event, a reject, a repeat, or nothing (blank)."""
        line = line.removesuffix("\r")
        if not utf8:
            self._reject(file, number, line, [_NOT_UTF8])
            return
        if not line or line.isspace():
            return
        try:
            record = _json_object(line)
        except json.JSONDecodeError as exc:
            self._reject(file, number, line, [f"invalid JSON at column {exc.colno}: {exc.msg}"])
            return
        except _Refused as exc:
            self._reject(file, number, line, [str(exc)])
            return
        except RecursionError:
            self._reject(file, number, line[:200], ["JSON nested too deeply"])
            return
        if not isinstance(record, dict):
            self._reject(file, number, line, ["expected a JSON object"])
            return
        attributes = record.pop("attributes", {})
        if not isinstance(attributes, dict):
            self._reject(file, number, line, ["'attributes' must be an object"])
            return
        if not record.keys() <= _CORE_FIELDS:
            extra = sorted(set(record) - _CORE_FIELDS)
            self._reject(file, number, line, [f"unknown fields {extra}; attributes go inside 'attributes'"])
            return
        # only an escape can write a lone surrogate into a line read as UTF-8
        self._accept(file, number, line, record, attributes, from_text=False, unchecked_text="\\u" in line)

    def _screening(self, path: Path, large: bool) -> frozenset[str] | None:
        """The keys normalisers answer to when this file (or table) is screened by DuckDB, else
        ``None`` (read line by line): the engine (``auto`` screens what is ``large``), and plugins
        that could change a record without saying which (see :mod:`complianceengine.screen`)."""
        if self.engine == "reference" or (self.engine == "auto" and not (large and importable())) or self.normalises:
            return None
        return screenable([normalise for _, normalise in self._file_normalisers()] if self.normaliser_hook else [])

    def _read_screened(self, stream: IO[bytes], file: str, claimed: frozenset[str]) -> None:
        """A JSON lines file screened by DuckDB: each plain line kept as a row of its Arrow table
        (an event built only when asked for, :class:`~complianceengine.eventtable.EventTable`),
        every other line read by :meth:`_jsonl_line`; a repeated id is judged as always."""
        progress, reading, line = self.progress, f"reading {Path(file).name}", self._jsonl_line
        # closed at once on an error (a plugin's, say): the blocks screened ahead stopped, the connections closed
        with contextlib.closing(screen(stream, Rules(self.ruleset, self.registry, claimed), **self.settings)) as blocks:
            for first_line, lines, plain in blocks:

                def other(number: int, lines: list[bytes] = lines, first_line: int = first_line) -> None:
                    raw = lines[number - first_line]
                    try:
                        line(file, number, raw.decode("utf-8"), True)
                    except UnicodeDecodeError:
                        line(file, number, raw.decode("utf-8", errors="replace"), False)

                def raw(number: int, lines: list[bytes] = lines, first_line: int = first_line) -> Raw:
                    return functools.partial(_line_text, lines[number - first_line])

                self._screened(file, first_line, len(lines), plain, other, raw)
                progress(reading, first_line + len(lines) - 1, None)

    def read_table(self, table: Any, file: str, first_line: int) -> None:
        """The rows of an Arrow table, numbered from ``first_line``, each a record (see
        :func:`events_from_records`): screened by DuckDB with the ``duckdb`` engine when its
        columns can be (:func:`~complianceengine.screen.screen_table`), else one by one."""
        pa = importlib.import_module("pyarrow")
        if isinstance(table, pa.Table):
            _check_names(pa, table, file)
            table = _microseconds(pa, _utc_named(pa, table))
        claimed = self._screening(Path(file), table.num_rows >= AUTO_ROWS) if isinstance(table, pa.Table) else None
        chunks = None if claimed is None else screen_table(table, Rules(self.ruleset, self.registry, claimed), first_line, **self.settings)
        if chunks is None:
            reading = f"reading {Path(file).name}"
            for number, row in enumerate(table.to_pylist(), start=first_line):
                if not number % _EVERY:
                    self.progress(reading, number, None)
                self.read_record(file, number, _row_record(row))
            return
        with contextlib.closing(chunks):  # closed at once on an error: the chunks screened ahead stopped
            for start, count, plain in chunks:
                rows: dict[int, dict[str, Any]] = {}

                def record(number: int) -> dict[str, Any]:
                    found = rows.get(number)
                    if found is None:
                        found = _row_record(table.slice(number - first_line, 1).to_pylist()[0])
                    return found

                def other(number: int) -> None:
                    self.read_record(file, number, record(number))

                def raw(number: int) -> Raw:
                    fields = record(number)
                    return lambda: _record_text(fields)

                # the rows that are not plain (few) read at once
                plain_numbers = set(plain.column("line").to_pylist())
                others = [n for n in range(start, start + count) if n not in plain_numbers]
                if others:  # taken from the chunk: taking from a table of many chunks costs as much as the table
                    chunk = table.slice(start - first_line, count)
                    taken = chunk.take(pa.array([n - start for n in others], pa.int64())).to_pylist()
                    rows.update((n, _row_record(row)) for n, row in zip(others, taken, strict=True))
                self._screened(file, start, count, plain, other, raw)
                self.progress(f"reading {Path(file).name}", start + count - 1, None)

    def _screened(self, file: str, first_line: int, count: int, plain: Any, other: Callable[[int], None], raw: Callable[[int], Raw]) -> None:
        """One screened block of lines (or rows) ``first_line``.. (``count`` of them): the plain
        ones kept as rows of ``plain``, each other one read by ``other(number)`` in its place;
        ``raw(number)`` is a plain one's raw text, for a repeat."""
        pa = importlib.import_module("pyarrow")
        if file not in self.files[-1:]:
            self.files.append(file)
        if self.kept is None:
            self.kept = list(self.events)
        kept = self.kept
        offset = self.offsets[-1] if self.offsets else 0
        self.tables.append(plain.append_column("file", pa.array([len(self.files) - 1] * plain.num_rows, pa.int32())))
        self.offsets.append(offset + plain.num_rows)
        numbers, ids = plain.column("line").to_pylist(), plain.column("id").to_pylist()
        # the lines that are not plain (few), each read in its place between runs of plain rows
        others = sorted(set(range(first_line, first_line + count)).difference(numbers))
        k = 0
        for number in [*others, None]:
            j = len(numbers) if number is None else bisect.bisect_left(numbers, number, k)
            self._plain_rows(file, raw, numbers, ids, offset, k, j, kept)
            k = j
            if number is not None:
                other(number)

    def _plain_rows(self, file: str, raw: Callable[[int], Raw], numbers: list[int], ids: list[str], offset: int, k: int, j: int,
                    kept: list[Event | int]) -> None:
        """Plain rows ``k``..``j`` of a block (lines in a row, no other line between them), kept
        together when no id among them was seen before, else one by one, a repeat judged as the
        reference reader judges it."""
        run, first = ids[k:j], self.first
        if first.keys().isdisjoint(run) and len(set(run)) == len(run):
            first.update(zip(run, range(offset + k, offset + j)))
            kept.extend(range(offset + k, offset + j))
            return
        for i in range(k, j):
            ident, row, number = ids[i], offset + i, numbers[i]
            if ident in first:
                self._keep(file, number, raw(number), self._row_event(row))
            else:
                first[ident] = row
                kept.append(row)

    def _row_event(self, row: int) -> Event:
        """The event of a plain row read so far (rows are numbered across the blocks)."""
        block = bisect.bisect_right(self.offsets, row)
        start = self.offsets[block - 1] if block else 0
        return self.builder(self.tables[block].slice(row - start, 1).to_pylist()[0])

    def log(self) -> EventLog:
        """What was read: the events (a table when lines were screened), rejects and repeats."""
        if self.kept is None or not self.tables:  # nothing screened (an empty file screens nothing)
            return EventLog(events=tuple(self.events), rejects=tuple(self.rejects), duplicates=tuple(self.duplicates))
        pa = importlib.import_module("pyarrow")
        where = [kept if isinstance(kept, int) else -1 for kept in self.kept]
        objects = {p: kept for p, kept in enumerate(self.kept) if not isinstance(kept, int)}
        table = EventTable(pa.concat_tables(self.tables), where, objects, self.builder)
        self.events, self.kept, self.first, self.tables = [], None, {}, []  # the table holds what it needs; the reader builds its rows
        return EventLog(events=table, rejects=tuple(self.rejects), duplicates=tuple(self.duplicates))

    def _read_csv(self, text: str, file: str, start: int | None = None) -> None:
        """A CSV file's records, from physical line ``start`` (where a record starts; default:
        after the header) to the end."""
        # csv counts physical lines as its text stream splits them (at \r\n, \r or \n); a quoted
        # cell may span several of them, so a record runs from the line after the previous record
        # to the current line_num
        ends = list(_CSV_LINE_END.finditer(text))
        starts = [0, *(end.end() for end in ends)]  # where each physical line starts in the text
        lines = [text[start : end.start()] for start, end in zip(starts, ends)] + [text[starts[-1] :]]
        found = _csv_header(text, file)
        if found is None:
            return
        header, first = found
        first = first if start is None else start
        stream = io.StringIO(text, newline="")
        while first <= len(starts):
            # strict: a stray quote, an unterminated quoted cell or an oversized cell is an error
            # there, not a record that swallows the rows after it; that one line is rejected and
            # reading starts again on the next line (a seek, not a copy of the rest of the file)
            stream.seek(starts[first - 1])
            rows = csv.reader(stream, strict=True)
            previous = 0
            try:
                for row in rows:
                    number, previous = first + previous, rows.line_num
                    if not number % _EVERY:
                        self.progress(f"reading {Path(file).name}", number, None)
                    self._csv_record(file, number, "\n".join(lines[number - 1 : first - 1 + previous]), header, row)
                return
            except csv.Error as exc:
                bad = first + previous
                self._reject(file, bad, lines[bad - 1][:1000], [f"not CSV: {exc}"])
                first = bad + 1

    def _read_csv_screened(self, text: str, data: bytes, file: str, claimed: frozenset[str]) -> bool:
        """A CSV file (its ``text``, and ``data``, the text's UTF-8 bytes) screened by DuckDB
        (:func:`~complianceengine.screen.screen_csv`): each plain line kept as a row, every other
        line read by the reference's own path for one line (:meth:`_csv_line`), and a line whose
        record goes on past its end (a quoted cell holding a line end) read with the lines its
        record takes by the reference's reader (:meth:`_csv_record_at`), the screen going on
        after them (unless the previous such record was fewer than :data:`_RUNS_APART` lines
        before: then the reference reads the rest of the file, :meth:`_read_csv`); false, having
        read nothing, when the file cannot be screened (its header is more than one line, too). A
        file whose columns a normaliser plugin answers to is screened
        when that plugin maps records in bulk (:meth:`_bulk_normaliser`): its lines split into
        records by DuckDB, mapped by the plugin a block at a time and the records screened
        (:meth:`_normalised_blocks`)."""
        found = _csv_header(text, file)
        if found is None:  # an empty file
            return True
        header, first = found
        if first != 2:
            return False
        rules = Rules(self.ruleset, self.registry, claimed)
        bulk = None
        if claimed.intersection(header):
            bulk = self._bulk_normaliser(header)
            if bulk is None:
                return False
        with contextlib.ExitStack() as stack:
            con = stack.enter_context(csv_connection(rules, **self.settings))
            check = stack.enter_context(normalised_screen(rules, **self.settings)) if bulk is not None else None

            def blocks_from(start: tuple[int, int] | None) -> Any:
                if bulk is None:
                    return screen_csv(data, header, rules, **self.settings, con=con, start=start)
                split = split_csv(data, header, rules, **self.settings, con=con, start=start)
                return None if split is None or check is None else self._normalised_blocks(split, file, header, bulk, check)

            blocks = blocks_from(None)
            if blocks is None:
                return False
            progress, reading = self.progress, f"reading {Path(file).name}"
            offset = data.find(b"\n") + 1  # of the first line of the block being read
            restarted = None  # the line the screen last started again at
            stack.callback(lambda: blocks is not None and blocks.close())  # before the connection goes: a query may be in flight
            while blocks is not None:
                try:
                    for first_line, lines, plain in blocks:

                        def other(number: int, lines: list[bytes] = lines, first_line: int = first_line) -> None:
                            line = _line_text(lines[number - first_line])
                            if '"' in line and _runs_on(line):
                                raise _RunsOn(number)
                            self._csv_line(file, number, line, header)

                        def raw(number: int, lines: list[bytes] = lines, first_line: int = first_line) -> Raw:
                            return functools.partial(_line_text, lines[number - first_line])

                        self._screened(file, first_line, len(lines), plain, other, raw)
                        progress(reading, first_line + len(lines) - 1, None)
                        offset += sum(len(line) for line in lines) + len(lines)
                    blocks = None
                except _RunsOn as stop:
                    blocks.close()  # the screen let go (a query in flight interrupted)
                    if restarted is not None and stop.line - restarted < _RUNS_APART:
                        # records over several lines close together: the reference reads the rest
                        self._read_csv(text, file, stop.line)
                        break
                    at = offset + sum(len(line) for line in lines[:stop.line - first_line]) + stop.line - first_line
                    resume = self._csv_record_at(data, at, stop.line, file, header)
                    blocks = None if resume is None else blocks_from(resume)
                    offset, restarted = (0, None) if resume is None else resume
        return True

    def _csv_record_at(self, data: bytes, at: int, number: int, file: str, header: list[str]) -> tuple[int, int] | None:
        """The record starting at line ``number`` (at byte ``at`` of ``data``), read as
        :meth:`_read_csv` reads it in the whole file (the record, over the lines it takes, or
        the line rejected when the CSV reader refuses it there); the byte offset and number of
        the line after it, or ``None`` at the end of the data. The text is decoded in windows that
        end at a line end, a window twice as large when the record might go on past it."""
        window = 1 << 16
        while True:
            end = len(data) if at + window >= len(data) else data.rfind(b"\n", at, at + window) + 1
            if end <= at:  # no line end in the window
                window *= 2
                continue
            chunk = data[at:end].decode("utf-8")
            rows = csv.reader(io.StringIO(chunk, newline=""), strict=True)
            try:
                row = next(rows, None)
            except csv.Error as exc:
                if end < len(data) and rows.line_num >= chunk.count("\n"):  # refused at the window's end: perhaps a cell open there
                    window *= 2
                    continue
                lines = _CSV_LINE_END.split(chunk, maxsplit=1)
                self._reject(file, number, lines[0][:1000], [f"not CSV: {exc}"])
                used = 1
            else:
                if row is None:
                    return None
                used = rows.line_num
                self._csv_record(file, number, "\n".join(_CSV_LINE_END.split(chunk, maxsplit=used)[:used]), header, row)
            for _ in range(used):  # the lines end with line feeds (a screened file has no lone carriage return)
                at = data.find(b"\n", at) + 1
                if not at:
                    return None
            return (at, number + used) if at < len(data) else None

    def _bulk_normaliser(self, header: list[str]) -> tuple[str, Callable[[Any], Any]] | None:
        """``(plugin, table function)`` of the one normaliser function of the file being read that
        answers to a column of ``header``, when it maps records in bulk (its ``table`` attribute,
        see ``complianceengine_record_normaliser``); else ``None``: no function or several answer,
        or the one that does maps a record at a time."""
        answering = [(plugin, normalise) for plugin, normalise in self._file_normalisers()
                     if isinstance(keys := getattr(normalise, "keys", None), (set, frozenset, list, tuple)) and not set(keys).isdisjoint(header)]
        if len(answering) != 1:
            return None
        plugin, normalise = answering[0]
        table = getattr(normalise, "table", None)
        return (plugin, table) if callable(table) else None

    def _normalised_blocks(self, blocks: Any, file: str, header: list[str], bulk: tuple[str, Callable[[Any], Any]],
                           check: Callable[[Any, str], Any]) -> Iterator[tuple[int, list[bytes], Any]]:
        """``(first line, lines, plain rows)`` for each block of :func:`split_csv`: the records of
        its lines (a table, a column per header name) given to the plugin's table function, which
        answers with the normalised records, row for row, and which of them it vouches for (what
        its per-record function gives that line's record); those are screened (``check``), the
        others read one by one, as every line is when the plugin's columns cannot be screened."""
        pa = importlib.import_module("pyarrow")
        plugin, table = bulk
        try:
            for first_line, lines, cells in blocks:
                what = f"lines {first_line} to {first_line + len(lines) - 1}"
                records = cells.select([f"c{i}" for i in range(len(header))]).rename_columns(header)
                try:
                    answer = table(records)
                except PluginError:
                    raise
                except (Exception, SystemExit) as exc:
                    raise PluginError(plugin, _NORMALISER, f"its table function failed on {file} {what}: {type(exc).__name__}: {exc}") from exc
                normalised, kept = _bulk_answer(pa, answer, records.num_rows, plugin, f"{file} {what}")
                chosen = normalised.append_column(RECORD_LINE, cells.column("line")).filter(kept)
                yield first_line, lines, check(chosen, what)
        finally:
            blocks.close()

    def _csv_line(self, file: str, number: int, line: str, header: list[str]) -> None:
        """One line of a screened CSV file whose record is that line alone (:func:`_runs_on` is
        false), read as :meth:`_read_csv` reads it in the whole file: a line the CSV reader
        refuses (a NUL, a stray quote) rejected, else its record."""
        try:
            row = next(csv.reader([line], strict=True))
        except csv.Error as exc:
            self._reject(file, number, line[:1000], [f"not CSV: {exc}"])
            return
        self._csv_record(file, number, line, header, row)

    def _csv_record(self, file: str, number: int, raw: str, header: list[str], row: list[str]) -> None:
        if not any(cell.strip() for cell in row):
            return
        if len(row) != len(header):
            self._reject(file, number, raw, [f"expected {len(header)} columns, found {len(row)}"])
            return
        record: dict[str, Any] = {}
        attributes: dict[str, Any] = {}
        for name, cell in zip(header, row):
            if cell == "":
                continue
            if name in CORE_EVENT_FIELDS:
                record[name] = cell
            else:
                attributes[name] = cell
        if "participants" in record:
            record["participants"] = [p.strip() for p in record["participants"].split(";") if p.strip()]
        self._accept(file, number, raw, record, attributes, from_text=True)

    def _file_normalisers(self) -> list[tuple[str, Callable[[dict[str, Any]], Any]]]:
        """(plugin, function) for each plugin normalising the records of the file being read,
        asked once per file."""
        found = self._normalisers.get(self.path)
        if found is None:
            found = []
            for plugin, normalise in self.plugins.each(_NORMALISER, path=self.path, ruleset=self.ruleset):
                if normalise is None:
                    continue
                if not callable(normalise):
                    raise PluginError(plugin, _NORMALISER, f"returned {type(normalise).__name__} for {self.path}; "
                                                           "expected a function record -> record or None, or None")
                found.append((plugin, normalise))
            self._normalisers[self.path] = found
        return found

    def _reject(self, file: str, line: int, raw: Raw, errors: list[str]) -> None:
        self.rejects.append(Reject(file=file, line=line, raw=raw if isinstance(raw, str) else raw(), errors=tuple(errors)))

    def _accept(self, file: str, line: int, raw: Raw, record: dict[str, Any], attributes: dict[str, Any], *, from_text: bool,
                unchecked_text: bool = False) -> None:
        """Check one record and keep it as an event, or reject it. ``unchecked_text``: its text
        may hold a lone surrogate (a JSON line with a ``\\u`` escape, a record from code or from a
        reader plugin; text decoded from UTF-8 cannot), so it is looked for; a record a normaliser
        plugin gives back is always looked at."""
        normalised = None
        if self.normaliser_hook:
            for plugin, normalise in self._file_normalisers():
                try:
                    normalised = normalise({**record, "attributes": dict(attributes)})
                except PluginError:
                    raise
                except (Exception, SystemExit) as exc:
                    raise PluginError(plugin, _NORMALISER, f"the function it gave failed on {file}:{line}: {type(exc).__name__}: {exc}") from exc
                if normalised is not None:
                    if not _is_record(normalised):
                        raise PluginError(plugin, _NORMALISER, f"the function it gave returned {type(normalised).__name__} for "
                                                               f"{file}:{line}; expected a record dict with an 'attributes' dict")
                    break
        if normalised is None and self.normalises:
            asked = {"record": {**record, "attributes": dict(attributes)}, "path": self.path, "ruleset": self.ruleset}
            normalised = self.plugins.first("complianceengine_normalise_record", **asked)
            if normalised is not None and not _is_record(normalised):
                raise PluginError(
                    self.plugins.answering("complianceengine_normalise_record", **asked), "complianceengine_normalise_record",
                    f"returned {type(normalised).__name__} for {file}:{line}; expected a record dict with an 'attributes' dict",
                )
        if normalised is not None:
            record = dict(normalised)
            attributes = record.pop("attributes", {}) or {}
            unchecked_text = True
        if unchecked_text:
            broken = _not_unicode(record, attributes)
            if broken is not None:
                self._reject(file, line, raw, [broken])
                return
        texts = self.texts
        get = record.get
        errors: list[str] = []
        kind_name = get("kind")
        kind = self.kinds.get(kind_name) if isinstance(kind_name, str) else None
        if kind_name is None:
            errors.append(f"missing the event kind ('kind'); declared: {', '.join(self.ruleset.event_kinds)}")
        elif kind is None:
            errors.append(f"unknown event kind {kind_name!r}; declared: {', '.join(self.ruleset.event_kinds)}")
        else:
            record["kind"] = kind.name
        time = get("time")
        if isinstance(time, dt.datetime):  # a record built in code: read as its ISO 8601 text would be
            time = time.isoformat()
        if isinstance(time, str):
            try:
                parsed = _parse_time(time, self.zone)
            except Exception:
                parsed = None
            if not isinstance(parsed, dt.datetime):
                errors.append(f"time {time!r} is not an ISO 8601 date-time such as 2026-08-01T09:30:00+08:00")
            elif parsed.year in (1, 9999) and not _placeable(parsed, self.zone):
                errors.append(f"time {time!r} is at the very edge of the calendar: it cannot be told in the ruleset's time zone "
                              f"({self.ruleset.timezone}) and UTC")
            else:
                record["time"] = parsed
        elif time is not None:
            errors.append(f"time must be a string, got {time!r}")
        if kind is not None:
            for field in kind.requires:
                if not get(field):
                    errors.append(f"a {kind_name} event needs '{field}'")
            specs = kind.specs
            typed: dict[str, Any] = {}
            for name, value in attributes.items():
                spec = specs.get(name)
                if spec is None:
                    errors.append(f"unknown attribute {name!r} for a {kind_name} event (declared: {kind.declared})")
                    continue
                if type(value) is str and (spec.type == "string" or (spec.type == "enum" and value in (spec.values or ()))):
                    converted, problem = value, None  # what _typed gives, without the call
                else:
                    converted, problem = _typed(value, spec, from_text, self.zone)
                if not problem and spec.type == "ref" and self.records is not None:
                    problem = missing_record(converted, spec, self.records)
                if problem:
                    errors.append(f"attribute {name!r}: {problem}")
                else:
                    if spec.type == "enum":
                        converted = texts.setdefault(converted, converted)
                    typed[texts.setdefault(name, name)] = converted
            for name in kind.required:
                if name not in attributes:
                    errors.append(f"a {kind_name} event needs attribute {name!r}")
            attributes = typed
        participants = get("participants")
        if participants is not None and (not isinstance(participants, (list, tuple)) or not all(isinstance(p, str) for p in participants)):
            errors.append(f"participants must be a list of person ids, got {participants!r}")
            record.pop("participants")
            participants = None
        if kind is not None and kind.until is not None and isinstance(get("time"), dt.datetime):
            until = attributes.get(kind.until)
            end = _parse_time(until, self.zone) if isinstance(until, str) else None
            if isinstance(end, dt.datetime) and _not_after(end, record["time"]):
                errors.append(f"{kind.until!r} ({until}) must be after the event time: the exemption would be empty")
        # people, units and subjects must be in the registry (when there is one); either way each
        # name is kept as one shared text
        people = self.people if self.people is not None else texts
        for field in ("actor", "on_behalf_of"):
            person = get(field)
            if isinstance(person, str):
                known = people.get(person)
                if known is not None:
                    record[field] = known
                elif self.people is None:
                    record[field] = texts.setdefault(person, person)
                else:
                    errors.append(f"unknown person {person!r} (not in the registry)")
        if participants:
            shared = []
            for person in participants:
                known = people.get(person)
                if known is None:
                    if self.people is None:
                        known = texts.setdefault(person, person)
                    else:
                        errors.append(f"unknown person {person!r} (not in the registry)")
                        known = person
                shared.append(known)
            record["participants"] = shared
        for field, registered in (("unit", self.units), ("subject", self.subjects)):
            ident = get(field)
            if isinstance(ident, str):
                known = (registered if registered is not None else texts).get(ident)
                if known is not None:
                    record[field] = known
                elif registered is None:
                    record[field] = texts.setdefault(ident, ident)
                else:
                    errors.append(f"unknown {field} {ident!r} (not in the registry)")
        event = None
        if not errors:
            try:
                record["attributes"] = attributes
                record["origin"] = {"file": file, "line": line}
                event = Event.model_validate(record)
            except ValidationError as exc:
                errors += [f"{path_text(e['loc']) or 'event'}: {_message(e)}" for e in exc.errors()]
        if event is None:
            self._reject(file, line, raw, errors)
            return
        self._keep(file, line, raw, event)

    def _keep(self, file: str, line: int, raw: Raw, event: Event) -> None:
        """Keep a valid event, or list it as a repeat of an earlier one (rejected when it differs)."""
        first = self.first.get(event.id)
        if isinstance(first, int):
            first = self._row_event(first)
        if first is not None:
            identical = _same_event(first, event)
            assert first.origin is not None
            self.duplicates.append(
                Duplicate(id=event.id, file=file, line=line, first_file=first.origin.file, first_line=first.origin.line, identical=identical)
            )
            if not identical:
                self._reject(file, line, raw, [f"event id {event.id!r} was already used at {first.origin.file}:{first.origin.line} with different content"])
            return
        self.first[event.id] = event
        self.events.append(event)
        if self.kept is not None:
            self.kept.append(event)


class _RowBuilder:
    """How the event of a plain row is built: as :meth:`_EventReader._accept` builds it, with the
    reader's registry names, shared texts and files (a table keeps it, not the reader and its
    plugins, so a log read with DuckDB pickles and copies)."""

    def __init__(self, zone: Any, kinds: dict[str, _Kind], people: dict[str, str] | None, units: dict[str, str] | None,
                 subjects: dict[str, str] | None, texts: dict[str, str], files: list[str]):
        self.zone, self.kinds, self.people, self.units, self.subjects, self.texts, self.files = zone, kinds, people, units, subjects, texts, files

    def __call__(self, row: dict[str, Any]) -> Event:
        """The event of a plain row: every check passed in DuckDB, so it is built from the row's
        values (the same texts shared, the same types)."""
        kind, texts = self.kinds[row["kind"]], self.texts
        # the registry's own texts (the screen found every name in it), else one shared copy
        people, units, subjects = self.people, self.units, self.subjects
        record: dict[str, Any] = {"id": row["id"], "kind": kind.name, "time": _parse_time(row["time"], self.zone)}
        actor, on_behalf_of, unit, subject, participants = row["actor"], row["on_behalf_of"], row["unit"], row["subject"], row["participants"]
        if actor is not None:
            record["actor"] = people[actor] if people is not None else texts.setdefault(actor, actor)
        if on_behalf_of is not None:
            record["on_behalf_of"] = people[on_behalf_of] if people is not None else texts.setdefault(on_behalf_of, on_behalf_of)
        if unit is not None:
            record["unit"] = units[unit] if units is not None else texts.setdefault(unit, unit)
        if subject is not None:
            record["subject"] = subjects[subject] if subjects is not None else texts.setdefault(subject, subject)
        if participants is not None:
            record["participants"] = [people[p] if people is not None else texts.setdefault(p, p) for p in participants]
        attributes: dict[str, Any] = {}
        if row["attributes"] is not None:
            specs = kind.specs
            for name, value in json.loads(row["attributes"]).items():  # texts, whole numbers, true or false
                if specs[name].type == "enum":
                    value = texts.setdefault(value, value)
                attributes[texts.setdefault(name, name)] = value
        record["attributes"] = attributes
        record["origin"] = {"file": self.files[row["file"]], "line": row["line"]}
        return Event.model_validate(record)


class _Kind:
    """What checking a record of one event kind needs, looked up once per reader."""

    __slots__ = ("name", "requires", "specs", "declared", "required", "until")

    def __init__(self, name: str, kind: Any):
        self.name = name
        self.requires = tuple(kind.requires)
        self.specs = kind.attributes
        self.declared = ", ".join(kind.attributes) or "none"
        self.required = tuple(name for name, spec in kind.attributes.items() if spec.required)
        self.until = None if kind.excuses is None else kind.excuses.until


_NORMALISER = "complianceengine_record_normaliser"


def _bulk_answer(pa: Any, answer: Any, rows: int, plugin: str, where: str) -> tuple[Any, Any]:
    """A normaliser's table function's answer checked: ``(a table of as many rows as it was
    given, a boolean array of that length saying which rows it vouches for)``, a null taken as
    false; else a :class:`PluginError`."""
    if (isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[0], pa.Table) and answer[0].num_rows == rows
            and isinstance(answer[1], (pa.Array, pa.ChunkedArray)) and len(answer[1]) == rows and pa.types.is_boolean(answer[1].type)):
        return answer[0], importlib.import_module("pyarrow.compute").fill_null(answer[1], False)
    raise PluginError(plugin, _NORMALISER, f"its table function returned {type(answer).__name__} for {where}; expected "
                                           f"(a pyarrow Table of {rows} rows, a boolean pyarrow Array of {rows})")


def _is_record(value: Any) -> bool:
    """Whether a normaliser's answer is a record: a dict whose ``attributes``, if any, is one."""
    return isinstance(value, dict) and isinstance(value.get("attributes", {}), (dict, type(None)))


#: lines between two reports of progress
_EVERY = 20_000
_CORE_FIELDS = frozenset(CORE_EVENT_FIELDS)

# Event times. The usual form, a full date-time with a UTC offset (2026-08-01T09:30:00+08:00), is
# read here; everything else goes to pendulum.parse, which decides what is a valid time.
_SECONDS_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
_OFFSET_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?(?:([+-])([0-9]{2}):([0-9]{2})|Z)")
# "+08:00" (every offset under a day, both signs) or "Z" -> the zone and fold pendulum gives
_OFFSET_ZONES: dict[str, tuple[Any, int]] = {
    f"{sign}{hours:02d}:{minutes:02d}": (fixed_timezone((-1 if sign == "-" else 1) * (hours * 3600 + minutes * 60)), 0)
    for sign in "+-" for hours in range(24) for minutes in range(60)
}
_OFFSET_ZONES["Z"] = (pendulum.UTC, 1)


#: what an event time (or a datetime attribute) may look like: a date and a time of day, with
#: or without seconds, a fraction and an offset. "now", "2026" or "2026-08" are not times of an
#: event: pendulum would read them as the moment of reading or as midnight of the first day.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?")


def _parse_time(text: str, zone: Any) -> Any:
    """``pendulum.parse(text, tz=zone)`` for a full date-time (:data:`_DATE_TIME`; anything else is
    a ValueError): the same DateTime, with the same zone object and fold. A full date-time with an
    offset (or ``Z``), with or without a fraction of a second, is read here; naive times and parts
    out of range by pendulum."""
    offset = _OFFSET_ZONES.get(text[19:])
    if offset is not None and _SECONDS_TIME.match(text):  # 2026-08-01T09:30:00+08:00
        try:
            naive = dt.datetime.fromisoformat(text[:19])  # hours, minutes and seconds are in range
        except ValueError:  # no such month or day: pendulum decides
            return pendulum.parse(text, tz=zone)
        return pendulum.DateTime(
            naive.year, naive.month, naive.day, naive.hour, naive.minute, naive.second, 0, tzinfo=offset[0], fold=offset[1]
        )
    match = _OFFSET_TIME.fullmatch(text)  # the same with a fraction of a second
    if match is not None:
        year, month, day, hour, minute, second, fraction, sign, hours, minutes = match.groups()
        offset = _OFFSET_ZONES.get(f"{sign}{hours}:{minutes}" if sign else "Z")
        if offset is not None:  # not an offset of a day or more, or of 60 minutes
            try:
                return pendulum.DateTime(
                    int(year), int(month), int(day), int(hour), int(minute), int(second), int(fraction.ljust(6, "0")) if fraction else 0,
                    tzinfo=offset[0], fold=offset[1],
                )
            except ValueError:  # a month, day, hour, minute or second out of range: pendulum decides
                pass
    if not _DATE_TIME.fullmatch(text):
        raise ValueError(f"{text!r} is not a date and a time of day")
    return pendulum.parse(text, tz=zone)


# the C scanner json.loads ends in, with the same defaults
class _Refused(ValueError):
    """A JSON value the reader does not take although JSON parsers do: NaN and infinities (not
    JSON at all), numbers too large to be a count (1e400 reads as infinity; an integer of
    thousands of digits costs quadratic time), and a key given twice in one object (the last
    would silently win)."""


def _one_of_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"key {key!r} appears twice in one object")
            seen.add(key)
    return out


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number (JSON has no NaN or Infinity)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"{text} is too large a number")
    return value


def _whole(value: int) -> tuple[int | None, str | None]:
    """A whole number attribute: at most :data:`_MAX_DIGITS` digits, as in a JSON line."""
    if abs(value) >= 10**_MAX_DIGITS:
        return None, f"a whole number of {len(str(abs(value)))} digits (at most {_MAX_DIGITS})"
    return value, None


def _bounded(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise _Refused(f"a whole number of {len(text.lstrip('-'))} digits (at most {_MAX_DIGITS})")
    return int(text)


_MAX_DIGITS = 30
_DECODER = json.JSONDecoder(object_pairs_hook=_one_of_each, parse_constant=_no_constant, parse_float=_finite, parse_int=_bounded)
_SCAN: Callable[[str, int], tuple[Any, int]] = getattr(_DECODER, "scan_once")


def _strict_loads(line: str) -> Any:
    """``json.loads`` with the refusals of :class:`_Refused`."""
    if line.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", line, 0)
    return _DECODER.decode(line)


def _not_unicode(fields: Mapping[str, Any], attributes: Mapping[Any, Any]) -> str | None:
    """Why a record's text is not Unicode (a lone surrogate such as ``\\ud800``, which no file or
    database can hold as text), or None."""
    for where, mapping in (("", fields), ("attributes.", attributes)):
        for key, value in mapping.items():
            for text in (key, *(value if isinstance(value, (list, tuple)) else (value,))):
                if isinstance(text, str) and not text.isascii():
                    try:
                        text.encode("utf-8")
                    except UnicodeEncodeError as exc:
                        return (f"{where}{key if isinstance(key, str) and key.isprintable() else ascii(key)}: the text holds a lone "
                                f"surrogate ({ascii(text[exc.start])}), which is not a character")
    return None


def _json_object(line: str) -> Any:
    """``_strict_loads(line)``; a line that is one JSON object from its first to its last
    character goes straight to the C scanner the decoder itself ends in (same result), anything
    else and every error through the decoder (same exception)."""
    if line[:1] == "{":
        try:
            value, end = _SCAN(line, 0)
        except (StopIteration, ValueError, RecursionError):
            return _strict_loads(line)
        if end == len(line):
            return value
    return _strict_loads(line)


_NOT_UTF8 = "not UTF-8 text: save the file as UTF-8"
_CSV_LINE_END = re.compile("\r\n|\r|\n")


#: lines between two records over several lines of a screened CSV file below which the reference
#: reader reads the rest of the file: starting the screen again costs about a block's screening
#: (the block and the one read ahead), what the reference takes for some thousands of lines
_RUNS_APART = 10_000


class _RunsOn(Exception):
    """A screened CSV file's line whose record goes on past its end: that record is the reference
    reader's."""

    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def _runs_on(line: str) -> bool:
    """Does the CSV reader, reading a record from the start of ``line``, go on past its end (a
    quoted cell still open there) or read it otherwise than the line alone (a cell open at the end
    that reaches the reader's field limit with the line end)? Its record is then not the line's
    own: what reading the line alone gives differs from the whole file's reading."""

    def read(lines: list[str]) -> tuple[list[str] | None, str | None, int]:
        rows = csv.reader(iter(lines), strict=True)
        try:
            return next(rows, None), None, rows.line_num
        except csv.Error as exc:
            return None, str(exc), rows.line_num

    alone, followed = read([line]), read([line + "\n", "\n"])
    return followed[2] > 1 or alone[:2] != followed[:2]


def _csv_header(text: str, file: str) -> tuple[list[str], int] | None:
    """The column names of a CSV file's text (stripped) and the physical line its records start
    at; ``None`` for an empty file. A header that is no CSV, names no column or names one twice
    refuses the file (:class:`EventSourceError` at line 1)."""
    rows = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in next(rows)]
    except StopIteration:
        return None
    except csv.Error as exc:
        raise EventSourceError([Problem(Location(file, 1), "", f"the header is not CSV: {exc}")]) from None
    if not any(header):
        raise EventSourceError([Problem(Location(file, 1), "", "the first line must name the columns (id,kind,time,...)")])
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise EventSourceError([Problem(Location(file, 1), "", f"column {', '.join(map(repr, twice))} appears twice in the header")])
    return header, rows.line_num + 1


def _text_lines(stream: IO[bytes]) -> Iterator[tuple[int, str, bool]]:
    """``(line number, text, is UTF-8)`` for each line of a binary stream, split on line feeds
    only (U+2028 and friends may sit raw inside JSON strings); a byte-order mark at the start is
    dropped; a line that is not UTF-8 comes with its bad bytes replaced by U+FFFD."""
    for number, raw in enumerate(stream, start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        raw = raw.removesuffix(b"\n")
        try:
            yield number, raw.decode("utf-8"), True
        except UnicodeDecodeError:
            yield number, raw.decode("utf-8", errors="replace"), False


def _decoded(data: bytes) -> tuple[str, list[tuple[int, str]]]:
    """The text of a UTF-8 CSV file (a byte-order mark dropped) and its lines that are not UTF-8,
    as (line number, the line with the bad bytes replaced); those lines are blanked in the text, so
    one bad byte costs one line, not the file. Lines end where the CSV reader ends them."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    pieces = re.split(rb"(\r\n|\r|\n)", data)  # lines, each followed by its line end
    text, bad = [], []
    for number, at in enumerate(range(0, len(pieces), 2), start=1):
        raw, end = pieces[at], pieces[at + 1] if at + 1 < len(pieces) else b""
        try:
            text.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            bad.append((number, raw.decode("utf-8", errors="replace")))
            text.append("")
        text.append(end.decode("ascii"))
    return "".join(text), bad


def _placeable(moment: dt.datetime, zone: Any) -> bool:
    """Can ``moment`` (in year 1 or 9999) be told in ``zone`` and in UTC? An audit converts every
    event time to both; a time of 0001-01-01 00:00 at +08:00 is before the first instant Python
    can tell in UTC."""
    try:
        moment.astimezone(zone)
        moment.astimezone(dt.timezone.utc)
        moment.timestamp()
    except (OverflowError, ValueError):
        return False
    return True


def _line_text(raw: bytes) -> str:
    """A screened line's text, as the reference reader keeps it for a reject."""
    return raw.decode("utf-8").removesuffix("\r")


def _not_after(end: dt.datetime, start: dt.datetime) -> bool:
    """``end <= start``; false when one of them has an offset of a day or more (pendulum reads
    ``+24:00``), which no comparison takes: the event's time is then rejected by itself."""
    try:
        return end <= start
    except ValueError:
        return False


def _same_event(a: Event, b: Event) -> bool:
    return a.model_copy(update={"origin": None}) == b.model_copy(update={"origin": None}) and a.time == b.time


def _typed(value: Any, spec: AttributeSpec, from_text: bool, zone: Any) -> tuple[Any, str | None]:
    """Convert an attribute value to its declared type; return (value, problem)."""
    kind = spec.type
    if kind == "list":
        items = [p.strip() for p in value.split(";") if p.strip()] if from_text and isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(item, str) for item in items):
            return None, f"expected a list of texts{' separated by ;' if from_text else ''}, got {value!r}"
        if spec.value_labels:
            items = [spec.canonical(item) for item in items]
        unknown = [item for item in items if spec.values is not None and item not in spec.values]
        if unknown:
            return None, f"{unknown[0]!r} is not one of {spec.choices()}"
        return tuple(items), None
    if kind in ("string", "enum", "ref"):
        if not isinstance(value, str):
            return None, f"expected {'the id of a ' + str(spec.refers_to) if kind == 'ref' else 'text'}, got {value!r}"
        if kind == "enum":
            value = spec.canonical(value)
            if value not in (spec.values or []):
                return None, f"{value!r} is not one of {spec.choices()}"
        return value, None
    if kind == "boolean":
        if isinstance(value, bool):
            return value, None
        if from_text and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true", None
        return None, f"expected true or false, got {value!r}"
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return _whole(value)
        if from_text and isinstance(value, str) and len(value.strip().lstrip("+-")) <= _MAX_DIGITS:
            try:
                return _whole(int(value))
            except ValueError:
                pass
        return None, f"expected a whole number of at most {_MAX_DIGITS} digits, got {value!r}"
    if kind == "number":
        if isinstance(value, int) and not isinstance(value, bool):
            return _whole(value)
        if isinstance(value, float):
            return (value, None) if math.isfinite(value) else (None, f"expected a finite number, got {value!r}")
        if from_text and isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = None
            if number is not None and math.isfinite(number):
                return number, None
        return None, f"expected a finite number, got {value!r}"
    # datetime: kept as ISO 8601 text in the ruleset's zone so attributes stay scalar
    if isinstance(value, dt.datetime):  # a record built in code
        value = value.isoformat()
    if isinstance(value, str):
        try:
            parsed = _parse_time(value, zone)
            if isinstance(parsed, dt.datetime):
                return parsed.isoformat(), None
        except Exception:
            pass
    return None, f"expected an ISO 8601 date-time, got {value!r}"


def write_rejects(rejects: Iterable[Reject], path: str | Path) -> None:
    """Write rejects as JSON lines (file, line, raw text and the reasons), atomically."""
    write_atomically(path, rejects_jsonl(rejects))


def rejects_jsonl(rejects: Iterable[Reject]) -> str:
    """Rejects as JSON lines: file, line, raw text and the reasons."""
    return "".join(reject.model_dump_json() + "\n" for reject in rejects)

