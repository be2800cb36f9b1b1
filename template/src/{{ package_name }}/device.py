"""The device, its precision and the mixed-precision machinery, chosen once per run."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass

import torch


def detect_device() -> torch.device:
    """CUDA (the GPU with the most memory) > Apple MPS > CPU."""
    if torch.cuda.is_available():
        best = max(
            range(torch.cuda.device_count()),
            key=lambda i: torch.cuda.get_device_properties(i).total_memory,
        )
        return torch.device("cuda", best)
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def select_device(requested: str) -> torch.device:
    """The device for `train.device`; an unavailable one falls back to the best there is, with a warning."""
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
        "cpu": True,
    }
    if requested == "auto":
        return detect_device()
    if available[requested]:
        return detect_device() if requested == "cuda" else torch.device(requested)
    fallback = detect_device()
    print(
        f"warning: train.device={requested} but no {requested.upper()} device is available; "
        f"using {fallback.type}",
        file=sys.stderr,
    )
    return fallback


@dataclass(frozen=True)
class Runtime:
    """Where tensors live and in which precision the forward pass runs."""

    device: torch.device
    amp_dtype: torch.dtype | None
    """bf16 or fp16 under autocast; None runs everything in fp32."""

    @classmethod
    def create(cls, requested: str, amp: bool, deterministic: bool = False) -> Runtime:
        device = select_device(requested)
        amp_dtype = None
        if device.type == "cuda":
            # TF32 matmuls: ~2-3x faster fp32 on Ampere and later, at ~1e-3 relative precision.
            torch.set_float32_matmul_precision("high")
            torch.backends.cudnn.benchmark = not deterministic
            if amp:
                amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        # MPS and CPU train in fp32: fp16 on MPS has no gradient scaler, bf16 on CPU is slower.
        return cls(device=device, amp_dtype=amp_dtype)

    @property
    def pin_memory(self) -> bool:
        """Page-locked host batches make host-to-GPU copies asynchronous; useless elsewhere."""
        return self.device.type == "cuda"

    def autocast(self) -> contextlib.AbstractContextManager[None]:
        """Mixed precision for the forward pass and loss; a no-op without `amp_dtype`."""
        return torch.autocast(
            device_type=self.device.type,
            dtype=self.amp_dtype or torch.float32,
            enabled=self.amp_dtype is not None,
        )

    def grad_scaler(self) -> torch.amp.GradScaler:
        """Loss scaling against fp16 underflow; disabled (a pass-through) for bf16 and fp32."""
        return torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)

    def describe(self) -> str:
        """One line: device, its name and memory, precision."""
        precision = str(self.amp_dtype or torch.float32).removeprefix("torch.")
        if self.device.type == "cuda":
            props = torch.cuda.get_device_properties(self.device)
            name = f" ({props.name}, {props.total_memory / 2**30:.0f} GiB)"
        elif self.device.type == "cpu":
            name = f" ({torch.get_num_threads()} threads)"
        else:
            name = ""
        return f"device: {self.device}{name}, precision: {precision}"
