"""Measure the live monitor's two engines on scaled Xiangshan worlds: ingest rate, per-event
ingest latency percentiles, and how long a status, a checklist and a check take.

    python benchmarks/bench_monitor.py                  # 20 and 80 copies, both engines
    python benchmarks/bench_monitor.py --copies 140 --engine python

Each world is made by ``benchmarks/world.py`` (seeded). Its events are fed one at a time, as
records (dicts, as a port system's queue gives them), in time order; each ``ingest`` is timed.
Then at noon on 15 October 2026: ``status`` (since 1 October), ``due`` for one person,
``at_risk`` within 12 hours, and ``check``, each timed once after a warm-up call. Figures are
measured in one run and printed; nothing is asserted. Issue 13's target for the default engine
is at least 50,000 events/s and p99 under 1 ms per event.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import complianceengine as ce  # noqa: E402

TZ = dt.timezone(dt.timedelta(hours=8))


def world(copies: int, folder: Path) -> tuple[Path, Path]:
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "world.py"), "--copies", str(copies), "--seed", "1", "--out", str(folder)],
                   check=True, capture_output=True)
    return folder / "registry.yaml", folder / "events.jsonl"


def timed(call, *args, **kwargs) -> float:
    call(*args, **kwargs)  # warm-up (caches, imports)
    start = time.perf_counter()
    call(*args, **kwargs)
    return time.perf_counter() - start


def measure(copies: int, engine: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        registry_path, events_path = world(copies, Path(scratch))
        ruleset = ce.load_ruleset(ROOT / "rulesets" / "xiangshan" / "ruleset.yaml")
        registry = ce.load_registry(registry_path, ruleset)
        records = [json.loads(line) for line in events_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    monitor = ce.Monitor(ruleset, registry, engine=engine)
    latencies = []
    start = time.perf_counter()
    for record in records:
        before = time.perf_counter()
        monitor.ingest(record)
        latencies.append(time.perf_counter() - before)
    total = time.perf_counter() - start
    latencies.sort()
    as_of = dt.datetime(2026, 10, 15, 12, tzinfo=TZ)
    person = next(a.person for a in registry.assignments if a.role == "dock_staff")
    return {
        "events": len(records),
        "rejects": len(monitor.rejects),
        "rate": len(records) / total,
        "p50_us": statistics.median(latencies) * 1e6,
        "p99_us": latencies[int(0.99 * (len(latencies) - 1))] * 1e6,
        "max_us": latencies[-1] * 1e6,
        "status_s": timed(monitor.status, as_of, dt.date(2026, 10, 1)),
        "due_s": timed(monitor.due, as_of, person=person),
        "at_risk_s": timed(monitor.at_risk, as_of, dt.timedelta(hours=12)),
        "check_s": timed(monitor.check, as_of),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, action="append", help="copies of the sample county (repeatable; default 20 and 80)")
    parser.add_argument("--engine", action="append", choices=["python", "durable"], help="repeatable; default both")
    args = parser.parse_args()
    sizes = args.copies or [20, 80]
    engines = args.engine or ["python", "durable"]
    print("| engine | copies | events | ingest events/s | p50 us | p99 us | max us | status s | due s | at_risk s | check s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    results = {}
    for copies in sizes:
        for engine in engines:
            r = results[engine, copies] = measure(copies, engine)
            assert r["rejects"] == 0, f"{r['rejects']} rejects"
            print(f"| {engine} | {copies} | {r['events']:,} | {r['rate']:,.0f} | {r['p50_us']:.0f} | {r['p99_us']:.0f} | {r['max_us']:.0f} | "
                  f"{r['status_s']:.2f} | {r['due_s']:.2f} | {r['at_risk_s']:.2f} | {r['check_s']:.2f} |", flush=True)
    print("\nRatios (this run):")
    for engine in engines:
        if len(sizes) > 1:
            small, large = results[engine, sizes[0]], results[engine, sizes[-1]]
            print(f"- {engine}, {sizes[0]} -> {sizes[-1]} copies (events x{large['events'] / small['events']:.2f}): "
                  f"status x{large['status_s'] / small['status_s']:.2f}, ingest rate x{large['rate'] / small['rate']:.2f}")
    if len(engines) == 2:
        for copies in sizes:
            a, b = results[engines[0], copies], results[engines[1], copies]
            print(f"- {copies} copies: {engines[0]} ingests x{a['rate'] / b['rate']:.1f} the events/s of {engines[1]}, "
                  f"status x{b['status_s'] / a['status_s']:.2f} the time")
    print("Target (issue 13, default engine): >= 50,000 events/s and p99 < 1,000 us per ingested event.")


if __name__ == "__main__":
    main()
