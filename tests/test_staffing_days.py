"""Staffing is planned per stretch of days between roster changes: the same runs as checking
every day (the obviously correct way), on random rosters."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from complianceengine import audit

from conftest import base_registry, base_ruleset, local

FIRST, LAST = dt.date(2026, 8, 1), dt.date(2026, 9, 30)
STAFFING = {"id": "staff", "kind": "staffing", "applies_to": {"unit_kind": "dock"}, "require": {"guard": 2}}


@st.composite
def rosters(draw):
    out = []
    for _ in range(draw(st.integers(0, 8))):
        start = FIRST + dt.timedelta(days=draw(st.integers(-20, 70)))
        end = None if draw(st.booleans()) else start + dt.timedelta(days=draw(st.integers(0, 40)))
        out.append({"person": draw(st.sampled_from("abc")), "role": "guard", "unit": draw(st.sampled_from(["d1", "d2"])),
                    "start": start.isoformat(), **({"end": end.isoformat()} if end else {})})
    return out


def daily(assignments, unit):
    """(first, last, present) runs of short days, one day at a time."""
    runs = []
    day = FIRST
    while day <= LAST:
        present = tuple(sorted({a["person"] for a in assignments if a["unit"] == unit and dt.date.fromisoformat(a["start"]) <= day
                                and ("end" not in a or day <= dt.date.fromisoformat(a["end"]))}))
        if len(present) < 2:
            if runs and runs[-1][1] == day - dt.timedelta(days=1) and runs[-1][2] == present:
                runs[-1] = (runs[-1][0], day, present)
            else:
                runs.append((day, day, present))
        day += dt.timedelta(days=1)
    return runs


@settings(max_examples=100, deadline=None)
@given(rosters())
def test_runs_of_short_days_are_those_of_a_day_by_day_check(assignments):
    report = audit(base_ruleset(STAFFING), base_registry(assignments), [], first_day=FIRST, last_day=LAST, as_of=local(2026, 10, 1, 0))
    for unit in ("d1", "d2"):
        found = [f for f in report.findings if f.unit == unit and f.status != "met"]
        got = [(local_day(f.period.start), local_day(f.period.end) - dt.timedelta(days=1), f.observed) for f in found]
        want = [(a, b, f"{len(p)} ({', '.join(p) or 'vacant'})") for a, b, p in daily(assignments, unit)]
        assert got == want


def local_day(instant):
    return instant.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
