"""A duty platform's CSV export with Chinese column headers, read as complianceengine events.

Duty platforms (e.g. a county's 智慧海防 platform) export their records as CSV with Chinese
headers, Chinese event-type names and local times without an offset. This plugin maps each row of
such an export to complianceengine's standard event record, through the
``complianceengine_record_normaliser`` hook; the core then validates it like any other event, so a
bad row becomes a reject with its file and line and nothing is dropped or quietly repaired.

Install it next to complianceengine (``pip install -e plugins/platform_csv``): its entry point
(group ``complianceengine``, name ``platform_csv``) is then loaded by every audit that loads
installed plugins, and a ``.csv`` events file in the platform's shape just works::

    complianceengine audit rulesets/xiangshan/ruleset.yaml \\
        --registry rulesets/xiangshan/sample/registry.yaml \\
        --events plugins/platform_csv/samples/xiangshan_export.csv \\
        --from 2026-08-01 --to 2026-10-31

or, without installed plugins, name it: ``complianceengine --no-entry-points --plugin
complianceengine_platform_csv audit ...``. From Python::

    import complianceengine as ce
    import complianceengine_platform_csv

    ruleset = ce.load_ruleset("rulesets/xiangshan/ruleset.yaml")
    registry = ce.load_registry("rulesets/xiangshan/sample/registry.yaml", ruleset)
    log = ce.read_events("plugins/platform_csv/samples/xiangshan_export.csv", ruleset, registry,
                         plugins=ce.Plugins([complianceengine_platform_csv]))

The export's columns (the platform's fixed format; their order does not matter):

========  ================  ==========================================================
header    event field       value
========  ================  ==========================================================
记录编号  ``id``            the platform's record number, e.g. ``PF-0001``
事件类型  ``kind``          the event kind's Chinese label (``label.zh`` in the
                            ruleset's ``event_kinds``, e.g. 巡查) or the kind's id
发生时间  ``time``          local time in the ruleset's ``timezone``:
                            ``2026/08/03 09:30``, ``2026-08-03 09:30:00`` (``-``, ``/``
                            or ``.`` between the date parts, seconds optional)
人员编号  ``actor``         person id from the registry
代为人员  ``on_behalf_of``  person id of the one the actor stood in for (optional)
单位编号  ``unit``          unit id from the registry
对象编号  ``subject``       subject id from the registry (optional)
参与人员  ``participants``  person ids separated by ``、``, ``;`` or ``；``
========  ================  ==========================================================

Every other column is an attribute of the event, named by the attribute's Chinese label
(``label.zh`` of the attribute in the event kind's ``attributes``) or by its id. For instance
with::

    event_kinds:
      patrol:
        label: {zh: 巡查, en: patrol}
        attributes:
          mode: {type: enum, values: [field, online], required: true, label: {zh: 巡查方式, en: mode}}

a column ``巡查方式`` (or ``mode``) holds the patrol's ``mode``. A ruleset whose attributes have no
``label`` (like the bundled Xiangshan one) needs the attribute ids as headers; that is what the
sample export ``samples/xiangshan_export.csv`` does. Values are converted by the attribute's type:

* ``datetime``: local times in the formats of 发生时间 become ISO 8601 with the zone's offset;
* ``boolean``: ``是`` / ``否`` become true / false (``true`` / ``false`` are read by the core);
* ``list``: items separated by ``、``, ``;`` or ``；``;
* ``enum``: the value must be one of the declared ``values`` as written in the ruleset; a ruleset
  has no place for Chinese names of enum values, so none are translated;
* everything else is passed on as text, for the core to type (integers, numbers).

What is not changed, so that the core rejects the row and says why:

* an 事件类型 that is no declared kind's id or Chinese label (or a label two kinds share) stays as
  written, and the reject lists the declared kinds;
* a 发生时间 not in a format above (or naming a day that does not exist, such as 2026/09/31) is
  passed on as written and the core reports it;
* a column that is no attribute of the event's kind keeps its header, and the reject names it as
  an unknown attribute; so do two columns giving one attribute or field different values (say
  ``单位编号`` and ``unit``, or ``巡查方式`` and ``mode``): neither is chosen silently;
* people, units and subjects are checked against the registry by the core as usual.

Blank cells are left out, as if the column were absent, and the values of the columns in the
table are stripped of surrounding spaces. A local time that falls in a daylight-saving gap or
overlap is resolved the way the core resolves naive times (pendulum's rule). A row counts as the platform's when it has any of the headers in the table
above (not only 记录编号: the core's reader leaves empty cells out, so a row whose 记录编号 is
empty would otherwise slip past and be rejected for a misleading reason). Any other record, from
JSONL, from a standard CSV or from another plugin's reader, is left alone (the normaliser
returns ``None``). The record handed to it is never modified.

Read with DuckDB (``--engine duckdb``, or ``auto`` for a large file), an export's records are
mapped in bulk (:func:`normalise_table`, the function's ``table``): the rows it can map exactly
as :func:`normalise` does are screened by DuckDB, and every other row goes through
:func:`normalise`, so the log is the same either way (the tests check the two functions against
each other).
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Mapping
from typing import Any

import pendulum

from complianceengine import Ruleset, hookimpl
from complianceengine.model import CORE_EVENT_FIELDS

# the platform's fixed headers -> complianceengine's core event fields
COLUMNS: dict[str, str] = {
    "记录编号": "id",
    "事件类型": "kind",
    "发生时间": "time",
    "人员编号": "actor",
    "代为人员": "on_behalf_of",
    "单位编号": "unit",
    "对象编号": "subject",
    "参与人员": "participants",
}

BOOLEANS = {"是": True, "否": False}

_LOCAL_TIME = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?")
_LIST_SEPARATORS = re.compile(r"[、;；]")


def is_platform_record(record: Mapping[str, Any]) -> bool:
    """Whether ``record`` (core fields plus ``attributes``) carries any of the platform's headers."""
    if not COLUMNS.keys().isdisjoint(record):  # asked of every record read: no set built
        return True
    attributes = record.get("attributes")
    return isinstance(attributes, Mapping) and not COLUMNS.keys().isdisjoint(attributes)


def local_time(text: str, timezone: str) -> str | None:
    """``2026/08/03 09:30`` (local in ``timezone``) as ISO 8601 with the offset, or ``None`` when
    the text is not in one of the platform's formats or names a day or hour that does not exist."""
    match = _LOCAL_TIME.fullmatch(text.strip())
    if match is None:
        return None
    year, _, month, day, hour, minute, second = match.groups()
    try:
        moment = pendulum.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tz=pendulum.timezone(timezone)
        )
    except ValueError:
        return None
    return moment.isoformat()


def split_list(text: str) -> list[str]:
    """Items of a ``、`` / ``;`` / ``；`` separated cell, blanks left out."""
    return [item.strip() for item in _LIST_SEPARATORS.split(text) if item.strip()]


def _by_label(pairs: list[tuple[str | None, str]]) -> dict[str, str]:
    """label -> id, leaving out labels that name more than one id."""
    seen: dict[str, set[str]] = {}
    for label, name in pairs:
        if label and label.strip():
            seen.setdefault(label.strip(), set()).add(name)
    return {label: next(iter(names)) for label, names in seen.items() if len(names) == 1}


def kind_names(ruleset: Ruleset) -> dict[str, str]:
    """What 事件类型 may say -> event kind id: the kinds' Chinese labels and their ids."""
    names = _by_label([(kind.label.zh, name) for name, kind in ruleset.event_kinds.items()])
    names.update({name: name for name in ruleset.event_kinds})
    return names


def attribute_names(ruleset: Ruleset, kind: str) -> dict[str, str]:
    """Column header -> attribute id for events of ``kind``: Chinese labels and ids."""
    specs = ruleset.event_kinds[kind].attributes
    names = _by_label([(spec.label.zh if spec.label else None, name) for name, spec in specs.items()])
    names.update({name: name for name in specs})
    return names


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _core_value(field: str, value: Any, timezone: str) -> Any:
    if not isinstance(value, str):
        return list(value) if isinstance(value, list) else value
    if field == "participants":
        return split_list(value)
    if field == "time":
        return local_time(value, timezone) or value
    return value.strip()


def _attribute_value(spec_type: str, value: Any, timezone: str) -> Any:
    if not isinstance(value, str):
        return list(value) if isinstance(value, list) else value
    if spec_type == "datetime":
        return local_time(value, timezone) or value
    if spec_type == "boolean":
        return BOOLEANS.get(value.strip(), value)
    if spec_type == "list":
        return split_list(value)
    return value


def normalise(record: Mapping[str, Any], ruleset: Ruleset) -> dict[str, Any] | None:
    """The standard record (core fields plus ``attributes``) for one row of a platform export, or
    ``None`` when ``record`` is not in the platform's shape. ``record`` is not modified."""
    if not is_platform_record(record):
        return None
    attributes = record.get("attributes")
    columns: list[tuple[str, Any]] = [(key, value) for key, value in record.items() if key != "attributes"]
    if isinstance(attributes, Mapping):
        columns += list(attributes.items())

    fields: dict[str, Any] = {}
    rest: list[tuple[str, Any]] = []  # columns that are not core fields, in their order
    repeated: dict[str, Any] = {}  # a second, different value for a core field: the core rejects it by its header
    for key, value in columns:
        if _blank(value):
            continue
        field = COLUMNS.get(key, key if key in CORE_EVENT_FIELDS else None)
        if field is None:
            rest.append((key, value))
            continue
        converted = _core_value(field, value, ruleset.timezone)
        if field in fields and fields[field] != converted:
            repeated[key] = value
            continue
        fields[field] = converted

    kind = fields.get("kind")
    if isinstance(kind, str):
        kind = kind_names(ruleset).get(kind, kind)
        fields["kind"] = kind
    known = attribute_names(ruleset, kind) if isinstance(kind, str) and kind in ruleset.event_kinds else {}

    given: dict[str, list[tuple[str, Any]]] = {}  # attribute -> (header, value) of every column naming it
    out_attributes: dict[str, Any] = {}
    for key, value in rest:
        name = known.get(key.strip()) if isinstance(key, str) else None
        if name is None:
            out_attributes[key] = value  # unknown to this kind: the core rejects it by its header
            continue
        spec = ruleset.event_kinds[kind].attributes[name]
        given.setdefault(name, []).append((key, _attribute_value(spec.type, value, ruleset.timezone)))
    for name, columns_of_name in given.items():
        if len({repr(value) for _, value in columns_of_name}) == 1:
            out_attributes[name] = columns_of_name[0][1]
        else:  # different values for one attribute: each keeps its header, so the core rejects the row
            out_attributes.update(columns_of_name)
    return {**fields, "attributes": {**out_attributes, **repeated}}


#: the characters ``str.strip`` strips (``str.isspace``), for pyarrow's ``utf8_trim``
_PY_SPACES = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def normalise_table(records: Any, ruleset: Ruleset) -> tuple[Any, Any]:
    """:func:`normalise` for many records at once: ``records`` a pyarrow table with one column per
    key of the records (texts, null where a record has no such key; ``participants`` a list of
    texts), as a CSV file's lines are given in bulk. Returns the normalised records as a table,
    row for row (a column per core field and attribute, texts and ``participants`` a list, null
    where the record has none; a ``是`` / ``否`` of a boolean attribute written ``true`` /
    ``false``, which the core reads as it reads the true and false :func:`normalise` gives), and a
    boolean array: the rows for which that table holds what :func:`normalise` gives the record
    (attributes in its order).
    The others (a record that is not the platform's, a column no attribute of the row's kind,
    two columns giving one field or attribute different values, a list, a participant with white
    space to strip) are for :func:`normalise`, one at a time."""
    pa = importlib.import_module("pyarrow")
    pc = importlib.import_module("pyarrow.compute")
    rows = records.num_rows
    text = pa.string()
    names = records.schema.names
    kept = pa.array([False] * rows, pa.bool_())  # a record with a platform header (the core leaves empty cells out)
    for key in COLUMNS:
        if key in names:
            kept = pc.or_(kept, pc.is_valid(records.column(key)))

    def cells(name: str) -> tuple[Any, Any]:
        """A text column's values and where they are there and not blank (``_blank``)."""
        column = records.column(name)
        return column, pc.fill_null(pc.not_equal(pc.utf8_trim(column, characters=_PY_SPACES), ""), False)

    def each(column: Any, convert: Callable[[str], str | None]) -> Any:
        """``convert`` of each distinct text of ``column``."""
        distinct = pc.unique(column)
        converted = pa.array([None if value is None else convert(value) for value in distinct.to_pylist()], text)
        return pc.take(converted, pc.index_in(column, value_set=distinct))

    def settle(given: list[tuple[Any, Any, Any]]) -> tuple[Any, Any]:
        """One value from the columns ``(value, key to compare, there)`` that give it: the first
        there, and where two there differ (the row is :func:`normalise`'s)."""
        value, key, there = given[0]
        clash = pa.array([False] * rows, pa.bool_())
        for other, other_key, other_there in given[1:]:
            both = pc.and_(there, other_there)
            clash = pc.or_(clash, pc.fill_null(pc.and_(both, pc.not_equal(key, other_key)), False))
            value = pc.if_else(there, value, other)
            key = pc.if_else(there, key, other_key)
            there = pc.or_(there, other_there)
        return pc.if_else(there, value, pa.nulls(rows, value.type)), clash

    out: dict[str, Any] = {}
    by_field: dict[str, list[tuple[Any, Any, Any]]] = {}
    rest: list[str] = []
    for name in names:
        field = COLUMNS.get(name, name if name in CORE_EVENT_FIELDS else None)
        if field is None:
            rest.append(name)
            continue
        column = records.column(name)
        if field == "participants":
            if pa.types.is_list(column.type):  # the core's participants, split already
                there = pc.is_valid(column)
                column = pc.cast(column, pa.list_(text))
                by_field.setdefault(field, []).append((column, pc.binary_join(column, "\x00"), there))
                continue
            column, there = cells(name)
            items = pc.split_pattern_regex(column, _LIST_SEPARATORS.pattern)
            flat = pc.list_flatten(items)
            # an item with white space to strip, or empty, is :func:`normalise`'s to drop
            odd = pc.or_(pc.not_equal(pc.utf8_trim(flat, characters=_PY_SPACES), flat), pc.equal(flat, ""))
            bad = pa.array([False] * rows, pa.bool_())
            if len(flat):
                parents = pc.filter(pc.list_parent_indices(items), odd)
                if len(parents):
                    bad = pc.is_in(pa.array(range(rows), pa.int64()), value_set=pc.unique(pc.cast(parents, pa.int64())))
            kept = pc.and_(kept, pc.invert(pc.and_(there, bad)))
            items = pc.cast(items, pa.list_(text))
            by_field.setdefault(field, []).append((items, pc.binary_join(items, "\x00"), there))
            continue
        column, there = cells(name)
        if field == "time":
            value = pc.coalesce(each(column, functools.partial(_local_time, timezone=ruleset.timezone)), column)
        else:
            value = pc.utf8_trim(column, characters=_PY_SPACES)
        by_field.setdefault(field, []).append((value, value, there))
    for field, given in by_field.items():
        out[field], clash = settle(given) if len(given) > 1 else (pc.if_else(given[0][2], given[0][0], pa.nulls(rows, given[0][0].type)),
                                                                   pa.array([False] * rows, pa.bool_()))
        kept = pc.and_(kept, pc.invert(clash))
    kinds = kind_names(ruleset)
    if "kind" in out:
        out["kind"] = each(out["kind"], lambda name: kinds.get(name, name))
    kind = out.get("kind", pa.nulls(rows, text))
    declared = pc.fill_null(pc.is_in(kind, value_set=pa.array(list(ruleset.event_kinds), text)), False)
    attributes: dict[str, list[tuple[Any, Any, Any]]] = {}
    first: dict[str, Any] = {}  # attribute -> in each row, the position of the first column giving it (null: none)
    for name in rest:
        column, there = cells(name)
        position = pa.scalar(names.index(name), pa.int64())
        named = pa.array([False] * rows, pa.bool_())  # rows whose kind has an attribute by this header
        for kind_name in ruleset.event_kinds:
            attribute = attribute_names(ruleset, kind_name).get(name.strip())
            if attribute is None:
                continue
            here = pc.fill_null(pc.and_(pc.equal(kind, kind_name), there), False)
            named = pc.or_(named, here)
            spec = ruleset.event_kinds[kind_name].attributes[attribute]
            value, key = column, column
            if spec.type == "datetime":
                value = key = pc.coalesce(each(column, functools.partial(_local_time, timezone=ruleset.timezone)), column)
            elif spec.type == "boolean":
                said = each(column, lambda cell: {"是": "true", "否": "false"}.get(cell.strip()))
                value = pc.coalesce(said, column)
                key = pc.coalesce(pc.binary_join_element_wise(pa.scalar("\x00"), said, ""), column)  # True is not 'true'
            elif spec.type == "list":  # a list is :func:`normalise`'s (the core reads it row by row anyway)
                kept = pc.and_(kept, pc.invert(here))
            attributes.setdefault(attribute, []).append((value, key, here))
            earlier = first.get(attribute, pa.nulls(rows, pa.int64()))
            first[attribute] = pc.if_else(pc.and_(here, pc.is_null(earlier)), position, earlier)
        # a column no attribute of the row's kind (or of no declared kind) is kept by its header: the core rejects it
        kept = pc.and_(kept, pc.invert(pc.and_(there, pc.invert(named))))
    for attribute, given in attributes.items():
        out[attribute], clash = settle(given)
        kept = pc.and_(kept, pc.invert(clash))
    # :func:`normalise` orders a record's attributes by the first column giving each; the table's
    # columns are in the order the headers first name them for any kind: a row they disagree for is
    # :func:`normalise`'s
    last = pa.array([-1] * rows, pa.int64())
    for attribute in attributes:
        at = first[attribute]
        kept = pc.and_(kept, pc.invert(pc.fill_null(pc.less(at, last), False)))
        last = pc.if_else(pc.is_null(at), last, pc.max_element_wise(last, at))
    kept = pc.and_(kept, pc.or_(declared, pc.is_null(kind)))
    return pa.table(out) if out else pa.table({"kind": pa.nulls(rows, text)}), kept


@functools.lru_cache(maxsize=1 << 16)
def _local_time(text: str, timezone: str) -> str | None:
    return local_time(text, timezone)


@hookimpl
def complianceengine_record_normaliser(path, ruleset):
    """:func:`normalise` for every record of every file (a JSON-lines file may hold platform
    records too): asked once per file, so a million records cost no hook calls. Its ``keys``
    are the platform's headers: a record with none of them is left alone (:func:`is_platform_record`),
    so a reader that screens lines in bulk need not hand it such records. Its ``table`` maps
    records in bulk (:func:`normalise_table`)."""
    function = functools.partial(normalise, ruleset=ruleset)
    function.keys = frozenset(COLUMNS)  # type: ignore[attr-defined]
    function.table = functools.partial(normalise_table, ruleset=ruleset)  # type: ignore[attr-defined]
    return function
