"""``completeness`` (一人一档): every subject's record carries the listed attributes, non-empty.

Judged from the registry as of the audit: one ``missed`` finding per missing field, or one
``met`` finding for a complete record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..findings import Finding
from ..model import CompletenessObligation
from ..timeframes import Period
from .base import EventSource, ObligationKind

if TYPE_CHECKING:
    from ..plan import ObligationPlan, Plan


def judge(plan: Plan, compiled: ObligationPlan, source: EventSource) -> list[Finding]:
    obligation = compiled.obligation
    assert isinstance(obligation, CompletenessObligation)
    out = []
    subjects = {s.id: s for s in plan.registry.subjects}
    period = Period(label=f"{plan.first_day} to {plan.last_day}", start=plan.range.start, end=plan.range.end)
    for target in compiled.targets:
        record = subjects[target.subject.id]
        missing = [name for name in obligation.fields if record.attributes.get(name) in (None, "", [], {})]
        for name in missing:
            out.append(
                compiled.finding(target.subject, target.unit, period, "missed", step=name,
                                 required=f"'{name}' filled in", observed=f"'{name}' is missing or empty")
            )
        if not missing:
            out.append(
                compiled.finding(target.subject, target.unit, period, "met", required=f"filled in: {', '.join(obligation.fields)}",
                                 observed="all present")
            )
    return out


KIND: ObligationKind = ObligationKind(model=CompletenessObligation, judge=judge)
