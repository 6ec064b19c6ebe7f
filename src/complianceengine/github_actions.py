"""GitHub Actions workflow commands, written in one place for every command that reports to a CI.

A line ``::error file=F,line=L,col=C,title=T::message`` in a job's log becomes an annotation on
line L of file F (in the pull request's diff and the run's summary). GitHub reads the message up
to the end of the line and the properties up to the next ``,`` or ``::``, so both are escaped as
the runner unescapes them: ``%`` as ``%25``, carriage return as ``%0D`` and line feed as ``%0A``
everywhere, and in properties also ``:`` as ``%3A`` and ``,`` as ``%2C``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Annotation", "AnnotationLevel", "escape_data", "escape_property"]

AnnotationLevel = Literal["error", "warning", "notice"]


def escape_data(text: str) -> str:
    """``text`` as the message of a workflow command (after the ``::``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """``text`` as the value of a workflow command property (``file=``, ``title=``, ...)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


@dataclass(frozen=True)
class Annotation:
    """One annotation: a level, a message (several lines allowed) and where it points."""

    level: AnnotationLevel
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    title: str | None = None

    def command(self) -> str:
        """The workflow command line (without its line end)."""
        properties = [(name, value) for name, value in
                      (("file", self.file), ("line", self.line), ("col", self.column), ("title", self.title)) if value is not None]
        rendered = ",".join(f"{name}={escape_property(str(value))}" for name, value in properties)
        return f"::{self.level}{' ' + rendered if rendered else ''}::{escape_data(self.message)}"
