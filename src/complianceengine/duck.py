"""DuckDB connections of our own: one per audit or read, with its settings and spill folder.

No process-wide DuckDB state is used (never ``duckdb.sql`` or the default connection): each caller
opens an in-memory connection here and closes it when done. DuckDB, pyarrow and SQLGlot are
dependencies of the package; :func:`available` says whether they are installed (an install
without them judges on the reference engine).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import tempfile
from typing import TYPE_CHECKING, Any, Literal

from .errors import UsageError

if TYPE_CHECKING:
    import duckdb

__all__ = ["AUTO_BYTES", "AUTO_ROWS", "ENGINES", "Engine", "available", "connect", "importable"]

#: which engine reads the events and answers the kinds' questions: ``reference`` (plain Python),
#: ``duckdb`` or ``auto`` (see :func:`complianceengine.evaluate.backend_for`
#: and :func:`complianceengine.read_events`)
Engine = Literal["auto", "reference", "duckdb"]
ENGINES: tuple[Engine, ...] = ("auto", "reference", "duckdb")
#: ``auto`` reads a JSON lines or CSV file of at least this many bytes with DuckDB (about 47,000
#: events of the bundled samples' size as JSON lines, 84,000 as CSV), and a table or Parquet file
#: of at least :data:`AUTO_ROWS` rows:
#: below that DuckDB's start costs more than it saves (docs/performance.md)
AUTO_BYTES = 8 << 20
AUTO_ROWS = 50_000


def available() -> bool:
    """Are DuckDB, pyarrow and SQLGlot installed (dependencies of the package)? Found, not
    imported: see :func:`importable`."""
    return all(importlib.util.find_spec(name) is not None for name in ("duckdb", "pyarrow", "sqlglot"))


@functools.cache
def importable() -> bool:
    """Do DuckDB, pyarrow and SQLGlot import (an install may have them and fail to load one, built
    for another platform)? Asked by ``auto`` only when it would use DuckDB, so that a small
    history never loads them."""
    try:
        for name in ("duckdb", "pyarrow", "sqlglot"):
            importlib.import_module(name)
    except ImportError:
        return False
    return True


def connect(threads: int | None = None, memory_limit: str | None = None) -> tuple[duckdb.DuckDBPyConnection, tempfile.TemporaryDirectory[str]]:
    """A new in-memory DuckDB connection with these settings, spilling into a temporary folder
    of its own; :class:`UsageError` when DuckDB, pyarrow or SQLGlot is missing or DuckDB refuses a
    setting."""
    if not available():
        raise UsageError("the duckdb engine needs duckdb, pyarrow and sqlglot: pip install 'complianceengine[duckdb]'")
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
