"""The monitor's two matching engines: on random histories fed in random orders, the Python
engine, the durable-rules engine and the batch audit give the same status; what the
durable-rules wrapper contains (private hosts, no threads, cases over several rulesets, errors
raised, one lock)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import complianceengine as ce
from complianceengine.model import Ruleset
from complianceengine.monitor import Monitor

from conftest import base_registry, base_ruleset, event

durable = pytest.importorskip("durable", reason="the durable-rules engine is the optional extra complianceengine[durable]")

from complianceengine import durable_engine  # noqa: E402

TZ = dt.timezone(dt.timedelta(hours=8))
UTC = dt.timezone.utc
START = dt.datetime(2026, 7, 25, tzinfo=UTC)
SECONDS = 70 * 86400
SINCE = dt.date(2026, 8, 1)

KINDS = {
    "patrol": {"label": {"en": "patrol"}, "attributes": {
        "mode": {"type": "enum", "values": ["field", "online"]}, "vessels": {"type": "integer"}, "score": {"type": "number"},
        "depts": {"type": "list", "values": ["customs", "police"]}, "urgent": {"type": "boolean"}, "note": {"type": "string"}}},
    "inspection": {"label": {"en": "inspection"}, "attributes": {"mode": {"type": "enum", "values": ["field", "online"]},
                                                                 "vessels": {"type": "integer"}}},
    "visit": {"label": {"en": "visit"}},
    "report": {"label": {"en": "report"}, "attributes": {"case": {"type": "string", "required": True}, "level": {"type": "integer"}}},
    "ack": {"label": {"en": "ack"}, "attributes": {"case": {"type": "string", "required": True}}},
    "done": {"label": {"en": "done"}, "attributes": {"case": {"type": "string", "required": True}}},
    "leave": {"label": {"en": "leave"}, "requires": ["actor"], "attributes": {"until": {"type": "datetime", "required": True}},
              "excuses": {"who": "actor", "until": "until"}},
}
RULES = [
    # eq on an enum and gte on an integer: both said by durable-rules
    {"id": "field-daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "period": "day", "at_least": 1,
     "match": {"kind": "patrol", "where": {"mode": "field", "vessels": {"gte": 2}}}},
    # two kinds, ne (true of a missing mode) and a time of day: checked after durable-rules fires
    {"id": "not-online-weekly", "kind": "frequency", "applies_to": {"unit_kind": "dock"}, "period": "week", "at_least": 2,
     "match": {"kind": ["patrol", "inspection"], "where": {"mode": {"ne": "online"}}, "time_of_day": {"from": "06:00", "to": "22:00"}}},
    # a list attribute and a boolean: checked after durable-rules fires
    {"id": "depts-monthly", "kind": "frequency", "applies_to": {"roles": ["chief"]}, "period": "month", "at_least": 1,
     "match": {"kind": "patrol", "where": {"depts": {"in": ["customs"]}, "urgent": True}}},
    # a range on a number, exists, a raised requirement
    {"id": "scored-weekly", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "period": "week", "at_least": 1,
     "match": {"kind": "patrol", "where": {"score": {"gt": 0.5, "lt": 2.5}, "note": {"exists": True}}},
     "during": [{"calendar": "campaign", "at_least": 2}]},
    # calendar windows: applied with the audit's windows
    {"id": "campaign-patrols", "kind": "frequency", "applies_to": {"unit_kind": "dock"}, "period": "week", "at_least": 1,
     "match": {"kind": "patrol", "in_calendar": "campaign", "where": {"mode": ["field"]}}},
    {"id": "visits", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": "P10D"},
    # correlations: a two-step response, and one keyed on two fields
    {"id": "handling", "kind": "response", "trigger": {"kind": "report", "where": {"level": {"in": [1, 2]}}}, "correlate_on": ["case"],
     "steps": [{"id": "acked", "match": {"kind": "ack"}, "within": "P1D"},
               {"id": "done", "match": {"kind": "done"}, "within": "P3D", "counted_from": "previous"}]},
    {"id": "urgent-handling", "kind": "response", "trigger": {"kind": "report", "where": {"level": 3}}, "correlate_on": ["case", "unit"],
     "steps": [{"id": "done", "match": {"kind": "done"}, "within": "PT12H"}]},
    {"id": "staffed", "kind": "staffing", "applies_to": {"unit_kind": "dock"}, "require": {"guard": 1}},
]
CAMPAIGN = {"campaign": {"label": {"en": "campaign"}, "windows": [{"start": "2026-08-10", "end": "2026-08-20"}]}}


def _ruleset() -> Ruleset:
    data = base_ruleset(calendars=CAMPAIGN).model_dump(mode="json", by_alias=True, exclude_none=True)
    obligations = [{"title": {"en": o["id"]}, "citation": {"source": "doc", "article": "1"}, **o} for o in RULES]
    return Ruleset.model_validate({**data, "event_kinds": KINDS, "obligations": obligations})


RULESET = _ruleset()
REGISTRY = base_registry(
    [
        {"person": "a", "role": "guard", "unit": "d1", "start": "2020-01-01", "end": "2026-08-25"},
        {"person": "b", "role": "guard", "unit": "d1", "start": "2026-08-20"},
        {"person": "b", "role": "guard", "unit": "d2", "start": "2026-01-01"},
        {"person": "c", "role": "chief", "unit": "t", "start": "2020-01-01"},
    ],
    subjects=[{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-01-01"},
              {"id": "r2", "kind": "resident", "unit": "d2", "start": "2026-08-15"}],
)


@st.composite
def histories(draw, max_size=40):
    out = []
    for i in range(draw(st.integers(0, max_size))):
        when = START + dt.timedelta(seconds=draw(st.integers(0, SECONDS)))
        kind = draw(st.sampled_from(["patrol", "patrol", "patrol", "inspection", "visit", "report", "report", "ack", "done", "done", "leave"]))
        person, unit = draw(st.sampled_from("abc")), draw(st.sampled_from(["d1", "d2"]))
        if kind in ("patrol", "inspection"):
            attributes = {"mode": draw(st.sampled_from(["field", "online", None])), "vessels": draw(st.sampled_from([0, 1, 2, 3, None]))}
            if kind == "patrol":
                attributes |= {"score": draw(st.sampled_from([0.5, 1, 2.5, 3.0, None])), "note": draw(st.sampled_from(["x", None])),
                               "depts": draw(st.sampled_from([["customs"], ["police"], ["customs", "police"], [], None])),
                               "urgent": draw(st.sampled_from([True, False, None]))}
            out.append(event(f"e{i}", kind, when, actor=person, unit=unit,
                             participants=tuple(draw(st.lists(st.sampled_from("abc"), max_size=2, unique=True))),
                             attributes={k: v for k, v in attributes.items() if v is not None}))
        elif kind == "visit":
            out.append(event(f"e{i}", "visit", when, actor=person, subject=draw(st.sampled_from(["r1", "r2"]))))
        elif kind == "leave":
            until = (when + dt.timedelta(days=draw(st.integers(1, 6)))).isoformat()
            out.append(event(f"e{i}", "leave", when, actor=person, attributes={"until": until}))
        else:
            attributes = {"case": draw(st.sampled_from("ABC"))}
            if kind == "report":
                level = draw(st.sampled_from([1, 2, 3, None]))
                attributes |= {} if level is None else {"level": level}
            out.append(event(f"e{i}", kind, when, actor=person, unit=unit, attributes=attributes))
    return out


def fed(events, engine: str) -> Monitor:
    monitor = Monitor(RULESET, REGISTRY, engine=engine)
    assert monitor.ingest_many(events) == []
    return monitor


@settings(max_examples=60, deadline=None)
@given(histories(), st.randoms(use_true_random=False), st.integers(0, 60 * 24))
def test_both_engines_in_any_order_give_the_batch_audits_status(events, shuffler, hours):
    as_of = dt.datetime(2026, 8, 1, tzinfo=TZ) + dt.timedelta(hours=hours)
    shuffled = list(events)
    shuffler.shuffle(shuffled)
    python, durable_ = fed(events, "python"), fed(shuffled, "durable")
    a, b = python.status(as_of, SINCE), durable_.status(as_of, SINCE)
    assert a == b
    batch = ce.audit(RULESET, REGISTRY, events, first_day=SINCE, last_day=max(SINCE, as_of.date()), as_of=as_of)
    assert a.findings == batch.findings
    assert python.due(as_of, unit="d1") == durable_.due(as_of, unit="d1")


def test_the_engines_agree_on_the_xiangshan_sample():
    xs = Path(__file__).resolve().parent.parent / "rulesets" / "xiangshan"
    ruleset = ce.load_ruleset(xs / "ruleset.yaml")
    registry = ce.load_registry(xs / "sample" / "registry.yaml", ruleset)
    log = ce.read_events([xs / "sample" / "events.jsonl"], ruleset, registry)
    as_of = dt.datetime(2026, 10, 15, 20, tzinfo=TZ)
    statuses = []
    for engine in ("python", "durable"):
        with Monitor(ruleset, registry, engine=engine) as monitor:
            monitor.ingest_many(reversed(log.events))
            assert monitor.engine == engine
            statuses.append(monitor.status(as_of, since=dt.date(2026, 8, 1)))
    assert statuses[0] == statuses[1]
    assert statuses[0].findings == ce.audit(ruleset, registry, log, first_day=dt.date(2026, 8, 1), last_day=as_of.date(), as_of=as_of).findings


def test_what_durable_rules_is_asked_and_what_is_checked_after():
    engine = durable_engine.DurableEngine(RULESET)
    blocks = {(b.obligation, b.role, b.step): b.index for b in engine.filed.blocks}
    said = {b: engine._residual[i] is None for b, i in blocks.items()}
    assert said[("field-daily", "match", None)]  # eq and gte: durable-rules says it all
    assert said[("handling", "trigger", None)]  # in on integers
    assert not said[("not-online-weekly", "match", None)]  # ne, time of day
    assert not said[("depts-monthly", "match", None)]  # a list attribute, a boolean
    assert not said[("scored-weekly", "match", None)]  # exists


def test_a_text_two_is_not_the_number_two():
    """durable-rules compares "2" and 2 as equal; texts and numbers go in separate slots."""
    ruleset = RULESET.model_copy(update={"obligations": [
        RULESET.obligation("field-daily").model_copy(update={"match": RULESET.obligation("field-daily").match.model_copy(
            update={"where": {"note": "2"}})})]})
    engine = durable_engine.DurableEngine(ruleset)
    t = dt.datetime(2026, 8, 3, 9, tzinfo=TZ)
    engine.add(event("n", "patrol", t, actor="a", unit="d1", attributes={"note": "2"}))
    engine.add(event("m", "patrol", t, actor="a", unit="d1", attributes={"vessels": 2}))
    assert [e.id for e in engine.filed.filed[0].all.events] == ["n"]


def test_durable_rules_keeps_the_earliest_trigger_of_a_case_and_no_settled_answer():
    t = dt.datetime(2026, 8, 3, 9, tzinfo=TZ)
    report = {"case": "A", "level": 1}
    events = [event("r2", "report", t + dt.timedelta(hours=2), actor="a", unit="d1", attributes=report),
              event("k0", "ack", t - dt.timedelta(hours=1), actor="a", unit="d1", attributes={"case": "A"}),  # before every trigger
              event("k3", "ack", t + dt.timedelta(hours=3), actor="a", unit="d1", attributes={"case": "A"}),
              event("r1", "report", t, actor="a", unit="d1", attributes=report),  # earlier, arriving late
              event("r4", "report", t + dt.timedelta(hours=4), actor="a", unit="d1", attributes=report)]
    monitor = fed(events, "durable")
    engine = monitor._engine
    ruleset, sid = engine._case("handling", ("A",))
    facts = engine._host.get_facts(ruleset, sid)
    # k3 filed and retracted, r2 and r4 settled: the earliest trigger (r1) and the answer before it (k0)
    assert sorted((f["r"], f["t"]) for f in facts) == [("a", (t - dt.timedelta(hours=1)).timestamp()), ("t", t.timestamp())]
    as_of = t + dt.timedelta(days=3)
    assert monitor.status(as_of, SINCE) == fed(events, "python").status(as_of, SINCE)


def test_cases_are_spread_over_rulesets_of_at_most_a_thousand():
    cases = 2 * durable_engine.SUBJECTS_PER_RULESET + 500
    t = dt.datetime(2026, 8, 3, 9, tzinfo=TZ)
    events = []
    for i in range(cases):
        events.append(event(f"r{i}", "report", t, actor="a", unit="d1", attributes={"case": f"K{i}", "level": 1}))
        if i % 2:
            events.append(event(f"k{i}", "ack", t + dt.timedelta(hours=2), actor="a", unit="d1", attributes={"case": f"K{i}"}))
    python, durable_ = fed(events, "python"), fed(events, "durable")
    engine = durable_._engine
    assert isinstance(engine, durable_engine.DurableEngine)
    assert len(engine._parts["handling"]) == 3
    assert all(n <= durable_engine.SUBJECTS_PER_RULESET for n in engine._filled.values())
    as_of = t + dt.timedelta(days=2)
    assert python.status(as_of, SINCE) == durable_.status(as_of, SINCE)


def test_two_durable_monitors_share_nothing_and_start_no_threads():
    before = threading.active_count()
    t = dt.datetime(2026, 8, 3, 9, tzinfo=TZ)
    one, two = Monitor(RULESET, REGISTRY, engine="durable"), Monitor(RULESET, REGISTRY, engine="durable")
    one.ingest(event("r", "report", t, actor="a", unit="d1", attributes={"case": "A", "level": 1}))
    two.ingest(event("r", "report", t, actor="a", unit="d1", attributes={"case": "A", "level": 1}))
    two.ingest(event("k", "ack", t + dt.timedelta(hours=1), actor="a", unit="d1", attributes={"case": "A"}))
    as_of = t + dt.timedelta(days=2)
    acked = {m: [f.status for f in m.status(as_of, SINCE).findings if f.step == "acked"] for m in (one, two)}
    assert acked == {one: ["missed"], two: ["met"]}
    assert threading.active_count() == before
    one.close()
    with pytest.raises(ce.EngineError, match="closed"):
        one.ingest(event("x", "report", t, actor="a", unit="d1", attributes={"case": "B", "level": 1}))


def test_an_action_that_fails_is_raised_not_swallowed(monkeypatch):
    def failing(self, block):
        def joined(c):
            raise RuntimeError("the action broke")
        return joined

    monkeypatch.setattr(durable_engine.DurableEngine, "_on_join", failing)
    monitor = Monitor(RULESET, REGISTRY, engine="durable")
    t = dt.datetime(2026, 8, 3, 9, tzinfo=TZ)
    monitor.ingest(event("r", "report", t, actor="a", unit="d1", attributes={"case": "A", "level": 1}))
    with pytest.raises(ce.EngineError, match="the action broke"):
        monitor.ingest(event("k", "ack", t + dt.timedelta(hours=1), actor="a", unit="d1", attributes={"case": "A"}))


def test_events_from_several_threads_give_the_status_of_one_thread():
    t0 = dt.datetime(2026, 8, 2, 9, tzinfo=TZ)
    events = []
    for i in range(800):  # the same few cases from every thread: concurrent posts to one subject
        when = t0 + dt.timedelta(minutes=37 * i)
        kind = ("report", "ack", "done", "patrol")[i % 4]
        attributes = {"case": f"K{i % 7}"} | ({"level": 1} if kind == "report" else {})
        if kind == "patrol":
            attributes = {"mode": "field", "vessels": 2}
        events.append(event(f"e{i}", kind, when, actor="a", unit="d1", attributes=attributes))
    alone = fed(events, "durable")
    shared = Monitor(RULESET, REGISTRY, engine="durable")
    threads = [threading.Thread(target=shared.ingest_many, args=(events[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    as_of = t0 + dt.timedelta(days=25)
    assert shared.status(as_of, SINCE) == alone.status(as_of, SINCE)


def test_unknown_engines_are_refused():
    with pytest.raises(ce.UsageError, match="'python' or 'durable'"):
        Monitor(RULESET, REGISTRY, engine="drools")  # type: ignore[arg-type]


BIG = """
import datetime as dt, sys
sys.path.insert(0, {tests!r})
from test_monitor_engines import RULESET, REGISTRY, SINCE, TZ
from conftest import event
from complianceengine.monitor import Monitor
from complianceengine import durable_engine
monitor = Monitor(RULESET, REGISTRY, engine="durable")
t = dt.datetime(2026, 8, 3, 9, tzinfo=TZ)
for i in range(100_000):  # 5,000 cases, 20 reports each, none answered: 100,000 open deadlines
    monitor.ingest(event(f"r{{i}}", "report", t + dt.timedelta(seconds=i // 10), actor="a", unit="d1",
                         attributes={{"case": f"K{{i % 5000}}", "level": 1}}))
engine = monitor._engine
assert len(engine._cases["handling"]) == 5000 and len(engine._parts["handling"]) == 5
assert all(n <= durable_engine.SUBJECTS_PER_RULESET for n in engine._filled.values())
ruleset, sid = engine._case("handling", ("K1",))
assert len(engine._host.get_facts(ruleset, sid)) == 1  # the earliest of the case's 20 triggers
monitor.ingest(event("k1", "ack", t + dt.timedelta(hours=3), actor="a", unit="d1", attributes={{"case": "K1"}}))
status = monitor.status(t + dt.timedelta(hours=4), SINCE)
acked = [item for item in status.in_progress if item.finding.step == "acked"]
assert len(acked) == 100_000 and sum(item.finding.status == "met" for item in acked) == 20, len(acked)
print("ok")
"""


def test_five_thousand_cases_with_a_hundred_thousand_open_deadlines():
    """Run in a process of its own (durable-rules state is never freed; one fact per case kept)."""
    tests = str(Path(__file__).resolve().parent)
    done = subprocess.run([sys.executable, "-c", BIG.format(tests=tests)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


def test_a_restored_durable_monitor_is_the_one_that_never_stopped(tmp_path):
    t0 = dt.datetime(2026, 8, 2, 9, tzinfo=TZ)
    events = [event(f"e{i}", ("report", "ack", "done", "patrol")[i % 4], t0 + dt.timedelta(hours=7 * i), actor="a", unit="d1",
                    attributes={"mode": "field", "vessels": 3} if i % 4 == 3 else {"case": f"K{i % 3}"} | ({"level": 2} if i % 4 == 0 else {}))
              for i in range(120)]
    never = fed(events, "durable")
    first = fed(events[:70], "durable")
    first.save(tmp_path / "snapshot.json")
    first.close()
    restored = Monitor.restore(tmp_path / "snapshot.json", RULESET, REGISTRY, engine="durable")
    assert restored.engine == "durable" and restored.ingest_many(events[70:]) == []
    as_of = t0 + dt.timedelta(days=30)
    assert restored.status(as_of, SINCE) == never.status(as_of, SINCE) == fed(events, "python").status(as_of, SINCE)


def test_the_commands_take_the_engine():
    xs = Path(__file__).resolve().parent.parent / "rulesets" / "xiangshan"
    exe = Path(sys.executable).parent / "complianceengine"
    args = ["due", str(xs / "ruleset.yaml"), "--registry", str(xs / "sample" / "registry.yaml"), "--events",
            str(xs / "sample" / "events.jsonl"), "--unit", "fanxi-dock", "--as-of", "2026-10-15T12:00:00+08:00", "--format", "json"]
    outputs = [subprocess.run([str(exe), *args, "--engine", engine], capture_output=True, text=True, timeout=120) for engine in ("python", "durable")]
    assert outputs[0].stdout == outputs[1].stdout and outputs[0].stdout


# ------------------------------------------------------------------ found in review


def _with(*rules, kinds=None):
    data = RULESET.model_dump(mode="json", by_alias=True, exclude_none=True)
    obligations = [{"title": {"en": o["id"]}, "citation": {"source": "doc", "article": "1"}, **o} for o in rules]
    return Ruleset.model_validate({**data, "obligations": obligations, **({"event_kinds": kinds} if kinds else {})})


def _agree(ruleset, events, as_of):
    statuses = []
    for engine in ("python", "durable"):
        monitor = Monitor(ruleset, REGISTRY, engine=engine)
        assert monitor.ingest_many(events) == []
        statuses.append(monitor.status(as_of, SINCE))
    assert statuses[0] == statuses[1]
    assert statuses[0].findings == ce.audit(ruleset, REGISTRY, events, first_day=SINCE, last_day=as_of.date(), as_of=as_of).findings
    return statuses[0]


def test_values_durable_rules_cannot_read_exactly_are_matched_in_python():
    """Review finding: 1e-05, 1e+16, inf, a lone surrogate or an integer past 2**53 made
    durable-rules refuse the event, and the monitor retried it on every later ingest; texts were
    ordered as JSON-escaped; big integers compared as capped int64s."""
    rules = [{"id": "scored", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "period": "day", "at_least": 1,
              "match": {"kind": "patrol", "where": {"score": {"gt": 0.00001}}}},
             {"id": "ordered", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "period": "day", "at_least": 1,
              "match": {"kind": "patrol", "where": {"note": {"lt": "a "}}}},
             {"id": "big", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "period": "day", "at_least": 1,
              "match": {"kind": "patrol", "where": {"vessels": 2**63 + 5}}}]
    t = dt.datetime(2026, 8, 3, 9, tzinfo=TZ)
    values = [{"score": 3e-05}, {"score": 1e16}, {"score": float("inf")}, {"note": "a\ud800"}, {"note": "a\n"}, {"note": 'a"'},
              {"vessels": 2**63 + 6}, {"vessels": 2**63 + 5}, {"score": 1.0}]
    events = [event(f"e{i}", "patrol", t + dt.timedelta(days=i), actor="a", unit="d1", attributes=a) for i, a in enumerate(values)]
    # inf and a lone surrogate are not values an event can hold: every reader rejects them now
    # (both monitor engines and the audit alike), the rest must match as in Python
    bad = [events.pop(3), events.pop(2)]
    for engine in ("python", "durable"):
        rejects = Monitor(_with(*rules), REGISTRY, engine=engine).ingest_many(bad)
        assert [r.errors[0] for r in rejects] == ["attributes.note: the text holds a lone surrogate ('\\ud800'), which is not a character",
                                                  "attribute 'score': expected a finite number, got inf"]
    status = _agree(_with(*rules), events, t + dt.timedelta(days=12))
    met = {(f.obligation, f.period.label) for f in status.findings if f.status == "met"}
    assert ("ordered", "2026-08-07") in met and ("big", "2026-08-10") in met and ("scored", "2026-08-03") in met


def test_more_rules_than_durable_rules_takes_in_one_ruleset():
    """Review finding: 257 blocks raised an error, 513 alternatives hung the engine."""
    many = [{"id": f"d{i}", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "period": "month", "at_least": 1,
             "match": {"kind": "patrol", "where": {"vessels": i}}} for i in range(260)]
    wide = [{"id": "wide", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "period": "month", "at_least": 1,
             "match": {"kind": "patrol", "where": {"note": {"in": [f"n{i}" for i in range(600)]}}}}]
    t = dt.datetime(2026, 8, 3, 9, tzinfo=TZ)
    events = [event("e1", "patrol", t, actor="a", unit="d1", attributes={"vessels": 259, "note": "n599"})]
    for rules in (many, wide):
        engine = durable_engine.DurableEngine(_with(*rules))
        engine.add(events[0])
        assert [len(filed.all.events) for filed in engine.filed.filed][-1] == 1
    assert len(durable_engine.DurableEngine(_with(*many))._conditions) == 2  # 260 blocks: two rulesets
    assert durable_engine.DurableEngine(_with(*wide))._residual[0] is not None  # 600 values: checked in Python


def test_two_responses_sharing_a_step_match_each_get_their_answers():
    """Review finding: a step match object shared by two responses (a model_copy) gave the second
    the first's answers on the durable engine."""
    first = RULESET.obligation("handling")
    second = first.model_copy(update={"id": "handling-3", "trigger": first.trigger.model_copy(update={"where": {"level": 3}})})
    ruleset = RULESET.model_copy(update={"obligations": [first, second]})
    t = dt.datetime(2026, 8, 3, 9, tzinfo=TZ)
    events = [event("r", "report", t, actor="a", unit="d1", attributes={"case": "A", "level": 3}),
              event("k", "ack", t + dt.timedelta(hours=1), actor="a", unit="d1", attributes={"case": "A"})]
    status = _agree(ruleset, events, t + dt.timedelta(days=2))
    assert [f.status for f in status.findings if f.obligation == "handling-3" and f.step == "acked"] == ["met"]


def test_closing_twice_is_harmless_and_checks_from_two_threads_tell_each_change_once():
    t = dt.datetime(2026, 8, 3, 9, tzinfo=TZ)
    told = []
    with Monitor(RULESET, REGISTRY, engine="durable", on_change=lambda f, change: told.append((f.id, change))) as monitor:
        monitor.ingest(event("r", "report", t, actor="a", unit="d1", attributes={"case": "A", "level": 1}))
        threads = [threading.Thread(target=monitor.check, args=(t + dt.timedelta(days=5), SINCE)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        monitor.close()
    assert told and len(told) == len(set(told))
