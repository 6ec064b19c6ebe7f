"""The monitor's commands: ``due`` (one person's or unit's checklist) and ``watch`` (events as
they come, and each finding that becomes missed, late or at risk). See docs/monitor.md."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import select
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pendulum

from .errors import UsageError
from .eventfiles import read_events
from .findings import Finding
from .loading import load_registry, load_ruleset
from .model import _parse_duration
from .monitor import Checklist, DueItem, Monitor
from .plugins import Plugins
from .report import one_line
from .timeframes import instant_option
from .words import Lang, delay_text, period_text, status_text, when_text

__all__ = ["due", "watch"]


def _duration(text: str, option: str) -> dt.timedelta:
    try:
        parsed = _parse_duration(text)  # the ruleset's own duration parser
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    return dt.timedelta(seconds=parsed.total_seconds())


def due(args: argparse.Namespace, plugins: Plugins) -> int:
    """Print the checklist; exit 1 when something is overdue or at risk, else 0."""
    ruleset = load_ruleset(args.ruleset, plugins)
    registry = load_registry(args.registry, ruleset)
    monitor = Monitor(ruleset, registry, plugins=plugins, lang=args.lang, engine=args.engine)
    monitor.ingest_many(read_events(args.events, ruleset, registry, plugins).events)
    as_of = instant_option(args.as_of, ruleset.timezone) if args.as_of else pendulum.now("UTC")  # as the audit reads --as-of
    horizon = _duration(args.horizon, "--horizon")
    checklist = monitor.due(as_of, person=args.person, unit=args.unit)
    risky = {i.finding.id for i in checklist.due if i.deadline <= as_of + horizon}  # due: not done yet
    if args.format == "json":
        payload = json.loads(checklist.model_dump_json())
        payload["at_risk"] = sorted(risky)
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print(_markdown(checklist, risky, ruleset.timezone, args.lang))
    return 1 if risky or checklist.overdue else 0


def _markdown(checklist: Checklist, risky: set[str], tz: str, lang: Lang) -> str:
    zh = lang == "zh"
    out = [f"# {'履职清单' if zh else 'Checklist'}: {checklist.who}", "",
           f"{'截至' if zh else 'As of'} {when_text(checklist.as_of, tz)}.", ""]

    def item(i: DueItem) -> str:
        f = i.finding
        left = f"{'还需' if zh else 'still needs'} {i.remaining:g}; " if i.remaining else ""
        flag = (" **" + ("有风险" if zh else "at risk") + "**") if f.id in risky else ""
        return one_line(f"- {f.obligation}{' / ' + f.step if f.step else ''}, {f.subject} ({period_text(f.period, tz, lang)}): {left}"
                        f"{'截止' if zh else 'due by'} {when_text(i.deadline, tz)}{flag}")

    out += [f"## {'待办' if zh else 'Due'} ({len(checklist.due)})", ""] + ([item(i) for i in checklist.due] or ["-"])
    out += ["", f"## {'已逾期' if zh else 'Overdue'} ({len(checklist.overdue)})", ""]
    out += [f"- {f.obligation}{' / ' + f.step if f.step else ''} ({f.subject.id}): {status_text(f.status, lang)}, "
            f"{'截止' if zh else 'due'} {when_text(f.due or f.period.end, tz)}"
            + (f", {delay_text(dt.timedelta(seconds=f.delay_seconds), lang)}" if f.delay_seconds else "")
            for f in checklist.overdue] or ["-"]
    out += ["", f"## {'已完成' if zh else 'Done'} ({len(checklist.done)})", ""]
    out += [one_line(f"- {i.finding.obligation}, {i.finding.subject} ({period_text(i.finding.period, tz, lang)}): {i.finding.observed}")
            for i in checklist.done] or ["-"]
    return "\n".join(out)


def _lines(stream: IO[str]) -> Iterator[str | None]:
    """The lines of ``stream`` as they come; ``None`` whenever no line is waiting (a pause, when
    the monitor judges what it has), and for a file that is not standard input, following it as
    it grows (``tail -f``) until interrupted."""
    follow = stream is not sys.stdin
    while True:
        waiting = True
        try:
            waiting = bool(select.select([stream], [], [], 0)[0])
        except (ValueError, OSError, TypeError):  # not selectable (a test's StringIO): read on
            pass
        if not waiting:
            yield None
        line = stream.readline()
        if line:
            yield line
            continue
        if not follow:
            return
        yield None
        time.sleep(0.5)


def watch(args: argparse.Namespace, plugins: Plugins) -> int:
    """Ingest events line by line; after each batch (or pause) tell what changed, judged at the
    latest event time seen. Runs until standard input ends (or, following a file, until
    interrupted)."""
    ruleset = load_ruleset(args.ruleset, plugins)
    registry = load_registry(args.registry, ruleset)
    horizon = _duration(args.horizon, "--horizon")
    told: list[tuple[Finding, str]] = []
    monitor = Monitor(ruleset, registry, plugins=plugins, engine=args.engine, at_risk_within=horizon, on_change=lambda f, change: told.append((f, change)))
    if args.events is not None and not Path(args.events).exists():
        raise UsageError(f"--events {args.events}: no such file")
    stream = open(args.events, encoding="utf-8") if args.events is not None else sys.stdin
    latest: dt.datetime | None = None
    pending = 0
    number = 0

    def judge() -> None:
        nonlocal pending
        if latest is None or not pending:
            return
        pending = 0
        # judged just after the latest event: events at or after the as-of time are not known yet
        monitor.check(latest + dt.timedelta(microseconds=1), since=monitor.first_day)
        for finding, change in told:
            _print_change(finding, change, latest, ruleset.timezone, args.format)
        told.clear()
        sys.stdout.flush()

    try:
        for line in _lines(stream):
            if line is None:
                judge()
                continue
            number += 1
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                print(f"warning: line {number}: not JSON ({exc.msg})", file=sys.stderr)
                continue
            reject = monitor.ingest(record)
            if reject is not None:
                print(f"warning: line {number}: {'; '.join(reject.errors)}", file=sys.stderr)
                continue
            time_ = monitor.events[-1].time
            latest = time_ if latest is None or time_ > latest else latest
            pending += 1
            if pending >= args.batch:
                judge()
        judge()
    finally:
        if stream is not sys.stdin:
            stream.close()
    return 0


def _print_change(finding: Finding, change: str, as_of: dt.datetime, tz: str, format: str) -> None:
    if format == "json":
        print(json.dumps({"change": change, "as_of": as_of.isoformat(), "finding": json.loads(finding.model_dump_json())}, ensure_ascii=False))
        return
    print(one_line(f"{when_text(as_of, tz)} {change}: {finding.obligation}{' / ' + finding.step if finding.step else ''} "
                   f"{finding.subject} ({finding.period.label}): {finding.observed}"))
