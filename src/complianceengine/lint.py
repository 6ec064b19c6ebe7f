"""``complianceengine check``: validation and lint rules for ruleset authors, fit for CI.

Every diagnostic has a stable code, a severity, a file:line:column, a message and a fix hint.
Codes never change meaning; new rules get new codes. The rules are listed in :data:`RULES` (and in
``docs/authoring.md``). Renderers for text, JSON, SARIF 2.1.0, GitHub Actions annotations and
JUnit XML are at the bottom.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from ruamel.yaml import YAML

from . import about
from .compile import calendars_used, missing_calendars
from .errors import InputError, PluginError
from .github_actions import Annotation, AnnotationLevel
from .junit import JUnitCase, JUnitFailure, JUnitSuite, junit_xml
from .loading import load_registry, load_ruleset_located, locate
from .model import (
    ByRoles,
    EventMatch,
    ExtensionObligation,
    PerAssignee,
    PerSubject,
    PerUnit,
    Ruleset,
    walk,
)
from .kinds.staffing import StaffingObligation
from .kinds.base import ObligationKind
from .plugins import BUILTIN_PLUGIN, Plugins
from .checks import path_text

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    severity: Severity
    summary: str


RULES: dict[str, Rule] = {
    r.code: r
    for r in [
        Rule(code="CE001", name="invalid-ruleset", severity="error", summary="The ruleset is not valid YAML, does not fit the schema, or refers to undeclared names."),
        Rule(code="CE002", name="invalid-registry", severity="error", summary="The registry does not fit the schema or the ruleset."),
        Rule(code="CE003", name="missing-plugin", severity="error", summary="A calendar needs a provider no loaded plugin provides."),
        Rule(code="CE101", name="unsatisfiable-by-roles", severity="warning",
             summary="No holder of the `by` roles can ever be at the target's unit or a unit above or below it."),
        Rule(code="CE102", name="raised-is-weaker", severity="warning",
             summary="A requirement raised during a calendar window is in fact weaker than the base requirement."),
        Rule(code="CE103", name="duplicate-obligation", severity="warning",
             summary="Two obligations of the same kind apply to the same targets with the same match."),
        Rule(code="CE104", name="window-longer-than-period", severity="warning",
             summary="`distinct_within` is so long that fewer than `at_least` counted events fit in a period."),
        Rule(code="CE105", name="unused-role", severity="warning", summary="A declared role is used by no obligation."),
        Rule(code="CE106", name="unused-event-kind", severity="warning", summary="A declared event kind is matched by no obligation and excuses nothing."),
        Rule(code="CE107", name="unused-calendar", severity="warning", summary="A declared calendar is used by no obligation."),
        Rule(code="CE108", name="missing-quote", severity="info",
             summary="A citation has no `quote` of the source sentence, so reviewers cannot check the rule against it."),
        Rule(code="CE109", name="assumed-without-note", severity="warning",
             summary="A requirement is marked `assumed: true` but `note` does not say why the ruleset chose it."),
        Rule(code="CE110", name="optional-plugin-missing", severity="warning",
             summary="An optional calendar's provider is not loaded: the obligations using it will be reported not judged."),
        Rule(code="CE111", name="unsatisfiable-quorum", severity="warning",
             summary="A required number of attendees or departments cannot be reached by the event kind's declared values."),
        Rule(code="CE112", name="kind-hint", severity="warning",
             summary="A plugin's obligation kind says something about one of its obligations (its `ObligationKind.lint`)."),
        Rule(code="CE113", name="spacing-flags-every-duty", severity="warning",
             summary="`min_spacing` is so long that meeting the requirement on time always flags an event."),
        Rule(code="CE114", name="in-at-least-unreachable", severity="warning",
             summary="`in_at_least` asks for more sub-periods than its period has."),
    ]
}


class Diagnostic(BaseModel):
    """One finding of ``check``."""

    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    file: str
    line: int | None = None
    column: int | None = None
    path: str = ""
    message: str
    hint: str = ""
    checked: str = Field("", description="The file given to check that led here (an overlay's base may be another file)")

    @property
    def rule(self) -> Rule:
        return RULES[self.code]

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line, self.column) if p is not None)
        text = f"{where}: {self.severity} {self.code} {self.rule.name}: {self.message}"
        return text + (f"\n    hint: {self.hint}" if self.hint else "")


def at_or_above(diagnostics: Iterable[Diagnostic], threshold: Severity) -> list[Diagnostic]:
    rank = SEVERITIES.index(threshold)
    return [d for d in diagnostics if SEVERITIES.index(d.severity) >= rank]


# --------------------------------------------------------------------------------------------
# Running the checks


def ruleset_files(paths: Sequence[str | Path]) -> list[Path]:
    """Files to check: the files given, and in folders every ``ruleset.yaml`` (recursively)."""
    out: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            out += sorted(p for p in path.rglob("ruleset.yaml") if not any(part.startswith(".") for part in p.relative_to(path).parts))
        else:
            out.append(path)
    return out


def check_ruleset_file(path: Path, plugins: Plugins, registry: Path | None = None) -> tuple[Ruleset | None, list[Diagnostic]]:
    """Validate one ruleset file (and a registry against it) and run every lint rule."""
    try:
        ruleset, root, file_of = load_ruleset_located(path, plugins)
    except InputError as exc:
        return None, [_from_problem("CE001", p) for p in exc.problems]
    diagnostics: list[Diagnostic] = []
    if registry is not None:
        try:
            load_registry(registry, ruleset)
        except InputError as exc:
            diagnostics += [_from_problem("CE002", p) for p in exc.problems]
    missing = missing_calendars(ruleset, plugins)
    for name, message in missing.items():
        calendar = ruleset.calendars[name]
        users = [o.id for o in ruleset.obligations if name in calendars_used(o)]
        if calendar.optional:
            diagnostics.append(_at(root, file_of, "CE110", ("calendars", name, "provider"),
                                   f"{message}; obligations {', '.join(users) or '(none)'} will be reported not judged",
                                   "install the plugin (or pass --plugin MODULE) to judge them"))
        else:
            diagnostics.append(_at(root, file_of, "CE003", ("calendars", name, "provider"), message,
                                   "install the plugin, pass --plugin MODULE, or mark the calendar `optional: true`"))
    for code, where, message, hint in lint(ruleset, plugins.obligation_kinds()):
        diagnostics.append(_at(root, file_of, code, where, message, hint))
    return ruleset, _unsuppressed(diagnostics)


_IGNORE = re.compile(r"#\s*lint:\s*ignore\s+((?:CE\d{3}[,\s]*)+)")


def _unsuppressed(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Drop warnings and infos silenced by ``# lint: ignore CE105 -- reason`` at the end of their
    line, or on a comment-only line just above (in the file the diagnostic points into). Errors
    cannot be silenced."""
    texts: dict[str, list[str]] = {}

    def ignored(file: str, line: int | None) -> set[str]:
        if file not in texts:
            texts[file] = Path(file).read_text(encoding="utf-8").splitlines()
        lines = texts[file]
        codes: set[str] = set()
        for number in (line, None if line is None else line - 1):
            if number is not None and 1 <= number <= len(lines):
                text = lines[number - 1]
                if number != line and not text.lstrip().startswith("#"):
                    continue  # a trailing comment on the line above belongs to that line
                match = _IGNORE.search(text)
                if match:
                    codes |= set(re.findall(r"CE\d{3}", match.group(1)))
        return codes

    return [d for d in diagnostics if d.severity == "error" or d.code not in ignored(d.file, d.line)]


def _from_problem(code: str, problem: Any) -> Diagnostic:
    hint = "see the message; `complianceengine schema` gives the expected shape"
    if "did you mean" in problem.message:
        hint = "use the suggested name, or declare the one you meant"
    return Diagnostic(code=code, severity=RULES[code].severity, file=problem.location.file or "<input>", line=problem.location.line,
                      column=problem.location.column, path=problem.path, message=problem.message, hint=hint)


def _at(root: Any, file_of: Any, code: str, where: tuple[Any, ...], message: str, hint: str) -> Diagnostic:
    location = locate(root, where, file_of(where))
    return Diagnostic(code=code, severity=RULES[code].severity, file=str(location.file), line=location.line, column=location.column,
                      path=path_text(where), message=message, hint=hint)


# --------------------------------------------------------------------------------------------
# The lint rules, on a valid ruleset. Each yields (code, document path, message, hint).

Finding = tuple[str, tuple[Any, ...], str, str]
def lint(ruleset: Ruleset, kinds: Mapping[str, tuple[str, ObligationKind]] | None = None) -> list[Finding]:
    """The lint findings of a valid ruleset; ``kinds`` (plugin name and kind by kind name, as
    :meth:`Plugins.obligation_kinds` gives them; default: the built-in ones) give their own hints
    about their obligations."""
    from .kinds import BUILTIN  # the kinds' hints use this module's helpers

    out: list[Finding] = []
    out += _unsatisfiable_by(ruleset)
    out += _kind_hints(ruleset, {name: (BUILTIN_PLUGIN, kind) for name, kind in BUILTIN.items()} if kinds is None else kinds)
    out += _duplicates(ruleset)
    out += _unused(ruleset)
    out += _citations(ruleset)
    out += _quorum(ruleset)
    return out


def _kind_line(ruleset: Ruleset, kind: str) -> set[str]:
    """The unit kinds above and below ``kind`` (and itself) in the declared hierarchy."""
    up, stack = set(), [kind]
    while stack:
        k = stack.pop()
        if k in up or k not in ruleset.unit_kinds:
            continue
        up.add(k)
        stack += ruleset.unit_kinds[k].parents
    down, stack = set(), [kind]
    while stack:
        k = stack.pop()
        if k in down:
            continue
        down.add(k)
        stack += [name for name, spec in ruleset.unit_kinds.items() if k in spec.parents]
    return up | down


def _target_kinds(ruleset: Ruleset, applies_to: Any) -> set[str] | None:
    if isinstance(applies_to, PerUnit):
        return {applies_to.unit_kind}
    if isinstance(applies_to, PerSubject):
        kind = ruleset.subject_kinds[applies_to.subject_kind].unit_kind
        return None if kind is None else {kind}
    if isinstance(applies_to, PerAssignee):
        return {ruleset.roles[r].unit_kind for r in applies_to.roles}
    return None


def _unsatisfiable_by(ruleset: Ruleset) -> list[Finding]:
    out: list[Finding] = []
    for i, obligation in enumerate(ruleset.obligations):
        by = getattr(obligation, "by", None)
        kinds = _target_kinds(ruleset, getattr(obligation, "applies_to", None))
        if not isinstance(by, ByRoles) or not kinds:
            continue
        for target_kind in kinds:
            reachable = _kind_line(ruleset, target_kind)
            held = {r: ruleset.roles[r].unit_kind for r in by.roles}
            if not any(k in reachable for k in held.values()):
                out.append(("CE101", ("obligations", i, "by", "roles"),
                            f"{obligation.id}: the `by` roles are held at {sorted(set(held.values()))}, none of which is above or below a "
                            f"{target_kind!r}, so no event can ever count",
                            "name a role held at the target's unit kind or one of its ancestors or descendants"))
    return out


def _kind_hints(ruleset: Ruleset, kinds: Mapping[str, tuple[str, ObligationKind]]) -> list[Finding]:
    """The hints each obligation's kind gives about it (``ObligationKind.lint``: CE102 and CE104
    come from the frequency and cadence kinds); a plugin's that fails is named."""
    out: list[Finding] = []
    for i, obligation in enumerate(ruleset.obligations):
        plugin, kind = kinds.get(obligation.kind, (None, None))
        if kind is None or kind.lint is None or isinstance(obligation, ExtensionObligation):
            continue
        try:
            hints = [(code, ("obligations", i, *path), message, hint) for code, path, message, hint in kind.lint(obligation, ruleset)]
            if not all(code in RULES for code, *_ in hints):
                raise ValueError(f"unknown lint codes {sorted({c for c, *_ in hints if c not in RULES})}")
        except Exception as exc:
            if plugin == BUILTIN_PLUGIN:
                raise
            raise PluginError(plugin or "?", "ObligationKind.lint", f"{type(exc).__name__}: {exc}") from exc
        out += hints
    return out


def _signature(obligation: Any) -> str | None:
    if not hasattr(obligation, "applies_to"):
        return None
    parts = {k: v for k, v in obligation.model_dump(mode="json").items()
             if k not in ("id", "title", "citation", "assumed", "note", "at_least", "at_most", "max_gap", "during", "period")}
    return json.dumps(parts, sort_keys=True, ensure_ascii=False)


def _duplicates(ruleset: Ruleset) -> list[Finding]:
    out: list[Finding] = []
    seen: dict[str, tuple[int, str]] = {}
    for i, obligation in enumerate(ruleset.obligations):
        signature = _signature(obligation)
        if signature is None:
            continue
        if signature in seen:
            first, first_id = seen[signature]
            out.append(("CE103", ("obligations", i, "id"),
                        f"{obligation.id} applies to the same targets with the same match as {first_id} (obligations[{first}])",
                        "merge them, or use `during` for a stricter requirement inside a window"))
        else:
            seen[signature] = (i, obligation.id)
    return out


def _matches(node: Any) -> list[EventMatch]:
    return [value for _, value, _ in walk(node) if isinstance(value, EventMatch)]


def _roles_used(node: Any) -> set[str]:
    roles: set[str] = set()
    for _, value, _ in walk(node):
        if isinstance(value, (PerAssignee, ByRoles)):
            roles |= set(value.roles)
        elif isinstance(value, StaffingObligation):
            roles |= set(value.require)
    return roles


def _unused(ruleset: Ruleset) -> list[Finding]:
    out: list[Finding] = []
    roles = set().union(*(_roles_used(o) for o in ruleset.obligations)) if ruleset.obligations else set()
    for name in ruleset.roles:
        if name not in roles:
            out.append(("CE105", ("roles", name), f"role {name!r} is used by no obligation",
                        "remove it, or add the duty that comes with it (registries may still assign it)"))
    kinds = {k for o in ruleset.obligations for m in _matches(o) for k in m.kinds}
    for name, kind in ruleset.event_kinds.items():
        if name not in kinds and kind.excuses is None:
            out.append(("CE106", ("event_kinds", name), f"event kind {name!r} is matched by no obligation",
                        "remove it, or match it in the obligation it was meant for"))
    calendars = set().union(*(calendars_used(o) for o in ruleset.obligations)) if ruleset.obligations else set()
    for name in ruleset.calendars:
        if name not in calendars:
            out.append(("CE107", ("calendars", name), f"calendar {name!r} is used by no obligation",
                        "use it in `during`, `excused_in` or `match.in_calendar`, or remove it"))
    return out


def _citations(ruleset: Ruleset) -> list[Finding]:
    out: list[Finding] = []
    for i, obligation in enumerate(ruleset.obligations):
        if not obligation.citation.quote:
            out.append(("CE108", ("obligations", i, "citation"), f"{obligation.id}: the citation has no quote",
                        "add `quote:` with the sentence of the source the rule comes from"))
        if obligation.assumed and not obligation.note:
            out.append(("CE109", ("obligations", i, "assumed"), f"{obligation.id}: assumed without a note",
                        "say in `note` why the ruleset chose this number"))
        for j, raised in enumerate(getattr(obligation, "during", [])):
            if raised.assumed and not raised.note:
                out.append(("CE109", ("obligations", i, "during", j, "assumed"), f"{obligation.id}: raised requirement assumed without a note",
                            "say in `note` why the ruleset chose this number"))
    return out


def _quorum(ruleset: Ruleset) -> list[Finding]:
    out: list[Finding] = []
    for i, obligation in enumerate(ruleset.obligations):
        for match in _matches(obligation):
            if match.quorum is None:
                continue
            for kind in match.kinds:
                spec = ruleset.event_kinds[kind].attributes.get(match.quorum.attribute)
                if spec is None or spec.values is None:
                    continue
                possible = set(match.quorum.members) & set(spec.values)
                if len(possible) < match.quorum.at_least:
                    out.append(("CE111", ("obligations", i), f"{obligation.id}: a quorum of {match.quorum.at_least} is required but only "
                                f"{len(possible)} of its members are values a {kind!r} event's {match.quorum.attribute!r} can hold",
                                "list members among the attribute's declared values, or lower the quorum"))
    return out


# --------------------------------------------------------------------------------------------
# Output formats


def _summary(diagnostics: Sequence[Diagnostic], files: Sequence[Path]) -> str:
    counts = {s: sum(1 for d in diagnostics if d.severity == s) for s in ("error", "warning", "info")}
    return f"{len(files)} file(s) checked: {counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info"


def render_text(diagnostics: Sequence[Diagnostic], files: Sequence[Path]) -> str:
    return "\n".join([*(str(d) for d in diagnostics), _summary(diagnostics, files)]) + "\n"


def render_json(diagnostics: Sequence[Diagnostic], files: Sequence[Path]) -> str:
    payload = {
        "files": [str(f) for f in files],
        "diagnostics": [{**d.model_dump(), "rule": d.rule.name} for d in diagnostics],
        "summary": {s: sum(1 for d in diagnostics if d.severity == s) for s in ("error", "warning", "info")},
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


_SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")


def _sarif_driver() -> dict[str, str]:
    """The tool that made the log: name, version (``semanticVersion`` only when it is SemVer, as
    SARIF asks) and home page (from the package metadata)."""
    version, home = about.version(), about.project_url("Homepage")
    driver = {"name": about.NAME, "version": version}
    if _SEMVER.fullmatch(version):
        driver["semanticVersion"] = version
    if home:
        driver["informationUri"] = home
    return driver


def render_sarif(diagnostics: Sequence[Diagnostic], files: Sequence[Path]) -> str:
    """SARIF 2.1.0, for code-review annotations (GitHub code scanning, GitLab, Azure DevOps)."""
    codes = sorted(RULES)
    results = []
    for d in diagnostics:
        region = {k: v for k, v in (("startLine", d.line), ("startColumn", d.column)) if v is not None}
        location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": Path(d.file).as_posix()}}}
        if region:
            location["physicalLocation"]["region"] = region
        if d.path:
            location["logicalLocations"] = [{"fullyQualifiedName": d.path}]
        results.append({
            "ruleId": d.code,
            "ruleIndex": codes.index(d.code),
            "level": _SARIF_LEVEL[d.severity],
            "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
            "locations": [location],
        })
    docs = about.project_url("Documentation")
    rules = [
        {"id": code, "name": RULES[code].name, "shortDescription": {"text": RULES[code].summary},
         "defaultConfiguration": {"level": _SARIF_LEVEL[RULES[code].severity]},
         **({"helpUri": f"{docs}/authoring.md#complianceengine-check-path"} if docs else {})}
        for code in codes
    ]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {**_sarif_driver(), "rules": rules}},
            "artifacts": [{"location": {"uri": Path(f).as_posix()}} for f in files],
            "results": results,
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


_GITHUB_LEVEL: dict[Severity, AnnotationLevel] = {"error": "error", "warning": "warning", "info": "notice"}


def render_github(diagnostics: Sequence[Diagnostic], files: Sequence[Path]) -> str:
    """GitHub Actions workflow commands: one annotation per diagnostic (``::error``,
    ``::warning``, ``::notice`` for info) at its file, line and column, titled with its code and
    rule, the hint on a second line; then the text format's summary line."""
    lines = []
    for d in diagnostics:
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        annotation = Annotation(_GITHUB_LEVEL[d.severity], message, file=Path(d.file).as_posix(), line=d.line, column=d.column,
                                title=f"{d.code} {d.rule.name}")
        lines.append(annotation.command())
    return "\n".join([*lines, _summary(diagnostics, files)]) + "\n"


def render_junit(diagnostics: Sequence[Diagnostic], files: Sequence[Path], threshold: Severity = "warning") -> str:
    """JUnit XML: one test case per file; diagnostics at or above ``threshold`` are failures."""
    failing = at_or_above(diagnostics, threshold)
    cases = []
    for f in files:
        mine = [d for d in failing if (d.checked or d.file) == str(f)]
        failure = JUnitFailure(f"{len(mine)} diagnostic(s) at or above {threshold}", "lint", "\n".join(str(d) for d in mine)) if mine else None
        cases.append(JUnitCase("complianceengine.check", str(f), failure=failure))
    return junit_xml([JUnitSuite("complianceengine check", cases)])


def resolved_yaml(ruleset: Ruleset) -> str:
    """The ruleset as the engine sees it, overlays applied and defaults filled in, as YAML."""
    data = ruleset.model_dump(mode="json", by_alias=True, exclude_none=True)
    for key in ("extends", "remove", "$schema"):
        data.pop(key, None)
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    # ruamel.yaml leaves this attribute unannotated with a None default, so mypy infers the type None;
    # the YAML object reads it as a bool (None meaning "sort")
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.dump(data, out)
    return out.getvalue()


def check_paths(
    paths: Sequence[str | Path], plugins: Plugins, registry: Path | None = None
) -> tuple[dict[Path, Ruleset | None], list[Diagnostic]]:
    """Check every ruleset file under ``paths``: ``({file: ruleset or None if invalid}, diagnostics)``."""
    checked: dict[Path, Ruleset | None] = {}
    diagnostics: list[Diagnostic] = []
    for path in ruleset_files(paths):
        checked[path], found = check_ruleset_file(path, plugins, registry)
        diagnostics += [d.model_copy(update={"checked": str(path)}) for d in found]
    return checked, diagnostics
