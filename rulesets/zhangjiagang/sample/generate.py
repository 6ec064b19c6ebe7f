"""Write the Zhangjiagang sample event history (events.jsonl), 2026-08-01 to 2026-10-31.

Deterministic (fixed seed, standard library only): run it again and the file is byte-for-byte
the same. Everyone does their duty except the planted violations named in PLANTED and in the
comments below, which README.md in this folder explains. Run from anywhere:
``python rulesets/zhangjiagang/sample/generate.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

HERE = Path(__file__).parent
TZ = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai, no daylight saving time
FIRST, LAST = dt.date(2026, 8, 1), dt.date(2026, 10, 31)

CITY = "zhangjiagang"
AREAS = {  # area -> (water police officer(s) with last day, local police officer)
    "jingang": ([("p-zhu-jian", LAST)], "p-yao-lin"),
    "dongsha": ([("p-jin-tao", LAST)], "p-shi-yu"),
    "bonded": ([("p-fan-rui", dt.date(2026, 9, 30)), ("p-kong-ming", LAST)], "p-miao-jie"),
}
DOCKS = {  # dock -> (area, dock_type, security officers as (person, first day, last day))
    "zjg-port-group": ("jingang", "general", [("p-xu-hang", FIRST, LAST)]),
    "yongheng": ("jingang", "general", [("p-zhang-bo", FIRST, LAST)]),
    "yongjia": ("jingang", "container", [("p-wang-lei", FIRST, LAST)]),
    "jiusheng": ("jingang", "outfitting", [("p-chen-hui", FIRST, LAST)]),
    "posco": ("dongsha", "general", [("p-liu-yang", FIRST, dt.date(2026, 9, 12)), ("p-zhou-min", dt.date(2026, 9, 16), LAST)]),
    "conch-cement": ("dongsha", "general", [("p-yang-fan", FIRST, LAST)]),
    "zpmc": ("dongsha", "unclassified", [("p-huang-qi", FIRST, LAST)]),
    "changjiang-intl": ("dongsha", "chemical", [("p-zhao-xin", FIRST, LAST)]),
    "vopak": ("bonded", "chemical", [("p-wu-di", FIRST, LAST)]),
    "dow": ("bonded", "chemical", [("p-sun-hao", FIRST, LAST)]),
    "donghua-energy": ("bonded", "chemical", [("p-ma-li", FIRST, LAST)]),
    "bonded-port": ("bonded", "container", [("p-he-jun", FIRST, LAST)]),
}

PLANTED = {
    # dock-ct-drill: no drill at all in the third quarter
    "no_q3_drill": {"conch-cement"},
    # chemical-dock-hazard-check: no check by the police in these (dock, month)
    "chemical_check_skips": {("vopak", 9)},
    # chemical-dock-hazard-check: only the dock's own security officer checks (self-check, not counted)
    "chemical_self_check_only": {("donghua-energy", 10)},
    # other-dock-hazard-check: no police check in the third quarter (one in October instead)
    "no_q3_other_check": {"yongjia"},
    # area-safety-publicity: nothing in this (area, month)
    "publicity_skips": {("dongsha", 9)},
    # area-safety-publicity: the only event is run by a dock security officer, not the police
    "publicity_not_police": {("bonded", 10)},
    # security-officer-training: not at these area sessions (area, month)
    "training_absent": {("p-sun-hao", 8), ("p-huang-qi", 8), ("p-huang-qi", 10)},
}


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def water_police(area: str, day: dt.date) -> str:
    """The area's water police officer on that day."""
    for person, last in AREAS[area][0]:
        if day <= last:
            return person
    raise ValueError(f"no water police officer in {area} on {day}")


def officer(dock: str, day: dt.date) -> str | None:
    """The dock's security officer on that day (None while the post is vacant)."""
    for person, first, last in DOCKS[dock][2]:
        if first <= day <= last:
            return person
    return None


def police(rng: random.Random, area: str, day: dt.date) -> str:
    return rng.choice([water_police(area, day), AREAS[area][1]])


def main() -> None:
    rng = random.Random(20240624)
    events: list[dict] = []

    def add(kind: str, time: dt.datetime, **fields) -> dict:
        event = {"id": f"E{len(events) + 1:04d}", "kind": kind, "time": time.isoformat(), **fields}
        events.append(event)
        return event

    # 1. city coordination meetings (quarterly, quorum of 4 of the 6 member bodies incl. a lead body)
    # A police cooperation meeting with 5 bodies but neither lead body: not a port coordination meeting.
    add("coordination_meeting", at(dt.date(2026, 8, 20), 9, 30), actor="p-lu-hao", unit=CITY,
        attributes={"departments": ["yangtze_police_suzhou", "border_inspection", "customs_anti_smuggling", "city_police", "dock_enterprise"],
                    "format": "ad_hoc", "topic": "江地警务合作季度会商"})
    # PLANTED: the only Q3 port meeting: 3 of 6 member bodies, below the quorum of 4
    add("coordination_meeting", at(dt.date(2026, 9, 10), 14, 30), actor="p-gu-wei", unit=CITY,
        attributes={"departments": ["ct_office", "port_office", "yangtze_police_suzhou"], "format": "regular", "topic": "口岸反恐三季度工作会商"})
    # October meeting with full attendance (Q4 is not judged in this range: 31 of 92 days)
    add("coordination_meeting", at(dt.date(2026, 10, 16), 9, 0), actor="p-shen-li", unit=CITY,
        attributes={"departments": ["ct_office", "port_office", "yangtze_police_suzhou", "border_inspection", "customs_anti_smuggling", "city_police", "data_bureau"],
                    "format": "regular", "topic": "口岸反恐安全联席会议"})

    # 2. counter-terrorism drills: one per dock in the third quarter; some docks drill again in October
    for dock, (area, _type, _officers) in DOCKS.items():
        if dock not in PLANTED["no_q3_drill"]:
            day = dt.date(2026, rng.choice([8, 9]), rng.randint(3, 25))
            if dock == "posco":
                day = dt.date(2026, 8, 26)  # before the officer change
            add("ct_drill", at(day, rng.randint(9, 15)), actor=officer(dock, day), participants=[water_police(area, day)],
                unit=dock, attributes={"scenario": rng.choice(["可疑人员闯入", "可疑爆炸物处置", "劫持船舶", "危化品泄漏伴生恐袭"])})
        if rng.random() < 0.4 or dock in PLANTED["no_q3_drill"]:
            day = dt.date(2026, 10, rng.randint(12, 28))
            add("ct_drill", at(day, 10), actor=officer(dock, day), participants=[water_police(area, day)], unit=dock,
                attributes={"scenario": "可疑人员闯入"})

    # 3. hidden-danger checks: chemical docks monthly, the others once in the quarter (police)
    for dock, (area, dock_type, _officers) in DOCKS.items():
        if dock_type == "chemical":
            for month in (8, 9, 10):
                if (dock, month) in PLANTED["chemical_check_skips"]:
                    continue
                day = dt.date(2026, month, rng.randint(2, 27))
                if (dock, month) in PLANTED["chemical_self_check_only"]:
                    add("hazard_check", at(day, 10), actor=officer(dock, day), unit=dock, attributes={"issues_found": 1})
                    continue
                add("hazard_check", at(day, rng.randint(9, 16)), actor=police(rng, area, day), unit=dock,
                    attributes={"issues_found": rng.choice([0, 0, 1, 2])})
        else:
            if dock in PLANTED["no_q3_other_check"]:
                day = dt.date(2026, 10, 14)
            else:
                day = dt.date(2026, rng.choice([8, 9]), rng.randint(2, 27))
            add("hazard_check", at(day, rng.randint(9, 16)), actor=police(rng, area, day), unit=dock,
                attributes={"issues_found": rng.choice([0, 0, 1])})

    # 4. safety publicity: one a month in each area, by the police, at a dock of the area or area-wide
    for area in AREAS:
        docks = [d for d, (a, _t, _o) in DOCKS.items() if a == area]
        for month in (8, 9, 10):
            if (area, month) in PLANTED["publicity_skips"]:
                continue
            day = dt.date(2026, month, rng.randint(3, 26))
            if (area, month) in PLANTED["publicity_not_police"]:
                add("publicity", at(day, 15), actor=officer("bonded-port", day), unit="bonded-port",
                    attributes={"topic": "码头员工反恐知识宣讲"})
                continue
            add("publicity", at(day, rng.randint(9, 16)), actor=police(rng, area, day), unit=rng.choice([area, *docks]),
                attributes={"topic": rng.choice(["反恐防范知识进码头", "涉外船员安全宣传", "危化品安全与反恐宣传"])})

    # 5. training: one joint session per area in August and in October; trained officers are participants
    for area in AREAS:
        docks = [d for d, (a, _t, _o) in DOCKS.items() if a == area]
        for month, low, high in ((8, 10, 20), (10, 8, 14)):
            day = dt.date(2026, month, rng.randint(low, high))
            trained = [officer(d, day) for d in docks]
            trained = [p for p in trained if p and (p, month) not in PLANTED["training_absent"]]
            add("training", at(day, 14), actor=water_police(area, day), participants=trained, attributes={"topic": "反恐防范业务培训"})
    # PLANTED: 孙浩 (Dow) misses the August session, so his first training is the October one (due 1 October);
    # 黄琪 (Zhenhua) misses both sessions

    # 6. real-time data-sharing requests -> shared within 2 hours
    requests = [
        # request id, data type, unit, requested at, hours until shared (None = never)
        ("DS-0805", "video", "zjg-port-group", at(dt.date(2026, 8, 5), 10, 15), 0.7),
        ("DS-0819", "checkpoint", "bonded", at(dt.date(2026, 8, 19), 16, 0), 1.5),
        ("DS-0907", "personnel_flow", "dow", at(dt.date(2026, 9, 7), 9, 0), 6),  # PLANTED: late
        ("DS-0923", "video", "posco", at(dt.date(2026, 9, 23), 21, 40), 0.3),
        ("DS-1003", "video", "vopak", at(dt.date(2026, 10, 3), 11, 0), None),  # PLANTED: never shared
        ("DS-1018", "checkpoint", "jingang", at(dt.date(2026, 10, 18), 8, 30), 1),
        ("DS-1031", "video", "yongjia", at(dt.date(2026, 10, 31), 23, 10), None),  # PLANTED: still open at as-of
    ]
    for request, data_type, unit, when, hours in requests:
        add("data_request", when, actor="p-lu-hao", unit=unit, attributes={"request_id": request, "data_type": data_type})
        if hours is not None:
            add("data_shared", when + dt.timedelta(hours=hours), actor="p-qian-yun", attributes={"request_id": request})

    # 7. early-warning clues -> jointly assessed (24 h) -> acted on (3 days after the assessment)
    clues = [
        # clue id, category, dock, found at, hours to assessment, hours from assessment to action (None = never)
        ("CL-0811", "accidental_fall", "jiusheng", at(dt.date(2026, 8, 11), 7, 20), 6, 24),
        ("CL-0815", "labour_dispute", "posco", at(dt.date(2026, 8, 15), 10, 0), 40, 48),  # PLANTED: assessed late
        ("CL-0902", "maritime_accident", "zjg-port-group", at(dt.date(2026, 9, 2), 13, 0), 3, 30),
        ("CL-0920", "veterans_group", "conch-cement", at(dt.date(2026, 9, 20), 9, 0), 10, None),  # PLANTED: never acted on
        ("CL-1012", "other", "dow", at(dt.date(2026, 10, 12), 15, 0), None, None),  # PLANTED: never assessed
        ("CL-1030", "labour_dispute", "yongheng", at(dt.date(2026, 10, 30), 10, 0), 10, None),  # PLANTED: action still due
    ]
    for clue, category, dock, found, assess, act in clues:
        area = DOCKS[dock][0]
        add("clue_found", found, actor=water_police(area, found.date()), unit=dock, attributes={"clue_id": clue, "category": category})
        if assess is None:
            continue
        assessed = found + dt.timedelta(hours=assess)
        add("clue_assessed", assessed, actor="p-lu-hao", participants=[water_police(area, assessed.date())], attributes={"clue_id": clue})
        if act is not None:
            acted = assessed + dt.timedelta(hours=act)
            add("clue_disposed", acted, actor=water_police(area, acted.date()), attributes={"clue_id": clue})

    # the last training before the range (1 July, every area), so that the cadence clocks run from
    # it: an audit judges a gap from the last training before its range, not from the range's start
    day = dt.date(2026, 7, 1)
    for area in AREAS:
        trained = [p for p in (officer(d, FIRST) for d, (a, _t, _o) in DOCKS.items() if a == area) if p]  # in post since before
        add("training", at(day, 14), actor=water_police(area, day), participants=trained, attributes={"topic": "反恐防范业务培训"})

    events.sort(key=lambda e: (e["time"], e["id"]))
    lines = [json.dumps(e, ensure_ascii=False) for e in events]
    # PLANTED bad input: a check at 锦隆码头, a dock of the document that the sample registry does
    # not list. The audit must reject this line (unknown unit) and name its line number (31).
    lines.insert(30, json.dumps({"id": "E-BAD-1", "kind": "hazard_check", "time": "2026-08-28T10:00:00+08:00",
                                 "actor": "p-zhu-jian", "unit": "jinlong", "attributes": {"issues_found": 0}}, ensure_ascii=False))
    (HERE / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} lines to {HERE / 'events.jsonl'}")


if __name__ == "__main__":
    main()
