"""Pydantic models of rulesets, registries and events.

These models are the documents' shapes and their local validation only (types, ranges, one value
per field). Cross-references (a role naming an undeclared unit kind, an assignment at a unit of
the wrong kind) are checked by :mod:`complianceengine.references`, which reports the path of the
offending value so that :mod:`complianceengine.loading` can turn it into file:line:column.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import importlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Protocol, Self, TypeVar, Union

import pendulum
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    GetCoreSchemaHandler,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    TypeAdapter,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapSerializer,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass
from pydantic.fields import FieldInfo
from pydantic_core import core_schema

# --------------------------------------------------------------------------------------------
# What an audit holds by the million


class _Fields:
    """``model_fields`` of a pydantic dataclass: its fields by name, as a model has them."""

    def __get__(self, instance: object, owner: type) -> dict[str, FieldInfo]:
        fields: dict[str, FieldInfo] = getattr(owner, "__pydantic_fields__")
        return fields


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(cls: Any) -> TypeAdapter[Any]:
    """The validator and serialiser of a pydantic dataclass (made once per class)."""
    found = _ADAPTERS.get(cls)
    if found is None:
        found = _ADAPTERS[cls] = TypeAdapter(cls)
    return found


class ModelMethods:
    """The methods of a pydantic model that callers use, for the slotted pydantic dataclasses
    that an audit holds by the million (:class:`Event`, :class:`~complianceengine.Finding`): a
    model keeps a dict per instance, several times the size of the slots.

    What differs from a model: assigning to a field raises ``dataclasses.FrozenInstanceError``;
    :meth:`model_copy` validates the values it is given; there is no ``model_fields_set``, so
    ``model_dump(exclude_unset=True)`` dumps every field; there is no ``model_construct``."""

    __slots__ = ()
    #: the fields by name
    model_fields: ClassVar[dict[str, FieldInfo]] = _Fields()  # type: ignore[assignment]

    @classmethod
    def model_validate(cls, data: Any) -> Self:
        """An instance from its fields (a mapping, as :meth:`model_dump` gives), validated."""
        result: Self = getattr(cls, "__pydantic_validator__").validate_python(data)  # what a TypeAdapter calls
        return result

    @classmethod
    def model_validate_json(cls, text: str | bytes) -> Self:
        """An instance from its JSON (as :meth:`model_dump_json` gives), validated."""
        result: Self = getattr(cls, "__pydantic_validator__").validate_json(text)
        return result

    @classmethod
    def model_json_schema(cls, **options: Any) -> dict[str, Any]:
        """The JSON Schema of the class; the options of pydantic's."""
        return _adapter(cls).json_schema(**options)

    def model_dump(self, **options: Any) -> dict[str, Any]:
        """The fields as a dict (``mode="json"`` for JSON values); the options of pydantic's."""
        result: dict[str, Any] = _adapter(type(self)).dump_python(self, **options)
        return result

    def model_dump_json(self, **options: Any) -> str:
        """As JSON text (``indent=2`` to lay it out); the options of pydantic's."""
        return _adapter(type(self)).dump_json(self, **options).decode("utf-8")

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with the fields in ``update`` replaced (validated); ``deep`` copies the values too."""
        copied = dataclasses.replace(self, **(update or {}))  # type: ignore[type-var]
        return copy.deepcopy(copied) if deep else copied


# --------------------------------------------------------------------------------------------
# Small value types


def _parse_duration(value: Any) -> pendulum.Duration:
    if isinstance(value, pendulum.Duration):
        return value
    if isinstance(value, str) and value.startswith("P"):
        try:
            parsed = pendulum.parse(value)
        except Exception:  # pendulum raises several parser exception types
            parsed = None
        if isinstance(parsed, pendulum.Duration) and parsed.total_seconds() > 0:
            return parsed
    raise ValueError(
        f"expected a positive ISO 8601 duration such as P1D, P7D, PT48H or P1M, got {value!r}"
    )


def duration_parts(value: pendulum.Duration) -> tuple[int, int, int, int]:
    """(years, months, days, seconds) of a duration; weeks are folded into days."""
    seconds = value.hours * 3600 + value.minutes * 60 + value.remaining_seconds
    return value.years, value.months, value.weeks * 7 + value.remaining_days, seconds


def format_duration(value: pendulum.Duration) -> str:
    """Render a duration back as ISO 8601 (P1Y2M3DT4H5M6S)."""
    years, months, days, seconds = duration_parts(value)
    date_part = "".join(f"{n}{unit}" for n, unit in ((years, "Y"), (months, "M"), (days, "D")) if n)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    time_part = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    if not (date_part or time_part):
        return "PT0S"
    return "P" + date_part + ("T" + time_part if time_part else "")


Duration = Annotated[
    pendulum.Duration,
    PlainValidator(_parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": "^P", "description": "ISO 8601 duration, e.g. P1D, PT48H, P1M"}),
]

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$", max_length=100)]
Scalar = Union[StrictBool, StrictInt, StrictFloat, StrictStr]
#: an event attribute's value: a scalar or a list of texts. The types are tried in order, text
#: first (most values are text); each is strict, so only one of them takes any value and the order
#: changes no result, only the time (a fourth of a smart union's, for a million events)
AttributeValue = Annotated[Union[StrictStr, StrictBool, StrictInt, StrictFloat, tuple[StrictStr, ...]], Field(union_mode="left_to_right")]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
CalendarUnit = Literal["day", "week", "month", "quarter", "year"]
CORE_EVENT_FIELDS = ("id", "kind", "time", "actor", "participants", "on_behalf_of", "unit", "subject")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Label(Strict):
    """A bilingual name: English is required, Chinese is shown beside it when given."""

    en: str
    zh: str | None = None

    def __str__(self) -> str:
        return f"{self.zh} ({self.en})" if self.zh else self.en


# --------------------------------------------------------------------------------------------
# Ruleset


class Source(Strict):
    """A source document that obligations cite."""

    title: Label
    file: str | None = None
    issued: dt.date | None = None
    short: str = Field(description="Short name used in citations, e.g. 'Xiangshan 2022'")


class Citation(Strict):
    source: str
    article: str = Field(description="Article number, optionally with an item, e.g. '13' or '13.1'")
    quote: str | None = None

    @field_validator("article", mode="before")
    @classmethod
    def _article_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class Role(Strict):
    label: Label
    unit_kind: str = Field(description="The unit kind a holder of this role is assigned at")


class AttributeSpec(Strict):
    """The type of one attribute. ``list`` holds several texts (e.g. attending departments); with
    ``values`` every item must be one of them. ``value_labels`` names enum and list values in
    English and Chinese: a reader takes either label for the value (``实地`` for ``field``).
    ``ref`` holds the id of a registry record: a unit, a person or a subject (``refers_to``),
    of one unit or subject kind when ``of_kind`` is given."""

    type: Literal["string", "integer", "number", "boolean", "enum", "datetime", "list", "ref"]
    values: list[StrictStr] | None = None
    value_labels: dict[str, Label] = Field(default_factory=dict, description="Value -> its English and Chinese label")
    refers_to: Literal["unit", "person", "subject"] | None = Field(None, description="For type ref: the kind of record")
    of_kind: str | None = Field(None, description="For type ref to a unit or subject: the unit kind or subject kind it must be")
    required: bool = False
    label: Label | None = None

    @model_validator(mode="after")
    def _enum_has_values(self) -> AttributeSpec:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum attribute needs a non-empty 'values' list")
        if self.type not in ("enum", "list") and self.values is not None:
            raise ValueError("'values' is only allowed on attributes of type enum or list")
        unlabelled = [value for value in self.value_labels if value not in (self.values or [])]
        if unlabelled:
            raise ValueError(f"value_labels names {unlabelled[0]!r}, which is not one of 'values'")
        seen: dict[str, str] = {}
        for value, label in self.value_labels.items():
            for text in dict.fromkeys(t for t in (label.en, label.zh) if t):
                if text in seen and seen[text] != value or (text in (self.values or []) and text != value):
                    raise ValueError(f"the label {text!r} of {value!r} is also {'a value' if text in (self.values or []) else 'the label of ' + repr(seen[text])}: "
                                     "a reader could not tell which value it means")
                seen[text] = value
        if (self.type == "ref") != (self.refers_to is not None):
            raise ValueError("an attribute of type ref needs refers_to (unit, person or subject), and only it takes one")
        if self.of_kind is not None and self.refers_to not in ("unit", "subject"):
            raise ValueError("of_kind narrows a ref to a unit or a subject")
        return self

    @functools.cached_property
    def by_label(self) -> dict[str, str]:
        """Each value's English and Chinese label -> the value (what readers map)."""
        out: dict[str, str] = {}
        for value, label in self.value_labels.items():
            for text in (label.en, label.zh):
                if text and text not in (self.values or []):
                    out.setdefault(text, value)
        return out

    def choices(self) -> str:
        """The values as a reject message lists them: ``field (实地), online (线上)``."""
        return ", ".join(v + (f" ({self.value_labels[v].zh or self.value_labels[v].en})" if v in self.value_labels else "")
                         for v in self.values or [])

    def canonical(self, value: str) -> str:
        """``value`` as the ruleset names it: a label of a value is the value."""
        return value if value in (self.values or ()) else self.by_label.get(value.strip(), value)


class UnitKind(Strict):
    label: Label
    parents: list[str] = Field(default_factory=list, description="Unit kinds a unit of this kind may sit under")
    attributes: dict[str, AttributeSpec] = Field(default_factory=dict, description="Declared unit attributes (checked in registries)")


class Excuses(Strict):
    """Events of this kind are exemptions: from the event's time until the ``until`` attribute,
    the event's actor, unit (and everything below it) or subject is excused."""

    who: Literal["actor", "unit", "subject"]
    until: str = Field(description="Name of a datetime attribute holding the end of the exemption (excluded)")
    obligations: list[str] | None = Field(None, description="Only these obligations (default: every frequency and cadence duty)")


class EventKind(Strict):
    label: Label
    requires: list[Literal["actor", "unit", "subject"]] = Field(default_factory=list)
    attributes: dict[str, AttributeSpec] = Field(default_factory=dict)
    excuses: Excuses | None = None

    @field_validator("attributes")
    @classmethod
    def _no_core_names(cls, value: dict[str, AttributeSpec]) -> dict[str, AttributeSpec]:
        clash = sorted(set(value) & set(CORE_EVENT_FIELDS))
        if clash:
            raise ValueError(f"attribute names {clash} clash with the core event fields {list(CORE_EVENT_FIELDS)}")
        return value


class SubjectKind(Strict):
    label: Label
    unit_kind: str | None = Field(None, description="The unit kind a subject of this kind belongs to")
    attributes: dict[str, AttributeSpec] = Field(default_factory=dict)


class Comparison(Strict):
    """Operators on one event field; all given operators must hold."""

    eq: Scalar | None = None
    ne: Scalar | None = None
    in_: list[Scalar] | None = Field(None, alias="in")
    not_in: list[Scalar] | None = None
    gt: StrictInt | StrictFloat | StrictStr | None = None
    gte: StrictInt | StrictFloat | StrictStr | None = None
    lt: StrictInt | StrictFloat | StrictStr | None = None
    lte: StrictInt | StrictFloat | StrictStr | None = None
    exists: bool | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> Comparison:
        if not self.model_fields_set:
            raise ValueError("a comparison needs at least one of eq, ne, in, not_in, gt, gte, lt, lte, exists")
        return self


Condition = Annotated[
    Union[Scalar, list[Scalar], Comparison],
    Field(description="A value (equality), a list (membership) or a comparison mapping"),
]


_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class TimeOfDay(Strict):
    """Local wall-clock window ``[from, to)``; ``from`` after ``to`` wraps past midnight (night)."""

    from_: str = Field(alias="from", pattern=_CLOCK)
    to: str = Field(pattern=_CLOCK)

    @model_validator(mode="after")
    def _not_empty(self) -> TimeOfDay:
        if self.from_ == self.to:
            raise ValueError("'from' and 'to' are equal: the window would be empty")
        return self


class Quorum(Strict):
    """The event's list attribute must name at least ``at_least`` of ``members``."""

    attribute: str
    members: list[str] = Field(min_length=1)
    at_least: StrictInt = Field(ge=1)

    @model_validator(mode="after")
    def _reachable(self) -> Quorum:
        if self.at_least > len(set(self.members)):
            raise ValueError(f"at_least ({self.at_least}) is more than the {len(set(self.members))} members listed")
        return self


class EventMatch(Strict):
    """Which events count: by event kind, conditions on fields and attributes, time of day and
    quorum (all must hold)."""

    kind: str | list[str]
    where: dict[str, Condition] = Field(default_factory=dict)
    time_of_day: TimeOfDay | None = None
    quorum: Quorum | None = None
    in_calendar: str | None = Field(None, description="Only events inside this calendar's windows (e.g. tide windows)")

    @property
    def kinds(self) -> list[str]:
        return [self.kind] if isinstance(self.kind, str) else list(self.kind)


class PerAssignee(Strict):
    """One subject per assignment of a person to one of ``roles``."""

    roles: list[str] = Field(min_length=1)


class PerUnit(Strict):
    """One subject per unit of ``unit_kind`` whose attributes satisfy ``where``."""

    unit_kind: str
    where: dict[str, Condition] = Field(default_factory=dict)


class PerSubject(Strict):
    """One subject per registry subject of ``subject_kind`` whose attributes satisfy ``where``."""

    subject_kind: str
    where: dict[str, Condition] = Field(default_factory=dict)


def _applies_to_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        for key, tag in (("roles", "assignee"), ("unit_kind", "unit"), ("subject_kind", "subject")):
            if key in value:
                return tag
    if isinstance(value, BaseModel):
        return {PerAssignee: "assignee", PerUnit: "unit", PerSubject: "subject"}.get(type(value))
    return None


AppliesTo = Annotated[
    Union[
        Annotated[PerAssignee, Tag("assignee")],
        Annotated[PerUnit, Tag("unit")],
        Annotated[PerSubject, Tag("subject")],
    ],
    Discriminator(
        _applies_to_tag,
        custom_error_type="applies_to",
        custom_error_message="expected one of: {roles: [...]}, {unit_kind: ...}, {subject_kind: ...}",
    ),
]


class ByRoles(Strict):
    """Restricts which actors' events count: the actor must hold one of ``roles`` at the event
    time, at the subject's unit, one of its ancestors or one of its descendants."""

    roles: list[str] = Field(min_length=1)


class FixedPeriod(Strict):
    """Back-to-back periods of a fixed length starting at ``anchor`` (default: the audit start).
    ``every`` is at least an hour and at most ten years (shorter periods cost an audit more than
    they could say; see docs/authoring.md, "Limits")."""

    every: Duration
    anchor: dt.datetime | None = None

    @field_validator("every")
    @classmethod
    def _sensible(cls, value: pendulum.Duration) -> pendulum.Duration:
        years, months, days, seconds = duration_parts(value)
        if years * 12 + months > 120 or days > 3660 or (not years and not months and days * 86400 + seconds < 3600):
            raise ValueError(f"every must be between PT1H and P10Y, got {format_duration(value)}")
        return value


class Raised(Strict):
    """A different requirement inside the windows of a calendar (a campaign, a high-incident period)."""

    calendar: str
    period: CalendarUnit | FixedPeriod | None = None
    at_least: StrictInt | None = Field(None, ge=0)
    at_most: StrictInt | None = Field(None, ge=0)
    max_gap: Duration | None = None
    assumed: bool = Field(False, description="True when the document gives no number for the raised requirement")
    note: str | None = None


class ObligationBase(Strict):
    """The fields every obligation has. A plugin's obligation kind subclasses it and adds
    ``kind: Literal["its-name"]`` and its own fields (see ``complianceengine_obligation_kinds``)."""

    id: Identifier
    kind: str
    title: Label
    citation: Citation
    assumed: bool = Field(False, description="True when the document gives no number and the ruleset chose one")
    note: str | None = None


def walk(node: Any, path: tuple[Any, ...] = (), parent: Any = None) -> Iterator[tuple[tuple[Any, ...], Any, Any]]:
    """``(path, value, parent)`` for ``node`` and, depth first in document order, every field of
    a model, item of a list or tuple and value of a mapping inside it. The checks that look for
    parts anywhere in an obligation (plugin kinds included) are built on it."""
    yield path, node, parent
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from walk(getattr(node, name), (*path, name), node)
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            yield from walk(item, (*path, i), node)
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from walk(item, (*path, key), node)


class ExtensionObligation(ObligationBase):
    """An obligation of a kind that is not built in, as written in the ruleset. The plugin that
    provides the kind validates its own fields when the ruleset is loaded with plugins (or at
    compile time); until then they are kept here unchecked."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)
    kind: str = Field(
        description="A kind a plugin adds",
        json_schema_extra=lambda schema: schema.update({"not": {"enum": list(_builtin_names())}}),
    )


def _dump_as_is(value: BaseModel, info: SerializationInfo) -> Any:
    """Serialise a plugin kind's obligation with its own model, not ExtensionObligation's."""
    return value.model_dump(
        mode=info.mode, by_alias=bool(info.by_alias), exclude_unset=info.exclude_unset, exclude_defaults=info.exclude_defaults,
        exclude_none=info.exclude_none,
    )


@functools.cache
def builtin_kinds() -> dict[str, type[ObligationBase]]:
    """The built-in kinds' models by name: the modules of :mod:`complianceengine.kinds`, looked up
    by name when a ruleset is first validated (as pytest finds its built-in plugins). The kinds
    build on this module, so it does not import them."""
    kinds = importlib.import_module(f"{__package__}.kinds")
    return {name: kind.model for name, kind in kinds.BUILTIN.items()}


def _builtin_names() -> list[str]:
    return list(builtin_kinds())


def _obligation_tag(value: Any) -> str | None:
    models = builtin_kinds()
    if isinstance(value, BaseModel):
        return value.kind if isinstance(value, ObligationBase) and type(value) is models.get(value.kind) else "extension"
    kind = value.get("kind") if isinstance(value, dict) else None
    if not isinstance(kind, str):
        return None
    return kind if kind in models else "extension"


class _ByKind:
    """``Annotated[ObligationBase, _ByKind()]``: an obligation validated with its kind's model
    (a discriminated union of the built-in kinds, and ExtensionObligation for any other kind,
    which a plugin validates later). The union is made when the ruleset model is first built
    (``defer_build``), from the kinds then known."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        models = builtin_kinds()
        members = tuple(Annotated[model, Tag(name)] for name, model in models.items())
        extension = Annotated[ExtensionObligation, Tag("extension"), PlainSerializer(_dump_as_is)]
        union = Annotated[
            Union[(*members, extension)],  # type: ignore[valid-type]
            Discriminator(
                _obligation_tag,
                custom_error_type="obligation_kind",
                custom_error_message=f"every obligation needs a 'kind': {', '.join(models)}, or one a plugin adds",
            ),
        ]
        return handler.generate_schema(union)


#: An obligation as a ruleset holds it: of a built-in kind's model, or ExtensionObligation
Obligation = Annotated[ObligationBase, _ByKind()]


class TimedObligation(Protocol):
    """What the duties counted over time (``frequency`` and ``cadence``) have in common: whom they
    apply to, which events count and who may do them, raised requirements inside calendar windows,
    calendars that excuse everyone, and a spacing under which counted events are flagged."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def applies_to(self) -> PerAssignee | PerUnit | PerSubject: ...
    @property
    def match(self) -> EventMatch: ...
    @property
    def by(self) -> ByRoles | None: ...
    @property
    def during(self) -> list[Raised]: ...
    @property
    def excused_in(self) -> list[str]: ...
    @property
    def min_spacing(self) -> pendulum.Duration | None: ...


class Window(Strict):
    """Local days ``start`` to ``end``, both included."""

    start: dt.date
    end: dt.date
    label: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class Calendar(Strict):
    """A named set of windows: a special campaign (专项整治), a high-incident period (高案发时段).

    Windows are listed inline, or come from a plugin named by ``provider`` (public holidays,
    tide windows), which reads its settings from ``options``.
    """

    label: Label
    windows: list[Window] = Field(default_factory=list)
    provider: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    optional: bool = Field(
        False,
        description="When no loaded plugin provides this calendar, obligations that use it are reported "
        "not_applicable (with the reason) instead of stopping the audit",
    )
    plugin: str | None = Field(None, description="The package that provides the provider, named when it is missing")

    @model_validator(mode="after")
    def _one_source(self) -> Calendar:
        if self.provider is not None and self.windows:
            raise ValueError("give either inline windows or a provider, not both")
        if self.provider is None and (self.options or self.optional or self.plugin):
            raise ValueError("options, optional and plugin are for a provider calendar; name the provider")
        return self


#: An obligation of any kind; plugin kinds are ``ObligationBase`` subclasses.
AnyObligation = ObligationBase


class Effective(Strict):
    """Local days ``from`` to ``until`` (both included; ``until`` open when omitted)."""

    from_: dt.date = Field(alias="from")
    until: dt.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Effective:
        if self.until is not None and self.until < self.from_:
            raise ValueError(f"until ({self.until}) is before from ({self.from_})")
        return self

    def covers(self, day: dt.date) -> bool:
        return self.from_ <= day and (self.until is None or day <= self.until)


class Ruleset(Strict):
    """A declarative set of duties for one jurisdiction."""

    # built when first used: the obligations' union needs the kinds, which build on this module
    model_config = ConfigDict(defer_build=True)

    schema_: str | None = Field(None, alias="$schema")
    extends: str | None = Field(
        None, description="A base ruleset file (relative to this one) that this one overrides and adds to; see docs/authoring.md"
    )
    remove: list[str] = Field(default_factory=list, description="Ids of the base's obligations this overlay drops")
    id: Identifier
    version: str
    effective: Effective | None = Field(None, description="The local days this version is in force (default: always)")
    title: Label
    timezone: str
    week_start: Weekday = "monday"
    sources: dict[str, Source]
    unit_kinds: dict[str, UnitKind]
    roles: dict[str, Role]
    event_kinds: dict[str, EventKind]
    subject_kinds: dict[str, SubjectKind] = Field(default_factory=dict)
    calendars: dict[str, Calendar] = Field(default_factory=dict)
    obligations: list[Obligation]
    #: the file the ruleset was loaded from (set by ``load_ruleset``); relative paths in calendar
    #: ``options`` are relative to its folder
    _file: Path | None = PrivateAttr(None)
    #: calendar name -> the folder of the file that declares it (an overlay's base may sit elsewhere)
    _calendar_folders: dict[str, Path] = PrivateAttr(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The folder of the ruleset file, or the working directory for a ruleset built in code."""
        return self._file.parent if self._file is not None else Path.cwd()

    def calendar_folder(self, name: str) -> Path:
        """The folder relative paths in calendar ``name``'s options are relative to."""
        return self._calendar_folders.get(name, self.folder)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            pendulum.timezone(value)
        except Exception:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    def obligation(self, obligation_id: str) -> AnyObligation:
        """The obligation with this id (:class:`UsageError` when none has it)."""
        for obligation in self.obligations:
            if obligation.id == obligation_id:
                return obligation
        from .errors import UsageError

        raise UsageError(f"ruleset {self.id!r} has no obligation {obligation_id!r}")


# --------------------------------------------------------------------------------------------
# Registry


class Unit(Strict):
    id: str = Field(min_length=1)
    kind: str
    parent: str | None = None
    name: Label | None = None
    attributes: dict[str, Scalar] = Field(default_factory=dict)


class Person(Strict):
    id: str = Field(min_length=1)
    name: str


class _DateRange(Strict):
    start: dt.date
    end: dt.date | None = Field(None, description="Last day included; empty means still in force")

    @model_validator(mode="after")
    def _ordered(self) -> _DateRange:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class Assignment(_DateRange):
    """A person holds a role at a unit from ``start`` to ``end`` (both days included)."""

    person: str
    role: str
    unit: str


class Subject(_DateRange):
    """Something duties are about: a key person under supervision, a risk point."""

    id: str = Field(min_length=1)
    kind: str
    unit: str | None = None
    name: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class Exemption(_DateRange):
    """An excused interval (leave, sick days, a dock closed by typhoon, a key person in custody)
    for exactly one of a person, a unit (with everything below it) or a subject."""

    id: str = Field(min_length=1)
    person: str | None = None
    unit: str | None = None
    subject: str | None = None
    reason: str
    obligations: list[str] | None = Field(None, description="Only these obligations (default: every frequency and cadence duty)")

    @model_validator(mode="after")
    def _one_target(self) -> Exemption:
        given = [name for name in ("person", "unit", "subject") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"an exemption names exactly one of person, unit or subject (got {', '.join(given) or 'none'})")
        return self


class Registry(Strict):
    """Who and what exists: units, people, assignments, subjects and exemptions."""

    schema_: str | None = Field(None, alias="$schema")
    units: list[Unit] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list)
    assignments: list[Assignment] = Field(default_factory=list)
    subjects: list[Subject] = Field(default_factory=list)
    exemptions: list[Exemption] = Field(default_factory=list)
    #: the ruleset (id, version) a reader already checked this registry against
    _checked_for: tuple[str, str] | None = PrivateAttr(None)


# --------------------------------------------------------------------------------------------
# Events


@pydantic_dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid"))
class EventOrigin:
    """Where an event was read: the file (or source name) and the line or record number. A
    slotted dataclass, not a model: every event carries one (a model with its dict would add a
    fifth to an event's memory)."""

    file: str
    line: int


@pydantic_dataclass(frozen=True, slots=True, kw_only=True, config=ConfigDict(extra="forbid"))
class Event(ModelMethods):
    """One thing that happened: a patrol, a visit, a pushed lead, a repair. A slotted pydantic
    dataclass (validated as a model is, with the model methods callers use): an audit holds a
    county's million events."""

    id: str = Field(min_length=1)
    kind: str
    time: dt.datetime = Field(description="Timezone-aware instant")
    actor: str | None = None
    participants: tuple[str, ...] = ()
    on_behalf_of: str | None = Field(None, description="The person a delegate acted for; credited too")
    unit: str | None = None
    subject: str | None = None
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    origin: EventOrigin | None = None

    @field_validator("time")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("event time must carry a time zone; loaders read naive times in the ruleset's zone")
        return value

    @property
    def credited(self) -> tuple[str, ...]:
        """Everyone this event counts for: the actor, every participant and the person a delegate
        acted for."""
        if not self.participants and self.on_behalf_of is None:  # most events: one actor
            return (self.actor,) if self.actor else ()
        people = [self.actor, *self.participants, self.on_behalf_of]
        return tuple(dict.fromkeys(p for p in people if p))

    def field(self, name: str) -> Any:
        """The value of a core field or attribute by name (``None`` when absent)."""
        if name in CORE_EVENT_FIELDS:
            return getattr(self, name)
        return self.attributes.get(name)


class Reject(Strict):
    """An input event that could not be used, kept with its source line and the reasons."""

    file: str
    line: int
    raw: str
    errors: tuple[str, ...]


class Duplicate(Strict):
    """A repeated event id. Identical repeats are counted once; conflicting repeats are rejected."""

    id: str
    file: str
    line: int
    first_file: str
    first_line: int
    identical: bool


@dataclasses.dataclass(frozen=True)
class ArrayOf:
    """In an ``Annotated`` field whose serialiser is a wrap function (which says no type): the
    JSON schema of both modes is an array of ``item``, as it is for a tuple of them."""

    item: type

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: Any) -> Any:
        return handler(core_schema.list_schema(getattr(self.item, "__pydantic_core_schema__")))


_Item = TypeVar("_Item")


class LazyTuple(Sequence[_Item]):
    """A sequence whose items are built when asked for and which behaves as the tuple of them:
    equal to that tuple (as a tuple is: not to a list) and to another lazy tuple of equal items,
    hashed as that tuple, added to and multiplied into tuples. The base of the event and finding
    tables."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (tuple, LazyTuple)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:  # the tuple's (every item built)
        return hash(tuple(self))

    def __add__(self, other: object) -> tuple[_Item, ...]:
        if not isinstance(other, (tuple, LazyTuple)):
            return NotImplemented
        return tuple(self) + tuple(other)

    def __radd__(self, other: object) -> tuple[_Item, ...]:
        if not isinstance(other, tuple):
            return NotImplemented
        return other + tuple(self)

    def __mul__(self, times: int) -> tuple[_Item, ...]:
        return tuple(self) * times

    __rmul__ = __mul__


class LazyEvents(LazyTuple[Event]):
    """A sequence of events built when asked for (the base of
    :class:`~complianceengine.eventtable.EventTable`): an :class:`EventLog` keeps it as it is."""


def _events_or_table(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Lazy events (an event table) as they are; anything else validated as a tuple of events
    (from any iterable of events or records, a generator included)."""
    if isinstance(value, LazyEvents):
        return value
    return tuple(handler(value if isinstance(value, (list, tuple, str, bytes, Mapping)) else list(value)))


def _events_as_tuple(value: Any, handler: SerializerFunctionWrapHandler) -> Any:
    """Lazy events serialised as the tuple of their events (``include``/``exclude`` apply)."""
    return handler(tuple(value) if isinstance(value, LazyEvents) else value)


class EventLog(Strict):
    """Events read from one or more files, with everything that could not be used. ``events``
    is a tuple, or, when DuckDB screened the lines, an
    :class:`~complianceengine.eventtable.EventTable` (a sequence of the same events, each built
    when first asked for)."""

    events: Annotated[Sequence[Event], WrapValidator(_events_or_table), WrapSerializer(_events_as_tuple), ArrayOf(Event)] = ()
    rejects: tuple[Reject, ...] = ()
    duplicates: tuple[Duplicate, ...] = ()
