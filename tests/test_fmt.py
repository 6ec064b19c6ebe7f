"""Canonical YAML formatting (complianceengine.fmt): layout changes, data and comments do not.

The bundled rulesets and registries are only read: each is formatted in memory, and the result
is loaded from a copy of the ``rulesets`` folder in a temporary directory.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from complianceengine.errors import InputError, RulesetError
from complianceengine.fmt import check_files, format_file, format_text, write_files
from complianceengine.loading import load_registry, load_ruleset

ROOT = Path(__file__).resolve().parent.parent
RULESETS = sorted((ROOT / "rulesets").glob("*/ruleset.yaml"))
REGISTRIES = sorted((ROOT / "rulesets").glob("*/sample/registry.yaml"))


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT / "rulesets"))


@functools.cache
def _formatted(path: Path) -> tuple[str, str]:
    return format_file(path)


def _comments(text: str) -> list[str]:
    """The text of every line that is only a comment."""
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def _safe_load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


@pytest.fixture(scope="module")
def copied_rulesets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the rulesets folder (so ``extends`` and calendar folders still resolve)."""
    target = tmp_path_factory.mktemp("fmt") / "rulesets"
    shutil.copytree(ROOT / "rulesets", target)
    return target


# --------------------------------------------------------------------------------------------
# The bundled rulesets and registries


def test_there_are_bundled_files_to_check() -> None:
    assert RULESETS and REGISTRIES


@pytest.mark.parametrize("path", RULESETS + REGISTRIES, ids=_id)
def test_bundled_file_is_formatted_idempotently(path: Path) -> None:
    _, formatted = _formatted(path)
    assert format_text(formatted) == formatted


@pytest.mark.parametrize("path", RULESETS + REGISTRIES, ids=_id)
def test_bundled_file_keeps_every_comment_and_its_data(path: Path) -> None:
    original, formatted = _formatted(path)
    kept = set(_comments(formatted))
    assert [c for c in _comments(original) if c not in kept] == []
    assert _safe_load(formatted) == _safe_load(original)


@pytest.mark.parametrize("path", RULESETS + REGISTRIES, ids=_id)
def test_bundled_file_keeps_its_indentation(path: Path) -> None:
    """The chosen indentation (2-space mappings, ``  - item`` lists) is the house style: a line
    found in both texts sits at the same column (only a {...} spread over lines is joined)."""
    original, formatted = _formatted(path)
    placed = {(line.strip(), len(line) - len(line.lstrip())) for line in original.splitlines()}
    texts = {text for text, _ in placed}
    moved = [line for line in formatted.splitlines() if line.strip() in texts and (line.strip(), len(line) - len(line.lstrip())) not in placed]
    assert moved == []
    assert formatted.endswith("\n") and not formatted.endswith("\n\n")
    assert not re.search(r"[ \t]$", formatted, re.MULTILINE)


@pytest.mark.parametrize("path", RULESETS, ids=_id)
def test_formatted_ruleset_loads_to_the_same_model(path: Path, copied_rulesets: Path) -> None:
    _, formatted = _formatted(path)
    copy = copied_rulesets / path.relative_to(ROOT / "rulesets")
    copy.write_text(formatted, encoding="utf-8")
    assert load_ruleset(copy).model_dump() == load_ruleset(path).model_dump()


@pytest.mark.parametrize("path", REGISTRIES, ids=_id)
def test_formatted_registry_loads_to_the_same_model(path: Path, copied_rulesets: Path) -> None:
    _, formatted = _formatted(path)
    ruleset = load_ruleset(path.parent.parent / "ruleset.yaml")
    copy = copied_rulesets / path.relative_to(ROOT / "rulesets")
    copy.write_text(formatted, encoding="utf-8")
    assert load_registry(copy, ruleset).model_dump() == load_registry(path, ruleset).model_dump()


# --------------------------------------------------------------------------------------------
# Golden examples

MESSY = (
    "\ufeff# 规则集 header   \r\n"
    "---\r\n"
    "id: demo    \r\n"
    "title:\r\n"
    "    zh: 示例\r\n"
    '    en: "demo"\r\n'
    "unit_kinds:\r\n"
    "    town: {label: {zh: 镇, en: town}}\r\n"
    "    dock:\r\n"
    "        label: {zh: 码头,\r\n"
    "                en: dock}\r\n"
    "        parents:\r\n"
    "        - town\r\n"
    "        # more parents later\r\n"
    "\r\n"
    "roles:\r\n"
    "      guard:   {label: {en: guard}, unit_kind: dock}   # one guard per dock\r\n"
    "      chief: {label: {en: chief}, unit_kind: town}\r\n"
    "obligations:\r\n"
    "    -   id: patrol\r\n"
    "        # weekly, as the document says\r\n"
    "        every: week\r\n"
    "        empty: ~\r\n"
    "    -     id: visit\r\n"
    "          note: 'it''s long: 很长的说明 # not a comment'\r\n"
    "          text: |\r\n"
    "              kept  \r\n"
    "              as is\r\n"
    "    # end of obligations   \r\n"
    "...\r\n"
    "\r\n"
    "\r\n"
)

CANONICAL = """\
# 规则集 header
id: demo
title:
  zh: 示例
  en: "demo"
unit_kinds:
  town: {label: {zh: 镇, en: town}}
  dock:
    label: {zh: 码头, en: dock}
    parents:
      - town
    # more parents later

roles:
  guard: {label: {en: guard}, unit_kind: dock}   # one guard per dock
  chief: {label: {en: chief}, unit_kind: town}
obligations:
  - id: patrol
    # weekly, as the document says
    every: week
    empty: null
  - id: visit
    note: 'it''s long: 很长的说明 # not a comment'
    text: |
      kept  \n\
      as is
  # end of obligations
"""


def test_messy_document_becomes_canonical() -> None:
    assert format_text(MESSY) == CANONICAL
    assert format_text(CANONICAL) == CANONICAL
    assert _safe_load(CANONICAL) == _safe_load(MESSY.removeprefix("\ufeff"))


@pytest.mark.parametrize(
    ("messy", "canonical"),
    [
        # top-level list: at column 0, odd indentation evened out, ~ written as null
        ("-   {id: a}\n-    id: b\n     tags:   [x, y]\n-  ~\n", "- {id: a}\n- id: b\n  tags: [x, y]\n- null\n"),
        # indentless and over-indented lists under keys
        ("a:\n- 1\n- 2\nb:\n        - x\n        - y\n", "a:\n  - 1\n  - 2\nb:\n  - x\n  - y\n"),
        # a list right inside a list: ruamel.yaml's own layout
        ("a:\n    -   - 1\n        - 2\n", "a:\n  -   - 1\n      - 2\n"),
        # a long text is never wrapped; one spread over lines is joined
        ("t: " + "很长" * 300 + "\nu: one\n  two\n", "t: " + "很长" * 300 + "\nu: one two\n"),
        # quotes and key order as written
        ("z: 'single'\na: \"double\"\nm: plain\n", "z: 'single'\na: \"double\"\nm: plain\n"),
        # only a comment, or nothing at all
        ("# just a note   \r\n\r\n", "# just a note\n"),
        ("\n\n", ""),
        # a comment written before --- survives
        ("# head\n---\na: 1\n", "# head\na: 1\n"),
        # trailing blank lines of a |+ text are data
        ("k: |+\n  keep\n\n", "k: |+\n  keep\n\n"),
    ],
)
def test_golden(messy: str, canonical: str) -> None:
    assert format_text(messy) == canonical
    assert format_text(canonical) == canonical


# --------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: [1, 2\nb: 3\n", 2),
        ("a: 1\n  b: 2\n", 2),
        ("a: 1\na: 2\n", 2),
        ("a: {x: 1\n", 2),
        ("a: 'open\n", 2),
        ("a: ok\nb: \x07\n", 2),
        ("# head\n---\na: 1\n  b: 2\n", 4),  # lines count in the input, marker included
    ],
)
def test_invalid_yaml_is_a_located_ruleset_error(text: str, line: int) -> None:
    with pytest.raises(RulesetError) as caught:
        format_text(text, file="bad.yaml")
    assert isinstance(caught.value, InputError)
    [problem] = caught.value.problems
    assert problem.location.file == "bad.yaml"
    assert problem.location.line == line
    assert problem.location.column is not None
    assert problem.message.startswith("invalid YAML")


def test_a_comment_inside_a_flow_collection_is_refused_not_lost() -> None:
    with pytest.raises(RulesetError) as caught:
        format_text("a: 1\nb: {x: 1,  # why x\n  y: 2}\n", file="r.yaml")
    [problem] = caught.value.problems
    assert (problem.location.line, problem.location.column) == (2, 12)
    assert "# why x" in problem.message


# --------------------------------------------------------------------------------------------
# Files and folders


def test_check_and_write_files(tmp_path: Path) -> None:
    canonical = tmp_path / "canonical.yaml"
    canonical.write_text(CANONICAL, encoding="utf-8")
    messy = tmp_path / "messy.yaml"
    messy.write_bytes(MESSY.encode("utf-8"))
    crlf = tmp_path / "sub" / "crlf.yml"
    crlf.parent.mkdir()
    crlf.write_bytes(CANONICAL.replace("\n", "\r\n").encode("utf-8"))
    hidden = tmp_path / ".hidden" / "x.yaml"
    hidden.parent.mkdir()
    hidden.write_text("a:    1\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("a:    1\n", encoding="utf-8")
    before = canonical.stat().st_mtime_ns

    assert check_files(tmp_path) == [messy, crlf]
    assert messy.read_bytes() == MESSY.encode("utf-8")  # checking writes nothing

    assert write_files([tmp_path, messy]) == [messy, crlf]
    assert messy.read_bytes() == crlf.read_bytes() == CANONICAL.encode("utf-8")
    assert canonical.stat().st_mtime_ns == before
    assert hidden.read_text(encoding="utf-8") == "a:    1\n"
    assert check_files(tmp_path) == []
    assert write_files(tmp_path) == []
    assert format_file(messy) == (CANONICAL, CANONICAL)


def test_nothing_is_written_when_a_file_is_invalid(tmp_path: Path) -> None:
    messy = tmp_path / "a.yaml"
    messy.write_text("a:    1\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("a: [1\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text("c: {\n", encoding="utf-8")
    with pytest.raises(RulesetError) as caught:
        write_files(tmp_path)
    assert [Path(p.location.file).name for p in caught.value.problems] == ["b.yaml", "c.yaml"]
    assert messy.read_text(encoding="utf-8") == "a:    1\n"
    with pytest.raises(RulesetError, match="cannot read file"):
        check_files(tmp_path / "missing.yaml")


# --------------------------------------------------------------------------------------------
# Properties: any way of writing the same data formats to one text with the same data

KEYS = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True)
TEXT = st.text(alphabet=st.sampled_from(list("aZ09 :#-'\",[]{}&*!|>%@") + list("上海口岸安全联防")), max_size=12)
MULTILINE_TEXT = st.text(alphabet=st.sampled_from(list("a #:'\"\n\t\\") + ["上"]), max_size=12)


def documents(texts: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Nested data: mappings with identifier keys, lists, texts, integers, booleans, null."""
    scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | texts
    data = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3), max_leaves=10)
    return st.dictionaries(KEYS, data, min_size=1, max_size=4) | st.lists(data, min_size=1, max_size=3)


@st.composite
def written(draw: st.DrawFn, texts: st.SearchStrategy[str], *, wrap: bool = True) -> tuple[Any, str]:
    """Data, and a YAML text of it in a random style: indentation, flow or block, wrapping,
    document markers, escaped or raw Chinese, line endings."""
    data = draw(documents(texts))
    yaml = YAML(typ=draw(st.sampled_from(["safe", "rt"])), pure=True)
    sequence = draw(st.integers(2, 6))
    yaml.indent(mapping=draw(st.integers(2, 6)), sequence=sequence, offset=draw(st.integers(0, sequence - 2)))
    yaml.default_flow_style = draw(st.sampled_from([False, None, True]))
    yaml.width = draw(st.sampled_from([20, 80, 4096])) if wrap else 4096
    yaml.explicit_start = draw(st.booleans())
    yaml.explicit_end = draw(st.booleans())
    yaml.allow_unicode = draw(st.booleans())
    out = io.StringIO()
    yaml.dump(data, out)
    text = out.getvalue()
    try:  # ruamel.yaml's dumper has a few bugs of its own (a text folded wrongly, `{a: :0}`)
        assume(_safe_load(text) == data)
    except YAMLError:
        assume(False)
    return data, text.replace("\n", "\r\n") if draw(st.booleans()) else text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(written(TEXT) | written(MULTILINE_TEXT))
def test_formatting_keeps_the_data_and_is_idempotent(case: tuple[Any, str]) -> None:
    _, text = case
    formatted = format_text(text)
    assert _safe_load(formatted) == _safe_load(text)
    assert format_text(formatted) == formatted
    assert "\r" not in formatted and not formatted.startswith("---")


@st.composite
def commented(draw: st.DrawFn) -> str:
    """A YAML text (one line per value) with comments of its own and after values."""
    _, text = draw(written(TEXT, wrap=False))
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    result = []
    for number, line in enumerate(lines):
        if draw(st.integers(0, 3)) == 0:
            result.append(" " * draw(st.integers(0, 8)) + f"# note {number}: 注释 #x")
        if draw(st.integers(0, 3)) == 0 and not line.startswith("..."):
            line += " " * draw(st.integers(1, 3)) + f"# after {number}"
        result.append(line)
    return "\n".join(result) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commented())
def test_comments_are_kept_or_the_file_is_refused(text: str) -> None:
    try:
        formatted = format_text(text)
    except RulesetError as exc:
        # ruamel.yaml would drop a comment next to a [...] or {...}, or (with a comment after
        # ``key:`` over a list starting with {}) write broken YAML: refused, never written
        refusals = ("cannot format without losing the comment", "cannot format this file without changing its data")
        assert all(p.message.startswith(refusals) and p.location.line for p in exc.problems), exc
        return
    assert sorted(re.findall(r"# (?:note \d+: 注释 #x|after \d+)", formatted)) == sorted(re.findall(r"# (?:note \d+: 注释 #x|after \d+)", text))
    assert _safe_load(formatted) == _safe_load(text)
    assert format_text(formatted) == formatted
