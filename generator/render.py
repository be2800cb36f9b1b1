"""Rendering through Copier's public API only, never needing `--trust`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import copier

from generator.questions import TEMPLATE_ROOT

DEFAULT_PROJECT_NAME = "my-torch-project"
"""copier.yml's project_name for a destination folder whose name has no letter in it."""


def render(
    answers: dict[str, Any],
    dst: Path | str,
    src: Path | str = TEMPLATE_ROOT,
    vcs_ref: str | None = "HEAD",
    overwrite: bool = False,
) -> Path:
    """Render the template at `src` (a git repository or URL) into `dst` with `answers`.

    Unanswered questions take their defaults, but for project_name: Copier's default is
    the name of `dst`, and callers render into folders of any name (temporary ones, the
    wizard's staging folder) whose package they then import, so it is `my-torch-project`
    here unless `answers` say otherwise (the wizard passes the one `dst` would give).
    `vcs_ref="HEAD"` renders the working tree of a local checkout (uncommitted changes
    included); `None` renders the newest release tag. Invalid answers raise ValueError
    naming the question.
    """
    copier.run_copy(
        str(src),
        str(dst),
        data={"project_name": DEFAULT_PROJECT_NAME, **answers},
        defaults=True,
        unsafe=False,
        vcs_ref=vcs_ref,
        overwrite=overwrite,
        quiet=True,
        settings=copier.Settings(),
    )
    return Path(dst)
