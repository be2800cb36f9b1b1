"""Timing helpers that need torch: device synchronization and quiet, garbage-free runs."""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import io
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import torch


def sync(device: torch.device) -> None:
    """Wait for the device's queued work: a GPU runs asynchronously to the host."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class Stamp:
    """A moment on two clocks: wall time, and the CPU time this process has used."""

    wall: float
    cpu: float

    def __sub__(self, other: Stamp) -> Stamp:
        return Stamp(self.wall - other.wall, self.cpu - other.cpu)

    def __add__(self, other: Stamp) -> Stamp:
        return Stamp(self.wall + other.wall, self.cpu + other.cpu)

    def __truediv__(self, n: float) -> Stamp:
        return Stamp(self.wall / n, self.cpu / n)


def now(device: torch.device) -> Stamp:
    """Both clocks, once the device's queued work is done.

    CPU time counts only what this process ran, not the time other processes held the
    core: on a shared machine it is the steadier measure of CPU work. A GPU's work shows
    only in wall time.
    """
    sync(device)
    return Stamp(time.perf_counter(), time.process_time())


class Terminal(io.StringIO):
    """A buffer that says it is a terminal: progress bars (tqdm's `disable=None`) stay on."""

    def isatty(self) -> bool:
        return True


@contextlib.contextmanager
def quiet(terminal: bool = False) -> Iterator[io.StringIO]:
    """Captured stdout and stderr (progress lines, bars), warnings off; the captured text.

    `terminal`: the buffer passes for a terminal, so that progress bars draw as they would
    for a user watching, and cost what they cost there.
    """
    captured = Terminal() if terminal else io.StringIO()
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
