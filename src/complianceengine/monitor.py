"""The live duty monitor: what is due, overdue and at risk now, from events fed in as they happen.

A :class:`Monitor` holds a ruleset, a registry and the events it was given (validated one by one
as a file's lines are: a bad record is a reject, an id seen twice with the same content is
ignored, with other content rejected). It answers at any moment:

- :meth:`Monitor.status`: exactly the findings of ``audit(first_day=since, last_day=<the as-of
  day>, as_of=as_of)`` over the same history, plus every period, gap and deadline still in
  progress at ``as_of`` (``open``, or ``met`` already) with its deadline and what remains;
- :meth:`Monitor.due`: one person's or one unit's checklist: what remains in each current period,
  what is overdue, what is done;
- :meth:`Monitor.at_risk`: the duties that will be missed unless done within a horizon.

Each event is matched once, when it arrives, by the monitor's matching engine
(:mod:`complianceengine.monitor_engines`: ``engine="python"``, the default, or ``"durable"``,
durable-rules); each answer compiles the plan of its days and the shared kinds judge from what
the engine filed, so the findings are the batch audit's and events that arrive late or out of
order need no special handling (a late event is filed in time order and re-decides its period).
Each :meth:`Monitor.check` tells the notifiers (``complianceengine_notify`` plugins and the
``on_change`` callback) of each finding that became missed, late or at risk, once. The monitor's
state (its events and what it has already notified) is saved and restored with
:meth:`Monitor.save` / :meth:`Monitor.restore`, written atomically. See docs/monitor.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

import pendulum
from pydantic import BaseModel, ConfigDict, Field

from .bulk import gc_paused
from .compile import calendars_used

from .errors import UsageError
from .evaluate import Judged, judge, notify_plugins, summarise
from .eventfiles import _EventReader
from .kinds import EventSource
from .monitor_engines import EngineSource, MatchingEngine, PythonEngine
from .findings import Finding, Report
from .kinds.cadence import CadenceObligation
from .kinds.frequency import FrequencyObligation
from .kinds.response import ResponseObligation
from .model import Duplicate, Event, EventLog, FixedPeriod, Registry, Reject, Ruleset
from .outputs import write_atomically
from .plugins import Plugins
from .timeframes import day_start, local
from .trace import Tracer
from .words import Lang

__all__ = ["Checklist", "DueItem", "Monitor", "MonitorStatus"]

#: how far past the as-of day a period, gap or deadline of each calendar unit can end
_UNIT_DAYS = {"day": 1, "week": 7, "month": 31, "quarter": 92, "year": 366}
#: what a plugin kind may need (its findings are still reported; the window is generous)
_UNKNOWN_KIND_DAYS = 366

Change = Literal["missed", "late", "at_risk"]
EngineName = Literal["python", "durable"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DueItem(_Frozen):
    """A duty in progress at the as-of time: its finding so far (``open``, or ``met`` when what
    is required is already done), its deadline (the end of the period, the gap's or step's due
    time) and, for a frequency duty, how many more events (or how much more of a sum) it needs."""

    finding: Finding
    deadline: dt.datetime
    remaining: float | None = Field(None, description="Frequency: what is still required in the period (0 when done)")


class MonitorStatus(_Frozen):
    """The monitor's answer at ``as_of``: ``findings`` are exactly the audit's of ``since`` to the
    as-of day; ``in_progress`` the periods, gaps and deadlines not decided by then."""

    as_of: dt.datetime
    since: dt.date
    findings: tuple[Finding, ...]
    in_progress: tuple[DueItem, ...]


class Checklist(_Frozen):
    """One person's or one unit's duties at ``as_of``: ``due`` (in progress, not done yet, soonest
    deadline first), ``overdue`` (a gap or a response step past its deadline with no answer yet),
    and ``done`` (in progress and already met)."""

    as_of: dt.datetime
    who: str
    due: tuple[DueItem, ...]
    overdue: tuple[Finding, ...]
    done: tuple[DueItem, ...]


class Monitor:
    """Duties of ``ruleset`` over ``registry``, as events arrive (see the module's description).

    ``engine`` is the matching engine that files each event into the match blocks it satisfies
    as it arrives: ``"python"`` (the default, :class:`~complianceengine.monitor_engines.PythonEngine`)
    or ``"durable"`` (durable-rules, the ``complianceengine[durable]`` extra,
    :class:`~complianceengine.durable_engine.DurableEngine`); both give the same answers. ``lang`` the
    language of the findings' sentences (``"en"`` or ``"zh"``). ``plugins``
    (default: the installed ones) provide calendars and notifiers; ``on_change(finding, change)``
    is called by :meth:`check` for each finding that became ``missed``, ``late`` or ``at_risk``,
    once per finding and change. ``at_risk_within`` is the horizon :meth:`check` warns with.
    """

    def __init__(
        self, ruleset: Ruleset, registry: Registry, *, engine: EngineName = "python", plugins: Plugins | None = None,
        on_change: Callable[[Finding, Change], None] | None = None, at_risk_within: dt.timedelta = dt.timedelta(hours=6),
        lang: Lang = "en",
    ):
        self.ruleset, self.registry = ruleset, registry
        self._engine = _engine(engine, ruleset)
        self._fed = 0  # how many of the reader's events the engine has been told of
        # one caller at a time: events from several threads are read, numbered and told to the
        # engine one by one (durable-rules is not thread-safe; neither is the reader)
        self._lock = threading.RLock()
        self.plugins = plugins or Plugins()
        self.on_change, self.at_risk_within, self.lang = on_change, at_risk_within, lang
        self._reader = _EventReader(ruleset, registry, self.plugins)
        self._received = 0
        self._notified: set[tuple[str, str]] = set()
        self._ahead = dt.timedelta(days=_lookahead_days(ruleset))

    # ------------------------------------------------------------------------------ events in

    def ingest(self, event: Event | dict[str, Any] | Any) -> Reject | None:
        """Add one event (an :class:`Event`, or a record as :func:`events_from_records` takes
        it); the :class:`Reject` when it is not a valid event, else None. An id already given
        with the same content is ignored; with other content it is rejected."""
        with self._lock:
            return self._ingest(event)

    def _ingest(self, event: Any) -> Reject | None:
        rejected = len(self._reader.rejects)
        # what an event adds is acyclic and lives as long as the monitor: straight to the oldest
        # generation, not walked again and again by the collector's passes (bulk.gc_paused)
        with gc_paused():
            self._reader.read_record("<monitor>", self._received, event)
            self._received += 1
            self._feed()
        return self._reader.rejects[-1] if len(self._reader.rejects) > rejected else None

    def ingest_many(self, events: Iterable[Any]) -> list[Reject]:
        """Add events in order; the rejects among them."""
        with gc_paused():  # a batch builds many acyclic objects (see bulk.gc_paused)
            return [reject for reject in map(self.ingest, events) if reject is not None]

    @property
    def engine(self) -> str:
        """The name of the matching engine (``"python"`` or ``"durable"``)."""
        return self._engine.name

    def close(self) -> None:
        """Release the engine (a durable-rules engine's rulesets); the monitor is not used after."""
        self._engine.close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _feed(self) -> None:
        """Tell the engine of the valid events it has not been told of yet (each once: an
        engine that fails on one raises EngineError and is not given it again)."""
        events = self._reader.events
        while self._fed < len(events):
            self._fed += 1
            self._engine.add(events[self._fed - 1])

    @property
    def events(self) -> tuple[Event, ...]:
        """The valid events received, in arrival order."""
        return tuple(self._reader.events)

    @property
    def first_day(self) -> dt.date | None:
        """The local day of the earliest event received (None before any)."""
        earliest = self._engine.filed.events.events  # every event, in time order
        return self._day(earliest[0].time) if earliest else None

    @property
    def rejects(self) -> tuple[Reject, ...]:
        """The records that were not valid events (``file`` ``<monitor>``, ``line`` the record's
        number in arrival order, counted from 0)."""
        return tuple(self._reader.rejects)

    @property
    def duplicates(self) -> tuple[Duplicate, ...]:
        """Every id received again (``identical``: ignored; otherwise also a reject)."""
        return tuple(self._reader.duplicates)

    # ------------------------------------------------------------------------------ answers

    def report(self, as_of: dt.datetime, since: dt.date) -> Report:
        """The audit of ``since`` to the as-of day at ``as_of``: what :meth:`status` reports as
        decided (its report, with the summaries)."""
        with self._lock:
            judged = self._judge(self.ruleset, since, max(self._day(as_of), since), as_of)
            return summarise(judged.plans, judged.findings, judged.log, judged.warnings)

    def _judge(self, ruleset: Ruleset, first_day: dt.date, last_day: dt.date, as_of: dt.datetime) -> Judged:
        """The batch audit of ``ruleset`` (all or some of the monitor's obligations) up to its
        findings, its kinds asking the engine instead of matching the events again."""
        return judge(ruleset, self.registry, self._log(), first_day=first_day, last_day=last_day, as_of=as_of, plugins=self.plugins,
                     lang=self.lang, backend=self._source)

    def _source(self, plan: Any, events: Iterable[Event], tracer: Tracer | None) -> EventSource:
        return EngineSource(self._engine.filed, plan, tracer)

    def status(self, as_of: dt.datetime, since: dt.date | None = None) -> MonitorStatus:
        """The findings decided from ``since`` (default: the as-of day) to the as-of day, exactly
        as the batch audit gives them, and what is still in progress at ``as_of``."""
        return self._answer(as_of, since)[0]

    def _answer(self, as_of: dt.datetime, since: dt.date | None) -> tuple[MonitorStatus, Report]:
        """The status at ``as_of`` and the report its findings come from."""
        day = self._day(as_of)
        since = day if since is None else since
        if since > day:
            raise UsageError(f"since ({since}) is after the as-of day ({day})")
        with self._lock:
            report = self.report(as_of, since)
            status = MonitorStatus(as_of=as_of, since=since, findings=report.findings,
                                   in_progress=tuple(self._in_progress(as_of, since, report.findings)))
        return status, report

    def due(self, as_of: dt.datetime, *, person: str | None = None, unit: str | None = None, since: dt.date | None = None) -> Checklist:
        """The checklist of ``person`` (their duties in every role) or of ``unit`` (the duties of
        the unit and of its people, subjects and cases): what remains in each current period with
        its deadline, what is overdue (decided from ``since``, default: the first event's day),
        and what is done."""
        if (person is None) == (unit is None):
            raise UsageError("give person or unit, one of them")
        mine: Callable[[Finding], bool] = (
            (lambda f: f.subject.kind == "person" and f.subject.id == person) if person is not None else (lambda f: f.unit == unit)
        )
        status = self.status(as_of, since=min(since or self.first_day or self._day(as_of), self._day(as_of)))
        current = [item for item in status.in_progress if mine(item.finding)]
        overdue = tuple(f for f in status.findings if mine(f) and _unanswered(f))
        due = tuple(sorted((i for i in current if not done(i)), key=lambda i: (i.deadline, i.finding.obligation)))
        return Checklist(as_of=as_of, who=person or unit or "", due=due, overdue=overdue, done=tuple(i for i in current if done(i)))

    def at_risk(self, as_of: dt.datetime, horizon: dt.timedelta) -> list[DueItem]:
        """The duties in progress, not done, whose deadline falls within ``horizon`` of
        ``as_of``: missed unless done in time. Soonest first."""
        return _at_risk(self.status(as_of).in_progress, as_of + horizon)

    def check(self, as_of: dt.datetime, since: dt.date | None = None) -> list[tuple[Finding, Change]]:
        """Tell the notifiers what changed by ``as_of``: each finding decided from ``since``
        (default: the as-of day) that is missed or late, and each duty at risk within
        ``at_risk_within``, once per finding and change (a restored monitor remembers). Returns
        what was told."""
        with self._lock:  # two callers at once must not both tell the same change
            return self._check(as_of, since)

    def _check(self, as_of: dt.datetime, since: dt.date | None) -> list[tuple[Finding, Change]]:
        status, report = self._answer(as_of, since)
        told: list[tuple[Finding, Change]] = []
        for finding in status.findings:
            if finding.status in ("missed", "late") and (finding.id, finding.status) not in self._notified:
                told.append((finding, finding.status))
        for item in _at_risk(status.in_progress, as_of + self.at_risk_within):
            if (item.finding.id, "at_risk") not in self._notified:
                told.append((item.finding, "at_risk"))
        for finding, change in told:
            self._notified.add((finding.id, change))
            if self.on_change is not None:
                self.on_change(finding, change)
        failing = [f for f, change in told if change != "at_risk"]
        if failing:
            notify_plugins(report.model_copy(update={"findings": tuple(failing)}), self.plugins)
        return told

    # ------------------------------------------------------------------------------ state

    def save(self, path: str | Path) -> None:
        """Write the monitor's state (the events received, rejects included, and what it has
        notified) to ``path`` as JSON, atomically: a crash while saving leaves the previous
        snapshot as it was."""
        with self._lock:  # a consistent state: no event is added while it is written down
            self._save(path)

    def _save(self, path: str | Path) -> None:
        state = {
            "ruleset": [self.ruleset.id, self.ruleset.version],
            "received": self._received,
            "events": [e.model_dump(mode="json", exclude={"origin"}) | {"line": e.origin.line if e.origin else None}
                       for e in self._reader.events],
            "rejects": [r.model_dump(mode="json") for r in self._reader.rejects],
            "duplicates": [d.model_dump(mode="json") for d in self._reader.duplicates],
            "notified": sorted(self._notified),
        }
        write_atomically(path, json.dumps(state, ensure_ascii=False))

    @classmethod
    def restore(cls, path: str | Path, ruleset: Ruleset, registry: Registry, **options: Any) -> Monitor:
        """A monitor in the state :meth:`save` wrote (for the same ruleset id and version)."""
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        if state.get("ruleset") != [ruleset.id, ruleset.version]:
            raise UsageError(f"the snapshot {path} is of ruleset {state.get('ruleset')}, not {[ruleset.id, ruleset.version]}")
        monitor = cls(ruleset, registry, **options)
        reader = monitor._reader
        for record in state["events"]:
            line = record.pop("line")
            reader.read_record("<monitor>", line, record)
        # an event the registry or ruleset now refuses is a new reject, kept after the saved ones
        reader.rejects[:] = [*(Reject.model_validate(r) for r in state["rejects"]), *reader.rejects]
        reader.duplicates[:] = [*(Duplicate.model_validate(d) for d in state["duplicates"]), *reader.duplicates]
        monitor._feed()
        monitor._received = state["received"]
        monitor._notified = {(finding, change) for finding, change in state["notified"]}
        return monitor

    # ------------------------------------------------------------------------------ inside

    def _log(self) -> EventLog:
        return EventLog(events=tuple(self._reader.events))

    def _only(self, obligations: list[Any]) -> Ruleset:
        """The ruleset with only ``obligations`` and the calendars they use (a provider is not
        asked for windows no obligation of this audit needs)."""
        used = set().union(*(calendars_used(o) for o in obligations))
        return self.ruleset.model_copy(update={"obligations": obligations,
                                               "calendars": {n: c for n, c in self.ruleset.calendars.items() if n in used}})

    def _exemption_ends(self) -> list[dt.date]:
        """The last days of the exemptions known (the registry's with an end, and exemption
        events' ``until``): how far a deadline can have been pushed."""
        ends = [x.end for x in self.registry.exemptions if x.end is not None]
        for event in self._reader.events:
            excuses = self.ruleset.event_kinds[event.kind].excuses if event.kind in self.ruleset.event_kinds else None
            until = event.attributes.get(excuses.until) if excuses is not None else None
            if isinstance(until, str):
                with contextlib.suppress(Exception):
                    ends.append(self._day(pendulum.parse(until, tz=self.ruleset.timezone)))  # type: ignore[arg-type]
        return ends

    def _day(self, instant: dt.datetime) -> dt.date:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise UsageError("as_of must carry a time zone")
        return local(instant, self.ruleset.timezone).date()

    def _in_progress(self, as_of: dt.datetime, since: dt.date, decided: Iterable[Finding]) -> list[DueItem]:
        """The duties whose period, gap or deadline has begun by ``as_of`` and ends after it:
        those the audit up to the as-of day already holds (today's daily patrol, ``open``), and
        those decided later. Periods (frequency, plugin kinds) come from an audit of the days
        after the as-of day far enough ahead for the longest period. Gaps and deadlines come from
        an audit of the same days as the status, ``since`` on (so a clock that starts at the
        range's first day starts where the status's does), to the longest gap or chain of
        deadlines after the last exemption known (an exemption pushes a deadline to its end),
        keeping what is decided after the as-of day.
        Staffing and completeness are states, not duties in progress: only in the findings."""
        day = self._day(as_of)
        end_of_day = day_start(day + dt.timedelta(days=1), self.ruleset.timezone)
        timed = [o for o in self.ruleset.obligations if o.kind in ("cadence", "response")]
        periodic = [o for o in self.ruleset.obligations if o.kind not in ("cadence", "response", "staffing", "completeness")]
        later: list[Finding] = []
        if periodic:
            later += self._judge(self._only(periodic), day + dt.timedelta(days=1), day + self._ahead, as_of).findings
        if timed:
            # a gap's deadline is at most the longest gap after the last exemption that pushes it
            pushed = max([day, *self._exemption_ends()])
            later += [f for f in self._judge(self._only(timed), since, pushed + self._ahead, as_of).findings
                      if f.decided is not None and f.decided > end_of_day]
        out = []
        for finding in (*decided, *later):
            deadline = finding.due or finding.period.end
            if (finding.period.start > as_of or deadline <= as_of or finding.status not in ("open", "met")
                    or finding.obligation_kind in ("staffing", "completeness")):
                continue
            remaining = None
            if finding.obligation_kind == "frequency" and finding.required_count is not None:
                seen = finding.observed_amount if finding.observed_amount is not None else finding.observed_count or 0
                remaining = max(0.0, finding.required_count - seen)
            out.append(DueItem(finding=finding, deadline=deadline, remaining=remaining))
        return out


def _engine(name: str, ruleset: Ruleset) -> MatchingEngine:
    """The matching engine called ``name`` for ``ruleset``."""
    if name == "python":
        return PythonEngine(ruleset)
    if name == "durable":
        try:
            from .durable_engine import DurableEngine
        except ImportError as exc:
            raise UsageError(
                f"the durable-rules engine needs the optional extra: pip install 'complianceengine[durable]' "
                f"(Python before 3.13 and a C compiler; {exc})"
            ) from exc
        return DurableEngine(ruleset)
    raise UsageError(f"unknown monitor engine {name!r}: 'python' or 'durable' (see docs/monitor.md)")


def done(item: DueItem) -> bool:
    """Is nothing left to do for ``item``: met, or (a duty with ``at_most``, ``open`` until its
    period ends) nothing remaining?"""
    return item.finding.status == "met" or item.remaining == 0


def _at_risk(in_progress: Iterable[DueItem], until: dt.datetime) -> list[DueItem]:
    """The items not done whose deadline is at or before ``until``, soonest first."""
    return sorted((i for i in in_progress if not done(i) and i.deadline <= until), key=lambda i: (i.deadline, i.finding.id))


def _unanswered(finding: Finding) -> bool:
    """A missed gap or response step that no event has closed yet (its delay runs to as-of)."""
    if finding.status != "missed":
        return False
    if finding.obligation_kind == "cadence":
        return not finding.evidence
    return finding.obligation_kind == "response"


def _lookahead_days(ruleset: Ruleset) -> int:
    """How many days after the as-of day a period, gap or deadline in progress can end."""
    days = 1
    for obligation in ruleset.obligations:
        if isinstance(obligation, FrequencyObligation):
            units = [obligation.period, *(r.period for r in obligation.during if r.period is not None)]
            days = max(days, *(int(u.every.total_seconds() // 86400) + 1 if isinstance(u, FixedPeriod) else _UNIT_DAYS[u] for u in units))
        elif isinstance(obligation, CadenceObligation):
            gaps = [obligation.max_gap, *(r.max_gap for r in obligation.during if r.max_gap is not None)]
            days = max(days, *(int(g.total_seconds() // 86400) + 1 for g in gaps))
        elif isinstance(obligation, ResponseObligation):
            days = max(days, sum(int(step.within.total_seconds() // 86400) + 1 for step in obligation.steps))
        elif obligation.kind not in ("staffing", "completeness"):
            days = max(days, _UNKNOWN_KIND_DAYS)
    return days + 1
