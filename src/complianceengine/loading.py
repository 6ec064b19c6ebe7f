"""Reading rulesets and registries (YAML) into models; events are read by :mod:`.eventfiles`.

YAML is read with ruamel.yaml's round-trip loader, which remembers where every key, value and
list item sits, so a validation error deep inside a document is reported as file:line:column.
A registry (which can list tens of thousands of people) is first read with libyaml's C parser
(PyYAML), resolving scalars by ruamel's own YAML 1.2 rules; the round-trip tree is built only when
a problem has to be located, or when the document uses something the fast reader leaves to ruamel
(anchors, tags, directives, block scalars, tabs, duplicate or non-text keys).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
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
from .errors import Location, Problem, RegistryError, RulesetError, UsageError
from .model import Registry, Ruleset
from .plugins import Plugins
from .references import check_registry, check_ruleset, resolve_kinds
from .checks import path_text

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
    if isinstance(node, Mapping):  # a mapping a caller built (parse_ruleset, parse_registry)
        return _plain(dict(node), depth, budget)
    if isinstance(node, tuple):
        return [_plain(v, depth + 1, budget) for v in node]
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
_AWKWARD = re.compile(r"[\t\ufeff\x85\u2028\u2029]")
_QUOTED_INTO_COLON = re.compile(r"[\"']:[^\s]")
_COLON_RUN = re.compile(r":[^\s]")  # what _QUOTED_INTO_COLON needs, found ten times faster (a literal first)


def _left_to_ruamel(text: str) -> bool:
    """Whether ``text`` holds what the fast readers leave to ruamel (see above)."""
    return _AWKWARD.search(text) is not None or (_COLON_RUN.search(text) is not None and _QUOTED_INTO_COLON.search(text) is not None)


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
    """The plain data of a one-document YAML mapping, read with Python's JSON reader when it is
    JSON (:func:`_json_plain`), else with libyaml; exactly what ``_plain(ruamel round-trip tree)`` gives, or ``None`` when the document uses anything this
    reader leaves to ruamel (anchors, aliases, tags, directives, merge keys, block scalars, duplicate
    or non-text keys, tabs) or libyaml cannot read it. Non-text plain scalars (null, booleans, numbers, dates,
    timestamps) are resolved by ruamel's YAML 1.2 rules and built by ruamel's constructor."""
    if text.lstrip(" \r\n")[:1] == "{":  # JSON, which is YAML 1.2: Python's C JSON reader is ten times faster
        plain = _json_plain(text)
        if plain is not None:
            return plain
    if _CParser is None or _left_to_ruamel(text):
        return None
    parser = _CParser(text)
    try:
        with gc_paused():
            return _build_plain(parser)
    except Exception:  # anything libyaml or a scalar constructor objects to: ruamel decides and locates
        return None
    finally:
        parser.dispose()


def _json_plain(text: str) -> dict[str, Any] | None:
    """A JSON object document as plain data, exactly as ruamel reads that text as YAML 1.2, or
    ``None`` when it is not JSON or holds what the two could read differently: a key given twice
    (ruamel's located error), NaN, infinities or numbers too large for a float (not JSON), an
    escaped surrogate (ruamel does not pair them), characters YAML does not allow in a document
    (it refuses those JSON takes: C0 and C1 controls, DEL), what the libyaml reader leaves to
    ruamel (:func:`_left_to_ruamel`: YAML 1.1 line breaks such as NEL, which ruamel folds inside
    a quoted text; tabs; a quoted key run into its colon), what YAML refuses in a key (a line
    break or spaces before its colon, more than 1,024 characters with them: keys past
    :data:`_LONGEST_KEY` characters and any blank before a colon are left to the YAML readers), or
    nesting past :data:`MAX_YAML_DEPTH`."""
    if (_left_to_ruamel(text) or _NOT_YAML_TEXT.search(text) or _ESCAPED_SURROGATE.search(text)
            or " :" in text or "\n:" in text or "\r:" in text):
        return None
    try:
        with gc_paused():  # as the libyaml reader: a registry is hundreds of thousands of acyclic values
            value = _JSON_AS_YAML.decode(text)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError, as are _no_twice's and _finite's
        return None
    if type(value) is not dict or _deeper_than(value, MAX_YAML_DEPTH):
        return None
    return value


def _deeper_than(value: dict[str, Any] | list[Any], limit: int) -> bool:
    """Whether lists and mappings nest in ``value`` more than ``limit`` deep (``value`` itself
    is 1), without recursion: a JSON reader takes nesting deeper than Python's stack."""
    level: list[Any] = [value]
    for _ in range(limit):  # one level of nesting at a time
        below: list[Any] = []
        for node in level:
            below += [item for item in (node.values() if type(node) is dict else node) if type(item) is dict or type(item) is list]
        if not below:
            return False
        level = below
    return True


def _no_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a key given twice")
    if out and max(map(len, out)) > _LONGEST_KEY:
        raise ValueError("a key YAML may not take")
    return out


#: the longest key (in characters) the JSON reader takes: YAML limits a key with what follows it
#: up to its colon to 1,024 characters as written, and each may be written as a six-character escape
_LONGEST_KEY = 128


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_JSON_AS_YAML = json.JSONDecoder(object_pairs_hook=_no_twice, parse_float=_finite, parse_constant=_not_a_number)
# outside YAML's printable set (c-printable): C0 controls but tab and line breaks, DEL, C1 but NEL
_NOT_YAML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


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
    points at the mapping that lacks it. Data built in code (a mapping given to
    :func:`parse_ruleset` or :func:`parse_registry`) has no positions: only the file is known.
    """
    if not isinstance(root, (CommentedMap, CommentedSeq)):
        return Location(file)
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
    return _composed(node, path, path.resolve(), _chain)


def _composed(node: Any, path: Path, here: Path, _chain: tuple[Path, ...] = ()) -> tuple[CommentedMap, dict[tuple[Any, ...], Path]]:
    """:func:`compose` of a document already read: ``node`` (a round-trip tree, or plain data
    built in code) read from ``path``, whose own parts' origins are ``here`` (the resolved file,
    or the name given to text)."""
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
    if base_path in (here, path.resolve()) or base_path in _chain:
        raise RulesetError([Problem(locate(node, ("extends",), str(path)), "extends", f"{extends} extends this file again: a cycle")])
    if not base_path.is_file():
        raise RulesetError([Problem(locate(node, ("extends",), str(path)), "extends", f"base ruleset {base_path} does not exist")])
    base, base_origins = compose(base_path, (*_chain, path.resolve()))
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
    """Read and validate a ruleset YAML file. Raises :class:`RulesetError` listing every problem,
    each with its file, line and column.

    Obligations of a kind a plugin adds are validated with the plugin's model; without
    ``plugins`` (default: the installed plugins, see :class:`Plugins`), or when none provides the
    kind, that is an error located at the ``kind``. ``path`` is a file's path: ruleset text or a
    mapping built in code is read by :func:`parse_ruleset`, with the same checks.
    """
    return load_ruleset_located(path, plugins)[0]


def parse_ruleset(
    text_or_mapping: str | Mapping[str, Any], *, source: str | Path | None = None, plugins: Plugins | None = None
) -> Ruleset:
    """Validate a ruleset given as YAML (or JSON) text, or as a mapping built in code, exactly as
    :func:`load_ruleset` validates a file: the same model, cross-references (an undeclared role,
    unit kind, event kind or calendar is an error), plugin kinds and limits, every problem in one
    :class:`RulesetError`. (``Ruleset.model_validate`` checks the shape only: it takes a role no
    ruleset section declares.)

    ``source`` names the input in errors (default ``<string>`` or ``<mapping>``): problems in text
    carry a line and column, problems in a mapping the path of the value (``roles.guard.unit_kind``).
    An ``extends`` base and relative paths in calendar options are found from the folder of
    ``source`` (the working directory without one). The mapping is not modified.
    """
    label = Path(str(source)) if source is not None else Path("<string>" if isinstance(text_or_mapping, str) else "<mapping>")
    if isinstance(text_or_mapping, str):
        node = _parse_yaml(text_or_mapping, label, RulesetError)[1]
    elif isinstance(text_or_mapping, Mapping):
        node = _plain_mapping(text_or_mapping, label, RulesetError)
    else:
        raise UsageError(f"parse_ruleset takes YAML text or a mapping, got {type(text_or_mapping).__name__}; load_ruleset reads a file")
    root, origins = _composed(node, label, label)
    return _ruleset_from(root, origins, label, None if source is None else label, plugins)[0]


def load_ruleset_located(path: str | Path, plugins: Plugins | None = None) -> tuple[Ruleset, CommentedMap, Callable[[tuple[Any, ...]], str]]:
    """:func:`load_ruleset`, also giving the node tree (overlays applied) and, for a document
    path, the file it comes from: what :func:`locate` needs to place later findings (lint)."""
    path = _file_path(path, "parse_ruleset")
    root, origins = compose(path)
    return _ruleset_from(root, origins, path, path, plugins)


def _ruleset_from(
    root: Any, origins: dict[tuple[Any, ...], Path], path: Path, file: Path | None, plugins: Plugins | None
) -> tuple[Ruleset, CommentedMap, Callable[[tuple[Any, ...]], str]]:
    """Validate a composed ruleset document read from ``path`` (a file, or the name given to text
    or a mapping); ``file`` is the file the ruleset is said to come from (None for text or a
    mapping without a ``source``: relative calendar paths are then relative to the working
    directory)."""
    try:
        plain = _plain(root)
    except _TooLarge as exc:
        raise RulesetError([Problem(Location(str(path)), "", f"invalid YAML: {exc}")]) from None
    file_of = _origin_of(origins, path)
    try:
        ruleset = Ruleset.model_validate(plain)
    except ValidationError as exc:
        raise RulesetError(_validation_problems(exc.errors(), root, plain, file_of)) from None
    ruleset._file = file
    ruleset._calendar_folders = {
        name: origins[("calendars", name)].parent
        for name in ruleset.calendars
        if ("calendars", name) in origins and (file is not None or origins[("calendars", name)] != path)
    }
    ruleset, errors, references = resolve_kinds(ruleset, plugins or Plugins())
    if errors:
        raise RulesetError(_validation_problems(errors, root, plain, file_of))
    problems = _reference_problems(check_ruleset(ruleset) + references, root, file_of)
    if problems:
        raise RulesetError(problems)
    return ruleset, root, file_of


def load_registry(path: str | Path, ruleset: Ruleset) -> Registry:
    """Read a registry YAML file and check it against ``ruleset``: people, units, roles, subject
    kinds and attributes must be the ruleset's. Raises :class:`RegistryError` listing every
    problem with its file, line and column. Registry text or a mapping built in code is read by
    :func:`parse_registry`, with the same checks.

    The data is read with libyaml when it can be (see :func:`_fast_plain`); ruamel's round-trip
    tree, which locates problems, is built only when there is a problem to locate."""
    path = _file_path(path, "parse_registry")
    return _registry_text(_read_text(path, RegistryError), path, ruleset)


def parse_registry(text_or_mapping: str | Mapping[str, Any], ruleset: Ruleset, *, source: str | Path | None = None) -> Registry:
    """Validate a registry given as YAML (or JSON) text, or as a mapping built in code, against
    ``ruleset``, exactly as :func:`load_registry` validates a file. Raises :class:`RegistryError`
    listing every problem; ``source`` names the input in them (default ``<string>`` or
    ``<mapping>``), with a line and column for text and the path of the value for a mapping. The
    mapping is not modified."""
    label = Path(str(source)) if source is not None else Path("<string>" if isinstance(text_or_mapping, str) else "<mapping>")
    if isinstance(text_or_mapping, str):
        return _registry_text(text_or_mapping, label, ruleset)
    if isinstance(text_or_mapping, Mapping):
        plain = _plain_mapping(text_or_mapping, label, RegistryError)
        return registry_from(plain, plain, str(label), ruleset)
    raise UsageError(f"parse_registry takes YAML text or a mapping, got {type(text_or_mapping).__name__}; load_registry reads a file")


def _registry_text(text: str, path: Path, ruleset: Ruleset) -> Registry:
    plain = _fast_plain(text)
    if plain is None:
        plain, root = _parse_yaml(text, path, RegistryError)
        return registry_from(plain, root, str(path), ruleset)
    return registry_from(plain, _LazyRoot(lambda: _parse_yaml(text, path, RegistryError)[1]), str(path), ruleset)


def _plain_mapping(mapping: Mapping[str, Any], label: Path, error: type[RulesetError] | type[RegistryError]) -> dict[str, Any]:
    """A plain copy of a mapping built in code (nested mappings as dicts, tuples as lists), within
    the limits a YAML document has."""
    try:
        plain: dict[str, Any] = _plain(mapping)
    except _TooLarge as exc:
        raise error([Problem(Location(str(label)), "", str(exc))]) from None
    except RecursionError:
        raise error([Problem(Location(str(label)), "", f"nested more than {MAX_YAML_DEPTH} levels deep")]) from None
    return plain


def _file_path(path: Any, instead: str) -> Path:
    """``path`` as a :class:`Path`. Text or a mapping given where a file's path belongs is a
    :class:`UsageError` naming the function that reads them (``instead``), rather than "no such
    file" with a document for a file name."""
    if isinstance(path, Path):
        return path
    if isinstance(path, str):
        looks_like_text = "\n" in path or path.lstrip()[:1] in ("{", "[") or (": " in path and not os.path.exists(path))
        if looks_like_text:
            shown = path.strip().splitlines()[0][:40] if path.strip() else ""
            raise UsageError(f"expected the path of a file, got what looks like YAML text ({shown!r}...); use {instead}(text) for text")
        return Path(path)
    if isinstance(path, os.PathLike):
        return Path(path)
    raise UsageError(f"expected the path of a file, got {type(path).__name__}; use {instead}(...) for text or a mapping")


def _value_labels(plain: Any, ruleset: Ruleset) -> None:
    """Enum attributes of units and subjects given by a label of their value (``实地``) take the
    value (``field``), in ``plain``: the reader's own copy of the data, never the caller's."""
    if not isinstance(plain, dict):
        return
    for section, kinds in (("units", ruleset.unit_kinds), ("subjects", ruleset.subject_kinds)):
        records = plain.get(section)
        if not isinstance(records, list):
            continue
        for record in records:
            named = record.get("kind") if isinstance(record, dict) else None
            kind = kinds.get(named) if isinstance(named, str) else None
            attributes = record.get("attributes") if kind is not None else None
            if not isinstance(attributes, dict):
                continue
            for name, value in attributes.items():
                spec = kind.attributes.get(name) if kind is not None else None
                if spec is not None and spec.value_labels and isinstance(value, str):
                    attributes[name] = spec.canonical(value)
                elif spec is not None and spec.value_labels and isinstance(value, list):
                    attributes[name] = [spec.canonical(item) if isinstance(item, str) else item for item in value]


def registry_from(plain: Any, root: Any, file: str, ruleset: Ruleset) -> Registry:
    """Validate a registry already read (``plain`` data, its ``root`` node tree in ``file``, or a
    ``_LazyRoot`` that builds it) and check it against ``ruleset``. Raises :class:`RegistryError`
    with located problems."""
    _value_labels(plain, ruleset)
    try:
        with gc_paused():
            registry = Registry.model_validate(plain)
    except ValidationError as exc:
        raise RegistryError(_validation_problems(exc.errors(), _node_tree(root), plain, file)) from None
    references = check_registry(registry, ruleset)
    if references:
        raise RegistryError(_reference_problems(references, _node_tree(root), file))
    registry._checked_for = (ruleset.id, ruleset.version)
    return registry
