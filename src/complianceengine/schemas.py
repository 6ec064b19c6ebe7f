"""JSON Schema of the ruleset and registry formats, for editors (validation, autocompletion).

Generated from the pydantic models, so it cannot drift from what the loader accepts; the copies
published under ``docs/schema/`` are checked against it by the tests. Bundled rulesets point at
theirs with ``$schema``. The schema checks shapes only: references between names (roles, event
kinds, calendars) are checked by ``complianceengine check``.
"""

from __future__ import annotations

from typing import Any, Literal

from .model import Registry, Ruleset

URLS = {
    "ruleset": "https://complianceengine.example/schema/ruleset.schema.json",
    "registry": "https://complianceengine.example/schema/registry.schema.json",
}


def schema(kind: Literal["ruleset", "registry"] = "ruleset") -> dict[str, Any]:
    model = Ruleset if kind == "ruleset" else Registry
    out = model.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": URLS[kind], **out}
