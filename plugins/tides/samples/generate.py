"""Write ``xiangshan-2026.csv``: a SYNTHETIC tide table for two Xiangshan stations, July to
December 2026, in the shape harbour tide tables (潮汐表) are published: one row per high or low
water with its local time and height. It ships inside the package
(``src/complianceengine_tides/tables/``; a ruleset names it with ``bundled: xiangshan-2026``).

The times follow a semi-diurnal tide (principal lunar period 12 h 25.2 min) whose timing and range
swing with the 14.77-day spring-neap cycle. They are plausible, not real: do not navigate by them.
Run: python plugins/tides/samples/generate.py
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

HERE = Path(__file__).resolve().parent
TZ = dt.timezone(dt.timedelta(hours=8))
M2 = dt.timedelta(hours=12, minutes=25, seconds=12)
SPRING_NEAP_DAYS = 14.765
STATIONS = {
    # station id: (first low water of the table, mean sea level m, mean range m)
    "shipu": (dt.datetime(2026, 7, 1, 3, 41, tzinfo=TZ), 2.35, 3.1),
    "dongmen": (dt.datetime(2026, 7, 1, 3, 58, tzinfo=TZ), 2.30, 3.0),
}
FIRST, END = dt.datetime(2026, 7, 1, tzinfo=TZ), dt.datetime(2027, 1, 1, tzinfo=TZ)


def extremes(station: str):
    start, level, mean_range = STATIONS[station]
    k = 0
    while True:
        low = start + k * M2
        phase = 2 * math.pi * ((low - start).total_seconds() / 86400) / SPRING_NEAP_DAYS
        shift = dt.timedelta(minutes=18 * math.sin(phase))  # timing swings with the spring-neap cycle
        half_range = mean_range / 2 * (1 + 0.35 * math.cos(phase))
        for time, water, height in ((low + shift, "low", level - half_range), (low + shift + M2 / 2, "high", level + half_range)):
            if time >= END:
                return
            if time >= FIRST:
                yield time.replace(second=0, microsecond=0), water, round(height, 2)
        k += 1


def main() -> None:
    path = HERE.parent / "src" / "complianceengine_tides" / "tables" / "xiangshan-2026.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["station", "time", "water", "height_m"])
        for station in STATIONS:
            for time, water, height in extremes(station):
                writer.writerow([station, time.strftime("%Y-%m-%d %H:%M"), water, f"{height:.2f}"])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
