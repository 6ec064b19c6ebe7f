"""Turning a validated ruleset and registry into an evaluation plan.

The plan says, for each obligation, *who or what* it applies to (targets, each with the
intervals in which the duty is in force) and *which events* can count (a matcher built from the
declarative ``match`` block, never ``eval``). Evaluators only read plans; they never look at YAML.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from difflib import get_close_matches
from fractions import Fraction
from typing import Any

import pendulum
from pydantic import BaseModel, ValidationError

from .errors import Location, MissingPluginError, PluginError, Problem, RulesetError
from .findings import Finding, Status, SubjectRef, finding_id, instant_key
from .model import (
    BUILTIN_KINDS,
    AnyObligation,
    CadenceObligation,
    Comparison,
    Event,
    EventMatch,
    ExtensionObligation,
    FrequencyObligation,
    PerAssignee,
    PerSubject,
    PerUnit,
    Registry,
    Ruleset,
    walk,
)
from .plugins import ObligationKind, Plugins
from .references import path_text
from .timeframes import Interval, Period, clip, date_range, days_interval, zone

# --------------------------------------------------------------------------------------------
# Matching events


def condition_holds(value: Any, condition: Any) -> bool:
    """Does one field value satisfy one ``where`` condition? On a list value (participants, a
    list attribute) a condition holds when it holds for at least one item."""
    if isinstance(value, tuple):
        if isinstance(condition, Comparison) and condition.exists is not None:
            return bool(value) == condition.exists
        return any(condition_holds(item, condition) for item in value)
    if isinstance(condition, Comparison):
        checks = []
        if condition.exists is not None:
            checks.append((value is not None) == condition.exists)
        if condition.eq is not None:
            checks.append(_equal(value, condition.eq))
        if condition.ne is not None:
            checks.append(not _equal(value, condition.ne))
        if condition.in_ is not None:
            checks.append(any(_equal(value, c) for c in condition.in_))
        if condition.not_in is not None:
            checks.append(not any(_equal(value, c) for c in condition.not_in))
        for op, bound in (("gt", condition.gt), ("gte", condition.gte), ("lt", condition.lt), ("lte", condition.lte)):
            if bound is not None:
                checks.append(_ordered(value, op, bound))
        return all(checks)
    if isinstance(condition, list):
        return any(_equal(value, c) for c in condition)
    return _equal(value, condition)


def _equal(value: Any, expected: Any) -> bool:
    # True == 1 in Python; a ruleset saying `urgent: true` must not match the number 1
    if isinstance(value, bool) != isinstance(expected, bool):
        return False
    return value == expected


def _ordered(value: Any, op: str, bound: Any) -> bool:
    numeric = (int, float)
    comparable = (isinstance(value, numeric) and isinstance(bound, numeric) and not isinstance(value, bool)) or (
        isinstance(value, str) and isinstance(bound, str)
    )
    if not comparable:
        return False
    return {"gt": value > bound, "gte": value >= bound, "lt": value < bound, "lte": value <= bound}[op]


def matcher(match: EventMatch, tz: str, windows: dict[str, list[Interval]] | None = None) -> Callable[[Event], bool]:
    """A predicate: the event is of one of the kinds, every ``where`` condition holds, it falls in
    the local ``time_of_day`` window and inside the ``in_calendar`` windows, and its attendance
    reaches the ``quorum``."""
    inside = None if match.in_calendar is None else (windows or {}).get(match.in_calendar, [])
    # calendar windows are merged and in order (``calendar_windows``): find the one that could
    # hold an instant by bisection instead of trying each
    starts = [part.start for part in inside or ()]
    kinds = frozenset(match.kinds)
    where = list(match.where.items())
    clock = match.time_of_day
    quorum = match.quorum
    wall = zone(tz)

    def in_calendar(event: Event) -> bool:
        if inside is None:
            return True
        at = bisect.bisect_right(starts, event.time) - 1
        return at >= 0 and event.time in inside[at]

    def in_clock(event: Event) -> bool:
        if clock is None:
            return True
        seen = event.time.astimezone(wall)
        now = f"{seen.hour:02d}:{seen.minute:02d}"
        if clock.from_ < clock.to:
            return clock.from_ <= now < clock.to
        return now >= clock.from_ or now < clock.to  # wraps past midnight

    def has_quorum(event: Event) -> bool:
        if quorum is None:
            return True
        present = event.attributes.get(quorum.attribute) or ()
        return len(set(present) & set(quorum.members)) >= quorum.at_least if isinstance(present, tuple) else False

    def matches(event: Event) -> bool:
        return (
            event.kind in kinds
            and all(condition_holds(event.field(name), cond) for name, cond in where)
            and in_clock(event)
            and has_quorum(event)
            and in_calendar(event)
        )

    return matches


# --------------------------------------------------------------------------------------------
# The organisation over time


class Organisation:
    """The unit tree and who holds which role where, on which days."""

    def __init__(self, registry: Registry, tz: str):
        self.registry = registry
        self.tz = tz
        self.units = {unit.id: unit for unit in registry.units}
        self.people = {person.id: person for person in registry.people}
        self.children: dict[str, list[str]] = {unit.id: [] for unit in registry.units}
        for unit in registry.units:
            if unit.parent is not None:
                self.children[unit.parent].append(unit.id)
        self._subtree: dict[str, frozenset[str]] = {}
        self._line: dict[str, frozenset[str]] = {}
        # (person, role, unit) -> intervals in force
        self.holdings: dict[tuple[str, str, str], list[Interval]] = {}
        for assignment in registry.assignments:
            key = (assignment.person, assignment.role, assignment.unit)
            self.holdings.setdefault(key, []).append(days_interval(assignment.start, assignment.end, tz))
        # the same holdings looked up by person and by (role, unit), so that a question about one
        # person or one post does not scan every assignment
        self._by_person: dict[str, list[tuple[str, str, list[Interval]]]] = {}
        self._by_post: dict[tuple[str, str], list[tuple[str, list[Interval]]]] = {}
        for (person, role, unit), intervals in self.holdings.items():
            self._by_person.setdefault(person, []).append((role, unit, intervals))
            self._by_post.setdefault((role, unit), []).append((person, intervals))

    def ancestors(self, unit_id: str) -> list[str]:
        """Parent, grandparent, ... up to the root."""
        out, node = [], self.units[unit_id].parent
        while node is not None:
            out.append(node)
            node = self.units[node].parent
        return out

    def subtree(self, unit_id: str) -> frozenset[str]:
        """The unit and every unit below it."""
        if unit_id not in self._subtree:
            found, stack = set(), [unit_id]
            while stack:
                node = stack.pop()
                found.add(node)
                stack.extend(self.children.get(node, []))
            self._subtree[unit_id] = frozenset(found)
        return self._subtree[unit_id]

    def line(self, unit_id: str) -> frozenset[str]:
        """The unit, its ancestors and its descendants: where a supervising role may act."""
        if unit_id not in self._line:
            self._line[unit_id] = self.subtree(unit_id) | frozenset(self.ancestors(unit_id))
        return self._line[unit_id]

    def holds(self, person: str, roles: frozenset[str], units: frozenset[str], instant: dt.datetime) -> bool:
        return any(
            role in roles and unit in units and any(instant in interval for interval in intervals)
            for role, unit, intervals in self._by_person.get(person, ())
        )

    def holders(self, role: str, unit_id: str, instant: dt.datetime) -> list[str]:
        """The people holding ``role`` at exactly ``unit_id`` at ``instant``, sorted."""
        return sorted(
            {person for person, intervals in self._by_post.get((role, unit_id), ()) if any(instant in i for i in intervals)}
        )

    def name(self, unit_id: str) -> str | None:
        unit = self.units.get(unit_id)
        return str(unit.name) if unit is not None and unit.name is not None else None


# --------------------------------------------------------------------------------------------
# The plan


@dataclass(frozen=True)
class Target:
    """One thing an obligation is judged for, and when the duty is in force for it."""

    subject: SubjectRef
    unit: str | None
    active: tuple[Interval, ...]
    #: units whose events count for this target
    units: frozenset[str] = field(default=frozenset())


@dataclass(frozen=True)
class CompiledObligation:
    ruleset: str
    obligation: AnyObligation
    cited: str
    targets: tuple[Target, ...] = ()
    matches: Callable[[Event], bool] | None = None
    #: why the obligation cannot be judged (an optional calendar's provider is missing), or None
    unavailable: str | None = None
    #: (plugin name, kind) for an obligation kind a plugin adds
    extension: tuple[str, ObligationKind] | None = None

    def finding(
        self, subject: SubjectRef, unit: str | None, period: Period, status: Status, required: str, observed: str,
        *, anchor: str | None = None, **extra: Any,
    ) -> Finding:
        """A finding of this obligation; ``extra`` sets the other :class:`Finding` fields.
        ``anchor`` tells this verdict from the obligation's others for the same subject, step and
        window (default: the period's start; see :func:`finding_id`)."""
        obligation = self.obligation
        anchor = instant_key(period.start) if anchor is None else anchor
        return Finding(
            id=finding_id(self.ruleset, obligation.id, subject, unit, extra.get("step"), extra.get("window"), anchor),
            obligation=obligation.id,
            obligation_kind=obligation.kind,
            title=obligation.title,
            citation=obligation.citation,
            cited=self.cited,
            assumed=obligation.assumed,
            subject=subject,
            unit=unit,
            period=period,
            status=status,
            required=required,
            observed=observed,
            **extra,
        )


@dataclass(frozen=True)
class Plan:
    """Everything an evaluator needs: obligations with their targets over one audit range."""

    ruleset: Ruleset
    organisation: Organisation
    range: Interval
    first_day: dt.date
    last_day: dt.date
    as_of: dt.datetime
    obligations: tuple[CompiledObligation, ...]
    #: calendar name -> its windows inside the range, merged and in order
    windows: dict[str, list[Interval]] = field(default_factory=dict)

    @property
    def tz(self) -> str:
        return self.ruleset.timezone


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
    ruleset: Ruleset, first_day: dt.date, last_day: dt.date, plugins: Plugins, missing: Iterable[str]
) -> dict[str, list[Interval]]:
    """Every calendar's windows inside the range, merged and in order; provider calendars are
    asked of the plugins. ``missing`` names the calendars no plugin provides
    (:func:`missing_calendars`); they are left out."""
    tz = ruleset.timezone
    span = date_range(first_day, last_day, tz)
    out = {}
    for name, calendar in ruleset.calendars.items():
        if name in missing:
            continue
        if calendar.provider is None:
            out[name] = clip([days_interval(w.start, w.end, tz) for w in calendar.windows], span)
            continue
        provided = plugins.first(
            "complianceengine_calendar_windows", name=name, calendar=calendar, first_day=first_day, last_day=last_day, timezone=tz,
            base_dir=ruleset.calendar_folder(name),
        )
        if provided is None:
            raise PluginError(
                plugins.calendar_providers()[calendar.provider], "complianceengine_calendar_windows",
                f"declares the provider {calendar.provider!r} but gave no windows for calendar {name!r}",
            )
        intervals = []
        for start, end in provided:
            if start.tzinfo is None or end.tzinfo is None or end <= start:
                raise PluginError(calendar.provider, "complianceengine_calendar_windows", f"bad window {start!r} to {end!r} for calendar {name!r}")
            intervals.append(Interval(start, end))
        out[name] = clip(intervals, span)
    return out


def compile_plan(
    ruleset: Ruleset, registry: Registry, first_day: dt.date, last_day: dt.date, as_of: dt.datetime, plugins: Plugins | None = None
) -> Plan:
    """Resolve every obligation's targets over the audit range ``first_day``..``last_day``."""
    plugins = plugins or Plugins()
    ruleset, errors, references = resolve_kinds(ruleset, plugins)
    if errors or references:
        file = str(ruleset._file) if ruleset._file else "<ruleset>"
        raise RulesetError(
            [Problem(Location(file), path_text(e["loc"]), e["msg"]) for e in errors]
            + [Problem(Location(file), path_text(path), message) for path, message in references]
        )
    tz = ruleset.timezone
    span = date_range(first_day, last_day, tz)
    organisation = Organisation(registry, tz)
    missing = missing_calendars(ruleset, plugins)
    required = [message for name, message in missing.items() if not ruleset.calendars[name].optional]
    if required:
        raise MissingPluginError("; ".join(required))
    windows = calendar_windows(ruleset, first_day, last_day, plugins, missing)
    kinds = plugins.obligation_kinds()
    compiled = []
    for obligation in ruleset.obligations:
        targets: tuple[Target, ...] = ()
        matches = None
        applies_to = getattr(obligation, "applies_to", None)
        if isinstance(applies_to, (PerAssignee, PerUnit, PerSubject)):
            targets = tuple(_targets(applies_to, organisation, span))
        match = getattr(obligation, "match", None)
        if isinstance(match, EventMatch):
            matches = matcher(match, tz, windows)
        unavailable = "; ".join(missing[name] for name in sorted(calendars_used(obligation)) if name in missing) or None
        extension = None if obligation.kind in BUILTIN_KINDS else kinds[obligation.kind]
        compiled.append(CompiledObligation(ruleset.id, obligation, cited(ruleset, obligation), targets, matches, unavailable, extension))
    return Plan(ruleset, organisation, span, first_day, last_day, as_of, tuple(compiled), windows)


def resolve_kinds(ruleset: Ruleset, plugins: Plugins) -> tuple[Ruleset, list[dict[str, Any]], list[tuple[tuple[Any, ...], str]]]:
    """The ruleset with every obligation of a plugin's kind validated by the plugin's model.

    Returns ``(ruleset, validation errors, reference problems)``; errors are pydantic error
    dicts and problems ``(path, message)`` pairs, both with paths from the document root, for
    the caller to locate. The ruleset given is not modified.
    """
    kinds = plugins.obligation_kinds()
    errors: list[dict[str, Any]] = []
    references: list[tuple[tuple[Any, ...], str]] = []
    obligations = list(ruleset.obligations)
    changed = False
    for index, obligation in enumerate(obligations):
        at = ("obligations", index)
        if obligation.kind in BUILTIN_KINDS:
            continue
        if obligation.kind not in kinds:
            known = [*BUILTIN_KINDS, *sorted(kinds)]
            close = get_close_matches(obligation.kind, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            references.append(
                (
                    (*at, "kind"),
                    f"obligation kind {obligation.kind!r} is not built in and no loaded plugin provides it; {hint}"
                    f"known kinds: {', '.join(known)}",
                )
            )
            continue
        plugin, kind = kinds[obligation.kind]
        if isinstance(obligation, ExtensionObligation):
            try:
                obligation = kind.model.model_validate(obligation.model_dump(by_alias=True, exclude_unset=True))
            except ValidationError as exc:
                errors += [{**e, "loc": (*at, *e["loc"])} for e in exc.errors()]
                continue
            obligations[index], changed = obligation, True
        if kind.check is not None:
            try:
                found = list(kind.check(obligation, ruleset))
                if not all(isinstance(path, tuple) and isinstance(message, str) for path, message in found):
                    raise TypeError("expected a list of (path tuple, message) pairs")
            except Exception as exc:
                raise PluginError(plugin, "ObligationKind.check", f"{type(exc).__name__}: {exc}") from exc
            references += [((*at, *path), message) for path, message in found]
    if errors or references or not changed:
        return ruleset, errors, references
    resolved = ruleset.model_copy(update={"obligations": obligations})
    resolved._file, resolved._calendar_folders = ruleset._file, ruleset._calendar_folders
    return resolved, errors, references


def _targets(applies_to: PerAssignee | PerUnit | PerSubject, org: Organisation, span: Interval) -> list[Target]:
    out: list[Target] = []
    if isinstance(applies_to, PerAssignee):
        wanted = set(applies_to.roles)
        for (person, role, unit), intervals in sorted(org.holdings.items()):
            if role not in wanted:
                continue
            active = clip(intervals, span)
            if active:
                name = org.people[person].name if person in org.people else None
                out.append(
                    Target(SubjectRef(kind="person", id=person, name=name, role=role), unit, tuple(active), org.subtree(unit))
                )
    elif isinstance(applies_to, PerUnit):
        for unit in org.registry.units:
            if unit.kind != applies_to.unit_kind:
                continue
            if not all(condition_holds(unit.attributes.get(k), c) for k, c in applies_to.where.items()):
                continue
            out.append(Target(SubjectRef(kind="unit", id=unit.id, name=org.name(unit.id)), unit.id, (span,), org.subtree(unit.id)))
    else:
        for subject in org.registry.subjects:
            if subject.kind != applies_to.subject_kind:
                continue
            if not all(condition_holds(subject.attributes.get(k), c) for k, c in applies_to.where.items()):
                continue
            active = clip([days_interval(subject.start, subject.end, org.tz)], span)
            if active:
                out.append(
                    Target(SubjectRef(kind="subject", id=subject.id, name=subject.name), subject.unit, tuple(active), frozenset())
                )
    return out


def prorated(at_least: int, covered: float, whole: float) -> int:
    """The requirement for a partly covered period: ``ceil(at_least x covered / whole)``."""
    return math.ceil(at_least * Fraction(round(covered)) / Fraction(round(whole)))


# --------------------------------------------------------------------------------------------
# Exemptions


@dataclass(frozen=True)
class ExcusedSpan:
    """One exemption record resolved to an interval: from the registry or from an event."""

    record: str
    who: str  # "person", "unit", "subject" or "calendar"
    id: str
    span: Interval
    obligations: frozenset[str] | None
    reason: str


@dataclass(frozen=True)
class Exemptions:
    """Every exemption in force, in the order found, and looked up by whom it names."""

    spans: tuple[ExcusedSpan, ...]
    #: (who, id) -> (position in ``spans``, span)
    by_holder: dict[tuple[str, str], list[tuple[int, ExcusedSpan]]] = field(default_factory=dict)

    @classmethod
    def of(cls, spans: Iterable[ExcusedSpan]) -> Exemptions:
        out = cls(tuple(spans))
        for position, span in enumerate(out.spans):
            out.by_holder.setdefault((span.who, span.id), []).append((position, span))
        return out


def exemption_spans(plan: Plan, events: Iterable[Event]) -> Exemptions:
    """Every exemption in force: registry records, and events of kinds that declare ``excuses``
    (only events known at ``as_of``)."""
    out = [
        ExcusedSpan(
            e.id, "person" if e.person else "unit" if e.unit else "subject", e.person or e.unit or e.subject or "",
            days_interval(e.start, e.end, plan.tz), frozenset(e.obligations) if e.obligations is not None else None, e.reason,
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
        out.append(ExcusedSpan(event.id, role, who, Interval(event.time, end), obligations, kind.label.en))
    return Exemptions.of(out)


def excusing(
    plan: Plan, target: Target, obligation: FrequencyObligation | CadenceObligation, exemptions: Exemptions
) -> list[ExcusedSpan]:
    """The exemptions that apply to one target of one obligation. A unit exemption covers the
    unit and everything below it: people posted there, units and subjects there. The windows of
    the obligation's ``excused_in`` calendars excuse everyone, recorded as ``calendar:<name>``."""
    org = plan.organisation
    out = [
        ExcusedSpan(f"calendar:{name}", "calendar", name, part, None, plan.ruleset.calendars[name].label.en)
        for name in obligation.excused_in
        for part in plan.windows.get(name, [])
    ]
    # only exemptions naming the target, its unit or a unit above it can apply: look those up
    holders = [("unit", unit) for unit in ([target.unit, *org.ancestors(target.unit)] if target.unit in org.units else [])]
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
