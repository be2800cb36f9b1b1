"""Rendering through Copier's public API only, never needing `--trust`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import copier

from generator.questions import TEMPLATE_ROOT


def render(
    answers: dict[str, Any],
    dst: Path | str,
    src: Path | str = TEMPLATE_ROOT,
    vcs_ref: str | None = "HEAD",
    overwrite: bool = False,
) -> Path:
    """Render the template at `src` (a git repository or URL) into `dst` with `answers`.

    Unanswered questions take their defaults. `vcs_ref="HEAD"` renders the working tree
    of a local checkout (uncommitted changes included); `None` renders the newest release
    tag. Invalid answers raise ValueError naming the question.
    """
    copier.run_copy(
        str(src),
        str(dst),
        data=answers,
        defaults=True,
        unsafe=False,
        vcs_ref=vcs_ref,
        overwrite=overwrite,
        quiet=True,
        settings=copier.Settings(),
    )
    return Path(dst)
