"""Malformed inputs made by mutating the bundled samples byte by byte: never a traceback, never a
hang (each example has a deadline), never a silent drop (every non-blank event line is an event,
a reject or a duplicate)."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complianceengine import EventSourceError, RegistryError, RulesetError, load_registry, load_ruleset, read_events

from conftest import XIANGSHAN

RULESET = load_ruleset(XIANGSHAN / "ruleset.yaml")
REGISTRY = load_registry(XIANGSHAN / "sample" / "registry.yaml", RULESET)
EVENT_LINES = (XIANGSHAN / "sample" / "events.jsonl").read_bytes().split(b"\n")[:60]
REGISTRY_TEXT = (XIANGSHAN / "sample" / "registry.yaml").read_bytes()
RULESET_TEXT = (XIANGSHAN / "ruleset.yaml").read_bytes()
CSV_TEXT = (
    "id,kind,time,actor,unit,mode\n"
    + "".join(f"c{i},patrol,2026-09-{i % 28 + 1:02d}T09:00:00+08:00,p-du-xin,fanxi-dock,field\n" for i in range(30))
).encode()

# bytes that break things: quotes, brackets, separators, line ends, NUL, a lone continuation
# byte, a byte-order mark, a big number, NaN, a deep bracket run, a YAML alias and tag
PIECES = [b'"', b"{", b"}", b"[", b"]", b",", b":", b"\n", b"\r", b"\x00", b"\xff", b"\xef\xbb\xbf", b"\\", b"9" * 40, b"NaN",
          b"[" * 200, b"*a", b"&a ", b"!!python/object ", b"\t", b"- ", b"  ", b"#", b"'", b"1e400", "周".encode()]


@st.composite
def mutated(draw, text: bytes, max_edits: int = 6) -> bytes:
    data = bytearray(text)
    for _ in range(draw(st.integers(1, max_edits))):
        where = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        if action == "insert":
            data[where:where] = draw(st.sampled_from(PIECES))
        elif action == "delete":
            del data[where : where + draw(st.integers(1, 30))]
        elif action == "replace" and where < len(data):
            data[where] = draw(st.integers(0, 255))
        else:
            start = data.rfind(b"\n", 0, where) + 1
            end = data.find(b"\n", where)
            line = bytes(data[start : end if end >= 0 else len(data)])
            data[start:start] = line + b"\n"
    return bytes(data)


def _non_blank(data: bytes, csv: bool = False) -> int:
    data = data.removeprefix(b"\xef\xbb\xbf")
    # JSONL lines end at line feeds; CSV lines where its reader ends them (\r\n, \r or \n)
    lines = re.split(rb"\r\n|\r|\n", data) if csv else data.split(b"\n")
    return sum(1 for line in lines if (text := line.decode("utf-8", errors="replace").removesuffix("\r")) and not text.isspace())


FUZZ = settings(max_examples=150, deadline=dt.timedelta(seconds=3), suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=mutated(b"\n".join(EVENT_LINES)))
def test_mutated_jsonl_loses_no_line(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "events.jsonl"
    path.write_bytes(data)
    log = read_events(path, RULESET, REGISTRY)
    # each line is one of: an event, a reject, an identical repeat (a conflicting repeat is a
    # reject, and listed among the duplicates too)
    assert len(log.events) + len(log.rejects) + sum(d.identical for d in log.duplicates) == _non_blank(data)


@FUZZ
@given(data=mutated(CSV_TEXT))
def test_mutated_csv_gives_events_rejects_or_a_located_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "events.csv"
    path.write_bytes(data)
    try:
        log = read_events(path, RULESET, REGISTRY)
    except EventSourceError as exc:  # the header itself
        assert exc.problems and exc.problems[0].location.line == 1
        return
    # a record may span lines (a quoted cell), so there are at most as many as lines after the header
    assert len(log.events) + len(log.rejects) + sum(d.identical for d in log.duplicates) <= _non_blank(data, csv=True) - 1
    assert all(r.line >= 2 for r in log.rejects)


@FUZZ
@given(data=mutated(REGISTRY_TEXT))
def test_mutated_registry_loads_or_fails_located(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "registry.yaml"
    path.write_bytes(data)
    try:
        load_registry(path, RULESET)
    except RegistryError as exc:
        assert exc.problems and all(p.location.file == str(path) for p in exc.problems)


@FUZZ
@given(data=mutated(RULESET_TEXT))
def test_mutated_ruleset_loads_or_fails_located(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "sample").mkdir()
    (folder / "sample" / "tides.csv").write_bytes((XIANGSHAN / "sample" / "tides.csv").read_bytes())
    path = folder / "ruleset.yaml"
    path.write_bytes(data)
    try:
        load_ruleset(path)
    except RulesetError as exc:
        assert exc.problems and all(p.location.file == str(path) for p in exc.problems)
