"""Running a plan over events and gathering the findings into a :class:`Report`.

``audit`` orchestrates: versions -> compile -> a backend answers the kinds' questions about the
events -> each kind judges -> plugins post-process -> summaries -> notifications.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pendulum
from pendulum.tz.timezone import FixedTimezone

from ..bulk import gc_paused
from ..progress import Progress, quiet
from ..compile import compile_plan, in_force
from ..duck import ENGINES, Engine
from ..errors import Location, NotificationError, PluginError, Problem, RegistryError, UsageError
from ..eventfiles import events_from_records
from ..eventtable import EventTable
from ..findings import (
    EVIDENCE_LIMIT,
    FAILING,
    Finding,
    LazyFindings,
    ObligationSummary,
    Report,
    StatusCounts,
    UnitSummary,
    VersionSpan,
    field_values,
)
from ..findingtable import FindingColumns, FindingTable
from ..model import Event, EventLog, Registry, Ruleset
from ..kinds import EventSource, ObligationKind
from ..plan import ObligationPlan, Organisation, Plan
from ..plugins import BUILTIN_PLUGIN, Plugins
from ..timeframes import Interval, Period, date_range, day_start, local
from ..trace import Decision, NotJudged, Step, Tracer
from ..words import Lang
from ..references import check_registry
from ..checks import path_text
from .reference import ReferenceSource

#: builds the event source of one plan: ``backend(plan, events, tracer)``
Backend = Callable[[Plan, Iterable[Event], "Tracer | None"], EventSource]

__all__ = ["Backend", "ENGINES", "Engine", "Judged", "audit", "backend_for", "evaluate", "judge", "notify_plugins", "summarise",
           "version_spans"]


def audit(
    ruleset: Ruleset | Sequence[Ruleset],
    registry: Registry,
    events: EventLog | Iterable[Event],
    *,
    first_day: dt.date,
    last_day: dt.date,
    as_of: dt.datetime | None = None,
    plugins: Plugins | None = None,
    notify: bool = True,
    lang: Lang = "en",
    progress: Progress = quiet,
    engine: Engine = "auto",
    threads: int | None = None,
    memory_limit: str | None = None,
) -> Report:
    """Judge every obligation of ``ruleset`` over the local days ``first_day``..``last_day``.

    ``events`` is an :class:`EventLog` from :func:`read_events` or :func:`events_from_records`
    (taken as validated), or any iterable of events or records, which is validated here exactly
    as :func:`events_from_records` does against the (latest) ruleset and ``registry``: an event
    of an unknown kind, by an unknown person or unit, or with a mistyped attribute is a reject in
    the report (``source`` ``<events>``, ``line`` its index), and ``events_used`` counts only
    the events accepted; a table is read by ``engine`` (with its settings), as
    :func:`events_from_records` reads it.
    ``as_of`` (default: now) is the moment of the audit: later events are ignored and periods or
    deadlines not over by then are ``open`` rather than ``missed``. Nothing passed in is modified.
    ``ruleset`` may be several versions of one ruleset (same ``id``), each with its ``effective``
    days: each is applied to the part of the range it is in force for, and the report's
    ``versions`` says which judged what. Every day of the range must be covered by one version.
    ``plugins`` (default: the installed plugins, see :class:`Plugins`) provide calendars,
    post-process findings and are notified of failing ones. Every
    notifier is called even if one fails; failures raise :class:`NotificationError`, which
    carries the finished report. With ``notify=False`` nobody is told; call :func:`notify_plugins` once
    the report is safely stored (the command line writes it first). ``lang`` (``"en"`` or
    ``"zh"``) is the language of the findings' sentences and of the report's labels
    (:mod:`complianceengine.words`); ids, statuses and numbers do not depend on it. ``progress``
    is told which obligation is being planned and judged (:mod:`complianceengine.progress`).
    ``engine`` chooses the backend that answers the kinds' questions about the events
    (:func:`~complianceengine.evaluate.backend_for`; the report's ``engine`` says which did); ``threads`` and
    ``memory_limit`` (``"256MB"``) are passed to DuckDB when it is the engine. The findings are
    the same whichever engine gives them.
    """
    plugins = plugins or Plugins()
    versions = [ruleset] if isinstance(ruleset, Ruleset) else list(ruleset)
    if not isinstance(events, EventLog) and versions:  # read as judge would, but by the engine asked for (and its settings)
        events = events_from_records(events, _latest(versions), registry, plugins, source="<events>", engine=engine, threads=threads,
                                     memory_limit=memory_limit)
    chosen, backend = backend_for(engine, threads=threads, memory_limit=memory_limit, events=events)
    judged = judge(ruleset, registry, events, first_day=first_day, last_day=last_day, as_of=as_of, plugins=plugins, lang=lang,
                   progress=progress, backend=backend, keep_frames=False)
    plans, spans, findings, log = judged.plans, judged.spans, judged.findings, judged.log
    report = summarise(plans, findings, log, judged.warnings)
    if len(plans) > 1:
        report = report.model_copy(update={
            "versions": tuple(VersionSpan(version=r.version, first_day=a, last_day=b) for r, a, b in spans),
            "ruleset_version": ", ".join(r.version for r, _, _ in spans),
        })
    if chosen != "reference":
        report = report.model_copy(update={"engine": chosen})
    if notify:
        notify_plugins(report, plugins)
    return report


def backend_for(engine: Engine, *, threads: int | None = None, memory_limit: str | None = None, check: bool = False,
                events: object = None) -> tuple[str, Backend | None]:
    """The engine's name and its backend (``None``: the reference) for an audit of ``events``.
    ``duckdb`` needs DuckDB, pyarrow and SQLGlot (:class:`UsageError` without them, or when
    DuckDB refuses a setting: at once with ``check``, which opens and closes a connection, else
    when the backend is first used, as an audit does). ``auto`` follows the events: DuckDB when
    they are an :class:`EventLog` whose events DuckDB read (an
    :class:`~complianceengine.eventtable.EventTable`: :func:`read_events` with ``auto`` reads a
    large file so) or when ``threads`` or ``memory_limit`` is given, else the reference (faster
    for events held as objects, and for small histories: docs/performance.md). ``threads`` or
    ``memory_limit`` with the reference engine are a usage error."""
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    settings = threads is not None or memory_limit is not None
    if engine == "auto":
        columnar = isinstance(events, EventLog) and isinstance(events.events, EventTable)  # DuckDB read them, so it imports
        engine = "duckdb" if settings or columnar else "reference"
    if engine == "duckdb":
        from .columnar import DuckDBSource, connect

        if check:  # the settings tried now, not once the events are read
            con, spill = connect(threads, memory_limit)
            con.close()
            spill.cleanup()
        return "duckdb", functools.partial(DuckDBSource, threads=threads, memory_limit=memory_limit)
    if settings:
        raise UsageError("threads and memory_limit are DuckDB settings: give them with engine='duckdb' or 'auto'")
    return "reference", None


def _latest(versions: Sequence[Ruleset]) -> Ruleset:
    """The version in force last: events built in code are checked against it."""
    return max(versions, key=lambda r: r.effective.from_ if r.effective else dt.date.min)


def notify_plugins(report: Report, plugins: Plugins) -> None:
    """Tell every notifier plugin of the report's failing findings; every notifier is called even
    if one fails, and failures raise :class:`NotificationError` carrying the report."""
    failing = report.failing(FAILING[0])
    failures = plugins.each_isolated("complianceengine_notify", findings=failing, report=report)
    if failures:
        raise NotificationError(report, failures)


@dataclass(frozen=True)
class Judged:
    """An audit up to its findings: the plans (one per ruleset version), which version judged
    which days, the findings (post-processed), the event log and what the kinds asked to tell."""

    plans: list[Plan]
    spans: list[tuple[Ruleset, dt.date, dt.date]]
    findings: Sequence[Finding]
    log: EventLog
    warnings: list[str] = field(default_factory=list)


def judge(
    ruleset: Ruleset | Sequence[Ruleset],
    registry: Registry,
    events: EventLog | Iterable[Event],
    *,
    first_day: dt.date,
    last_day: dt.date,
    as_of: dt.datetime | None = None,
    plugins: Plugins | None = None,
    tracer: Tracer | None = None,
    lang: Lang = "en",
    backend: Backend | None = None,
    progress: Progress = quiet,
    keep_frames: bool = True,
) -> Judged:
    """An audit up to its findings, before any report or notification. :func:`audit` and
    ``explain`` share it; ``explain`` passes a ``tracer`` that records why each finding is what
    it is. ``backend(plan, events, tracer)`` gives the :class:`~complianceengine.kinds.EventSource`
    that answers the kinds' questions (default: the reference backend; the live monitor passes
    one that reads what its engine has filed). With ``keep_frames`` false (:func:`audit`, which
    returns no plan) each obligation's frames are let go once it is judged: at a million events
    they are a tenth of the audit's peak."""
    plugins = plugins or Plugins()
    if as_of is None:
        as_of = pendulum.now("UTC")
    elif as_of.tzinfo is None or as_of.utcoffset() is None:
        raise UsageError("as_of must carry a time zone")
    versions = [ruleset] if isinstance(ruleset, Ruleset) else list(ruleset)
    spans = version_spans(versions, first_day, last_day)
    _check_registry(registry, _latest(versions))
    if isinstance(events, EventLog):
        log = events
    else:  # events built in code get the checks a file's lines get, against the latest version
        log = events_from_records(events, _latest(versions), registry, plugins, source="<events>")
    # Every version is compiled over the whole range, so periods keep their anchors and cadence
    # clocks run across the change; each finding is then taken from the version in force on the
    # local day it was decided (the end of its period, its deadline, or its answer in time).
    # An obligation's duties exist from the first version that has it to the last one that does.
    duties = _duties(versions)
    plans = [compile_plan(version, registry, first_day, last_day, as_of, plugins, duties=duties, lang=lang, progress=progress)
             for version, _, _ in spans]
    findings: Sequence[Finding] = ()
    warnings: list[str] = []
    gathered = FindingColumns()
    for plan, (version, a, b) in zip(plans, spans, strict=True):
        if len(plans) == 1:  # one version judges the whole range
            findings, warnings = _judged(plan, log.events, plugins, tracer, backend, progress, keep_frames)
            break
        judged, said = _judged(plan, log.events, plugins, _Only(tracer, decided=True) if tracer else None, backend, progress, keep_frames)
        warnings += [w for w in said if w not in warnings]
        decided = field_values(judged, "decided")
        days: dict[dt.datetime, dt.date] = {}  # by instant: a frequency duty's periods end together
        gathered.extend(judged.take([i for i, when in enumerate(decided)
                                     if when is not None and a <= _decided_on(when, plan, days) <= b]))
        # states with no decision time (staffing, completeness) are judged by each version over
        # its own days, so a later version's requirement applies to its days
        states = {obligation for obligation, when in zip(field_values(judged, "obligation"), decided, strict=True) if when is None}
        if states:  # only those obligations are judged again (the version compiled whole: its exemptions name the others)
            own = compile_plan(version, registry, a, b, as_of, plugins, duties=duties, lang=lang)
            own = own.model_copy(update={"obligations": tuple(c for c in own.obligations if c.id in states)})
            judged, said = _judged(own, log.events, plugins, _Only(tracer, decided=False) if tracer else None, backend,
                                   keep_frames=keep_frames)
            warnings += [w for w in said if w not in warnings]
            gathered.extend(judged.take([i for i, when in enumerate(field_values(judged, "decided")) if when is None]))
    else:
        findings = gathered.table()
    hook = "complianceengine_process_findings"
    if plugins.has(hook):  # the plugins get a list of objects; without one the table stays as it is
        findings = plugins.chain(hook, "findings", findings=list(findings), ruleset=plans[-1].ruleset,
                                 valid=lambda result: isinstance(result, list) and all(isinstance(f, Finding) for f in result),
                                 expected="a list of findings")
    return Judged(plans, spans, findings, log, warnings)


def _duties(versions: Sequence[Ruleset]) -> dict[str, Interval]:
    """Obligation id -> when its duties exist: from the first version that has the obligation to
    the last one that does (a duty a later version adds starts with that version)."""
    having: dict[str, list[Ruleset]] = {}
    for version in versions:
        for obligation in version.obligations:
            having.setdefault(obligation.id, []).append(version)
    return {obligation: in_force(found, versions[0].timezone) for obligation, found in having.items()}


class _Only:
    """A tracer that passes on the records of findings with a decision time (``decided``) or
    of those without: the two judgements of a version in a multi-version audit."""

    def __init__(self, tracer: Tracer, *, decided: bool):
        self.tracer, self.decided = tracer, decided

    def record(self, finding: Finding, step: Step, decisions: Sequence[Decision] = ()) -> None:
        if (finding.decided is not None) == self.decided:
            self.tracer.record(finding, step, decisions)


def _check_registry(registry: Registry, ruleset: Ruleset) -> None:
    """A registry built in code (``Registry.model_validate``) gets the reference checks a file
    gets (a reader marks what it checked): :class:`RegistryError` naming each problem's path."""
    if registry._checked_for == (ruleset.id, ruleset.version):
        return
    problems = check_registry(registry, ruleset)
    if problems:
        raise RegistryError([Problem(Location("<registry>"), path_text(path), message) for path, message in problems])


def _decided_on(decided: dt.datetime, plan: Plan, days: dict[dt.datetime, dt.date]) -> dt.date:
    """The local day a finding decided at ``decided`` was decided on (a deadline at midnight: the
    day that ends then), remembered in ``days``."""
    found = days.get(decided)
    if found is None:
        found = days[decided] = local(decided - dt.timedelta(microseconds=1), plan.tz).date()
    return found


def evaluate(plan: Plan, events: Iterable[Event], plugins: Plugins | None = None, tracer: Tracer | None = None) -> list[Finding]:
    """Every finding of every obligation in ``plan`` decided in its range (see
    :meth:`Plan.reports`), in the order of the obligations; events at or after ``plan.as_of``
    are not known yet and are ignored. The reference backend answers the kinds' questions about
    the events; the kinds report their decisions to ``tracer`` when one is given (the findings
    are the same either way)."""
    return list(_judged(plan, events, plugins, tracer)[0])


def _judged(
    plan: Plan, events: Iterable[Event], plugins: Plugins | None, tracer: Tracer | None, backend: Backend | None = None,
    progress: Progress = quiet, keep_frames: bool = True,
) -> tuple[FindingTable, list[str]]:
    kinds = (plugins or Plugins()).obligation_kinds()
    with gc_paused():  # a county's audit builds millions of acyclic objects
        progress("indexing the events", 0, None)
        source = (backend or ReferenceSource)(plan, events, _Reported(tracer, plan) if tracer is not None else None)
        try:
            found = _evaluate(plan, source, kinds, progress, keep_frames)
        finally:
            close = getattr(source, "close", None)  # a backend holding a database lets it go
            if close is not None:
                close()
    reported: dict[dt.datetime, bool] = {}  # by instant: a frequency duty's periods end together
    dropped = []  # few: the findings the kinds judged just outside the range
    for i, decided in enumerate(found.column("decided")):
        if decided is not None:
            reports = reported.get(decided)
            if reports is None:
                reports = reported[decided] = plan.reports(decided)
            if not reports:
                dropped.append(i)
    found.drop(dropped)
    return found.table(), [*plan.notes, *source.warnings]


class _Reported:
    """A tracer that passes on only the records of findings the audit reports (decided in its
    range): the kinds also judge what lies just outside it."""

    def __init__(self, tracer: Tracer, plan: Plan):
        self.tracer, self.plan = tracer, plan

    def record(self, finding: Finding, step: Step, decisions: Sequence[Decision] = ()) -> None:
        if finding.decided is None or self.plan.reports(finding.decided):
            self.tracer.record(finding, step, decisions)


def _evaluate(plan: Plan, source: EventSource, kinds: dict[str, tuple[str, ObligationKind]], progress: Progress = quiet,
              keep_frames: bool = True) -> FindingColumns:
    findings = FindingColumns()
    for done, compiled in enumerate(plan.obligations):
        progress(f"judging {compiled.id}", done, len(plan.obligations))
        if compiled.unavailable is not None:
            findings.extend(_not_judged(plan, compiled, source.tracer))
            continue
        plugin, kind = kinds[compiled.kind]
        if plugin == BUILTIN_PLUGIN:
            findings.extend(kind.judge(plan, compiled, source))
            if not keep_frames and compiled.frames:  # judged: its frames are of no more use to this audit
                object.__setattr__(compiled, "frames", ())  # the plan is the audit's own, never returned
            continue
        try:
            found = kind.judge(plan, compiled, source)
        except Exception as exc:
            raise PluginError(plugin, f"judge of kind {compiled.kind!r}", f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(found, list) or not all(isinstance(f, Finding) and f.obligation == compiled.id for f in found):
            raise PluginError(plugin, f"judge of kind {compiled.kind!r}", f"must return a list of findings of obligation {compiled.id!r}")
        findings.extend(found)
    return findings


def _not_judged(plan: Plan, compiled: ObligationPlan, tracer: Tracer | None = None) -> list[Finding]:
    """One ``not_applicable`` finding per target over the whole range, saying why."""
    period = Period(label=f"{plan.first_day} to {plan.last_day}", start=plan.range.start, end=plan.range.end)
    out = []
    for target in compiled.targets:
        finding = compiled.finding(target.subject, target.unit, period, "not_applicable", "not judged", "not judged", note=compiled.unavailable)
        if tracer is not None:
            tracer.record(finding, NotJudged(target, compiled.unavailable or "not judged"))
        out.append(finding)
    return out


def version_spans(rulesets: Sequence[Ruleset], first_day: dt.date, last_day: dt.date) -> list[tuple[Ruleset, dt.date, dt.date]]:
    """Which version judges which days of ``first_day``..``last_day``, in order.

    Raises :class:`UsageError` when versions overlap, belong to different rulesets, or leave
    days of the range uncovered."""
    if not rulesets:
        raise UsageError("no ruleset given")
    date_range(first_day, last_day, rulesets[0].timezone)  # says so when the range ends before it starts
    if len({r.id for r in rulesets}) > 1:
        raise UsageError(f"versions of different rulesets given: {sorted({r.id for r in rulesets})}")
    always = [r for r in rulesets if r.effective is None]
    if always and len(rulesets) > 1:
        raise UsageError(f"version {always[0].version} has no `effective` days, so it cannot be combined with other versions")
    spans: list[tuple[Ruleset, dt.date, dt.date]] = []
    for r in sorted(rulesets, key=lambda r: r.effective.from_ if r.effective else dt.date.min):
        start = max(first_day, r.effective.from_) if r.effective else first_day
        end = min(last_day, r.effective.until or dt.date.max) if r.effective else last_day
        if start <= end:
            if spans and start <= spans[-1][2]:
                raise UsageError(f"versions {spans[-1][0].version} and {r.version} are both in effect on {start}")
            spans.append((r, start, end))
    day, gaps = first_day, []
    for _, start, end in spans:
        if start > day:
            gaps.append(f"{day} to {start - dt.timedelta(days=1)}")
        day = max(day, end + dt.timedelta(days=1))
    if day <= last_day:
        gaps.append(f"{day} to {last_day}")
    if gaps:
        effective = ", ".join(f"{r.version}: {r.effective.from_} to {r.effective.until or 'open'}" for r in rulesets if r.effective)
        raise UsageError(f"no version of ruleset {rulesets[0].id!r} is in effect on {'; '.join(gaps)} (versions: {effective})")
    return spans


@gc_paused()  # it walks every finding once; a collection it happened to set off would walk every object of the audit
def summarise(plans: Plan | Sequence[Plan], findings: Sequence[Finding], log: EventLog, warnings: Sequence[str] = ()) -> Report:
    """Wrap findings in a report with per-obligation and per-unit (roll-up) summaries, how far
    back the verdicts looked and what the reader should be warned of. With several plans
    (versions), an obligation is summarised once, as the latest version has it."""
    plans = [plans] if isinstance(plans, Plan) else list(plans)
    plan = plans[-1]
    ruleset = plan.ruleset
    latest = {}
    for p in plans:
        for compiled in p.obligations:
            latest[compiled.obligation.id] = compiled
    obligations = []
    by_obligation: dict[str, Counter[str]] = {}
    for (obligation_id, status), n in Counter(zip(field_values(findings, "obligation"), field_values(findings, "status"))).items():
        by_obligation.setdefault(obligation_id, Counter())[status] = n
    for compiled in latest.values():
        obligation = compiled.obligation
        assumptions = [obligation.note or "the requirement is the ruleset's choice"] if obligation.assumed else []
        assumptions += [
            f"during {r.calendar}: {r.note or 'the raised requirement is the ruleset choice'}"
            for r in getattr(obligation, "during", [])
            if r.assumed
        ]
        counts = StatusCounts(**by_obligation.get(compiled.obligation.id, Counter()))
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
    earliest = _earliest(findings)
    return Report(
        ruleset=ruleset.id,
        ruleset_version=ruleset.version,
        title=ruleset.title,
        timezone=ruleset.timezone,
        first_day=plan.first_day,
        last_day=plan.last_day,
        as_of=plan.as_of,
        events_used=len(log.events),
        findings=findings if isinstance(findings, LazyFindings) else tuple(findings),
        obligations=tuple(obligations),
        units=tuple(_roll_up(plan.organisation, findings)),
        rejects=log.rejects,
        duplicates=log.duplicates,
        looked_back_to=earliest,
        warnings=(*warnings, *_lookback_warnings(plan, findings, log, earliest)),
        lang=plan.lang,
        roles={name: role.label for name, role in ruleset.roles.items()},
        evidence_limit=EVIDENCE_LIMIT,
    )


def _earliest(findings: Sequence[Finding]) -> dt.datetime | None:
    """The earliest start of a period of a finding decided in time (a frequency duty's periods
    are shared by its targets: each is looked at once)."""
    periods = {id(period): period for period, decided in zip(field_values(findings, "period"), field_values(findings, "decided"), strict=True)
               if decided is not None}
    earliest = min(periods.values(), key=lambda period: period.start.timestamp(), default=None)
    return None if earliest is None else earliest.start


def _earliest_time(times: list[dt.datetime]) -> dt.datetime | None:
    """The earliest instant of ``times`` (aware). Two datetimes sharing a zone object compare by
    wall clock, which misorders two in a repeated daylight-saving hour; with fixed offsets (the
    usual event times, read with their offset) it cannot, so those are compared as datetimes
    (fast) and only the others by their timestamps."""
    fixed = [t for t in times if type(t.tzinfo) in _FIXED or t.tzinfo is pendulum.UTC]
    others = [t for t in times if not (type(t.tzinfo) in _FIXED or t.tzinfo is pendulum.UTC)] if len(fixed) < len(times) else []
    candidates = ([min(fixed)] if fixed else []) + others
    return min(candidates, key=dt.datetime.timestamp, default=None)


_FIXED = (FixedTimezone, dt.timezone)


def _earliest_event(events: Sequence[Event]) -> dt.datetime | None:
    """The earliest instant of the events (:func:`_earliest_time`); of a table, from its column of
    instants, in UTC (its events are not built)."""
    if isinstance(events, EventTable):
        times = events.times()
        return dt.datetime.fromtimestamp(min(times), dt.timezone.utc) if times else None
    return _earliest_time([e.time for e in events])


def _lookback_warnings(plan: Plan, findings: Sequence[Finding], log: EventLog, earliest_period: dt.datetime | None) -> list[str]:
    """One line per obligation whose verdicts depend on a time before the range and the
    earliest event given: a period that began earlier while the duty was already in force, or a
    gap whose clock started earlier (events before the first one given would change them; events
    before the duty's start would not). ``earliest_period``: the earliest period start among the
    findings decided in time (:func:`_earliest`)."""
    if earliest_period is None or earliest_period >= plan.range.start:  # the usual case: no verdict looks back before the range
        return []
    first = _earliest_event(log.events)
    # compared by local day: a history that starts at 07:15 on the range's first day is not short
    before = (min(day_start(local(first, plan.tz).date(), plan.tz), plan.range.start) if first is not None else plan.range.start).timestamp()
    early: dict[str, list[dt.datetime]] = {}
    starts: dict[tuple[str, str, str, str | None, str | None], dt.datetime] | None = None
    periods = field_values(findings, "period")
    # the periods that began before: each looked at once (a frequency duty's are shared by its targets)
    distinct = {id(period): period for period in periods}
    before_it = {key for key, period in distinct.items() if period.start.timestamp() < before}
    for i, (period, decided) in enumerate(zip(periods, field_values(findings, "decided"), strict=True)):
        if decided is None or id(period) not in before_it:
            continue
        if starts is None:  # when each target's duty begins (rarely needed: worked out once)
            starts = {(compiled.id, t.subject.kind, t.subject.id, t.subject.role, t.unit): min(part.start for part in t.active)
                      for compiled in plan.obligations for t in compiled.targets if t.active}
        finding = findings[i]  # a verdict that looks back before the range: few, built one by one
        since = period.start
        duty = starts.get((finding.obligation, finding.subject.kind, finding.subject.id, finding.subject.role, finding.unit))
        if duty is not None and duty > since:
            since = duty
        if since.timestamp() < before:
            early.setdefault(finding.obligation, []).append(since)
    out = []
    for obligation, found in early.items():
        since = min(found)
        given = f"the earliest event given ({local(first, plan.tz):%Y-%m-%d %H:%M})" if first is not None else "the range, and no events were given"
        out.append(
            f"{obligation}: {len(found)} verdict(s) look back to {local(since, plan.tz):%Y-%m-%d %H:%M}, before {given}; "
            "events before that would change them"
        )
    return out


def _roll_up(org: Organisation, findings: Sequence[Finding]) -> list[UnitSummary]:
    """Counts per unit, each unit including everything below it, in tree order: the findings are
    counted once at their own unit, and each unit's totals are added to its parent's, deepest
    first."""
    units = org.units
    totals: dict[str, Counter[str]] = {unit: Counter() for unit in units}
    for (at, status), n in Counter(zip(field_values(findings, "unit"), field_values(findings, "status"), strict=True)).items():
        if at in units:
            totals[at][status] += n
    order: list[tuple[str, int]] = []  # (unit, depth), parents before their children
    stack = [(root.id, 0) for root in reversed(org.registry.units) if root.parent is None]
    while stack:
        unit_id, depth = stack.pop()
        order.append((unit_id, depth))
        stack += [(child, depth + 1) for child in reversed(org.children[unit_id])]
    for unit_id, _ in reversed(order):
        parent = units[unit_id].parent
        if parent is not None:
            totals[parent].update(totals[unit_id])
    out: list[UnitSummary] = []
    for unit_id, depth in order:
        unit = units[unit_id]
        counts = StatusCounts(**totals[unit_id])
        out.append(UnitSummary(unit=unit_id, kind=unit.kind, name=unit.name, parent=unit.parent, depth=depth, counts=counts, rate=counts.rate))
    return out
