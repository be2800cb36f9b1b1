"""Evaluation and prediction with a trained model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from .batch import Batch
from .checkpoint import load_checkpoint
from .config import Config, from_dict
from .device import Runtime
from .errors import CheckpointError
from .inputs import InputEncoder
from .model import build_model
from .task import MetricTracker, Target


@dataclass(frozen=True)
class TrainedModel:
    """A model restored from a checkpoint with the config and encodings it was trained with."""

    model: nn.Module
    config: Config
    encoder: InputEncoder
    target: Target


def load_trained(path: Path, runtime: Runtime) -> TrainedModel:
    """Rebuild the model from the checkpoint's config and load its weights onto `runtime.device`."""
    state = load_checkpoint(path)
    try:
        config = from_dict(Config, state["config"])
        encoder = InputEncoder.from_state(state["encoder"])
        target = Target.from_state(state["target"])
        model = build_model(config.model, encoder, target.out_features)
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, RuntimeError) as error:
        raise CheckpointError(f"{path}: incomplete or mismatched checkpoint ({error})") from error
    return TrainedModel(model.to(runtime.device).eval(), config, encoder, target)


@torch.inference_mode()
def evaluate(
    model: nn.Module, loader: DataLoader[Batch], runtime: Runtime, target: Target
) -> dict[str, float]:
    """Validation metrics over `loader`; one host-device sync at the end, not one per batch."""
    model.eval()
    tracker = MetricTracker(target, runtime.device)
    for batch in loader:
        batch = batch.to(runtime.device, non_blocking=runtime.pin_memory)
        with runtime.autocast():
            outputs = model(*batch.inputs)
            loss = target.loss(outputs, batch.target)
        tracker.update(loss, outputs, batch.target)
    return tracker.compute()


@torch.inference_mode()
def predict_outputs(model: nn.Module, loader: DataLoader[Batch], runtime: Runtime) -> torch.Tensor:
    """Raw model outputs for every batch of `loader`, in order, on the CPU."""
    model.eval()
    outputs = []
    for batch in loader:
        inputs = batch.to(runtime.device, non_blocking=runtime.pin_memory).inputs
        with runtime.autocast():
            outputs.append(model(*inputs).float().cpu())
    return torch.cat(outputs)
