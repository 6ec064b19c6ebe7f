"""A ``match`` block and the counting rule in SQL, built with SQLGlot's expression builder.

This is the columnar reading of :mod:`complianceengine.match` and
:func:`complianceengine.kinds.counts_for`: the same conditions, written as expressions over an
``events`` table (one row per known event) instead of predicates over :class:`Event` objects.
Nothing here pastes text into SQL: values are literals of the expression tree and names are
quoted identifiers, and the tree is printed in one dialect (``DIALECT``), so another engine
needs another dialect, not other code.

The tables the statements read are those :mod:`complianceengine.evaluate.columnar` makes:
``events`` (``pos``, ``t``, the core fields, ``attrs`` as JSON, ``clock``), ``credited``,
``windows`` and ``holdings``.

Where Python and SQL could disagree, the Python meaning wins and this module follows it: a value
of one type never equals a value of another (``true`` is not ``1``), a comparison holds for a
list when it holds for one of its items, an absent value is judged in Python (the condition on
``None`` is worked out once and written as a constant), and ``time`` compares with nothing
(written as the constant Python gives for any instant).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import Any

from sqlglot import exp

from ..match import condition_holds
from ..model import Comparison, EventMatch

__all__ = ["DIALECT", "answers_query", "counting_lists_query", "field_condition", "match_condition", "matching_query", "untexted_query"]

#: the dialect every statement is printed in
DIALECT = "duckdb"

_TEXT_FIELDS = ("id", "kind", "actor", "on_behalf_of", "unit", "subject")
_NUMBER_TYPES = ("BIGINT", "UBIGINT", "DOUBLE")
_EXACT = 2**53  # every whole number up to it is a double
_HUGE = 10**37  # below what a HUGEINT holds; whole numbers read have at most 30 digits
_ANY_INSTANT = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


def _col(name: str, table: str = "e") -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _lit(value: Any) -> exp.Expr:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return _number(value)
    return exp.Literal.string(str(value))


def _number(value: int | float) -> exp.Expr:
    """A finite number as a typed literal: a float as DOUBLE, a whole number as HUGEINT (a bare
    literal's type would depend on its size)."""
    return exp.cast(exp.Literal.string(repr(value) if isinstance(value, float) else str(value)), "DOUBLE" if isinstance(value, float) else "HUGEINT")


def _const(value: bool) -> exp.Expr:
    return exp.true() if value else exp.false()


def _beyond(op: str, bound: int | float) -> exp.Expr:
    """``value op bound`` for a bound beyond every value read (above them when positive)."""
    return _const(op in (("gt", "gte") if bound < 0 else ("lt", "lte")))


def _same(table: str, column: str, other_table: str, other_column: str) -> exp.Expr:
    """``table.column = other_table.other_column``."""
    return exp.EQ(this=exp.column(column, table=table), expression=exp.column(other_column, table=other_table))


def _is_list(value: exp.Expr) -> exp.Expr:
    """Is the JSON ``value`` an array?"""
    return exp.EQ(this=_fn("json_type", value), expression=exp.Literal.string("ARRAY"))


def _any(parts: Sequence[exp.Expr]) -> exp.Expr:
    return exp.or_(*parts) if parts else exp.false()


def _all(parts: Sequence[exp.Expr]) -> exp.Expr:
    return exp.and_(*parts) if parts else exp.true()


def _cast(value: exp.Expr, to: str) -> exp.Expr:
    """``TRY_CAST``: SQL does not promise to check a value's JSON type before casting it."""
    return exp.TryCast(this=value, to=exp.DataType.build(to))


def _fn(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


# --------------------------------------------------------------------------------------------
# one non-null scalar value, typed: what `equal` and `ordered` mean for it


class _Text:
    """A text value (a core field, or a list item)."""

    def __init__(self, value: exp.Expr):
        self.value = value

    def equal(self, expected: Any) -> exp.Expr:
        return exp.EQ(this=self.value, expression=_lit(expected)) if isinstance(expected, str) else exp.false()

    def ordered(self, op: str, bound: Any) -> exp.Expr:
        return _compare(op, self.value, _lit(bound)) if isinstance(bound, str) else exp.false()


class _Json:
    """A scalar JSON value (an attribute that is not a list): text, number or boolean."""

    def __init__(self, value: exp.Expr):
        self.value = value
        self.type = _fn("json_type", value)

    def _is(self, *types: str) -> exp.Expr:
        return exp.In(this=self.type, expressions=[exp.Literal.string(t) for t in types])

    def _text(self) -> exp.Expr:
        return _fn("json_extract_string", self.value, exp.Literal.string("$"))

    def _numeric(self, op: str, bound: int | float) -> exp.Expr:
        """A number compared with a number exactly, as Python compares an int or a float with an
        int or a float. A value is whole (a Python int) when its JSON text is digits alone (a
        float's has a point or an exponent): compared as HUGEINT (the readers keep whole numbers
        below 10^30). A fractional value is a double: compared as one with a float, and with a
        whole number beyond 2^53 (which a double may not hold) as HUGEINT, a double that large
        being whole."""
        if isinstance(bound, float) and math.isnan(bound):
            return exp.false()  # nothing equals or orders with NaN
        number = self._is(*_NUMBER_TYPES)
        if isinstance(bound, float) and math.isinf(bound):  # every value read is finite
            return exp.and_(number, _beyond(op, bound))
        digits = exp.RegexpLike(this=exp.cast(self.value, "VARCHAR"), expression=exp.Literal.string("^-?[0-9]+$"))
        return exp.or_(exp.and_(number, digits, self._whole(op, bound)), exp.and_(number, exp.not_(digits), self._fraction(op, bound)))

    def _whole(self, op: str, bound: int | float) -> exp.Expr:
        """A whole value (HUGEINT) ``op`` a finite bound."""
        if isinstance(bound, float):
            if not bound.is_integer():  # v > 2.5 is v > 2, v >= 2.5 is v >= 3, ...; never equal
                if op == "eq":
                    return exp.false()
                bound = math.floor(bound) if op in ("gt", "lte") else math.ceil(bound)
            else:
                bound = int(bound)
        if abs(bound) >= _HUGE:  # beyond every whole value read
            return _beyond(op, bound)
        return _compare(op, _cast(self.value, "HUGEINT"), _number(bound))

    def _fraction(self, op: str, bound: int | float) -> exp.Expr:
        """A fractional value (a double) ``op`` a finite bound."""
        double = _cast(self.value, "DOUBLE")
        if isinstance(bound, float) or abs(bound) <= _EXACT:  # a double holds the bound exactly
            return _compare(op, double, _number(float(bound)))
        # a double below 2^53 in size is beyond the bound's size: the bound's sign decides;
        # one above it is whole, compared as HUGEINT (below 10^37: a double that large and a
        # bound that large are compared as doubles)
        small = exp.LT(this=exp.Abs(this=double), expression=_number(float(_EXACT)))
        large = exp.GTE(this=exp.Abs(this=double), expression=_number(1e37))
        return exp.Case(ifs=[exp.If(this=small, true=_beyond(op, bound)), exp.If(this=large, true=_compare(op, double, _number(float(bound))))],
                        default=_compare(op, _cast(double, "HUGEINT"), _number(bound)) if abs(bound) < _HUGE else _beyond(op, bound))

    def equal(self, expected: Any) -> exp.Expr:
        if isinstance(expected, bool):
            return exp.and_(self._is("BOOLEAN"), exp.EQ(this=self._text(), expression=exp.Literal.string("true" if expected else "false")))
        if isinstance(expected, (int, float)):
            return self._numeric("eq", expected)
        return exp.and_(self._is("VARCHAR"), exp.EQ(this=self._text(), expression=_lit(expected)))

    def ordered(self, op: str, bound: Any) -> exp.Expr:
        if isinstance(bound, (int, float)) and not isinstance(bound, bool):
            return self._numeric(op, bound)
        if isinstance(bound, str):
            return exp.and_(self._is("VARCHAR"), _compare(op, self._text(), _lit(bound)))
        return exp.false()


_COMPARE: dict[str, Callable[..., exp.Expr]] = {"eq": exp.EQ, "gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}


def _compare(op: str, left: exp.Expr, right: exp.Expr) -> exp.Expr:
    return _COMPARE[op](this=left, expression=right)


def _scalar(value: _Text | _Json, condition: Any) -> exp.Expr:
    """:func:`condition_holds` for a non-null scalar value."""
    if isinstance(condition, Comparison):
        checks: list[exp.Expr] = []
        if condition.exists is not None:
            checks.append(_const(condition.exists))  # a value is there
        if condition.eq is not None:
            checks.append(value.equal(condition.eq))
        if condition.ne is not None:
            checks.append(exp.not_(value.equal(condition.ne)))
        if condition.in_ is not None:
            checks.append(_any([value.equal(c) for c in condition.in_]))
        if condition.not_in is not None:
            checks.append(exp.not_(_any([value.equal(c) for c in condition.not_in])))
        for op in ("gt", "gte", "lt", "lte"):
            bound = getattr(condition, op)
            if bound is not None:
                checks.append(value.ordered(op, bound))
        return _all(checks)
    if isinstance(condition, list):
        return _any([value.equal(c) for c in condition])
    return value.equal(condition)


def _items(items: exp.Expr, condition: Any) -> exp.Expr:
    """:func:`condition_holds` for a list of texts (a tuple in Python)."""
    if isinstance(condition, Comparison) and condition.exists is not None:
        compare = exp.GT if condition.exists else exp.EQ
        return compare(this=_fn("len", items), expression=exp.Literal.number(0))
    item = exp.column("item", quoted=True)
    kept = _fn("list_filter", items, exp.Lambda(this=_scalar(_Text(item), condition), expressions=[exp.to_identifier("item", quoted=True)]))
    return exp.GT(this=_fn("len", kept), expression=exp.Literal.number(0))


def _case(value: exp.Expr, when_null: bool, otherwise: exp.Expr) -> exp.Expr:
    return exp.Case(ifs=[exp.If(this=exp.Is(this=value, expression=exp.Null()), true=_const(when_null))], default=otherwise)


def field_condition(name: str, condition: Any) -> exp.Expr:
    """``condition`` on the event field or attribute ``name``, as :func:`condition_holds` reads
    ``Event.field(name)``."""
    if name == "time":  # an instant equals and orders with no condition value
        return _const(condition_holds(_ANY_INSTANT, condition))
    if name == "participants":  # always a list
        return _items(_col("participants"), condition)
    absent = condition_holds(None, condition)
    if name in _TEXT_FIELDS:
        column = _col(name)
        return _case(column, absent, _scalar(_Text(column), condition))
    value = _attribute(name)
    return exp.Case(
        ifs=[exp.If(this=exp.Is(this=value, expression=exp.Null()), true=_const(absent)),
             exp.If(this=_is_list(value), true=_items(_cast(value, "VARCHAR[]"), condition))],
        default=_scalar(_Json(value), condition),
    )


def _attribute(name: str) -> exp.Expr:
    """The attribute ``name`` of the event as JSON (NULL when absent), by JSON pointer."""
    return _fn("json_extract", _col("attrs"), _pointer(name))


def _pointer(name: str) -> exp.Expr:
    """The JSON pointer of the attribute ``name``."""
    return exp.Literal.string("/" + name.replace("~", "~0").replace("/", "~1"))


def match_condition(match: EventMatch) -> exp.Expr:
    """The ``match`` block as a condition on a row ``e`` of ``events``
    (:func:`complianceengine.match.matcher`)."""
    parts: list[exp.Expr] = [exp.In(this=_col("kind"), expressions=[_lit(k) for k in dict.fromkeys(match.kinds)])]
    parts += [field_condition(name, condition) for name, condition in match.where.items()]
    clock = match.time_of_day
    if clock is not None:
        after = exp.GTE(this=_col("clock"), expression=_lit(clock.from_))
        before = exp.LT(this=_col("clock"), expression=_lit(clock.to))
        parts.append(exp.and_(after, before) if clock.from_ < clock.to else exp.or_(after, before))  # wraps past midnight
    quorum = match.quorum
    if quorum is not None:
        value = _attribute(quorum.attribute)
        present = _fn("list_distinct", _cast(value, "VARCHAR[]"))
        members = exp.Array(expressions=[_lit(m) for m in sorted(set(quorum.members))])
        enough = exp.GTE(this=_fn("len", _fn("list_intersect", present, members)), expression=_lit(quorum.at_least))
        # a value that is not a list has no quorum; a missing one has none either (at_least >= 1)
        parts.append(exp.Case(ifs=[exp.If(this=_is_list(value), true=enough)], default=exp.false()))
    if match.in_calendar is not None:
        inside = (exp.select("1").from_(exp.to_table("windows", alias="w"))
                  .where(exp.EQ(this=exp.column("calendar", table="w", quoted=True), expression=_lit(match.in_calendar)))
                  .where(exp.LTE(this=exp.column("t0", table="w", quoted=True), expression=_col("t")))
                  .where(exp.LT(this=_col("t"), expression=exp.column("t1", table="w", quoted=True))))
        parts.append(exp.Exists(this=inside))
    return _all(parts)


def matching_query(match: EventMatch) -> str:
    """The positions of the events ``match`` accepts, in order."""
    query = exp.select(_col("pos")).from_(exp.to_table("events", alias="e")).where(match_condition(match)).order_by(_col("pos"))
    return query.sql(dialect=DIALECT)


def _key(name: str) -> tuple[exp.Expr, exp.Expr] | None:
    """The correlation value ``name`` of a row ``e`` as text (NULL when absent), and the
    condition that it is a text or absent (what makes an SQL equality of texts Python's
    equality: a text never equals a number or true); ``None`` for a field never a text."""
    if name in _TEXT_FIELDS:
        return _col(name), exp.true()
    if name in ("time", "participants"):
        return None
    value = _attribute(name)
    # an attribute is a text, a number, true or false or a list of texts (``AttributeValue``): a
    # JSON text is a Python text; a JSON null is a float Python has no JSON for (NaN), no text
    texty = exp.or_(exp.Is(this=value, expression=exp.Null()), exp.EQ(this=_fn("json_type", value), expression=exp.Literal.string("VARCHAR")))
    return _fn("json_extract_string", _col("attrs"), _pointer(name)), texty


def untexted_query(match: EventMatch, correlate_on: Sequence[str]) -> str | None:
    """How many of the events ``match`` accepts have a correlation value that is neither a text
    nor absent (``n``); ``None`` when a correlation field is never a text (``time``,
    ``participants``). When there is none, :func:`answers_query` answers as Python would."""
    keys = [_key(name) for name in correlate_on]
    if any(key is None for key in keys):
        return None
    texts = _all([key[1] for key in keys if key is not None])
    query = (exp.select(exp.alias_(exp.Count(this=exp.Star()), "n")).from_(exp.to_table("events", alias="e"))
             .where(match_condition(match)).where(exp.not_(texts)))
    return query.sql(dialect=DIALECT)


def answers_query(match: EventMatch, correlate_on: Sequence[str]) -> str:
    """For each row of ``asks`` (``ask``, the key's texts ``k0``, ``k1``, ..., ``from_pos``),
    the first event ``match`` accepts whose correlation values are those texts, at or after the
    position ``from_pos`` (in time order): ``(ask, pos, id)``, by an as-of join (an ask without
    one has no row). Only for correlation values that are texts or absent (:func:`untexted_query`)."""
    keys = [_key(name) for name in correlate_on]
    names = [f"k{i}" for i in range(len(keys))]
    answering = (exp.select(_col("pos"), _col("id"), *(exp.alias_(key[0], name, quoted=True) for key, name in zip(keys, names) if key is not None))
                 .from_(exp.to_table("events", alias="e")).where(match_condition(match)))
    on = _all([*(_same("a", name, "s", name) for name in names),
               exp.GTE(this=exp.column("pos", table="s"), expression=exp.column("from_pos", table="a"))])
    query = (exp.select(exp.column("ask", table="a"), exp.column("pos", table="s"), exp.column("id", table="s"))
             .from_(exp.to_table("asks", alias="a")).join(answering.subquery("s"), on=on, join_type="asof"))
    return query.sql(dialect=DIALECT)


def counting_lists_query(match: EventMatch, subject_kind: str, roles: Sequence[str] | None) -> str:
    """The events that ``match`` accepts and that count for each target
    (:func:`complianceengine.kinds.counts_for`): ``(ti, positions)``, the target's index and the
    positions of its events as one list in order (a list per target is fetched several times
    faster than a row per event).

    The targets of one subject kind are the ``targets`` table (``ti`` the target's index,
    ``sid`` its subject's id, ``anywhere`` true when it has no unit), their units
    ``target_units`` (``ti``, ``unit``: where events count) and, with ``by`` roles, the units
    where those roles may act ``target_line`` (``ti``, ``unit``)."""
    pairs = _counting(match, subject_kind, roles)
    positions = exp.Anonymous(this="list", expressions=[exp.Order(this=exp.column("pos"), expressions=[exp.Ordered(this=exp.column("pos"))])])
    query = exp.select(exp.column("ti"), exp.alias_(positions, "positions")).from_(pairs.subquery("q")).group_by(exp.column("ti"))
    return query.sql(dialect=DIALECT)


def _counting(match: EventMatch, subject_kind: str, roles: Sequence[str] | None) -> exp.Select:
    """``(ti, pos)`` of every event that counts for a target (see :func:`counting_lists_query`), unordered."""
    g, u, m = "g", "u", "m"
    matched = exp.select(*(_col(c) for c in ("pos", "t", "unit", "subject"))).from_(exp.to_table("events", alias="e")).where(match_condition(match))
    if subject_kind == "person":
        query = (exp.select(exp.column("ti", table=g), exp.column("pos", table=m)).distinct()
                 .from_(matched.subquery(m))
                 .join(exp.to_table("credited", alias="c"), on=_same("c", "pos", m, "pos"))
                 .join(exp.to_table("targets", alias=g), on=_same(g, "sid", "c", "person"))
                 .where(exp.or_(exp.Is(this=exp.column("unit", table=m), expression=exp.Null()),
                                exp.Exists(this=exp.select("1").from_(exp.to_table("target_units", alias=u))
                                           .where(_same(u, "ti", g, "ti"))
                                           .where(_same(u, "unit", m, "unit"))))))
    elif subject_kind == "unit":
        query = (exp.select(exp.column("ti", table=u), exp.column("pos", table=m)).distinct()
                 .from_(matched.subquery(m))
                 .join(exp.to_table("target_units", alias=u), on=_same(u, "unit", m, "unit"))
                 .join(exp.to_table("targets", alias=g), on=_same(g, "ti", u, "ti")))
    else:
        query = (exp.select(exp.column("ti", table=g), exp.column("pos", table=m)).distinct()
                 .from_(matched.subquery(m))
                 .join(exp.to_table("targets", alias=g), on=_same(g, "sid", m, "subject")))
    if roles is not None:
        # someone credited holds one of the roles, at the target's line of units, at the event's time
        where_unit = exp.or_(exp.column("anywhere", table=g),
                             exp.Exists(this=exp.select("1").from_(exp.to_table("target_line", alias="l"))
                                        .where(_same("l", "ti", g, "ti"))
                                        .where(_same("l", "unit", "h", "unit"))))
        holder = (exp.select("1").from_(exp.to_table("credited", alias="c2"))
                  .join(exp.to_table("holdings", alias="h"), on=_same("h", "person", "c2", "person"))
                  .where(_same("c2", "pos", m, "pos"))
                  .where(exp.In(this=exp.column("role", table="h"), expressions=[_lit(r) for r in dict.fromkeys(roles)]))
                  .where(exp.LTE(this=exp.column("t0", table="h"), expression=exp.column("t", table=m)))
                  .where(exp.LT(this=exp.column("t", table=m), expression=exp.column("t1", table="h")))
                  .where(where_unit))
        query = query.where(exp.Exists(this=holder))
    return query
