"""What a report format is (:class:`ReportFormat`, as the ``complianceengine_reporters`` hook
gives it) and a document ready to be written (:class:`Rendered`): below the plugin manager,
which registers the built-in formats, and the report module, which chooses among them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .findings import Report

__all__ = ["ReportFormat", "Rendered"]


@dataclass(frozen=True)
class ReportFormat:
    """A report format, as the ``complianceengine_reporters`` hook gives it: either ``render``,
    which makes the whole report at once (``str``, or ``bytes`` when ``binary``), or ``write``,
    which writes it piece by piece to the stream it is given (a binary stream when ``binary``, else
    a text one), for a report too large to hold or a library that writes to a file (a workbook, a
    PDF). A plain function ``report -> str`` given to the hook means ``ReportFormat(render=function)``.

    A ``binary`` format is never written to a terminal: the command line asks for ``--output``.
    """

    render: Callable[[Report], str | bytes] | None = None
    write: Callable[[Report, IO[Any]], None] | None = None
    binary: bool = False

    def __post_init__(self) -> None:
        if (self.render is None) == (self.write is None):
            raise TypeError("ReportFormat takes render= or write=, one of them")


@dataclass(frozen=True)
class Rendered:
    """A report (or another document) in one format, ready to be written: ``write(stream)`` writes
    it to a binary stream when ``binary``, else to a text stream. A format that renders at once has
    already rendered (so it failed, if it was going to, before anything was written); one that
    writes to a stream runs in ``write`` (``streamed``), and a failure there is a
    :class:`~complianceengine.PluginError` naming ``plugin``, the one providing the format."""

    write: Callable[[IO[Any]], None]
    binary: bool = False
    streamed: bool = False
    plugin: str = ""
