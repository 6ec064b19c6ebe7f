"""The plan is data: it round-trips through JSON and evaluates to the same findings; kinds are
units on one protocol, built in or from a plugin."""

from __future__ import annotations

import datetime as dt
import inspect
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complianceengine import ObligationKind, Plugins, audit, hookimpl
from complianceengine.compile import compile_plan
from complianceengine.evaluate import evaluate
from complianceengine.plan import Plan

from conftest import base_registry, base_ruleset, event, local
from test_plugins import PER_WINDOW_YAML, PerWindow, PerWindowKind, _per_window, _write

UTC = dt.timezone.utc
START = dt.datetime(2026, 7, 25, 16, 0, tzinfo=UTC)
SECONDS = 90 * 86400
CAMPAIGN = {"campaign": {"label": {"en": "campaign"}, "windows": [{"start": "2026-08-10", "end": "2026-08-23"}]}}

RULESET = base_ruleset(
    {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day",
     "at_least": 1, "during": [{"calendar": "campaign", "at_least": 2}], "distinct_within": "PT1H"},
    {"id": "weekly", "kind": "frequency", "applies_to": {"roles": ["guard", "chief"]}, "match": {"kind": "patrol"}, "period": "week",
     "at_least": 2, "at_most": 20, "partial_periods": "any"},
    {"id": "fortnight", "kind": "frequency", "applies_to": {"unit_kind": "dock"}, "match": {"kind": "patrol", "where": {"mode": "field"}},
     "period": {"every": "P14D", "anchor": "2026-08-03T00:00:00"}, "at_least": 3},
    {"id": "visits", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": "P10D",
     "during": [{"calendar": "campaign", "max_gap": "P5D"}]},
    {"id": "ack", "kind": "response", "trigger": {"kind": "report"}, "correlate_on": ["case"],
     "steps": [{"id": "acked", "match": {"kind": "ack"}, "within": "PT24H"},
               {"id": "done", "match": {"kind": "done"}, "within": "P3D", "counted_from": "previous"}]},
    {"id": "posts", "kind": "staffing", "applies_to": {"unit_kind": "dock"}, "require": {"guard": 1}},
    {"id": "files", "kind": "completeness", "applies_to": {"subject_kind": "resident"}, "fields": ["phone"]},
    calendars=CAMPAIGN,
)
REGISTRY = base_registry(
    [
        {"person": "a", "role": "guard", "unit": "d1", "start": "2026-01-01"},
        {"person": "b", "role": "guard", "unit": "d2", "start": "2026-01-01", "end": "2026-08-20"},
        {"person": "c", "role": "chief", "unit": "t", "start": "2026-08-05"},
    ],
    subjects=[{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-01-01", "attributes": {"phone": "1"}},
              {"id": "r2", "kind": "resident", "unit": "d2", "start": "2026-08-12"}],
    exemptions=[{"id": "x1", "person": "a", "start": "2026-08-15", "end": "2026-08-18", "reason": "leave"}],
)


@st.composite
def histories(draw):
    out = []
    for i in range(draw(st.integers(0, 40))):
        when = START + dt.timedelta(seconds=draw(st.integers(0, SECONDS)))
        kind = draw(st.sampled_from(["patrol", "patrol", "visit", "report", "ack", "done"]))
        if kind == "patrol":
            out.append(event(f"e{i}", "patrol", when, actor=draw(st.sampled_from("abc")), unit=draw(st.sampled_from(["d1", "d2"])),
                             attributes={"mode": draw(st.sampled_from(["field", "online"]))}))
        elif kind == "visit":
            out.append(event(f"e{i}", "visit", when, actor="a", subject=draw(st.sampled_from(["r1", "r2"]))))
        else:
            out.append(event(f"e{i}", kind, when, unit="d1", attributes={"case": draw(st.sampled_from("AB"))}))
    return out


@settings(max_examples=40, deadline=None)
@given(
    events=histories(),
    first=st.integers(0, 40).map(lambda d: dt.date(2026, 7, 28) + dt.timedelta(days=d)),
    length=st.integers(0, 45),
    as_of_hours=st.integers(0, 100 * 24),
)
def test_the_plan_round_trips_through_json_and_judges_the_same(events, first, length, as_of_hours):
    last = first + dt.timedelta(days=length)
    as_of = START + dt.timedelta(hours=as_of_hours)
    plan = compile_plan(RULESET, REGISTRY, first, last, as_of)
    text = plan.to_json()
    restored = Plan.from_json(text)
    assert restored.to_json() == text
    assert evaluate(restored, events) == evaluate(plan, events)


def test_the_plan_is_data_with_frames_worked_out_once():
    plan = compile_plan(RULESET, REGISTRY, dt.date(2026, 8, 1), dt.date(2026, 8, 31), local(2026, 9, 1, 0))
    data = json.loads(plan.to_json())
    daily = next(o for o in data["obligations"] if o["obligation"]["id"] == "daily")
    # a guard's day inside the campaign is one frame under the raised requirement
    in_campaign = [f for f in daily["frames"] if f["period"]["label"] == "2026-08-12" and f["target"] == 0]
    assert [(f["window"], f["at_least"], f["required"]) for f in in_campaign] == [("campaign", 2, 2)]
    posts = next(o for o in data["obligations"] if o["obligation"]["id"] == "posts")
    assert [(s["first"], s["last"], s["present"]) for s in posts["shortfalls"]] == [("2026-08-21", "2026-08-31", [])]


#: a toy kind as one module (the plugins test's per-window kind): a plugin offers its KIND, or
#: the module is dropped into kinds/
TOY_KIND = "\n\n".join([
    "from __future__ import annotations\n\nfrom typing import Literal\n\nfrom complianceengine.kinds.base import ObligationKind\n"
    "from complianceengine.model import AppliesTo, EventMatch, ObligationBase\nfrom complianceengine.timeframes import Period",
    inspect.getsource(PerWindow), inspect.getsource(_per_window), "KIND = ObligationKind(model=PerWindow, judge=_per_window)\n",
])

#: audits the per-window ruleset (argv[1]) and prints its findings as JSON
TOY_AUDIT = """\
import datetime as dt, json, sys
from complianceengine import Plugins, audit, load_ruleset
from conftest import base_registry, event, local
plugins = Plugins(entry_points=False)
if len(sys.argv) > 2:  # the toy kind offered by a plugin
    import importlib.util
    from complianceengine import hookimpl
    spec = importlib.util.spec_from_file_location("toy_kind", sys.argv[2])
    toy = sys.modules["toy_kind"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(toy)
    class Toy:
        @hookimpl
        def complianceengine_obligation_kinds(self):
            return {"per_window": toy.KIND}
    plugins = Plugins([Toy()], entry_points=False)
import complianceengine.kinds
print(json.dumps({"builtin": sorted(complianceengine.kinds.BUILTIN), "provider": plugins.obligation_kinds()["per_window"][0]}))
report = audit(load_ruleset(sys.argv[1], plugins), base_registry(), [event("e1", "patrol", local(2026, 8, 3, 10), actor="a", unit="d1")],
               first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 31), as_of=local(2026, 9, 1, 0), plugins=plugins)
print(json.dumps([f.model_dump(mode="json") for f in report.findings]))
"""


def test_a_kind_gives_the_same_findings_as_a_plugin_and_as_a_built_in_module(tmp_path):
    """Adding a kind is adding one file: the same module, offered by a plugin or dropped into a
    copy of the package's kinds/, validates the same obligations and gives the same findings."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import complianceengine

    ruleset = _write(tmp_path, PER_WINDOW_YAML.replace("{AT_LEAST}", "1"))
    (tmp_path / "toy_kind.py").write_text(TOY_KIND, encoding="utf-8")
    (tmp_path / "audit_toy.py").write_text(TOY_AUDIT, encoding="utf-8")
    package = tmp_path / "src" / "complianceengine"
    shutil.copytree(Path(complianceengine.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "kinds" / "per_window.py").write_text(TOY_KIND, encoding="utf-8")

    def run(src, *args):
        env = {"PYTHONPATH": f"{src}:{Path(__file__).parent}", "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run([sys.executable, str(tmp_path / "audit_toy.py"), str(ruleset), *args], capture_output=True, text=True,
                              env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        kinds, findings = done.stdout.splitlines()
        return json.loads(kinds), json.loads(findings)

    installed = Path(complianceengine.__file__).parent.parent
    as_plugin_kinds, as_plugin = run(installed, str(tmp_path / "toy_kind.py"))
    as_module_kinds, as_module = run(tmp_path / "src")
    assert "per_window" not in as_plugin_kinds["builtin"] and as_plugin_kinds["provider"] != "complianceengine.builtin"
    assert "per_window" in as_module_kinds["builtin"] and as_module_kinds["provider"] == "complianceengine.builtin"
    assert as_module == as_plugin and len(as_module) == 4
    assert sorted((f["subject"]["id"], f["status"]) for f in as_module) == [("d1", "met"), ("d1", "missed"), ("d2", "missed"),
                                                                             ("d2", "missed")]


def test_a_plugin_cannot_replace_a_built_in_kind():
    from complianceengine import PluginError

    class Clash:
        @hookimpl
        def complianceengine_obligation_kinds(self):
            return {"cadence": ObligationKind(model=PerWindow, judge=_per_window)}

    with pytest.raises(PluginError, match="built in and cannot be replaced"):
        Plugins([Clash()]).obligation_kinds()


def test_a_plan_with_a_plugin_kind_round_trips_with_its_plugins(tmp_path):
    from complianceengine import UsageError, load_ruleset

    path = _write(tmp_path, PER_WINDOW_YAML.replace("{AT_LEAST}", "1"))
    plugins = Plugins([PerWindowKind()], entry_points=False)
    plan = compile_plan(load_ruleset(path, plugins), base_registry(), dt.date(2026, 8, 1), dt.date(2026, 8, 31), local(2026, 9, 1, 0),
                        plugins)
    text = plan.to_json()
    restored = Plan.from_json(text, plugins)
    assert restored.to_json() == text
    assert isinstance(restored.obligation("patrol-each-typhoon").obligation, PerWindow)
    events = [event("e1", "patrol", local(2026, 8, 3, 10), actor="a", unit="d1")]
    assert evaluate(restored, events, plugins) == evaluate(plan, events, plugins)
    with pytest.raises(UsageError, match="'per_window': pass the plugins"):
        Plan.from_json(text)
