"""Regressions for problems found in review; each test failed before its fix."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from complianceengine import RegistryError, RulesetError, audit, load_registry, load_ruleset, read_events

from conftest import XIANGSHAN, base_registry, base_ruleset, event, local
from test_cli import MINI_REGISTRY, MINI_RULESET, cli

DAILY = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1}


def run(ruleset, registry, events, first, last, as_of=local(2026, 12, 1, 0)):
    return audit(ruleset, registry, events, first_day=first, last_day=last, as_of=as_of)


def test_forever_dates_and_open_exemptions_do_not_overflow():
    registry = base_registry([{"person": "a", "role": "guard", "unit": "d1", "start": "2026-01-01", "end": "9999-12-31"}],
                             subjects=[{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-01-01"}],
                             exemptions=[{"id": "x", "subject": "r1", "start": "2026-01-01", "reason": "moved away"}])
    yearly = {"id": "v", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": "P1Y"}
    report = run(base_ruleset(DAILY, yearly), registry, [], dt.date(2026, 8, 1), dt.date(2026, 8, 1))
    assert {(f.obligation, f.status) for f in report.findings} == {("daily", "missed")}


def test_errors_inside_merged_yaml_keys_are_located(tmp_path):
    text = MINI_RULESET.replace("    applies_to: {roles: [guard]}\n", "    <<: {applies_to: {roles: [gaurd]}}\n")
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RulesetError, match=r"r\.yaml:\d+:\d+: obligations\[0\]\.applies_to\.roles\[0\]: unknown role 'gaurd'"):
        load_ruleset(tmp_path / "r.yaml")


def test_non_utf8_yaml_is_a_located_error(tmp_path):
    (tmp_path / "reg.yaml").write_bytes(MINI_REGISTRY.replace("name: A", "name: 张三").encode("gbk"))
    (tmp_path / "r.yaml").write_text(MINI_RULESET, encoding="utf-8")
    with pytest.raises(RegistryError, match="not UTF-8 text"):
        load_registry(tmp_path / "reg.yaml", load_ruleset(tmp_path / "r.yaml"))


def test_participants_that_are_not_a_list_are_rejected(tmp_path):
    ruleset = load_ruleset(XIANGSHAN / "ruleset.yaml")
    line = json.dumps({"id": "x", "kind": "patrol", "time": "2026-08-01T10:00:00", "actor": "p-yu-hong", "participants": 5,
                       "unit": "dongmen-north", "attributes": {"mode": "field"}})
    (tmp_path / "e.jsonl").write_text(line + "\n", encoding="utf-8")
    log = read_events(tmp_path / "e.jsonl", ruleset)
    assert not log.events and "participants must be a list" in log.rejects[0].errors[0]


def test_exemption_ending_before_it_starts_is_rejected(tmp_path):
    ruleset = load_ruleset(XIANGSHAN / "ruleset.yaml")
    line = json.dumps({"id": "L", "kind": "leave", "time": "2026-08-02T00:00:00", "actor": "p-yu-hong", "attributes": {"until": "2026-07-04T00:00:00"}})
    (tmp_path / "e.jsonl").write_text(line + "\n", encoding="utf-8")
    log = read_events(tmp_path / "e.jsonl", ruleset)
    assert not log.events and "must be after the event time" in log.rejects[0].errors[0]


def test_unwritable_output_exits_two(tmp_path):
    from test_cli import sample_args

    result = cli("audit", *sample_args("xiangshan"), "--output", str(tmp_path / "missing" / "r.md"), "--fail-on", "none")
    assert result.returncode == 2 and "cannot write" in result.stderr and "Traceback" not in result.stderr


def test_distinct_within_ignores_events_outside_the_duty():
    rule = {**DAILY, "distinct_within": "PT1H"}
    events = [event("e0", "patrol", local(2026, 7, 31, 23, 50), actor="a", unit="d1"), event("e1", "patrol", local(2026, 8, 1, 0, 5), actor="a", unit="d1")]
    # the post was taken on 1 August: the patrol of 31 July, before the duty, cannot swallow e1
    registry = base_registry([{"person": "a", "role": "guard", "unit": "d1", "start": "2026-08-01"}])
    report = run(base_ruleset(rule), registry, events, dt.date(2026, 8, 1), dt.date(2026, 8, 1))
    assert [(f.status, f.evidence) for f in report.findings if f.subject.id == "a"] == [("met", ("e1",))]
    # in force since January, e0 is a patrol of the duty: e1 is too close to it, whatever the
    # audit's range (the audit of 1 August alone and that of 31 July to 1 August agree)
    for first in (dt.date(2026, 8, 1), dt.date(2026, 7, 31)):
        report = run(base_ruleset(rule), base_registry(), events, first, dt.date(2026, 8, 1))
        assert [(f.period.label, f.status) for f in report.findings if f.subject.id == "a"][-1] == ("2026-08-01", "missed")


def test_cadence_window_deadline_at_the_window_end_is_outside_it():
    calendars = {"c": {"label": {"en": "c"}, "windows": [{"start": "2026-10-01", "end": "2026-10-15"}]}}
    cadence = {"id": "v", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": "P1M",
               "during": [{"calendar": "c", "max_gap": "P14D"}]}
    registry = base_registry(subjects=[{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-09-01"}])
    events = [event("v1", "visit", local(2026, 9, 20), subject="r1"), event("v2", "visit", local(2026, 10, 2, 0), subject="r1"),
              event("v3", "visit", local(2026, 10, 20), subject="r1")]
    report = run(base_ruleset(cadence, calendars=calendars), registry, events, dt.date(2026, 9, 1), dt.date(2026, 10, 31))
    assert [f.status for f in report.findings if f.evidence] == ["met", "met", "met"]
    assert report.findings[2].due == local(2026, 11, 2, 0)


def test_a_calendar_with_two_windows_is_named_once():
    calendars = {"hol": {"label": {"en": "hol"}, "windows": [{"start": "2026-08-01", "end": "2026-08-10"}, {"start": "2026-08-12", "end": "2026-08-22"}]}}
    monthly = {**DAILY, "period": "month", "excused_in": ["hol"]}
    report = run(base_ruleset(monthly, calendars=calendars), base_registry(), [], dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    assert report.findings[0].excused_by == ("calendar:hol",)


def test_days_start_at_local_midnight_after_a_midnight_dst_jump():
    from complianceengine.timeframes import date_range, periods

    days = list(periods("day", date_range(dt.date(2026, 9, 5), dt.date(2026, 9, 8), "America/Santiago"), "America/Santiago"))
    assert [p.start.hour for p in days[1:]] == [1, 0, 0]  # 6 September has no 00:00 there
    assert days[-1].end == date_range(dt.date(2026, 9, 5), dt.date(2026, 9, 8), "America/Santiago").end


def test_an_impossible_date_in_a_ruleset_is_located_not_a_traceback(tmp_path):
    """Found by tests/test_mutations.py: ruamel raised a bare ValueError for 2026-13-01."""
    from complianceengine import RulesetError, load_ruleset

    path = tmp_path / "ruleset.yaml"
    path.write_text("id: x\nversion: '1'\nissued: 2026-13-01\n", encoding="utf-8")
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path)
    [problem] = caught.value.problems
    assert (problem.location.line, problem.location.column) == (3, 9) and "'2026-13-01' is not a valid date" in problem.message


def test_a_duty_that_starts_mid_week_does_not_warn_of_a_short_history():
    """Review note: the warning that verdicts look back before the earliest event counted from
    the period's start, though events before the duty's start (a Wednesday) count for nothing."""
    ruleset = base_ruleset({"id": "weekly", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"},
                            "period": "week", "at_least": 1})
    registry = base_registry([{"person": "a", "role": "guard", "unit": "d1", "start": "2026-08-05"},
                              {"person": "b", "role": "guard", "unit": "d2", "start": "2026-08-03"}])
    events = [event("p1", "patrol", local(2026, 8, 5, 9), actor="a", unit="d1")]
    args = dict(first_day=dt.date(2026, 8, 5), last_day=dt.date(2026, 8, 31), as_of=local(2026, 9, 1, 0))
    assert audit(ruleset, base_registry([{"person": "a", "role": "guard", "unit": "d1", "start": "2026-08-05"}]), events, **args).warnings == ()
    # b's duty began on Monday the 3rd, before the first event: that verdict does look back
    assert [w.split(";")[0] for w in audit(ruleset, registry, events, **args).warnings] == [
        "weekly: 1 verdict(s) look back to 2026-08-03 00:00, before the earliest event given (2026-08-05 09:00)"]


def test_the_earliest_event_time_is_the_earliest_instant_in_a_repeated_dst_hour():
    """The look-back warning's earliest event: fixed-offset times compared as datetimes (fast),
    the others by instant, so two times in Berlin's repeated hour are not taken by wall clock."""
    from hypothesis import given, settings, strategies as st
    import pendulum

    from complianceengine.evaluate import _earliest_time

    berlin = pendulum.timezone("Europe/Berlin")
    first = dt.datetime(2026, 10, 25, 2, 30, tzinfo=berlin)  # summer time: 00:30 UTC
    later = dt.datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=berlin)  # winter time: 01:10 UTC, earlier on the wall
    fixed = pendulum.parse("2026-10-25T09:00:00+08:00")  # 01:00 UTC
    assert _earliest_time([later, fixed, first]) is first
    assert _earliest_time([]) is None

    zones = st.sampled_from([berlin, pendulum.UTC, pendulum.timezone("Asia/Shanghai"), dt.timezone(dt.timedelta(hours=8)),
                             pendulum.FixedTimezone(-5 * 3600)])
    moments = st.builds(lambda naive, fold, zone: naive.replace(fold=fold, tzinfo=zone),
                        st.datetimes(dt.datetime(2026, 10, 24, 22), dt.datetime(2026, 10, 25, 4)), st.integers(0, 1), zones)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(moments, max_size=8))
    def agrees(times):
        found = _earliest_time(times)
        assert (found is None) == (not times)
        if times:
            assert found.timestamp() == min(t.timestamp() for t in times)

    agrees()


def test_an_exemption_at_an_offset_of_a_day_is_a_reject_not_a_crash(tmp_path):
    """Found by the screen's fuzz test: pendulum reads ``+24:00``, but such a time cannot be
    compared, and the check that an exemption ends after it began raised instead of letting the
    line be rejected for its time."""
    ruleset = load_ruleset(XIANGSHAN / "ruleset.yaml")
    path = tmp_path / "events.jsonl"
    path.write_text('{"id": "l1", "kind": "leave", "time": "2026-10-01T09:30:00+24:00", "actor": "p-he-yan", '
                    '"attributes": {"until": "2026-10-05T00:00:00+08:00"}}\n', encoding="utf-8")
    log = read_events(path, ruleset)
    assert not log.events and [r.line for r in log.rejects] == [1]
    assert "time" in log.rejects[0].errors[0]


def test_an_event_at_the_edge_of_the_calendar_is_a_reject_not_a_crash(tmp_path):
    """From the screen's review: 0001-01-01T00:00:00+08:00 is before the first instant Python can
    tell in UTC, and an audit whose verdicts look back before the range failed on it (it was
    taken as the earliest event). Such a time is now rejected, saying why; 9999-12-31 late at a
    negative offset too."""
    ruleset = load_ruleset(XIANGSHAN / "ruleset.yaml")
    registry = load_registry(XIANGSHAN / "sample" / "registry.yaml", ruleset)
    path = tmp_path / "events.jsonl"
    sample = (XIANGSHAN / "sample" / "events.jsonl").read_text(encoding="utf-8")
    path.write_text('{"id": "v0", "kind": "visit", "time": "0001-01-01T00:00:00+08:00", "actor": "p-he-yan", "subject": "kp-001"}\n'
                    '{"id": "v1", "kind": "visit", "time": "9999-12-31T23:00:00-08:00", "actor": "p-he-yan", "subject": "kp-001"}\n'
                    '{"id": "v2", "kind": "visit", "time": "0001-01-02T00:00:00+08:00", "actor": "p-he-yan", "subject": "kp-001"}\n'
                    + sample, encoding="utf-8")
    log = read_events(path, ruleset, registry)
    assert [r.line for r in log.rejects[:2]] == [1, 2] and "edge of the calendar" in log.rejects[0].errors[0]
    assert log.events[0].id == "v2"  # a day later is a time like any other
    report = audit(ruleset, registry, log, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 10, 31),
                   as_of=dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc), notify=False)
    assert report.findings


def test_versions_of_a_ruleset_whose_exemptions_name_its_obligations_judge_their_states():
    """From the review of the finding table: in an audit of two versions, each version judges its
    states (staffing, completeness) over its own days again; that pass compiled the version cut
    down to those obligations, and a ruleset whose exemption kinds name the others (Zhongshan's
    typhoon suspension) failed to compile. Now it completes: the verdicts decided in time are
    those of one version, the states are judged once per version."""
    from complianceengine.model import Effective

    from test_explain import load_sample

    ruleset, registry, events, args = load_sample("zhongshan")
    cut = dt.date(2026, 8, 20)
    first = ruleset.model_copy(update={"version": "a", "effective": Effective.model_validate({"from": "2020-01-01", "until": str(cut)})})
    second = ruleset.model_copy(update={"version": "b", "effective": Effective.model_validate({"from": str(cut + dt.timedelta(days=1))})})
    both = audit([first, second], registry, events, **args, notify=False)
    single = audit(ruleset, registry, events, **args, notify=False)
    decided = sorted((f for f in single.findings if f.decided is not None), key=lambda f: f.id)
    assert sorted((f for f in both.findings if f.decided is not None), key=lambda f: f.id) == decided
    states = [f for f in both.findings if f.decided is None]
    ends = {f.period.end.date() for f in states}  # each version's days (a shortfall may end earlier)
    assert {cut + dt.timedelta(days=1), args["last_day"] + dt.timedelta(days=1)} <= ends and max(ends) == args["last_day"] + dt.timedelta(days=1)
    assert [v.version for v in both.versions] == ["a", "b"]
