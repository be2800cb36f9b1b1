"""What this machine trains on: CUDA GPUs, Apple MPS, CPU cores. Needs no torch.

torch is imported lazily when it is installed; a CPU-only torch, or none, falls back to
`nvidia-smi` for NVIDIA GPUs, and MPS is assumed on macOS arm64 when torch is absent.
"""

from __future__ import annotations

import importlib
import os
import platform
import subprocess
from dataclasses import dataclass
from types import ModuleType
from typing import Any

NVIDIA_SMI = "nvidia-smi"
BF16_MIN_CAPABILITY = 8
"""CUDA compute capability from which bf16 runs natively (Ampere)."""


@dataclass(frozen=True)
class CudaDevice:
    name: str
    memory_gib: float
    bf16: bool | None
    """None when unknown (an old nvidia-smi that does not report the compute capability)."""

    def describe(self) -> str:
        bf16 = {True: ", bf16", False: ", no bf16", None: ""}[self.bf16]
        return f"{self.name} ({self.memory_gib:.0f} GiB{bf16})"


@dataclass(frozen=True)
class Hardware:
    cuda: tuple[CudaDevice, ...] = ()
    mps: bool = False
    cpu_count: int = 1
    source: str = "none"
    """Where the accelerator facts came from: 'torch', 'nvidia-smi', 'platform' or 'none'."""

    @property
    def device(self) -> str:
        """The device a project should train on: 'cuda' > 'mps' > 'cpu'."""
        return "cuda" if self.cuda else "mps" if self.mps else "cpu"

    @property
    def largest(self) -> CudaDevice | None:
        """The CUDA GPU with the most memory (the one a generated project picks)."""
        return max(self.cuda, key=lambda d: d.memory_gib, default=None)

    @property
    def bf16(self) -> bool | None:
        """Whether the largest CUDA GPU runs bf16; None without one or when unknown."""
        largest = self.largest
        return largest.bf16 if largest else None

    def describe(self) -> str:
        """One line, e.g. '2 CUDA GPUs: A100 (80 GiB, bf16), A100 (80 GiB, bf16); 32 CPU cores'."""
        parts = []
        if self.cuda:
            plural = "s" if len(self.cuda) > 1 else ""
            names = ", ".join(d.describe() for d in self.cuda)
            parts.append(f"{len(self.cuda)} CUDA GPU{plural}: {names}")
        if self.mps:
            parts.append("Apple MPS")
        if not parts:
            parts.append("no CUDA GPU or Apple MPS")
        plural = "s" if self.cpu_count != 1 else ""
        return f"{'; '.join(parts)}; {self.cpu_count} CPU core{plural}"


def detect() -> Hardware:
    """This machine's hardware. Never raises: whatever cannot be queried counts as absent."""
    torch = _import_torch()
    cuda: tuple[CudaDevice, ...] = ()
    source = "none"
    mps = False
    if torch is not None:
        cuda = _torch_cuda(torch)
        mps = _torch_mps(torch)
        source = "torch" if cuda or mps else source
    if not cuda:
        # A CPU-only torch in this environment says nothing about the GPUs a project's
        # own torch will see.
        cuda = _nvidia_smi_cuda()
        source = "nvidia-smi" if cuda else source
    if torch is None and _apple_silicon():
        mps = True
        source = source if cuda else "platform"
    return Hardware(cuda=cuda, mps=mps, cpu_count=_cpu_count(), source=source)


def _import_torch() -> ModuleType | None:
    try:
        return importlib.import_module("torch")
    except Exception:  # ImportError, or a broken install (missing CUDA libraries, ...)
        return None


def _torch_cuda(torch: Any) -> tuple[CudaDevice, ...]:
    try:
        if not torch.cuda.is_available():
            return ()
        devices = []
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            major, _ = torch.cuda.get_device_capability(index)
            devices.append(
                CudaDevice(
                    name=str(props.name),
                    memory_gib=props.total_memory / 2**30,
                    bf16=major >= BF16_MIN_CAPABILITY,
                )
            )
        return tuple(devices)
    except Exception:
        return ()


def _torch_mps(torch: Any) -> bool:
    try:
        return bool(torch.backends.mps.is_available())
    except Exception:
        return False


def _nvidia_smi(fields: str) -> list[list[str]] | None:
    """Rows of `nvidia-smi --query-gpu=FIELDS`, or None when it is missing or fails."""
    try:
        result = subprocess.run(
            [NVIDIA_SMI, f"--query-gpu={fields}", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return [
        [cell.strip() for cell in line.split(",")]
        for line in result.stdout.splitlines()
        if line.strip()
    ]


def _nvidia_smi_cuda() -> tuple[CudaDevice, ...]:
    # compute_cap needs a driver from 2022 on; older ones refuse the field, so ask again without.
    rows = _nvidia_smi("name,memory.total,compute_cap") or _nvidia_smi("name,memory.total")
    devices = []
    for row in rows or []:
        try:
            name, memory = row[0], _mib(row[1])
        except (IndexError, ValueError):
            continue
        devices.append(CudaDevice(name=name, memory_gib=memory / 1024, bf16=_bf16(row[2:])))
    return tuple(devices)


def _bf16(capability: list[str]) -> bool | None:
    """From nvidia-smi's compute_cap cell ('8.0'); None when absent or '[N/A]'."""
    try:
        return float(capability[0]) >= BF16_MIN_CAPABILITY
    except (IndexError, ValueError):
        return None


def _mib(text: str) -> float:
    """'81559 MiB' -> 81559.0."""
    return float(text.split()[0])


def _apple_silicon() -> bool:
    return platform.system() == "Darwin" and platform.machine() == "arm64"


def _cpu_count() -> int:
    """CPUs this process may use (its affinity where the OS tells), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
