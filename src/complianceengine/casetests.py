"""``complianceengine test``: test cases that live beside a ruleset, with rule coverage.

A test case is a YAML file in a ``tests/`` folder next to ``ruleset.yaml``: a small registry
(inline or a file), some events (inline, or files), a date range and the verdicts expected, by
obligation, subject and period. The format and the coverage rule are in ``docs/authoring.md``.

An expectation names a finding (obligation, subject, and optionally period, step and role) and its
status; optionally ``evidence``, the exact event ids of its evidence, and ``flagged``, the exact
event ids ``min_spacing`` flagged on it (``flagged: []`` expects none), each compared as a set.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ComplianceError, InputError, RulesetError
from .evaluate import audit
from .findings import FAILING, Finding, Status
from .junit import JUnitCase, JUnitFailure, JUnitSuite, junit_xml
from .eventfiles import _EventReader
from .loading import _read_yaml, _validation_problems, load_registry, load_ruleset, registry_from
from .model import EventLog, Registry, Ruleset
from .plugins import Plugins


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    obligation: str
    subject: str
    period: str | None = Field(None, description="The finding's period label, e.g. 2026-W38; omit to match every period")
    step: str | None = None
    role: str | None = Field(None, description="For staffing (one finding per required role): which role")
    status: Status
    evidence: list[str] | None = Field(None, description="When given, exactly these event ids must be the evidence")
    flagged: list[str] | None = Field(
        None, description="When given, exactly these event ids must be flagged by min_spacing (an empty list: none)")

    @field_validator("period", mode="before")
    @classmethod
    def _date_as_label(cls, value: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.date) else value  # `period: 2026-08-03` is read as a date


class TestCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str | None = None
    ruleset: str = "../ruleset.yaml"
    registry: str | dict[str, Any]
    events: list[dict[str, Any] | str] = Field(default_factory=list)
    first_day: dt.date = Field(alias="from")
    last_day: dt.date = Field(alias="to")
    as_of: dt.datetime
    rejects: int = Field(0, description="How many events are expected to be rejected")
    expect: list[Expectation] = Field(min_length=1)

    @field_validator("as_of")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("as_of needs a time zone offset, e.g. 2026-09-01T00:00:00+08:00")
        return value


class CaseResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    name: str
    ruleset: str
    failures: tuple[str, ...] = ()
    expectations: tuple[Expectation, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures


class Coverage(BaseModel):
    """Which statuses the expectations exercise, per obligation of one ruleset."""

    model_config = ConfigDict(frozen=True)

    ruleset: str
    exercised: dict[str, tuple[str, ...]]

    @property
    def uncovered(self) -> dict[str, str]:
        """Obligation -> what is missing for full coverage: a passing and a failing verdict."""
        out = {}
        for obligation, statuses in self.exercised.items():
            missing = []
            if not any(s in ("met", "excused") for s in statuses):
                missing.append("no expectation that it is met")
            if not any(s in FAILING for s in statuses):
                missing.append("no expectation that it fails")
            if missing:
                out[obligation] = " and ".join(missing)
        return out


def case_files(paths: Sequence[str | Path]) -> list[Path]:
    out: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*.yaml")
                          if p.parent.name == "tests" and not any(x.startswith(".") for x in p.relative_to(path).parts))
        else:
            out.append(path)
    return out


def run_case(path: Path, plugins: Plugins) -> tuple[CaseResult, Ruleset]:
    """Run one test case. Raises :class:`InputError` when the case or its inputs are invalid."""
    plain, root = _read_yaml(path, RulesetError)
    try:
        case = TestCase.model_validate(plain)
    except ValidationError as exc:
        raise RulesetError(_validation_problems(exc.errors(), root, plain, str(path))) from None
    ruleset_path = (path.parent / case.ruleset).resolve()
    ruleset = load_ruleset(ruleset_path, plugins)
    registry = _registry(case, path, root, ruleset)
    reader = _EventReader(ruleset, registry, plugins)
    inline = [(i, e) for i, e in enumerate(case.events) if isinstance(e, dict)]
    if inline:
        reader.path = path
        # each inline event is read as a line of its own, numbered with its line in the test case
        reader._read_jsonl(
            ((root["events"].lc.item(i)[0] + 1, json.dumps(e, default=str, ensure_ascii=False), True) for i, e in inline), str(path)
        )
    for item in case.events:
        if isinstance(item, str):
            reader.read_file(path.parent / item)
    log = EventLog(events=tuple(reader.events), rejects=tuple(reader.rejects), duplicates=tuple(reader.duplicates))
    report = audit(ruleset, registry, log, first_day=case.first_day, last_day=case.last_day, as_of=case.as_of, plugins=plugins)
    failures = []
    if len(log.rejects) != case.rejects:
        failures += [f"expected {case.rejects} rejected event(s), got {len(log.rejects)}"]
        failures += [f"  rejected {r.file}:{r.line}: {'; '.join(r.errors)}" for r in log.rejects]
    for expectation in case.expect:
        failures += _compare(expectation, report.findings, ruleset)
    result = CaseResult(file=str(path), name=case.name or path.stem, ruleset=ruleset.id, failures=tuple(failures), expectations=tuple(case.expect))
    return result, ruleset


def _registry(case: TestCase, path: Path, root: Any, ruleset: Ruleset) -> Registry:
    if isinstance(case.registry, str):
        return load_registry(path.parent / case.registry, ruleset)
    return registry_from(case.registry, root["registry"], str(path), ruleset)


def _describe(f: Finding) -> str:
    evidence = ", ".join(f.evidence) or "none"
    return f"{f.status}: required {f.required}; observed {f.observed}; evidence {evidence}" + (f"; {f.note}" if f.note else "")


def _compare(expectation: Expectation, findings: Sequence[Finding], ruleset: Ruleset) -> list[str]:
    e = expectation
    label = (f"{e.obligation} / {e.subject}" + (f" / {e.period}" if e.period else "") + (f" / step {e.step}" if e.step else "")
             + (f" / role {e.role}" if e.role else ""))
    if e.obligation not in {o.id for o in ruleset.obligations}:
        return [f"{label}: the ruleset has no obligation {e.obligation!r}"]
    mine = [f for f in findings if f.obligation == e.obligation]
    chosen = [
        f for f in mine
        if f.subject.id == e.subject and (e.period is None or f.period.label == e.period) and (e.step is None or f.step == e.step)
        and (e.role is None or f.subject.role == e.role)
    ]
    if not chosen:
        choices = sorted({f"{f.subject.id} / {f.period.label}" + (f" / step {f.step}" if f.step else "") for f in mine})
        shown = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
        return [f"{label}: no such finding; the obligation's findings are: {shown or 'none'}"]
    out = []
    for f in chosen:
        where = f"{label}" if e.period else f"{label} / {f.period.label}"
        if f.status != e.status:
            out.append(f"{where}: expected {e.status}, got {_describe(f)}")
        elif e.evidence is not None and sorted(e.evidence) != sorted(f.evidence):
            out.append(f"{where}: expected evidence {sorted(e.evidence)}, got {sorted(f.evidence)}")
        elif e.flagged is not None and sorted(e.flagged) != sorted(f.flagged):
            out.append(f"{where}: expected flagged {sorted(e.flagged)}, got {sorted(f.flagged)}" + (f"; {f.note}" if f.note else ""))
    return out


def run_paths(paths: Sequence[str | Path], plugins: Plugins) -> tuple[list[CaseResult], list[Coverage]]:
    results: list[CaseResult] = []
    rulesets: dict[str, Ruleset] = {}
    for path in case_files(paths):
        try:
            result, ruleset = run_case(path, plugins)
        except InputError as exc:
            result = CaseResult(file=str(path), name=path.stem, ruleset="?", failures=tuple(f"invalid: {p}" for p in exc.problems))
        except ComplianceError as exc:  # e.g. a range no version of the ruleset is in effect for
            result = CaseResult(file=str(path), name=path.stem, ruleset="?", failures=(f"invalid: {path}: {exc}",))
        else:
            rulesets[ruleset.id] = ruleset
        results.append(result)
    coverage = []
    for ruleset_id, ruleset in rulesets.items():
        exercised: dict[str, set[str]] = {o.id: set() for o in ruleset.obligations}
        for result in results:
            if result.ruleset == ruleset_id:
                for e in result.expectations:
                    exercised.setdefault(e.obligation, set()).add(e.status)
        coverage.append(Coverage(ruleset=ruleset_id, exercised={k: tuple(sorted(v)) for k, v in exercised.items()}))
    return results, coverage


def render_text(results: Sequence[CaseResult], coverage: Sequence[Coverage]) -> str:
    lines = []
    for r in results:
        lines.append(f"{'PASS' if r.passed else 'FAIL'} {r.file} ({r.name})")
        lines += [f"    {failure}" for failure in r.failures]
    for c in coverage:
        full = len(c.exercised) - len(c.uncovered)
        lines.append(f"coverage of {c.ruleset}: {full}/{len(c.exercised)} obligations have a passing and a failing expectation")
        for obligation, missing in c.uncovered.items():
            exercised = ", ".join(c.exercised[obligation]) or "nothing"
            lines.append(f"    {obligation}: {missing} (exercised: {exercised})")
    failed = sum(not r.passed for r in results)
    lines.append(f"{len(results)} test case(s): {len(results) - failed} passed, {failed} failed")
    return "\n".join(lines) + "\n"


def render_junit(results: Sequence[CaseResult]) -> str:
    by_ruleset: dict[str, list[CaseResult]] = {}
    for r in results:
        by_ruleset.setdefault(r.ruleset, []).append(r)
    return junit_xml([
        JUnitSuite(f"ruleset {ruleset}", [
            JUnitCase(f"complianceengine.test.{ruleset}", r.name, r.file,
                      None if r.passed else JUnitFailure(r.failures[0][:200], "verdict", "\n".join(r.failures)))
            for r in mine
        ])
        for ruleset, mine in by_ruleset.items()
    ])


__all__ = ["CaseResult", "Coverage", "Expectation", "TestCase", "case_files", "render_junit", "render_text", "run_case", "run_paths"]
