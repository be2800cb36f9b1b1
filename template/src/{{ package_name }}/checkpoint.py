"""Checkpoints: one dict of state_dicts and plain values, written atomically, loaded safely."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError

FORMAT_VERSION = 1


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write to a temporary file in the same folder, flush it to disk, then rename into place.

    A crash mid-write leaves the previous file intact; the rename is atomic on POSIX
    and Windows. The fsync costs a few milliseconds per checkpoint.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            torch.save({"format_version": FORMAT_VERSION, **state}, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load with `weights_only=True`: tensors and plain values only, never pickled code."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"{path}: refused, it holds pickled Python objects, not only tensors and plain values "
            f"({str(error).splitlines()[0]}). Load it with weights_only=False only if you trust its source."
        ) from error
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: unreadable or truncated checkpoint ({error})") from error
    if not isinstance(state, dict) or state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: not a checkpoint written by this project (format {FORMAT_VERSION})"
        )
    return state


def checkpoint_path(out_dir: str | Path, name: str) -> Path:
    """`out_dir/checkpoints/<name>.pt`; name is `last` or `best`."""
    return Path(out_dir) / "checkpoints" / f"{name}.pt"
