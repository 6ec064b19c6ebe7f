"""Obligation kinds: one module each, all on one protocol, built-in or added by a plugin.

A kind is an :class:`ObligationKind`: the pydantic ``model`` of its obligations, an optional
``plan`` step (what can be worked out from the ruleset, the registry and the range alone, before
any event: frames, requirement variants, staffing shortfalls), ``judge`` (the verdicts, asking an
:class:`EventSource` about the events, worded by the kind's own ``Wording`` from the verdict as
data), and optional ``check`` (reference problems found at load time), ``lookback`` (how far
before an audit's range its verdicts can reach) and ``lint`` (authoring hints for ``check``).
The five built-in kinds live in the modules beside this one and are registered by
complianceengine's own internal plugin through the same hook a plugin uses
(``complianceengine_obligation_kinds``), as pytest's built-in features are plugins too. Adding a
kind touches one file.

``judge`` is backend-independent: a backend (the reference one in
:mod:`complianceengine.evaluate.reference`, a columnar one later) only answers the
:class:`EventSource` questions, so every backend gives the same findings by construction.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import cadence, completeness, frequency, response, staffing
from .base import EventSource, ObligationKind, counts_for, raised, span_label, variants, what, when

__all__ = ["BUILTIN", "EventSource", "ObligationKind", "counts_for", "raised", "span_label", "variants", "what", "when"]

#: the built-in kinds, by name (registered by complianceengine's internal plugin)
BUILTIN: Mapping[str, ObligationKind] = {
    "frequency": frequency.KIND,
    "cadence": cadence.KIND,
    "response": response.KIND,
    "staffing": staffing.KIND,
    "completeness": completeness.KIND,
}
