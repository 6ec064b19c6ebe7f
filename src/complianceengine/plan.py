"""The evaluation plan as data: what compiling a ruleset and a registry over an audit range works
out before any event is looked at.

A :class:`Plan` is frozen and serialisable (``to_json`` / ``from_json``): no callables, no events.
Per obligation it holds the targets (who or what the duty is for, and when it is in force), the
requirement variants (base, and raised inside calendar windows) with the part of the range each is
in force for, and, for frequency duties, every frame: one period of one target under one
requirement, with its coverage, whether it is judged and the number required. Staffing shortfalls
come from the registry alone and are worked out here too. A backend only answers which events fall
where; the kinds (:mod:`complianceengine.kinds`) judge.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import Annotated, Any, Literal, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidatorFunctionWrapHandler, WrapValidator, field_serializer

from .findings import Finding, Status, SubjectRef, finding_id, instant_key
from .errors import UsageError
from .model import Event, EventMatch, ExtensionObligation, ObligationBase, Registry, Ruleset
from .timeframes import Interval, Period, days_interval

class KindProvider(Protocol):
    """What :meth:`Plan.from_json` needs of the plugins: the obligation kinds they provide
    (:meth:`complianceengine.Plugins.obligation_kinds`)."""

    def obligation_kinds(self) -> Mapping[str, tuple[str, Any]]: ...

__all__ = ["ExcusedSpan", "Frame", "ObligationPlan", "Organisation", "Plan", "Shortfall", "Target", "Variant"]


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
        self._by_role: dict[str, list[tuple[tuple[str, str, str], list[Interval]]]] = {}
        for (person, role, post), intervals in self.holdings.items():
            self._by_person.setdefault(person, []).append((role, post, intervals))
            self._by_post.setdefault((role, post), []).append((person, intervals))
            self._by_role.setdefault(role, []).append(((person, role, post), intervals))

    def holdings_of(self, roles: Iterable[str]) -> list[tuple[tuple[str, str, str], list[Interval]]]:
        """The holdings of these roles, ``((person, role, unit), intervals)`` sorted by person,
        role and unit: those of ``holdings`` with one of the roles, without sorting them all."""
        return sorted((item for role in set(roles) for item in self._by_role.get(role, ())), key=lambda item: item[0])

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

    def changes(self, role: str, unit_id: str) -> list[dt.datetime]:
        """Every instant at which someone starts or stops holding ``role`` at ``unit_id``, in
        order: between two of them the holders stay the same."""
        return sorted({edge for _, intervals in self._by_post.get((role, unit_id), ()) for i in intervals for edge in (i.start, i.end)})

    def name(self, unit_id: str) -> str | None:
        unit = self.units.get(unit_id)
        return str(unit.name) if unit is not None and unit.name is not None else None


# --------------------------------------------------------------------------------------------
# The plan


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Target(_Frozen):
    """One thing an obligation is judged for, and when the duty is in force for it."""

    subject: SubjectRef
    unit: str | None
    active: tuple[Interval, ...]
    units: frozenset[str] = Field(frozenset(), description="Units whose events count for this target")

    @field_serializer("units")
    def _in_order(self, units: frozenset[str]) -> list[str]:
        return sorted(units)  # a set has no order; the JSON of a plan must not change between runs


class Variant(_Frozen):
    """A requirement and the part of the audit range it is in force for: the base requirement
    (``window`` None) outside every raised window, or a ``during`` entry inside its calendar's
    windows (the first listed wins where windows overlap)."""

    window: str | None
    during: int | None = Field(description="Index of the obligation's `during` entry, None for the base requirement")
    mask: tuple[Interval, ...]


class Frame(NamedTuple):
    """One period of one target under one requirement (frequency duties).

    A named tuple, not a model or a frozen dataclass: a county's plan holds a million of them,
    and a tuple is made five times faster than a frozen dataclass (whose every field is set
    through ``object.__setattr__``) and as immutable. :class:`ObligationPlan` takes frames as
    they are (no validation again) and writes each as an object with these field names."""

    #: index into the obligation's targets
    target: int
    period: Period
    #: the calendar of the raised requirement in force, or None for the base one
    window: str | None
    #: where the duty is in force inside the period, the range and the variant
    active: tuple[Interval, ...]
    #: seconds of the period the duty is in force, and of the whole period
    covered: float
    whole: float
    #: whether the partial_periods rule judges the period at this coverage
    judged: bool
    #: whether the duty's time in the period has ended by the as-of time
    over: bool
    at_least: int
    at_most: int | None
    #: at_least, prorated by coverage
    required: int
    #: ``active`` as POSIX timestamps, to slice event timelines by bisection without converting
    #: the same instants again for every frame
    bounds: tuple[tuple[float, float], ...] = ()


def _frames_as_made(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Frames made by the planner are taken as they are (validating a million tuples again would
    cost as much as making them); anything else (frames read from JSON) is validated."""
    if type(value) is tuple and all(type(frame) is Frame for frame in value):
        return value
    return handler(value)


@dataclass(frozen=True)
class ExcusedSpan:
    """One exemption resolved to an interval: a registry record, an exemption event, or a window
    of an ``excused_in`` calendar (``origin``)."""

    record: str
    who: str  # "person", "unit", "subject" or "calendar"
    id: str
    span: Interval
    obligations: frozenset[str] | None
    reason: str
    origin: Literal["registry", "event", "calendar"] = "registry"


class Shortfall(_Frozen):
    """Consecutive local days on which a unit has fewer holders of a role than required (or more
    than allowed, with ``at_most``)."""

    target: int
    role: str
    needed: int
    at_most: int | None = None
    first: dt.date
    last: dt.date
    present: tuple[str, ...]


class ObligationPlan(_Frozen):
    """One obligation, compiled."""

    ruleset: str
    obligation: SerializeAsAny[ObligationBase]
    cited: str
    unavailable: str | None = Field(None, description="Why the obligation cannot be judged (a provider plugin is missing)")
    targets: tuple[Target, ...] = ()
    variants: tuple[Variant, ...] = ()
    frames: Annotated[tuple[Frame, ...], WrapValidator(_frames_as_made)] = ()
    shortfalls: tuple[Shortfall, ...] = ()
    excused: tuple[tuple[ExcusedSpan, ...], ...] = Field(
        (), description="Per target (same order): the exemptions known without events (registry records, excused_in windows)")

    @field_serializer("frames")
    def _frames_by_name(self, frames: tuple[Frame, ...]) -> list[dict[str, Any]]:
        return [frame._asdict() for frame in frames]  # objects with field names, as a dataclass's were

    @property
    def id(self) -> str:
        return self.obligation.id

    @property
    def kind(self) -> str:
        return self.obligation.kind

    def finding_fields(self) -> dict[str, Any]:
        """The fields every finding of this obligation has: which obligation, its title and citation."""
        obligation = self.obligation
        return {"obligation": obligation.id, "obligation_kind": obligation.kind, "title": obligation.title,
                "citation": obligation.citation, "cited": self.cited, "assumed": obligation.assumed}

    def finding(
        self, subject: SubjectRef, unit: str | None, period: Period, status: Status, required: str, observed: str,
        *, anchor: str | None = None, **extra: Any,
    ) -> Finding:
        """A finding of this obligation; ``extra`` sets the other :class:`Finding` fields.
        ``anchor`` tells this verdict from the obligation's others for the same subject, step and
        window (default: the period's start; see :func:`~complianceengine.findings.finding_id`)."""
        anchor = instant_key(period.start) if anchor is None else anchor
        return Finding.model_validate({  # a dict validates in half the time keyword arguments take
            "id": finding_id(self.ruleset, self.obligation.id, subject, unit, extra.get("step"), extra.get("window"), anchor),
            **self.finding_fields(),
            "subject": subject,
            "unit": unit,
            "period": period,
            "status": status,
            "required": required,
            "observed": observed,
            **extra,
        })


class Plan(_Frozen):
    """Everything a backend and the kinds need to judge a ruleset over one audit range."""

    # built when first used, as the ruleset is (its obligations' union needs the kinds)
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    ruleset: Ruleset
    registry: Registry
    first_day: dt.date
    last_day: dt.date
    range: Interval
    as_of: dt.datetime
    horizon: Interval = Field(
        description="From the earliest instant any verdict of this audit needs (the start of a period that ends in the range, "
                    "a cadence gap's clock) to the end of the range: what calendar windows and requirement variants cover"
    )
    windows: dict[str, tuple[Interval, ...]] = Field({}, description="Calendar name -> its windows inside the horizon, merged and in order")
    obligations: tuple[ObligationPlan, ...] = ()
    lang: Literal["en", "zh"] = Field("en", description="The language the kinds word their findings in")
    notes: tuple[str, ...] = Field((), description="What compiling found the report should warn of (a calendar known for fewer days)")

    @property
    def tz(self) -> str:
        return self.ruleset.timezone

    def reports(self, decided: dt.datetime) -> bool:
        """Does this audit report a verdict decided at ``decided``? An audit of the days A..B
        reports what was decided after local A 00:00 and up to the end of B (a period ending at
        midnight belongs to the day that ends then): consecutive audits split the time line
        without overlap, so month-by-month audits give the findings of one long audit."""
        return self.range.start < decided <= self.range.end

    @cached_property
    def organisation(self) -> Organisation:
        """The unit tree and the rosters, indexed (derived from the registry, not serialised)."""
        return Organisation(self.registry, self.tz)

    def matcher(self, match: EventMatch) -> Callable[[Event], bool]:
        """The predicate of a ``match`` block in this plan's zone and calendar windows."""
        from .match import matcher

        return matcher(match, self.tz, self.windows)

    def obligation(self, obligation_id: str) -> ObligationPlan:
        """The compiled obligation ``obligation_id`` (:class:`UsageError` when there is none)."""
        self.ruleset.obligation(obligation_id)  # raises UsageError for an unknown id
        return next(o for o in self.obligations if o.id == obligation_id)

    def to_json(self) -> str:
        """The plan as JSON text; :meth:`from_json` reads it back."""
        return self.model_dump_json(by_alias=True)

    @classmethod
    def from_json(cls, text: str | bytes, plugins: KindProvider | None = None) -> Plan:
        """A plan written by :meth:`to_json`. Obligations of a plugin's kind are validated by the
        plugin's model again: pass the plugins that compiled the plan (:class:`UsageError`
        naming the kind when they do not provide it)."""
        data = json.loads(text)
        ruleset = Ruleset.model_validate(data["ruleset"])
        extension = [o for o in ruleset.obligations if isinstance(o, ExtensionObligation)]
        if extension:
            kinds = plugins.obligation_kinds() if plugins is not None else {}
            missing = sorted({o.kind for o in extension if o.kind not in kinds})
            if missing:
                raise UsageError(f"the plan has obligations of kind {', '.join(map(repr, missing))}: pass the plugins that provide them")
            ruleset = ruleset.model_copy(update={"obligations": [
                kinds[o.kind][1].model.model_validate(o.model_dump(by_alias=True, exclude_unset=True))
                if isinstance(o, ExtensionObligation) else o for o in ruleset.obligations]})
        by_id = {o.id: o for o in ruleset.obligations}
        obligations = [{**o, "obligation": by_id[o["obligation"]["id"]]} for o in data["obligations"]]
        return cls.model_validate({**data, "ruleset": ruleset, "obligations": obligations})
