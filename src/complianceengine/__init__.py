"""complianceengine: did every unit and every person on duty do what the rules say they must?

Load a ruleset and a registry, read events, audit a date range, render the report::

    import datetime as dt
    import complianceengine as ce

    ruleset = ce.load_ruleset("rulesets/xiangshan/ruleset.yaml")
    registry = ce.load_registry("rulesets/xiangshan/sample/registry.yaml", ruleset)
    events = ce.read_events("rulesets/xiangshan/sample/events.jsonl", ruleset, registry)
    report = ce.audit(ruleset, registry, events, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 10, 31))
    print(ce.render(report, "markdown"))
"""

from .errors import (
    ComplianceError,
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
from .eventfiles import read_events, write_rejects
from .loading import load_registry, load_ruleset
from .model import Event, EventLog, ObligationBase, Registry, Reject, Ruleset
from .kinds import ObligationKind
from .plugins import Plugins
from .report import render

__all__ = [
    "ComplianceError",
    "Event",
    "EventLog",
    "EventSourceError",
    "Finding",
    "InputError",
    "Location",
    "MissingPluginError",
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
    "hookimpl",
    "load_registry",
    "load_ruleset",
    "read_events",
    "render",
    "write_rejects",
]
