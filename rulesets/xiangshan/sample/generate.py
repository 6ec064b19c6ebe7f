"""Write the Xiangshan sample event history (events.jsonl), 2026-08-01 to 2026-10-31.

Deterministic (fixed seed): run it again and the file is byte-for-byte the same. Everyone does
their duty except the planted violations listed in PLANTED, which README.md in this folder
explains. Run from anywhere: ``python rulesets/xiangshan/sample/generate.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

HERE = Path(__file__).parent
TZ = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai has no daylight saving time
FIRST, LAST = dt.date(2026, 8, 1), dt.date(2026, 10, 31)

DOCK_STAFF = {  # person -> (dock, first day, last day)
    "p-yu-hong": ("dongmen-north", FIRST, LAST),
    "p-pan-feng": ("dongmen-south", FIRST, LAST),
    "p-du-xin": ("fanxi-dock", FIRST, dt.date(2026, 9, 14)),
    "p-jiang-bin": ("fanxi-dock", dt.date(2026, 9, 16), LAST),
    "p-ye-qing": ("xiaobai-dock", FIRST, LAST),
}
DOCK_CHIEFS = [  # (person, dock)
    ("p-chen-jun", "dongmen-north"), ("p-chen-jun", "dongmen-south"), ("p-chen-jun", "fanxi-dock"),
    ("p-wang-fang", "xiaobai-dock"),
    ("p-feng-tao", "dongmen-north"), ("p-feng-tao", "dongmen-south"), ("p-feng-tao", "fanxi-dock"),
    ("p-he-yan", "xiaobai-dock"),
    ("p-zhou-qiang", "dongmen-north"), ("p-zhou-qiang", "dongmen-south"), ("p-wu-min", "fanxi-dock"),
    ("p-zheng-hai", "xiaobai-dock"),
    ("p-cao-yu", "dongmen-north"), ("p-deng-kai", "dongmen-south"), ("p-xie-ming", "fanxi-dock"),
]
INSPECTORS = {"p-ma-chao": ("dongmen-north", LAST), "p-liang-wei": ("fanxi-dock", LAST), "p-han-dong": ("xiaobai-dock", dt.date(2026, 10, 15))}
GRID_PATROLLERS = {  # person -> a dock in their grid
    "p-lin-bo": "dongmen-south", "p-xu-jing": "dongmen-north", "p-hu-gang": "dongmen-north",
    "p-guo-ping": "fanxi-dock", "p-luo-yi": "fanxi-dock",
    "p-song-jie": "xiaobai-dock", "p-tang-ning": "xiaobai-dock",
}

# art. 13.1: each risk point gets a weekly field patrol near low water, by the village-linked police
RISK_POINTS = {"rp-dongmen-slipway": ("p-feng-tao", "dongmen-g1"), "rp-xiaobai-beach": ("p-he-yan", "xiaobai-g1")}
TIDE_TABLE = HERE.parent.parent.parent / "plugins" / "tides" / "src" / "complianceengine_tides" / "tables" / "xiangshan-2026.csv"
TIDE_STATION = "shipu"

PLANTED = {
    # dock-staff-daily-patrol: no patrol on these days
    "staff_skips": {("p-yu-hong", dt.date(2026, 8, 15)), ("p-yu-hong", dt.date(2026, 9, 20)), ("p-ye-qing", dt.date(2026, 10, 3))},
    # dock-chief-weekly-patrol: no patrol in the week starting on these Mondays
    "chief_skips": {("p-deng-kai", "dongmen-south", dt.date(2026, 9, 7)), ("p-he-yan", "xiaobai-dock", dt.date(2026, 10, 19)),
                    # excused, not missed: a leave event covers this week
                    ("p-deng-kai", "dongmen-south", dt.date(2026, 10, 19))},
    "inspector_skips": {("p-liang-wei", dt.date(2026, 8, 24))},
    # grid-monthly-patrol: no patrol in September
    "grid_skips": {("p-guo-ping", 9)},
    # grid-monthly-patrol during the National Day campaign (weekly): no patrol in week 41
    "campaign_skips": {("p-luo-yi", dt.date(2026, 10, 7))},
    # excused, not missed: annual leave in the registry, and a typhoon closure event of Fanxi dock
    "excused_days": {("p-pan-feng", dt.date(2026, 10, d)) for d in (10, 11, 12)}
    | {("p-jiang-bin", dt.date(2026, 9, d)) for d in (28, 29)},
    # risk-point-tide-patrol: the week's field patrol is at high water, or there is none
    "tide_at_high_water": {("rp-xiaobai-beach", dt.date(2026, 9, 14))},
    "tide_skips": {("rp-dongmen-slipway", dt.date(2026, 10, 19))},
}
# risk-point-tide-patrol: the week's field patrol has its mode written with its Chinese label
# (实地, as platform exports write it); it is read as `field`, so it counts
LABELLED_MODE = ("rp-dongmen-slipway", dt.date(2026, 8, 17))


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def in_week(rng: random.Random, monday: dt.date, last: dt.date) -> dt.date | None:
    """A random day of the week starting ``monday`` that lies within FIRST..last (None if none)."""
    low, high = max(0, (FIRST - monday).days), min(6, (last - monday).days)
    return monday + dt.timedelta(days=rng.randint(low, high)) if low <= high else None


def days(first: dt.date, last: dt.date):
    for i in range((last - first).days + 1):
        yield first + dt.timedelta(days=i)


def main() -> None:
    rng = random.Random(20260801)
    events: list[dict] = []

    def add(kind: str, time: dt.datetime, **fields) -> dict:
        event = {"id": f"E{len(events) + 1:05d}", "kind": kind, "time": time.isoformat(), **fields}
        events.append(event)
        return event

    # 1. daily patrols by dock daily staff
    for person, (dock, first, last) in DOCK_STAFF.items():
        for day in days(first, last):
            if (person, day) in PLANTED["staff_skips"] or (person, day) in PLANTED["excused_days"]:
                continue
            add("patrol", at(day, rng.randint(7, 18), rng.choice([0, 15, 30, 45])), actor=person, unit=dock, attributes={"mode": "field"})

    # 2. weekly patrols by dock chiefs (some joint with the inspector) and inspectors
    mondays = [d for d in days(dt.date(2026, 7, 27), LAST) if d.weekday() == 0]
    for person, dock in DOCK_CHIEFS:
        for monday in mondays:
            if (person, dock, monday) in PLANTED["chief_skips"]:
                continue
            day = in_week(rng, monday, LAST)
            if day is None:
                continue
            add("patrol", at(day, rng.randint(8, 17)), actor=person, unit=dock, attributes={"mode": rng.choice(["field", "field", "online"])})
    for person, (dock, last) in INSPECTORS.items():
        for monday in mondays:
            if (person, monday) in PLANTED["inspector_skips"]:
                continue
            day = in_week(rng, monday, last)
            if day is None:
                continue
            add("patrol", at(day, rng.randint(8, 17)), actor=person, unit=dock, attributes={"mode": "field"})
    # a joint patrol: the operator chief and the inspector of Dongmen patrol together; it counts for both
    add("patrol", at(dt.date(2026, 10, 28), 10), actor="p-cao-yu", participants=["p-ma-chao"], unit="dongmen-north", attributes={"mode": "field"})

    # 3. monthly patrols by grid leaders, full-time members and instructors
    for person, dock in GRID_PATROLLERS.items():
        for month in (8, 9, 10):
            if (person, month) in PLANTED["grid_skips"]:
                continue
            if person == "p-tang-ning" and month == 8:
                # at 23:30 Shanghai time on 31 August, written in UTC: it counts for August
                events.append({"id": f"E{len(events) + 1:05d}", "kind": "patrol", "time": "2026-08-31T15:30:00Z",
                               "actor": person, "unit": dock, "attributes": {"mode": "field"}})
                continue
            # in October the campaign (1-15 Oct) asks for weekly patrols; the rest of the month for one
            day = dt.date(2026, month, rng.randint(3, 26) if month != 10 else rng.randint(16, 26))
            add("patrol", at(day, rng.randint(9, 16)), actor=person, unit=dock, attributes={"mode": "field"})
        for day in (dt.date(2026, 10, 2), dt.date(2026, 10, 7), dt.date(2026, 10, 13)):
            if (person, day) not in PLANTED["campaign_skips"]:
                add("patrol", at(day, rng.randint(9, 16)), actor=person, unit=dock, attributes={"mode": "field"})

    # 4. key-person visits (village-linked police or inspectors; max gap one month)
    visits = [
        ("kp-001", "p-feng-tao", "dongmen-g1", [dt.date(2026, 8, 20), dt.date(2026, 9, 18), dt.date(2026, 10, 12)]),
        # kp-002: 5 Aug then only 20 Sep: the gap exceeds a month
        ("kp-002", "p-liang-wei", "fanxi-g1", [dt.date(2026, 8, 5), dt.date(2026, 9, 20), dt.date(2026, 10, 12)]),
        ("kp-003", "p-he-yan", "xiaobai-g1", [dt.date(2026, 8, 10), dt.date(2026, 9, 9)]),
        # kp-004: the campaign makes a visit due by 15 Oct; it comes on 20 Oct
        ("kp-004", "p-ma-chao", "dongmen-g1", [dt.date(2026, 9, 25), dt.date(2026, 10, 20)]),
    ]
    for subject, person, grid, when in visits:
        for day in when:
            add("visit", at(day, 15), actor=person, subject=subject)
    # kp-003 in October is only visited by a full-time grid member, who is not one of the roles the duty names
    add("visit", at(dt.date(2026, 10, 8), 15), actor="p-tang-ning", subject="kp-003")

    # 5. monthly publicity by village heads
    for person, village in (("p-zhou-qiang", "dongmen"), ("p-wu-min", "fanxi"), ("p-zheng-hai", "xiaobai")):
        for month in (8, 9, 10):
            if (village, month) in {("xiaobai", 10), ("fanxi", 9)}:
                continue
            add("publicity", at(dt.date(2026, month, rng.randint(5, 25)), 19), actor=person, unit=village)
    # Fanxi's September publicity was run by the grid member alone: not organised by the village head
    add("publicity", at(dt.date(2026, 9, 12), 19), actor="p-luo-yi", unit="fanxi")

    # 6. information reported -> pushed (2 h) -> responded (24 h) -> handled (3 d)
    leads = [
        # info id, reporter, unit, reported, push delay, response delay, handled delay (hours; None = never)
        ("INFO-0801", "p-yu-hong", "dongmen-north", at(dt.date(2026, 8, 3), 9), 0.5, 3, 30),
        ("INFO-0812", "p-ye-qing", "xiaobai-dock", at(dt.date(2026, 8, 12), 21), 5, 10, 50),  # pushed late
        ("INFO-0905", "p-jiang-bin", "fanxi-dock", at(dt.date(2026, 9, 18), 11), 1, 30, 60),  # responded late
        ("INFO-0922", "p-pan-feng", "dongmen-south", at(dt.date(2026, 9, 22), 16), 1.5, 2, None),  # never handled
        ("INFO-1010", "p-ma-chao", "dongmen-north", at(dt.date(2026, 10, 10), 8), None, None, None),  # never pushed
        ("INFO-1030", "p-tang-ning", "xiaobai-dock", at(dt.date(2026, 10, 30), 14), 1, 5, None),  # handling still open
    ]
    for info, person, dock, reported, push, respond, handle in leads:
        add("info_reported", reported, actor=person, unit=dock, attributes={"info_id": info})
        if push is None:
            continue
        pushed = reported + dt.timedelta(hours=push)
        add("lead_pushed", pushed, actor="p-xu-jing", unit=dock, attributes={"info_id": info, "category": "clue"})
        if respond is not None:
            add("lead_response", pushed + dt.timedelta(hours=respond), actor="p-li-hua", attributes={"info_id": info})
        if handle is not None:
            add("lead_handled", pushed + dt.timedelta(hours=handle), actor="p-li-hua", attributes={"info_id": info})

    # 7. damaged infrastructure -> repaired (7 d) -> fed back (2 d after the repair)
    damages = [
        ("DMG-01", "dongmen-north", "camera", at(dt.date(2026, 8, 6), 10), 4, 1),
        ("DMG-02", "fanxi-dock", "fence", at(dt.date(2026, 8, 20), 14), 10, 1),  # repaired 3 days late
        ("DMG-03", "xiaobai-dock", "signboard", at(dt.date(2026, 9, 3), 9), 2, None),  # never fed back
        ("DMG-04", "dongmen-south", "camera", at(dt.date(2026, 10, 28), 16), None, None),  # repair still open
    ]
    for report, dock, facility, when, repair, feedback in damages:
        add("damage_reported", when, actor="p-xu-jing", unit=dock, attributes={"report_id": report, "facility": facility})
        if repair is None:
            continue
        repaired = when + dt.timedelta(days=repair)
        add("repair_done", repaired, attributes={"report_id": report})
        if feedback is not None:
            add("repair_feedback", repaired + dt.timedelta(days=feedback), attributes={"report_id": report})

    # 8. exemptions recorded as events
    add("typhoon_closure", at(dt.date(2026, 9, 28), 0), unit="fanxi-dock", attributes={"until": "2026-09-30T00:00:00+08:00"})
    add("leave", at(dt.date(2026, 10, 19), 0), actor="p-deng-kai", attributes={"until": "2026-10-26T00:00:00+08:00"})

    # 9. field patrols of risk points by the tide (needs the tide plugin to be judged)
    tides = _tides()
    tide_rng = random.Random(20260913)  # its own stream: the events above stay as they were
    for point, (person, grid) in RISK_POINTS.items():
        monday = FIRST - dt.timedelta(days=FIRST.weekday())
        while monday <= LAST:
            week = [(t, w) for t, w in tides if monday <= t.date() < monday + dt.timedelta(days=7) and FIRST <= t.date() <= LAST
                    and 7 <= t.hour < 17]
            water = "high" if (point, monday) in PLANTED["tide_at_high_water"] else "low"
            choices = [t for t, w in week if w == water]
            if choices and (point, monday) not in PLANTED["tide_skips"]:
                when = tide_rng.choice(choices) + dt.timedelta(minutes=tide_rng.randint(-60, 60))
                mode = "实地" if (point, monday) == LABELLED_MODE else "field"
                add("patrol", when, actor=person, unit=grid, subject=point, attributes={"mode": mode})
            monday += dt.timedelta(days=7)

    # the tide patrols of the week of 27 July, judged whole by an audit from 1 August (added last,
    # with their own random stream, so the events above keep their ids and times)
    july_rng = random.Random(20260727)
    for point, (person, grid) in RISK_POINTS.items():
        choices = [t for t, w in tides if dt.date(2026, 7, 27) <= t.date() < FIRST and w == "low" and 7 <= t.hour < 17]
        when = july_rng.choice(choices) + dt.timedelta(minutes=july_rng.randint(-60, 60))
        add("patrol", when, actor=person, unit=grid, subject=point, attributes={"mode": "field"})

    # the last key-person visits before the range (25 July): an audit runs each visit clock from the
    # last visit before its range, so the sample's history starts with them
    for subject, person, _grid, _when in visits[:3]:
        add("visit", at(dt.date(2026, 7, 25), 15), actor=person, subject=subject)

    events.sort(key=lambda e: (_instant(e["time"]), e["id"]))
    lines = [json.dumps(e, ensure_ascii=False) for e in events]
    # bad input, planted on purpose: the audit must reject these lines and say where they are
    lines.insert(40, '{"id": "E-BAD-1", "kind": "patrol", "time": "2026-09-31T10:00:00", "actor": "p-yu-hong", "unit": "dongmen-north", "attributes": {"mode": "field"}}')
    lines.insert(80, '{"id": "E-BAD-2", "kind": "patrol", "time": "2026-08-09T10:00:00", "actor": "p-yu-hong", "unit": "dongmen-north"')
    lines.insert(120, '{"id": "E-BAD-3", "kind": "patrl", "time": "2026-08-12T10:00:00", "actor": "p-yu-hong", "unit": "dongmen-north"}')
    lines.insert(160, lines[159])  # the same event exported twice: counted once, reported as a duplicate
    (HERE / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} lines to {HERE / 'events.jsonl'}")


def _tides() -> list[tuple[dt.datetime, str]]:
    """(local time, low/high) of every water at the station; also copied to tides.csv, the table
    the ruleset's low-water calendar reads."""
    text = TIDE_TABLE.read_text(encoding="utf-8")
    rows = [line.split(",") for line in text.splitlines()[1:]]
    mine = [r for r in rows if r[0] == TIDE_STATION]
    header = text.splitlines()[0]
    (HERE / "tides.csv").write_text("\n".join([header, *(",".join(r) for r in mine)]) + "\n", encoding="utf-8")
    return [(dt.datetime.fromisoformat(r[1]).replace(tzinfo=TZ), r[2]) for r in mine]


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


if __name__ == "__main__":
    main()
