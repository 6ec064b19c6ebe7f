"""Random mutations of a valid ruleset either load or fail with located errors, never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complianceengine import Plugins, RulesetError, load_ruleset
from conftest import ROOT

TEXT = (ROOT / "rulesets" / "xiangshan" / "ruleset.yaml").read_text(encoding="utf-8")
LINES = TEXT.splitlines()
PLUGINS = Plugins(entry_points=True)
FOLDER = Path(tempfile.mkdtemp())
(FOLDER / "sample").mkdir()
(FOLDER / "sample" / "tides.csv").write_text((ROOT / "rulesets" / "xiangshan" / "sample" / "tides.csv").read_text(encoding="utf-8"))

junk = st.sampled_from(["", " ", "-", ":", "{", "}", "[", "]", "'", '"', "#", "&a", "*a", "<<:", "P1X", "2026-13-01", "yes", "null",
                        "-1", "1e400", "true", "\t", "~", "!!binary", "周", "week", "frequency", "patrol", "dock_staff"])


@st.composite
def mutated(draw):
    lines = list(LINES)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        how = draw(st.sampled_from(["delete", "duplicate", "indent", "dedent", "replace_value", "insert_junk", "truncate"]))
        if how == "delete":
            del lines[i]
        elif how == "duplicate":
            lines.insert(i, lines[i])
        elif how == "indent":
            lines[i] = "  " + lines[i]
        elif how == "dedent":
            lines[i] = lines[i][2:] if lines[i].startswith("  ") else lines[i]
        elif how == "replace_value" and ":" in lines[i]:
            key, _, _ = lines[i].partition(":")
            lines[i] = f"{key}: {draw(junk)}"
        elif how == "insert_junk":
            cut = draw(st.integers(min_value=0, max_value=len(lines[i])))
            lines[i] = lines[i][:cut] + draw(junk) + lines[i][cut:]
        elif how == "truncate":
            lines = lines[: i + 1]
        if not lines:
            lines = [""]
    return "\n".join(lines) + "\n"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_a_mutated_ruleset_loads_or_fails_with_located_errors(text):
    path = FOLDER / "ruleset.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_ruleset(path, PLUGINS)
    except RulesetError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.location.file == str(path)
            assert problem.location.line is not None and 1 <= problem.location.line <= max(1, text.count("\n") + 1), problem
            assert problem.message
