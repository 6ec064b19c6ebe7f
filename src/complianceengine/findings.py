"""Verdicts with their evidence, and the report that gathers them.

Findings are data: rendering them (JSON, Markdown, CSV) is :mod:`complianceengine.report`'s job.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, ValidatorFunctionWrapHandler, WrapSerializer, WrapValidator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from .model import ArrayOf, Citation, Duplicate, Label, LazyTuple, ModelMethods, Reject
from .timeframes import Period

#: the most evidence ids a report lists per finding, unless told otherwise (``Report.evidence_limit``)
EVIDENCE_LIMIT = 20

Status = Literal["met", "excused", "not_applicable", "open", "late", "missed"]
#: Statuses from least to most severe; ``--fail-on late`` fails on ``late`` and ``missed``.
SEVERITY: tuple[Status, ...] = ("met", "excused", "not_applicable", "open", "late", "missed")
#: Statuses a run can be told to fail on.
FAILING: tuple[Status, ...] = ("open", "late", "missed")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubjectRef(_Frozen):
    """Whom or what a finding is about."""

    kind: Literal["person", "unit", "subject", "case"]
    id: str
    name: str | None = None
    role: str | None = Field(None, description="For people and staffing: the role the duty comes with")

    def __str__(self) -> str:
        text = f"{self.name} ({self.id})" if self.name and self.name != self.id else self.id
        return f"{text} as {self.role}" if self.role else text


def finding_id(
    ruleset: str, obligation: str, subject: SubjectRef, unit: str | None, step: str | None, window: str | None, anchor: str
) -> str:
    """The stable identity of a verdict: 16 hex digits of a hash of the ruleset id, the
    obligation, the subject (with its role and unit: one person may hold a post at several
    units), the step, the calendar variant and the anchor (the
    start of the period or gap; for a response case, the id of its trigger event).

    Status, wording, counts and evidence are not part of it: the same period judged by another
    backend, or again later with more events, has the same id."""
    return anchored_id(id_prefix(ruleset, obligation, subject, unit, step, window), anchor)


def id_prefix(ruleset: str, obligation: str, subject: SubjectRef, unit: str | None, step: str | None, window: str | None) -> bytes:
    """What :func:`finding_id` hashes before the anchor: the same for all of one target's periods."""
    parts = (ruleset, obligation, subject.kind, subject.id, subject.role or "", unit or "", step or "", window or "", "")
    return "\x1f".join(parts).encode("utf-8")


def anchored_id(prefix: bytes, anchor: str) -> str:
    """:func:`finding_id` from its :func:`id_prefix` and the anchor."""
    return anchored_ids(prefix, [anchor.encode("utf-8")])[0]


def anchored_ids(prefix: bytes | Sequence[bytes], anchors: Sequence[bytes]) -> list[str]:
    """:func:`anchored_id` of each anchor, given encoded (UTF-8): one target's periods at once,
    with one prefix, or each with its own (``prefix`` a sequence as long as ``anchors``)."""
    blake2b = hashlib.blake2b
    if isinstance(prefix, bytes):
        return [blake2b(prefix + anchor, digest_size=8).hexdigest() for anchor in anchors]
    return [blake2b(own + anchor, digest_size=8).hexdigest() for own, anchor in zip(prefix, anchors, strict=True)]


@functools.lru_cache(maxsize=1 << 16)
def instant_key(instant: dt.datetime) -> str:
    """An instant as an anchor for :func:`finding_id`: ISO 8601 in UTC (remembered: the periods
    of a frequency duty are the same instants for every target)."""
    return instant.astimezone(dt.timezone.utc).isoformat()


@pydantic_dataclass(frozen=True, slots=True, kw_only=True, config=ConfigDict(extra="forbid"))
class Finding(ModelMethods):
    """One verdict: an obligation, for one subject, over one period (or one step of one case).

    A pydantic dataclass with slots rather than a model: an audit of a county holds a million of
    them, and a model's per-instance dict of 26 fields took 900 bytes where the slots take 250.
    It is validated as a model is (``Finding(...)``, :meth:`model_validate`) and has the model
    methods callers use (:class:`~complianceengine.model.ModelMethods`)."""

    id: str = Field(description="Stable identity of the verdict (see finding_id): the same whichever backend or audit judged it")
    obligation: str
    obligation_kind: str
    title: Label
    citation: Citation
    cited: str = Field(description="The citation as text, e.g. 'Xiangshan 2022, art. 13'")
    assumed: bool = Field(description="The requirement is the ruleset's choice, not a number in the source")
    subject: SubjectRef
    unit: str | None
    period: Period
    step: str | None = None
    status: Status
    required: str
    observed: str
    required_count: int | None = None
    observed_count: int | None = None
    evidence: tuple[str, ...] = ()
    evidence_omitted: int = Field(0, ge=0, exclude_if=lambda n: n == 0,
                                  description="How many evidence ids a report left out of evidence (see Report.evidence_limit); "
                                              "0 (not written) in an audit's own findings")
    due: dt.datetime | None = None
    decided: dt.datetime | None = Field(
        None, description="When the verdict was decided: the end of the period, the deadline, or the event that kept it in time. "
                          "The audit whose range holds it reports the finding (None: judged as of the audit, e.g. staffing)")
    delay_seconds: int | None = None
    window: str | None = Field(None, description="The calendar whose raised requirement was in force")
    excused_by: tuple[str, ...] = Field((), description="Ids of the exemption records that excused all or part of it")
    note: str | None = None
    observed_amount: float | None = Field(None, description="A sum measure: the sum over the counted events")
    evidence_values: tuple[float, ...] = Field((), description="A sum measure: each evidence event's value, in the order of evidence")
    flagged: tuple[str, ...] = Field((), description="Counted events closer than min_spacing to the previous counted one (still counted)")

    @property
    def severity(self) -> int:
        """The status's place in :data:`SEVERITY` (0 for ``met`` ... 5 for ``missed``)."""
        return SEVERITY.index(self.status)


def shown(finding: Finding, limit: int | None) -> Finding:
    """The finding as a report writes it: at most ``limit`` evidence ids (and, for a sum
    measure, their values), the number of the others added to ``evidence_omitted``; ``None``: all."""
    if limit is not None and limit < 0:
        raise ValueError(f"an evidence limit is 0 or more (or None for every id), not {limit}")
    evidence = finding.evidence
    if limit is None or len(evidence) <= limit:
        return finding
    values = finding.evidence_values
    return dataclasses.replace(finding, evidence=evidence[:limit], evidence_omitted=finding.evidence_omitted + len(evidence) - limit,
                               evidence_values=values[:limit] if len(values) == len(evidence) else values)


def evidence_text(finding: Finding, limit: int | None, sep: str) -> str:
    """A finding's evidence ids as a report's reader sees them (:func:`shown`): at most
    ``limit``, then how many more (those a report read back left out too)."""
    seen = shown(finding, limit)
    listed = sep.join(seen.evidence)
    if not seen.evidence_omitted:
        return listed
    more = f"… (+{seen.evidence_omitted})"
    return f"{listed}{sep}{more}" if listed else more


class LazyFindings(LazyTuple[Finding]):
    """A sequence of findings built when asked for (the base of
    :class:`~complianceengine.findingtable.FindingTable`): a :class:`Report` keeps it as it is."""

    def values(self, name: str) -> Sequence[Any]:
        """Field ``name`` of every finding, in order, without building them."""
        raise NotImplementedError


def _findings_or_table(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Lazy findings (a finding table) as they are; anything else validated as a tuple."""
    return value if isinstance(value, LazyFindings) else tuple(handler(value))


def _findings_as_tuple(value: Any, handler: SerializerFunctionWrapHandler) -> Any:
    """Lazy findings serialised as the tuple of their findings (``include``/``exclude`` apply)."""
    return handler(tuple(value) if isinstance(value, LazyFindings) else value)


def field_values(findings: Sequence[Finding], name: str) -> Sequence[Any]:
    """Field ``name`` of every finding, in order: of lazy findings, without building them."""
    return findings.values(name) if isinstance(findings, LazyFindings) else [getattr(f, name) for f in findings]


class StatusCounts(_Frozen):
    """How many findings have each status."""

    met: int = 0
    excused: int = 0
    not_applicable: int = 0
    open: int = 0
    late: int = 0
    missed: int = 0

    @property
    def rate(self) -> float | None:
        """``met / (met + missed + late)``; ``None`` when nothing was judged."""
        judged = self.met + self.missed + self.late
        return None if judged == 0 else self.met / judged

    @classmethod
    def of(cls, findings: Sequence[Finding]) -> StatusCounts:
        """The counts of ``findings``."""
        return cls(**{str(status): n for status, n in Counter(field_values(findings, "status")).items()})


class ObligationSummary(_Frozen):
    obligation: str
    kind: str
    title: Label
    cited: str
    assumed: bool
    assumptions: tuple[str, ...] = Field((), description="What the ruleset chose where the source gives no number")
    not_judged: str | None = Field(None, description="Why the obligation could not be judged (a plugin it needs is missing)")
    counts: StatusCounts
    rate: float | None


class UnitSummary(_Frozen):
    """Findings at a unit and everything below it."""

    unit: str
    kind: str
    name: Label | None
    parent: str | None
    depth: int
    counts: StatusCounts
    rate: float | None

    @property
    def label(self) -> str:
        """The unit as every report names it, whatever its language: its Chinese (else English)
        name, a proper name, and its id."""
        return f"{self.name.zh or self.name.en} ({self.unit})" if self.name else self.unit


class VersionSpan(_Frozen):
    """The local days one version of a ruleset was applied to."""

    version: str
    first_day: dt.date
    last_day: dt.date


class InputFile(_Frozen):
    """A file an audit read, as the report's header names it."""

    kind: Literal["ruleset", "registry", "events"]
    path: str
    sha256: str = Field(description="SHA-256 of the file's bytes, hex")


class Report(_Frozen):
    """The result of an audit: every finding, summaries, and the input that could not be used."""

    ruleset: str
    ruleset_version: str
    title: Label
    timezone: str
    first_day: dt.date
    last_day: dt.date
    as_of: dt.datetime
    events_used: int
    findings: Annotated[Sequence[Finding], WrapValidator(_findings_or_table), WrapSerializer(_findings_as_tuple), ArrayOf(Finding)] = Field(
        description="Every verdict, in order: a tuple, or, from an audit, a FindingTable (the same findings, each built when asked for)")
    obligations: tuple[ObligationSummary, ...]
    units: tuple[UnitSummary, ...]
    rejects: tuple[Reject, ...] = ()
    duplicates: tuple[Duplicate, ...] = ()
    versions: tuple[VersionSpan, ...] = Field((), description="Which ruleset version judged which days, when the range spans several")
    looked_back_to: dt.datetime | None = Field(
        None, description="The earliest instant the verdicts depend on: the start of a period or a gap decided in the range")
    warnings: tuple[str, ...] = Field((), description="What the reader should know to trust the verdicts (events that may be missing)")
    inputs: tuple[InputFile, ...] = Field((), description="The files the audit read, with their checksums (set by the command line)")
    lang: Literal["en", "zh"] = Field("en", description="The language of the findings' sentences and of the rendered report")
    roles: dict[str, Label] = Field({}, description="Role id -> its label, for readers (the ruleset's roles)")
    engine: str = Field("reference", description="The backend that answered the kinds' questions about the events (reference, duckdb)")
    evidence_limit: int | None = Field(
        None, ge=0, description="The most evidence ids the rendered report lists per finding (each finding says how many it left out "
                                "in evidence_omitted); None (a report made before there was a limit, or in code): every id. An audit "
                                "sets EVIDENCE_LIMIT (20). The findings in memory keep every id; model_dump_json writes them all")

    @property
    def counts(self) -> StatusCounts:
        """The counts of all the report's findings."""
        return StatusCounts.of(self.findings)

    @property
    def weighted_rate(self) -> float | None:
        """The obligation-weighted headline: the mean of the obligations' rates (those that have
        one), so that each obligation weighs the same however many periods it has (``counts.rate``
        counts every finding alike, and daily duties dominate it). ``None`` when none has a rate."""
        rates = [o.rate for o in self.obligations if o.rate is not None]
        return sum(rates) / len(rates) if rates else None

    def failing(self, threshold: Status) -> list[Finding]:
        """Findings whose status is ``threshold`` or more severe."""
        failing = SEVERITY[SEVERITY.index(threshold):]
        findings = self.findings
        return [findings[i] for i, status in enumerate(field_values(findings, "status")) if status in failing]
