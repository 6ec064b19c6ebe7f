"""Cross-reference checks: does every name a document uses exist, with the right kind?

The checks return ``(path, message)`` pairs, where ``path`` is the key/index path of the offending
value inside the document as written (e.g. ``("obligations", 2, "applies_to", "roles", 0)``).
:mod:`complianceengine.loading` turns the path into file:line:column.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import Location, PluginError, Problem, RulesetError
from .model import (
    AnyObligation,
    AttributeSpec,
    ByRoles,
    EventMatch,
    ExtensionObligation,
    PerAssignee,
    PerSubject,
    PerUnit,
    Raised,
    Registry,
    Ruleset,
    walk,
)
from .kinds import BUILTIN
from .plugins import Plugins

from .checks import Path, Reference, check_applies_to, check_match, check_roles, path_text, unknown


def check_ruleset(ruleset: Ruleset) -> list[Reference]:
    """Every reference problem inside a ruleset, in document order."""
    problems: list[Reference] = []
    kinds = ruleset.unit_kinds
    for name, kind in kinds.items():
        for i, parent in enumerate(kind.parents):
            if parent not in kinds:
                problems.append((("unit_kinds", name, "parents", i), unknown("unit kind", parent, kinds)))
    for name in kinds:
        if _kind_cycle(ruleset, name):
            problems.append((("unit_kinds", name), f"unit kind {name!r} is its own ancestor; the hierarchy must be a tree"))
    for name, role in ruleset.roles.items():
        if role.unit_kind not in kinds:
            problems.append((("roles", name, "unit_kind"), unknown("unit kind", role.unit_kind, kinds)))
    for name, subject_kind in ruleset.subject_kinds.items():
        if subject_kind.unit_kind is not None and subject_kind.unit_kind not in kinds:
            problems.append((("subject_kinds", name, "unit_kind"), unknown("unit kind", subject_kind.unit_kind, kinds)))
    for section in ("unit_kinds", "event_kinds", "subject_kinds"):
        for name, declaring in getattr(ruleset, section).items():
            for attribute, spec in declaring.attributes.items():
                if spec.of_kind is None:
                    continue
                targets = kinds if spec.refers_to == "unit" else ruleset.subject_kinds
                if spec.of_kind not in targets:
                    problems.append(((section, name, "attributes", attribute, "of_kind"),
                                     unknown(f"{spec.refers_to} kind", spec.of_kind, targets)))

    ids = {o.id for o in ruleset.obligations}
    for name, event_kind in ruleset.event_kinds.items():
        if event_kind.excuses is None:
            continue
        spec = event_kind.attributes.get(event_kind.excuses.until)
        if spec is None or spec.type != "datetime":
            problems.append(
                (("event_kinds", name, "excuses", "until"), f"{event_kind.excuses.until!r} must be a datetime attribute of {name!r}")
            )
        for i, obligation_id in enumerate(event_kind.excuses.obligations or []):
            if obligation_id not in ids:
                problems.append((("event_kinds", name, "excuses", "obligations", i), unknown("obligation", obligation_id, ids)))

    seen: dict[str, int] = {}
    for index, obligation in enumerate(ruleset.obligations):
        at: Path = ("obligations", index)
        if obligation.id in seen:
            problems.append(((*at, "id"), f"obligation id {obligation.id!r} is already used by obligations[{seen[obligation.id]}]"))
        seen.setdefault(obligation.id, index)
        if obligation.citation.source not in ruleset.sources:
            problems.append(((*at, "citation", "source"), unknown("source", obligation.citation.source, ruleset.sources)))
        builtin = BUILTIN.get(obligation.kind) if not isinstance(obligation, ExtensionObligation) else None
        if builtin is not None and builtin.check is not None:  # each kind checks its own fields
            problems += [((*at, *path), message) for path, message in builtin.check(obligation, ruleset)]
        elif builtin is None and not isinstance(obligation, ExtensionObligation):  # a plugin's kind: check the parts we know
            problems += _check_parts(ruleset, obligation, at)
    return problems


def _check_parts(ruleset: Ruleset, node: Any, at: Path) -> list[Reference]:
    """References inside a plugin kind's model: targets, event matches, roles and calendars,
    wherever they sit in it."""
    problems: list[Reference] = []
    for path, value, parent in walk(node, at):
        if isinstance(value, (PerAssignee, PerUnit, PerSubject)):
            problems += check_applies_to(ruleset, value, path)
        elif isinstance(value, EventMatch):
            problems += check_match(ruleset, value, path)
        elif isinstance(value, ByRoles):
            problems += check_roles(ruleset, value.roles, (*path, "roles"))
        elif isinstance(value, Raised) and value.calendar not in ruleset.calendars:
            problems.append(((*path, "calendar"), unknown("calendar", value.calendar, ruleset.calendars)))
        elif path[-1:] == ("excused_in",) and isinstance(parent, BaseModel) and isinstance(value, list):
            problems += [((*path, i), unknown("calendar", c, ruleset.calendars)) for i, c in enumerate(value) if c not in ruleset.calendars]
    return problems


def _kind_cycle(ruleset: Ruleset, start: str) -> bool:
    stack = list(ruleset.unit_kinds[start].parents)
    seen: set[str] = set()
    while stack:
        kind = stack.pop()
        if kind == start:
            return True
        if kind in seen or kind not in ruleset.unit_kinds:
            continue
        seen.add(kind)
        stack.extend(ruleset.unit_kinds[kind].parents)
    return False


def check_registry(registry: Registry, ruleset: Ruleset) -> list[Reference]:
    """Every reference problem inside a registry, checked against the ruleset it is used with."""
    problems: list[Reference] = []
    units: dict[str, int] = {}
    for i, unit in enumerate(registry.units):
        if unit.id in units:
            problems.append((("units", i, "id"), f"unit id {unit.id!r} is already used by units[{units[unit.id]}]"))
        units.setdefault(unit.id, i)
    by_id = {unit.id: unit for unit in registry.units}
    ids = records(registry)
    for i, unit in enumerate(registry.units):
        kind = ruleset.unit_kinds.get(unit.kind)
        if kind is None:
            problems.append((("units", i, "kind"), unknown("unit kind", unit.kind, ruleset.unit_kinds)))
            continue
        if unit.parent is None:
            problems += _check_attributes(unit.attributes, kind.attributes, ("units", i, "attributes"), unit.kind, ids)
            if kind.parents:
                problems.append((("units", i), f"a {unit.kind} needs a parent of kind {' or '.join(kind.parents)}"))
            continue
        problems += _check_attributes(unit.attributes, kind.attributes, ("units", i, "attributes"), unit.kind, ids)
        parent = by_id.get(unit.parent)
        if parent is None:
            problems.append((("units", i, "parent"), unknown("unit", unit.parent, by_id)))
        elif parent.kind not in kind.parents:
            problems.append(
                (
                    ("units", i, "parent"),
                    f"a {unit.kind} cannot sit under {parent.id!r}, a {parent.kind}; allowed parent kinds: {', '.join(kind.parents) or 'none'}",
                )
            )
    people: dict[str, int] = {}
    for i, person in enumerate(registry.people):
        if person.id in people:
            problems.append((("people", i, "id"), f"person id {person.id!r} is already used by people[{people[person.id]}]"))
        people.setdefault(person.id, i)
    for i, assignment in enumerate(registry.assignments):
        at: Path = ("assignments", i)
        if assignment.person not in people:
            problems.append(((*at, "person"), unknown("person", assignment.person, people)))
        role = ruleset.roles.get(assignment.role)
        if role is None:
            problems.append(((*at, "role"), unknown("role", assignment.role, ruleset.roles)))
        held_at = by_id.get(assignment.unit)
        if held_at is None:
            problems.append(((*at, "unit"), unknown("unit", assignment.unit, by_id)))
        elif role is not None and held_at.kind != role.unit_kind:
            problems.append(
                ((*at, "unit"), f"role {assignment.role!r} is held at a {role.unit_kind}, but {held_at.id!r} is a {held_at.kind}")
            )
    subjects: dict[str, int] = {}
    for i, subject in enumerate(registry.subjects):
        at = ("subjects", i)
        if subject.id in subjects:
            problems.append(((*at, "id"), f"subject id {subject.id!r} is already used by subjects[{subjects[subject.id]}]"))
        subjects.setdefault(subject.id, i)
        subject_kind = ruleset.subject_kinds.get(subject.kind)
        if subject_kind is None:
            problems.append(((*at, "kind"), unknown("subject kind", subject.kind, ruleset.subject_kinds)))
            continue
        if subject.unit is not None and subject.unit not in by_id:
            problems.append(((*at, "unit"), unknown("unit", subject.unit, by_id)))
        elif subject_kind.unit_kind is not None:
            if subject.unit is None:
                problems.append((at, f"a {subject.kind} belongs to a {subject_kind.unit_kind}; give its 'unit'"))
            elif by_id[subject.unit].kind != subject_kind.unit_kind:
                problems.append(
                    ((*at, "unit"), f"a {subject.kind} belongs to a {subject_kind.unit_kind}, but {subject.unit!r} is a {by_id[subject.unit].kind}")
                )
        problems += _check_attributes(subject.attributes, subject_kind.attributes, (*at, "attributes"), subject.kind, ids)
    exemptions: dict[str, int] = {}
    obligation_ids = {o.id for o in ruleset.obligations}
    for i, exemption in enumerate(registry.exemptions):
        at = ("exemptions", i)
        if exemption.id in exemptions:
            problems.append(((*at, "id"), f"exemption id {exemption.id!r} is already used by exemptions[{exemptions[exemption.id]}]"))
        exemptions.setdefault(exemption.id, i)
        for field, known in (("person", people), ("unit", by_id), ("subject", subjects)):
            value = getattr(exemption, field)
            if value is not None and value not in known:
                problems.append(((*at, field), unknown(field, value, known)))
        for j, obligation_id in enumerate(exemption.obligations or []):
            if obligation_id not in obligation_ids:
                problems.append(((*at, "obligations", j), unknown("obligation", obligation_id, obligation_ids)))
    if _unit_cycle(registry):
        problems.append((("units",), "the unit hierarchy has a cycle"))
    return problems


def _unit_cycle(registry: Registry) -> bool:
    parent = {unit.id: unit.parent for unit in registry.units}
    for start in parent:
        seen = {start}
        node = parent.get(start)
        while node is not None:
            if node in seen:
                return True
            seen.add(node)
            node = parent.get(node)
    return False


def records(registry: Registry) -> dict[str, dict[str, str | None]]:
    """The registry's ids by record kind ("unit", "person", "subject"), each with its unit or
    subject kind: what an attribute of type ``ref`` may name."""
    return {"unit": {u.id: u.kind for u in registry.units}, "person": {p.id: None for p in registry.people},
            "subject": {s.id: s.kind for s in registry.subjects}}


def missing_record(value: str, spec: AttributeSpec, known: dict[str, dict[str, str | None]]) -> str | None:
    """Why ``value`` is not a record an attribute of type ``ref`` may name (None: it is)."""
    assert spec.refers_to is not None
    kinds = known[spec.refers_to]
    if value not in kinds:
        return f"{value!r} is not a {spec.refers_to} in the registry"
    if spec.of_kind is not None and kinds[value] != spec.of_kind:
        return f"{value!r} is a {kinds[value]}, not a {spec.of_kind}"
    return None


def _check_attributes(values: dict[str, Any], declared: dict[str, Any], at: Path, kind: str,
                      known: dict[str, dict[str, str | None]]) -> list[Reference]:
    """Registry attributes against their declaration (only when the kind declares any): names,
    enum values (a value's label was mapped to it when read), and the records a ``ref`` names."""
    if not declared:
        return []
    problems: list[Reference] = []
    for name, value in values.items():
        spec = declared.get(name)
        if spec is None:
            problems.append(((*at, name), unknown(f"attribute of {kind}", name, declared)))
        elif spec.type == "enum" and value not in (spec.values or []):
            problems.append(((*at, name), f"{value!r} is not one of {spec.choices()}"))
        elif spec.type == "list":
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                problems.append(((*at, name), f"expected a list of texts, got {value!r}"))
            elif spec.values is not None and any(item not in spec.values for item in value):
                wrong = next(item for item in value if item not in spec.values)
                problems.append(((*at, name), f"{wrong!r} is not one of {spec.choices()}"))
        elif spec.type == "ref":
            missing = missing_record(value, spec, known) if isinstance(value, str) else f"expected the id of a {spec.refers_to}, got {value!r}"
            if missing:
                problems.append(((*at, name), missing))
    for name, spec in declared.items():
        if spec.required and name not in values:
            problems.append((at[:-1], f"a {kind} needs attribute {name!r}"))
    return problems


# --------------------------------------------------------------------------------------------
# Obligations of a plugin's kind


def resolved(ruleset: Ruleset, plugins: Plugins | None = None) -> Ruleset:
    """``ruleset`` with its plugin kinds validated by their plugins' models, and every reference
    checked (a ruleset built in code with ``Ruleset.model_validate`` gets the checks a file gets);
    a located :class:`RulesetError` when something is unknown or invalid."""
    ruleset, errors, references = resolve_kinds(ruleset, plugins or Plugins())
    if not errors and not references:
        references = check_ruleset(ruleset)
    if errors or references:
        file = str(ruleset._file) if ruleset._file else "<ruleset>"
        raise RulesetError(
            [Problem(Location(file), path_text(e["loc"]), e["msg"]) for e in errors]
            + [Problem(Location(file), path_text(path), message) for path, message in references]
        )
    return ruleset


def resolve_kinds(ruleset: Ruleset, plugins: Plugins) -> tuple[Ruleset, list[dict[str, Any]], list[tuple[tuple[Any, ...], str]]]:
    """The ruleset with every obligation of a plugin's kind validated by the plugin's model.

    Returns ``(ruleset, validation errors, reference problems)``; errors are pydantic error
    dicts and problems ``(path, message)`` pairs, both with paths from the document root, for
    the caller to locate. The ruleset given is not modified.
    """
    kinds = plugins.obligation_kinds()
    errors: list[dict[str, Any]] = []
    references: list[tuple[tuple[Any, ...], str]] = []
    obligations: list[AnyObligation] = list(ruleset.obligations)
    changed = False
    for index, obligation in enumerate(obligations):
        at = ("obligations", index)
        if obligation.kind in BUILTIN:
            continue
        if obligation.kind not in kinds:
            known = [*BUILTIN, *sorted(k for k in kinds if k not in BUILTIN)]
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
        checked: AnyObligation = obligation
        if isinstance(obligation, ExtensionObligation):
            try:
                checked = kind.model.model_validate(obligation.model_dump(by_alias=True, exclude_unset=True))
            except ValidationError as exc:
                errors += [{**e, "loc": (*at, *e["loc"])} for e in exc.errors()]
                continue
            obligations[index], changed = checked, True
        if kind.check is not None:
            try:
                found = list(kind.check(checked, ruleset))
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
