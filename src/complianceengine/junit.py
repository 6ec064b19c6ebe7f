"""JUnit XML, written in one place for every command that reports to a CI (``check``, ``test``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["JUnitCase", "JUnitFailure", "JUnitSuite", "junit_xml"]


@dataclass(frozen=True)
class JUnitFailure:
    message: str
    type: str
    text: str


@dataclass(frozen=True)
class JUnitCase:
    classname: str
    name: str
    file: str | None = None
    failure: JUnitFailure | None = None


@dataclass(frozen=True)
class JUnitSuite:
    name: str
    cases: Sequence[JUnitCase]


def junit_xml(suites: Sequence[JUnitSuite]) -> str:
    """``<testsuites>`` with one ``<testsuite>`` per suite, counts filled in, indented."""
    root = ET.Element("testsuites")
    for suite in suites:
        failures = sum(case.failure is not None for case in suite.cases)
        element = ET.SubElement(root, "testsuite", name=suite.name, tests=str(len(suite.cases)), failures=str(failures), errors="0",
                                skipped="0")
        for case in suite.cases:
            attributes = {"classname": case.classname, "name": case.name}
            if case.file is not None:
                attributes["file"] = case.file
            testcase = ET.SubElement(element, "testcase", attributes)
            if case.failure is not None:
                failure = ET.SubElement(testcase, "failure", message=case.failure.message, type=case.failure.type)
                failure.text = case.failure.text
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
