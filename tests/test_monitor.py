"""The live monitor (python engine): its status is the batch audit's, whatever the order events
arrive in; what is in progress, due, overdue and at risk; notifications once; snapshots; the
``due`` and ``watch`` commands."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import complianceengine as ce
from complianceengine.monitor import Monitor

from conftest import ROOT, event
from test_tiling import REGISTRY, RULESET, histories

TZ = dt.timezone(dt.timedelta(hours=8))
EXE = Path(sys.executable).parent / "complianceengine"
XS = ROOT / "rulesets" / "xiangshan"


@pytest.fixture(scope="module")
def sample():
    ruleset = ce.load_ruleset(XS / "ruleset.yaml")
    registry = ce.load_registry(XS / "sample" / "registry.yaml", ruleset)
    log = ce.read_events([XS / "sample" / "events.jsonl"], ruleset, registry)
    return ruleset, registry, log


def fed(ruleset, registry, events) -> Monitor:
    monitor = Monitor(ruleset, registry)
    assert monitor.ingest_many(events) == []
    return monitor


@pytest.mark.parametrize("as_of", [dt.datetime(2026, 9, 20, 8, 30, tzinfo=TZ), dt.datetime(2026, 10, 15, 20, tzinfo=TZ)])
def test_the_status_is_the_batch_audit_and_what_is_in_progress(sample, as_of):
    ruleset, registry, log = sample
    monitor = fed(ruleset, registry, log.events)
    status = monitor.status(as_of, since=dt.date(2026, 8, 1))
    batch = ce.audit(ruleset, registry, log, first_day=dt.date(2026, 8, 1), last_day=as_of.date(), as_of=as_of)
    assert status.findings == batch.findings
    assert status.in_progress
    for item in status.in_progress:
        assert item.finding.period.start <= as_of < item.deadline
        assert item.finding.status in ("open", "met")
        if item.finding.obligation_kind == "frequency":
            assert item.remaining is not None and (item.remaining == 0) == (item.finding.status == "met")
            assert item.remaining == item.finding.required_count - item.finding.observed_count or item.finding.status == "met"
    # today's daily patrols are in progress; so is the current week of the weekly duty
    kinds = {i.finding.obligation for i in status.in_progress}
    assert {"dock-staff-daily-patrol", "dock-chief-weekly-patrol"} <= kinds


@settings(max_examples=40, deadline=None)
@given(histories(max_size=30), st.randoms(use_true_random=False), st.integers(0, 90 * 24))
def test_any_arrival_order_gives_the_batch_audits_status(events, shuffler, hours):
    as_of = dt.datetime(2026, 8, 1, tzinfo=TZ) + dt.timedelta(hours=hours)
    shuffled = list(events)
    shuffler.shuffle(shuffled)
    in_order, any_order = fed(RULESET, REGISTRY, events), fed(RULESET, REGISTRY, shuffled)
    since = dt.date(2026, 8, 1)
    a, b = in_order.status(as_of, since), any_order.status(as_of, since)
    assert a == b
    batch = ce.audit(RULESET, REGISTRY, events, first_day=since, last_day=as_of.date(), as_of=as_of)
    assert a.findings == batch.findings


def test_a_late_event_re_decides_its_period_and_a_duplicate_is_ignored(sample):
    ruleset, registry, log = sample
    as_of = dt.datetime(2026, 9, 1, tzinfo=TZ)
    monitor = fed(ruleset, registry, [e for e in log.events if e.time < dt.datetime(2026, 8, 20, tzinfo=TZ)])
    missed = [f for f in monitor.status(as_of, dt.date(2026, 8, 1)).findings
              if f.obligation == "dock-staff-daily-patrol" and f.subject.id == "p-yu-hong" and f.period.label == "2026-08-15"]
    assert [f.status for f in missed] == ["missed"]
    late = event("late-1", "patrol", dt.datetime(2026, 8, 15, 10, tzinfo=TZ), actor="p-yu-hong", unit="dongmen-north",
                 attributes={"mode": "field"})
    assert monitor.ingest(late) is None
    assert monitor.ingest(late) is None  # the same again: ignored
    conflicting = monitor.ingest(late.model_copy(update={"unit": "dongmen-south"}))
    assert conflicting is not None and "already used" in conflicting.errors[0]
    again = [f for f in monitor.status(as_of, dt.date(2026, 8, 1)).findings if f.id == missed[0].id]
    assert [(f.status, f.evidence) for f in again] == [("met", ("late-1",))]
    assert len(monitor.duplicates) == 2


def test_the_checklist_and_what_is_at_risk(sample):
    ruleset, registry, log = sample
    as_of = dt.datetime(2026, 10, 15, 12, tzinfo=TZ)
    monitor = fed(ruleset, registry, [e for e in log.events if e.time <= as_of])
    risky = monitor.at_risk(as_of, dt.timedelta(hours=13))
    # someone has not patrolled today by noon: at risk, and on their checklist
    person = next(i.finding.subject.id for i in risky if i.finding.obligation == "dock-staff-daily-patrol")
    mine = monitor.due(as_of, person=person)
    assert all(i.finding.subject.id == person for i in (*mine.due, *mine.done))
    daily = [i for i in mine.due if i.finding.obligation == "dock-staff-daily-patrol"]
    assert [(i.remaining, i.deadline) for i in daily] == [(1.0, dt.datetime(2026, 10, 16, tzinfo=TZ))]
    assert daily[0].finding.id in {i.finding.id for i in risky}
    assert all(i.deadline <= as_of + dt.timedelta(hours=13) and i.finding.status != "met" for i in risky)
    assert not monitor.at_risk(as_of, dt.timedelta(hours=1))  # nothing ends before 13:00
    unit = monitor.due(as_of, unit="dongmen-north", since=dt.date(2026, 8, 1))
    # INFO-1010 was never pushed: a response step past its deadline with no answer
    assert any(f.obligation == "info-push-realtime" for f in unit.overdue)
    with pytest.raises(ce.UsageError):
        monitor.due(as_of)


def test_notifications_are_sent_once_and_survive_a_restart(sample, tmp_path):
    ruleset, registry, log = sample
    told = []
    as_of = dt.datetime(2026, 10, 15, 12, tzinfo=TZ)
    monitor = Monitor(ruleset, registry, on_change=lambda f, change: told.append((f.id, change)), at_risk_within=dt.timedelta(hours=13))
    monitor.ingest_many([e for e in log.events if e.time <= as_of])
    first = monitor.check(as_of, since=dt.date(2026, 8, 1))
    assert first and len(told) == len(first) == len(set(told))
    assert {change for _, change in told} == {"missed", "late", "at_risk"}
    assert monitor.check(as_of, since=dt.date(2026, 8, 1)) == []
    snapshot = tmp_path / "monitor.json"
    monitor.save(snapshot)
    again = Monitor.restore(snapshot, ruleset, registry, on_change=lambda f, change: told.append((f.id, change)),
                            at_risk_within=dt.timedelta(hours=13))
    assert again.events == monitor.events and again.rejects == monitor.rejects
    assert again.status(as_of, dt.date(2026, 8, 1)) == monitor.status(as_of, dt.date(2026, 8, 1))
    assert again.check(as_of, since=dt.date(2026, 8, 1)) == []
    later = as_of + dt.timedelta(days=1)
    assert {f.id for f, _ in again.check(later, since=dt.date(2026, 8, 1))} == {f.id for f, _ in monitor.check(later, since=dt.date(2026, 8, 1))}


def test_a_snapshot_is_written_atomically(sample, tmp_path, monkeypatch):
    ruleset, registry, log = sample
    monitor = fed(ruleset, registry, log.events[:10])
    snapshot = tmp_path / "monitor.json"
    monitor.save(snapshot)
    before = snapshot.read_bytes()
    monitor.ingest_many(log.events[10:20])
    monkeypatch.setattr(json, "dumps", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk gone")))
    with pytest.raises(RuntimeError):
        monitor.save(snapshot)
    assert snapshot.read_bytes() == before
    with pytest.raises(ce.UsageError, match="snapshot"):
        other = ruleset.model_copy(update={"version": "9"})
        Monitor.restore(snapshot, other, registry)


def test_two_monitors_do_not_see_each_others_events(sample):
    ruleset, registry, log = sample
    a, b = fed(ruleset, registry, log.events[:100]), fed(ruleset, registry, log.events[100:])
    assert len(a.events) == 100 and len(b.events) == len(log.events) - 100
    as_of = dt.datetime(2026, 11, 1, tzinfo=TZ)
    assert a.status(as_of, dt.date(2026, 8, 1)) != b.status(as_of, dt.date(2026, 8, 1))


def test_the_due_command(tmp_path):
    args = ["due", str(XS / "ruleset.yaml"), "--registry", str(XS / "sample" / "registry.yaml"), "--events",
            str(XS / "sample" / "events.jsonl"), "--unit", "fanxi-dock", "--as-of", "2026-10-15T12:00:00+08:00"]
    text = subprocess.run([str(EXE), *args, "--horizon", "PT13H"], capture_output=True, text=True, timeout=120)
    assert text.returncode == 1, text.stderr  # today's patrol is at risk within 13 hours
    assert "# Checklist: fanxi-dock" in text.stdout and "## Due (" in text.stdout and "at risk" in text.stdout
    data = json.loads(subprocess.run([str(EXE), *args, "--format", "json", "--horizon", "PT1H"], capture_output=True, text=True,
                                     timeout=120).stdout)
    assert data["who"] == "fanxi-dock" and data["at_risk"] == [] and {"due", "overdue", "done"} <= set(data)
    zh = subprocess.run([str(EXE), *args, "--lang", "zh"], capture_output=True, text=True, timeout=120).stdout
    assert "# 履职清单: fanxi-dock" in zh and "## 待办" in zh


def test_the_watch_command_prints_each_change_once():
    lines = (XS / "sample" / "events.jsonl").read_text(encoding="utf-8").splitlines()[:300]
    result = subprocess.run([str(EXE), "watch", str(XS / "ruleset.yaml"), "--registry", str(XS / "sample" / "registry.yaml"),
                             "--format", "json", "--batch", "50"], input="\n".join(lines) + "\n", capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    changes = [json.loads(line) for line in result.stdout.splitlines()]
    assert changes and {c["change"] for c in changes} <= {"missed", "late", "at_risk"}
    keys = [(c["finding"]["id"], c["change"]) for c in changes]
    assert len(keys) == len(set(keys))


# ------------------------------------------------------------------ found in review

DAILY_CAPPED = {"id": "p", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day",
                "at_least": 1, "at_most": 3}


def test_a_capped_duty_already_done_is_done_not_at_risk():
    from conftest import base_registry, base_ruleset

    monitor = Monitor(base_ruleset(DAILY_CAPPED), base_registry())
    monitor.ingest(event("e1", "patrol", dt.datetime(2026, 8, 1, 9, tzinfo=TZ), actor="a", unit="d1"))
    now = dt.datetime(2026, 8, 1, 20, tzinfo=TZ)
    assert [i.finding.subject.id for i in monitor.at_risk(now, dt.timedelta(hours=6))] == ["b"]
    mine = monitor.due(now, person="a")
    assert mine.due == () and [(i.finding.status, i.remaining) for i in mine.done] == [("open", 0.0)]


def test_gaps_in_progress_pushed_far_by_an_exemption_and_unit_clocks_are_in_progress():
    from conftest import base_registry, base_ruleset

    weekly = {"id": "c", "kind": "cadence", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "max_gap": "P7D"}
    registry = base_registry(exemptions=[{"id": "lv", "person": "a", "start": "2026-08-05", "end": "2026-10-05", "reason": "leave"}])
    monitor = Monitor(base_ruleset(weekly), registry)
    monitor.ingest_many([event("e1", "patrol", dt.datetime(2026, 8, 1, 9, tzinfo=TZ), actor="a", unit="d1"),
                         event("e2", "patrol", dt.datetime(2026, 8, 1, 9, tzinfo=TZ), actor="b", unit="d2")])
    now = dt.datetime(2026, 8, 6, 12, tzinfo=TZ)
    items = {i.finding.subject.id: i.deadline for i in monitor.status(now, dt.date(2026, 8, 1)).in_progress}
    assert items == {"a": dt.datetime(2026, 10, 13, tzinfo=TZ), "b": dt.datetime(2026, 8, 8, 9, tzinfo=TZ)}
    unit = {"id": "u", "kind": "cadence", "applies_to": {"unit_kind": "dock"}, "match": {"kind": "visit"}, "max_gap": "P7D"}
    monitor = Monitor(base_ruleset(unit), base_registry())
    monitor.ingest(event("x", "patrol", dt.datetime(2026, 8, 1, 9, tzinfo=TZ), actor="a", unit="d1"))
    checklist = monitor.due(dt.datetime(2026, 8, 3, 12, tzinfo=TZ), unit="d1")
    assert [(i.finding.obligation, i.deadline) for i in checklist.due] == [("u", dt.datetime(2026, 8, 8, tzinfo=TZ))]


def test_a_restored_monitor_keeps_an_event_the_new_registry_refuses_as_a_reject(tmp_path):
    from conftest import base_registry, base_ruleset

    rules = base_ruleset(DAILY_CAPPED)
    monitor = Monitor(rules, base_registry())
    monitor.ingest(event("e1", "patrol", dt.datetime(2026, 8, 1, 9, tzinfo=TZ), actor="a", unit="d1"))
    monitor.save(tmp_path / "m.json")
    without_a = base_registry([{"person": "b", "role": "guard", "unit": "d2", "start": "2026-01-01"}])
    without_a = without_a.model_copy(update={"people": [p for p in without_a.people if p.id != "a"]})
    again = Monitor.restore(tmp_path / "m.json", rules, without_a)
    assert again.events == () and len(again.rejects) == 1 and "unknown person 'a'" in again.rejects[0].errors[0]


def test_watch_judges_just_after_the_latest_event(tmp_path):
    from conftest import base_registry, base_ruleset

    ruleset_path, registry_path = tmp_path / "ruleset.json", tmp_path / "registry.json"
    ruleset_path.write_text(base_ruleset(DAILY_CAPPED).model_dump_json(by_alias=True, exclude_none=True), encoding="utf-8")
    registry_path.write_text(base_registry().model_dump_json(exclude_none=True), encoding="utf-8")
    lines = [{"id": "e1", "kind": "patrol", "time": "2026-08-01T09:00:00+08:00", "actor": "b", "unit": "d2"},
             {"id": "e2", "kind": "patrol", "time": "2026-08-01T20:00:00+08:00", "actor": "a", "unit": "d1"}]
    result = subprocess.run([str(EXE), "watch", str(ruleset_path), "--registry", str(registry_path), "--horizon", "PT6H", "--format", "json"],
                            input="".join(json.dumps(line) + "\n" for line in lines), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # a's own 20:00 patrol is known when 20:00 is judged: nothing at risk
