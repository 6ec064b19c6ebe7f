"""Measure the reference audit on scaled Xiangshan worlds against a plain-Python baseline.

    python benchmarks/bench_core.py --quick                         # 4 and 8 copies
    python benchmarks/bench_core.py --copies 701 --copies 1402      # 0.5M and 1.0M events
    python benchmarks/bench_core.py --quick --src-commit a28e7c9    # the evaluator of another commit

For each ``--copies K`` a seeded world of K copies of the Xiangshan sample county is generated
(``benchmarks/world.py``, about 713 events a copy), then three measurements run, each in its own
subprocess so that its peak RSS (VmHWM of the child on Linux, else ``ru_maxrss``) is its own:

- ``library``: ``complianceengine`` as the command line uses it (plugins from entry points, so
  the tide calendar is there): load the ruleset, load the registry, read the events, ``audit``
  every Xiangshan obligation, render the JSON report and write it, each stage timed, on the
  reference engine (``engine="reference"``: ``auto``, the default, reads these worlds' files
  with DuckDB, as ``library-duckdb`` does);
- ``library-freq``: the same with the ruleset restricted, in memory, to the three frequency
  duties ``dock-staff-daily-patrol``, ``dock-chief-weekly-patrol`` and ``grid-monthly-patrol``
  (no report: the baseline writes none);
- ``baseline``: those three duties in plain Python (standard library only): ``json.load`` of the
  registry, a dict loop over the JSONL, and per assignment in force and per local day / ISO week /
  month the count of patrols, with the rules of docs/semantics.md that the three duties use
  (periods that end in the range, judged whole; merged assignments, partial periods judged by
  majority and prorated, the campaign's weekly periods, exemptions from the registry and from
  leave / typhoon events).

``library-duckdb`` and ``library-freq-duckdb`` are the first two on the DuckDB engine (events read
with ``engine="duckdb"`` too), ``sql-baseline`` the three duties in hand-written DuckDB SQL
(DuckDB reads the registry and the JSONL itself). ``library-lead`` / ``library-lead-duckdb`` audit
``lead-timely-handling`` alone (pushed leads responded to within 24 hours and handled within 3
days) on either engine, and ``sql-lead`` is that duty in hand-written DuckDB SQL; their findings
are compared as (obligation, case, step, status). ``library-visit`` / ``library-visit-duckdb`` /
``sql-visit`` do the same for ``key-person-monthly-visit`` (a visit to each key person within a
month of the previous one, 14 days during the campaign), compared as (obligation, key person,
anchor, deadline, status).

``--only library-read`` measures reading alone (ruleset, registry, events; no audit), and
``library-read-duckdb`` the same on the DuckDB engine; ``library-read-parquet[-duckdb]`` and
``library-read-csv[-duckdb]`` read the same events as a Parquet file and as a CSV file (written
once into the world's folder); ``library-read-csv-quoted[-duckdb]`` read them as a CSV file with
every cell quoted, as some exporters write one; ``library-read-parquet-zone[-duckdb]`` and
``library-read-parquet-naive[-duckdb]`` as Parquet files whose time is in Asia/Shanghai or naive
(local), as pandas gives them; ``library-read-csv-platform[-duckdb]`` as the duty platform's CSV
export (Chinese headers, kinds by their Chinese labels, local times: the ``platform_csv`` plugin's
format, which the plugin, installed, reads).

Every finding of the three duties, as (obligation, person, role, unit, period, window, status),
is compared between the library and the baseline, and between the full and the restricted
audit. All performance figures are ratios measured in this one run; nothing is asserted.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RULESET = ROOT / "rulesets" / "xiangshan" / "ruleset.yaml"
FIRST_DAY, LAST_DAY = dt.date(2026, 8, 1), dt.date(2026, 10, 31)
AS_OF = "2026-11-01T00:00:00+08:00"
FREQ = ("dock-staff-daily-patrol", "dock-chief-weekly-patrol", "grid-monthly-patrol")
QUICK = (4, 8)
MODES = ("library", "library-freq", "baseline", "library-duckdb", "library-freq-duckdb", "sql-baseline",  # what runs by default
         "library-lead", "library-lead-duckdb", "sql-lead", "library-visit", "library-visit-duckdb", "sql-visit")
# ruleset + registry + events only, on request (--only library-read): the JSON lines, or the same
# events as a Parquet file (attributes as columns, times as instants at +08:00) on both engines
EXTRA_MODES = ("library-read", "library-read-duckdb", "library-read-parquet", "library-read-parquet-duckdb", "library-read-csv",
               "library-read-csv-duckdb", "library-read-csv-quoted", "library-read-csv-quoted-duckdb", "library-read-parquet-zone",
               "library-read-parquet-zone-duckdb", "library-read-parquet-naive", "library-read-parquet-naive-duckdb",
               "library-read-csv-platform", "library-read-csv-platform-duckdb")
BASELINES = ("baseline", "sql-baseline", "sql-lead", "sql-visit")
STATUSES = ("met", "excused", "not_applicable", "open", "late", "missed")

# --------------------------------------------------------------------------------------------
# The baseline's copy of what rulesets/xiangshan/ruleset.yaml says about the three duties.
# check_baseline_constants() compares it with the loaded ruleset before anything is measured.

TZ = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai: no daylight saving time since 1991
BASELINE_DUTIES: dict[str, dict[str, Any]] = {
    "dock-staff-daily-patrol": {"roles": ["dock_staff"], "period": "day", "at_least": 1, "during": []},
    "dock-chief-weekly-patrol": {
        "roles": ["dock_chief_authority", "dock_chief_police", "dock_chief_village", "dock_chief_operator", "inspector"],
        "period": "week", "at_least": 1, "during": [],
    },
    "grid-monthly-patrol": {
        "roles": ["grid_leader", "grid_member", "grid_instructor"], "period": "month", "at_least": 1,
        "during": [{"calendar": "special-campaign", "period": "week", "at_least": 1}],
    },
}
BASELINE_MATCH_KIND = "patrol"
BASELINE_CALENDARS = {"special-campaign": [("2026-10-01", "2026-10-15")]}  # local days, both included
BASELINE_EXCUSES = {"leave": ("actor", "until"), "typhoon_closure": ("unit", "until")}  # event kind -> (who, until attribute)


def check_baseline_constants(ruleset: Any) -> list[str]:
    """Where the baseline's constants differ from the ruleset (empty: they agree)."""
    problems = []
    for oid, want in BASELINE_DUTIES.items():
        o = ruleset.obligation(oid)
        got = {
            "roles": list(getattr(o.applies_to, "roles", [])), "period": o.period, "at_least": o.at_least,
            "during": [{"calendar": r.calendar, "period": r.period or o.period, "at_least": o.at_least if r.at_least is None else r.at_least}
                       for r in o.during],
        }
        if got != want:
            problems.append(f"{oid}: ruleset says {got}, baseline assumes {want}")
        extras = {
            "kind": o.kind, "match.kind": o.match.kinds, "match.where": o.match.where, "match.time_of_day": o.match.time_of_day,
            "match.quorum": o.match.quorum, "match.in_calendar": o.match.in_calendar, "by": o.by, "at_most": o.at_most,
            "partial_periods": o.partial_periods, "distinct_within": o.distinct_within, "excused_in": o.excused_in,
            "during.at_most": [r.at_most for r in o.during],
        }
        expected = {
            "kind": "frequency", "match.kind": [BASELINE_MATCH_KIND], "match.where": {}, "match.time_of_day": None, "match.quorum": None,
            "match.in_calendar": None, "by": None, "at_most": None, "partial_periods": "majority", "distinct_within": None,
            "excused_in": [], "during.at_most": [None for _ in o.during],
        }
        for name, value in extras.items():
            if value != expected[name]:
                problems.append(f"{oid}: {name} is {value!r}; the baseline handles only {expected[name]!r}")
    for name, windows in BASELINE_CALENDARS.items():
        got = [(w.start.isoformat(), w.end.isoformat()) for w in ruleset.calendars[name].windows]
        if got != windows:
            problems.append(f"calendar {name}: ruleset says {got}, baseline assumes {windows}")
    excuses = {k: (e.excuses.who, e.excuses.until) for k, e in ruleset.event_kinds.items() if e.excuses is not None}
    if excuses != BASELINE_EXCUSES or any(e.excuses.obligations is not None for e in ruleset.event_kinds.values() if e.excuses):
        problems.append(f"excusing event kinds: ruleset says {excuses}, baseline assumes {BASELINE_EXCUSES}")
    lead = ruleset.obligation(LEAD[0])
    got_lead = {"trigger": lead.trigger.kinds[0] if len(lead.trigger.kinds) == 1 else lead.trigger.kinds,
                "correlate_on": lead.correlate_on[0] if len(lead.correlate_on) == 1 else lead.correlate_on,
                "steps": [(step.id, step.match.kinds[0] if len(step.match.kinds) == 1 else step.match.kinds, int(step.within.total_seconds()))
                          for step in lead.steps]}
    plain_lead = (not lead.trigger.where and not lead.trigger.in_calendar and all(not st.match.where and st.counted_from == "trigger"
                                                                                  for st in lead.steps))
    if got_lead != BASELINE_LEAD or not plain_lead:
        problems.append(f"{LEAD[0]}: ruleset says {got_lead}, baseline assumes {BASELINE_LEAD} (no where, counted from the trigger)")
    visit = ruleset.obligation(VISIT[0])
    from complianceengine.model import format_duration

    got_visit = {"subject_kind": visit.applies_to.subject_kind,
                 "match": visit.match.kinds[0] if len(visit.match.kinds) == 1 else visit.match.kinds,
                 "roles": visit.by.roles if visit.by else None, "max_gap": format_duration(visit.max_gap),
                 "during": [(r.calendar, format_duration(r.max_gap)) for r in visit.during]}
    plain_visit = not visit.match.where and not visit.match.time_of_day and not visit.excused_in and visit.min_spacing is None
    if got_visit != BASELINE_VISIT or not plain_visit:
        problems.append(f"{VISIT[0]}: ruleset says {got_visit}, baseline assumes {BASELINE_VISIT} (no where, time of day, excused_in, spacing)")
    if ruleset.timezone != "Asia/Shanghai" or ruleset.week_start != "monday":
        problems.append(f"timezone {ruleset.timezone} / week_start {ruleset.week_start}: the baseline assumes Asia/Shanghai (+08:00) and monday")
    return problems


# --------------------------------------------------------------------------------------------
# Plain-Python baseline (standard library only; times are epoch seconds, intervals [start, end))

FOREVER = 10**12


def _epoch(text: str) -> int:
    t = dt.datetime.fromisoformat(text)  # Python 3.11 reads "Z" too
    if t.tzinfo is None:
        t = t.replace(tzinfo=TZ)  # naive times are local, as the library reads them
    return int(t.timestamp())


def _day(d: dt.date) -> int:
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=TZ).timestamp())


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _intersect(xs: list[tuple[int, int]], ys: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, i, j = [], 0, 0
    while i < len(xs) and j < len(ys):
        a, b = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if a < b:
            out.append((a, b))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(xs: list[tuple[int, int]], ys: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for a, b in xs:
        for c, d in ys:
            if d <= a or c >= b:
                continue
            if c > a:
                out.append((a, c))
            a = max(a, d)
            if a >= b:
                break
        if a < b:
            out.append((a, b))
    return out


def _periods(unit: str, first: dt.date, last: dt.date):
    """(label, start, end) of every local day / ISO week / month overlapping first..last."""
    if unit == "day":
        d = first
        while d <= last:
            yield d.isoformat(), _day(d), _day(d + dt.timedelta(days=1))
            d += dt.timedelta(days=1)
    elif unit == "week":
        d = first - dt.timedelta(days=first.weekday())
        while d <= last:
            year, week, _ = d.isocalendar()
            yield f"{year}-W{week:02d}", _day(d), _day(d + dt.timedelta(days=7))
            d += dt.timedelta(days=7)
    elif unit == "month":
        d = first.replace(day=1)
        while d <= last:
            following = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
            yield f"{d.year}-{d.month:02d}", _day(d), _day(following)
            d = following
    else:
        raise ValueError(unit)


def _requirements() -> tuple[dict[str, list[tuple[str, int, int]]], list[tuple[int, int]], dict[str, list[tuple[str | None, str, int, list[tuple[int, int]]]]]]:
    """What both baselines work out before any event: the periods of each unit that end in the
    range, the whole range they span, and each duty's requirements (window or None, period,
    at_least, the part of the range each is in force on)."""
    # an audit judges the periods that end in its range, whole (docs/semantics.md, "Which audit
    # reports a verdict"): it looks back to the start of the first of them
    range_start, range_end = _day(FIRST_DAY), _day(LAST_DAY + dt.timedelta(days=1))
    ending = {unit: [p for p in _periods(unit, FIRST_DAY, LAST_DAY) if range_start < p[2] <= range_end] for unit in ("day", "week", "month")}
    whole_range = [(min(p[1] for found in ending.values() for p in found), range_end)]
    windows = {name: _merge([(_day(dt.date.fromisoformat(a)), _day(dt.date.fromisoformat(b) + dt.timedelta(days=1))) for a, b in w])
               for name, w in BASELINE_CALENDARS.items()}
    requirements = {}
    for oid, duty in BASELINE_DUTIES.items():
        # each requirement with the part of the range it is in force on: the first `during` entry
        # inside its windows, the base one everywhere else
        variants: list[tuple[str | None, str, int, list[tuple[int, int]]]] = []
        claimed: list[tuple[int, int]] = []
        for raised in duty["during"]:
            inside = _subtract(_intersect(windows[raised["calendar"]], whole_range), claimed)
            variants.append((raised["calendar"], raised["period"], raised["at_least"], inside))
            claimed = _merge(claimed + _intersect(windows[raised["calendar"]], whole_range))
        variants.insert(0, (None, duty["period"], duty["at_least"], _subtract(whole_range, claimed)))
        requirements[oid] = variants
    return ending, whole_range, requirements


def baseline(world: Path, times: dict[str, float]) -> collections.Counter:
    """The findings of the three frequency duties, as a multiset of keys."""
    t0 = time.perf_counter()
    registry = json.loads((world / "registry.yaml").read_text(encoding="utf-8"))
    parent = {u["id"]: u.get("parent") for u in registry["units"]}
    holdings: dict[tuple[str, str, str], list[tuple[int, int]]] = collections.defaultdict(list)
    for a in registry["assignments"]:
        end = _day(dt.date.fromisoformat(a["end"]) + dt.timedelta(days=1)) if a.get("end") else FOREVER
        holdings[(a["person"], a["role"], a["unit"])].append((_day(dt.date.fromisoformat(a["start"])), end))
    # exemptions: (start, end, record, obligations or None) by person and by unit
    excused_person: dict[str, list] = collections.defaultdict(list)
    excused_unit: dict[str, list] = collections.defaultdict(list)
    for x in registry.get("exemptions", []):
        end = _day(dt.date.fromisoformat(x["end"]) + dt.timedelta(days=1)) if x.get("end") else FOREVER
        span = (_day(dt.date.fromisoformat(x["start"])), end, x["id"], x.get("obligations"))
        if x.get("person"):
            excused_person[x["person"]].append(span)
        elif x.get("unit"):
            excused_unit[x["unit"]].append(span)
    t1 = time.perf_counter()
    times["registry"] = t1 - t0

    as_of = _epoch(AS_OF)
    patrols: dict[str, list[tuple[int, str | None]]] = collections.defaultdict(list)  # person -> (time, unit)
    events = 0
    with (world / "events.jsonl").open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            e = json.loads(line)
            events += 1
            kind = e["kind"]
            if kind == BASELINE_MATCH_KIND:
                t = _epoch(e["time"])
                if t >= as_of:
                    continue
                unit = e.get("unit")
                for person in dict.fromkeys(p for p in (e.get("actor"), *e.get("participants", ()), e.get("on_behalf_of")) if p):
                    patrols[person].append((t, unit))
            elif kind in BASELINE_EXCUSES:
                who_field, until = BASELINE_EXCUSES[kind]
                t = _epoch(e["time"])
                who = e.get(who_field)
                end = e.get("attributes", {}).get(until)
                if t >= as_of or not isinstance(who, str) or not isinstance(end, str) or _epoch(end) <= t:
                    continue
                span = (t, _epoch(end), e["id"], None)
                (excused_person if who_field == "actor" else excused_unit)[who].append(span)
    t2 = time.perf_counter()
    times["events"] = t2 - t1
    times["events_read"] = events

    lines: dict[str, frozenset[str]] = {}  # unit -> itself and its ancestors

    def line_up(unit: str) -> frozenset[str]:
        if unit not in lines:
            chain, node = [], unit
            while node is not None:
                chain.append(node)
                node = parent.get(node)
            lines[unit] = frozenset(chain)
        return lines[unit]

    ending, whole_range, requirements = _requirements()
    found: collections.Counter = collections.Counter()
    for oid, duty in BASELINE_DUTIES.items():
        roles = set(duty["roles"])
        variants = [(w, p, n, mask, ending[p]) for w, p, n, mask in requirements[oid] if mask]
        for (person, role, unit), intervals in sorted(holdings.items()):
            if role not in roles:
                continue
            active = _intersect(_merge(intervals), whole_range)
            if not active:
                continue
            times_seen = sorted(t for t, u in patrols.get(person, ()) if (u is None or unit in line_up(u))
                                and any(a <= t < b for a, b in active))
            excusing = [x for x in excused_person.get(person, ()) if x[3] is None or oid in x[3]]
            for above in line_up(unit):
                excusing += [x for x in excused_unit.get(above, ()) if x[3] is None or oid in x[3]]
            for window, _, need, mask, periods in variants:
                for label, start, end in periods:
                    cover = _intersect(_intersect(active, [(start, end)]), mask)
                    covered = sum(b - a for a, b in cover)
                    if covered == 0:
                        continue
                    whole = end - start
                    key = (oid, person, role, unit, label, window or "")
                    if covered / whole < 0.5:  # partial_periods: majority
                        found[(*key, "not_applicable")] += 1
                        continue
                    count = sum(bisect.bisect_left(times_seen, b) - bisect.bisect_left(times_seen, a) for a, b in cover)
                    over = cover[-1][1] <= as_of
                    required = need if covered >= whole else -(-need * covered // whole)
                    if count < required and excusing:
                        used = [x for x in excusing if _intersect(cover, [(x[0], x[1])])]
                        left = sum(b - a for a, b in _subtract(cover, _merge([(x[0], x[1]) for x in excusing])))
                        if used and left / whole < 0.5:
                            found[(*key, "excused")] += 1
                            continue
                        if used:
                            required = -(-need * left // whole)
                    status = "met" if count >= required else "missed" if over else "open"
                    found[(*key, status)] += 1
    times["compute"] = time.perf_counter() - t2
    return found


# --------------------------------------------------------------------------------------------
# Hand-written DuckDB SQL baseline: the same three duties and rules as ``baseline``, the events
# and the registry read by DuckDB itself. Only what does not grow with the world is worked out in
# Python: the periods that end in the range and the part of the range each requirement is in
# force for (a handful of rows).

# the registry's units, each with the units above it, and its assignments (POSIX seconds, local
# days both included): what the frequency and the visit baselines share
SQL_REGISTRY = """
CREATE TABLE reg AS SELECT CAST(content AS JSON) AS j FROM read_text(getvariable('registry'));
CREATE TABLE units AS SELECT u ->> 'id' AS unit, u ->> 'parent' AS parent FROM (SELECT unnest(json_extract(j, '$.units[*]')) AS u FROM reg);
-- each unit with itself and every unit above it
CREATE TABLE above AS
  WITH RECURSIVE up(unit, above) AS (SELECT unit, unit FROM units
                                     UNION ALL SELECT up.unit, units.parent FROM up JOIN units ON units.unit = up.above
                                     WHERE units.parent IS NOT NULL)
  SELECT * FROM up;
CREATE TABLE holding AS
  SELECT a ->> 'person' AS person, a ->> 'role' AS role, a ->> 'unit' AS unit,
         epoch(CAST(CAST(a ->> 'start' AS DATE) AS TIMESTAMPTZ))::BIGINT AS s,
         coalesce(epoch(CAST(CAST(a ->> 'end' AS DATE) + 1 AS TIMESTAMPTZ))::BIGINT, 1000000000000) AS e
  FROM (SELECT unnest(json_extract(j, '$.assignments[*]')) AS a FROM reg);
"""
SQL_BASELINE = SQL_REGISTRY + """
-- merged per (person, role, unit): intervals that touch or overlap are one
CREATE TABLE merged AS
  WITH o AS (SELECT *, max(e) OVER (PARTITION BY person, role, unit ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
             FROM holding),
       g AS (SELECT *, sum(CASE WHEN before IS NULL OR s > before THEN 1 ELSE 0 END) OVER (PARTITION BY person, role, unit ORDER BY s) AS grp FROM o)
  SELECT person, role, unit, min(s) AS s, max(e) AS e FROM g GROUP BY person, role, unit, grp;
CREATE TABLE events AS
  SELECT row_number() OVER () AS line, id, kind, epoch_us(CAST("time" AS TIMESTAMPTZ)) // 1000000 AS t, actor, participants, on_behalf_of, unit, attributes
  FROM read_json(getvariable('events'), format = 'newline_delimited',
                 columns = {id: 'VARCHAR', kind: 'VARCHAR', "time": 'VARCHAR', actor: 'VARCHAR', participants: 'VARCHAR[]',
                            on_behalf_of: 'VARCHAR', unit: 'VARCHAR', subject: 'VARCHAR', attributes: 'JSON'});
CREATE TABLE patrol AS
  SELECT DISTINCT line, t, unit, person FROM (
    SELECT line, t, unit, unnest(list_concat([actor], coalesce(participants, []), [on_behalf_of])) AS person
    FROM events WHERE kind = 'patrol' AND t < getvariable('as_of'))
  WHERE person IS NOT NULL AND person <> '';
-- exemptions: from the registry (to one person or one unit, maybe to some obligations only) and
-- from leave / typhoon_closure events (until their `until`)
CREATE TABLE excusal AS
  SELECT x ->> 'person' AS person, x ->> 'unit' AS unit, epoch(CAST(CAST(x ->> 'start' AS DATE) AS TIMESTAMPTZ))::BIGINT AS s,
         coalesce(epoch(CAST(CAST(x ->> 'end' AS DATE) + 1 AS TIMESTAMPTZ))::BIGINT, 1000000000000) AS e,
         CAST(x -> 'obligations' AS VARCHAR[]) AS obligations
  FROM (SELECT unnest(json_extract(j, '$.exemptions[*]')) AS x FROM reg)
  UNION ALL
  SELECT CASE WHEN kind = 'leave' THEN actor END, CASE WHEN kind = 'typhoon_closure' THEN unit END, t,
         epoch_us(CAST(attributes ->> 'until' AS TIMESTAMPTZ)) // 1000000, NULL
  FROM events
  WHERE ((kind = 'leave' AND actor IS NOT NULL) OR (kind = 'typhoon_closure' AND unit IS NOT NULL)) AND t < getvariable('as_of')
    AND json_type(attributes -> 'until') = 'VARCHAR' AND epoch_us(CAST(attributes ->> 'until' AS TIMESTAMPTZ)) // 1000000 > t;
-- a duty's holdings in force in the range, in pieces: holding x requirement in force x period
CREATE TABLE piece AS
  SELECT d.oid, m.person, m.role, m.unit, v.win, p.label, p.s AS ps, p.e AS pe, v.need,
         greatest(m.s, p.s, v.s, getvariable('first')) AS s, least(m.e, p.e, v.e, getvariable('last')) AS e
  FROM merged m JOIN duty d ON d.role = m.role JOIN variant v ON v.oid = d.oid JOIN period p ON p.unit = v.period
  WHERE greatest(m.s, p.s, v.s, getvariable('first')) < least(m.e, p.e, v.e, getvariable('last'));
CREATE TABLE frame AS
  SELECT oid, person, role, unit, win, label, any_value(pe - ps) AS whole, any_value(need) AS need, sum(e - s) AS covered,
         max(e) <= getvariable('as_of') AS over
  FROM piece GROUP BY oid, person, role, unit, win, label;
CREATE TABLE counted AS
  SELECT q.oid, q.person, q.role, q.unit, q.win, q.label, count(*) AS n
  FROM piece q JOIN patrol c ON c.person = q.person AND c.t >= q.s AND c.t < q.e
  WHERE c.unit IS NULL OR EXISTS (SELECT 1 FROM above a WHERE a.unit = c.unit AND a.above = q.unit)
  GROUP BY ALL;
-- the exemptions of each holding, merged, and how much of each frame they take
CREATE TABLE spans AS
  WITH k AS (SELECT DISTINCT oid, person, role, unit FROM piece),
       x AS (SELECT k.*, x.s, x.e FROM k JOIN excusal x ON x.person = k.person
               WHERE x.obligations IS NULL OR list_contains(x.obligations, k.oid)
             UNION ALL
             SELECT k.*, x.s, x.e FROM k JOIN above a ON a.unit = k.unit JOIN excusal x ON x.unit = a.above
               WHERE x.obligations IS NULL OR list_contains(x.obligations, k.oid)),
       o AS (SELECT *, max(e) OVER (PARTITION BY oid, person, role, unit ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
             FROM x),
       g AS (SELECT *, sum(CASE WHEN before IS NULL OR s > before THEN 1 ELSE 0 END) OVER (PARTITION BY oid, person, role, unit ORDER BY s) AS grp
             FROM o)
  SELECT oid, person, role, unit, min(s) AS s, max(e) AS e FROM g GROUP BY oid, person, role, unit, grp;
CREATE TABLE taken AS
  SELECT q.oid, q.person, q.role, q.unit, q.win, q.label, sum(least(q.e, x.e) - greatest(q.s, x.s)) AS taken
  FROM piece q JOIN spans x USING (oid, person, role, unit)
  WHERE greatest(q.s, x.s) < least(q.e, x.e)
  GROUP BY ALL;
"""

SQL_VERDICTS = """
WITH f AS (
  SELECT f.*, coalesce(c.n, 0) AS n, coalesce(x.taken, 0) AS taken,
         CASE WHEN covered >= whole THEN need ELSE (need * covered + whole - 1) // whole END AS required
  FROM frame f LEFT JOIN counted c USING (oid, person, role, unit, win, label) LEFT JOIN taken x USING (oid, person, role, unit, win, label)),
j AS (
  SELECT *, CASE WHEN n < required AND taken > 0 THEN (need * (covered - taken) + whole - 1) // whole ELSE required END AS lowered FROM f)
SELECT oid, person, role, unit, label, win,
       CASE WHEN covered * 2 < whole THEN 'not_applicable'
            WHEN n < required AND taken > 0 AND (covered - taken) * 2 < whole THEN 'excused'
            WHEN n >= lowered THEN 'met' WHEN over THEN 'missed' ELSE 'open' END AS status
FROM j
"""


def sql_baseline(world: Path, times: dict[str, float], threads: int | None = None) -> collections.Counter:
    """The findings of the three frequency duties in hand-written DuckDB SQL, as a multiset of keys."""
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(":memory:", config={"threads": threads} if threads else {})
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    ending, whole_range, requirements = _requirements()
    con.execute("CREATE TABLE duty (oid VARCHAR, role VARCHAR)")
    con.execute("CREATE TABLE variant (oid VARCHAR, win VARCHAR, period VARCHAR, need BIGINT, s BIGINT, e BIGINT)")
    con.execute("CREATE TABLE period (unit VARCHAR, label VARCHAR, s BIGINT, e BIGINT)")
    for oid, duty in BASELINE_DUTIES.items():
        con.executemany("INSERT INTO duty VALUES (?, ?)", [(oid, role) for role in duty["roles"]])
        con.executemany("INSERT INTO variant VALUES (?, ?, ?, ?, ?, ?)",
                        [(oid, w or "", p, n, a, b) for w, p, n, mask in requirements[oid] for a, b in mask])
    con.executemany("INSERT INTO period VALUES (?, ?, ?, ?)", [(unit, *p) for unit, found in ending.items() for p in found])
    for name, value in (("registry", str(world / "registry.yaml")), ("events", str(world / "events.jsonl")), ("as_of", _epoch(AS_OF)),
                        ("first", whole_range[0][0]), ("last", whole_range[0][1])):
        con.execute(f"SET VARIABLE {name} = ?", [value])
    for statement in filter(str.strip, SQL_BASELINE.split(";")):
        con.execute(statement)
    times["events_read"] = con.execute("SELECT count(*) FROM events").fetchone()[0]
    found: collections.Counter = collections.Counter(tuple(row) for row in con.execute(SQL_VERDICTS).fetchall())
    con.close()
    times["compute"] = time.perf_counter() - t0  # reading, counting and judging are one query plan here
    return found


# --------------------------------------------------------------------------------------------
# The lead response in hand-written DuckDB SQL

LEAD = ("lead-timely-handling",)
#: the baseline's copy of what the ruleset says about lead-timely-handling (checked like the rest)
BASELINE_LEAD = {"trigger": "lead_pushed", "correlate_on": "info_id",
                 "steps": [("responded", "lead_response", 24 * 3600), ("handled", "lead_handled", 3 * 86400)]}

SQL_LEAD = """
CREATE TABLE events AS
  SELECT id, kind, epoch_us(CAST("time" AS TIMESTAMPTZ)) AS us, attributes ->> 'info_id' AS info_id
  FROM read_json(getvariable('events'), format = 'newline_delimited',
                 columns = {id: 'VARCHAR', kind: 'VARCHAR', "time": 'VARCHAR', actor: 'VARCHAR', participants: 'VARCHAR[]',
                            on_behalf_of: 'VARCHAR', unit: 'VARCHAR', subject: 'VARCHAR', attributes: 'JSON'});
CREATE TABLE step (step VARCHAR, kind VARCHAR, within_us BIGINT);
"""
# each pushed lead known by the end of the range is a case; each step is answered by the first
# event of its kind with the same info_id at or after the push, due `within` after the push
SQL_LEAD_VERDICTS = """
WITH known AS (SELECT * FROM events WHERE us < getvariable('as_of')),
case_ AS (SELECT id, us, info_id FROM known WHERE kind = getvariable('trigger') AND us <= getvariable('last')),
answer AS (SELECT c.id, c.info_id, s.step, c.us + s.within_us AS due,
                  (SELECT min(a.us) FROM known a WHERE a.kind = s.kind AND a.info_id = c.info_id AND a.us >= c.us AND a.id <> c.id) AS answered
           FROM case_ c CROSS JOIN step s),
judged AS (SELECT *, CASE WHEN answered IS NOT NULL AND answered <= due THEN 'met' WHEN answered IS NOT NULL THEN 'late'
                          WHEN due <= getvariable('as_of') THEN 'missed' ELSE 'open' END AS status,
                     CASE WHEN answered IS NOT NULL AND answered <= due THEN answered ELSE due END AS decided
           FROM answer)
SELECT 'lead-timely-handling', 'info_id=' || coalesce(info_id, 'None'), step, status
FROM judged WHERE decided > getvariable('first') AND decided <= getvariable('last')
"""


def sql_lead(world: Path, times: dict[str, float], threads: int | None = None) -> collections.Counter:
    """The findings of lead-timely-handling in hand-written DuckDB SQL, as a multiset of keys."""
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(":memory:", config={"threads": threads} if threads else {})
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    first = dt.datetime.combine(FIRST_DAY, dt.time(), TZ)
    last = dt.datetime.combine(LAST_DAY + dt.timedelta(days=1), dt.time(), TZ)
    us = lambda moment: int(moment.timestamp()) * 1_000_000  # noqa: E731 (whole seconds)
    for name, value in (("events", str(world / "events.jsonl")), ("as_of", us(dt.datetime.fromisoformat(AS_OF))), ("first", us(first)),
                        ("last", us(last)), ("trigger", BASELINE_LEAD["trigger"])):
        con.execute(f"SET VARIABLE {name} = ?", [value])
    for statement in filter(str.strip, SQL_LEAD.split(";")):
        con.execute(statement)
    con.executemany("INSERT INTO step VALUES (?, ?, ?)", [(s, k, w * 1_000_000) for s, k, w in BASELINE_LEAD["steps"]])
    times["events_read"] = con.execute("SELECT count(*) FROM events").fetchone()[0]
    found: collections.Counter = collections.Counter(tuple(row) for row in con.execute(SQL_LEAD_VERDICTS).fetchall())
    con.close()
    times["compute"] = time.perf_counter() - t0
    return found


# --------------------------------------------------------------------------------------------
# The key persons' visit gap in hand-written DuckDB SQL

VISIT = ("key-person-monthly-visit",)
#: the baseline's copy of what the ruleset says about key-person-monthly-visit (checked like the rest)
BASELINE_VISIT = {"subject_kind": "key_person", "match": "visit", "roles": ["village_police", "inspector"], "max_gap": "P1M",
                  "during": [("special-campaign", "P14D")]}

SQL_VISIT = SQL_REGISTRY + """
CREATE TABLE kp AS
  SELECT s ->> 'id' AS subject, s ->> 'unit' AS unit, CAST(CAST(s ->> 'start' AS DATE) AS TIMESTAMPTZ) AS s0,
         CAST(CAST(s ->> 'end' AS DATE) + 1 AS TIMESTAMPTZ) AS s1
  FROM (SELECT unnest(json_extract(j, '$.subjects[*]')) AS s FROM reg) WHERE s ->> 'kind' = getvariable('subject_kind');
CREATE TABLE events AS
  SELECT id, kind, CAST("time" AS TIMESTAMPTZ) AS t, subject, list_concat([actor], coalesce(participants, []), [on_behalf_of]) AS people
  FROM read_json(getvariable('events'), format = 'newline_delimited',
                 columns = {id: 'VARCHAR', kind: 'VARCHAR', "time": 'VARCHAR', actor: 'VARCHAR', participants: 'VARCHAR[]',
                            on_behalf_of: 'VARCHAR', unit: 'VARCHAR', subject: 'VARCHAR', attributes: 'JSON'});
-- where a supervising role may act for a unit: the unit, the units above it and those below it
CREATE TABLE near AS SELECT unit, above AS other FROM above UNION SELECT above, unit FROM above;
-- the visits that count: to a key person while under supervision, before the as-of time, by
-- someone (actor, participant, principal) holding one of the roles near the person's unit then
CREATE TABLE counted AS
  SELECT DISTINCT k.subject, v.t, v.id
  FROM (SELECT id, t, subject, unnest(people) AS person FROM events WHERE kind = getvariable('kind')) v
  JOIN kp k ON k.subject = v.subject
  JOIN holding h ON h.person = v.person AND list_contains(getvariable('roles'), h.role)
  JOIN near n ON n.unit = k.unit AND n.other = h.unit
  WHERE v.t < getvariable('as_of') AND v.t >= k.s0 AND (k.s1 IS NULL OR v.t < k.s1) AND epoch(v.t) >= h.s AND epoch(v.t) < h.e;
-- every gap: from the start of supervision or the previous visit to the next visit, and the last
-- one, still running (closed NULL)
CREATE TABLE gap AS
  SELECT c.subject, k.s1, coalesce(lag(c.t) OVER (PARTITION BY c.subject ORDER BY c.t, c.id), k.s0) AS anchor, c.t AS closed
  FROM counted c JOIN kp k USING (subject)
  UNION ALL
  SELECT k.subject, k.s1, coalesce(max(c.t), k.s0), NULL FROM kp k LEFT JOIN counted c USING (subject) GROUP BY k.subject, k.s1, k.s0;
"""
# the deadline: a month after the anchor (local calendar), or 14 days after the later of the
# anchor and the campaign's start when that still falls inside the campaign; a verdict decided at
# local midnight belongs to the day before (as the library's and the lead baseline's do), keys in
# whole seconds floored (as the library's int(timestamp()))
SQL_VISIT_VERDICTS = """
WITH d AS (
  SELECT *, least(anchor + getvariable('gap'),
                  CASE WHEN greatest(anchor, getvariable('ws')) + getvariable('raised') < getvariable('we')
                       THEN greatest(anchor, getvariable('ws')) + getvariable('raised') END) AS due
  FROM gap),
judged AS (
  SELECT *, CASE WHEN closed IS NOT NULL AND closed <= due THEN 'met' WHEN closed IS NOT NULL THEN 'missed'
                 WHEN due <= getvariable('as_of') THEN 'missed' ELSE 'open' END AS status,
            CASE WHEN closed IS NOT NULL AND closed <= due THEN closed ELSE due END AS decided
  FROM d WHERE closed IS NOT NULL OR s1 IS NULL OR due < s1)
SELECT 'key-person-monthly-visit', subject, floor(epoch(anchor))::BIGINT, floor(epoch(due))::BIGINT, status
FROM judged WHERE decided > getvariable('first') AND decided <= getvariable('last')
"""


def sql_visit(world: Path, times: dict[str, float], threads: int | None = None) -> collections.Counter:
    """The findings of key-person-monthly-visit in hand-written DuckDB SQL, as a multiset of keys
    (obligation, subject, anchor and deadline in POSIX seconds, status). No exemption reaches a
    key person in these worlds (the agreement with the library says so)."""
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(":memory:", config={"threads": threads} if threads else {})
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    (calendar, raised), = BASELINE_VISIT["during"]
    (ws, we), = BASELINE_CALENDARS[calendar]
    local = lambda day: dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), TZ)  # noqa: E731
    for name, value in (("registry", str(world / "registry.yaml")), ("events", str(world / "events.jsonl")),
                        ("as_of", dt.datetime.fromisoformat(AS_OF)), ("first", local(FIRST_DAY.isoformat())),
                        ("last", local((LAST_DAY + dt.timedelta(days=1)).isoformat())), ("subject_kind", BASELINE_VISIT["subject_kind"]),
                        ("kind", BASELINE_VISIT["match"]), ("roles", BASELINE_VISIT["roles"]), ("ws", local(ws)),
                        ("we", local((dt.date.fromisoformat(we) + dt.timedelta(days=1)).isoformat()))):
        con.execute(f"SET VARIABLE {name} = ?", [value])
    con.execute(f"SET VARIABLE gap = INTERVAL '{_months(BASELINE_VISIT['max_gap'])} months'")
    con.execute(f"SET VARIABLE raised = INTERVAL '{raised[1:-1]} days'")
    for statement in filter(str.strip, SQL_VISIT.split(";")):
        con.execute(statement)
    times["events_read"] = con.execute("SELECT count(*) FROM events").fetchone()[0]
    found: collections.Counter = collections.Counter(tuple(row) for row in con.execute(SQL_VISIT_VERDICTS).fetchall())
    con.close()
    times["compute"] = time.perf_counter() - t0
    return found


def _months(duration: str) -> int:
    """The months of an ISO duration of whole months (P1M -> 1)."""
    assert duration.startswith("P") and duration.endswith("M") and "T" not in duration, duration
    return int(duration[1:-1])


# --------------------------------------------------------------------------------------------
# Child processes: one measurement each


def _peak_mb() -> float:
    """Peak RSS of this process so far, in MB. On Linux VmHWM of /proc/self/status: ru_maxrss is
    carried across execve, so a child started by a big parent would report the parent's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB elsewhere


def _write_keys(found: collections.Counter, path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for key, n in sorted(found.items()):
            for _ in range(n):
                f.write("\t".join("" if v is None else str(v) for v in key) + "\n")


def child(mode: str, world: Path, out: Path, ruleset_path: Path) -> None:
    times: dict[str, Any] = {}
    result: dict[str, Any] = {"mode": mode, "times": times}
    if mode in BASELINES:
        times["startup"] = 0.0
        result["startup_rss_mb"] = _peak_mb()
        found = {"baseline": baseline, "sql-baseline": sql_baseline, "sql-lead": sql_lead, "sql-visit": sql_visit}[mode](world, times)
        result["events"] = times.pop("events_read")
        result["peak_rss_mb"] = _peak_mb()
        _write_keys(found, out.with_suffix(".keys"))
        result["freq_counts"] = _counts(found, _group(mode))
        out.write_text(json.dumps(result), encoding="utf-8")
        return

    peaks: dict[str, float] = {}
    result["peak_after"] = peaks  # running peak RSS (MB) after each stage

    def done(stage: str, started: float) -> None:
        times[stage] = time.perf_counter() - started
        peaks[stage] = _peak_mb()

    t = time.perf_counter()
    import complianceengine as ce

    plugins = ce.Plugins(entry_points=True)  # what the command line does without --no-entry-points
    done("startup", t)
    result["startup_rss_mb"] = peaks["startup"]
    result["complianceengine"] = str(Path(ce.__file__).parent)
    result["plugins"] = [name for name, _ in plugins.describe()]

    t = time.perf_counter()
    ruleset = ce.load_ruleset(ruleset_path, plugins)
    if mode.startswith("library-freq"):
        ruleset = ruleset.model_copy(update={"obligations": [o for o in ruleset.obligations if o.id in FREQ]})
    elif mode.startswith(("library-lead", "library-visit")):
        ruleset = ruleset.model_copy(update={"obligations": [o for o in ruleset.obligations if o.id in _group(mode)]})
    done("ruleset", t)

    t = time.perf_counter()
    registry = ce.load_registry(world / "registry.yaml", ruleset)
    done("registry", t)

    t = time.perf_counter()
    # each engine named (``auto``, the default, picks DuckDB for these files since 2026-11-27)
    engine = {"engine": "duckdb" if mode.endswith("-duckdb") else "reference"}
    events = world / ("events-zone.parquet" if mode.startswith("library-read-parquet-zone") else "events-naive.parquet"
                      if mode.startswith("library-read-parquet-naive") else "events.parquet" if mode.startswith("library-read-parquet")
                      else "events-quoted.csv" if mode.startswith("library-read-csv-quoted")
                      else "events-platform.csv" if mode.startswith("library-read-csv-platform")
                      else "events.csv" if mode.startswith("library-read-csv") else "events.jsonl")
    try:  # the DuckDB engine reads the events too (screened JSON lines, kept as a table)
        log = ce.read_events(events, ruleset, registry, plugins, **engine)
    except TypeError:  # code from before read_events had an engine (--src-commit)
        log = ce.read_events(events, ruleset, registry, plugins)
        engine = {}
    done("events", t)

    if mode.startswith("library-read"):
        result.update(peak_rss_mb=_peak_mb(), events=len(log.events), rejects=len(log.rejects), duplicates=len(log.duplicates))
        out.write_text(json.dumps(result), encoding="utf-8")
        return

    as_of = dt.datetime.fromisoformat(AS_OF)
    t = time.perf_counter()
    if engine.get("engine") == "duckdb":  # what the expression builder costs: every statement this audit asks, built (and printed) again
        from complianceengine.evaluate.sql import matching_query

        try:
            from complianceengine.evaluate.sql import counting_lists_query as counting_query
        except ImportError:  # code from before the counting was fetched as a list per target (--src-commit)
            from complianceengine.evaluate.sql import counting_query  # type: ignore[attr-defined,no-redef]

        began = time.perf_counter()
        built = 0
        for o in ruleset.obligations:
            for match in [getattr(o, "match", None), getattr(o, "trigger", None), *(step.match for step in getattr(o, "steps", []))]:
                if match is not None:
                    matching_query(match)
                    built += 1
            if getattr(o, "match", None) is not None and hasattr(o, "by"):
                for kind in ("person", "unit", "subject"):
                    counting_query(o.match, kind, o.by.roles if o.by is not None else None)
                    built += 1
        result["sql_built"] = {"statements": built, "seconds": time.perf_counter() - began}
    report = ce.audit(ruleset, registry, log, first_day=FIRST_DAY, last_day=LAST_DAY, as_of=as_of, plugins=plugins, **engine)
    done("audit", t)

    if mode in ("library", "library-duckdb"):
        path = out.parent / f"{out.stem}.report.json"
        t = time.perf_counter()
        try:  # as the command line writes --output: a finding at a time, its UTF-8 bytes as they are, where the code can
            from complianceengine.outputs import open_atomically
            from complianceengine.report import json_bytes
        except ImportError:
            try:  # code from before the report's bytes (--src-commit)
                from complianceengine.outputs import write_atomically
                from complianceengine.report import json_chunks
            except ImportError:  # code from before the streamed report
                text = ce.render(report, "json", plugins)
                path.write_text(text, encoding="utf-8")
                del text
            else:
                write_atomically(path, json_chunks(report))
        else:
            with open_atomically(path, binary=True) as stream:
                stream.writelines(json_bytes(report))
        done("report", t)
        result["report_bytes"] = path.stat().st_size
    result["peak_rss_mb"] = _peak_mb()

    result["events"] = len(log.events)
    result["rejects"] = len(log.rejects)
    result["duplicates"] = len(log.duplicates)
    result["findings"] = len(report.findings)
    result["obligations"] = sorted({f.obligation for f in report.findings})
    result["not_judged"] = {o.obligation: o.not_judged for o in report.obligations if o.not_judged}
    result["counts"] = dict(collections.Counter(f.status for f in report.findings))
    digest = hashlib.sha256()  # every finding, to compare the engines on all obligations
    for f in report.findings:
        digest.update(f.model_dump_json().encode())
    result["findings_sha256"] = digest.hexdigest()
    if mode.startswith("library-lead"):  # a case's step: the SQL names the case as the library does
        found = collections.Counter((f.obligation, f.subject.id, f.step, f.status) for f in report.findings if f.obligation in LEAD)
    elif mode.startswith("library-visit"):  # a gap: its anchor and deadline, in POSIX seconds
        found = collections.Counter((f.obligation, f.subject.id, int(f.period.start.timestamp()), int(f.due.timestamp()), f.status)
                                    for f in report.findings if f.obligation in VISIT)
    else:
        found = collections.Counter(
            (f.obligation, f.subject.id, f.subject.role, f.unit, f.period.label, f.window or "", f.status)
            for f in report.findings if f.obligation in FREQ
        )
    _write_keys(found, out.with_suffix(".keys"))
    result["freq_counts"] = _counts(found, _group(mode))
    out.write_text(json.dumps(result), encoding="utf-8")


def _group(mode: str) -> tuple[str, ...]:
    """The obligations a measurement's keys are about."""
    return LEAD if mode.endswith(("-lead", "-lead-duckdb")) else VISIT if mode.endswith(("-visit", "-visit-duckdb")) else FREQ


def _counts(found: collections.Counter, group: tuple[str, ...] = FREQ) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {oid: {} for oid in group}
    for key, n in found.items():
        out[key[0]][key[-1]] = out[key[0]].get(key[-1], 0) + n
    return out


# --------------------------------------------------------------------------------------------
# The parent: worlds, subprocesses, the table


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _world(base: Path, copies: int, seed: int, drop: float, jitter: int) -> tuple[Path, dict[str, Any]]:
    folder = base / f"world-k{copies}-s{seed}"
    manifest = folder / "world.json"
    if manifest.exists():
        known = json.loads(manifest.read_text(encoding="utf-8"))
        if (known.get("copies"), known.get("seed"), known.get("drop"), known.get("jitter_minutes")) == (copies, seed, drop, jitter):
            known["reused"] = True
            return folder, known
    # in a subprocess, so that the parent stays small
    subprocess.run([sys.executable, str(HERE / "world.py"), "--copies", str(copies), "--seed", str(seed), "--out", str(folder),
                    "--drop", repr(drop), "--jitter", str(jitter)], check=True, stdout=subprocess.DEVNULL)
    return folder, json.loads(manifest.read_text(encoding="utf-8"))


def _measure(mode: str, folder: Path, work: Path, ruleset: Path, env: dict[str, str], repeat: int, timeout: float | None) -> dict[str, Any]:
    best: dict[str, Any] | None = None
    peak = 0.0
    for i in range(repeat):
        out = work / f"{folder.name}.{mode}.{i}.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--world", str(folder), "--result", str(out),
               "--ruleset", str(ruleset)]
        out.unlink(missing_ok=True)  # a result left by an earlier run in a --keep folder
        started = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"mode": mode, "error": f"timed out after {timeout} s"}
        wall = time.perf_counter() - started
        if proc.returncode != 0 or not out.exists():
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
            return {"mode": mode, "error": f"exit {proc.returncode}: {tail}"}
        result = json.loads(out.read_text(encoding="utf-8"))
        result["wall"] = wall
        result["keys"] = str(out.with_suffix(".keys"))
        result["total"] = sum(v for k, v in result["times"].items() if k != "startup")
        peak = max(peak, result["peak_rss_mb"])
        if best is None or result["total"] < best["total"]:
            best = result
    assert best is not None
    best["peak_rss_mb"] = peak  # the fastest run's times, the highest peak of all runs
    return best


def _compare(a: dict[str, Any], b: dict[str, Any]) -> tuple[bool, list[str]]:
    """Do two measurements give the same findings of the three duties? (agree, a few differences)"""
    ka = collections.Counter(Path(a["keys"]).read_text(encoding="utf-8").splitlines())
    kb = collections.Counter(Path(b["keys"]).read_text(encoding="utf-8").splitlines())
    if ka == kb:
        return True, []
    only_a, only_b = ka - kb, kb - ka
    lines = [f"{sum(only_a.values())} only in {a['mode']}, {sum(only_b.values())} only in {b['mode']}"]
    lines += [f"  only in {a['mode']}: {k}" for k in sorted(only_a)[:5]]
    lines += [f"  only in {b['mode']}: {k}" for k in sorted(only_b)[:5]]
    return False, lines


def _summary(counts: dict[str, dict[str, int]]) -> str:
    return "; ".join(f"{oid}: " + ", ".join(f"{s} {c[s]}" for s in STATUSES if c.get(s)) for oid, c in counts.items())


def _flat_records(folder: Path, instants: bool = False) -> list[dict[str, Any]]:
    """The world's JSON lines as records with their attributes beside the fields (and the time
    as a ``datetime`` with ``instants``); the lines that are not such records left out."""
    rows = []
    with (folder / "events.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            try:
                record = json.loads(line)
                record.update(record.pop("attributes", None) or {})
                if instants:
                    record["time"] = dt.datetime.fromisoformat(record["time"])
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            rows.append(record)
    return rows


def _parquet(folder: Path, held_as: str = "+08:00") -> None:
    """The world's events as a Parquet file (once): each line's fields and attributes as columns,
    its time as an instant at +08:00 (the lines that are not events, if any, left out); with
    ``held_as="zone"`` an instant in Asia/Shanghai (``events-zone.parquet``), with ``"naive"`` the
    local time there without a zone (``events-naive.parquet``), as pandas gives either."""
    path = folder / {"+08:00": "events.parquet", "zone": "events-zone.parquet", "naive": "events-naive.parquet"}[held_as]
    if path.exists():
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _flat_records(folder, instants=True)
    names = list(dict.fromkeys(name for row in rows for name in row))
    kind = pa.timestamp("us", tz={"+08:00": "+08:00", "zone": "Asia/Shanghai", "naive": None}[held_as])

    def times(values: list[Any]) -> Any:
        # the instants are at +08:00, Shanghai's offset in these years: their wall time is its local time
        return pa.array([None if v is None else v.replace(tzinfo=None) for v in values] if held_as == "naive" else values, kind)

    columns = {name: times([row.get(name) for row in rows]) if name == "time" else pa.array([row.get(name) for row in rows]) for name in names}
    partial = path.with_name(path.name + ".partial")  # a run stopped half way leaves no file a later run would take as whole
    pq.write_table(pa.table(columns), partial)
    partial.replace(path)


def _csv(folder: Path, quoted: bool = False) -> None:
    """The world's events as a CSV file (once): a column per field and per attribute, the
    participants joined with ``;``, true/false as words; no cell needs quotes (the lines that
    are not events, if any, left out). ``quoted``: every cell quoted (``events-quoted.csv``)."""
    path = folder / ("events-quoted.csv" if quoted else "events.csv")
    if path.exists():
        return
    rows = _flat_records(folder)
    names = list(dict.fromkeys(name for row in rows for name in row))

    def cell(value: Any) -> str:
        text = ";".join(value) if isinstance(value, list) else json.dumps(value) if isinstance(value, bool) else "" if value is None else str(value)
        assert not any(c in text for c in ',"\r\n'), f"a cell that needs quotes: {text!r}"
        return text

    partial = path.with_name(path.name + ".partial")  # a run stopped half way leaves no file a later run would take as whole
    with partial.open("w", encoding="utf-8") as out:
        quote = '"{}"'.format if quoted else str
        out.write(",".join(map(quote, names)) + "\n")
        for row in rows:
            out.write(",".join(quote(cell(row.get(name))) for name in names) + "\n")
    partial.replace(path)


#: the duty platform's headers for the core fields (plugins/platform_csv)
_PLATFORM = {"id": "记录编号", "kind": "事件类型", "time": "发生时间", "actor": "人员编号", "on_behalf_of": "代为人员", "unit": "单位编号",
             "subject": "对象编号", "participants": "参与人员"}


def _platform_csv(folder: Path, ruleset: Path) -> None:
    """The world's events as the duty platform exports them (once, ``events-platform.csv``, read
    through the platform_csv plugin): Chinese headers for the core fields, each kind by its Chinese
    label, local times (``2026/08/03 09:30:00``, the world's times being at +08:00), participants
    joined with ``、``, true/false as ``是``/``否``, the attributes by their ids."""
    path = folder / "events-platform.csv"
    if path.exists():
        return
    import yaml

    kinds = yaml.safe_load(ruleset.read_text(encoding="utf-8"))["event_kinds"]
    labels = [kind.get("label", {}).get("zh") for kind in kinds.values()]
    label = {name: zh if zh and labels.count(zh) == 1 else name for name, zh in zip(kinds, labels)}
    rows = _flat_records(folder)
    names = list(dict.fromkeys(name for row in rows for name in row))

    def cell(name: str, value: Any) -> str:
        if value is None:
            return ""
        if name == "kind":
            return label[value]
        if name == "time":  # Asia/Shanghai has been at +08:00 since 1991
            local = dt.datetime.fromisoformat(value).astimezone(dt.timezone(dt.timedelta(hours=8)))
            assert not local.microsecond, f"a time with a fraction of a second: {value!r}"
            return local.strftime("%Y/%m/%d %H:%M:%S")
        text = "、".join(value) if isinstance(value, list) else ("是" if value else "否") if isinstance(value, bool) else str(value)
        assert not any(c in text for c in ',"\r\n'), f"a cell that needs quotes: {text!r}"
        return text

    partial = path.with_name(path.name + ".partial")  # a run stopped half way leaves no file a later run would take as whole
    with partial.open("w", encoding="utf-8") as out:
        out.write(",".join(_PLATFORM.get(name, name) for name in names) + "\n")
        for row in rows:
            out.write(",".join(cell(name, row.get(name)) for name in names) + "\n")
    partial.replace(path)


def _fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}"


def _row(copies: int, r: dict[str, Any]) -> str:
    label = {"library": "library, all obligations", "library-freq": "library, 3 frequency duties",
             "baseline": "baseline, 3 frequency duties",
             "library-duckdb": "library on duckdb, all obligations", "library-freq-duckdb": "library on duckdb, 3 frequency duties",
             "sql-baseline": "hand-written DuckDB SQL, 3 duties", "library-lead": "library, lead response",
             "library-lead-duckdb": "library on duckdb, lead response", "sql-lead": "hand-written DuckDB SQL, lead response",
             "library-visit": "library, visit gap", "library-visit-duckdb": "library on duckdb, visit gap",
             "sql-visit": "hand-written DuckDB SQL, visit gap",
             "library-read": "library, reading JSON lines", "library-read-duckdb": "library on duckdb, reading JSON lines",
             "library-read-parquet": "library, reading Parquet", "library-read-parquet-duckdb": "library on duckdb, reading Parquet",
             "library-read-csv": "library, reading CSV", "library-read-csv-duckdb": "library on duckdb, reading CSV",
             "library-read-csv-quoted": "library, reading quoted CSV", "library-read-csv-quoted-duckdb": "library on duckdb, reading quoted CSV",
             "library-read-parquet-zone": "library, reading Parquet (Asia/Shanghai)",
             "library-read-parquet-zone-duckdb": "library on duckdb, reading Parquet (Asia/Shanghai)",
             "library-read-parquet-naive": "library, reading Parquet (naive times)",
             "library-read-parquet-naive-duckdb": "library on duckdb, reading Parquet (naive times)",
             "library-read-csv-platform": "library, reading the platform's CSV export",
             "library-read-csv-platform-duckdb": "library on duckdb, reading the platform's CSV export",
             }[r["mode"]]
    if "error" in r:
        return f"| {copies} | - | {label} | failed: {r['error'].splitlines()[-1]} |" + " |" * 8
    t = r["times"]
    audit = t.get("audit", t.get("compute"))
    rate = r["events"] / r["total"] if r["total"] else float("inf")
    return (f"| {copies} | {r['events']} | {label} | {_fmt(t.get('startup'))} | {_fmt(t.get('ruleset'))} | {_fmt(t.get('registry'))} | "
            f"{_fmt(t.get('events'))} | {_fmt(audit)} | {_fmt(t.get('report'))} | {_fmt(r['total'])} | {rate:,.0f} | "
            f"{r['peak_rss_mb']:.0f} ({r['startup_rss_mb']:.0f}) |")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, action="append", help="world size in copies of the sample county (~713 events each); repeat for several sizes")
    parser.add_argument("--quick", action="store_true", help=f"small sizes ({' and '.join(map(str, QUICK))} copies), under a minute with the slow evaluator")
    parser.add_argument("--seed", type=int, default=1, help="seed of the worlds (default 1)")
    parser.add_argument("--drop", type=float, default=0.01, help="share of routine patrols dropped per copy (default 0.01)")
    parser.add_argument("--jitter", type=int, default=30, help="patrol time jitter in minutes, inside the day (default 30)")
    parser.add_argument("--repeat", type=int, default=1, help="run each measurement this many times, keep the fastest (default 1)")
    parser.add_argument("--only", choices=MODES + EXTRA_MODES, action="append",
                        help="run only this measurement (repeatable); library-read (ruleset, registry and events, no audit) runs only when named")
    parser.add_argument("--keep", type=Path, help="write worlds, reports and results into this folder and keep them "
                        "(a world already there with the same parameters is reused); default: a temporary folder")
    parser.add_argument("--src", type=Path, help="import complianceengine from this src folder instead of the installed one")
    parser.add_argument("--src-commit", metavar="REV", help="import complianceengine from src/ as of this git revision (exported with git archive)")
    parser.add_argument("--timeout", type=float, help="seconds before a measurement is given up")
    parser.add_argument("--json", type=Path, help="also write every result to this JSON file")
    parser.add_argument("--ruleset", type=Path, default=RULESET, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=MODES + EXTRA_MODES, help=argparse.SUPPRESS)
    parser.add_argument("--world", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        child(args.child, args.world, args.result, args.ruleset.resolve())
        return 0

    sizes = sorted(set(args.copies or []) | (set(QUICK) if args.quick else set()))
    if not sizes:
        parser.error("give --copies K (repeatable) or --quick")
    if min(sizes) < 1 or args.repeat < 1:
        parser.error("--copies and --repeat must be at least 1")
    if args.src and args.src_commit:
        parser.error("give --src or --src-commit, not both")
    modes = [m for m in MODES + EXTRA_MODES if m in (args.only or MODES)]

    with tempfile.TemporaryDirectory(prefix="ce-bench-") as tmp:
        base = args.keep.resolve() if args.keep else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        work = base / "runs"
        work.mkdir(exist_ok=True)
        env = dict(os.environ)
        src: Path | None = None
        commit = _git("rev-parse", "HEAD")
        dirty = bool(_git("status", "--porcelain", "--", "src"))
        source = f"working tree at {commit[:12] or '?'}" + (" with uncommitted changes in src/" if dirty else "")
        if args.src_commit:
            rev = _git("rev-parse", args.src_commit)
            if not rev:
                parser.error(f"--src-commit {args.src_commit}: not a revision of {ROOT}")
            export = Path(tmp) / f"src-{rev[:12]}"
            export.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(export)], input=archive, check=True)
            src, source = export / "src", f"src/ of commit {rev[:12]} (git archive)"
        elif args.src:
            src, source = args.src.resolve(), f"{args.src.resolve()}"
        if src is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [env.get("PYTHONPATH")])])

        if src is not None:  # the parent's constants check imports the same complianceengine as the children
            sys.path.insert(0, str(src))
        try:
            import complianceengine as ce

            problems = check_baseline_constants(ce.load_ruleset(args.ruleset.resolve()))
        except Exception as exc:  # a library in the middle of a change: the children will say more
            problems = [f"could not load the ruleset to check them: {type(exc).__name__}: {exc}"]
        print(f"# complianceengine benchmark: {source}")
        print(f"python {platform.python_version()} on {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; "
              f"ruleset {args.ruleset}; range {FIRST_DAY} to {LAST_DAY} as of {AS_OF}; seed {args.seed}")
        if problems:
            print("WARNING: the baseline's constants may not match the ruleset; its findings may differ:")
            for p in problems:
                print(f"  {p}")
        print()

        results: dict[int, dict[str, Any]] = {}
        worlds: dict[int, dict[str, Any]] = {}
        for copies in sizes:
            folder, world = _world(base, copies, args.seed, args.drop, args.jitter)
            worlds[copies] = world
            for held_as in ("zone", "naive"):
                if any(m.startswith(f"library-read-parquet-{held_as}") for m in modes):
                    _parquet(folder, held_as)
            if any(m.startswith("library-read-parquet") and not m.startswith(("library-read-parquet-zone", "library-read-parquet-naive"))
                   for m in modes):
                _parquet(folder)
            if any(m.startswith("library-read-csv") and "quoted" not in m and "platform" not in m for m in modes):
                _csv(folder)
            if any(m.startswith("library-read-csv-quoted") for m in modes):
                _csv(folder, quoted=True)
            if any(m.startswith("library-read-csv-platform") for m in modes):
                _platform_csv(folder, args.ruleset.resolve())
            print(f"world {copies} copies: {world['events']} events ({world['patrols']} patrols), {world['units']} units, "
                  f"{world['people']} people, {world['assignments']} assignments, {world['subjects']} subjects"
                  + (" (reused)" if world.get("reused") else f" (generated in {world['seconds']} s)"), flush=True)
            results[copies] = {}
            for mode in modes:
                r = _measure(mode, folder, work, args.ruleset.resolve(), env, args.repeat, args.timeout)
                results[copies][mode] = r
                status = r.get("error") or f"{r['total']:.2f} s, peak {r['peak_rss_mb']:.0f} MB"
                print(f"  {mode}: {status}", flush=True)
                if "error" not in r and r.get("rejects"):
                    print(f"  WARNING: {r['rejects']} rejected event lines", flush=True)
                for oid, why in (r.get("not_judged") or {}).items():
                    print(f"  WARNING: {oid} not judged: {why}", flush=True)
        first = next((r for c in sizes for r in results[c].values() if r.get("complianceengine")), None)
        if first:
            print(f"children imported {first['complianceengine']} with plugins {', '.join(first['plugins'])}")
        print()

        print("Seconds per stage (startup = imports and plugins, not in total); peak RSS of the process, in MB, "
              "with its RSS after startup in brackets.")
        print("For the baseline, 'registry' is json.load plus indexing, 'events' the JSONL loop, 'audit' the counting.\n")
        print("| copies | events | measurement | startup | ruleset | registry | events | audit | report | total | events/s | peak RSS MB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for copies in sizes:
            for mode in modes:
                print(_row(copies, results[copies][mode]))
        print()

        print("Ratios (this run):")
        for copies in sizes:
            r = results[copies]
            lib, freq, base_ = r.get("library"), r.get("library-freq"), r.get("baseline")
            if freq and base_ and "error" not in freq and "error" not in base_:
                bt = base_["times"]
                print(f"- {copies} copies, library / baseline on the 3 frequency duties: "
                      f"{_ratio(freq['total'], base_['total'])} end to end (read + audit; target <= 3x), "
                      f"{_ratio(freq['times']['audit'], bt['compute'])} audit alone, "
                      f"{_ratio(freq['times']['registry'], bt['registry'])} registry, {_ratio(freq['times']['events'], bt['events'])} events; "
                      f"peak RSS {_ratio(freq['peak_rss_mb'], base_['peak_rss_mb'])}")
            duck, freq_duck, sql = r.get("library-duckdb"), r.get("library-freq-duckdb"), r.get("sql-baseline")
            if freq_duck and sql and "error" not in freq_duck and "error" not in sql:
                print(f"- {copies} copies, library on duckdb / hand-written DuckDB SQL on the 3 frequency duties: "
                      f"{_ratio(freq_duck['total'], sql['total'])} end to end (target <= 1.5x); "
                      f"peak RSS {freq_duck['peak_rss_mb']:.0f} MB vs {sql['peak_rss_mb']:.0f} MB")
            if freq_duck and freq and "error" not in freq_duck and "error" not in freq:
                print(f"- {copies} copies, 3 frequency duties, reference / duckdb engine: {_ratio(freq['total'], freq_duck['total'])} end to end, "
                      f"{_ratio(freq['times']['audit'], freq_duck['times']['audit'])} audit alone")
            for r_ in (duck, freq_duck):
                if r_ and "error" not in r_ and r_.get("sql_built"):
                    b = r_["sql_built"]
                    print(f"- {copies} copies, {r_['mode']}: SQLGlot built {b['statements']} statements in {b['seconds'] * 1000:.1f} ms "
                          f"({b['seconds'] / max(b['statements'], 1) * 1e6:.0f} us each; {b['seconds'] / r_['total']:.2%} of the run)")
            if duck and lib and "error" not in duck and "error" not in lib:
                print(f"- {copies} copies, full audit, reference / duckdb engine: {_ratio(lib['total'], duck['total'])} end to end "
                      f"(target >= 20x), {_ratio(lib['times']['audit'], duck['times']['audit'])} audit alone; "
                      f"peak RSS {duck['peak_rss_mb']:.0f} MB vs {lib['peak_rss_mb']:.0f} MB")
            for duty, what in (("lead", "lead response (lead-timely-handling)"), ("visit", "visit gap (key-person-monthly-visit)")):
                sql = r.get(f"sql-{duty}")
                if sql and "error" not in sql:
                    parts = [f"{name} {_ratio(x['total'], sql['total'])} end to end"
                             for name, x in (("reference", r.get(f"library-{duty}")), ("duckdb", r.get(f"library-{duty}-duckdb")))
                             if x and "error" not in x]
                    if parts:
                        print(f"- {copies} copies, {what}, library / hand-written DuckDB SQL: " + ", ".join(parts) + " (target on duckdb <= 1.5x)")
            if lib and "error" not in lib:
                share = {k: v / lib["total"] for k, v in lib["times"].items() if k != "startup"}
                print(f"- {copies} copies, full audit: {lib['events'] / lib['total']:,.0f} events/s, "
                      f"{lib['findings']} findings, report {lib['report_bytes'] / 1e6:.1f} MB; share of the time: "
                      + ", ".join(f"{k} {v:.0%}" for k, v in share.items())
                      + "; peak RSS MB after " + ", ".join(f"{k} {v:.0f}" for k, v in lib.get("peak_after", {}).items()))
        for small, large in zip(sizes, sizes[1:]):
            ev = worlds[large]["events"] / worlds[small]["events"]
            parts = []
            for mode in modes:
                a, b = results[small].get(mode), results[large].get(mode)
                if a and b and "error" not in a and "error" not in b:
                    parts.append(f"{mode} x{b['total'] / a['total']:.2f}")
            print(f"- {small} -> {large} copies (events x{ev:.2f}; linear would be x{ev:.2f}, target <= x{1.1 * ev:.2f}): time "
                  + ", ".join(parts))
        print()

        print("Agreement on the findings of the 3 frequency duties (obligation, person, role, unit, period, window, status), "
              "of the lead response (obligation, case, step, status) and of the visit gap (obligation, key person, anchor, deadline, "
              "status):")
        for copies in sizes:
            r = results[copies]
            pairs = [("library-freq", "baseline"), ("library", "library-freq")] if "library-freq" in r else [("library", "baseline")]
            pairs += [("library-freq-duckdb", "library-freq"), ("library-duckdb", "library"), ("sql-baseline", "baseline"),
                      ("library-lead", "sql-lead"), ("library-lead-duckdb", "library-lead"),
                      ("library-visit", "sql-visit"), ("library-visit-duckdb", "library-visit")]
            for a, b in pairs:
                if a not in r or b not in r:
                    continue
                if "error" in r[a] or "error" in r[b]:
                    print(f"- {copies} copies, {a} vs {b}: not compared (a measurement failed)")
                    continue
                same, diff = _compare(r[a], r[b])
                print(f"- {copies} copies, {a} vs {b}: {'identical' if same else 'DIFFERENT'}")
                if r[a].get("findings_sha256") and r[b].get("findings_sha256") and ("freq" in a) == ("freq" in b):
                    whole = r[a]["findings_sha256"] == r[b]["findings_sha256"]
                    print(f"    every finding of every obligation: {'identical' if whole else 'DIFFERENT'}")
                # the counts: once when they agree with the baseline, both sides when they differ
                if not same:
                    shown = [a, b]
                elif b in BASELINES and a not in BASELINES:  # the library's counts, once, where it meets a baseline
                    shown = [a]
                else:
                    shown = []
                for name in shown:
                    if "error" not in r[name]:
                        print(f"    {name}: {_summary(r[name]['freq_counts'])}")
                for line in diff:
                    print(f"    {line}")
        print()

        print("Targets of the reference engine: the full audit of 1M events (read + audit + JSON report) in <= 60 s and <= 2 GB on 2 cores:")
        big = [c for c in sizes if worlds[c]["events"] >= 1_000_000 and "library" in results[c]]
        for copies in big:
            lib = results[copies]["library"]
            if "error" in lib:
                print(f"- {copies} copies: failed ({lib['error'].splitlines()[-1]})")
            else:
                print(f"- {copies} copies, {lib['events']} events: {lib['total']:.1f} s ({'ok' if lib['total'] <= 60 else 'OVER'}), "
                      f"peak {lib['peak_rss_mb']:.0f} MB ({'ok' if lib['peak_rss_mb'] <= 2048 else 'OVER'})")
        if not big:
            largest = max(worlds[c]["events"] for c in sizes)
            print(f"- not measured in this run (largest world: {largest} events; 1,402 copies make 1M)")
        print("Targets (issue 16): the full audit of 1M events on the DuckDB engine in <= 15 s and <= 1.5 GB (1,500 MB), at least 20x "
              "the reference; 10M events in <= 150 s and <= 4 GB:")
        measured = False
        for copies in sizes:
            duck, ref = results[copies].get("library-duckdb"), results[copies].get("library")
            if worlds[copies]["events"] < 1_000_000 or duck is None or "error" in duck:
                continue
            measured = True
            seconds, peak = (15, 1500) if worlds[copies]["events"] < 10_000_000 else (150, 4000)
            versus = "" if ref is None or "error" in ref else (f", {ref['total'] / duck['total']:.2f}x the reference "
                                                               f"({'ok' if ref['total'] >= 20 * duck['total'] else 'UNDER'})")
            print(f"- {copies} copies, {duck['events']} events: {duck['total']:.1f} s ({'ok' if duck['total'] <= seconds else 'OVER'}), "
                  f"peak {duck['peak_rss_mb']:.0f} MB ({'ok' if duck['peak_rss_mb'] <= peak else 'OVER'}){versus}")
        if not measured:
            print("- not measured in this run (library-duckdb on a world of 1M events or more)")

        if args.json:
            args.json.write_text(json.dumps({"source": source, "commit": commit, "src_dirty": dirty, "worlds": worlds,
                                             "results": results, "baseline_constant_problems": problems}, indent=2), encoding="utf-8")
        if args.keep:
            print(f"\nworlds, reports and raw results kept in {base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
