"""Write a scaled Xiangshan world: K independent copies of the bundled sample county.

    python benchmarks/world.py --copies K --seed S --out DIR

writes ``DIR/registry.yaml``, ``DIR/events.jsonl`` and ``DIR/world.json`` (the parameters and
counts) and prints the counts. The audit range is the sample's, 2026-08-01 to 2026-10-31
(as of 2026-11-01 00:00 +08:00), so the ruleset is used unchanged: its campaign window
(1-15 October), the registry's roster dates and the tide table the ``low-water`` calendar reads
(``rulesets/xiangshan/sample/tides.csv``, shared by every copy) all fit. The world grows by
copies of the county only, never by a longer range: shifting the sample's months by whole weeks
would move the tide patrols out of their low-water windows and the campaign patrols out of the
campaign, and the tide table ends in December 2026.

Copy ``k`` is the sample county with every id suffixed ``-kNNNN``: units (each copy is its own
county, a root of the unit tree: the ruleset's ``county`` kind has no parent kind), people,
assignments, subjects, exemptions, event ids, and the ``info_id`` / ``report_id`` correlation
attributes. So copies are independent: no event of one copy counts for a duty of another.
Per copy, seeded by ``(seed, k)``:

- the sample's planted violations and roster changes are kept (a vacant officer post, a guard
  change with a gap, a dock without an operator chief, leave, a typhoon closure, late leads);
- a share ``--drop`` (default 1%) of the routine patrols is dropped: each one is usually a new
  ``missed`` day, week or month for its patroller;
- every patrol is moved by up to ``--jitter`` minutes (default 30) but stays inside its local
  day, so it still counts for the same day, week and month; patrols of risk points move by at
  most 10 minutes, so they stay inside (or, the planted one, outside) their low-water window.

The sample's deliberately bad lines (3 rejects, 1 duplicate) are left out: the world reads with
zero rejects. Events are written in time order (a platform export), ids unique.

``registry.yaml`` is JSON (one registry item per line), which is valid YAML: the library reads
it with ``complianceengine.load_registry`` and the plain-Python baseline of
``bench_core.py`` with ``json.load``. Same seed, same copies: the same bytes.

About 713 events per copy with the default ``--drop`` (the sample has 720 good events):
``--copies 701`` gives 500,150 events and ``--copies 1402`` 1,000,351 (seed 1). Writing the
1.0M-event world takes about 10 s and 0.5 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RULESET = ROOT / "rulesets" / "xiangshan" / "ruleset.yaml"
SAMPLE = ROOT / "rulesets" / "xiangshan" / "sample"
FIRST_DAY, LAST_DAY = dt.date(2026, 8, 1), dt.date(2026, 10, 31)
AS_OF = "2026-11-01T00:00:00+08:00"
TZ = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai: no daylight saving time since 1991
CORRELATION_ATTRIBUTES = ("info_id", "report_id")


def _yaml(path: Path) -> Any:
    from ruamel.yaml import YAML  # a dependency of complianceengine, so it is in its environment

    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def _plain(value: Any) -> Any:
    """YAML data as JSON data (dates as ISO text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def load_sample() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The sample registry (as JSON data) and the sample's good events as written in
    events.jsonl. The lines the sample plants as bad input are left out: invalid JSON, an
    undeclared event kind, a time that does not exist, a repeated id. Reads the files directly
    (not through complianceengine), so a world can be written while the library is being changed;
    bench_core.py checks that the library reads the world with zero rejects."""
    kinds = set(_yaml(RULESET)["event_kinds"])
    registry = _plain(_yaml(SAMPLE / "registry.yaml"))
    events, seen = [], set()
    for line in (SAMPLE / "events.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
            _instant(event["time"])
        except (ValueError, KeyError, TypeError):
            continue
        if event.get("kind") not in kinds or event["id"] in seen:
            continue
        seen.add(event["id"])
        events.append(event)
    return registry, events


def suffix(k: int) -> str:
    return f"-k{k:04d}"


def copy_registry(registry: dict[str, Any], k: int) -> dict[str, list[dict[str, Any]]]:
    """Copy ``k`` of the sample registry: every id suffixed."""
    s = suffix(k)
    out: dict[str, list[dict[str, Any]]] = {}
    units = []
    for unit in registry.get("units", []):
        unit = dict(unit, id=unit["id"] + s)
        if "parent" in unit:
            unit["parent"] += s
        if "name" in unit:
            unit["name"] = dict(unit["name"], en=f"{unit['name']['en']} #{k}")
        units.append(unit)
    out["units"] = units
    out["people"] = [dict(p, id=p["id"] + s) for p in registry.get("people", [])]
    out["assignments"] = [dict(a, person=a["person"] + s, unit=a["unit"] + s) for a in registry.get("assignments", [])]
    subjects = []
    for subject in registry.get("subjects", []):
        subject = dict(subject, id=subject["id"] + s)
        if "unit" in subject:
            subject["unit"] += s
        subjects.append(subject)
    out["subjects"] = subjects
    exemptions = []
    for exemption in registry.get("exemptions", []):
        exemption = dict(exemption, id=exemption["id"] + s)
        for field in ("person", "unit", "subject"):
            if field in exemption:
                exemption[field] += s
        exemptions.append(exemption)
    out["exemptions"] = exemptions
    return out


def _instant(text: str) -> dt.datetime:
    instant = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=TZ)  # naive: local time, as the library reads it


def _jittered(text: str, rng: random.Random, minutes: int) -> str:
    """``text`` moved by up to ``minutes`` either way, kept inside its local day, written with the
    offset it had (a UTC time stays UTC)."""
    if minutes <= 0:
        return text
    instant = _instant(text)
    local = instant.astimezone(TZ)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    moved = local + dt.timedelta(minutes=rng.randint(-minutes, minutes))
    moved = min(max(moved, day_start), day_start + dt.timedelta(hours=23, minutes=59))
    moved = moved.astimezone(instant.tzinfo)
    return moved.strftime("%Y-%m-%dT%H:%M:%SZ") if text.endswith("Z") else moved.isoformat()


def copy_events(events: list[dict[str, Any]], k: int, seed: int, drop: float, jitter: int) -> list[dict[str, Any]]:
    """Copy ``k`` of the sample events: ids suffixed, a share ``drop`` of the routine patrols left
    out, patrol times jittered inside their local day."""
    s = suffix(k)
    rng = random.Random(f"xiangshan-world:{seed}:{k}")
    out = []
    for event in events:
        if event["kind"] == "patrol":
            routine = "subject" not in event and not event.get("participants")
            if routine and drop > 0 and rng.random() < drop:
                continue
            event = dict(event, time=_jittered(event["time"], rng, jitter if routine else min(jitter, 10)))
        else:
            event = dict(event)
        event["id"] += s
        for field in ("actor", "unit", "subject", "on_behalf_of"):
            if field in event:
                event[field] += s
        if "participants" in event:
            event["participants"] = [p + s for p in event["participants"]]
        attributes = event.get("attributes")
        if attributes and any(name in attributes for name in CORRELATION_ATTRIBUTES):
            event["attributes"] = {name: value + s if name in CORRELATION_ATTRIBUTES else value for name, value in attributes.items()}
        out.append(event)
    return out


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def write_world(out: Path, copies: int, seed: int, drop: float = 0.01, jitter: int = 30) -> dict[str, Any]:
    """Write the world into ``out``; return its parameters and counts (also in world.json)."""
    if copies < 1:
        raise ValueError("copies must be at least 1")
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    registry, events = load_sample()
    sections = ("units", "people", "assignments", "subjects", "exemptions")
    counts = {name: 0 for name in sections}
    # registry.yaml: JSON, one item per line
    parts: dict[str, list[str]] = {name: [] for name in sections}
    for k in range(copies):
        for name, items in copy_registry(registry, k).items():
            parts[name].extend(_dump(item) for item in items)
            counts[name] += len(items)
    with (out / "registry.yaml").open("w", encoding="utf-8") as f:
        f.write("{\n")
        for i, name in enumerate(sections):
            f.write(f'"{name}": [\n')
            f.write(",\n".join(parts[name]))
            f.write("\n]" + (",\n" if i < len(sections) - 1 else "\n"))
        f.write("}\n")
    del parts
    # events.jsonl: every copy, in time order
    lines: list[tuple[float, str, str]] = []
    patrols = 0
    for k in range(copies):
        for event in copy_events(events, k, seed, drop, jitter):
            patrols += event["kind"] == "patrol"
            lines.append((_instant(event["time"]).timestamp(), event["id"], _dump(event)))
    lines.sort()
    with (out / "events.jsonl").open("w", encoding="utf-8") as f:
        for _, _, line in lines:
            f.write(line)
            f.write("\n")
    world = {
        "generator": "benchmarks/world.py",
        "copies": copies,
        "seed": seed,
        "drop": drop,
        "jitter_minutes": jitter,
        "ruleset": str(RULESET.relative_to(ROOT)),
        "first_day": FIRST_DAY.isoformat(),
        "last_day": LAST_DAY.isoformat(),
        "as_of": AS_OF,
        "events": len(lines),
        "patrols": patrols,
        **counts,
        "seconds": round(time.perf_counter() - started, 2),
    }
    (out / "world.json").write_text(json.dumps(world, indent=2) + "\n", encoding="utf-8")
    return world


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, required=True, help="copies of the sample county (about 720 events each)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the per-copy variation (default 1)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write registry.yaml, events.jsonl and world.json into")
    parser.add_argument("--drop", type=float, default=0.01, help="share of routine patrols left out per copy (default 0.01)")
    parser.add_argument("--jitter", type=int, default=30, help="patrol times move by up to this many minutes, inside their day (default 30)")
    args = parser.parse_args(argv)
    if args.copies < 1 or not 0 <= args.drop < 1 or args.jitter < 0:
        parser.error("--copies must be at least 1, --drop in [0, 1), --jitter at least 0")
    world = write_world(args.out, args.copies, args.seed, args.drop, args.jitter)
    print(
        f"wrote {args.out}/registry.yaml and {args.out}/events.jsonl: {world['copies']} copies (seed {world['seed']}), "
        f"{world['events']} events ({world['patrols']} patrols), {world['units']} units, {world['people']} people, "
        f"{world['assignments']} assignments, {world['subjects']} subjects, {world['exemptions']} exemptions; "
        f"audit range {world['first_day']} to {world['last_day']} as of {world['as_of']} ({world['seconds']} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
