"""Write the Zhongshan water corridor sample event history (events.jsonl), 2026-08-01 to 2026-10-31.

Deterministic (fixed seed): run it again and the file is byte-for-byte the same. Everyone does
their duty except the planted violations in PLANTED and the cases listed below, which README.md
in this folder explains. Standard library only. Run from anywhere:
``python rulesets/zhongshan/sample/generate.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

HERE = Path(__file__).parent
TZ = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai has no daylight saving time
FIRST, LAST = dt.date(2026, 8, 1), dt.date(2026, 10, 31)

# high-incident calendar of the ruleset (both days included)
HIGH_INCIDENT = [(dt.date(2026, 8, 16), dt.date(2026, 8, 31)), (dt.date(2026, 9, 20), dt.date(2026, 10, 8))]

ZONES = {  # zone -> boat captain, post the boats leave from, boats, waters
    "zone-east": ("p-ye-zhihui", "hengmen-wcs", ["粤中山公艇101", "粤中山公艇102"], ["横门水道", "横门东出海航道"]),
    "zone-north": ("p-kuang-haibo", "minzhong-wcs", ["粤中山公艇201", "粤中山公艇202"], ["洪奇沥水道", "黄沙沥水道"]),
    "zone-southwest": ("p-chen-dawei", "shenwan-wcs", ["粤中山公艇301", "粤中山公艇302"], ["磨刀门水道", "坦洲涌"]),
    "zone-northwest": ("p-liang-wenbin", "xiaolan-pontoon", ["粤中山公艇401"], ["小榄水道", "鸡鸦水道", "桂洲水道"]),
}
TOWN_LIAISONS = {
    "torch": "p-li-xiufang", "nanlang": "p-liu-meiling", "minzhong": "p-zheng-guoqiang", "huangpu": "p-xiao-ming",
    "shenwan": "p-cai-lihua", "tanzhou": "p-feng-jiahao", "xiaolan": "p-su-weidong",
}
SOUTHWEST_TOWNS = {"shenwan", "tanzhou"}
TYPHOON = (dt.date(2026, 9, 15), dt.date(2026, 9, 16))  # south-west zone: no water duty on these days

PLANTED = {
    # zone-daily-boat-sorties / zone-night-boat-sorties: (zone, day) -> sortie times (hour, minute)
    "sorties": {
        # base day, 3 required: only 2 sorties (one at night): daily missed, night met
        ("zone-north", dt.date(2026, 8, 11)): [(22, 10), (9, 30)],
        # high-incident day, 5 required: 4 sorties (two at night): daily missed, night met
        ("zone-east", dt.date(2026, 9, 26)): [(21, 0), (2, 30), (10, 0), (15, 0)],
        # base day: 3 sorties, none between 20:00 and 06:00 (06:00 itself is day): night missed
        ("zone-northwest", dt.date(2026, 10, 20)): [(6, 0), (13, 0), (19, 30)],
        # high-incident day, 2 night sorties required: only one: night missed, daily met (5)
        ("zone-southwest", dt.date(2026, 10, 3)): [(23, 15), (7, 0), (10, 30), (14, 0), (17, 45)],
    },
    # zone-weekly-vessel-checks: the week's sorties check only 2 vessels a day (14 < 15)
    "light_check_week": ("zone-east", dt.date(2026, 8, 31)),
    # town-shoreline-joint-patrol: (town, Monday) -> volunteer counts of the week's patrols
    "shoreline": {
        ("xiaolan", dt.date(2026, 9, 28)): [25],  # only one patrol in week 40
        ("huangpu", dt.date(2026, 8, 17)): [18, 6],  # the second has only 6 volunteers
    },
}


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def days(first: dt.date, last: dt.date):
    for i in range((last - first).days + 1):
        yield first + dt.timedelta(days=i)


def high_incident(day: dt.date) -> bool:
    return any(start <= day <= end for start, end in HIGH_INCIDENT)


def typhoon(zone: str, day: dt.date) -> bool:
    return zone == "zone-southwest" and TYPHOON[0] <= day <= TYPHOON[1]


def vessel_counts(rng: random.Random, sorties: int, vessels: int) -> list[int]:
    """``vessels`` checked vessels spread over the day's ``sorties`` (a sortie may check none)."""
    counts = [0] * sorties
    for _ in range(vessels if sorties else 0):
        counts[rng.randrange(sorties)] += 1
    return counts


def main() -> None:
    rng = random.Random(20260801)
    # the vessels each sortie checks: their own stream, so the sorties' times and boats are drawn
    # as they were when the checks were one event per vessel
    checks = random.Random(20260802)
    events: list[dict] = []

    def add(kind: str, time: dt.datetime, **fields) -> dict:
        event = {"id": "", "kind": kind, "time": time.isoformat(), **fields}
        events.append(event)
        return event

    # 1. boat sorties: 3 a day per zone, one of them at night (5 and 2 in high-incident periods);
    #    each records the vessels its crew checked: 3 to 6 a day per zone, spread over the day's
    #    sorties (at least 21 a week), except the planted light week (2 a day, 14 in the week)
    night_hours = [20, 21, 22, 23, 0, 1, 2, 3, 4, 5]
    light_zone, light_monday = PLANTED["light_check_week"]
    for zone, (captain, post, boats, waters) in ZONES.items():
        for day in days(FIRST, LAST):
            if typhoon(zone, day):
                continue  # excused by the typhoon suspension event below
            planted = PLANTED["sorties"].get((zone, day))
            if planted is not None:
                times = planted
            else:
                need, need_night = (5, 2) if high_incident(day) else (3, 1)
                total = need + rng.randint(0, 1)
                night = min(total, need_night + rng.randint(0, 1))
                times = [(rng.choice(night_hours), rng.choice([0, 15, 30, 45])) for _ in range(night)]
                times += [(rng.randint(6, 19), rng.choice([0, 15, 30, 45])) for _ in range(total - night)]
            light = zone == light_zone and light_monday <= day <= light_monday + dt.timedelta(days=6)
            vessels = vessel_counts(checks, len(times), 2 if light else checks.randint(3, 6))
            for (hour, minute), checked in zip(times, vessels):
                add("boat_patrol", at(day, hour, minute), actor=captain, unit=post,
                    attributes={"boat": rng.choice(boats), "waterway": rng.choice(waters), "vessels_checked": checked})

    # 2. (the vessel checks are counted on the sorties above)

    # 3. police-civilian shoreline patrols: 2 a week per town, 10 or more volunteers each
    mondays = [d for d in days(dt.date(2026, 7, 27), LAST) if d.weekday() == 0]
    for town, liaison in TOWN_LIAISONS.items():
        for monday in mondays:
            week = [d for d in days(monday, monday + dt.timedelta(days=6)) if FIRST <= d <= LAST
                    and not (town in SOUTHWEST_TOWNS and TYPHOON[0] <= d <= TYPHOON[1])]
            counts = PLANTED["shoreline"].get((town, monday))
            if counts is None:
                counts = [rng.randint(12, 40) for _ in range(min(2, len(week)))]
            for day, volunteers in zip(sorted(rng.sample(week, len(counts))), counts):
                add("shoreline_patrol", at(day, rng.choice([8, 9, 15, 16, 19])), actor=liaison, unit=town,
                    attributes={"volunteers": volunteers})

    # 4. joint meetings convened by the city police (quorum: 3 of public security, customs,
    #    coast guard, anti-smuggling office); the September one lacks the quorum
    meetings = [
        (at(dt.date(2026, 8, 13), 15), ["public_security", "customs", "coast_guard", "anti_smuggling_office", "maritime"], "暑期水域联防部署"),
        (at(dt.date(2026, 9, 17), 15), ["public_security", "maritime", "water_police"], "中秋国庆水上勤务"),
        (at(dt.date(2026, 10, 22), 15), ["public_security", "customs", "coast_guard"], "冻品走私线索会商"),
    ]
    for when, departments, topic in meetings:
        add("joint_meeting", when, actor="p-liang-jianguo", unit="zhongshan", attributes={"departments": departments, "topic": topic})

    # 5. joint water clearance operations with neighbouring cities; none counts in October
    operations = [
        (at(dt.date(2026, 8, 20), 2), ["zhongshan", "foshan"], "桂洲水道、容桂水道"),
        (at(dt.date(2026, 8, 28), 3), ["zhongshan", "jiangmen"], "西江干流交界水域"),
        (at(dt.date(2026, 9, 9), 1), ["zhongshan", "zhuhai", "jiangmen"], "磨刀门水道"),
        (at(dt.date(2026, 10, 14), 2), ["zhongshan"], "鸡鸦水道"),  # Zhongshan alone: not joint
        (at(dt.date(2026, 10, 27), 2), ["zhongshan", "shenzhen"], "横门东出海航道"),  # Shenzhen is not a listed neighbour
    ]
    for when, cities, waters in operations:
        add("joint_clearance", when, actor="p-chen-hui", unit="zhongshan", attributes={"cities": cities, "waterway": waters})

    # 6. supervision visits to the choke checkpoints (at most a month apart, by the supervision group)
    visits = [
        ("hengmen-choke", "p-huang-yong", [dt.date(2026, 8, 12), dt.date(2026, 9, 10)]),
        ("hongqili-choke", "p-lu-xiaoyan", [dt.date(2026, 8, 20), dt.date(2026, 9, 18), dt.date(2026, 10, 15)]),
        # Modaomen: 10 Aug, then only 25 Sep (due 10 Sep), then 20 Oct
        ("modaomen-choke", "p-huang-yong", [dt.date(2026, 8, 10), dt.date(2026, 9, 25), dt.date(2026, 10, 20)]),
    ]
    for post, person, when in visits:
        for day in when:
            add("supervision_visit", at(day, 10), actor=person, unit=post, attributes={"issues_found": rng.randint(0, 2)})
    # Hengmen in October is only visited by the zone's own lead commander: not the supervision group
    add("supervision_visit", at(dt.date(2026, 10, 8), 10), actor="p-lin-zhiqiang", unit="hengmen-choke", attributes={"issues_found": 0})

    # 7. three-no vessels: sighted -> checked (4 h) -> cleared (7 days from the sighting)
    cases = [
        # case, post, sighted by, sighted at, checked by, hours to check, cleared by, days to clear (None = never)
        ("SW-0806", "modaomen-choke", "p-gan-rongguang", at(dt.date(2026, 8, 6), 10), "p-chen-dawei", 1.5, "p-ou-guoliang", 3),
        ("TZ-0819", "tanzhou-station", None, at(dt.date(2026, 8, 19), 22), "p-chen-dawei", 6, "p-ou-guoliang", 4),  # checked late
        ("HM-0903", "hengmen-choke", "p-yang-fan", at(dt.date(2026, 9, 3), 14), "p-ye-zhihui", 1, None, None),  # never cleared
        ("XL-0921", "xiaolan-jdp", "p-he-ping", at(dt.date(2026, 9, 21), 9), "p-liang-wenbin", 2, "p-wu-dehua", 9),  # cleared late
        ("MZ-1029", "minzhong-wcs", "p-kuang-haibo", at(dt.date(2026, 10, 29), 18), "p-kuang-haibo", 2, None, None),  # clearing due 5 Nov
        ("SW-1031", "shenwan-wcs", None, at(dt.date(2026, 10, 31), 22, 30), None, None, None, None),  # check due 1 Nov 02:30
    ]
    for case, post, sighter, sighted, checker, check_hours, clearer, clear_days in cases:
        fields = {"actor": sighter} if sighter else {}
        add("three_no_sighted", sighted, **fields, unit=post, attributes={"case_id": case, "location": post})
        if checker is not None:
            add("three_no_checked", sighted + dt.timedelta(hours=check_hours), actor=checker, attributes={"case_id": case})
        if clearer is not None:
            add("three_no_cleared", sighted + dt.timedelta(days=clear_days), actor=clearer,
                attributes={"case_id": case, "method": rng.choice(["confiscated", "dismantled"])})

    # 8. a typhoon suspends water duty in the south-west zone on 15 and 16 September
    add("typhoon_suspension", at(TYPHOON[0], 0), unit="zone-southwest", attributes={"until": "2026-09-17T00:00:00+08:00"})

    # sorties of 27 to 31 July (3 a day, one at night, 3 to 6 vessels a day): the week of 27 July
    # is judged whole, vessel checks included, by an audit from 1 August (its own random stream,
    # so the events above stay as they were)
    july = random.Random(20260727)
    for zone, (captain, post, boats, waters) in ZONES.items():
        for day in days(dt.date(2026, 7, 27), FIRST - dt.timedelta(days=1)):
            times = [(july.choice(night_hours), july.choice([0, 15, 30, 45]))]
            times += [(july.randint(6, 19), july.choice([0, 15, 30, 45])) for _ in range(2)]
            for (hour, minute), checked in zip(times, vessel_counts(july, 3, july.randint(3, 6))):
                add("boat_patrol", at(day, hour, minute), actor=captain, unit=post,
                    attributes={"boat": july.choice(boats), "waterway": july.choice(waters), "vessels_checked": checked})

    # the last supervision visit to each checkpoint before the range (22 July): a checkpoint has no
    # start date, so without it the visit clocks could only start at the audit's first day
    for post, person, _when in visits:
        add("supervision_visit", at(dt.date(2026, 7, 22), 10), actor=person, unit=post, attributes={"issues_found": july.randint(0, 2)})

    # sort by time (stable: same-time events keep the order they were added in), then number them
    events.sort(key=lambda e: dt.datetime.fromisoformat(e["time"]))
    for number, event in enumerate(events, start=1):
        event["id"] = f"E{number:05d}"
    lines = [json.dumps(e, ensure_ascii=False) for e in events]
    # bad input, planted on purpose: a sortie at a post that does not exist (typo "shenwan-wsc");
    # the audit must reject this line and say where it is
    lines.insert(199, '{"id": "E-BAD-1", "kind": "boat_patrol", "time": "2026-08-05T09:00:00+08:00", "actor": "p-chen-dawei", '
                      '"unit": "shenwan-wsc", "attributes": {"boat": "粤中山公艇301", "waterway": "磨刀门水道", "vessels_checked": 2}}')
    (HERE / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} lines to {HERE / 'events.jsonl'}")


if __name__ == "__main__":
    main()
