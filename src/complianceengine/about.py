"""What complianceengine says about itself (``--version``, the SARIF tool driver): its name,
version and project links, read from the installed distribution's metadata, so that
``pyproject.toml`` is the one place they are written."""

from __future__ import annotations

import importlib.metadata

__all__ = ["NAME", "project_url", "version"]

NAME = "complianceengine"


def version() -> str:
    """The installed version, or ``"unknown"`` when run from a source tree that is not installed."""
    try:
        return importlib.metadata.version(NAME)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


def project_url(label: str) -> str | None:
    """The ``[project.urls]`` entry named ``label`` (``Homepage``, ``Documentation``, ``Issues``,
    ``Source``), or None when it is not declared or the package is not installed."""
    try:
        entries: list[str] = importlib.metadata.metadata(NAME).get_all("Project-URL") or []
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return None
    for entry in entries:  # "Label, URL"
        name, _, url = entry.partition(",")
        if name.strip().lower() == label.lower():
            return url.strip()
    return None
