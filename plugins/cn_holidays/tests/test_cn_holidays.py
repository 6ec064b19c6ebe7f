import datetime as dt
import sys
from pathlib import Path

import complianceengine_cn_holidays as holidays
import pytest

import complianceengine as ce

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
from conftest import base_registry, base_ruleset, local  # noqa: E402


def ruleset(obligation, kind="holidays"):
    base = base_ruleset(obligation).model_dump(by_alias=True, exclude_none=True)
    base["calendars"] = {"holidays": {"label": {"en": "holidays"}, "provider": "cn-holidays", "options": {"kind": kind}}}
    return ce.Ruleset.model_validate(base)


DAILY = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day",
         "at_least": 1}


def test_national_day_excuses_daily_patrols():
    report = ce.audit(ruleset({**DAILY, "excused_in": ["holidays"]}), base_registry(), [], first_day=dt.date(2026, 9, 30),
                      last_day=dt.date(2026, 10, 8), as_of=local(2026, 11, 1, 0), plugins=ce.Plugins([holidays]))
    statuses = [f.status for f in report.findings if f.subject.id == "a"]
    assert statuses == ["missed"] + ["excused"] * 7 + ["missed"]


def test_adjusted_working_days_raise_a_weekday_only_duty():
    # two patrols on the make-up working days, one otherwise
    raised = {**DAILY, "during": [{"calendar": "holidays", "at_least": 2}]}
    report = ce.audit(ruleset(raised, "workdays"), base_registry(), [], first_day=dt.date(2026, 10, 9), last_day=dt.date(2026, 10, 11),
                      as_of=local(2026, 11, 1, 0), plugins=ce.Plugins([holidays]))
    required = {f.period.label: f.required_count for f in report.findings if f.subject.id == "a"}
    assert required == {"2026-10-09": 1, "2026-10-10": 2, "2026-10-11": 1}


def test_entry_point_is_installed_and_unknown_years_fail_loudly():
    assert "cn_holidays" in dict(ce.Plugins(entry_points=True).describe())
    assert len(holidays.days("holidays", dt.date(2026, 1, 1), dt.date(2026, 12, 31))) == 7
    with pytest.raises(ce.PluginError, match="no holiday arrangement known for 2030"):
        ce.audit(ruleset({**DAILY, "excused_in": ["holidays"]}), base_registry(), [], first_day=dt.date(2030, 1, 1),
                 last_day=dt.date(2030, 1, 2), as_of=local(2030, 2, 1, 0), plugins=ce.Plugins([holidays]))
