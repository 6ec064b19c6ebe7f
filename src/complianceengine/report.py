"""Reports in any format: choosing the format through the plugins (the built-in ones and those
plugins add, all through the ``complianceengine_reporters`` hook) and writing it.

A format renders the whole report at once (text, or bytes) or writes it piece by piece to a stream
(the JSON report a finding at a time; the workbook, whose cells XlsxWriter keeps on disk, not in
memory): see :class:`ReportFormat`. The built-in formats are in :mod:`complianceengine.renderers`.
"""

from __future__ import annotations

import io
from typing import IO, Any

from .errors import PluginError, UsageError
from .findings import Report
from .formats import Rendered, ReportFormat
from .plugins import Plugins
from .renderers import BUILTIN_FORMATS, NOT_MET, UnitGroup, header_line, json_bytes, json_chunks, not_met_by_unit, one_line, unit_label

__all__ = [
    "BUILTIN_FORMATS", "NOT_MET", "ReportFormat", "Rendered", "UnitGroup", "header_line", "json_bytes", "json_chunks", "not_met_by_unit", "one_line", "render",
    "rendered_report", "report_format", "unit_label", "write_report",
]


def report_format(format: str, plugins: Plugins | None = None) -> ReportFormat:
    """The report format named ``format``: a built-in one (markdown, json, csv, xlsx) or one a
    plugin adds; :class:`UsageError` for an unknown name."""
    return _format(format, plugins)[1]


def _format(format: str, plugins: Plugins | None) -> tuple[str, ReportFormat]:
    formats = (plugins or Plugins()).reporters()
    try:
        plugin, provided = formats[format]
    except KeyError:
        raise UsageError(f"unknown report format {format!r}; use one of {', '.join(formats)}") from None
    return plugin, provided if isinstance(provided, ReportFormat) else ReportFormat(render=provided)


def rendered_report(report: Report, format: str, plugins: Plugins | None = None) -> Rendered:
    """``report`` in ``format``, ready to be written (see :class:`Rendered`)."""
    plugin, chosen = _format(format, plugins)
    where = f"report format {format!r}"
    if chosen.write is not None:
        writer = chosen.write

        def write(stream: IO[Any]) -> None:
            try:
                writer(report, stream)
            except OSError:  # writing failed (a full disk, a closed pipe), not the format
                raise
            except (Exception, SystemExit) as exc:
                raise PluginError(plugin, where, f"{type(exc).__name__}: {exc}") from exc

        return Rendered(write, binary=chosen.binary, streamed=True, plugin=plugin)
    assert chosen.render is not None
    try:
        made = chosen.render(report)
    except (Exception, SystemExit) as exc:
        raise PluginError(plugin, where, f"{type(exc).__name__}: {exc}") from exc
    expected = bytes if chosen.binary else str
    if not isinstance(made, expected):
        raise PluginError(plugin, where, f"returned {type(made).__name__}, not {'bytes' if chosen.binary else 'text'}")

    def write_made(stream: IO[Any]) -> None:
        stream.write(made)

    return Rendered(write_made, binary=chosen.binary, plugin=plugin)


def render(report: Report, format: str = "markdown", plugins: Plugins | None = None) -> str:
    """The report as text in ``format``: a built-in text format (markdown, json, csv) or one a
    plugin adds. A binary format (xlsx) is written with :func:`write_report` instead."""
    rendered = rendered_report(report, format, plugins)
    if rendered.binary:
        raise UsageError(f"report format {format!r} is not text; write it to a file with write_report(report, {format!r}, stream)")
    buffer = io.StringIO()
    rendered.write(buffer)
    return buffer.getvalue()


def write_report(report: Report, format: str, stream: IO[bytes], plugins: Plugins | None = None) -> None:
    """Write the report in ``format`` to the binary ``stream`` (a file opened with ``"wb"``, a
    ``BytesIO``): a binary format's bytes, a text format as UTF-8."""
    rendered = rendered_report(report, format, plugins)
    if rendered.binary:
        rendered.write(stream)
        return
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    try:
        rendered.write(text)
        text.flush()
    finally:
        text.detach()  # the caller's stream stays open
