"""``staffing``: each unit of a kind has at least N holders of each role, every day.

Planned entirely from the registry: the runs of consecutive local days on which a unit has too
few holders of a role (:class:`~complianceengine.plan.Shortfall`). Judged: ``met`` for a role
with no shortfall in the range, else one finding per run (``open`` for a run that begins after
the as-of time: a shortfall already on record).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ..findings import Finding
from ..model import StaffingObligation
from ..timeframes import Period, day_start
from ..trace import PostStep
from .base import EventSource, ObligationKind

if TYPE_CHECKING:
    from ..plan import ObligationPlan, Plan, Shortfall, Target


def plan(obligation: StaffingObligation, plan: Plan, targets: tuple[Target, ...]) -> dict[str, Any]:
    from ..plan import Shortfall

    org = plan.organisation
    days = [plan.first_day + dt.timedelta(days=i) for i in range((plan.last_day - plan.first_day).days + 1)]
    mornings = [day_start(day, plan.tz) for day in days]
    out: list[Shortfall] = []
    for index, target in enumerate(targets):
        assert target.unit is not None
        for role, needed in obligation.require.items():
            runs: list[Shortfall] = []
            for day, morning in zip(days, mornings):
                present = tuple(org.holders(role, target.unit, morning))
                if len(present) >= needed:
                    continue
                if runs and runs[-1].last == day - dt.timedelta(days=1) and runs[-1].present == present:
                    runs[-1] = runs[-1].model_copy(update={"last": day})
                else:
                    runs.append(Shortfall(target=index, role=role, needed=needed, first=day, last=day, present=present))
            out += runs
    return {"shortfalls": tuple(out)}


def judge(plan: Plan, compiled: ObligationPlan, source: EventSource) -> list[Finding]:
    obligation = compiled.obligation
    assert isinstance(obligation, StaffingObligation)
    out = []
    by_post: dict[tuple[int, str], list[Shortfall]] = {}
    for shortfall in compiled.shortfalls:
        by_post.setdefault((shortfall.target, shortfall.role), []).append(shortfall)
    tracer = source.tracer
    for index, target in enumerate(compiled.targets):
        for role, needed in obligation.require.items():
            label = plan.ruleset.roles[role].label.en
            subject = target.subject.model_copy(update={"role": role})
            runs = by_post.get((index, role), [])
            required = f"at least {needed} {label} at every moment"
            if not runs:
                period = Period(label=f"{plan.first_day} to {plan.last_day}", start=plan.range.start, end=plan.range.end)
                finding = compiled.finding(subject, target.unit, period, "met", required=required, observed=f"at least {needed} throughout",
                                           required_count=needed)
                if tracer is not None:
                    tracer.record(finding, PostStep(target, role, needed, None))
                out.append(finding)
                continue
            for run in runs:
                start, end = day_start(run.first, plan.tz), day_start(run.last + dt.timedelta(days=1), plan.tz)
                period = Period(label=f"{run.first} to {run.last}", start=start, end=end)
                finding = compiled.finding(subject, target.unit, period, "open" if start >= plan.as_of else "missed", required=required,
                    observed=f"{len(run.present)} ({', '.join(run.present) or 'vacant'})", required_count=needed,
                    observed_count=len(run.present),
                    note="a shortfall on record that begins after the as-of time" if start >= plan.as_of else None,
                )
                if tracer is not None:
                    tracer.record(finding, PostStep(target, role, needed, run))
                out.append(finding)
    return out


KIND: ObligationKind = ObligationKind(model=StaffingObligation, judge=judge, plan=plan)
