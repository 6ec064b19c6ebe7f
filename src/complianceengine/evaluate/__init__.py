"""Running a plan over events and gathering the findings into a :class:`Report`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pendulum

from ..compile import Organisation, Plan, compile_plan
from ..errors import NotificationError, UsageError
from ..findings import (
    FAILING,
    Finding,
    ObligationSummary,
    Report,
    StatusCounts,
    UnitSummary,
)
from ..model import Event, EventLog, Registry, Ruleset
from ..plugins import Plugins
from . import reference

__all__ = ["audit", "summarise"]


def audit(
    ruleset: Ruleset,
    registry: Registry,
    events: EventLog | Iterable[Event],
    *,
    first_day: dt.date,
    last_day: dt.date,
    as_of: dt.datetime | None = None,
    plugins: Plugins | None = None,
) -> Report:
    """Judge every obligation of ``ruleset`` over the local days ``first_day``..``last_day``.

    ``as_of`` (default: now) is the moment of the audit: later events are ignored and periods or
    deadlines not over by then are ``open`` rather than ``missed``. Nothing passed in is modified.
    ``plugins`` provide calendars, post-process findings and are notified of failing ones. Every
    notifier is called even if one fails; failures raise :class:`NotificationError`, which
    carries the finished report.
    """
    plugins = plugins or Plugins()
    if as_of is None:
        as_of = pendulum.now("UTC")
    elif as_of.tzinfo is None or as_of.utcoffset() is None:
        raise UsageError("as_of must carry a time zone")
    if isinstance(events, EventLog):
        log = events
    else:
        log = EventLog(events=tuple(events))
    plan = compile_plan(ruleset, registry, first_day, last_day, as_of, plugins)
    findings = reference.evaluate(plan, log.events)
    findings = plugins.chain("complianceengine_process_findings", "findings", findings=findings, ruleset=ruleset)
    if not isinstance(findings, list) or not all(isinstance(f, Finding) for f in findings):
        raise UsageError("a complianceengine_process_findings plugin returned something other than a list of findings")
    report = summarise(plan, findings, log)
    failures = plugins.each_isolated("complianceengine_notify", findings=[f for f in findings if f.status in FAILING], report=report)
    if failures:
        raise NotificationError(report, failures)
    return report


def summarise(plan: Plan, findings: list[Finding], log: EventLog) -> Report:
    """Wrap findings in a report with per-obligation and per-unit (roll-up) summaries."""
    ruleset = plan.ruleset
    obligations = []
    for compiled in plan.obligations:
        mine = [f for f in findings if f.obligation == compiled.obligation.id]
        obligation = compiled.obligation
        assumptions = [obligation.note or "the requirement is the ruleset's choice"] if obligation.assumed else []
        assumptions += [
            f"during {r.calendar}: {r.note or 'the raised requirement is the ruleset choice'}"
            for r in getattr(obligation, "during", [])
            if r.assumed
        ]
        counts = StatusCounts.of(mine)
        obligations.append(
            ObligationSummary(
                obligation=compiled.obligation.id,
                kind=compiled.obligation.kind,
                title=compiled.obligation.title,
                cited=compiled.cited,
                assumed=bool(assumptions),
                assumptions=tuple(assumptions),
                not_judged=compiled.unavailable,
                counts=counts,
                rate=counts.rate,
            )
        )
    return Report(
        ruleset=ruleset.id,
        ruleset_version=ruleset.version,
        title=ruleset.title,
        timezone=ruleset.timezone,
        first_day=plan.first_day,
        last_day=plan.last_day,
        as_of=plan.as_of,
        events_used=len(log.events),
        findings=tuple(findings),
        obligations=tuple(obligations),
        units=tuple(_roll_up(plan.organisation, findings)),
        rejects=log.rejects,
        duplicates=log.duplicates,
    )


def _roll_up(org: Organisation, findings: list[Finding]) -> list[UnitSummary]:
    """Counts per unit, each unit including everything below it, in tree order."""
    below: dict[str, list[Finding]] = {unit: [] for unit in org.units}
    for finding in findings:
        if finding.unit is None or finding.unit not in org.units:
            continue
        for unit in [finding.unit, *org.ancestors(finding.unit)]:
            below[unit].append(finding)
    out: list[UnitSummary] = []

    def visit(unit_id: str, depth: int) -> None:
        unit = org.units[unit_id]
        counts = StatusCounts.of(below[unit_id])
        out.append(UnitSummary(unit=unit_id, kind=unit.kind, name=unit.name, parent=unit.parent, depth=depth, counts=counts, rate=counts.rate))
        for child in org.children[unit_id]:
            visit(child, depth + 1)

    for unit in org.registry.units:
        if unit.parent is None:
            visit(unit.id, 0)
    return out
