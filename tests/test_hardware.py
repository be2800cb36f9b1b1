"""Hardware detection with faked torch, nvidia-smi and platform answers (no GPU needed)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from generator import hardware
from generator.hardware import CudaDevice, Hardware, detect

GiB = 2**30


def fake_torch(
    gpus: Sequence[tuple[str, float, tuple[int, int]]] = (),
    mps: bool = False,
    broken: bool = False,
) -> Any:
    """A stand-in for the `torch` module: (name, GiB, compute capability) per CUDA GPU."""

    def is_available() -> bool:
        if broken:
            raise RuntimeError("CUDA driver initialization failed")
        return bool(gpus)

    return SimpleNamespace(
        cuda=SimpleNamespace(
            is_available=is_available,
            device_count=lambda: len(gpus),
            get_device_properties=lambda i: SimpleNamespace(
                name=gpus[i][0], total_memory=int(gpus[i][1] * GiB)
            ),
            get_device_capability=lambda i: gpus[i][2],
        ),
        backends=SimpleNamespace(mps=SimpleNamespace(is_available=lambda: mps)),
    )


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Configure the fake machine: torch (or None), nvidia-smi replies, platform."""
    calls: list[list[str]] = []

    def configure(
        torch: Any = None,
        smi: dict[str, str] | None = None,
        system: str = "Linux",
        arch: str = "x86_64",
    ) -> list[list[str]]:
        """`smi` maps the --query-gpu fields to nvidia-smi's output; None: not installed."""
        monkeypatch.setattr(hardware, "_import_torch", lambda: torch)
        monkeypatch.setattr(hardware.platform, "system", lambda: system)
        monkeypatch.setattr(hardware.platform, "machine", lambda: arch)

        def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
            calls.append(command)
            if smi is None:
                raise FileNotFoundError(command[0])
            fields = command[1].removeprefix("--query-gpu=")
            if fields not in smi:
                return subprocess.CompletedProcess(command, 6, "", "not a valid field")
            return subprocess.CompletedProcess(command, 0, smi[fields], "")

        monkeypatch.setattr(hardware.subprocess, "run", run)
        return calls

    return configure


def test_several_cuda_gpus_through_torch(machine: Any) -> None:
    machine(torch=fake_torch([("Tesla V100", 16, (7, 0)), ("NVIDIA A100", 80, (8, 0))]))
    found = detect()
    assert found.source == "torch"
    assert [d.name for d in found.cuda] == ["Tesla V100", "NVIDIA A100"]
    assert [d.bf16 for d in found.cuda] == [False, True]
    assert found.cuda[1].memory_gib == pytest.approx(80)
    assert found.device == "cuda"
    assert found.largest == found.cuda[1]
    assert found.bf16 is True
    assert "2 CUDA GPUs" in found.describe() and "NVIDIA A100 (80 GiB, bf16)" in found.describe()


def test_cuda_without_bf16(machine: Any) -> None:
    machine(torch=fake_torch([("Tesla T4", 15, (7, 5))]))
    found = detect()
    assert found.device == "cuda"
    assert found.bf16 is False
    assert "1 CUDA GPU:" in found.describe() and "no bf16" in found.describe()


def test_nvidia_smi_when_torch_is_absent(machine: Any) -> None:
    calls = machine(
        smi={
            "name,memory.total,compute_cap": "NVIDIA H100 80GB HBM3, 81559 MiB, 9.0\n"
            "Tesla T4, 15360 MiB, 7.5\n"
        }
    )
    found = detect()
    assert found.source == "nvidia-smi"
    assert calls[0][0] == "nvidia-smi" and calls[0][2] == "--format=csv,noheader"
    assert [(d.name, round(d.memory_gib), d.bf16) for d in found.cuda] == [
        ("NVIDIA H100 80GB HBM3", 80, True),
        ("Tesla T4", 15, False),
    ]
    assert found.largest is not None and found.largest.name.startswith("NVIDIA H100")


def test_old_nvidia_smi_without_compute_cap_leaves_bf16_unknown(machine: Any) -> None:
    calls = machine(smi={"name,memory.total": "Tesla K80, 11441 MiB\n"})
    found = detect()
    assert [c[1] for c in calls] == [
        "--query-gpu=name,memory.total,compute_cap",
        "--query-gpu=name,memory.total",
    ]
    assert found.cuda == (CudaDevice("Tesla K80", 11441 / 1024, None),)
    assert found.bf16 is None


def test_a_cpu_only_torch_does_not_hide_the_gpus(machine: Any) -> None:
    machine(torch=fake_torch(), smi={"name,memory.total,compute_cap": "NVIDIA L4, 23034 MiB, 8.9"})
    found = detect()
    assert found.source == "nvidia-smi"
    assert found.device == "cuda" and found.bf16 is True


def test_a_broken_torch_counts_as_no_cuda(machine: Any) -> None:
    machine(torch=fake_torch([("X", 8, (8, 0))], broken=True))
    assert detect().cuda == ()


def test_mps_through_torch(machine: Any) -> None:
    machine(torch=fake_torch(mps=True), system="Darwin", arch="arm64")
    found = detect()
    assert (found.device, found.mps, found.source) == ("mps", True, "torch")
    assert "Apple MPS" in found.describe()


def test_mps_assumed_on_apple_silicon_without_torch(machine: Any) -> None:
    machine(system="Darwin", arch="arm64")
    found = detect()
    assert (found.device, found.mps, found.source) == ("mps", True, "platform")


def test_torch_saying_no_mps_is_believed(machine: Any) -> None:
    machine(torch=fake_torch(mps=False), system="Darwin", arch="arm64")
    assert detect().device == "cpu"


def test_cpu_only(machine: Any) -> None:
    machine()
    found = detect()
    assert found.cuda == () and not found.mps
    assert (found.device, found.source) == ("cpu", "none")
    assert found.cpu_count >= 1
    assert found.bf16 is None and found.largest is None
    assert found.describe().startswith("no CUDA GPU or Apple MPS; ")


def test_an_intel_mac_without_torch_is_cpu_only(machine: Any) -> None:
    machine(system="Darwin", arch="x86_64")
    assert detect().device == "cpu"


def test_detect_on_this_machine_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real nvidia-smi and platform calls (torch left out: importing it costs seconds)."""
    monkeypatch.setattr(hardware, "_import_torch", lambda: None)
    found = detect()
    assert isinstance(found, Hardware)
    assert found.device in ("cuda", "mps", "cpu")
    assert found.cpu_count >= 1
