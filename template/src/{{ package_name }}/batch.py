"""What a DataLoader hands the training loop."""

from __future__ import annotations

from typing import NamedTuple

import torch


class Batch(NamedTuple):
    """Model inputs (passed as `model(*inputs)`) and the target."""

    inputs: tuple[torch.Tensor, ...]
    target: torch.Tensor

    def to(self, device: torch.device, non_blocking: bool = False) -> Batch:
        return Batch(
            tuple(x.to(device, non_blocking=non_blocking) for x in self.inputs),
            self.target.to(device, non_blocking=non_blocking),
        )
