"""``staffing``: each unit of a kind has at least N (at most M, or exactly N) holders of each
role, every day.

Planned entirely from the registry: the runs of consecutive local days on which a unit has too
few (or too many) holders of a role (:class:`~complianceengine.plan.Shortfall`). Judged: ``met`` for a role
with no shortfall in the range, else one finding per run (``open`` for a run that begins after
the as-of time: a shortfall already on record).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, StrictInt, field_validator, model_validator

from ..findings import Finding
from ..model import ObligationBase, PerUnit, Ruleset, Strict
from ..timeframes import Period, day_start, local
from ..trace import PostStep
from ..words import in_lang
from .base import EventSource, ObligationKind, say
from ..checks import check_applies_to, unknown

if TYPE_CHECKING:
    from ..plan import ObligationPlan, Plan, Shortfall, Target


class Headcount(Strict):
    """How many holders of a role a unit must have at every moment: ``at_least``, ``at_most``
    (both, for a range), or ``exactly`` (the same as ``at_least`` and ``at_most`` both N)."""

    at_least: StrictInt | None = Field(None, ge=0)
    at_most: StrictInt | None = Field(None, ge=0)
    exactly: StrictInt | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> Headcount:
        if self.exactly is not None and (self.at_least is not None or self.at_most is not None):
            raise ValueError("give exactly, or at_least and/or at_most, not both")
        if self.exactly is None and self.at_least is None and self.at_most is None:
            raise ValueError("give at_least, at_most or exactly")
        if self.at_least is not None and self.at_most is not None and self.at_least > self.at_most:
            raise ValueError(f"at_least ({self.at_least}) is more than at_most ({self.at_most})")
        if self.exactly is None and not self.at_least and self.at_most is None:
            raise ValueError("at_least 0 with no at_most requires nothing")
        return self

    @property
    def bounds(self) -> tuple[int, int | None]:
        """(the fewest holders allowed, the most or None)."""
        if self.exactly is not None:
            return self.exactly, self.exactly
        return self.at_least or 0, self.at_most


class StaffingObligation(ObligationBase):
    kind: Literal["staffing"]
    applies_to: PerUnit
    require: dict[str, StrictInt | Headcount] = Field(
        min_length=1, description="Role -> the minimum number of active assignees, or {at_least, at_most} / {exactly}")

    @field_validator("require")
    @classmethod
    def _positive(cls, value: dict[str, int | Headcount]) -> dict[str, int | Headcount]:
        bad = [role for role, n in value.items() if isinstance(n, int) and n < 1]
        if bad:
            raise ValueError(f"required counts must be at least 1 (roles {bad}); use {{at_most: N}} for a maximum")
        return value

    def bounds(self, role: str) -> tuple[int, int | None]:
        """(the fewest holders of ``role`` allowed, the most or None)."""
        wanted = self.require[role]
        return (wanted, None) if isinstance(wanted, int) else wanted.bounds


def plan(obligation: StaffingObligation, plan: Plan, targets: tuple[Target, ...]) -> dict[str, Any]:
    from ..plan import Shortfall

    org = plan.organisation
    first, last = plan.first_day, plan.last_day
    out: list[Shortfall] = []
    for index, target in enumerate(targets):
        assert target.unit is not None
        for role in obligation.require:
            needed, at_most = obligation.bounds(role)
            # the holders change only on the days an assignment starts or ends: judge each
            # stretch of days between two such days once, at its first morning
            starts = [first, *sorted({day for edge in org.changes(role, target.unit)
                                      if first < (day := local(edge, plan.tz).date()) <= last})]
            runs: list[Shortfall] = []
            for begin, end in zip(starts, [*starts[1:], last + dt.timedelta(days=1)]):
                present = tuple(org.holders(role, target.unit, day_start(begin, plan.tz)))
                if needed <= len(present) and (at_most is None or len(present) <= at_most):
                    continue
                final = end - dt.timedelta(days=1)
                if runs and runs[-1].last == begin - dt.timedelta(days=1) and runs[-1].present == present:
                    runs[-1] = runs[-1].model_copy(update={"last": final})
                else:
                    runs.append(Shortfall(target=index, role=role, needed=needed, at_most=at_most, first=begin, last=final,
                                          present=present))
            out += runs
    return {"shortfalls": tuple(out)}


class Wording:
    """The sentences of staffing findings, rendered from the role, the number needed and the
    shortfall (None: none in the range): the one place their words are chosen."""

    def __init__(self, plan: Plan):
        self.labels = {role: in_lang(spec.label, plan.lang) for role, spec in plan.ruleset.roles.items()}
        self.words = say(plan, _WORDS)

    def __call__(self, role: str, needed: int, at_most: int | None, run: Shortfall | None) -> tuple[str, str]:
        """(required, observed)."""
        w = self.words
        bound = ("exactly" if needed == at_most else "between" if needed and at_most is not None else "at_most" if at_most is not None
                 else "at_least")
        how_many = w[bound].format(n=needed, m=at_most)
        required = w["required"].format(how_many=how_many, role=self.labels[role])
        if run is None:
            return required, w["throughout"].format(how_many=how_many)
        return required, w["present"].format(n=len(run.present), who=w["list"].join(run.present) or w["vacant"])


_WORDS = {
    "en": {"required": "{how_many} {role} at every moment", "throughout": "{how_many} throughout", "present": "{n} ({who})",
           "at_least": "at least {n}", "at_most": "at most {m}", "exactly": "exactly {n}", "between": "{n} to {m}",
           "vacant": "vacant", "list": ", "},
    "zh": {"required": "任何时候{how_many}名{role}", "throughout": "始终{how_many}名", "present": "{n}名（{who}）",
           "at_least": "至少{n}", "at_most": "至多{m}", "exactly": "恰好{n}", "between": "{n}至{m}",
           "vacant": "空缺", "list": "、"},
}


def judge(plan: Plan, compiled: ObligationPlan, source: EventSource) -> list[Finding]:
    obligation = compiled.obligation
    assert isinstance(obligation, StaffingObligation)
    out = []
    by_post: dict[tuple[int, str], list[Shortfall]] = {}
    for shortfall in compiled.shortfalls:
        by_post.setdefault((shortfall.target, shortfall.role), []).append(shortfall)
    tracer = source.tracer
    words = Wording(plan)
    for index, target in enumerate(compiled.targets):
        for role in obligation.require:
            needed, at_most = obligation.bounds(role)
            subject = target.subject.model_copy(update={"role": role})
            runs = by_post.get((index, role), [])
            if not runs:
                period = Period(label=f"{plan.first_day} to {plan.last_day}", start=plan.range.start, end=plan.range.end)
                finding = compiled.finding(subject, target.unit, period, "met", *words(role, needed, at_most, None),
                                           required_count=needed)
                if tracer is not None:
                    tracer.record(finding, PostStep(target, role, needed, None))
                out.append(finding)
                continue
            for run in runs:
                start, end = day_start(run.first, plan.tz), day_start(run.last + dt.timedelta(days=1), plan.tz)
                period = Period(label=f"{run.first} to {run.last}", start=start, end=end)
                ahead = start >= plan.as_of
                finding = compiled.finding(subject, target.unit, period, "open" if ahead else "missed", *words(role, needed, at_most, run),
                    required_count=needed, observed_count=len(run.present),
                    note="a shortfall on record that begins after the as-of time" if ahead else None,
                )
                if tracer is not None:
                    tracer.record(finding, PostStep(target, role, needed, run))
                out.append(finding)
    return out


def check(obligation: StaffingObligation, ruleset: Ruleset) -> list[tuple[tuple[Any, ...], str]]:
    """The unit kind, and that every role is declared and held at that kind of unit."""

    problems = check_applies_to(ruleset, obligation.applies_to, ("applies_to",))
    for role_name in obligation.require:
        if role_name not in ruleset.roles:
            problems.append((("require", role_name), unknown("role", role_name, ruleset.roles)))
        elif ruleset.roles[role_name].unit_kind != obligation.applies_to.unit_kind:
            problems.append((("require", role_name), f"role {role_name!r} is held at a {ruleset.roles[role_name].unit_kind!r}, "
                             f"not at a {obligation.applies_to.unit_kind!r}, so no {obligation.applies_to.unit_kind} can be staffed with it"))
    return problems


KIND: ObligationKind = ObligationKind(model=StaffingObligation, judge=judge, plan=plan, check=check)
