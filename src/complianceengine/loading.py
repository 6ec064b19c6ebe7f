"""Reading rulesets, registries (YAML) and events (JSONL, CSV) into models.

YAML is read with ruamel.yaml's round-trip loader, which remembers where every key, value and
list item sits, so a validation error deep inside a document is reported as file:line:column.
A registry (which can list tens of thousands of people) is first read with libyaml's C parser
(PyYAML), resolving scalars by ruamel's own YAML 1.2 rules; the round-trip tree is built only when
a problem has to be located, or when the document uses something the fast reader leaves to ruamel
(anchors, tags, directives, block scalars, tabs, duplicate or non-text keys).
Events are read line by line; a malformed event becomes a :class:`~complianceengine.model.Reject`
with its file, line and raw text instead of stopping the read or vanishing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import pendulum
from pendulum.tz import fixed_timezone
from pydantic import TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import implicit_resolvers as _RUAMEL_IMPLICIT_RESOLVERS
from ruamel.yaml.tag import Tag

_CParser: Any
try:  # PyYAML built with libyaml: the C parser that reads registry data
    import yaml.cyaml as _cyaml
    from yaml import events as _yaml_events

    _CParser = getattr(_cyaml, "CParser")  # only there when PyYAML was built with libyaml
except (ImportError, AttributeError):  # pragma: no cover - without libyaml every document is read by ruamel alone
    _CParser = None

from .bulk import gc_paused
from .errors import EventSourceError, Location, PluginError, Problem, RegistryError, RulesetError
from .model import (
    CORE_EVENT_FIELDS,
    AttributeSpec,
    Duplicate,
    Event,
    EventLog,
    Registry,
    Reject,
    Ruleset,
    compact,
)
from .outputs import write_atomically
from .plugins import Plugins
from .references import check_registry, check_ruleset, path_text, resolve_kinds

# --------------------------------------------------------------------------------------------
# YAML with positions


class _Constructor(RoundTripConstructor):
    """Round-trip construction that reports an impossible date (2026-13-01) at its position
    instead of raising a bare ValueError."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError as exc:
            raise ConstructorError(None, None, f"{node.value!r} is not a valid date or time ({exc})", node.start_mark) from None


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)


def _yaml() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.Constructor = _Constructor
    return yaml


def _read_yaml(path: Path, error: type[RulesetError] | type[RegistryError]) -> tuple[Any, Any]:
    """Return (plain data, round-trip node tree) of a YAML file."""
    return _parse_yaml(_read_text(path, error), path, error)


def _read_text(path: Path, error: type[RulesetError] | type[RegistryError]) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error([Problem(Location(str(path)), "", f"cannot read file: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise error([Problem(Location(str(path)), "", f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8")]) from None


#: limits on what a YAML document may cost to read (docs/authoring.md, "Limits")
MAX_YAML_VALUES = 2_000_000
MAX_YAML_DEPTH = 100
MAX_EXTENDS = 20


def _parse_yaml(text: str, path: Path, error: type[RulesetError] | type[RegistryError]) -> tuple[Any, Any]:
    """(plain data, round-trip node tree) of YAML text read from ``path``."""
    try:
        node = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        raise error([Problem(Location(str(path), line, column), "", f"invalid YAML: {message}")]) from None
    except YAMLError as exc:  # e.g. a NUL byte: ruamel's reader gives no mark
        raise error([Problem(Location(str(path)), "", f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise error([Problem(Location(str(path)), "", f"invalid YAML: nested more than {MAX_YAML_DEPTH} levels deep")]) from None
    if not isinstance(node, CommentedMap):
        raise error([Problem(Location(str(path), 1, 1), "", "expected a mapping at the top of the document")])
    try:
        return _plain(node), node
    except _TooLarge as exc:
        raise error([Problem(Location(str(path)), "", f"invalid YAML: {exc}")]) from None


class _TooLarge(ValueError):
    """A document that would cost too much to read: too deep, or aliases expanding to too many
    values (a "billion laughs")."""


def _plain(node: Any, depth: int = 0, budget: list[int] | None = None) -> Any:
    """Round-trip nodes to plain Python (dict, list, str, int, float, bool, date, datetime).

    Aliases are expanded here, so the number of values made is counted against
    :data:`MAX_YAML_VALUES` and the depth against :data:`MAX_YAML_DEPTH` (:class:`_TooLarge`)."""
    if budget is None:
        budget = [MAX_YAML_VALUES]
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge(f"the document expands to more than {MAX_YAML_VALUES:,} values (aliases repeated inside aliases?)")
    if depth > MAX_YAML_DEPTH:
        raise _TooLarge(f"nested more than {MAX_YAML_DEPTH} levels deep")
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, (str, int)) else k: _plain(v, depth + 1, budget) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v, depth + 1, budget) for v in node]
    if isinstance(node, dt.datetime):
        return dt.datetime.fromisoformat(node.isoformat()) if type(node) is not dt.datetime else node
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


# ruamel's own implicit resolvers for YAML 1.2 (what the round-trip loader uses when a document
# has no %YAML directive), by the first character of a plain scalar
_RESOLVERS_12: dict[str, list[tuple[str, Any]]] = {}
for _versions, _tag, _regexp, _first in _RUAMEL_IMPLICIT_RESOLVERS:
    if (1, 2) in _versions:
        for _char in _first:
            _RESOLVERS_12.setdefault(_char, []).append((_tag, _regexp))
del _versions, _tag, _regexp, _first, _char
_CONSTRUCTED = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp"}
# text the fast reader leaves to ruamel: tabs (libyaml and ruamel treat them differently in
# places), a byte-order mark, the line breaks YAML 1.1 has and YAML 1.2 does not, and a quoted
# scalar run into a colon ("a":b, which libyaml reads as a key in a flow and ruamel refuses)
_LEFT_TO_RUAMEL = re.compile(r"[\t\ufeff\x85\u2028\u2029]|[\"']:[^\s]")
_MISSING = object()  # no pending key / no value built yet


class _LazyRoot:
    """A round-trip node tree built on first use (only needed to locate a problem)."""

    def __init__(self, build: Callable[[], Any]):
        self._build = build

    def get(self) -> Any:
        return self._build()


def _node_tree(root: Any) -> Any:
    return root.get() if isinstance(root, _LazyRoot) else root


def _fast_plain(text: str) -> dict[str, Any] | None:
    """The plain data of a one-document YAML mapping, read with libyaml; exactly what
    ``_plain(ruamel round-trip tree)`` gives, or ``None`` when the document uses anything this
    reader leaves to ruamel (anchors, aliases, tags, directives, merge keys, block scalars, duplicate
    or non-text keys, tabs) or libyaml cannot read it. Non-text plain scalars (null, booleans, numbers, dates,
    timestamps) are resolved by ruamel's YAML 1.2 rules and built by ruamel's constructor."""
    if _CParser is None or _LEFT_TO_RUAMEL.search(text):
        return None
    parser = _CParser(text)
    try:
        with gc_paused():
            return _build_plain(parser)
    except Exception:  # anything libyaml or a scalar constructor objects to: ruamel decides and locates
        return None
    finally:
        parser.dispose()


def _build_plain(parser: Any) -> dict[str, Any] | None:
    events = _yaml_events
    scalar_event, mapping_start, sequence_start = events.ScalarEvent, events.MappingStartEvent, events.SequenceStartEvent
    collection_end = (events.MappingEndEvent, events.SequenceEndEvent)
    get = parser.get_event
    if type(get()) is not events.StreamStartEvent:
        return None
    start = get()
    if type(start) is not events.DocumentStartEvent or start.version is not None or start.tags:
        return None
    constructor = _yaml().constructor
    built: dict[str, Any] = {}  # plain scalar text -> its non-text value
    no_key = _MISSING
    stack: list[Any] = []  # open collections
    keys: list[Any] = []  # per open collection: the key waiting for its value (mappings)
    root: Any = None
    while True:
        event = get()
        kind = type(event)
        if kind is scalar_event:
            if event.anchor is not None or event.tag is not None or event.style in ("|", ">"):
                return None  # block scalars too: ruamel refuses some indentations libyaml reads
            item = event.value
            if event.implicit[0]:  # a plain scalar: resolve it as ruamel does
                resolvers = _RESOLVERS_12.get(item[0] if item else "")
                if resolvers is not None:
                    value = built.get(item, no_key)
                    if value is no_key:
                        for tag, regexp in resolvers:
                            if regexp.match(item):
                                if tag not in _CONSTRUCTED:
                                    return None  # a merge key (<<) or another special scalar
                                node = ScalarNode(Tag(suffix=tag), item)
                                value = _plain(constructor.construct_object(node, deep=True))
                                break
                        else:
                            value = item
                        built[item] = value
                    item = value
        elif kind is mapping_start or kind is sequence_start:
            if event.anchor is not None or event.tag is not None:
                return None
            stack.append({} if kind is mapping_start else [])
            keys.append(no_key)
            continue
        elif kind in collection_end:
            item = stack.pop()
            keys.pop()
        else:  # an alias, or the end of the document
            return None
        if not stack:
            root = item
            break
        top = stack[-1]
        if type(top) is list:
            top.append(item)
        elif keys[-1] is no_key:
            if type(item) is not str or item in top:
                return None  # a non-text key (its text form is ruamel's business) or a duplicate one
            keys[-1] = item
        else:
            top[keys[-1]] = item
            keys[-1] = no_key
    if type(get()) is not events.DocumentEndEvent or type(get()) is not events.StreamEndEvent:
        return None  # more than one document
    return root if type(root) is dict else None


def locate(root: Any, path: Sequence[Any], file: str, *, at_key: bool = False) -> Location:
    """The position of ``path`` inside a round-trip YAML tree.

    Path parts that are not keys or indices of the current node (pydantic's union tags such as
    ``'frequency'`` or ``'function-after[...]'``) are skipped. A path that ends at a missing key
    points at the mapping that lacks it.
    """
    node = root
    position: tuple[int, int] | None = (0, 0)
    parts = list(path)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, CommentedMap) and part in node:
            child = node[part]
            try:
                if isinstance(child, (CommentedMap, CommentedSeq)) or (last and at_key):
                    position = tuple(node.lc.key(part))
                else:
                    position = tuple(node.lc.value(part))
            except KeyError:  # a key brought in by a merge (<<: *anchor) has no position of its own
                pass
            node = child
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            try:
                position = tuple(node.lc.item(part))
            except KeyError:  # an item without a recorded position: keep the list's
                pass
            node = node[part]
        # else: a union tag or a missing key; stay at the current node
    if isinstance(node, (CommentedMap, CommentedSeq)) and node.lc.line is not None and not parts:
        position = (node.lc.line, node.lc.col)
    line, column = position if position else (None, None)
    return Location(file, None if line is None else line + 1, None if column is None else column + 1)


def _clean_path(root: Any, loc: Sequence[Any], names_key: bool) -> tuple[Any, ...]:
    """Keep only the parts of a pydantic error location that exist in the document (plus the
    missing or unknown key itself when ``names_key``)."""
    node, kept = root, []
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            kept.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            kept.append(part)
            node = node[part]
        elif names_key and isinstance(node, dict) and i == len(loc) - 1:
            kept.append(part)  # a missing or extra key: name it
            node = None
    return tuple(kept)


_KEY_ERRORS = ("missing", "extra_forbidden")


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    field = error["loc"][-1] if error["loc"] else ""
    if kind == "missing":
        return f"missing required field {field!r}"
    if kind == "extra_forbidden":
        if isinstance(field, str) and not re.fullmatch(r"[A-Za-z0-9_$\-]+", field):
            return (
                f"unknown field {field!r}: a comma inside a {{...}} mapping splits the text there; "
                "put the whole text in quotes"
            )
        return f"unknown field {field!r}; check its spelling and indentation"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"expected one of {expected}, got {error['input']!r}"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind not in ("value_error", "applies_to", "union_tag_invalid") and "input" in error and not isinstance(error["input"], (dict, list)):
        message += f" (got {error['input']!r})"
    return str(message)


FileOf = str | Callable[[tuple[Any, ...]], str]


def _file(file: FileOf, path: tuple[Any, ...]) -> str:
    return file(path) if callable(file) else file


def _validation_problems(errors: Sequence[Mapping[str, Any]], root: Any, plain: Any, file: FileOf) -> list[Problem]:
    problems = []
    seen = set()
    # A union field (e.g. ``period: week`` or ``period: {every: P14D}``) reports one error per
    # alternative; keep those that fit the shape the author wrote (a mapping or a scalar).
    shaped = {"dict_type", "model_type", "model_attributes_type"}
    by_path: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for error in errors:
        by_path.setdefault(_clean_path(plain, error["loc"], error["type"] in _KEY_ERRORS), []).append(error)
    for path, group in by_path.items():
        if len(group) > 1:
            is_mapping = [isinstance(e.get("input"), dict) for e in group]
            narrowed = [e for e, m in zip(group, is_mapping) if (e["type"] in shaped) != (not m) or e["type"] in ("missing", "extra_forbidden")]
            if narrowed:
                by_path[path] = narrowed

    def deeper(path: tuple[Any, ...]) -> bool:
        return any(len(other) > len(path) and other[: len(path)] == path for other in by_path)

    errors = [
        e
        for path, group in by_path.items()
        for e in group
        if not (isinstance(e.get("input"), dict) and e["type"] not in _KEY_ERRORS and deeper(path))
    ]
    for error in errors:
        path = _clean_path(plain, error["loc"], error["type"] in _KEY_ERRORS)
        message = _message(error)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        location = locate(root, path, _file(file, path), at_key=error["type"] == "extra_forbidden")
        problems.append(Problem(location, path_text(path), message))
    return problems


def _reference_problems(references: list[tuple[tuple[Any, ...], str]], root: Any, file: FileOf) -> list[Problem]:
    return [Problem(locate(root, path, _file(file, path)), path_text(path), message) for path, message in references]


# --------------------------------------------------------------------------------------------
# Overlays: a ruleset that `extends` a base

_SECTIONS = ("sources", "unit_kinds", "roles", "event_kinds", "subject_kinds", "calendars")


def _copy_position(target: Any, key: Any, source: Any, source_key: Any) -> None:
    """Give ``target[key]`` the source document's position, so errors still point at it."""
    try:
        position = list(source.lc.data[source_key])
    except (AttributeError, KeyError, IndexError, TypeError):
        return
    if isinstance(target, CommentedSeq):
        target.lc.add_idx_line_col(key, position)
    else:
        target.lc.add_kv_line_col(key, position)


def compose(path: Path, _chain: tuple[Path, ...] = ()) -> tuple[CommentedMap, dict[tuple[Any, ...], Path]]:
    """The document at ``path`` with its ``extends`` chain applied, and where each part comes from.

    Precedence: the overlay wins. Top-level values are replaced; entries of ``sources``,
    ``unit_kinds``, ``roles``, ``event_kinds``, ``subject_kinds`` and ``calendars`` are added or
    replaced by name; obligations are replaced by id (in the base's position), added at the end,
    or dropped with ``remove: [ids]``. The result keeps the original nodes, so positions still
    point into the file each part came from: ``origins`` maps a document path prefix (a section
    entry or an obligation index) to that file.
    """
    _, node = _read_yaml(path, RulesetError)
    here = path.resolve()
    extends = node.get("extends")
    if extends is None:
        if node.get("remove"):
            raise RulesetError([Problem(locate(node, ("remove",), str(path)), "remove", "remove is for an overlay: name its base with extends")])
        return node, {}
    _check_overlay_shape(node, str(path))
    if not isinstance(extends, str):
        raise RulesetError([Problem(locate(node, ("extends",), str(path)), "extends", "extends must be the path of the base ruleset file")])
    base_path = (path.parent / extends).resolve()
    if len(_chain) >= MAX_EXTENDS:
        raise RulesetError([Problem(locate(node, ("extends",), str(path)), "extends", f"more than {MAX_EXTENDS} rulesets extend one another")])
    if base_path == here or base_path in _chain:
        raise RulesetError([Problem(locate(node, ("extends",), str(path)), "extends", f"{extends} extends this file again: a cycle")])
    if not base_path.is_file():
        raise RulesetError([Problem(locate(node, ("extends",), str(path)), "extends", f"base ruleset {base_path} does not exist")])
    base, base_origins = compose(base_path, (*_chain, here))
    origins: dict[tuple[Any, ...], Path] = {}
    merged = CommentedMap()
    for key in base:
        if key in ("extends", "remove"):
            continue
        merged[key] = base[key]
        _copy_position(merged, key, base, key)
        if key not in _SECTIONS and key != "obligations":  # a top-level value; the overlay's replaces it below
            origins[(key,)] = base_origins.get((key,), base_path)
    for section in _SECTIONS:
        if section not in node and section not in base:
            continue
        entries = CommentedMap()
        for source, file in ((base.get(section) or {}, None), (node.get(section) or {}, here)):
            if not isinstance(source, dict):
                continue
            for name in source:
                entries[name] = source[name]
                _copy_position(entries, name, source, name)
                origins[(section, name)] = file or base_origins.get((section, name), base_path)
        merged[section] = entries
        _copy_position(merged, section, node if section in node else base, section)
    removed = set(node.get("remove") or [])
    obligations = CommentedSeq()
    by_id = {o.get("id"): (i, o) for i, o in enumerate(node.get("obligations") or []) if isinstance(o, dict)}
    used = set()
    for i, item in enumerate(base.get("obligations") or []):
        oid = item.get("id") if isinstance(item, dict) else None
        if oid in removed:
            continue
        if oid in by_id:
            j, replacement = by_id[oid]
            used.add(oid)
            obligations.append(replacement)
            _copy_position(obligations, len(obligations) - 1, node["obligations"], j)
            origins[("obligations", len(obligations) - 1)] = here
        else:
            obligations.append(item)
            _copy_position(obligations, len(obligations) - 1, base["obligations"], i)
            origins[("obligations", len(obligations) - 1)] = base_origins.get(("obligations", i), base_path)
    for j, item in enumerate(node.get("obligations") or []):
        if isinstance(item, dict) and item.get("id") in used:
            continue
        obligations.append(item)
        _copy_position(obligations, len(obligations) - 1, node["obligations"], j)
        origins[("obligations", len(obligations) - 1)] = here
    unknown = sorted(removed - {o.get("id") for o in base.get("obligations") or [] if isinstance(o, dict)})
    if unknown:
        raise RulesetError([Problem(locate(node, ("remove",), str(path)), "remove", f"the base has no obligations {unknown} to remove")])
    merged["obligations"] = obligations
    for key in node:
        if key in _SECTIONS or key in ("obligations", "extends", "remove"):
            continue
        merged[key] = node[key]
        _copy_position(merged, key, node, key)
        origins[(key,)] = here
    return merged, origins


def _check_overlay_shape(node: CommentedMap, file: str) -> None:
    """What merging relies on: sections are mappings, obligations a list of mappings with
    distinct text ids, ``remove`` a list of ids. Anything else is a located error."""
    problems = []

    def bad(path: tuple[Any, ...], message: str) -> None:
        problems.append(Problem(locate(node, path, file), path_text(path), message))

    for section in _SECTIONS:
        if section in node and not isinstance(node[section], dict):
            bad((section,), f"{section} must be a mapping of names to entries")
    remove = node.get("remove")
    if remove is not None and (not isinstance(remove, list) or not all(isinstance(r, str) for r in remove)):
        bad(("remove",), "remove must be a list of obligation ids, e.g. [dock-staff-daily-patrol]")
    obligations = node.get("obligations")
    if obligations is not None:
        if not isinstance(obligations, list):
            bad(("obligations",), "obligations must be a list")
        else:
            seen: dict[str, int] = {}
            for i, item in enumerate(obligations):
                oid = item.get("id") if isinstance(item, dict) else None
                if not isinstance(oid, str):
                    bad(("obligations", i), "every obligation needs a text id")
                elif oid in seen:
                    bad(("obligations", i, "id"), f"obligation id {oid!r} is already used by obligations[{seen[oid]}] of this file")
                else:
                    seen[oid] = i
    if problems:
        raise RulesetError(problems)


def _origin_of(origins: dict[tuple[Any, ...], Path], default: Path) -> Callable[[tuple[Any, ...]], str]:
    def file_of(path: tuple[Any, ...]) -> str:
        for prefix in (tuple(path[:2]), tuple(path[:1])):
            if prefix in origins:
                return str(origins[prefix])
        return str(default)

    return file_of


def load_ruleset(path: str | Path, plugins: Plugins | None = None) -> Ruleset:
    """Read and validate a ruleset YAML file. Raises :class:`RulesetError` listing every problem.

    Obligations of a kind a plugin adds are validated with the plugin's model; without
    ``plugins`` (or when none provides the kind) that is an error located at the ``kind``.
    """
    return load_ruleset_located(path, plugins)[0]


def load_ruleset_located(path: str | Path, plugins: Plugins | None = None) -> tuple[Ruleset, CommentedMap, Callable[[tuple[Any, ...]], str]]:
    """:func:`load_ruleset`, also giving the node tree (overlays applied) and, for a document
    path, the file it comes from: what :func:`locate` needs to place later findings (lint)."""
    path = Path(path)
    root, origins = compose(path)
    try:
        plain = _plain(root)
    except _TooLarge as exc:
        raise RulesetError([Problem(Location(str(path)), "", f"invalid YAML: {exc}")]) from None
    file = _origin_of(origins, path)
    try:
        ruleset = Ruleset.model_validate(plain)
    except ValidationError as exc:
        raise RulesetError(_validation_problems(exc.errors(), root, plain, file)) from None
    ruleset._file = path
    ruleset._calendar_folders = {name: origins[("calendars", name)].parent for name in ruleset.calendars if ("calendars", name) in origins}
    ruleset, errors, references = resolve_kinds(ruleset, plugins or Plugins())
    if errors:
        raise RulesetError(_validation_problems(errors, root, plain, file))
    problems = _reference_problems(check_ruleset(ruleset) + references, root, file)
    if problems:
        raise RulesetError(problems)
    return ruleset, root, file


def load_registry(path: str | Path, ruleset: Ruleset) -> Registry:
    """Read a registry YAML file and check it against ``ruleset``. Raises :class:`RegistryError`.

    The data is read with libyaml when it can be (see :func:`_fast_plain`); ruamel's round-trip
    tree, which locates problems, is built only when there is a problem to locate."""
    path = Path(path)
    text = _read_text(path, RegistryError)
    plain = _fast_plain(text)
    if plain is None:
        plain, root = _parse_yaml(text, path, RegistryError)
        return registry_from(plain, root, str(path), ruleset)
    return registry_from(plain, _LazyRoot(lambda: _parse_yaml(text, path, RegistryError)[1]), str(path), ruleset)


def registry_from(plain: Any, root: Any, file: str, ruleset: Ruleset) -> Registry:
    """Validate a registry already read (``plain`` data, its ``root`` node tree in ``file``, or a
    ``_LazyRoot`` that builds it) and check it against ``ruleset``. Raises :class:`RegistryError`
    with located problems."""
    try:
        with gc_paused():
            registry = Registry.model_validate(plain)
    except ValidationError as exc:
        raise RegistryError(_validation_problems(exc.errors(), _node_tree(root), plain, file)) from None
    references = check_registry(registry, ruleset)
    if references:
        raise RegistryError(_reference_problems(references, _node_tree(root), file))
    return registry


# --------------------------------------------------------------------------------------------
# Events


def read_events(
    paths: str | Path | Iterable[str | Path], ruleset: Ruleset, registry: Registry | None = None, plugins: Plugins | None = None
) -> EventLog:
    """Read events from JSONL (``.jsonl``, ``.ndjson``) and CSV (``.csv``) files.

    Every line becomes an :class:`Event` or a :class:`Reject`; repeated ids are listed in
    ``duplicates`` (identical repeats are used once, conflicting ones are rejected). Naive times
    are read in the ruleset's time zone. With a registry, actors, participants, units and subjects
    must exist in it. Plugins may read other formats and normalise platform exports.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    reader = _EventReader(ruleset, registry, plugins or Plugins())
    with gc_paused():
        for path in paths:
            reader.read_file(Path(path))
    return EventLog(events=tuple(reader.events), rejects=tuple(reader.rejects), duplicates=tuple(reader.duplicates))


class _EventReader:
    def __init__(self, ruleset: Ruleset, registry: Registry | None, plugins: Plugins):
        self.ruleset = ruleset
        self.plugins = plugins
        self.path = Path()
        self.zone = pendulum.timezone(ruleset.timezone)
        # registry ids (each mapped to itself: an event's name is replaced by the registry's text)
        self.people = None if registry is None else {p.id: p.id for p in registry.people}
        self.units = None if registry is None else {u.id: u.id for u in registry.units}
        self.subjects = None if registry is None else {s.id: s.id for s in registry.subjects}
        self.kinds = {name: _Kind(name, kind) for name, kind in ruleset.event_kinds.items()}
        self.events: list[Event] = []
        self.rejects: list[Reject] = []
        self.duplicates: list[Duplicate] = []
        self.first: dict[str, Event] = {}
        # the normaliser hook is still asked for every record, but only when some plugin has it
        self.normalises = bool(plugins._implementations("complianceengine_normalise_record"))
        # one copy of each repeated text (kinds, people, units, subjects, attribute names and enum
        # values) instead of one per line
        self.texts: dict[str, str] = {}

    def read_file(self, path: Path) -> None:
        self.path = path
        suffix = path.suffix.lower()
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
                self._accept(str(path), line, raw, record, attributes if isinstance(attributes, dict) else {}, from_text=True)
            return
        if suffix not in (".jsonl", ".ndjson", ".csv"):
            raise EventSourceError([Problem(Location(str(path)), "", f"unknown events format {suffix or '(none)'}; use .jsonl or .csv")])
        try:
            if suffix == ".csv":  # a quoted cell may span lines: the reader needs the whole text
                text, undecodable = _decoded(path.read_bytes())
                if undecodable and undecodable[0][0] == 1:  # without its header no row can be read
                    raise EventSourceError([Problem(Location(str(path), 1), "", f"the header is {_NOT_UTF8}")])
                for number, raw in undecodable:
                    self._reject(str(path), number, raw, [_NOT_UTF8])
                self._read_csv(text, str(path))
            else:  # one line at a time: memory grows with the events kept, not with the file
                with path.open("rb") as stream:
                    self._read_jsonl(_text_lines(stream), str(path))
        except OSError as exc:
            raise EventSourceError([Problem(Location(str(path)), "", f"cannot read file: {exc.strerror or exc}")]) from None

    def _read_jsonl(self, lines: Iterable[tuple[int, str, bool]], file: str) -> None:
        loads, decode_error, core, accept = _json_object, json.JSONDecodeError, _CORE_FIELDS, self._accept
        for number, line, utf8 in lines:
            line = line.removesuffix("\r")
            if not utf8:
                self._reject(file, number, line, [_NOT_UTF8])
                continue
            if not line or line.isspace():
                continue
            try:
                record = loads(line)
            except decode_error as exc:
                self._reject(file, number, line, [f"invalid JSON at column {exc.colno}: {exc.msg}"])
                continue
            except _Refused as exc:
                self._reject(file, number, line, [str(exc)])
                continue
            except RecursionError:
                self._reject(file, number, line[:200], ["JSON nested too deeply"])
                continue
            if not isinstance(record, dict):
                self._reject(file, number, line, ["expected a JSON object"])
                continue
            attributes = record.pop("attributes", {})
            if not isinstance(attributes, dict):
                self._reject(file, number, line, ["'attributes' must be an object"])
                continue
            if not record.keys() <= core:
                extra = sorted(set(record) - core)
                self._reject(file, number, line, [f"unknown fields {extra}; attributes go inside 'attributes'"])
                continue
            accept(file, number, line, record, attributes, from_text=False)

    def _read_csv(self, text: str, file: str) -> None:
        # csv counts physical lines as its text stream splits them (at \r\n, \r or \n); a quoted
        # cell may span several of them, so a record runs from the line after the previous record
        # to the current line_num
        ends = list(_CSV_LINE_END.finditer(text))
        starts = [0, *(end.end() for end in ends)]  # where each physical line starts in the text
        lines = [text[start : end.start()] for start, end in zip(starts, ends)] + [text[starts[-1] :]]
        rows = csv.reader(io.StringIO(text, newline=""), strict=True)
        try:
            header = [name.strip() for name in next(rows)]
        except StopIteration:
            return
        except csv.Error as exc:
            raise EventSourceError([Problem(Location(file, 1), "", f"the header is not CSV: {exc}")]) from None
        if not any(header):
            raise EventSourceError([Problem(Location(file, 1), "", "the first line must name the columns (id,kind,time,...)")])
        twice = sorted({name for name in header if header.count(name) > 1})
        if twice:
            raise EventSourceError([Problem(Location(file, 1), "", f"column {', '.join(map(repr, twice))} appears twice in the header")])
        first = rows.line_num + 1  # the physical line the records start at
        while first <= len(starts):
            # strict: a stray quote, an unterminated quoted cell or an oversized cell is an error
            # there, not a record that swallows the rows after it; that one line is rejected and
            # reading starts again on the next line
            rows = csv.reader(io.StringIO(text[starts[first - 1] :], newline=""), strict=True)
            previous = 0
            try:
                for row in rows:
                    number, previous = first + previous, rows.line_num
                    self._csv_record(file, number, "\n".join(lines[number - 1 : first - 1 + previous]), header, row)
                return
            except csv.Error as exc:
                bad = first + previous
                self._reject(file, bad, lines[bad - 1][:1000], [f"not CSV: {exc}"])
                first = bad + 1

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

    def _reject(self, file: str, line: int, raw: str, errors: list[str]) -> None:
        self.rejects.append(Reject(file=file, line=line, raw=raw, errors=tuple(errors)))

    def _accept(self, file: str, line: int, raw: str, record: dict[str, Any], attributes: dict[str, Any], *, from_text: bool) -> None:
        if self.normalises:
            normaliser, normalised = self.plugins.first_named(
                "complianceengine_normalise_record", record={**record, "attributes": dict(attributes)}, path=self.path, ruleset=self.ruleset
            )
            if normalised is not None:
                if not isinstance(normalised, dict) or not isinstance(normalised.get("attributes", {}), (dict, type(None))):
                    raise PluginError(
                        str(normaliser), "complianceengine_normalise_record",
                        f"returned {type(normalised).__name__} for {file}:{line}; expected a record dict with an 'attributes' dict",
                    )
                record = dict(normalised)
                attributes = record.pop("attributes", {}) or {}
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
        if isinstance(time, str):
            try:
                parsed = _parse_time(time, self.zone)
            except Exception:
                parsed = None
            if not isinstance(parsed, dt.datetime):
                errors.append(f"time {time!r} is not an ISO 8601 date-time such as 2026-08-01T09:30:00+08:00")
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
        if participants is not None and (not isinstance(participants, list) or not all(isinstance(p, str) for p in participants)):
            errors.append(f"participants must be a list of person ids, got {participants!r}")
            record.pop("participants")
            participants = None
        if kind is not None and kind.until is not None and isinstance(get("time"), dt.datetime):
            until = attributes.get(kind.until)
            end = _parse_time(until, self.zone) if isinstance(until, str) else None
            if isinstance(end, dt.datetime) and end <= record["time"]:
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
                event = compact(_EVENT.validate_python(record))
                if event.origin is not None:
                    compact(event.origin)
            except ValidationError as exc:
                errors += [f"{path_text(e['loc']) or 'event'}: {_message(e)}" for e in exc.errors()]
        if event is None:
            self._reject(file, line, raw, errors)
            return
        first = self.first.get(event.id)
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


_EVENT = TypeAdapter(Event)
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
    """The text of a UTF-8 file (a byte-order mark dropped) and its lines that are not UTF-8, as
    (line number, the line with the bad bytes replaced); those lines are blanked in the text, so
    one bad byte costs one line, not the file."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    lines, bad = [], []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            bad.append((number, raw.decode("utf-8", errors="replace").removesuffix("\r")))
            lines.append("")
    return "\n".join(lines), bad


def _same_event(a: Event, b: Event) -> bool:
    return a.model_copy(update={"origin": None}) == b.model_copy(update={"origin": None}) and a.time == b.time


def _typed(value: Any, spec: AttributeSpec, from_text: bool, zone: Any) -> tuple[Any, str | None]:
    """Convert an attribute value to its declared type; return (value, problem)."""
    kind = spec.type
    if kind == "list":
        items = [p.strip() for p in value.split(";") if p.strip()] if from_text and isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            return None, f"expected a list of texts{' separated by ;' if from_text else ''}, got {value!r}"
        unknown = [item for item in items if spec.values is not None and item not in spec.values]
        if unknown:
            return None, f"{unknown[0]!r} is not one of {', '.join(spec.values or [])}"
        return tuple(items), None
    if kind in ("string", "enum"):
        if not isinstance(value, str):
            return None, f"expected text, got {value!r}"
        if kind == "enum" and value not in (spec.values or []):
            return None, f"{value!r} is not one of {', '.join(spec.values or [])}"
        return value, None
    if kind == "boolean":
        if isinstance(value, bool):
            return value, None
        if from_text and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true", None
        return None, f"expected true or false, got {value!r}"
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        if from_text and isinstance(value, str):
            try:
                return int(value), None
            except ValueError:
                pass
        return None, f"expected a whole number, got {value!r}"
    if kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value, None
        if from_text and isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = None
            if number is not None and math.isfinite(number):
                return number, None
        return None, f"expected a finite number, got {value!r}"
    # datetime: kept as ISO 8601 text in the ruleset's zone so attributes stay scalar
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

