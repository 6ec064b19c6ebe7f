"""Exemptions: who is excused from which duty, when (leave, typhoon closures, custody, holidays).

Registry records and events of kinds that declare ``excuses`` become :class:`ExcusedSpan` s;
:func:`excusing` picks those that apply to one target of one obligation. An exemption never
hides an event: it can only lower the bar (see ``docs/semantics.md``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pendulum

from .model import Event, TimedObligation
from .plan import ExcusedSpan, Plan, Target
from .timeframes import Interval, days_interval

__all__ = ["ExcusedSpan", "Exemptions", "excusing", "exemption_spans", "fixed_excusing"]


@dataclass(frozen=True)
class Exemptions:
    """Every exemption in force, in the order found, and looked up by whom it names."""

    spans: tuple[ExcusedSpan, ...]
    #: (who, id) -> (position in ``spans``, span)
    by_holder: dict[tuple[str, str], list[tuple[int, ExcusedSpan]]] = field(default_factory=dict)
    #: does one of them name a unit (else a target's units need not be looked up)
    units: bool = False

    @classmethod
    def of(cls, spans: Iterable[ExcusedSpan]) -> Exemptions:
        spans = tuple(spans)
        out = cls(spans, units=any(span.who == "unit" for span in spans))
        for position, span in enumerate(out.spans):
            out.by_holder.setdefault((span.who, span.id), []).append((position, span))
        return out


def exemption_spans(plan: Plan, events: Iterable[Event], registry: bool = True) -> Exemptions:
    """Every exemption in force: registry records (unless ``registry`` is false: the plan holds
    them already, :func:`fixed_excusing`), and events of kinds that declare ``excuses`` (only
    events known at ``as_of``)."""
    out = [] if not registry else [
        ExcusedSpan(
            e.id, "person" if e.person else "unit" if e.unit else "subject", e.person or e.unit or e.subject or "",
            days_interval(e.start, e.end, plan.tz), frozenset(e.obligations) if e.obligations is not None else None, e.reason,
            "registry",
        )
        for e in plan.organisation.registry.exemptions
    ]
    for event in events:
        kind = plan.ruleset.event_kinds.get(event.kind)
        if kind is None or kind.excuses is None or event.time >= plan.as_of:
            continue
        who = event.field(kind.excuses.who)
        until = event.attributes.get(kind.excuses.until)
        if not isinstance(who, str) or not isinstance(until, str):
            continue
        end = pendulum.parse(until, tz=plan.tz)
        if not isinstance(end, dt.datetime) or end <= event.time:
            continue
        obligations = frozenset(kind.excuses.obligations) if kind.excuses.obligations is not None else None
        role = "person" if kind.excuses.who == "actor" else kind.excuses.who
        out.append(ExcusedSpan(event.id, role, who, Interval(event.time, end), obligations, kind.label.en, "event"))
    return Exemptions.of(out)


def fixed_excusing(
    plan: Plan, target: Target, obligation: TimedObligation, registry: Exemptions,
) -> tuple[ExcusedSpan, ...]:
    """The exemptions known without events that apply to one target of one obligation: the
    windows of its ``excused_in`` calendars (recorded as ``calendar:<name>``: they excuse
    everyone) and the registry's records naming the target, its unit or a unit above it (a unit
    exemption covers the unit and everything below it). ``registry`` is ``exemption_spans(plan,
    ())``, worked out once for all targets; the result goes into the plan."""
    return tuple(_applying(plan, target, obligation, registry, calendars=True))


def excusing(
    plan: Plan, target: Target, obligation: TimedObligation, events: Exemptions, fixed: Sequence[ExcusedSpan],
) -> list[ExcusedSpan]:
    """The exemptions that apply to one target of one obligation: the plan's fixed ones
    (:func:`fixed_excusing`), then those of the exemption ``events``."""
    return [*fixed, *_applying(plan, target, obligation, events, calendars=False)]


def _applying(
    plan: Plan, target: Target, obligation: TimedObligation, exemptions: Exemptions, calendars: bool,
) -> list[ExcusedSpan]:
    org = plan.organisation
    out = [
        ExcusedSpan(f"calendar:{name}", "calendar", name, part, None, plan.ruleset.calendars[name].label.en, "calendar")
        for name in (obligation.excused_in if calendars else ())
        for part in plan.windows.get(name, [])
    ]
    if not exemptions.spans:  # none at all (most audits' registries, most event logs)
        return out
    # only exemptions naming the target, its unit or a unit above it can apply: look those up
    holders = [("unit", unit) for unit in ([target.unit, *org.ancestors(target.unit)] if exemptions.units and target.unit in org.units else [])]
    if target.subject.kind in ("person", "subject"):
        holders.append((target.subject.kind, target.subject.id))
    found = sorted({position: span for holder in holders for position, span in exemptions.by_holder.get(holder, ())}.items())
    for _, span in found:
        if span.obligations is not None and obligation.id not in span.obligations:
            continue
        if span.who == "unit":
            applies = target.unit is not None and span.id in org.units and target.unit in org.subtree(span.id)
        elif span.who == "person":
            applies = target.subject.kind == "person" and target.subject.id == span.id
        else:
            applies = target.subject.kind == "subject" and target.subject.id == span.id
        if applies:
            out.append(span)
    return out
