"""Canonical formatting of ruleset and registry YAML, comments kept (``complianceengine fmt``).

Rulesets and registries are written by hand; formatting them one way makes a diff show what
changed, not how it was typed. The canonical form is what ruamel.yaml's round-trip dumper writes
with the house settings, plus a little tidying of lines:

- mappings are indented by 2 spaces and block sequences sit 2 spaces under their key with the
  item 2 spaces after the dash (``indent(mapping=2, sequence=4, offset=2)``)::

      obligations:
        - id: joint-meeting
          title: {zh: 联席会议, en: joint meeting}

  a list at the top of a document starts at column 0;
- nothing is re-wrapped: a line is as long as its content (width 4096). A text or a flow
  collection (``{...}``, ``[...]``) that was spread over several lines is joined onto one;
- keys keep their order; flow collections stay flow and block collections stay block, as the
  author wrote them; quotes stay as written; Chinese and other non-ASCII text stays as it is;
- comments are kept. A comment on a line of its own is indented like the line it belongs to: the
  next line when it was aligned with it, otherwise the enclosing key or item it was aligned
  with; a comment it cannot place keeps its column. A comment after a value keeps the spaces
  written between the value and the ``#``;
- ``---`` and ``...`` document markers are dropped (unless a ``%YAML``/``%TAG`` directive needs
  them), as are trailing spaces (except inside a ``|``/``>`` text, where they are content), a
  byte-order mark and blank lines at either end; lines end with LF (CRLF and CR are converted)
  and the text ends with exactly one newline. Blank lines inside the document are kept.

Formatting never changes the data. Each result is read back and compared with the input (values,
their types and tags, key order), and every comment of the input must be found in it; when
either check fails nothing is returned or written and a located :class:`RulesetError` is raised.
ruamel.yaml cannot keep a comment *inside* a flow collection (``{...}``, ``[...]``), nor a few
written right next to one, so such a file is refused with the comment's position. Spellings that
mean the same value may change: ``~`` and an empty value become ``null``, ``TRUE`` becomes
``true``. A document whose top is not a block mapping or list (empty, comments only, a single
scalar, a ``{...}``) is only tidied line by line.
"""

from __future__ import annotations

import bisect
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.tag import Tag

from .errors import Location, Problem, RulesetError

__all__ = ["LINE_WIDTH", "MAPPING_INDENT", "SEQUENCE_DASH_OFFSET", "SEQUENCE_INDENT", "check_files", "format_file", "format_text", "write_files"]

MAPPING_INDENT = 2
SEQUENCE_INDENT = 4
SEQUENCE_DASH_OFFSET = 2
LINE_WIDTH = 4096
YAML_SUFFIXES = (".yaml", ".yml")

_START_MARKER = re.compile(r"---(?:[ \t]+(.*?))?[ \t]*")  # with a comment or a value after it
_END_MARKER = re.compile(r"\.\.\.(?:[ \t]+(#.*))?[ \t]*")
_FINAL_END_MARKER = re.compile(r"\n\.\.\.\n\Z")  # "..." at column 0 is always a marker


# --------------------------------------------------------------------------------------------
# Public API


def format_text(text: str, *, file: str = "<text>") -> str:
    """The canonical form of a YAML document (see the module docstring).

    ``file`` only names the input in errors. Raises :class:`RulesetError` with a file, line and
    column when the text is not valid YAML, or when it cannot be formatted without losing a
    comment or changing the data.
    """
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    source, removed = _drop_document_markers(text)
    yaml = _round_trip()  # one instance: it keeps a %YAML/%TAG directive from load to dump
    node = _load(yaml, source, file, removed)
    src = _Layout.of(source)
    if not isinstance(node, (CommentedMap, CommentedSeq)) or node.fa.flow_style():
        return _tidy(src)  # ruamel.yaml would drop the comments around a scalar or {...} document
    data = _data(node)
    buffer = io.StringIO()
    yaml.dump(node, buffer)
    dumped = _FINAL_END_MARKER.sub("\n", buffer.getvalue())  # after a keep-chomped |+ text
    try:
        if isinstance(node, CommentedSeq):
            dumped = _dedent_top_level_list(dumped)
        out = _Layout.of(dumped)
    except YAMLError:  # ruamel.yaml wrote something it cannot read back
        raise _changes_data(file) from None
    _place_comments(src, out)
    result = _tidy(out)
    _verify(data, src, result, file, removed)
    return result


def format_file(path: str | Path) -> tuple[str, str]:
    """Read a YAML file and return (its text as stored, its canonical form).

    The text is decoded as UTF-8 without translating line endings, so a file that differs from
    its canonical form only by CRLF line endings or a byte-order mark shows up as changed.
    """
    path = Path(path)
    try:
        original = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise RulesetError([Problem(Location(str(path)), "", f"cannot read file: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise RulesetError(
            [Problem(Location(str(path)), "", f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8")]
        ) from None
    return original, format_text(original, file=str(path))


def check_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """The files among ``paths`` that are not in canonical form; nothing is written.

    A folder stands for the ``*.yaml`` and ``*.yml`` files under it (recursively, sorted,
    skipping hidden files and folders). Raises one :class:`RulesetError` listing the problems of
    every file that cannot be formatted.
    """
    return [path for path, _ in _changes(paths)]


def write_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """Rewrite the files among ``paths`` that are not in canonical form and return them.

    Folders are expanded as in :func:`check_files`. Files already canonical are not touched.
    If any file cannot be formatted, a :class:`RulesetError` lists every such problem and no
    file is written.
    """
    changes = _changes(paths)
    for path, formatted in changes:
        path.write_bytes(formatted.encode("utf-8"))
    return [path for path, _ in changes]


# --------------------------------------------------------------------------------------------
# Files


def _expand(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(paths, (str, Path)):
        paths = [paths]
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() in YAML_SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)  # a missing file is reported when it is read
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _changes(paths: str | Path | Iterable[str | Path]) -> list[tuple[Path, str]]:
    changes: list[tuple[Path, str]] = []
    problems: list[Problem] = []
    for path in _expand(paths):
        try:
            original, formatted = format_file(path)
        except RulesetError as exc:
            problems += exc.problems
            continue
        if formatted != original:
            changes.append((path, formatted))
    if problems:
        raise RulesetError(problems)
    return changes


# --------------------------------------------------------------------------------------------
# Reading


class _Representer(RoundTripRepresenter):
    """Writes null as ``null``: ruamel.yaml's empty value reads badly in a list (``-``) and
    swallows a comment written after it."""

    def represent_none(self, data: Any) -> Any:
        return self.represent_scalar("tag:yaml.org,2002:null", "null")


_Representer.add_representer(type(None), _Representer.represent_none)


def _round_trip() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.Representer = _Representer
    yaml.preserve_quotes = True
    yaml.indent(mapping=MAPPING_INDENT, sequence=SEQUENCE_INDENT, offset=SEQUENCE_DASH_OFFSET)
    yaml.width = LINE_WIDTH
    yaml.allow_unicode = True
    return yaml


def _drop_document_markers(text: str) -> tuple[str, list[int]]:
    """Remove a leading ``---`` and a trailing ``...``; a comment or value after one stays.

    ruamel.yaml drops comments written before ``---``, so the marker goes before parsing. Also
    returns the 0-based numbers of the lines removed, to report positions in the input.
    """
    lines = text.split("\n")
    markers: dict[int, re.Match[str]] = {}
    for numbers, pattern in ((range(len(lines)), _START_MARKER), (range(len(lines) - 1, -1, -1), _END_MARKER)):
        for i in numbers:
            stripped = lines[i].strip(" \t")
            if not stripped or stripped.startswith("#"):
                continue
            match = pattern.fullmatch(lines[i])
            if match:  # a directive (%YAML) before ``---`` needs the marker: it is not matched
                markers[i] = match
            break
    kept: list[str] = []
    removed: list[int] = []
    for i, line in enumerate(lines):
        if i not in markers:
            kept.append(line)
        elif markers[i].group(1):
            kept.append(markers[i].group(1))
        else:
            removed.append(i)
    return "\n".join(kept), removed


def _input_line(line: int, removed: list[int]) -> int:
    """The 0-based line of the input text for a line of the text without markers."""
    for gone in removed:
        if gone <= line:
            line += 1
    return line


def _load(yaml: YAML, source: str, file: str, removed: list[int]) -> Any:
    try:
        return yaml.load(source)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (_input_line(mark.line, removed) + 1, mark.column + 1) if mark else (None, None)
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        raise RulesetError([Problem(Location(file, line, column), "", f"invalid YAML: {message}")]) from None
    except ReaderError as exc:
        before = source[: exc.position]
        line = _input_line(before.count("\n"), removed) + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        message = f"character #x{exc.character:04x} is not allowed: {exc.reason}" if isinstance(exc.character, int) else str(exc.reason)
        raise RulesetError([Problem(Location(file, line, column), "", f"invalid YAML: {message}")]) from None
    except YAMLError as exc:  # pragma: no cover - ruamel.yaml marks its errors
        raise RulesetError([Problem(Location(file, 1, 1), "", f"invalid YAML: {exc}")]) from None


# --------------------------------------------------------------------------------------------
# Lines, comments and scalars of a text


@dataclass(frozen=True)
class _Comment:
    line: int  # 0-based
    column: int  # 0-based
    text: str  # from '#' to the end of the line, trailing spaces removed
    own_line: bool


@dataclass
class _Layout:
    """A YAML text cut into lines, knowing which lines are comments, structure or inside a scalar."""

    lines: list[str]
    comments: list[_Comment] = field(default_factory=list)
    keep_end: set[int] = field(default_factory=set)  # the line break is inside a scalar
    inside: set[int] = field(default_factory=set)  # the line starts inside a scalar (or is blank)
    _comment_lines: set[int] | None = None

    @classmethod
    def of(cls, text: str) -> _Layout:
        layout = cls(text.split("\n"))
        spans: list[tuple[int, int]] = []
        scalars: list[tuple[int, int]] = []
        for token in YAML(typ="safe", pure=True).scan(text):
            start, end = token.start_mark.index, token.end_mark.index
            if end > start:
                spans.append((start, end))
                if type(token).__name__ == "ScalarToken":
                    scalars.append((start, end))
        spans.sort()
        scalars.sort()
        offset = 0
        for number, line in enumerate(layout.lines):
            stripped = line.lstrip(" \t")
            first = offset + len(line) - len(stripped)
            if _within(scalars, offset + len(line), closed=True):
                layout.keep_end.add(number)
            if not stripped or _within(scalars, first, closed=False):
                layout.inside.add(number)
            else:
                column = line.find("#")
                while column >= 0:
                    if (column == 0 or line[column - 1] in " \t") and not _within(spans, offset + column, closed=True):
                        own = column == len(line) - len(stripped)
                        layout.comments.append(_Comment(number, column, line[column:].rstrip(" \t"), own))
                        break
                    column = line.find("#", column + 1)
            offset += len(line) + 1
        return layout

    def is_structure(self, number: int) -> bool:
        if self._comment_lines is None:
            self._comment_lines = {c.line for c in self.comments if c.own_line}
        return number not in self.inside and number not in self._comment_lines

    def next_column(self, number: int) -> int | None:
        """The indentation of the first structure line after ``number``."""
        for j in range(number + 1, len(self.lines)):
            if self.is_structure(j):
                line = self.lines[j]
                return len(line) - len(line.lstrip(" "))
        return None

    def open_columns(self, number: int) -> list[tuple[int, bool]]:
        """The collections still open at line ``number``, deepest first, as (indentation, is a
        list item). The key of an indentless list (``key:`` with ``- item`` at the same column)
        counts as a level of its own, so that the levels match those of the formatted text."""
        chain: list[tuple[int, bool]] = []
        limit, limit_is_item = len(self.lines[number]) + 10**9, False
        for j in range(number - 1, -1, -1):
            if not self.is_structure(j):
                continue
            for level, is_item in reversed(_levels(self.lines[j])):
                if level < limit or (level == limit and limit_is_item and not is_item):
                    chain.append((level, is_item))
                    limit, limit_is_item = level, is_item
            if limit == 0 and not limit_is_item:
                break
        return chain


def _within(spans: list[tuple[int, int]], position: int, *, closed: bool) -> bool:
    """Whether ``position`` falls in one of the sorted, disjoint ``spans`` (at its start too if
    ``closed``)."""
    i = bisect.bisect_right(spans, (position, 10**18)) - 1
    if i < 0:
        return False
    start, end = spans[i]
    return (start <= position if closed else start < position) and position < end


def _levels(line: str) -> list[tuple[int, bool]]:
    """Indentation levels a line opens, left to right, as (column, is a ``- `` list item)."""
    column = len(line) - len(line.lstrip(" "))
    levels = []
    while line.startswith("-", column) and line[column + 1 : column + 2] in (" ", "\t"):
        levels.append((column, True))
        rest = line[column + 1 :].lstrip(" \t")
        if not rest or rest.startswith("#"):
            return levels
        column = len(line) - len(rest)
    levels.append((column, False))
    return levels


# --------------------------------------------------------------------------------------------
# Writing


def _dedent_top_level_list(text: str) -> str:
    """ruamel.yaml indents a top-level block list by the dash offset; move it back to column 0."""
    layout = _Layout.of(text)
    pad = " " * SEQUENCE_DASH_OFFSET
    if not all(line.startswith(pad) for j, line in enumerate(layout.lines) if layout.is_structure(j)):
        return text
    return "\n".join(line.removeprefix(pad) for line in layout.lines)


def _place_comments(src: _Layout, out: _Layout) -> None:
    """Indent each comment line of ``out`` like the line it belonged to in ``src``.

    ruamel.yaml writes a comment at the column it had in the input, which after re-indenting no
    longer lines up. The comments of both texts are paired in order; if ruamel.yaml moved or lost
    one, nothing is re-indented here (a lost comment is reported by :func:`_verify`).
    """
    if [c.text for c in src.comments] != [c.text for c in out.comments]:
        return
    for before, after in zip(src.comments, out.comments):
        if not before.own_line and not after.own_line:
            # after a value: keep the spaces the author put between the value and the comment
            written = src.lines[before.line][: before.column]
            gap = max(1, len(written) - len(written.rstrip(" \t")))
            out.lines[after.line] = out.lines[after.line][: after.column].rstrip(" \t") + " " * gap + after.text
            continue
        if not (before.own_line and after.own_line):
            continue
        target = before.column
        next_before, next_after = src.next_column(before.line), out.next_column(after.line)
        if before.column == next_before and next_after is not None:
            target = next_after
        else:
            # the outermost open level at the comment's column (the key rather than its list)
            chain_before, chain_after = src.open_columns(before.line), out.open_columns(after.line)
            depths = [depth for depth, (column, _) in enumerate(chain_before) if column == before.column]
            if depths and depths[-1] < len(chain_after):
                target = chain_after[depths[-1]][0]
        out.lines[after.line] = " " * target + after.text


def _tidy(layout: _Layout) -> str:
    """Strip trailing spaces and blank lines at both ends, keeping whatever belongs to a scalar."""
    lines = [line if j in layout.keep_end else line.rstrip(" \t") for j, line in enumerate(layout.lines)]
    keep = [j in layout.keep_end for j in range(len(lines))]
    while lines and not lines[-1] and not keep[len(lines) - 1]:
        lines.pop()
    start = 0
    while start < len(lines) and not lines[start] and not keep[start]:
        start += 1
    lines = lines[start:]
    return "\n".join(lines) + "\n" if lines else ""


# --------------------------------------------------------------------------------------------
# Checking that nothing but the layout changed


def _verify(data: Any, src: _Layout, result: str, file: str, removed: list[int]) -> None:
    lost = Counter(c.text for c in src.comments) - Counter(c.text for c in _Layout.of(result).comments)
    if lost:
        problems = []
        for comment in src.comments:
            if lost[comment.text] > 0:
                lost[comment.text] -= 1
                problems.append(
                    Problem(
                        Location(file, _input_line(comment.line, removed) + 1, comment.column + 1),
                        "",
                        f"cannot format without losing the comment {comment.text!r}: ruamel.yaml drops comments "
                        "inside a {...} or [...] collection and after some empty values; move it to a line of its own",
                    )
                )
        raise RulesetError(problems)
    try:
        same = _data(_round_trip().load(result)) == data
    except YAMLError:
        same = False
    if not same:
        raise _changes_data(file)


def _changes_data(file: str) -> RulesetError:
    message = "cannot format this file without changing its data (a ruamel.yaml limitation); it was left as it is"
    return RulesetError([Problem(Location(file, 1, 1), "", message)])


def _data(node: Any) -> Any:
    """A comparable picture of the data in a round-trip node: values, types, tags and key order."""
    tag = getattr(node, Tag.attrib, None)
    tag = None if tag is None or (tag.handle, tag.suffix) == (None, None) else (tag.handle, tag.suffix)
    if isinstance(node, TaggedScalar):
        return ("tagged", tag, node.value)
    if isinstance(node, dict):
        return ("map", tag, [(_data(k), _data(v)) for k, v in node.items()])
    if isinstance(node, (list, tuple)):
        return ("seq", tag, [_data(v) for v in node])
    if isinstance(node, (set, frozenset)):
        return ("set", tag, sorted(repr(_data(v)) for v in node))
    if isinstance(node, (bool, ScalarBoolean)):
        return ("bool", bool(node))
    if isinstance(node, int):
        return ("int", int(node))
    if isinstance(node, float):
        return ("float", repr(float(node)))
    if isinstance(node, str):
        return ("str", str(node))
    if isinstance(node, dt.datetime):
        return ("datetime", node.isoformat(), repr(getattr(node, "_yaml", None)))
    if isinstance(node, dt.date):
        return ("date", node.isoformat())
    if isinstance(node, (bytes, bytearray)):
        return ("bytes", bytes(node))
    if node is None:
        return ("null",)
    return ("other", type(node).__name__, repr(node))
