"""``check --format github``: GitHub Actions workflow commands, escaped as the runner unescapes them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from complianceengine.github_actions import Annotation, escape_data, escape_property
from test_lint import BASE

EXE = Path(sys.executable).parent / "complianceengine"


def unescape(text: str, *, property: bool) -> str:
    """What the Actions runner makes of an escaped message or property value."""
    text = text.replace("%0D", "\r").replace("%0A", "\n")
    if property:
        text = text.replace("%3A", ":").replace("%2C", ",")
    return text.replace("%25", "%")


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command line as the runner reads it: the command, its properties, its message."""
    assert line.startswith("::")
    head, _, message = line[2:].partition("::")
    command, _, rendered = head.partition(" ")
    properties = dict(p.split("=", 1) for p in rendered.split(",")) if rendered else {}
    return command, {k: unescape(v, property=True) for k, v in properties.items()}, unescape(message, property=False)


def test_data_and_properties_are_escaped_as_github_requires():
    assert escape_data("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext: a, b"
    assert escape_property("C:\\rules, v2%\n") == "C%3A\\rules%2C v2%25%0A"
    line = Annotation("warning", "two\nlines", file="rules/a,b:c.yaml", line=3, column=7, title="CE105 unused-role").command()
    assert line == "::warning file=rules/a%2Cb%3Ac.yaml,line=3,col=7,title=CE105 unused-role::two%0Alines"
    assert Annotation("error", "no place").command() == "::error::no place"


text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)


@given(message=text, file=text, title=text, line=st.none() | st.integers(1, 10**6))
def test_every_message_and_property_comes_back_unchanged_through_the_runner(message, file, title, line):
    command, properties, read = parse(Annotation("notice", message, file=file, line=line, title=title).command())
    assert (command, read) == ("notice", message)
    assert properties == {"file": file, "title": title, **({"line": str(line)} if line is not None else {})}


def test_check_prints_one_annotation_per_diagnostic_at_its_place(tmp_path):
    folder = tmp_path / "rules, 2026: draft"  # a comma and a colon in the path must not cut the properties
    folder.mkdir()
    (folder / "ruleset.yaml").write_text(BASE, encoding="utf-8")
    result = subprocess.run([str(EXE), "check", "--format", "github", str(folder)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr  # warnings fail under the default --fail-on warning
    *commands, summary = result.stdout.splitlines()
    assert summary == "1 file(s) checked: 0 error(s), 5 warning(s), 1 info"
    parsed = [parse(line) for line in commands]
    by_title = {properties["title"]: (command, properties, message) for command, properties, message in parsed}
    command, properties, message = by_title["CE102 raised-is-weaker"]
    assert command == "warning" and properties["file"] == (folder / "ruleset.yaml").as_posix()
    assert (properties["line"], properties["col"]) == ("30", "9")
    first, hint = message.split("\n")
    assert first.startswith("weekly: during campaign the requirement is about") and hint.startswith("hint: raise at_least")
    assert by_title["CE108 missing-quote"][0] == "notice"
    assert {command for command, _, _ in parsed} == {"warning", "notice"}


def test_an_invalid_ruleset_gives_error_annotations_and_exit_2(tmp_path):
    (tmp_path / "ruleset.yaml").write_text(BASE.replace("kind: patrol}", "kind: patrl}"), encoding="utf-8")
    result = subprocess.run([str(EXE), "check", "--format", "github", "ruleset.yaml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    command, properties, message = parse(result.stdout.splitlines()[0])
    assert command == "error" and properties["file"] == "ruleset.yaml" and properties["title"] == "CE001 invalid-ruleset"
    assert "did you mean" in message
