"""DuckDB connections of our own: one per audit or read, with its settings and spill folder.

No process-wide DuckDB state is used (never ``duckdb.sql`` or the default connection): each caller
opens an in-memory connection here and closes it when done. Needs the ``duckdb`` extra (duckdb,
pyarrow and sqlglot); :func:`available` says whether it is installed.
"""

from __future__ import annotations

import importlib.util
import tempfile
from typing import TYPE_CHECKING, Any, Literal

from .errors import UsageError

if TYPE_CHECKING:
    import duckdb

__all__ = ["ENGINES", "Engine", "available", "connect"]

#: which engine reads the events and answers the kinds' questions: ``reference`` (plain Python),
#: ``duckdb`` (the ``duckdb`` extra) or ``auto`` (see :func:`complianceengine.evaluate.backend_for`
#: and :func:`complianceengine.read_events`)
Engine = Literal["auto", "reference", "duckdb"]
ENGINES: tuple[Engine, ...] = ("auto", "reference", "duckdb")


def available() -> bool:
    """Are DuckDB, pyarrow and SQLGlot installed (the ``duckdb`` extra)?"""
    return all(importlib.util.find_spec(name) is not None for name in ("duckdb", "pyarrow", "sqlglot"))


def connect(threads: int | None = None, memory_limit: str | None = None) -> tuple[duckdb.DuckDBPyConnection, tempfile.TemporaryDirectory[str]]:
    """A new in-memory DuckDB connection with these settings, spilling into a temporary folder
    of its own; :class:`UsageError` when the extra is missing or DuckDB refuses a setting."""
    if not available():
        raise UsageError("the duckdb engine needs the duckdb extra: pip install 'complianceengine[duckdb]'")
    import duckdb

    spill = tempfile.TemporaryDirectory(prefix="complianceengine-duckdb-")
    config: dict[str, Any] = {"temp_directory": spill.name}
    if threads is not None:
        config["threads"] = threads
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    try:
        return duckdb.connect(":memory:", config=config), spill
    except duckdb.Error as exc:
        spill.cleanup()
        settings = ", ".join(f"{k}={v}" for k, v in (("threads", threads), ("memory_limit", memory_limit)) if v is not None)
        raise UsageError(f"DuckDB refused the settings ({settings or 'none'}): {exc}") from None
