"""Tide windows from a tide table file, as complianceengine calendar windows.

Article 13.1 of the Xiangshan rules asks for field patrols of risk points "according to the
tides" (根据潮汐情况对风险点位进行动态巡查): landing spots on mud flats and slipways are usable
only around certain waters. This plugin turns a harbour tide table (潮汐表) into windows of
``before`` / ``after`` either side of every low (or high) water at one station, so a ruleset can
require patrols inside them::

    calendars:
      low-water:
        label: {zh: 低潮前后两小时, en: two hours either side of low water}
        provider: tide-table
        optional: true                 # without this plugin, duties using it are "not judged"
        plugin: complianceengine-tides
        options: {table: sample/tides.csv, station: shipu, water: low, before: PT2H, after: PT2H}

    obligations:
      - id: risk-point-tide-patrol
        kind: frequency
        match: {kind: patrol, where: {mode: field}, in_calendar: low-water}
        ...

Options: ``table`` is a CSV file, relative to the ruleset's folder, or ``bundled`` names a table
shipped inside this package (:func:`bundled_tables`: ``xiangshan-2026``, a SYNTHETIC table of the
``shipu`` and ``dongmen`` stations, July to December 2026); one of the two is required.
``station`` (required) picks its rows; ``water`` is ``low`` (default) or ``high``; ``before``
and ``after`` are ISO 8601 durations (default ``PT2H`` each). Overlapping windows are merged by
the core.

The table has a header row and one row per high or low water::

    station,time,water,height_m
    shipu,2026-08-01 04:37,low,0.41

``time`` is local time in the ruleset's zone (an explicit offset such as ``+08:00`` is also
accepted); ``water`` is ``low``/``high`` (or 低潮/高潮, LW/HW); ``height_m`` is optional. A row
that cannot be read is an error naming the file and line, and an audit range the table does not
cover for the station is an error, never "no windows": a missing tide table must not make
every patrol look out of time, nor excuse it.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pendulum

from complianceengine import hookimpl

PROVIDER = "tide-table"
WATERS = {"low": "low", "high": "high", "低潮": "low", "高潮": "high", "lw": "low", "hw": "high"}
OPTIONS = {"table", "bundled", "station", "water", "before", "after"}


class TideTableError(ValueError):
    """The tide table or the calendar's options cannot be used."""


@dataclass(frozen=True)
class Water:
    station: str
    time: dt.datetime
    water: str  # "low" or "high"
    height: float | None
    line: int


def read_table(path: Path, timezone: str) -> list[Water]:
    """Every row of a tide table; raises :class:`TideTableError` naming ``file:line``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise TideTableError(f"cannot read tide table {path}: {exc.strerror or exc}") from None
    rows = csv.DictReader(text.splitlines())
    missing = {"station", "time", "water"} - set(rows.fieldnames or [])
    if missing:
        raise TideTableError(f"{path}:1: the header needs the columns station, time, water (missing: {', '.join(sorted(missing))})")
    zone = pendulum.timezone(timezone)
    out = []
    for number, row in enumerate(rows, start=2):
        where = f"{path}:{number}"
        station, time, water = (row.get("station") or "").strip(), (row.get("time") or "").strip(), (row.get("water") or "").strip()
        if not station:
            raise TideTableError(f"{where}: no station")
        if water.lower() not in WATERS:
            raise TideTableError(f"{where}: water must be low or high (or 低潮/高潮, LW/HW), got {water!r}")
        try:
            parsed = pendulum.parse(time, tz=zone)
        except Exception:  # pendulum raises several parser error types
            parsed = None
        if not isinstance(parsed, dt.datetime):
            raise TideTableError(f"{where}: time must be a local date and time such as 2026-08-01 04:37, got {time!r}")
        height_text = (row.get("height_m") or "").strip()
        try:
            height = float(height_text) if height_text else None
        except ValueError:
            raise TideTableError(f"{where}: height_m must be a number of metres, got {height_text!r}") from None
        out.append(Water(station, parsed, WATERS[water.lower()], height, number))
    return out


def bundled_tables() -> list[str]:
    """The names of the tide tables shipped inside this package (``bundled: NAME``)."""
    folder = resources.files(__name__).joinpath("tables")
    return sorted(entry.name.removesuffix(".csv") for entry in folder.iterdir() if entry.name.endswith(".csv"))


def _read_bundled(name: str, timezone: str) -> list[Water]:
    if name not in bundled_tables():
        raise TideTableError(f"no bundled tide table {name!r}; this plugin ships {', '.join(bundled_tables())}")
    with resources.as_file(resources.files(__name__).joinpath("tables", f"{name}.csv")) as path:
        return read_table(path, timezone)


def _duration(options: dict, name: str) -> dt.timedelta:
    value = options.get(name, "PT2H")
    parsed = None
    if isinstance(value, str):
        try:
            parsed = pendulum.parse(value)
        except Exception:  # pendulum raises several parser error types
            parsed = None
    if not isinstance(parsed, pendulum.Duration) or parsed.total_seconds() < 0 or parsed.years or parsed.months:
        raise TideTableError(f"option {name!r} must be an ISO 8601 duration in hours or minutes such as PT2H or PT90M, got {value!r}")
    return dt.timedelta(seconds=parsed.total_seconds())


def windows(options: dict, first_day: dt.date, last_day: dt.date, timezone: str, base_dir: Path) -> list[tuple[dt.datetime, dt.datetime]]:
    """The tide windows overlapping the local days ``first_day``..``last_day``."""
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise TideTableError(f"unknown options {unknown}; a tide-table calendar takes {sorted(OPTIONS)}")
    if options.get("table") and options.get("bundled"):
        raise TideTableError("give the tide table as either 'table' (a file) or 'bundled' (a table shipped with the plugin), not both")
    if not options.get("table") and not options.get("bundled"):
        raise TideTableError(f"option 'table' is required (e.g. table: sample/tides.csv, station: shipu), or 'bundled' naming a table "
                             f"shipped with the plugin ({', '.join(bundled_tables())})")
    if not options.get("station"):
        raise TideTableError("option 'station' is required (e.g. table: sample/tides.csv, station: shipu)")
    water = WATERS.get(str(options.get("water", "low")).lower())
    if water is None:
        raise TideTableError(f"option 'water' must be low or high, got {options['water']!r}")
    before, after = _duration(options, "before"), _duration(options, "after")
    if options.get("bundled"):
        path = Path(f"bundled:{options['bundled']}")
        table = _read_bundled(str(options["bundled"]), timezone)
    else:
        path = Path(options["table"])
        path = path if path.is_absolute() else base_dir / path
        table = read_table(path, timezone)
    rows = [w for w in table if w.station == options["station"]]
    if not rows:
        raise TideTableError(f"tide table {path} has no rows for station {options['station']!r}")
    zone = pendulum.timezone(timezone)
    covered = (min(w.time for w in rows).in_timezone(zone).date(), max(w.time for w in rows).in_timezone(zone).date())
    if first_day < covered[0] or last_day > covered[1]:
        raise TideTableError(
            f"tide table {path} covers station {options['station']!r} from {covered[0]} to {covered[1]}; "
            f"the audit needs {first_day} to {last_day}: add the missing months to the table"
        )
    start = pendulum.datetime(first_day.year, first_day.month, first_day.day, tz=zone)
    end = pendulum.datetime(last_day.year, last_day.month, last_day.day, tz=zone).add(days=1)
    out = []
    for row in sorted(rows, key=lambda w: w.time):
        if row.water == water and row.time - before < end and row.time + after > start:
            out.append((row.time - before, row.time + after))
    return out


@hookimpl
def complianceengine_calendar_providers():
    return [PROVIDER]


@hookimpl
def complianceengine_calendar_windows(name, calendar, first_day, last_day, timezone, base_dir):
    if calendar.provider != PROVIDER:
        return None
    return windows(calendar.options, first_day, last_day, timezone, base_dir)
