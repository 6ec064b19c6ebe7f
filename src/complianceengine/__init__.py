"""complianceengine: did every unit and every person on duty do what the rules say they must?

Load a ruleset and a registry, read events, audit a date range, render the report::

    import datetime as dt
    import complianceengine as ce

    ruleset = ce.load_ruleset("rulesets/xiangshan/ruleset.yaml")
    registry = ce.load_registry("rulesets/xiangshan/sample/registry.yaml", ruleset)
    events = ce.read_events("rulesets/xiangshan/sample/events.jsonl", ruleset, registry)
    report = ce.audit(ruleset, registry, events, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 10, 31),
                      as_of=dt.datetime.fromisoformat("2026-11-01T00:00:00+08:00"))
    print(ce.render(report, "markdown"))

A host system that keeps its rules and events in a database gets the same checks from text or
objects: :func:`parse_ruleset` and :func:`parse_registry` take YAML text or a mapping,
:func:`events_from_records` takes dicts, dataclasses or pydantic models (bad ones become rejects),
and :func:`audit` validates raw :class:`Event` objects the same way. Installed plugins are
loaded by default, as on the command line; ``Plugins(entry_points=False)`` leaves them out.
"""

from .errors import (
    ComplianceError,
    EngineError,
    EventSourceError,
    InputError,
    Location,
    MissingPluginError,
    NotificationError,
    PluginError,
    Problem,
    RegistryError,
    RulesetError,
    UsageError,
)
from .evaluate import audit
from .findings import Finding, Report, Status, StatusCounts, SubjectRef
from .hookspecs import hookimpl
from .eventfiles import events_from_records, read_events, write_rejects
from .loading import load_registry, load_ruleset, parse_registry, parse_ruleset
from .model import Event, EventLog, ObligationBase, Registry, Reject, Ruleset
from .kinds import ObligationKind
from .monitor import Monitor
from .plugins import Plugins
from .report import render

__all__ = [
    "ComplianceError",
    "EngineError",
    "Event",
    "EventLog",
    "EventSourceError",
    "Finding",
    "InputError",
    "Location",
    "MissingPluginError",
    "Monitor",
    "NotificationError",
    "ObligationBase",
    "ObligationKind",
    "PluginError",
    "Plugins",
    "Problem",
    "Registry",
    "RegistryError",
    "Reject",
    "Report",
    "Ruleset",
    "RulesetError",
    "Status",
    "StatusCounts",
    "SubjectRef",
    "UsageError",
    "audit",
    "events_from_records",
    "hookimpl",
    "load_registry",
    "load_ruleset",
    "parse_registry",
    "parse_ruleset",
    "read_events",
    "render",
    "write_rejects",
]
