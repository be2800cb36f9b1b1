"""Checkpoints: one dict of state_dicts and plain values, written atomically, loaded safely.

A run folder's `checkpoints/` holds `last.pt` (the newest: at every epoch end and every
`train.checkpoint_every` optimizer steps), `best.pt` (the best validation metric so far),
`epoch-NNNN.pt` (the newest `train.keep_checkpoints` epoch ends, the fallback when `last.pt`
is damaged) and `model.safetensors` (the best weights alone, for sharing).
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save as safetensors_bytes
from torch import nn

from .errors import CheckpointError, CorruptCheckpointError

FORMAT_VERSION = 1


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write to a temporary file in the same folder, flush it to disk, then rename into place.

    A crash mid-write leaves the previous file intact; the rename is atomic on POSIX
    and Windows. The fsync costs a few milliseconds per checkpoint.
    """
    _write_atomically(
        path, lambda file: torch.save({"format_version": FORMAT_VERSION, **state}, file)
    )


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
        raise CorruptCheckpointError(
            f"{path}: unreadable or truncated checkpoint ({error})"
        ) from error
    if not isinstance(state, dict) or state.get("format_version") != FORMAT_VERSION:
        raise CorruptCheckpointError(
            f"{path}: not a checkpoint written by this project (format {FORMAT_VERSION})"
        )
    return state


def load_for_resume(path: Path) -> tuple[dict[str, Any], Path]:
    """The checkpoint at `path`, or, when it is truncated or corrupt, the newest intact one beside it.

    The fallbacks are the folder's other `.pt` files (kept epoch checkpoints, best.pt),
    newest first; a checkpoint refused as unsafe is never skipped over.
    """
    try:
        return load_checkpoint(path), path
    except CorruptCheckpointError as error:
        damaged = error
    others = [p for p in path.parent.glob("*.pt") if p.resolve() != path.resolve()]
    for candidate in sorted(others, key=lambda p: p.stat().st_mtime_ns, reverse=True):
        try:
            state = load_checkpoint(candidate)
        except CorruptCheckpointError:
            continue
        print(f"warning: {damaged}\nwarning: resuming from {candidate} instead", file=sys.stderr)
        return state, candidate
    raise CorruptCheckpointError(f"{damaged}; no intact checkpoint beside it to fall back to")


def checkpoint_path(out_dir: str | Path, name: str) -> Path:
    """`out_dir/checkpoints/<name>.pt`; name is `last`, `best` or `epoch-NNNN`."""
    return Path(out_dir) / "checkpoints" / f"{name}.pt"


def keep_epoch_checkpoint(out_dir: str | Path, epoch: int, keep: int) -> None:
    """Keep `last.pt` also as `epoch-NNNN.pt`, and delete all but the newest `keep` of those.

    A hard link costs no copy: `last.pt` is later replaced by a rename, so the linked file
    keeps this epoch's content. File systems without links get a copy.
    """
    if keep <= 0:
        return
    last = checkpoint_path(out_dir, "last")
    kept = checkpoint_path(out_dir, f"epoch-{epoch:04d}")
    tmp = kept.with_name(f".{kept.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(last, tmp)
    except OSError:
        _write_atomically(tmp, lambda file: file.write(last.read_bytes()))
    os.replace(tmp, kept)
    for old in sorted(kept.parent.glob("epoch-*.pt"))[:-keep]:
        old.unlink(missing_ok=True)


def export_safetensors(model: nn.Module, path: Path) -> None:
    """The model's weights alone as safetensors: no code can run on load, readable outside torch.

    safetensors refuses tensors that share memory (tied weights) and needs contiguous
    ones: each shared storage is written once, under its first name, and the other names
    are listed in the metadata under "aliases"; load with `load_safetensors`.
    """
    tensors: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple[int, int, tuple[int, ...], tuple[int, ...]], str] = {}
    for name, tensor in model.state_dict(keep_vars=False).items():
        key = (
            tensor.untyped_storage().data_ptr(),
            tensor.storage_offset(),
            tuple(tensor.shape),
            tuple(tensor.stride()),
        )
        if key in seen and tensor.numel() > 0:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        tensors[name] = tensor.detach().to("cpu").contiguous().clone()
    metadata = {"format": "pt", "aliases": json.dumps(aliases)}
    data = safetensors_bytes(tensors, metadata=metadata)
    _write_atomically(path, lambda file: file.write(data))


def load_safetensors(model: nn.Module, path: Path) -> None:
    """Load weights written by `export_safetensors` into `model` (strict: every name must match)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    with safe_open(str(path), framework="pt") as file:
        aliases = json.loads((file.metadata() or {}).get("aliases", "{}"))
    for alias, name in aliases.items():
        tensors[alias] = tensors[name]
    model.load_state_dict(tensors)


def _write_atomically(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
