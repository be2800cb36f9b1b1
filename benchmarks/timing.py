"""Timing helpers that need torch: device synchronization and quiet, garbage-free runs."""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import io
import time
import warnings
from collections.abc import Iterator

import torch


def sync(device: torch.device) -> None:
    """Wait for the device's queued work: a GPU runs asynchronously to the host."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def now(device: torch.device) -> float:
    """perf_counter after the device's queued work is done."""
    sync(device)
    return time.perf_counter()


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Captured stdout and stderr (progress lines, bars), warnings off; the captured text."""
    captured = io.StringIO()
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(captured),
        contextlib.redirect_stderr(captured),
    ):
        warnings.simplefilter("ignore")
        yield captured


def settle() -> None:
    """Collect garbage before a timed run, so a collection of the last run's leftovers does not land in it."""
    gc.collect()


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def resolve_device(name: str) -> torch.device:
    """torch.device for --device; cuda without a GPU is an error, not a silent CPU run."""
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device here")
    return torch.device(name)
