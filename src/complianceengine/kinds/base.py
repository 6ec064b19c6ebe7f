"""The protocol every obligation kind implements, and the helpers the built-in kinds share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import pendulum

from ..model import EventMatch, ObligationBase, Raised, Ruleset, TimedObligation
from ..timeframes import Interval, clip, from_micros, micros, shift, subtract
from ..words import in_lang, when_text
from ..checks import check_applies_to, check_match, check_roles, unknown

if TYPE_CHECKING:
    from ..trace import Tracer
    from ..events import Timeline
    from ..exemptions import Exemptions
    from ..findings import Finding
    from ..model import Event
    from ..plan import ObligationPlan, Plan, Target, Variant

__all__ = ["Ask", "EventSource", "ObligationKind", "answers_in", "check_timed", "counter", "counts_for", "raised", "say", "shifted_instants", "span_label", "variants", "what", "when"]


class Ask(NamedTuple):
    """A question a response step asks (:meth:`EventSource.first_answers`): the first event with
    the correlation values ``key`` at or after ``base`` whose id is not ``other_than`` (the
    trigger's)."""

    key: tuple[Any, ...]
    base: dt.datetime
    other_than: str


class EventSource(Protocol):
    """What a kind may ask a backend about the events of one audit."""

    #: the events known at the plan's as-of time, in time order (then by id)
    known: Sequence[Event]
    #: the exemptions the events give (exemption events); those of the registry are in the plan
    #: (``ObligationPlan.excused``)
    exemptions: Exemptions
    #: where the kinds report each decision when explaining (``None`` in an audit: then they
    #: make no tracing call at all); see :mod:`complianceengine.trace`
    tracer: Tracer | None
    #: what the report should tell its reader about this audit (a kind appends one line per
    #: obligation, e.g. that some clocks could only start at the range's first day)
    warnings: list[str]

    def counting(self, plan: Plan, obligation: ObligationPlan, target: Target) -> Timeline:
        """The events matching the obligation's ``match`` that count for ``target``
        (:func:`complianceengine.match.counts_for`), in time order."""
        ...

    def matching(self, plan: Plan, match: EventMatch) -> list[Event]:
        """The events ``match`` accepts, in time order."""
        ...

    def correlated(self, plan: Plan, match: EventMatch, correlate_on: Sequence[str]) -> Mapping[tuple[Any, ...], Timeline]:
        """The events ``match`` accepts, grouped by the values of their ``correlate_on`` fields."""
        ...

    def first_answers(self, plan: Plan, match: EventMatch, correlate_on: Sequence[str], asks: Sequence[Ask]) -> list[Event | None]:
        """For each of ``asks``, the first event ``match`` accepts (in time order) whose
        ``correlate_on`` values equal the ask's key, at or after its base and with another id
        than its ``other_than`` (``None``: there is none); :func:`answers_in` of
        :meth:`correlated`, which a backend may answer its own way."""
        ...

    def deadlines(self, plan: Plan, obligation: ObligationPlan, instants: Sequence[float]) -> list[tuple[dt.datetime, str | None]]:
        """For a gap of the cadence ``obligation`` starting at each of ``instants`` (POSIX
        seconds): when it is due with no exemption, on the ruleset's wall clock, and the calendar
        of the raised requirement that set it (``None``: the base gap);
        :func:`complianceengine.kinds.cadence.plain_deadlines`, which a backend may answer its
        own way (in SQL)."""
        ...

    def shifted(self, plan: Plan, duration: pendulum.Duration, instants: Sequence[float]) -> list[dt.datetime]:
        """Each of ``instants`` (POSIX seconds) plus ``duration`` on the ruleset's wall clock
        (:func:`shifted_instants`, which a backend may answer its own way): a response step's
        deadlines."""
        ...


def shifted_instants(plan: Plan, duration: pendulum.Duration, instants: Sequence[float]) -> list[dt.datetime]:
    """:meth:`EventSource.shifted` as the reference answers: :func:`~complianceengine.timeframes.shift`
    from each instant (below :data:`~complianceengine.timeframes.EXACT_SECONDS`)."""
    return [shift(from_micros(micros(t), plan.tz), duration) for t in instants]


def answers_in(groups: Mapping[tuple[Any, ...], Timeline], asks: Sequence[Ask]) -> list[Event | None]:
    """:meth:`EventSource.first_answers` from the events grouped by key (:meth:`EventSource.correlated`)."""
    out: list[Event | None] = []
    for ask in asks:
        line = groups.get(ask.key)
        out.append(next((e for e in line.since(ask.base) if e.id != ask.other_than), None) if line is not None else None)
    return out


@dataclass(frozen=True)
class ObligationKind:
    """An obligation kind (returned by ``complianceengine_obligation_kinds``).

    ``model`` validates the obligation as written in the ruleset. ``judge(plan, obligation,
    events)`` returns its findings, a list (build them with ``obligation.finding(...)``; a
    built-in kind may return a :class:`~complianceengine.findingtable.FindingTable`), asking
    ``events`` (an :class:`EventSource`; ``events.known`` are the known events in time order,
    and ``plan.matcher(match)`` gives a ``match`` block's predicate). ``plan(obligation, plan,
    targets)``, when given, returns extra fields of the compiled
    :class:`~complianceengine.plan.ObligationPlan` (``variants``, ``frames``, ``shortfalls``),
    worked out once from the plan without events. ``check(obligation, ruleset)``, when given,
    returns reference problems as ``(path inside the obligation, message)`` pairs, checked at
    load time beside the core's own checks. ``judge`` may report each finding to
    ``events.tracer`` when it is not ``None`` (:mod:`complianceengine.trace`); a kind
    that does not is explained by its evidence alone.

    An audit of days A..B reports the findings *decided* in A..B (``Finding.decided``: the end
    of a period, a deadline, an answer in time; see :meth:`~complianceengine.plan.Plan.reports`),
    so ``judge`` may return findings decided outside the range: the audit drops them. Findings
    without ``decided`` are always reported. ``lookback(obligation, ruleset, range)``, when
    given, is the earliest instant a verdict decided in ``range`` can depend on (the start of a
    period that ends in it): targets in force from then on are planned, and calendar windows
    are worked out from then on.
    """

    model: type[ObligationBase]
    judge: Callable[[Plan, ObligationPlan, EventSource], Sequence[Finding]]
    plan: Callable[[Any, Plan, tuple[Target, ...]], dict[str, Any]] | None = None
    check: Callable[[Any, Ruleset], list[tuple[tuple[Any, ...], str]]] | None = None
    lookback: Callable[[Any, Ruleset, Interval], dt.datetime] | None = None
    #: authoring hints beyond the references (``complianceengine check``): ``lint(obligation,
    #: ruleset)`` gives ``(code, path inside the obligation, message, hint)`` tuples, with a code
    #: of :data:`complianceengine.lint.RULES`
    lint: Callable[[Any, Ruleset], list[tuple[str, tuple[Any, ...], str, str]]] | None = None


def check_timed(obligation: TimedObligation, ruleset: Ruleset) -> list[tuple[tuple[Any, ...], str]]:
    """The reference problems of a frequency or cadence obligation: targets, match, ``by`` roles,
    ``excused_in`` and ``during`` calendars (paths inside the obligation)."""

    problems = check_applies_to(ruleset, obligation.applies_to, ("applies_to",)) + check_match(ruleset, obligation.match, ("match",))
    if obligation.by is not None:
        problems += check_roles(ruleset, obligation.by.roles, ("by", "roles"))
    problems += [(("excused_in", i), unknown("calendar", name, ruleset.calendars))
                 for i, name in enumerate(obligation.excused_in) if name not in ruleset.calendars]
    problems += [(("during", i, "calendar"), unknown("calendar", raised.calendar, ruleset.calendars))
                 for i, raised in enumerate(obligation.during) if raised.calendar not in ruleset.calendars]
    return problems


def what(plan: Plan, match: EventMatch) -> str:
    """What a match block counts, in the plan's language: 'patrol or visit (tide windows)',
    '巡查或走访（潮汐时段）'."""
    zh = plan.lang == "zh"
    labels = ("或" if zh else " or ").join(in_lang(plan.ruleset.event_kinds[k].label, plan.lang) for k in match.kinds)
    if match.in_calendar is not None:
        calendar = in_lang(plan.ruleset.calendars[match.in_calendar].label, plan.lang)
        labels += f"（{calendar}）" if zh else f" ({calendar})"
    return labels


def when(instant: dt.datetime, plan: Plan) -> str:
    """An instant on the ruleset's wall clock, to the minute (:func:`~complianceengine.words.when_text`)."""
    return when_text(instant, plan.tz)


def span_label(interval: Interval, plan: Plan) -> str:
    return f"{when(interval.start, plan)} {'至' if plan.lang == 'zh' else 'to'} {when(interval.end, plan)}"


def say(plan: Plan, templates: Mapping[str, Mapping[str, str]]) -> Mapping[str, str]:
    """The templates of a kind's :class:`Wording` in the plan's language (``templates[lang]``)."""
    return templates[plan.lang]


def variants(plan: Plan, obligation: TimedObligation) -> tuple[Variant, ...]:
    """Each requirement with the part of the range where it is in force. Inside a calendar's
    windows the first listed ``during`` entry applies; everywhere else the base requirement."""
    from ..plan import Variant

    out: list[Variant] = []
    claimed: list[Interval] = []
    for index, raised in enumerate(obligation.during):
        windows = plan.windows.get(raised.calendar, ())
        out.append(Variant(window=raised.calendar, during=index, mask=tuple(subtract(windows, claimed))))
        claimed = clip([*claimed, *windows], plan.horizon)
    return (Variant(window=None, during=None, mask=tuple(subtract([plan.horizon], claimed))), *out)


def raised(obligation: TimedObligation, variant: Variant) -> Raised | None:
    """The ``during`` entry of a variant (None for the base requirement)."""
    return None if variant.during is None else obligation.during[variant.during]


def counts_for(plan: Plan, obligation: TimedObligation, target: Target, event: Event) -> bool:
    """Does this (already matching) event count for this target? A person's event counts when the
    person is credited (actor, participant, on_behalf_of) at the target's unit or below it (an
    event without a unit counts wherever the person holds the role); a unit's, when it happened at
    the unit or below; a subject's, when it is about the subject. With ``by``, someone credited
    must hold one of the roles at the target's unit, above or below it, at the event's time."""
    return counter(plan, obligation, target)(event)


def counter(plan: Plan, obligation: TimedObligation, target: Target) -> Callable[[Event], bool]:
    """:func:`counts_for` for one target, as a test of one event: what depends on the target
    alone is worked out once (a backend asks it of every matching event)."""
    subject, units = target.subject, target.units
    ident = subject.id
    mine: Callable[[Event], bool]
    if subject.kind == "person":
        mine = lambda event: ident in event.credited and (event.unit is None or event.unit in units)  # noqa: E731
    elif subject.kind == "unit":
        mine = lambda event: event.unit in units  # noqa: E731
    else:
        mine = lambda event: event.subject == ident  # noqa: E731
    if obligation.by is None:
        return mine
    org = plan.organisation
    where = org.line(target.unit) if target.unit is not None else frozenset(org.units)
    roles = frozenset(obligation.by.roles)
    return lambda event: mine(event) and any(org.holds(person, roles, where, event.time) for person in event.credited)
