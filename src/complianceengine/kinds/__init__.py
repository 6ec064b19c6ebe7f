"""Obligation kinds: one module each, all on one protocol, built-in or added by a plugin.

A kind is an :class:`ObligationKind`: the pydantic ``model`` of its obligations, an optional
``plan`` step (what can be worked out from the ruleset, the registry and the range alone, before
any event: frames, requirement variants, staffing shortfalls), ``judge`` (the verdicts, asking an
:class:`EventSource` about the events, worded by the kind's own ``Wording`` from the verdict as
data), and optional ``check`` (reference problems found at load time), ``lookback`` (how far
before an audit's range its verdicts can reach) and ``lint`` (authoring hints for ``check``).
The built-in kinds are the modules beside this one that define ``KIND`` (found by name, so
adding a kind is adding its module, model included) and are registered by
complianceengine's own internal plugin through the same hook a plugin uses
(``complianceengine_obligation_kinds``), as pytest's built-in features are plugins too. Adding a
kind touches one file.

``judge`` is backend-independent: a backend (the reference one in
:mod:`complianceengine.evaluate.reference`, a columnar one later) only answers the
:class:`EventSource` questions, so every backend gives the same findings by construction.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping

from .base import Ask, EventSource, ObligationKind, answers_in, counter, counts_for, raised, shifted_instants, span_label, variants, what, when

__all__ = ["BUILTIN", "Ask", "EventSource", "ObligationKind", "answers_in", "counter", "counts_for", "raised", "shifted_instants", "span_label", "variants", "what", "when"]


def _found() -> dict[str, ObligationKind]:
    """Every module of this package that defines ``KIND``, by module name (its kind's name), in
    alphabetical order. A kind's model declares ``kind: Literal["<module name>"]``."""
    out = {}
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        kind = getattr(importlib.import_module(f"{__name__}.{module.name}"), "KIND", None)
        if isinstance(kind, ObligationKind):
            declared = kind.model.model_fields["kind"].annotation
            if getattr(declared, "__args__", None) != (module.name,):
                raise TypeError(f"{__name__}.{module.name}: the model {kind.model.__name__} must declare kind: Literal[{module.name!r}]")
            out[module.name] = kind
    return out


#: the built-in kinds, by name (registered by complianceengine's internal plugin): every module
#: here with a ``KIND``, so adding a kind is adding its module
BUILTIN: Mapping[str, ObligationKind] = _found()
