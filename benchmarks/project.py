"""Rendering the projects the benchmarks need, and importing a rendered project's modules."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: the template and the generator."""
PACKAGE = "my_torch_project"
"""The import name of a project rendered with the default project_name."""

TABULAR = {"task": "regression"}
"""Answers of the tabular project: one output, so the MLPs are 32-64-64-1 and 256-1024-1024-1."""
IMAGES = {"data_format": "images"}
"""Answers of the images project (classification of drawn shapes)."""
PARQUET = {"task": "regression", "data_format": "parquet"}
"""Answers of the Parquet project: the tabular one, reading Parquet (and streaming it)."""


def render_project(answers: dict[str, Any], dst: Path) -> Path:
    """Render this working tree (vcs_ref=HEAD, uncommitted changes included) into `dst`."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from generator.render import render

    return render(answers, dst, vcs_ref="HEAD")


def project_module(project: Path, name: str, package: str = PACKAGE) -> ModuleType:
    """Module `name` of the rendered project at `project` (its src/ goes first on sys.path).

    One process imports one project: two rendered projects share the package name.
    """
    src = str(project / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    module = importlib.import_module(f"{package}.{name}")
    where = Path(module.__file__ or "").resolve()
    if not where.is_relative_to(Path(src).resolve()):
        raise RuntimeError(f"{package} was imported from {where}, not from {src}")
    return module
