"""``completeness`` (一人一档): every subject's record carries the listed attributes, non-empty.

Judged from the registry as of the audit: one ``missed`` finding per missing field, or one
``met`` finding for a complete record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ..findings import Finding
from ..model import ObligationBase, PerSubject, Ruleset
from ..timeframes import Period
from ..trace import FieldsStep
from .base import EventSource, ObligationKind, say
from ..checks import check_applies_to, unknown

if TYPE_CHECKING:
    from ..plan import ObligationPlan, Plan


class CompletenessObligation(ObligationBase):
    """Every subject (一人一档) must carry the listed attributes, non-empty."""

    kind: Literal["completeness"]
    applies_to: PerSubject
    fields: list[str] = Field(min_length=1)


class Wording:
    """The sentences of completeness findings, from the missing field (None: the record is
    complete): the one place their words are chosen."""

    def __init__(self, obligation: CompletenessObligation, plan: Plan):
        self.fields = obligation.fields
        self.words = say(plan, _WORDS)

    def __call__(self, missing: str | None) -> tuple[str, str]:
        """(required, observed)."""
        w = self.words
        if missing is None:
            return w["all"].format(fields=w["list"].join(self.fields)), w["present"]
        return w["one"].format(field=missing), w["missing"].format(field=missing)


_WORDS = {
    "en": {"all": "filled in: {fields}", "present": "all present", "one": "'{field}' filled in", "missing": "'{field}' is missing or empty",
           "list": ", "},
    "zh": {"all": "须填写：{fields}", "present": "均已填写", "one": "“{field}”须填写", "missing": "“{field}”缺失或为空", "list": "、"},
}


def judge(plan: Plan, compiled: ObligationPlan, source: EventSource) -> list[Finding]:
    obligation = compiled.obligation
    assert isinstance(obligation, CompletenessObligation)
    out = []
    subjects = {s.id: s for s in plan.registry.subjects}
    period = Period(label=f"{plan.first_day} to {plan.last_day}", start=plan.range.start, end=plan.range.end)
    tracer = source.tracer
    words = Wording(obligation, plan)
    for target in compiled.targets:
        record = subjects[target.subject.id]
        missing = [name for name in obligation.fields if record.attributes.get(name) in (None, "", [], {})]
        found = [compiled.finding(target.subject, target.unit, period, "missed", *words(name), step=name) for name in missing] or [
            compiled.finding(target.subject, target.unit, period, "met", *words(None))
        ]
        if tracer is not None:
            values = tuple((name, record.attributes.get(name)) for name in obligation.fields)
            for finding in found:
                tracer.record(finding, FieldsStep(target, values, finding.step))
        out += found
    return out


def check(obligation: CompletenessObligation, ruleset: Ruleset) -> list[tuple[tuple[Any, ...], str]]:
    """The subject kind, and that every field is one of its attributes."""

    problems = check_applies_to(ruleset, obligation.applies_to, ("applies_to",))
    kind = ruleset.subject_kinds.get(obligation.applies_to.subject_kind)
    if kind is not None:
        problems += [(("fields", i), unknown(f"attribute of {obligation.applies_to.subject_kind}", name, kind.attributes))
                     for i, name in enumerate(obligation.fields) if name not in kind.attributes]
    return problems


KIND: ObligationKind = ObligationKind(model=CompletenessObligation, judge=judge, check=check)
