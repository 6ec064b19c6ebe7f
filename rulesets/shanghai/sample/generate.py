"""Write the Shanghai sample event history (events.jsonl), 2026-08-01 to 2026-10-31.

Deterministic (fixed seed, standard library only): run it again and the file is byte-for-byte
the same. Everyone does their duty except the planted violations named in PLANTED and in the
comments below, which README.md in this folder explains. Run from anywhere:
``python rulesets/shanghai/sample/generate.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

HERE = Path(__file__).parent
TZ = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai, no daylight saving time
FIRST, LAST = dt.date(2026, 8, 1), dt.date(2026, 10, 31)

CITY = "shanghai"
CONVENER = "p-zhang-ming"


def office_director(day: dt.date) -> str:
    """The office director in post on ``day`` (vacant on 10 and 11 October: use the convener)."""
    if day <= dt.date(2026, 10, 9):
        return "p-liu-jian"
    if day >= dt.date(2026, 10, 12):
        return "p-chen-yu"
    return CONVENER


MEMBERS = ["customs", "border_inspection", "maritime", "ndrc", "transport", "health",
           "foreign_affairs", "police", "finance", "anti_smuggling", "sipg", "airport_group"]
LIAISONS = {  # person -> (first day, last day) in post
    "p-li-na": (FIRST, LAST), "p-sun-yan": (FIRST, LAST), "p-wu-jing": (FIRST, LAST),
    "p-feng-lan": (FIRST, LAST), "p-wei-dong": (FIRST, dt.date(2026, 9, 10)),
    "p-jiang-tao": (dt.date(2026, 9, 21), LAST), "p-han-mei": (FIRST, LAST),
    "p-zhu-ting": (FIRST, LAST), "p-you-jun": (FIRST, LAST), "p-he-li": (FIRST, LAST),
    "p-shi-jie": (FIRST, LAST), "p-kong-wen": (FIRST, LAST), "p-yan-xue": (FIRST, LAST),
}
AREAS = {  # area -> (coordinator, stationed officers, departments that drill there)
    "yangshan": ("p-hua-jin", ["p-jin-song", "p-wei-hong"], ["customs", "border_inspection", "maritime", "sipg"]),
    "waigaoqiao": ("p-tao-ran", ["p-jiang-li", "p-qi-ming"], ["customs", "border_inspection", "maritime", "sipg"]),
    "wusongkou": ("p-xie-fang", ["p-zou-yang", "p-yu-bo"], ["customs", "border_inspection", "maritime", "sipg"]),
    "pudong-airport": ("p-bai-lu", ["p-shui-qing", "p-dou-wen"], ["customs", "border_inspection", "police", "airport_group"]),
    "hongqiao-airport": ("p-zhang-yun", ["p-yun-hai", "p-su-dan"], ["customs", "border_inspection", "police", "airport_group"]),
}

PLANTED = {
    # area-risk-analysis: no analysis at all in this (area, month)
    "analysis_skips": {("waigaoqiao", 9)},
    # area-risk-analysis: the only analysis is filed by 机场集团's liaison, who is outside the area mechanism
    "analysis_outsider": {("pudong-airport", 10)},
    # area-emergency-drill: no drill in the third quarter (its drill comes on 15 October, in Q4)
    "no_q3_drill": {"hongqiao-airport"},
    # area-emergency-drill: the Q3 drill has only one stationed regulator (customs) with the operator
    "single_regulator_drill": {"wusongkou"},
    # joint-control-training: absent from these sessions (session month)
    "training_absent": {("p-he-li", 8), ("p-yun-hai", 8), ("p-yun-hai", 10)},
}


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def main() -> None:
    rng = random.Random(20220617)
    events: list[dict] = []

    def add(kind: str, time: dt.datetime, **fields) -> dict:
        event = {"id": f"E{len(events) + 1:05d}", "kind": kind, "time": time.isoformat(), **fields}
        events.append(event)
        return event

    # 1. joint meetings (二(一)): a plenary a quarter, convened by the office, more than half of the 12 members
    # planted: on 18 Aug only 6 of the 12 member departments attend, exactly half, not more than half
    add("joint_meeting", at(dt.date(2026, 8, 18), 14), actor="p-liu-jian", unit=CITY,
        attributes={"format": "plenary", "departments": ["commerce", "customs", "border_inspection", "maritime", "police", "transport", "sipg"],
                    "topic": "第三季度口岸安全形势"})
    # a partial meeting on imported-food biosecurity: allowed, and never counted as a plenary
    add("joint_meeting", at(dt.date(2026, 9, 8), 10), actor="p-liu-jian", unit=CITY,
        attributes={"format": "partial", "departments": ["commerce", "customs", "health", "airport_group"], "topic": "国门生物安全协调"})
    # planted: on 24 Sep 9 departments meet, but customs called and ran the meeting without the office
    add("joint_meeting", at(dt.date(2026, 9, 24), 15), actor="p-wang-hai", unit=CITY,
        attributes={"format": "plenary",
                    "departments": ["customs", "border_inspection", "maritime", "ndrc", "transport", "police", "anti_smuggling", "sipg", "airport_group"],
                    "topic": "海关提请的跨部门查缉协作"})
    # Q4 plenary with 11 of 12 members: Q4 is less than half inside the range, so it is not judged
    add("joint_meeting", at(dt.date(2026, 10, 20), 9, 30), actor=CONVENER, participants=["p-chen-yu"], unit=CITY,
        attributes={"format": "plenary", "departments": ["commerce", *[m for m in MEMBERS if m != "finance"]], "topic": "第四季度口岸安全形势"})

    # 2. monthly risk analysis in each port area (三(一)), by the coordinator with the stationed officers
    for area, (coordinator, officers, _) in AREAS.items():
        for month in (8, 9, 10):
            if (area, month) in PLANTED["analysis_skips"]:
                continue
            day = dt.date(2026, month, rng.randint(5, 25))
            if (area, month) in PLANTED["analysis_outsider"]:
                add("risk_analysis", at(day, 15), actor="p-yan-xue", unit=area, attributes={"topic": "航站楼客流风险分析（机场集团自行报送）"})
                continue
            add("risk_analysis", at(day, rng.randint(9, 16)), actor=coordinator, participants=officers, unit=area,
                attributes={"topic": f"{month}月口岸安全风险分析"})

    # 3. joint emergency drills (五(四)): one a quarter per area, at least two stationed regulators
    for area, (coordinator, officers, departments) in AREAS.items():
        if area not in PLANTED["no_q3_drill"]:
            day = dt.date(2026, rng.choice([8, 9]), rng.randint(3, 26))
            taking_part = ["customs", "sipg"] if area in PLANTED["single_regulator_drill"] else departments
            add("emergency_drill", at(day, 10), actor=coordinator, participants=officers, unit=area,
                attributes={"departments": taking_part, "scenario": "旅客突发疾病与可疑物品联动处置"})
    # October drills fall in Q4, which is not judged (31 of 92 days in the range)
    for area in ("hongqiao-airport", "yangshan"):
        coordinator, officers, departments = AREAS[area]
        add("emergency_drill", at(dt.date(2026, 10, 15), 10), actor=coordinator, participants=officers, unit=area,
            attributes={"departments": departments, "scenario": "恐怖袭击应急处置"})

    # 4. joint trainings (五(四)): two city-wide sessions, trainees named as participants, no unit
    trainees = list(LIAISONS) + [p for coordinator, officers, _ in AREAS.values() for p in (coordinator, *officers)]
    for day, month in ((dt.date(2026, 8, 25), 8), (dt.date(2026, 10, 14), 10)):
        present = [p for p in trainees
                   if (p, month) not in PLANTED["training_absent"]
                   and LIAISONS.get(p, (FIRST, LAST))[0] <= day <= LIAISONS.get(p, (FIRST, LAST))[1]]
        add("training", at(day, 9), actor=office_director(day), participants=present, attributes={"topic": "口岸安全联合防控业务培训"})

    # 5. cross-department major risks found at an area -> submitted (24 h) -> coordinated (7 d after submission)
    risks = [
        # case, area, found, submitted after (hours), coordinated after the submission (days); None = never
        ("RISK-0812", "yangshan", at(dt.date(2026, 8, 12), 10), 6, 3, "prohibited_goods"),
        ("RISK-0903", "pudong-airport", at(dt.date(2026, 9, 3), 8), 30, 2, "public_health"),  # submitted 6 h late
        ("RISK-0917", "waigaoqiao", at(dt.date(2026, 9, 17), 14), 4, None, "biosecurity"),  # never coordinated
        ("RISK-1008", "hongqiao-airport", at(dt.date(2026, 10, 8), 16), None, None, "personnel_control"),  # never submitted
        ("RISK-1029", "wusongkou", at(dt.date(2026, 10, 29), 15), 18, None, "counter_terrorism"),  # coordination still due
    ]
    for case, area, found, submit, coordinate, risk_type in risks:
        add("major_risk_found", found, actor=AREAS[area][1][0], unit=area, attributes={"case_id": case, "risk_type": risk_type})
        if submit is None:
            continue
        submitted = found + dt.timedelta(hours=submit)
        add("submitted_to_joint_meeting", submitted, actor=AREAS[area][0], attributes={"case_id": case})
        if coordinate is not None:
            coordinated = submitted + dt.timedelta(days=coordinate)
            add("coordinated_by_joint_meeting", coordinated, actor=office_director(coordinated.date()),
                attributes={"case_id": case, "decision": "明确牵头部门，开展跨部门统一行动"})

    # 6. emergencies -> submitted to the joint meeting within 2 h when beyond the site's capacity
    emergencies = [
        # case, area, time, beyond the site, submitted after (hours; None = never), category
        ("EMG-0805", "yangshan", at(dt.date(2026, 8, 5), 11), False, None, "accident"),  # handled on site: no case
        ("EMG-0826", "pudong-airport", at(dt.date(2026, 8, 26), 20), True, 1, "public_health"),
        ("EMG-0919", "wusongkou", at(dt.date(2026, 9, 19), 7), True, 5, "natural_disaster"),  # submitted 3 h late
        ("EMG-1016", "waigaoqiao", at(dt.date(2026, 10, 16), 13), True, None, "social_security"),  # never submitted
        ("EMG-1031", "yangshan", at(dt.date(2026, 10, 31), 23), True, None, "public_transport"),  # deadline after the as-of time
    ]
    for case, area, when, beyond, submit, category in emergencies:
        add("emergency_incident", when, actor=AREAS[area][0], unit=area,
            attributes={"case_id": case, "beyond_site": beyond, "category": category})
        if submit is not None:
            add("submitted_to_joint_meeting", when + dt.timedelta(hours=submit), actor=AREAS[area][0], attributes={"case_id": case})

    # the last training before the range (1 July), so that the cadence clocks run from it: an
    # audit judges a gap from the last training before its range, not from the range's start
    day = dt.date(2026, 7, 1)
    present = [p for p in trainees if LIAISONS.get(p, (FIRST, LAST))[0] <= FIRST]  # those in post since before the range
    add("training", at(day, 9), actor=office_director(day), participants=present, attributes={"topic": "口岸安全联合防控业务培训"})

    events.sort(key=lambda e: (e["time"], e["id"]))
    lines = [json.dumps(e, ensure_ascii=False) for e in events]
    # bad input, planted on purpose: line 31 is a partial meeting whose attendance names
    # "shanghai_customs", which is not a declared department; the audit rejects the line
    lines.insert(30, json.dumps({"id": "E-BAD-1", "kind": "joint_meeting", "time": "2026-09-15T10:00:00+08:00", "actor": "p-liu-jian",
                                 "unit": CITY, "attributes": {"format": "partial", "departments": ["commerce", "shanghai_customs", "health"]}},
                                ensure_ascii=False))
    (HERE / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} lines to {HERE / 'events.jsonl'}")


if __name__ == "__main__":
    main()
