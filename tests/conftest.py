from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator import render


@pytest.fixture
def render_project(tmp_path: Path) -> Callable[..., Path]:
    """Render the working tree (vcs_ref=HEAD, no trust) with the given answers; the project folder."""
    counter = iter(range(1000))

    def _render(**answers: Any) -> Path:
        return render(answers, tmp_path / f"project{next(counter)}")

    return _render
