"""The fast paths of loading give exactly what the paths they replace give.

A registry is read with libyaml (PyYAML's C parser) where it can be, instead of ruamel's
round-trip loader, and the round-trip tree is built only to locate a problem; an event time in
the usual full form with an offset is read without pendulum's parser; a JSON line that is one
object goes straight to json's C scanner. Each is checked against what it replaces: ruamel's
round-trip tree through ``_plain``, ``pendulum.parse``, ``json.loads``, and the line-by-line event
reader as it was (kept below as the reference), on the bundled samples and on hypothesis-made
documents, times and mixes of good and bad event lines.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from complianceengine import Plugins, RegistryError, hookimpl, load_registry, load_ruleset, read_events
from complianceengine import eventfiles, loading
from complianceengine.eventfiles import _DATE_TIME, _EventReader, _json_object, _parse_time, _strict_loads
from complianceengine.loading import _fast_plain, _plain, _yaml
from complianceengine.model import CORE_EVENT_FIELDS, AttributeSpec, Event, EventLog, EventOrigin
from complianceengine.checks import path_text

ROOT = Path(__file__).resolve().parent.parent
XIANGSHAN = ROOT / "rulesets" / "xiangshan"
REGISTRIES = sorted(ROOT.glob("rulesets/*/sample/registry.yaml"))
SAMPLE_EVENTS = sorted(ROOT.glob("rulesets/*/sample/events.jsonl"))
BUNDLED_YAML = sorted(p for pattern in ("rulesets/**/*.yaml", "tests/**/*.yaml", "plugins/**/*.yaml", "docs/**/*.yaml") for p in ROOT.glob(pattern))
ZONE = pendulum.timezone("Asia/Shanghai")


@pytest.fixture(scope="module")
def ruleset():
    return load_ruleset(XIANGSHAN / "ruleset.yaml")


@pytest.fixture(scope="module")
def registry(ruleset):
    return load_registry(XIANGSHAN / "sample" / "registry.yaml", ruleset)


def shape(value: Any) -> Any:
    """A value with every type spelt out, so 1, 1.0 and True (or a date and a datetime) differ."""
    if isinstance(value, dict):
        return ("dict", tuple((shape(k), shape(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", tuple(shape(v) for v in value))
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    if isinstance(value, dt.datetime):
        return (type(value).__name__, repr(value), value.utcoffset())
    return (type(value).__name__, repr(value))


def ruamel_plain(text: str) -> Any:
    """What the round-trip loader gives (through _plain), or the exception it raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _plain(_yaml().load(text))
    except Exception as exc:  # noqa: BLE001 - any failure is compared, not raised
        return exc


# --------------------------------------------------------------------------------------------
# (a) the fast YAML path gives ruamel's plain data, or leaves the document to ruamel


@pytest.mark.parametrize("path", REGISTRIES, ids=lambda p: p.parent.parent.name)
def test_bundled_registries_take_the_fast_path_and_read_as_ruamel_reads_them(path):
    text = path.read_text(encoding="utf-8")
    fast = _fast_plain(text)
    assert fast is not None, "a bundled registry should not need ruamel"
    assert shape(fast) == shape(ruamel_plain(text))


@pytest.mark.parametrize("path", BUNDLED_YAML, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_bundled_yaml_file_reads_as_ruamel_reads_it(path):
    text = path.read_text(encoding="utf-8")
    fast = _fast_plain(text)
    if fast is not None:
        assert shape(fast) == shape(ruamel_plain(text))


TRICKY = """\
bools_12: [true, True, TRUE, false, False, FALSE]
bools_11_are_text: [yes, Yes, YES, no, No, NO, on, On, ON, off, Off, OFF, y, Y, n, N]
octal_looking: [010, 007, 08, 09, 0o10, 0o17, -010, +010, 0]
other_ints: [0x1F, 0x1f, 0b101, 1_000, +1, -0, 99999999999999999999999999, -99999999999999999999999]
floats: [1e3, 1E3, 1.5e-3, 1., .5, -.5, +.5, 1_000.5, .inf, -.inf, +.inf, .Inf, .INF, .nan, .NaN, .NAN, 6.0e+23]
nulls: [null, Null, NULL, ~, ]
empty:
tilde: ~
dates: [2026-08-01, 2026-8-1, 1970-01-01]
timestamps: [2026-08-01T09:30:00+08:00, 2026-08-01 09:30:00, 2026-08-01t09:30:00Z, 2026-08-01T09:30:00.123456-05:30, 2026-08-01 09:30:00 +8]
sexagesimal_is_text: [12:30, 1:30:00, 190:20:30]
quoted_stay_text: ["true", 'no', "010", "1e3", "2026-08-01", "null", "~", '', ""]
text: [Yes sir, 1 2 3, 0x, 0o, 1e, e3, 1.2.3, 2026-08-01x, 12:30:xx, "a # not a comment", a#b, -a, "multi
  line", plain
  folded, 中文, "esc \\u00e9 \\x41 \\t \\\\ \\"", 'it''s']
nested: {a: [1, {b: [2026-01-01, {c: null}]}], d: {}, e: []}
'quoted key': 1
"1": text key
"true": text key too
"""


def test_tricky_scalars_take_the_fast_path_and_read_as_ruamel_reads_them():
    fast = _fast_plain(TRICKY)
    assert fast is not None
    slow = ruamel_plain(TRICKY)
    assert shape(fast) == shape(slow)
    # the YAML 1.2 reading, as the round-trip loader has it
    assert fast["bools_11_are_text"][0] == "yes" and fast["bools_12"] == [True, True, True, False, False, False]
    assert fast["octal_looking"][:3] == [10, 7, 8] and fast["octal_looking"][4] == 8
    assert fast["floats"][0] == 1000.0 and isinstance(fast["floats"][0], float) and fast["floats"][8] == math.inf
    assert fast["nulls"] == [None, None, None, None] and fast["empty"] is None and fast["tilde"] is None
    assert fast["dates"][0] == dt.date(2026, 8, 1) and fast["sexagesimal_is_text"] == ["12:30", "1:30:00", "190:20:30"]
    assert fast["other_ints"][0] == 31 and fast["other_ints"][6] == 99999999999999999999999999


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",  # anchors and aliases
        "a: &x true\n",  # an anchored scalar (ruamel keeps it as a special type)
        "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",  # merge keys
        "a: !!str 1\n",  # tags
        "a: !custom x\n",
        "%YAML 1.1\n---\na: yes\n",  # a directive changes the rules
        "a: 1\na: 2\n",  # duplicate keys: ruamel's located error
        "a:\n  b: 1\n  b: 1\n",
        "a:\tb\n",  # tabs
        "\ufeffa: 1\n",  # a byte-order mark
        "a: x\u2028y\n",  # a YAML 1.1 line break
        "1: x\n",  # keys that are not text
        "true: x\n",
        "null: x\n",
        "2026-01-01: x\n",
        "? [a, b]\n: x\n",
        "a: |\n  text\n",  # block scalars
        "a: >-\n  text\n",
        'a: ["x":y]\n',  # a quoted scalar run into a colon
        "a: 2026-13-01\n",  # an impossible date: ruamel locates it
        "a: 1\n---\nb: 2\n",  # two documents
        "- a\n- b\n",  # not a mapping
        "plain text\n",
        "",
        "a: [1, 2\n",  # invalid YAML
        "a: b: c\n",
        "a: =\n",  # the 'value' scalar
    ],
)
def test_what_the_fast_reader_leaves_to_ruamel(text):
    assert _fast_plain(text) is None


_ATOMS = [*"ab09:-#., []{}\"'?!&*|>%@`\\=~<+_Tt", ": ", " #", "- ", "\n", "\n  ", "\n    ", "yes", "No", "on", "0o7", "0x1F",
          "010", "1_0", "1e3", ".inf", "-.Inf", ".nan", "2026-01-01", "2026-1-1", "2026-01-01T08:00:00+08:00", "2026-01-01 08:00:00",
          "12:30", "null", "~", "\\n", "\\x41", "\\u00e9", "\\/", "''", '""', "é", "中", "...", "---", "? ", "!!str ", "&a ", "*a",
          "<<: ", "1.", "+1", "-0", "0b11", "0.5"]
_TEMPLATES = [
    "a: {v}\nb: x\n", "a: {{k: {v}, j: {w}}}\n", "a: [{v}, {w}]\n", "a:\n  - {v}\n  - {w}\nb: {v}\n", "a: \"{v}\"\nb: '{w}'\n",
    "{v}: 1\n{w}: 2\n", "a: {v}\n  {w}\nb: 1\n", "a: |\n  {v}\nb: >\n  {w}\n", "a:\n  b: {v}\n  c:\n    - {{d: {w}}}\n",
    "---\na: {v}\n...\n", "a: {v} # {w}\n", "{{a: {v}, {w}}}\n", "a: [{v}: {w}]\n",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_TEMPLATES), st.lists(st.sampled_from(_ATOMS), max_size=5), st.lists(st.sampled_from(_ATOMS), max_size=3))
def test_generated_documents_read_as_ruamel_reads_them_or_go_to_ruamel(template, v, w):
    text = template.format(v="".join(v), w="".join(w))
    fast = _fast_plain(text)
    if fast is None:
        return
    slow = ruamel_plain(text)
    if isinstance(slow, NotImplementedError):
        # a ruamel bug ("overlap in comment", a comment between a key and its value followed by
        # blank lines): ruamel crashes where libyaml reads the document as written
        return
    assert not isinstance(slow, Exception), f"ruamel refuses what the fast reader read: {slow}"
    assert shape(fast) == shape(slow)


# --------------------------------------------------------------------------------------------
# (a') a JSON document (JSON is YAML 1.2) is read with Python's JSON reader: the same data


@pytest.mark.parametrize("path", REGISTRIES, ids=lambda p: p.parent.parent.name)
@pytest.mark.parametrize("ascii_only", [False, True])
def test_bundled_registries_written_as_json_read_as_ruamel_reads_them(path, ascii_only, ruleset):
    data = ruamel_plain(path.read_text(encoding="utf-8"))
    text = json.dumps(data, indent=2, ensure_ascii=ascii_only, default=str)  # dates as text, as JSON has them
    fast = loading._json_plain(text)
    assert fast is not None
    assert shape(fast) == shape(ruamel_plain(text)) == shape(_fast_plain(text))
    if path.parent.parent == XIANGSHAN:  # and loads to the same registry as the YAML file
        assert loading.parse_registry(text, ruleset) == load_registry(path, ruleset)


JSON_EXAMPLES = int(os.environ.get("JSON_EXAMPLES", "400"))  # 20,000 run once when this was written
_JSON_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from(["\x00", "\x1f", "\x7f", "\x85", "\u2028", "\\", '"', "/", "\ufeff"]),
                     max_size=6)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=False, allow_infinity=False) | _JSON_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_JSON_TEXT, inner, max_size=3),
    max_leaves=12,
)


def reads_as_ruamel_or_not_at_all(text: str, value: Any) -> None:
    """The JSON reader gives ``value`` for ``text``, typed as ruamel reads it, or leaves it."""
    fast = loading._json_plain(text)
    if fast is None:
        return
    assert fast == value
    slow = ruamel_plain(text)
    assert not isinstance(slow, Exception), f"ruamel refuses what the JSON reader read: {slow}"
    assert shape(fast) == shape(slow)


@settings(max_examples=JSON_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_JSON_TEXT, _JSON_VALUES, max_size=4), st.sampled_from([None, 2]), st.booleans())
def test_generated_json_reads_as_ruamel_reads_it_or_goes_to_ruamel(data, indent, ascii_only):
    reads_as_ruamel_or_not_at_all(json.dumps(data, indent=indent, ensure_ascii=ascii_only), data)


_BLANKS = st.sampled_from(["", " ", "  ", "\n", "\n  ", "\r\n", "\n\n    ", " " * 70])


@st.composite
def _laid_out(draw, value):
    """``value`` as JSON with blanks drawn between its tokens, before colons too."""
    if isinstance(value, dict):
        items = [draw(_BLANKS) + json.dumps(key, ensure_ascii=draw(st.booleans())) + draw(_BLANKS) + ":" + draw(_BLANKS)
                 + draw(_laid_out(item)) + draw(_BLANKS) for key, item in value.items()]
        return "{" + ",".join(items) + draw(_BLANKS) + "}"
    if isinstance(value, list):
        return "[" + ",".join(draw(_BLANKS) + draw(_laid_out(item)) + draw(_BLANKS) for item in value) + "]"
    return json.dumps(value, ensure_ascii=draw(st.booleans()))


_LONG_KEYS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=100, max_size=400)


@settings(max_examples=JSON_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.dictionaries(_JSON_TEXT | _LONG_KEYS, _JSON_VALUES, max_size=4))
def test_json_laid_out_any_way_reads_as_ruamel_reads_it_or_goes_to_ruamel(data, value):
    """Blanks anywhere JSON allows them (line breaks and spaces before a colon, which YAML does
    not take in a key), keys up to 400 characters (YAML takes 1,024 with what follows them)."""
    reads_as_ruamel_or_not_at_all(data.draw(_laid_out(value)), value)


@pytest.mark.parametrize("depth", [99, 100, 101, 400, 5000])
def test_a_deeply_nested_json_registry_is_refused_as_the_yaml_one_is(depth, ruleset):
    text = '{"a": ' * depth + "1" + "}" * depth
    assert loading._json_plain(text) is None or depth <= 100
    if depth > 100:
        with pytest.raises(RegistryError, match="nested more than 100 levels deep|recursion|deep"):
            loading.parse_registry(text, ruleset)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',  # a key twice: ruamel's located error
        '{"a": {"b": 1, "b": 1}}',
        '{"a": NaN}',  # not JSON
        '{"a": Infinity}',
        '{"a": 1e400}',  # too large for a float
        '{"a": "\\ud800"}',  # an escaped surrogate
        '{"a": "x\x7fy"}',  # a character YAML does not allow in a document
        '{"a": "x\x85y"}' if False else '{"a": "x\x9fy"}',
        '["a"]',  # not a mapping
        '{"a": 1} x',  # not JSON
        '{"a":1}',  # run into a colon: left to ruamel, as the libyaml reader leaves it
        "{" * 150 + "}" * 150,  # deeper than YAML documents may be
        '{"a"\n: 1}',  # a line break before a key's colon: YAML refuses it
        '{"a"\r\n  : 1}',
        '{"' + "k" * 1100 + '": 1}',  # a key longer than YAML takes
        '{"' + "\\u0041" * 200 + '": 1}',  # 200 characters written as 1,200
    ],
)
def test_what_the_json_reader_leaves_to_the_others(text):
    assert loading._json_plain(text) is None or text.startswith('{"a":1}')
    assert _fast_plain(text) is None or shape(_fast_plain(text)) == shape(ruamel_plain(text))


def test_without_libyaml_every_document_goes_to_ruamel(monkeypatch, ruleset, registry):
    monkeypatch.setattr(loading, "_CParser", None)
    assert _fast_plain("a: 1\n") is None
    assert load_registry(XIANGSHAN / "sample" / "registry.yaml", ruleset) == registry


def test_a_registry_loads_the_same_through_either_reader(monkeypatch, ruleset):
    path = XIANGSHAN / "sample" / "registry.yaml"
    fast = load_registry(path, ruleset)
    monkeypatch.setattr(loading, "_fast_plain", lambda text: None)
    assert load_registry(path, ruleset) == fast


# --------------------------------------------------------------------------------------------
# (b) problems in a registry read by the fast path are still located


REGISTRY_TEXT = (XIANGSHAN / "sample" / "registry.yaml").read_text(encoding="utf-8")


def _position(text: str, anchor: str, target: str) -> tuple[int, int]:
    assert text.count(anchor) == 1
    offset = text.index(anchor) + anchor.index(target)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _registry_error(tmp_path: Path, text: str, ruleset, monkeypatch) -> RegistryError:
    """The error loading ``text`` raises, checked to be the one the ruamel-only path raises."""
    path = tmp_path / "registry.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError) as info:
        load_registry(path, ruleset)
    with monkeypatch.context() as patch:
        patch.setattr(loading, "_fast_plain", lambda text: None)
        with pytest.raises(RegistryError) as ruamel_only:
            load_registry(path, ruleset)
    assert info.value.problems == ruamel_only.value.problems
    for problem in info.value.problems:
        assert problem.location.file == str(path)
        assert problem.location.line is not None and problem.location.column is not None
    return info.value


def test_a_validation_error_in_a_fast_read_registry_is_located(tmp_path, ruleset, monkeypatch):
    text = REGISTRY_TEXT.replace("{id: p-li-hua, name: 李华}", "{id: p-li-hua, nam: 李华}")
    assert _fast_plain(text) is not None  # read by libyaml; the tree is built for the error only
    error = _registry_error(tmp_path, text, ruleset, monkeypatch)
    located = {(p.location.line, p.location.column, p.message) for p in error.problems}
    line, column = _position(text, "{id: p-li-hua, nam: 李华}", "nam")
    assert (line, column, "unknown field 'nam'; check its spelling and indentation") in located
    assert any(p.path == "people[1].name" and "missing required field 'name'" in p.message for p in error.problems)


def test_a_bad_date_range_in_a_fast_read_registry_is_located(tmp_path, ruleset, monkeypatch):
    old = "{person: p-sun-li, role: anti_smuggling_officer, unit: hepu, start: 2026-09-15}"
    bad = "{person: p-sun-li, role: anti_smuggling_officer, unit: hepu, start: 2026-09-15, end: 2026-09-01}"
    text = REGISTRY_TEXT.replace(old, bad)
    assert _fast_plain(text) is not None
    (problem,) = _registry_error(tmp_path, text, ruleset, monkeypatch).problems
    assert (problem.location.line, problem.location.column) == _position(text, bad, "{")
    assert "end (2026-09-01) is before start (2026-09-15)" in problem.message


def test_a_reference_error_in_a_fast_read_registry_is_located(tmp_path, ruleset, monkeypatch):
    old = "{person: p-chen-jun, role: section_chief, unit: shipu, start: 2026-01-01}"
    text = REGISTRY_TEXT.replace(old, old.replace("role: section_chief", "role: section_chef"))
    assert _fast_plain(text) is not None
    (problem,) = _registry_error(tmp_path, text, ruleset, monkeypatch).problems
    assert (problem.location.line, problem.location.column) == _position(text, "role: section_chef", "section_chef")
    assert problem.path == "assignments[0].role" and "did you mean 'section_chief'?" in problem.message


def test_yaml_errors_in_a_registry_are_located_by_ruamel(tmp_path, ruleset, monkeypatch):
    text = REGISTRY_TEXT.replace("  - {id: p-li-hua, name: 李华}", "  - {id: p-li-hua, name: 李华}\n  - {id: p-wu: oops, name: x}")
    (problem,) = _registry_error(tmp_path, text, ruleset, monkeypatch).problems
    assert problem.message.startswith("invalid YAML")
    assert problem.location.line == _position(text, "{id: p-wu: oops, name: x}", "p-wu")[0]
    duplicate = REGISTRY_TEXT.replace("{id: p-li-hua, name: 李华}", "{id: p-li-hua, name: 李华, name: 李}")
    assert _fast_plain(duplicate) is None
    (problem,) = _registry_error(tmp_path, duplicate, ruleset, monkeypatch).problems
    assert (problem.location.line, problem.location.column) == _position(duplicate, "name: 李华, name: 李}", "name: 李}")
    assert "duplicate key" in problem.message


def test_reading_leaves_the_garbage_collector_as_it_was(ruleset, registry):
    assert gc.isenabled()
    load_registry(XIANGSHAN / "sample" / "registry.yaml", ruleset)
    read_events(XIANGSHAN / "sample" / "events.jsonl", ruleset, registry)
    assert gc.isenabled()
    gc.disable()
    try:
        load_registry(XIANGSHAN / "sample" / "registry.yaml", ruleset)
        read_events(XIANGSHAN / "sample" / "events.jsonl", ruleset, registry)
        assert not gc.isenabled()
    finally:
        gc.enable()


# --------------------------------------------------------------------------------------------
# times and JSON lines: the fast readers against pendulum.parse and json.loads


def _outcome(function, *args) -> Any:
    try:
        value = function(*args)
    except Exception as exc:  # noqa: BLE001
        return ("raises", type(exc).__name__)
    if isinstance(value, dt.datetime):
        return ("datetime", type(value), repr(value), value.tzinfo, value.fold)
    return ("other", type(value), repr(value))


def _reference_time(text: str, zone: Any) -> Any:
    if not _DATE_TIME.fullmatch(text):
        raise ValueError(text)
    return pendulum.parse(text, tz=zone)


def _parse_reference(text: str) -> Any:
    # pendulum, for the shapes an event time may have (a date and a time of day); anything else
    # ("now", "2026-08", a week date) is refused before pendulum sees it
    if not _DATE_TIME.fullmatch(text):
        raise ValueError(text)
    return pendulum.parse(text, tz=ZONE)


@pytest.mark.parametrize("text", [
    "2026-08-01T07:15:00+08:00", "2026-08-01T07:15:00-05:30", "2026-08-01T07:15:00+00:00", "2026-08-01T07:15:00-00:00",
    "2026-08-01T07:15:00Z", "2026-08-01T07:15:00.5Z", "2026-08-01T07:15:00.123456+08:00", "2026-08-01T07:15:00.1234567+08:00",
    "2026-08-01T07:15:00+23:59", "2026-08-01T07:15:00+24:00", "2026-08-01T07:15:00+08:60", "2026-08-01T07:15:00+0800",
    "2026-08-01T07:15:00+08", "2026-08-01T07:15:00", "2026-08-01 07:15:00+08:00", "2026-08-01t07:15:00+08:00", "2026-08-01T07:15+08:00",
    "2026-02-29T07:15:00+08:00", "2026-13-01T07:15:00+08:00", "2026-00-01T07:15:00+08:00", "0000-01-01T00:00:00+08:00",
    "0001-01-01T00:00:00-08:00", "9999-12-31T23:59:59+08:00", "2026-08-01T24:00:00+08:00", "2026-08-01T23:59:60+08:00",
    "2026-08-01T07:61:00+08:00", "2026-08-01", "2026-W31-1T07:15:00+08:00", "2026-213T07:15:00+08:00", "20260801T071500+0800",
    "2026-08-01T07:15:00.+08:00", "２０２６-08-01T07:15:00+08:00", "2026-08-01T07:15:00+08:00 ", "P1D", "",
])
def test_times_read_as_pendulum_reads_them(text):
    assert _outcome(_parse_time, text, ZONE) == _outcome(_parse_reference, text)


_digits = lambda n, top: st.integers(0, top).map(lambda i: str(i).zfill(n))  # noqa: E731


@settings(max_examples=500, deadline=None)
@given(
    _digits(4, 10000), _digits(2, 14), _digits(2, 33), st.sampled_from("Tt "), _digits(2, 25), _digits(2, 61), _digits(2, 61),
    st.sampled_from(["", ".", ".5", ".123", ".123456", ".1234567"]),
    st.one_of(st.sampled_from(["Z", "z", "", "+08", "+0800"]), st.tuples(st.sampled_from("+-"), _digits(2, 25), _digits(2, 61)).map("{0[0]}{0[1]}:{0[2]}".format)),
)
def test_generated_times_read_as_pendulum_reads_them(year, month, day, sep, hour, minute, second, fraction, offset):
    text = f"{year}-{month}-{day}{sep}{hour}:{minute}:{second}{fraction}{offset}"
    assert _outcome(_parse_time, text, ZONE) == _outcome(_parse_reference, text)


def _json_outcome(function, line: str) -> Any:
    try:
        return ("value", json.dumps(function(line), sort_keys=False))
    except ValueError as exc:  # a JSONDecodeError, or a value the reader refuses
        return ("raises", f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("line", [
    '{"a": 1}', '{"a": 1} ', ' {"a": 1}', '{"a": 1}x', '{"a": 1}{}', "{}", "{", '{"a": }', '{"a": NaN, "b": -Infinity}',
    '\ufeff{"a": 1}', "[1, 2]", "1", '"x"', "", '{"a": "\u2028"}', '{"a": 1, "a": 2}', '{"a": [1, {"b": null}]}',
])
def test_json_lines_read_as_json_loads_reads_them(line):
    assert _json_outcome(_json_object, line) == _json_outcome(_strict_loads, line)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), st.text(alphabet='{}[]":,0123456789 abtrueflsn\\', max_size=30)))
def test_generated_lines_read_as_json_loads_reads_them(line):
    assert _json_outcome(_json_object, line) == _json_outcome(_strict_loads, line)


# --------------------------------------------------------------------------------------------
# (c) events: the reader against the line-by-line reader as it was


def _typed_reference(value: Any, spec: AttributeSpec, from_text: bool, zone: Any) -> tuple[Any, str | None]:
    if spec.type != "datetime":
        return eventfiles._typed(value, spec, from_text, zone)
    if isinstance(value, str):
        try:
            parsed = _reference_time(value, zone)
            if isinstance(parsed, dt.datetime):
                return parsed.isoformat(), None
        except Exception:  # noqa: BLE001
            pass
    return None, f"expected an ISO 8601 date-time, got {value!r}"


class ReferenceReader(_EventReader):
    """The event reader before the fast paths: json.loads, pendulum.parse and Event.model_validate
    for every line, and the normaliser hook asked for every record whether or not any plugin has it."""

    def _read_jsonl(self, lines, file: str) -> None:
        for number, line, utf8 in lines:
            line = line.removesuffix("\r")
            if not utf8:
                self._reject(file, number, line, ["not UTF-8 text: save the file as UTF-8"])
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                self._reject(file, number, line, [f"invalid JSON at column {exc.colno}: {exc.msg}"])
                continue
            if not isinstance(record, dict):
                self._reject(file, number, line, ["expected a JSON object"])
                continue
            attributes = record.pop("attributes", {})
            if not isinstance(attributes, dict):
                self._reject(file, number, line, ["'attributes' must be an object"])
                continue
            extra = sorted(set(record) - set(CORE_EVENT_FIELDS))
            if extra:
                self._reject(file, number, line, [f"unknown fields {extra}; attributes go inside 'attributes'"])
                continue
            self._accept(file, number, line, record, attributes, from_text=False)

    def _accept(self, file, line, raw, record, attributes, *, from_text):  # noqa: C901 - kept as it was
        normaliser, normalised = self.plugins.first_named(
            "complianceengine_normalise_record", record={**record, "attributes": dict(attributes)}, path=self.path, ruleset=self.ruleset
        )
        if normalised is not None:
            record = dict(normalised)
            attributes = record.pop("attributes", {}) or {}
        errors: list[str] = []
        kind_name = record.get("kind")
        kind = self.ruleset.event_kinds.get(kind_name) if isinstance(kind_name, str) else None
        if kind_name is None:
            errors.append(f"missing the event kind ('kind'); declared: {', '.join(self.ruleset.event_kinds)}")
        elif kind is None:
            errors.append(f"unknown event kind {kind_name!r}; declared: {', '.join(self.ruleset.event_kinds)}")
        time = record.get("time")
        if isinstance(time, str):
            try:
                parsed = _reference_time(time, self.zone)
            except Exception:  # noqa: BLE001
                parsed = None
            if not isinstance(parsed, dt.datetime):
                errors.append(f"time {time!r} is not an ISO 8601 date-time such as 2026-08-01T09:30:00+08:00")
            else:
                record["time"] = parsed
        elif time is not None:
            errors.append(f"time must be a string, got {time!r}")
        if kind is not None:
            for field in kind.requires:
                if not record.get(field):
                    errors.append(f"a {kind_name} event needs '{field}'")
            typed: dict[str, Any] = {}
            for name, value in attributes.items():
                spec = kind.attributes.get(name)
                if spec is None:
                    declared = ", ".join(kind.attributes) or "none"
                    errors.append(f"unknown attribute {name!r} for a {kind_name} event (declared: {declared})")
                    continue
                converted, problem = _typed_reference(value, spec, from_text, self.zone)
                if problem:
                    errors.append(f"attribute {name!r}: {problem}")
                else:
                    typed[name] = converted
            for name, spec in kind.attributes.items():
                if spec.required and name not in attributes:
                    errors.append(f"a {kind_name} event needs attribute {name!r}")
            attributes = typed
        participants = record.get("participants")
        if participants is not None and (not isinstance(participants, list) or not all(isinstance(p, str) for p in participants)):
            errors.append(f"participants must be a list of person ids, got {participants!r}")
            record.pop("participants")
        if kind is not None and kind.excuses is not None and isinstance(record.get("time"), dt.datetime):
            until = attributes.get(kind.excuses.until)
            end = _reference_time(until, self.zone) if isinstance(until, str) else None
            if isinstance(end, dt.datetime) and end <= record["time"]:
                errors.append(f"{kind.excuses.until!r} ({until}) must be after the event time: the exemption would be empty")
        if self.people is not None:
            for person in [record.get("actor"), record.get("on_behalf_of"), *(record.get("participants") or [])]:
                if isinstance(person, str) and person not in self.people:
                    errors.append(f"unknown person {person!r} (not in the registry)")
        if self.units is not None and isinstance(record.get("unit"), str) and record["unit"] not in self.units:
            errors.append(f"unknown unit {record['unit']!r} (not in the registry)")
        if self.subjects is not None and isinstance(record.get("subject"), str) and record["subject"] not in self.subjects:
            errors.append(f"unknown subject {record['subject']!r} (not in the registry)")
        event = None
        if not errors:
            try:
                event = Event.model_validate({**record, "attributes": attributes, "origin": EventOrigin(file=file, line=line)})
            except ValidationError as exc:
                errors += [f"{path_text(e['loc']) or 'event'}: {loading._message(e)}" for e in exc.errors()]
        if event is None:
            self._reject(file, line, raw, errors)
            return
        first = self.first.get(event.id)
        if first is not None:
            identical = eventfiles._same_event(first, event)
            self.duplicates.append(eventfiles.Duplicate(
                id=event.id, file=file, line=line, first_file=first.origin.file, first_line=first.origin.line, identical=identical
            ))
            if not identical:
                self._reject(file, line, raw, [f"event id {event.id!r} was already used at {first.origin.file}:{first.origin.line} with different content"])
            return
        self.first[event.id] = event
        self.events.append(event)


def read_reference(paths, ruleset, registry=None, plugins=None) -> EventLog:
    reader = ReferenceReader(ruleset, registry, plugins or Plugins())
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        reader.read_file(Path(path))
    return EventLog(events=tuple(reader.events), rejects=tuple(reader.rejects), duplicates=tuple(reader.duplicates))


def strict(log: EventLog) -> Any:
    """Everything about a log, times with their zone object and fold (== on datetimes compares
    only the instant)."""
    return (
        [(repr(e), type(e.time), e.time.tzinfo, e.time.fold, e.origin) for e in log.events],
        [r.model_dump() for r in log.rejects],
        [d.model_dump() for d in log.duplicates],
    )


@pytest.mark.parametrize("path", SAMPLE_EVENTS, ids=lambda p: p.parent.parent.name)
@pytest.mark.parametrize("with_registry", [True, False], ids=["registry", "no-registry"])
@pytest.mark.parametrize("installed", [True, False], ids=["installed-plugins", "no-plugins"])
def test_bundled_sample_events_read_as_the_reference_reads_them(path, with_registry, installed):
    ruleset = load_ruleset(path.parent.parent / "ruleset.yaml", Plugins(entry_points=True))
    registry = load_registry(path.parent / "registry.yaml", ruleset) if with_registry else None
    plugins = Plugins(entry_points=installed)  # installed: the platform export's normaliser among them
    new, old = read_events(path, ruleset, registry, plugins), read_reference(path, ruleset, registry, plugins)
    assert strict(new) == strict(old)
    assert new == old


_TIMES = ["2026-09-01T09:30:00+08:00", "2026-09-01T09:30:00", "2026-09-01T01:30:00Z", "2026-09-01T09:30:00.25-05:30", "2026-09-31T09:30:00+08:00",
          "2026-09-01 09:30:00+08:00", "2026-09-01", "tomorrow", "2026-09-01T24:00:00+08:00", "2026-09-01T09:30:00+08:60", 20260901, None]


@st.composite
def event_lines(draw) -> str:
    kind = draw(st.sampled_from(["patrol", "leave", "publicity", "lead_pushed", "patrl", None]))
    record: dict[str, Any] = {"id": draw(st.sampled_from(["e1", "e2", "e3", "", 5]))}
    if kind is not None:
        record["kind"] = kind
    time = draw(st.sampled_from(_TIMES))
    if time is not None:
        record["time"] = time
    for field, values in (
        ("actor", ["p-du-xin", "p-li-hua", "p-nobody", 7]),
        ("unit", ["fanxi-dock", "dongmen-north", "atlantis"]),
        ("subject", ["kp-001", "kp-999"]),
        ("on_behalf_of", ["p-ye-qing", "p-nobody"]),
        ("participants", [["p-li-hua", "p-ye-qing"], ["p-nobody"], "p-li-hua", [3], []]),
    ):
        if draw(st.booleans()):
            record[field] = draw(st.sampled_from(values))
    attributes = draw(st.dictionaries(
        st.sampled_from(["mode", "until", "info_id", "category", "colour"]),
        st.sampled_from(["field", "online", "walking", "2026-09-02T09:30:00+08:00", "2026-08-01T09:30:00Z", "clue", 3, True, None, ["x"]]),
        max_size=3,
    ))
    if attributes or draw(st.booleans()):
        record["attributes"] = attributes
    if draw(st.integers(0, 9)) == 0:
        record["colour"] = "red"
    line = json.dumps(record, ensure_ascii=draw(st.booleans()))
    damage = draw(st.integers(0, 19))
    if damage == 0:
        line = line[: len(line) // 2]
    elif damage == 1:
        line = "[1, 2]"
    elif damage == 2:
        line = " " + line + " \r"
    elif damage == 3:
        line = line + "x"
    elif damage == 4:
        line = '{"id": "e1", "attributes": 5}'
    elif damage == 5:
        line = "   "
    return line


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(event_lines(), max_size=12), st.booleans())
def test_generated_event_lines_read_as_the_reference_reads_them(tmp_path_factory, ruleset, registry, lines, with_registry):
    path = tmp_path_factory.mktemp("events") / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    registry = registry if with_registry else None
    new, old = read_events(path, ruleset, registry), read_reference(path, ruleset, registry)
    assert strict(new) == strict(old)


def test_csv_events_read_as_the_reference_reads_them(tmp_path, ruleset, registry):
    path = tmp_path / "events.csv"
    path.write_text(
        "id,kind,time,actor,unit,participants,mode\n"
        "c1,patrol,2026-09-01T09:30:00+08:00,p-du-xin,fanxi-dock,,field\n"
        "c2,patrol,2026-09-01T09:30:00,p-du-xin,fanxi-dock,p-li-hua;p-ye-qing,online\n"
        "c3,patrol,2026-09-31T09:30:00+08:00,p-du-xin,fanxi-dock,,field\n"
        "c4,patrol,2026-09-01T09:30:00Z,p-nobody,atlantis,,walking\n"
        "c1,patrol,2026-09-01T09:30:00+08:00,p-du-xin,fanxi-dock,,field\n"
        "c1,patrol,2026-09-01T10:30:00+08:00,p-du-xin,fanxi-dock,,field\n",
        encoding="utf-8",
    )
    new, old = read_events(path, ruleset, registry), read_reference(path, ruleset, registry)
    assert strict(new) == strict(old)
    assert len(new.events) == 2 and len(new.rejects) == 3 and len(new.duplicates) == 2


class _Counting:
    def __init__(self):
        self.records: list[str] = []

    @hookimpl
    def complianceengine_normalise_record(self, record, path, ruleset):
        self.records.append(record.get("id"))
        return None


def test_the_normaliser_is_asked_for_every_record_when_a_plugin_has_it(ruleset, registry):
    counting = _Counting()
    path = XIANGSHAN / "sample" / "events.jsonl"
    log = read_events(path, ruleset, registry, Plugins([counting]))
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and _is_object(line)]
    assert counting.records == [r.get("id") for r in records if isinstance(r.get("attributes", {}), dict) and set(r) - {"attributes"} <= set(CORE_EVENT_FIELDS)]
    assert log == read_events(path, ruleset, registry)


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False


def test_a_problem_in_a_json_registry_is_located_as_in_yaml(ruleset, tmp_path):
    data = ruamel_plain((XIANGSHAN / "sample" / "registry.yaml").read_text(encoding="utf-8"))
    data["assignments"][1]["role"] = "admiral"
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    assert loading._json_plain(path.read_text(encoding="utf-8")) is not None  # read by the JSON reader
    with pytest.raises(RegistryError) as caught:
        load_registry(path, ruleset)
    [problem] = [p for p in caught.value.problems if "admiral" in p.message]
    line = next(n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if '"admiral"' in text)
    assert (problem.location.file, problem.location.line) == (str(path), line) and problem.location.column is not None


# --------------------------------------------------------------------------------------------
# (e) an event's attributes validate as the smart union did, tried text first


_ATTRIBUTE_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3) | st.binary(max_size=2) | st.dates()
    | st.sampled_from([1.0, 0, -0.0, True, "1", "true", math.inf]),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner) | st.dictionaries(st.text(max_size=2), inner, max_size=2)
    | st.frozensets(st.text(max_size=2), max_size=2),
    max_leaves=4,
)


@settings(max_examples=int(os.environ.get("ATTRIBUTE_EXAMPLES", "600")), deadline=None)  # 20,000 run once
@given(st.dictionaries(st.text(max_size=3), _ATTRIBUTE_VALUES, max_size=3))
def test_event_attributes_validate_as_the_smart_union_did(attributes):
    from typing import Union

    from pydantic import StrictBool, StrictFloat, StrictInt, StrictStr, TypeAdapter

    from complianceengine.model import AttributeValue

    smart = TypeAdapter(dict[str, Union[Union[StrictBool, StrictInt, StrictFloat, StrictStr], tuple[StrictStr, ...]]])
    ordered = TypeAdapter(dict[str, AttributeValue])

    def outcome(adapter):
        try:
            return "ok", shape(adapter.validate_python(attributes))
        except ValidationError as exc:
            return "error", sorted(str(e["loc"]) for e in exc.errors())

    old, new = outcome(smart), outcome(ordered)
    assert old[0] == new[0]
    if old[0] == "ok":
        assert old == new
    else:  # the same values are refused (each member's message is listed either way)
        assert {loc.split(",")[0] for loc in old[1]} == {loc.split(",")[0] for loc in new[1]}
