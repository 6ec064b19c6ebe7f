"""Turning a validated ruleset and registry into an evaluation plan (:class:`~.plan.Plan`).

For each obligation the plan says *who or what* it applies to (targets, each with the intervals
in which the duty is in force), and whatever its kind can work out without events (frames,
requirement variants, staffing shortfalls: ``ObligationKind.plan``). The ``match`` blocks stay
data; backends interpret them. Evaluators only read plans; they never look at YAML.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from .bulk import gc_paused
from .progress import Progress, quiet
from .errors import MissingPluginError, PluginError
from .findings import SubjectRef
from .match import condition_holds
from .model import (
    AnyObligation,
    PerAssignee,
    PerSubject,
    PerUnit,
    Registry,
    Ruleset,
    walk,
)
from .plan import ObligationPlan, Organisation, Plan, Target
from .plugins import BUILTIN_PLUGIN, Plugins
from .references import resolved
from .timeframes import BEGINNING, FOREVER, Interval, clip, date_range, day_start, days_interval, local
from .words import Lang


def cited(ruleset: Ruleset, obligation: AnyObligation) -> str:
    source = ruleset.sources[obligation.citation.source]
    return f"{source.short}, art. {obligation.citation.article}"


def missing_calendars(ruleset: Ruleset, plugins: Plugins) -> dict[str, str]:
    """Calendars whose ``provider`` no loaded plugin provides -> what to tell the author."""
    provided = plugins.calendar_providers()
    out = {}
    for name, calendar in ruleset.calendars.items():
        if calendar.provider is not None and calendar.provider not in provided:
            get = f"install {calendar.plugin}" if calendar.plugin else "install the plugin package that provides it"
            out[name] = (
                f"calendar {name!r} needs the provider {calendar.provider!r}, which no loaded plugin provides "
                f"({get}, or pass it to Plugins(...); a provider plugin must list it in complianceengine_calendar_providers)"
            )
    return out


def calendars_used(node: Any) -> set[str]:
    """Names of the calendars an obligation uses: ``match.in_calendar``, ``during`` and
    ``excused_in``, wherever they sit, and in a plugin kind any field named ``calendar``,
    ``calendars`` or ending in ``_calendar(s)``."""
    out: set[str] = set()
    for path, value, parent in walk(node):
        if not path or not isinstance(parent, BaseModel):
            continue
        name = path[-1]
        if name == "excused_in" or name in ("calendar", "calendars") or name.endswith(("_calendar", "_calendars")):
            # in_calendar and Raised.calendar are among these names; a plugin kind names its calendars like them
            out |= {value} if isinstance(value, str) else {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()
    return out


def calendar_windows(
    ruleset: Ruleset, first_day: dt.date, last_day: dt.date, plugins: Plugins, missing: Iterable[str],
    since: Mapping[str, dt.date] | None = None, short: list[str] | None = None,
) -> dict[str, list[Interval]]:
    """Every calendar's windows from its first day needed (``since[name]``, default
    ``first_day``: an audit looks back to judge a period or gap that began before its range) to
    the day after ``last_day``, merged and in order; provider calendars are asked of the plugins. ``missing``
    names the calendars no plugin provides (:func:`missing_calendars`); they are left out. A
    provider that cannot answer for the days asked is asked for fewer (down to the range); each
    such calendar gets a sentence in ``short``, when given, for the report's warnings."""
    tz = ruleset.timezone
    out = {}
    # one day past the range: a cadence deadline that falls exactly at the end of the range is
    # raised only if the window goes on past it (windows are half-open)
    following = last_day + dt.timedelta(days=1)
    for name, calendar in ruleset.calendars.items():
        if name in missing:
            continue
        start = min(first_day, (since or {}).get(name, first_day))
        if calendar.provider is None:
            # a ruleset's own windows, all of them up to the end of the day after the range (the
            # range itself ends where that day starts): a cadence clock may run from a visit long
            # before the lookback, and a window then still counts
            out[name] = clip([days_interval(w.start, w.end, tz) for w in calendar.windows],
                             Interval(BEGINNING, day_start(following + dt.timedelta(days=1), tz)))
            continue
        provided, first, last = None, start, following
        # a provider that cannot answer for the lookback or the day after is asked for less, down
        # to the range alone (which it must answer)
        for first, last in dict.fromkeys([(start, following), (start, last_day), (first_day, following), (first_day, last_day)]):
            try:
                provided = _provided(ruleset, name, plugins, first, last)
                break
            except PluginError:
                if (first, last) == (first_day, last_day):
                    raise
        if short is not None and (first, last) != (start, following):
            short.append(f"calendar {name!r}: its provider gave windows for {first} to {last} only, not from {start} to {following}; "
                         "verdicts that depend on windows outside those days treat them as having none")
        span = date_range(first, last, tz)
        if provided is None:
            raise PluginError(
                plugins.calendar_providers()[calendar.provider], "complianceengine_calendar_windows",
                f"declares the provider {calendar.provider!r} but gave no windows for calendar {name!r}",
            )
        intervals = []
        for start_, end in provided:
            if start_.tzinfo is None or end.tzinfo is None or end <= start_:
                raise PluginError(calendar.provider, "complianceengine_calendar_windows", f"bad window {start_!r} to {end!r} for calendar {name!r}")
            intervals.append(Interval(start_, end))
        out[name] = clip(intervals, span)
    return out


def _provided(ruleset: Ruleset, name: str, plugins: Plugins, first_day: dt.date, last_day: dt.date) -> Any:
    return plugins.first(
        "complianceengine_calendar_windows", name=name, calendar=ruleset.calendars[name], first_day=first_day, last_day=last_day,
        timezone=ruleset.timezone, base_dir=ruleset.calendar_folder(name),
    )


def in_force(rulesets: Sequence[Ruleset], tz: str) -> Interval:
    """When the duties of a ruleset (all its versions) exist: from the first version's
    ``effective.from`` to the last one's ``until``; without them, always. An audit never looks
    back before it, and a period that straddles its start or end is a partial period."""
    ordered = sorted(rulesets, key=lambda r: r.effective.from_ if r.effective else dt.date.min)
    first, last = ordered[0].effective, ordered[-1].effective
    start = day_start(first.from_, tz) if first is not None else BEGINNING
    end = days_interval(last.from_, last.until, tz).end if last is not None else day_start(FOREVER.date(), tz)
    return Interval(start, end)


def compile_plan(
    ruleset: Ruleset, registry: Registry, first_day: dt.date, last_day: dt.date, as_of: dt.datetime, plugins: Plugins | None = None,
    *, duties: Interval | Mapping[str, Interval] | None = None, lang: Lang = "en", progress: Progress = quiet,
) -> Plan:
    """The plan of ``ruleset`` over the local days ``first_day``..``last_day``: every obligation's
    targets, and what its kind plans without events. ``duties`` is when the ruleset's duties
    exist (:func:`in_force`; default: this version's ``effective`` days, or always), or that per
    obligation id (an obligation it does not name: this version's days). ``lang`` is
    the language the kinds word their findings in; ``progress`` is told which obligation is being
    planned."""
    plugins = plugins or Plugins()
    ruleset = resolved(ruleset, plugins)
    tz = ruleset.timezone
    span = date_range(first_day, last_day, tz)
    own = in_force([ruleset], tz) if duties is None or isinstance(duties, Mapping) else duties
    duty = {o.id: duties.get(o.id, own) if isinstance(duties, Mapping) else own for o in ruleset.obligations}
    missing = missing_calendars(ruleset, plugins)
    required = [message for name, message in missing.items() if not ruleset.calendars[name].optional]
    if required:
        raise MissingPluginError("; ".join(required))
    kinds = plugins.obligation_kinds()
    # how far back each obligation looks, and so each calendar it uses
    lookbacks = {}
    for obligation in ruleset.obligations:
        plugin, kind = kinds[obligation.kind]
        lookbacks[obligation.id] = (max(min(kind.lookback(obligation, ruleset, span), span.start), duty[obligation.id].start)
                                    if kind.lookback else span.start)
    since: dict[str, dt.date] = {}
    for obligation in ruleset.obligations:
        day = local(lookbacks[obligation.id], tz).date()
        for name in calendars_used(obligation):
            since[name] = min(since.get(name, day), day)
    short: list[str] = []
    windows = calendar_windows(ruleset, first_day, last_day, plugins, missing, since, short)
    horizon = Interval(min(lookbacks.values(), default=span.start), span.end)
    base = Plan(
        ruleset=ruleset, registry=registry, first_day=first_day, last_day=last_day, range=span, as_of=as_of, horizon=horizon,
        windows={name: tuple(parts) for name, parts in windows.items()}, lang=lang, notes=tuple(short),
    )
    organisation = base.organisation
    compiled = []
    with gc_paused():  # a county's frames are hundreds of thousands of acyclic objects
        for done, obligation in enumerate(ruleset.obligations):
            progress(f"planning {obligation.id}", done, len(ruleset.obligations))
            compiled.append(_compiled(obligation, base, organisation, kinds, missing, Interval(lookbacks[obligation.id], span.end),
                                      duty[obligation.id]))
    plan = base.model_copy(update={"obligations": tuple(compiled)})
    plan.__dict__["organisation"] = organisation  # built once for the base; the copy shares it
    return plan


def _compiled(
    obligation: AnyObligation, base: Plan, organisation: Organisation, kinds: Mapping[str, tuple[str, Any]], missing: Mapping[str, str],
    looked_at: Interval, duty: Interval,
) -> ObligationPlan:
    """One obligation's targets and what its kind plans for them."""
    ruleset = base.ruleset
    targets: tuple[Target, ...] = ()
    applies_to = getattr(obligation, "applies_to", None)
    if isinstance(applies_to, (PerAssignee, PerUnit, PerSubject)):
        targets = tuple(_targets(applies_to, organisation, looked_at, duty))
    unavailable = "; ".join(missing[name] for name in sorted(calendars_used(obligation)) if name in missing) or None
    plugin, kind = kinds[obligation.kind]
    planned: dict[str, Any] = {}
    if kind.plan is not None and unavailable is None:
        try:
            planned = kind.plan(obligation, base, targets)
        except Exception as exc:
            if plugin == BUILTIN_PLUGIN:
                raise
            raise PluginError(plugin, f"planner of kind {obligation.kind!r}", f"{type(exc).__name__}: {exc}") from exc
    return ObligationPlan(ruleset=ruleset.id, obligation=obligation, cited=cited(ruleset, obligation), unavailable=unavailable,
                          targets=targets, **planned)


def _targets(applies_to: PerAssignee | PerUnit | PerSubject, org: Organisation, looked_at: Interval, duties: Interval) -> list[Target]:
    """The targets with a duty in force at some time in ``looked_at`` (what the audit looks at:
    from its lookback to the end of its range); each keeps every interval of its duty inside
    ``duties`` (when the ruleset is in force), not cut at the audit's edges."""
    out: list[Target] = []
    if isinstance(applies_to, PerAssignee):
        for (person, role, unit), intervals in org.holdings_of(applies_to.roles):
            active = clip(intervals, duties)
            if clip(active, looked_at):
                name = org.people[person].name if person in org.people else None
                out.append(
                    Target(subject=SubjectRef(kind="person", id=person, name=name, role=role), unit=unit, active=tuple(active),
                           units=org.subtree(unit))
                )
    elif isinstance(applies_to, PerUnit):
        for record in org.registry.units:
            if record.kind != applies_to.unit_kind:
                continue
            if not all(condition_holds(record.attributes.get(k), c) for k, c in applies_to.where.items()):
                continue
            out.append(Target(subject=SubjectRef(kind="unit", id=record.id, name=org.name(record.id)), unit=record.id, active=(duties,),
                              units=org.subtree(record.id)))
    else:
        for subject in org.registry.subjects:
            if subject.kind != applies_to.subject_kind:
                continue
            if not all(condition_holds(subject.attributes.get(k), c) for k, c in applies_to.where.items()):
                continue
            active = clip([days_interval(subject.start, subject.end, org.tz)], duties)
            if clip(active, looked_at):
                out.append(Target(subject=SubjectRef(kind="subject", id=subject.id, name=subject.name), unit=subject.unit, active=tuple(active)))
    return out
