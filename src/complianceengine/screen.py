"""JSON lines screened in bulk by DuckDB, for :func:`complianceengine.read_events`.

The reference reader parses and checks each line of a JSON lines file in Python. On a county's
file nearly every line is *plain*: one JSON object whose fields are texts of the expected shape,
of a declared event kind, at a full date-time with an offset, by people, at units and about
subjects the registry knows, with text, enum, whole-number and true/false attributes the kind
declares. DuckDB parses a block of lines at once and picks out the plain lines that pass every
check; the reader keeps those as rows of an Arrow table, with the values DuckDB extracted (no
JSON parsing and no check in Python; an event is built from a row only when asked for, see
:mod:`complianceengine.eventtable`), and gives every other line to its own per-line path: a
malformed line, a valid but unusual one (a ``\\u`` escape, a number with a fraction, a list or
date-time attribute, an exemption kind, a label for an enum value, a time before 1700 or after
2200), one a normaliser plugin may change.

So the log is the reference reader's by construction as far as the screen never calls a line
plain that the reference reader would reject or read differently; ``tests/test_screen.py`` checks
that on random lines, valid and broken. What "plain" means is in :data:`_PLAIN`, written for
DuckDB's JSON reader, which takes more than Python's: trailing commas, ``NaN``, ``Infinity`` and
numbers out of range, a key given twice, raw control characters (none of them is ever plain).

The rows of a table (:func:`screen_table`) and the lines of a CSV file, each one record
(:func:`screen_csv`), are screened the same way: each is taken as the record the reference makes
of it, put into the table a JSON line is parsed into, and :data:`_PLAIN` decides.

A normaliser plugin's function (``complianceengine_record_normaliser``) sees only the lines it may
change: it says which keys make a record its own with a ``keys`` attribute (a collection of
texts), and a line with none of them, at the top or in ``attributes``, is screened. A file some
normaliser gives a function without ``keys`` for, a file a reader plugin reads, and any file when
a plugin implements the per-record normaliser hook are read by the reference path alone
(:func:`screenable` says which).
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import csv
import functools
import importlib
import io
import os
import re
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, TypeVar

import pendulum

from .duck import connect
from .errors import UsageError
from .model import CORE_EVENT_FIELDS

if TYPE_CHECKING:
    from .model import Registry, Ruleset

__all__ = ["RECORD_LINE", "ROWS", "Rules", "csv_connection", "normalised_screen", "screen", "screen_csv", "screen_table", "screenable", "split_csv"]

_T = TypeVar("_T")

#: bytes of a file screened at once (a block ends at a line end): DuckDB's memory while it screens
#: a block is about twenty times its size (so a 256 MB limit is enough); smaller blocks are
#: slower and leave the table of plain rows in more pieces, which a large audit holds to its end
#: (docs/performance.md)
BLOCK = 8 << 20
#: bytes of the first block of a CSV file screened again from a later line (:func:`_blocks`)
RESTART = 256 << 10
#: blocks screened at once unless told (``threads``), each on a connection of its own by one
#: thread, at most one per processor (one when a memory limit is given: it is theirs together): a
#: block is a small query a second DuckDB thread does not speed up, but two blocks at once take a
#: county's file in two thirds of the time; each block screened is memory held (docs/performance.md)
LANES = 2
#: lines of a block in one Arrow batch
_BATCH = 1 << 16

#: the types of attributes a plain line may carry, and the JSON types that give each exactly as
#: the reference reader does (an integer as Python's int; no fraction, no text to convert)
_TYPES = {"string": ("VARCHAR",), "enum": ("VARCHAR",), "integer": ("BIGINT", "UBIGINT"), "number": ("BIGINT", "UBIGINT"),
          "boolean": ("BOOLEAN",)}

#: the keys a line may have
_CORE = (*CORE_EVENT_FIELDS, "attributes")

# What a plain line is, in two steps for one block (``block``: line number, raw bytes). The
# first parses each line once (its fields and those of its attributes taken out together); the
# second keeps the plain lines. The other tables are the rules: ``kinds`` (the declared kinds that
# are not exemptions and whose required attributes are all of the types above: the fields each
# requires, and for each attribute name of ``names`` the JSON types a plain value of it may have
# for the kind (none: not a plain attribute of the kind), its enum values and whether it is
# required), ``people``, ``units`` and ``subjects`` (the registry, when it is checked), and the
# variables ``paths`` (the JSON paths of ``names``), ``checked`` (is there a registry) and
# ``claimed`` (the keys normalisers answer to).
_PARSE = r"""
CREATE OR REPLACE TEMP TABLE parsed AS
SELECT line, core_only, s[1] AS id, s[2] AS kind, s[3] AS time, s[4] AS actor, s[5] AS on_behalf_of, s[6] AS unit, s[7] AS subject,
       s[8] AS participants, s[9] AS attributes, t[1] AS id_type, t[2] AS kind_type, t[3] AS time_type, t[4] AS actor_type,
       t[5] AS on_behalf_of_type, t[6] AS unit_type, t[7] AS subject_type, t[8] AS participants_type, t[9] AS attributes_type,
       NULL::DOUBLE AS time_t
FROM (
    -- every key a core field, none given twice: as many keys as core fields found
    SELECT line, n = len(list_filter(t, lambda x: x IS NOT NULL)) AS core_only, t, s
    FROM (
    SELECT line, len(json_keys(text)) AS n, json_type(text, ['$.id', '$.kind', '$.time', '$.actor', '$.on_behalf_of', '$.unit', '$.subject', '$.participants',
                            '$.attributes']) AS t,
           json_extract_string(text, ['$.id', '$.kind', '$.time', '$.actor', '$.on_behalf_of', '$.unit', '$.subject', '$.participants',
                                      '$.attributes']) AS s
    FROM (SELECT line, CASE WHEN suffix(text, chr(13)) THEN text[:-2] ELSE text END AS text
          FROM (SELECT line, try(decode(raw)) AS text FROM block) WHERE text IS NOT NULL)
    -- no escape that could hide a lone surrogate, no control character, no trailing comma
    WHERE prefix(text, '{') AND NOT contains(text, '\u') AND NOT regexp_matches(text, '[\x00-\x1f]|,[ ]*[\]}]')  -- _SCAN_JSON
      AND json_valid(text)  -- valid JSON starting with '{' is an object
    )
)
"""
#: the test of :data:`_PARSE` a block that :func:`_clean` passes does not need (a regular
#: expression on every line: a tenth of the screen's time)
_SCAN_JSON = r"AND NOT regexp_matches(text, '[\x00-\x1f]|,[ ]*[\]}]')"
_PLAIN = r"""
-- the lines naming a participant the registry does not know (a join: a list of every person
-- searched for each line would cost the registry's size a line)
WITH strangers AS (
    SELECT DISTINCT named.line FROM (
        SELECT line, unnest(json_extract_string(participants, '$[*]')) AS person FROM parsed WHERE participants_type = 'ARRAY'
    ) named LEFT JOIN people known ON known.id = named.person
    WHERE known.id IS NULL
)
SELECT l.line, l.id, l.kind, l.time, coalesce(l.time_t, epoch_us(CAST(l.time AS TIMESTAMPTZ)) / 1000000.0) AS t, l.actor, l.on_behalf_of, l.unit,
       l.subject, CASE WHEN l.participants_type = 'ARRAY' THEN json_extract_string(l.participants, '$[*]') END AS participants,
       l.attributes
-- the names the registry must know are looked up with IN (a semi-join): four joins carried
-- every column of every line through each (twice the time)
-- (worked out for objects only: a text in ``attributes`` is no JSON to read keys from)
FROM (SELECT *, CASE WHEN attributes_type = 'OBJECT' THEN json_keys(attributes) END AS ks,
             CASE WHEN attributes_type = 'OBJECT' THEN json_type(attributes, getvariable('paths')) END AS ts,
             CASE WHEN attributes_type = 'OBJECT' THEN json_extract_string(attributes, getvariable('paths')) END AS vs FROM parsed) l
JOIN kinds k ON k.kind = l.kind
LEFT JOIN strangers stranger ON stranger.line = l.line
WHERE l.core_only
  AND l.id_type = 'VARCHAR' AND length(l.id) > 0
  AND l.kind_type = 'VARCHAR'
  AND l.time_type = 'VARCHAR'
  -- a time with its offset, or (a table's naive time) local, its instant worked out in Python
  AND (l.time_t IS NOT NULL OR regexp_full_match(l.time, '[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])'))
  -- a real day, in years whose instants in microseconds a double holds exactly (so that the
  -- instant's seconds are the reference's ``timestamp()``, rounded once)
  AND TRY_CAST(left(l.time, 10) AS DATE) IS NOT NULL AND left(l.time, 4) BETWEEN '1700' AND '2200'
  AND (l.actor_type IS NULL OR l.actor_type = 'NULL' OR (l.actor_type = 'VARCHAR' AND (NOT getvariable('checked') OR l.actor IN (SELECT id FROM people))))
  AND (l.on_behalf_of_type IS NULL OR l.on_behalf_of_type = 'NULL' OR (l.on_behalf_of_type = 'VARCHAR' AND (NOT getvariable('checked') OR l.on_behalf_of IN (SELECT id FROM people))))
  AND (l.unit_type IS NULL OR l.unit_type = 'NULL' OR (l.unit_type = 'VARCHAR' AND (NOT getvariable('checked') OR l.unit IN (SELECT id FROM units))))
  AND (l.subject_type IS NULL OR l.subject_type = 'NULL' OR (l.subject_type = 'VARCHAR' AND (NOT getvariable('checked') OR l.subject IN (SELECT id FROM subjects))))
  AND CASE WHEN l.participants_type IS NULL THEN true
           WHEN l.participants_type = 'ARRAY' THEN list_bool_and(list_transform(json_type(l.participants, '$[*]'), lambda x: x = 'VARCHAR'))
               AND (NOT getvariable('checked') OR stranger.line IS NULL)
           ELSE false END
  AND (NOT k.needs_actor OR length(l.actor) > 0)
  AND (NOT k.needs_unit OR length(l.unit) > 0)
  AND (NOT k.needs_subject OR length(l.subject) > 0)
  AND CASE WHEN l.attributes_type IS NULL THEN NOT list_bool_or(k.required)
           WHEN l.attributes_type = 'OBJECT' THEN plain_attributes(l.ks, l.ts, l.vs, k.allowed, k.vals, k.required)
           ELSE false END
ORDER BY l.line
"""
# whether an attributes object is plain for its kind, given its keys (``ks``), the JSON types
# (``ts``) and texts (``vs``) of the values of ``names`` in it: every key one of ``names`` (a key
# given twice is found once, so the counts differ), none claimed, each value of a plain JSON type
# for the kind (and one of an enum's values), every required one there. Written out name by name
# (:func:`_attributes_macro`): the same test as a lambda over the zipped lists took twice as long
_MACRO = """
CREATE OR REPLACE TEMP MACRO plain_attributes(ks, ts, vs, allowed, vals, required) AS (
    len(ks) = list_aggregate(ts, 'count') AND NOT list_has_any(ks, getvariable('claimed')) AND {each}
)
"""
_EACH = ("(CASE WHEN ts[{i}] IS NULL THEN NOT required[{i}] "
         "ELSE coalesce(list_contains(allowed[{i}], ts[{i}]), false) AND (vals[{i}] IS NULL OR list_contains(vals[{i}], vs[{i}])) END)")


def _attributes_macro(names: int) -> str:
    """:data:`_MACRO` for ``names`` attribute names."""
    return _MACRO.format(each=" AND ".join(_EACH.format(i=i) for i in range(1, names + 1)))


#: every control character but the line feed, and a trailing comma (:func:`_clean`)
_CONTROLS = bytes(range(32)).replace(b"\n", b"")
_TRAILING = re.compile(rb",[ ]*[\]}]")


def _clean(buffer: bytes) -> bool:
    """Does no line of ``buffer`` (lines split on line feeds) hold a control character (but a
    carriage return that ends it) or a comma before a closing bracket (after spaces)? Then the
    screen's regular expression on every line would find nothing; this takes a hundredth of its time."""
    controls = len(buffer) - len(buffer.translate(None, _CONTROLS))
    return (controls == 0 or controls == buffer.count(b"\r") == buffer.count(b"\r\n")) and _TRAILING.search(buffer) is None


@dataclass(frozen=True)
class Rules:
    """What the screen checks a line against: the ruleset's event kinds, the registry (``None``:
    names are not checked) and the keys normaliser plugins answer to."""

    ruleset: Ruleset
    registry: Registry | None
    claimed: frozenset[str] = frozenset()


def screenable(normalisers: Sequence[Callable[..., Any]]) -> frozenset[str] | None:
    """The keys the file's normaliser functions answer to, or ``None`` when one of them does not
    say (then no line of the file can be screened)."""
    claimed: set[str] = set()
    for normalise in normalisers:
        keys = getattr(normalise, "keys", None)
        if keys is None or isinstance(keys, (str, bytes)):
            return None
        keys = list(keys)  # an iterator is read once
        if not all(isinstance(key, str) for key in keys):
            return None
        claimed.update(keys)
    if claimed & set(_CORE):  # a core field: every line has one
        return None
    return frozenset(claimed)


def screen(stream: IO[bytes], rules: Rules, threads: int | None = None, memory_limit: str | None = None,
           ) -> Generator[tuple[int, list[bytes], Any], None, None]:
    """Blocks of the lines of ``stream`` (split on line feeds, a byte-order mark at the start
    dropped, the line feed not included): ``(number of the block's first line, its lines, its
    plain lines)``, the plain lines an Arrow table with the columns ``line``, ``id``, ``kind``,
    ``time`` (the text), ``t`` (POSIX seconds), ``actor``, ``on_behalf_of``, ``unit``, ``subject``,
    ``participants`` (a list) and ``attributes`` (JSON text) in line order. The attributes of a
    plain line hold texts, whole numbers and true or false only, as JSON reads them.
    ``threads``: the blocks screened at once, each by one DuckDB thread (unless told,
    :data:`LANES` but no more than the processors, or one when a ``memory_limit`` is given);
    ``memory_limit``: DuckDB's, for all of them."""
    with _connected(rules, threads, memory_limit) as lanes:
        yield from _blocks(lanes, stream, _PARSE, _SCAN_JSON, 0)


def _blocks(lanes: Sequence[Any], stream: IO[bytes], parse: str, scan: str, number: int, query: str | None = None, first: int = 0,
            ) -> Iterator[tuple[int, list[bytes], Any]]:
    """The blocks of :func:`screen`, each parsed by ``parse``, without its test ``scan`` when the
    block is :func:`_clean`, and its rows kept by ``query`` (default :data:`_PLAIN`), on the
    connections ``lanes`` (:func:`_connected`) in turn; the stream's
    first line is line ``number + 1`` (a byte-order mark at the start of line 1 dropped). With
    ``first``, the first block is of that many bytes and each next one twice as large, up to
    :data:`BLOCK` (a screen started again after a record over several lines wastes less when
    another one follows soon)."""
    size = min(first or BLOCK, BLOCK)
    pa = importlib.import_module("pyarrow")
    assert scan in parse
    unscanned = parse.replace(scan, "")

    def read() -> Iterator[tuple[int, list[bytes], Callable[[Any], Any]]]:
        nonlocal number, size
        rest = b""
        while True:
            data = stream.read(size)
            size = min(size * 2, BLOCK)
            buffer = rest + data
            if not data:
                lines = [rest] if rest else []
            else:
                lines = buffer.split(b"\n")
                rest = lines.pop()
            if lines:
                parsing = unscanned if _clean(buffer) else parse
                if not number:  # a byte-order mark at the start is no part of the first line
                    lines[0] = lines[0].removeprefix(b"\xef\xbb\xbf")
                block = pa.table({"line": pa.array(range(number + 1, number + 1 + len(lines)), pa.int64()),
                                  "raw": pa.array(lines, pa.binary())})
                yield number + 1, lines, functools.partial(_plain, name="block", block=block, parse=parsing,
                                                           what=f"lines {number + 1} to {number + len(lines)}", query=query)
                number += len(lines)
            if not data:
                return

    return _ahead(read(), lanes)


def _ahead(blocks: Iterator[tuple[int, _T, Callable[[Any], Any]]], lanes: Sequence[Any]) -> Iterator[tuple[int, _T, Any]]:
    """``(first, block, plain(con))`` for each of ``blocks`` in order, block *i*'s ``plain`` (a
    DuckDB query, which lets Python run meanwhile) run on connection ``con = lanes[i % n]`` in
    that lane's thread while the caller reads the earlier blocks' rows: the reader's Python work
    and DuckDB's screening overlap, and ``n`` blocks are screened at once. One query at a time on
    each connection; an error is raised where its block would be given. Given up (an error, the
    caller stopped), the queries in flight are interrupted and waited for, so that a connection
    is closed only after its query."""
    with contextlib.ExitStack() as stack:
        pools = [stack.enter_context(concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="complianceengine-screen"))
                 for _ in lanes]
        # the blocks submitted and not given yet: one running on each lane, and the next one queued behind it
        pending: collections.deque[tuple[int, _T, int, concurrent.futures.Future[Any]]] = collections.deque()
        try:
            for i, (first, block, plain) in enumerate(blocks):
                lane = i % len(lanes)
                pending.append((first, block, lane, pools[lane].submit(plain, lanes[lane])))
                if len(pending) > len(lanes):
                    given = pending.popleft()
                    yield given[0], given[1], given[3].result()
            while pending:
                given = pending.popleft()
                yield given[0], given[1], given[3].result()
        finally:
            unfinished = [(lane, future) for _, _, lane, future in pending if not future.done()]
            for _, future in unfinished:
                future.cancel()
            for lane in sorted({lane for lane, _ in unfinished}):
                lanes[lane].interrupt()
            concurrent.futures.wait([future for _, future in unfinished])


def _processors() -> int:
    """The processors this process may run on (its affinity where the system says, so a container
    given one of a machine's many counts one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


@contextlib.contextmanager
def _connected(rules: Rules, threads: int | None, memory_limit: str | None, lanes: int | None = None) -> Iterator[tuple[Any, ...]]:
    """The connections of a screen's own, ``lanes`` of them (by default ``threads``; else one
    when a ``memory_limit`` is given, which all of them would share; else :data:`LANES` but no
    more than the processors) to one in-memory database of one DuckDB thread, each holding the
    rules (:func:`_rules`), closed (the spill folder removed) when the screen ends: each runs its
    queries with the thread that asks them, so ``n`` blocks are screened at once on ``n`` of
    them. ``threads`` below 1 is a :class:`UsageError`."""
    if threads is not None and threads < 1:
        raise UsageError(f"threads must be at least 1, got {threads}")
    if lanes is not None:
        count = lanes
    elif threads is not None:
        count = threads
    else:
        count = 1 if memory_limit is not None else max(1, min(LANES, _processors()))
    con, spill = connect(1, memory_limit)
    made = [con]
    try:
        names = _rules(con, rules)
        for _ in range(count - 1):
            made.append(con.cursor())  # another connection to the same database: the rules' tables are shared
            _variables(made[-1], rules, names)
        yield tuple(made)
    finally:
        for each in reversed(made):
            each.close()
        spill.cleanup()


def _plain(con: Any, name: str, block: Any, parse: str, what: str, query: str | None = None) -> Any:
    """The plain lines (or rows) of one block: ``block`` given to DuckDB as ``name``, ``parse``
    making the ``parsed`` table of it and ``query`` (default :data:`_PLAIN`) keeping the plain
    ones; DuckDB's errors (memory it cannot get, most likely) a :class:`UsageError` naming
    ``what`` was screened."""
    pa = importlib.import_module("pyarrow")
    import duckdb

    # in batches, which DuckDB's threads share (one chunk is scanned by one)
    con.register(name, pa.Table.from_batches(block.to_batches(max_chunksize=_BATCH), schema=block.schema))
    try:
        con.execute(parse)
        return con.sql(_PLAIN if query is None else query).to_arrow_table()
    except duckdb.Error as exc:
        hint = ""
        if isinstance(exc, duckdb.OutOfMemoryException):
            hint = (" (each block screened at once holds about twenty times its 8 MB while it is screened: a larger memory limit, "
                    "or fewer threads, which is the blocks screened at once)")
        raise UsageError(f"DuckDB failed while screening {what}: {type(exc).__name__}: {exc}{hint}") from None
    finally:
        con.unregister(name)


#: rows of a table screened at once (about as many as a block of JSON lines holds: see BLOCK)
ROWS = 50_000
#: the column that numbers a table's rows while it is screened (the others are named c0, c1, ...)
_LINE = "n"
#: a table's attribute columns of these types (and texts) are given to DuckDB as they are: whole numbers, true/false
_SIMPLE = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool")


def screen_table(table: Any, rules: Rules, first_line: int, threads: int | None = None, memory_limit: str | None = None,
                 ) -> Generator[tuple[int, int, Any], None, None] | None:
    """The rows of an Arrow table screened as JSON lines are (see :func:`screen`), or ``None``
    when its columns cannot be (then every row is read as a record): ``(number of the chunk's
    first row, its rows, its plain rows)``, rows numbered from ``first_line``.

    Each row is screened as the JSON line of the record ``events_from_records`` makes of it would
    be: its core columns as fields and its other columns as attributes, an empty cell (null) left
    out. The fields are taken from the columns as a line's are parsed (:data:`_PARSE`'s table,
    with the types the columns give) and :data:`_PLAIN` decides, unchanged. The columns it takes:
    the core fields texts (``participants`` a list of texts), ``time`` a text or an instant at a
    fixed offset (``timestamp[s|ms|us, tz=UTC or ±HH:MM]``, written as Python's ``isoformat``
    writes it, which is how the reference reads a ``datetime``; the reader floors nanoseconds to
    microseconds first) or in a named zone, or naive (each distinct value written by the
    ``isoformat`` of the ``datetime`` pyarrow makes of it, a naive one's instant in the ruleset's
    zone worked out in Python: :func:`_time_texts`), attributes texts, whole numbers and true or
    false; a dictionary-encoded column as its values; an ``attributes`` struct column as its fields, each an attribute column
    in its place. A row with a value in an attribute column of another type is never plain; a
    table with an ``attributes`` column of another type (a map) or with a field named as a core
    field or another column, a core column of another type, an empty name or one with NUL, or a
    name twice is not screened."""
    pa = importlib.import_module("pyarrow")
    exp = importlib.import_module("sqlglot").exp  # keys quoted by SQLGlot, not pasted
    if "attributes" in table.schema.names:
        table = _flattened(pa, table)
        if table is None:
            return None
    names = table.schema.names
    if len(set(names)) < len(names) or "attributes" in names or any(not name or "\x00" in name for name in names):
        return None
    for i, field in enumerate(table.schema):
        kind = field.type
        if pa.types.is_dictionary(kind):  # a dictionary-encoded column (a pandas category) holds its values
            table = table.set_column(i, field.name, pa.chunked_array([chunk.dictionary_decode() for chunk in table.column(i).chunks],
                                                                    kind.value_type))
    stamps = None  # a naive time's instants (POSIX seconds), worked out in Python
    if "time" in names:  # instants in a named zone, or naive: the texts the reference reads them as
        at = names.index("time")
        kind = table.schema.field(at).type
        if pa.types.is_timestamp(kind) and kind.unit in ("s", "ms", "us") and _fixed_offset(kind) is None:
            found = _time_texts(pa, table, at, None if kind.tz is not None else rules.ruleset.timezone)
            if found is None:
                return None
            table, stamps = found
    # the columns by position in SQL (DuckDB matches names without regard to case); the names are
    # only the JSON keys of the attributes
    fields: dict[str, tuple[str, str]] = {}  # core field -> (its value, its JSON type) as _PARSE gives them
    attributes, unplain = [], []
    for i, field in enumerate(table.schema):
        name, kind, column = field.name, field.type, f"c{i}"
        if pa.types.is_null(kind):  # every cell empty: no value anywhere
            continue
        if name == "time" and not _is_text(pa, kind):
            offset = _fixed_offset(kind) if pa.types.is_timestamp(kind) and kind.unit in ("s", "ms", "us") else None
            if offset is None:
                return None
            seconds, text = offset
            fields[name] = (f"strftime(make_timestamp(epoch_us({column}) + {seconds}::BIGINT * 1000000), '%Y-%m-%dT%H:%M:%S.%f') || '{text}'",
                            f"CASE WHEN {column} IS NOT NULL THEN 'VARCHAR' END")
        elif name in CORE_EVENT_FIELDS:
            made = _core_field(pa, name, kind, column)
            if made is None:
                return None
            fields[name] = made
        elif _is_text(pa, kind) or str(kind) in _SIMPLE:
            attributes.append(f"{exp.Literal.string(name).sql('duckdb')}, {column}")
        else:
            unplain.append(f"{column} IS NULL")
    time_t = "NULL::DOUBLE"
    if stamps is not None:
        time_t = f"c{table.num_columns}"
        table = table.append_column("time_t", stamps)
    table = table.rename_columns([f"c{i}" for i in range(table.num_columns)])
    columns = _parsed_columns(fields, attributes, time_t)
    statement = (f"CREATE OR REPLACE TEMP TABLE parsed AS SELECT {_LINE} AS line, true AS core_only, {columns} FROM rows_in"
                 + (f" WHERE {' AND '.join(unplain)}" if unplain else ""))
    return _screen_rows(table, rules, first_line, statement, threads, memory_limit)


def _core_field(pa: Any, name: str, kind: Any, column: str) -> tuple[str, str] | None:
    """A core field given as a column of Arrow type ``kind`` (``participants`` a list of texts,
    another field a text) as its value and JSON type in :data:`_PARSE`'s table, or ``None`` when
    the column is of another type."""
    if name == "participants":
        if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)) or not _is_text(pa, kind.value_type):
            return None
        return f"CAST(to_json({column}) AS VARCHAR)", f"CASE WHEN {column} IS NOT NULL THEN 'ARRAY' END"
    if not _is_text(pa, kind):
        return None
    return column, f"CASE WHEN {column} IS NOT NULL THEN 'VARCHAR' END"


def _parsed_columns(fields: dict[str, tuple[str, str]], attributes: list[str], time_t: str = "NULL::DOUBLE") -> str:
    """The columns of :data:`_PARSE`'s table (each core field and its JSON type) as SQL, from
    ``fields`` (core field -> its value and its JSON type, as expressions; a field not there is
    null) and ``attributes`` (``'name', value`` pairs, made into one JSON object: json_merge_patch
    leaves out the keys whose value is null, as an empty cell is no value); ``time_t`` the instant of
    a naive ``time`` (POSIX seconds), when worked out."""
    given = f"CAST(json_merge_patch('{{}}', json_object({', '.join(attributes)})) AS VARCHAR)" if attributes else "NULL::VARCHAR"
    fields = {**fields, "attributes": (f"nullif({given}, '{{}}')", f"CASE WHEN nullif({given}, '{{}}') IS NOT NULL THEN 'OBJECT' END")}
    order = ("id", "kind", "time", "actor", "on_behalf_of", "unit", "subject", "participants", "attributes")
    return ", ".join(f"{fields[f][0] if f in fields else 'NULL::VARCHAR'} AS {f}, {fields[f][1] if f in fields else 'NULL::VARCHAR'} AS {f}_type"
                     for f in order) + f", {time_t} AS time_t"


def _flattened(pa: Any, table: Any) -> Any:
    """The table with its ``attributes`` struct column replaced by the struct's fields, in its
    place, a struct that is null giving null in each (as the reference leaves a null out), or
    ``None``: the column is no struct (a map's keys vary by row), or a field is named as a core
    field (to the reference an attribute of that name, which a column here could not be told from
    the core field) or as another column (a table the reader refuses before it gets here)."""
    index = table.schema.names.index("attributes")
    kind = table.schema.field(index).type
    if table.schema.names.count("attributes") > 1 or not pa.types.is_struct(kind):
        return None
    children = [kind.field(j) for j in range(kind.num_fields)]
    taken = set(CORE_EVENT_FIELDS) | {"attributes"} | {name for name in table.schema.names if name != "attributes"}
    if any(child.name in taken for child in children):
        return None
    chunks = [chunk.flatten() for chunk in table.column(index).chunks]  # the struct's own nulls applied to its fields
    table = table.remove_column(index)
    for j, child in enumerate(children):
        table = table.add_column(index + j, child.name, pa.chunked_array([chunk[j] for chunk in chunks], child.type))
    return table


def _is_text(pa: Any, kind: Any) -> bool:
    """Is an Arrow type one of text (``string``, ``large_string``, ``string_view``: polars')?"""
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or str(kind) == "string_view")


def _time_texts(pa: Any, table: Any, at: int, local: str | None) -> tuple[Any, Any] | None:
    """The table with its column ``at`` (instants in a named zone, or naive) as texts, each value
    as the reference reads it: the ``isoformat`` of the ``datetime`` pyarrow makes of it (an
    instant with its offset in that zone, as Python's zone data has it); and, for naive times
    (``local``: the ruleset's zone, the one the reference reads them in), each one's instant, in
    POSIX seconds, when the local time is there once (Python's offsets at ``fold`` 0 and 1 agree:
    PEP 495), else null (a local time the clocks skip or pass twice: pendulum's rule decides, so the
    row is the reference's). Each worked out once per distinct value. ``None`` when pyarrow makes
    no ``datetime`` of one (a year out of Python's range), which leaves the table to the reference."""
    pc = importlib.import_module("pyarrow.compute")
    column = table.column(at)
    distinct = pc.unique(column)
    try:
        values = distinct.to_pylist()
    except (ValueError, OverflowError):
        return None
    texts = pa.array([None if value is None else value.isoformat() for value in values], pa.string())
    picked = pc.index_in(column, value_set=distinct)
    table = table.set_column(at, "time", pc.take(texts, picked))
    if local is None:
        return table, None
    zone = pendulum.timezone(local)  # the reader's zone object (pendulum names zones zoneinfo does not: "utc")
    stamps: list[float | None] = []
    for value in values:
        placed = None if value is None else value.replace(tzinfo=zone)
        stamps.append(None if placed is None or placed.utcoffset() != placed.replace(fold=1).utcoffset() else placed.timestamp())
    return table, pc.take(pa.array(stamps, pa.float64()), picked)


def _fixed_offset(kind: Any) -> tuple[int, str] | None:
    """A timestamp type's zone as (seconds east of UTC, the offset as ``isoformat`` writes it),
    when it is a fixed offset of whole minutes (``UTC``, ``+08:00``); else ``None``."""
    zone = kind.tz
    if zone in ("UTC", "Etc/UTC", "+00:00", "-00:00", "Z"):
        return 0, "+00:00"
    match = re.fullmatch(r"([+-])([01][0-9]|2[0-3]):([0-5][0-9])", zone or "")
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    seconds = (int(hours) * 3600 + int(minutes) * 60) * (-1 if sign == "-" else 1)
    if seconds == 0:
        return 0, "+00:00"
    return seconds, f"{'-' if seconds < 0 else '+'}{hours}:{minutes}"


def _screen_rows(table: Any, rules: Rules, first_line: int, statement: str, threads: int | None, memory_limit: str | None,
                 ) -> Generator[tuple[int, int, Any], None, None]:
    pa = importlib.import_module("pyarrow")

    def chunks() -> Iterator[tuple[int, int, Callable[[Any], Any]]]:
        for start in range(0, table.num_rows, ROWS):
            chunk = table.slice(start, ROWS)
            first, last = first_line + start, first_line + start + chunk.num_rows - 1
            numbered = chunk.append_column(_LINE, pa.array(range(first, last + 1), pa.int64()))
            yield first, chunk.num_rows, functools.partial(_plain, name="rows_in", block=numbered, parse=statement, what=f"rows {first} to {last}")

    with _connected(rules, threads, memory_limit) as lanes:
        yield from _ahead(chunks(), lanes)


#: the characters Python's ``str.isspace`` (so ``str.strip``) takes for white space, as a class of
#: DuckDB's regular expressions (tests/test_screen_csv.py checks it against Python)
_SPACES = r"\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
#: the test of a CSV line's control characters, which a :func:`_clean` block does not need
_SCAN_CSV = r"NOT regexp_matches(text, '[\x00-\x1f]') AND"
#: a CSV cell as the CSV reader (strict, with its default dialect) reads it when it starts with a
#: quote (a quoted cell: up to the quote that is not doubled, which a comma or the line's end must
#: follow), or else (a cell up to the next comma, a quote inside it a character like any other)
_QUOTED_CELL = r'"(?:[^"]|"")*"|[^,"][^,]*|'
#: a line that the CSV reader reads as one record ending with the line: each cell one of those
_QUOTED_LINE = f"(?:{_QUOTED_CELL})(?:,(?:{_QUOTED_CELL}))*"
#: a line's cells as texts: split at its commas without quotes; every cell quoted and no other
#: quote (a writer that quotes every cell), split at each ``","`` inside the outer quotes; else,
#: when it is a :data:`_QUOTED_LINE`, each cell found after a comma (one put before the first), a
#: quoted one without its quotes and with each ``""`` a quote (the slowest); else none (the line
#: is not plain)
_SPLIT = ("CASE WHEN NOT contains(text, '\"') THEN string_split(text, ',') "
          "WHEN regexp_full_match(text, '\"[^\"]*\"(?:,\"[^\"]*\")*') "
          "THEN string_split(text[2:-2], '\",\"') "
          f"WHEN regexp_full_match(text, '{_QUOTED_LINE}') THEN list_transform(regexp_extract_all(',' || text, ',({_QUOTED_CELL})', 1), "
          "lambda cell: CASE WHEN prefix(cell, '\"') THEN replace(cell[2:-2], '\"\"', '\"') ELSE cell END) END")
#: a CSV cell of an attribute of these types as the JSON value the reference reader's conversion
#: of the text gives, when DuckDB can tell it exactly: a whole number within 64 bits, true or false
#: in any ASCII case (RE2's ``(?i)`` would also take the long s, ``ſ``, which Python's ``lower``
#: keeps) (``{t}``: the type, ``{cell}``: the text); an empty cell is no value, a text the type
#: does not take (or a type with its own rules: a ``number`` is read as a float, a list, a
#: date-time, a reference) an object, which no plain line holds
_CELL = ("CASE WHEN {cell} = '' THEN NULL "
         "WHEN {t} IS NULL OR {t} IN ('string', 'enum') THEN to_json({cell}) "
         "WHEN {t} = 'integer' AND regexp_full_match({cell}, '-?[0-9]{{1,18}}') THEN to_json(CAST({cell} AS BIGINT)) "
         "WHEN {t} = 'boolean' AND regexp_full_match({cell}, '[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]') THEN to_json(lower({cell}) = 'true') "
         "ELSE '{{}}'::JSON END")
#: :data:`_CELL` for a text that is there, empty or not
_TEXT_CELL = _CELL.replace("WHEN {cell} = '' THEN NULL ", "")


def screen_csv(data: bytes, header: Sequence[str], rules: Rules, threads: int | None = None, memory_limit: str | None = None, *,
               con: Any = None, start: tuple[int, int] | None = None) -> Generator[tuple[int, list[bytes], Any], None, None] | None:
    """The lines after the header of a CSV file, screened as JSON lines are (see :func:`screen`:
    the same blocks, from line 2), or ``None`` when the file cannot be (then the reference reader
    reads it). ``data`` is the file as the reference reader reads it (UTF-8 without a byte-order
    mark, a line that is not UTF-8 blanked), ``header`` its column names (line 1, which must be
    the header's only line).

    A file is screened when no carriage return stands but before a line feed (the CSV reader ends
    a line there) and when every column is named as the reference names a value (no empty name,
    none with NUL, none ``attributes``, none a key a normaliser answers to). A line without ``"``
    is split at its commas; a line with quotes only when its cells are each either unquoted
    (their first character not ``"``, none a comma) or quoted whole, ``""`` standing for a quote
    inside (:data:`_QUOTED_LINE`: what the CSV reader, strict, reads as one record ending with
    the line), its quoted cells unquoted; any other line is never plain (the reader's caller
    reads it, and when its record goes on past the line, that record, in Python). Each
    line is taken as the record the reference reader makes of it, its cells as texts: a core
    field's cell its value, ``participants`` split at ``;`` (a cell with white space is never
    plain: the reference strips the names), an attribute's cell converted by the type the line's
    kind declares (:data:`_CELL`), an empty cell no value; and :data:`_PLAIN` decides, unchanged.
    A line with a control character, another number of cells than the header, only commas and
    white space in its cells (a line the reference skips), or as long as the CSV reader's cell
    limit is never plain. ``con`` and ``start``: see :func:`_csv_blocks`."""
    names = list(header)
    if not _csv_screenable(data, names) or rules.claimed.intersection(names):
        return None
    cells = {name: f"c[{i + 1}]" for i, name in enumerate(names)}
    kind = cells.get("kind")
    fields: dict[str, tuple[str, str]] = {}
    attributes = []
    for name, cell in cells.items():
        if name == "participants":
            fields[name] = (f"CASE WHEN {cell} <> '' THEN CAST(to_json(list_filter(string_split({cell}, ';'), lambda x: x <> '')) AS VARCHAR) END",
                            f"CASE WHEN {cell} <> '' THEN 'ARRAY' END")
        elif name in CORE_EVENT_FIELDS:
            fields[name] = (f"nullif({cell}, '')", f"CASE WHEN {cell} <> '' THEN 'VARCHAR' END")
        else:
            attributes.append(_text_attribute(rules, name, cell, kind))
    columns = _parsed_columns(fields, attributes)
    parse = (f"CREATE OR REPLACE TEMP TABLE parsed AS SELECT line, true AS core_only, {columns} FROM ({_CSV_LINES}) "
             f"WHERE {' AND '.join(_csv_checks(names))}")
    return _csv_blocks(data, parse, rules, threads, memory_limit, None, con, start)


def split_csv(data: bytes, header: Sequence[str], rules: Rules, threads: int | None = None, memory_limit: str | None = None, *,
              con: Any = None, start: tuple[int, int] | None = None) -> Generator[tuple[int, list[bytes], Any], None, None] | None:
    """The lines after the header of a CSV file in blocks (as :func:`screen_csv` gives them), each
    with the records of the lines that are one record each, as columns: an Arrow table with
    ``line`` and, for each column of the header in order, ``c0``, ``c1``, ... (its cells as texts,
    an empty cell null; ``participants`` a list, split at ``;`` as the reference splits it), for a
    normaliser plugin to map in bulk (:func:`normalised_screen`). The lines left out are those
    :func:`screen_csv` never calls plain for the file's shape alone (another number of cells, a
    control character, only commas and white space, ...), which the reader's caller reads one by
    one. ``None`` when the file cannot be split so (see :func:`screen_csv`), or a name is in the
    header twice."""
    names = list(header)
    if not _csv_screenable(data, names) or len(set(names)) < len(names):
        return None
    columns = ", ".join(
        (f"CASE WHEN c[{i + 1}] <> '' THEN list_filter(string_split(c[{i + 1}], ';'), lambda x: x <> '') END AS c{i}" if name == "participants"
         else f"nullif(c[{i + 1}], '') AS c{i}") for i, name in enumerate(names))
    parse = f"CREATE OR REPLACE TEMP TABLE parsed AS SELECT line, {columns} FROM ({_CSV_LINES}) WHERE {' AND '.join(_csv_checks(names))}"
    return _csv_blocks(data, parse, rules, threads, memory_limit, "SELECT * FROM parsed ORDER BY line", con, start)


#: the column of :func:`normalised_screen`'s table that holds each record's line number
RECORD_LINE = "\x00line"


@contextlib.contextmanager
def normalised_screen(rules: Rules, threads: int | None = None, memory_limit: str | None = None) -> Iterator[Callable[[Any, str], Any]]:
    """A function that screens records a normaliser plugin made in bulk of the lines of a CSV file
    (:func:`split_csv`), on a connection of its own held while the ``with`` block runs.

    ``screen(table, what)`` gives the plain rows of ``table`` with the columns of :func:`screen`'s
    plain lines, none when its columns cannot be screened (then each of its lines is read one by
    one). ``table`` has the line numbers (:data:`RECORD_LINE`, a name no field or attribute
    screened has) and one column per field or attribute in the record's order, null where the
    record has none: the core fields texts (``participants`` a list of texts), attributes texts
    (converted by the type the row's kind declares, as the reference converts a CSV cell's text:
    :data:`_CELL`), true or false, or whole numbers. A column of another type, a field or
    attribute named ``attributes`` or twice, leaves the table to the reference. ``what`` names the
    rows in DuckDB's errors."""
    pa = importlib.import_module("pyarrow")
    exp = importlib.import_module("sqlglot").exp

    def statement(table: Any) -> tuple[Any, str] | None:
        names = [name for name in table.schema.names if name != RECORD_LINE]
        if (len(set(names)) < len(names) or table.schema.names.count(RECORD_LINE) != 1
                or any(not n or "\x00" in n or n == "attributes" for n in names)):
            return None
        table = table.select([RECORD_LINE, *names]).rename_columns([_LINE, *(f"c{i}" for i in range(len(names)))])
        kind = f"c{names.index('kind')}" if "kind" in names else None
        fields: dict[str, tuple[str, str]] = {}
        attributes = []
        for i, name in enumerate(names):
            column, type_ = f"c{i}", table.schema.field(i + 1).type
            if pa.types.is_null(type_):  # no value anywhere
                if name == "kind":
                    kind = None
                continue
            if name in CORE_EVENT_FIELDS:
                made = _core_field(pa, name, type_, column)
                if made is None:
                    return None
                fields[name] = made
            elif _is_text(pa, type_):
                attributes.append(_text_attribute(rules, name, column, kind, empty_is_none=False))
            elif str(type_) in _SIMPLE:
                attributes.append(f"{exp.Literal.string(name).sql('duckdb')}, {column}")
            else:
                return None
        return table, (f"CREATE OR REPLACE TEMP TABLE parsed AS SELECT {_LINE} AS line, true AS core_only, "
                       f"{_parsed_columns(fields, attributes)} FROM rows_in")

    with _connected(rules, threads, memory_limit, lanes=1) as (con,):

        def screen(table: Any, what: str) -> Any:
            made = statement(table)
            if made is None:  # no row plain: a table of none, with the columns of plain rows
                return _plain(con, "rows_in", table, f"CREATE OR REPLACE TEMP TABLE parsed AS SELECT 0::BIGINT AS line, true AS core_only, "
                                                     f"{_parsed_columns({}, [])} WHERE false", what)
            return _plain(con, "rows_in", made[0], made[1], what)

        yield screen


#: the lines of a block of a CSV file, each with its cells (``c``: :data:`_SPLIT`)
_CSV_LINES = (f"SELECT line, text, {_SPLIT} AS c FROM ("
              "SELECT line, CASE WHEN suffix(text, chr(13)) THEN text[:-2] ELSE text END AS text "
              "FROM (SELECT line, try(decode(raw)) AS text FROM block) WHERE text IS NOT NULL) "
              f"WHERE {_SCAN_CSV} true")


def _csv_screenable(data: bytes, names: Sequence[str]) -> bool:
    """Can a CSV file's lines be screened: no carriage return but before a line feed (the CSV
    reader ends a line there), every column named as the reference names a value (none empty,
    none with NUL, none ``attributes``)?"""
    return data.count(b"\r") == data.count(b"\r\n") and not any(not name or "\x00" in name or name == "attributes" for name in names)


def _csv_checks(names: Sequence[str]) -> list[str]:
    """What a line of :data:`_CSV_LINES` must be to be one record as the reference reads it, in
    SQL: as many cells as the header, shorter than the CSV reader's cell limit (131,072
    characters unless a program changed it), not only commas and white space (a line the reference
    skips), and no white space in ``participants`` (the reference strips the names)."""
    checks = [f"len(c) = {len(names)}", f"length(text) < {csv.field_size_limit()}", f"regexp_matches(array_to_string(c, ','), '[^,{_SPACES}]')"]
    if "participants" in names:
        last = len(names) - list(reversed(names)).index("participants")  # a name twice: the last cell is the value
        checks.append(f"NOT regexp_matches(c[{last}], '[{_SPACES}]')")
    return checks


def _text_attribute(rules: Rules, name: str, cell: str, kind: str | None, empty_is_none: bool = True) -> str:
    """``'name', value`` for :func:`_parsed_columns`: an attribute given as text (the SQL ``cell``)
    converted by the type the row's kind (the SQL ``kind``) declares for it, as the reference
    converts a text read from a CSV cell (:data:`_CELL`): an empty text no value, or, unless
    ``empty_is_none`` (a normaliser's record), a null no value and an empty text a text."""
    exp = importlib.import_module("sqlglot").exp  # texts quoted by SQLGlot, not pasted
    declared = {k: spec.attributes[name].type for k, spec in rules.ruleset.event_kinds.items() if name in spec.attributes}
    typed = "NULL::VARCHAR"
    if declared and kind is not None:
        typed = f"CASE {kind} " + " ".join(f"WHEN {exp.Literal.string(k).sql('duckdb')} THEN '{t}'" for k, t in declared.items()) + " END"
    converted = _CELL.format(cell=cell, t=typed)
    if not empty_is_none:
        converted = f"CASE WHEN {cell} IS NULL THEN NULL ELSE {_TEXT_CELL.format(cell=cell, t=typed)} END"
    return f"{exp.Literal.string(name).sql('duckdb')}, {converted}"


@contextlib.contextmanager
def csv_connection(rules: Rules, threads: int | None = None, memory_limit: str | None = None) -> Iterator[Any]:
    """The connections holding the rules (:func:`_connected`), for the blocks of one CSV file
    (:func:`screen_csv` and :func:`split_csv` given them as ``con``), closed when the ``with``
    block ends: a file screened again from a later line (after a record that runs on past its
    line) keeps its connections."""
    with _connected(rules, threads, memory_limit) as lanes:
        yield lanes


def _csv_blocks(data: bytes, parse: str, rules: Rules, threads: int | None, memory_limit: str | None, query: str | None = None,
                con: Any = None, start: tuple[int, int] | None = None) -> Generator[tuple[int, list[bytes], Any], None, None]:
    """The blocks of :func:`screen_csv` (``query``: of :func:`split_csv`): the lines after the
    header, from line 2, or from ``start`` (the byte offset of a line in ``data`` and its number);
    on ``con`` (:func:`csv_connection`'s connections), else on connections of their own."""
    offset, number = (data.find(b"\n") + 1, 2) if start is None else start
    if not offset or offset >= len(data):  # the header alone, or nothing after the line: no connection opened
        return
    stream = io.BytesIO(data)  # shares the bytes (no copy of the file)
    stream.seek(offset)
    first = 0 if start is None else RESTART
    if con is not None:
        yield from _blocks(con, stream, parse, _SCAN_CSV, number - 1, query, first)
        return
    with _connected(rules, threads, memory_limit) as lanes:
        yield from _blocks(lanes, stream, parse, _SCAN_CSV, number - 1, query, first)


#: the attribute name of the one path when no kind has a plain attribute (a line with it is not plain)
_NO_NAME = "complianceengine: no plain attribute"


def _pathable(name: str) -> bool:
    """Can a JSON path name this attribute as it is (``$."name"``)?"""
    return bool(name) and '"' not in name and "\\" not in name


def _rules(con: Any, rules: Rules) -> tuple[str, ...]:
    """The rules' tables and variables in ``con`` (the tables shared by every connection to its
    database, the variables its own: :func:`_variables`); the attribute names a plain line may carry."""
    pa = importlib.import_module("pyarrow")
    text = pa.string()
    # exemption kinds are never plain (their end is checked against the time), nor kinds with a
    # required attribute of another type or of a name a JSON path cannot hold as it is
    kinds = {name: kind for name, kind in rules.ruleset.event_kinds.items()
             if kind.excuses is None and all(spec.type in _TYPES and _pathable(attribute) for attribute, spec in kind.attributes.items()
                                             if spec.required)}
    # such a name never makes a line plain (it is not among the names); with no name at all, one
    # no line can be plain with stands in (a path needs one)
    names = tuple(dict.fromkeys(name for kind in kinds.values() for name, spec in kind.attributes.items()
                                if spec.type in _TYPES and _pathable(name))) or (_NO_NAME,)

    def plain(kind: Any, name: str) -> Any:
        spec = kind.attributes.get(name)
        return spec if spec is not None and spec.type in _TYPES else None

    tables = {
        "kinds": pa.table({
            "kind": pa.array(list(kinds), text),
            "needs_actor": pa.array(["actor" in k.requires for k in kinds.values()], pa.bool_()),
            "needs_unit": pa.array(["unit" in k.requires for k in kinds.values()], pa.bool_()),
            "needs_subject": pa.array(["subject" in k.requires for k in kinds.values()], pa.bool_()),
            "allowed": pa.array([[list(_TYPES[s.type]) if (s := plain(k, n)) else None for n in names] for k in kinds.values()],
                                pa.list_(pa.list_(text))),
            "vals": pa.array([[list(s.values or ()) if (s := plain(k, n)) and s.type == "enum" else None for n in names]
                              for k in kinds.values()], pa.list_(pa.list_(text))),
            "required": pa.array([[bool((s := k.attributes.get(n)) and s.required) for n in names] for k in kinds.values()],
                                 pa.list_(pa.bool_())),
        }),
    }
    registry = rules.registry
    for name, ids in (("people", [p.id for p in registry.people] if registry else []), ("units", [u.id for u in registry.units] if registry else []),
                      ("subjects", [s.id for s in registry.subjects] if registry else [])):
        tables[name] = pa.table({"id": pa.array(list(dict.fromkeys(ids)), text)})
    for name, table in tables.items():
        con.register("table_in", table)
        try:
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM table_in")
        finally:
            con.unregister("table_in")
    _variables(con, rules, names)
    return names


def _variables(con: Any, rules: Rules, names: tuple[str, ...]) -> None:
    """The rules' variables and macro in ``con``, whose database holds their tables; ``names``:
    the attribute names a plain line may carry (:func:`_rules`)."""
    con.execute("SET VARIABLE checked = ?", [rules.registry is not None])
    con.execute("SET VARIABLE claimed = ?::VARCHAR[]", [sorted(rules.claimed)])
    con.execute("SET VARIABLE paths = ?::VARCHAR[]", [[f'$."{name}"' for name in names]])
    con.execute(_attributes_macro(len(names)))
