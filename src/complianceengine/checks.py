"""The reference checks the obligation kinds share, and the rough sizes of periods their lint
hints compare: small functions over the model, below the kinds, the loader and the linter.

The checks return ``(path, message)`` pairs, where ``path`` is the key/index path of the offending
value inside the document as written (e.g. ``("obligations", 2, "applies_to", "roles", 0)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from difflib import get_close_matches
from typing import Any

from .model import CORE_EVENT_FIELDS, Comparison, EventMatch, FixedPeriod, PerAssignee, PerSubject, PerUnit, Ruleset

__all__ = ["Path", "Reference", "check_applies_to", "check_match", "check_roles", "has_field", "path_text", "period_days", "rate", "unknown"]

Path = tuple[Any, ...]
Reference = tuple[Path, str]

_APPROX_DAYS = {"day": 1, "week": 7, "month": 28, "quarter": 90, "year": 365}


def unknown(what: str, name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    close = get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listed = ", ".join(known) if len(known) <= 12 else ", ".join(known[:12]) + ", ..."
    return f"unknown {what} {name!r}{hint} (declared: {listed or 'none'})"


def path_text(path: Sequence[Any]) -> str:
    """A document path as authors read it: ``obligations[2].applies_to.roles[0]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check_roles(ruleset: Ruleset, roles: list[str], at: Path) -> list[Reference]:
    return [((*at, i), unknown("role", role, ruleset.roles)) for i, role in enumerate(roles) if role not in ruleset.roles]


def check_applies_to(ruleset: Ruleset, applies_to: PerAssignee | PerUnit | PerSubject, at: Path) -> list[Reference]:
    if isinstance(applies_to, PerAssignee):
        return check_roles(ruleset, applies_to.roles, (*at, "roles"))
    if isinstance(applies_to, PerUnit):
        kind = ruleset.unit_kinds.get(applies_to.unit_kind)
        if kind is None:
            return [((*at, "unit_kind"), unknown("unit kind", applies_to.unit_kind, ruleset.unit_kinds))]
        problems = []
        for name, condition in applies_to.where.items():
            spec = kind.attributes.get(name)
            if kind.attributes and spec is None:
                problems.append(((*at, "where", name), unknown(f"attribute of {applies_to.unit_kind}", name, kind.attributes)))
            elif spec is not None and spec.type == "enum":
                problems += [
                    ((*at, "where", name), f"{value!r} is not a value of enum {applies_to.unit_kind}.{name} (values: {', '.join(spec.values or [])})")
                    for value in _compared_values(condition) if value not in (spec.values or [])
                ]
        return problems
    if applies_to.subject_kind not in ruleset.subject_kinds:
        return [((*at, "subject_kind"), unknown("subject kind", applies_to.subject_kind, ruleset.subject_kinds))]
    return []


def has_field(ruleset: Ruleset, kind: str, field: str) -> bool:
    return field in CORE_EVENT_FIELDS or field in ruleset.event_kinds[kind].attributes


def check_match(ruleset: Ruleset, match: EventMatch, at: Path) -> list[Reference]:
    problems: list[Reference] = []
    kind_path = (*at, "kind") if isinstance(match.kind, str) else None
    for i, kind in enumerate(match.kinds):
        if kind not in ruleset.event_kinds:
            problems.append((kind_path or (*at, "kind", i), unknown("event kind", kind, ruleset.event_kinds)))
    known = [k for k in match.kinds if k in ruleset.event_kinds]
    if match.in_calendar is not None and match.in_calendar not in ruleset.calendars:
        problems.append(((*at, "in_calendar"), unknown("calendar", match.in_calendar, ruleset.calendars)))
    if match.quorum is not None:
        for kind in known:
            spec = ruleset.event_kinds[kind].attributes.get(match.quorum.attribute)
            if spec is None or spec.type != "list":
                problems.append(((*at, "quorum", "attribute"), f"{match.quorum.attribute!r} must be a list attribute of event kind {kind!r}"))
    for field, condition in match.where.items():
        lacking = [k for k in known if not has_field(ruleset, k, field)]
        if lacking:
            problems.append(((*at, "where", field), f"event kind {lacking[0]!r} has no field {field!r} (core fields: {', '.join(CORE_EVENT_FIELDS)})"))
            continue
        for kind in known:
            spec = ruleset.event_kinds[kind].attributes.get(field)
            if spec is None or spec.type != "enum" or spec.values is None:  # an enum always has values
                continue
            for value in _compared_values(condition):
                if value not in spec.values:
                    problems.append(
                        ((*at, "where", field), f"{value!r} is not a value of enum {kind}.{field} (values: {', '.join(spec.values)})")
                    )
    return problems


def _compared_values(condition: Any) -> list[Any]:
    if isinstance(condition, Comparison):
        values = [condition.eq, condition.ne] + list(condition.in_ or []) + list(condition.not_in or [])
        return [v for v in values if v is not None]
    if isinstance(condition, list):
        return list(condition)
    return [condition]


def period_days(period: Any) -> float:
    """A period's length in days, roughly (0 when unknown), for comparing requirements."""
    if isinstance(period, FixedPeriod):
        return period.every.total_seconds() / 86400
    return _APPROX_DAYS.get(period, 0)


def rate(period: Any, at_least: int | None) -> float | None:
    """Required events per day, roughly, for comparing requirements."""
    days = period_days(period)
    return None if at_least is None or not days else at_least / days
