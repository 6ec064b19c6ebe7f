"""Sphinx settings of the API reference: the public API's docstrings, nothing else.

Built by ``make test`` (warnings are errors) into ``out/api``::

    .venv/bin/sphinx-build -W --keep-going -q -b html docs/api out/api
"""

from __future__ import annotations

import complianceengine.about

project = "complianceengine"
author = "complianceengine contributors"
copyright = "complianceengine contributors, Apache-2.0"
release = version = complianceengine.about.version()

extensions = ["sphinx.ext.autodoc"]
exclude_patterns = ["_build"]
root_doc = "index"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_class_signature = "separated"
autodoc_default_options = {"members": True, "show-inheritance": False}
# pydantic's own members (model_dump, model_validate, ...) are documented by pydantic
autodoc_inherit_docstrings = False
python_use_unqualified_type_names = True
add_module_names = False

html_theme = "alabaster"
html_title = f"complianceengine {release}: API reference"
html_show_sourcelink = False
html_static_path: list[str] = []
