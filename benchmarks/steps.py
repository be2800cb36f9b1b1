"""(a) Time per training step: the generated `train()` against a raw loop, Lightning and Accelerate.

Every contender trains the rendered project's own model (TabularMLP, dropout 0) from the
same state_dict, on the same encoded rows in the same shuffled order (epoch e: a
`randperm` seeded with SEED + e, as the generated loader draws it), with the same AdamW
parameter groups, warmup-cosine schedule and gradient clipping. Per-epoch training losses
must agree before any timing counts.

The baseline (`run_raw`) is a training loop as a PyTorch user writes it: a stock
DataLoader (a BatchSampler over a RandomSampler, a Dataset of the encoded tensors that
gathers a batch in one index op per tensor), forward, `(loss / accum).backward()`, clip,
step, zero_grad, scheduler step.

The contenders of a round run in one process, each in a thread of its own, and take
turns (lockstep.py): on a CPU one step at a time, so that step i of every contender runs
within a few milliseconds of the others'; on a GPU one epoch at a time. A contender's
time per step is its epoch's time (the sum of its steps' spans: reading the batch, the
step, and whatever its loop does between steps; no evaluation, no checkpoint) divided by
its steps, on two clocks: the CPU time this process used, the measure on a CPU, and wall
time, the measure on a GPU (synchronized). The first epoch of every run is the warm-up
and is dropped. The generated `train()` runs unchanged, with its default progress lines
every `log_every` steps; its training loader is wrapped (TimedEpochs) to time its steps.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import math
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler

from benchmarks.lockstep import Turn, run_in_lockstep
from benchmarks.project import project_module
from benchmarks.stats import (
    check_agreement,
    interleaved,
    max_relative_difference,
    median,
    summarize,
)
from benchmarks.timing import Stamp, installed, now, quiet, resolve_device, settle

SEED = 0
FIRST_EPOCH_TOLERANCE = 1e-5
"""Relative loss agreement in the first epoch: same weights, same batches, only rounding differs."""
LATER_EPOCHS_TOLERANCE = 5e-3
"""Relative loss agreement after the first epoch. Rounding differences grow as training goes
on; a data order shifted by one permutation moves the losses by 1e-2 to 3e-2. Lightning's
clipping sums the gradient norm in another order, a rounding difference that grows to 2e-2
by the medium MLP's third epoch: its runs are held to a raw loop that clips in its order
(`check_losses`)."""
VAL_ROWS = 512
"""Validation rows: the generated trainer evaluates every epoch, outside the timed loop."""


@dataclass(frozen=True)
class Size:
    name: str
    features: int
    hidden: tuple[int, ...]
    batch: int
    steps: int
    """Optimizer steps per epoch (rows = batch * steps)."""
    epochs: int
    """Epochs per run; the first is the warm-up."""
    repeats: int
    """Rounds; in each, every contender runs once beside a raw loop of its own."""
    steps_per_turn: int = 1
    """On a CPU, steps a contender takes before the raw loop beside it takes as many. The
    shorter the turn, the closer in time the two samples of a pair (this machine's speed
    drifts within tens of milliseconds); but a turn must not evict the other's caches."""

    @property
    def rows(self) -> int:
        return self.batch * self.steps

    def describe(self) -> str:
        widths = "-".join(str(w) for w in (self.features, *self.hidden, 1))
        return f"{widths} MLP, batch {self.batch}, {self.steps} steps per epoch"


SIZES = {
    "tiny": Size("tiny", 32, (64, 64), 256, steps=160, epochs=5, repeats=10),
    # A medium step's weights, gradients and AdamW state (about 30 MB) fill the caches: taking
    # turns step by step, each step would start on the other contender's leftovers.
    "medium": Size(
        "medium", 256, (1024, 1024), 256, steps=30, epochs=4, repeats=8, steps_per_turn=30
    ),
}


def quick(size: Size) -> Size:
    return dataclasses.replace(size, steps=8, epochs=2, repeats=1)


@dataclass
class Run:
    steps: list[Stamp]
    """Wall and CPU seconds per step of each epoch, the warm-up epoch first."""
    losses: list[float]
    """Mean training loss of each epoch."""
    own_wall: list[float] = dataclasses.field(default_factory=list)
    """Generated only: wall seconds per step by train()'s own samples_per_s (history.jsonl)."""


class TurnClock:
    """A contender's time per step over an epoch, its turns taken a few steps at a time on a CPU.

    On a CPU the contender hands over every `steps_per_turn` steps (`stepped`) and its
    clock stops while the other takes its turn: an epoch's time is the sum of its turns'
    spans, each a few milliseconds from the same steps of the other contender, so the
    machine's drift falls alike on both. Log lines, checkpoint checks and any other work
    between steps fall inside the spans. On a GPU, where reading a clock means a
    synchronize, the turn and the span are the whole epoch (no per-step sync).
    """

    def __init__(self, device: torch.device, turn: Turn, steps_per_turn: int) -> None:
        self.device, self.turn, self.steps_per_turn = device, turn, steps_per_turn
        self.every_step = device.type == "cpu"
        self.elapsed = Stamp(0.0, 0.0)
        self.started = Stamp(0.0, 0.0)
        self.steps = 0

    def begin(self) -> None:
        """At the top of an epoch, before its first batch is read."""
        self.elapsed, self.started, self.steps = Stamp(0.0, 0.0), now(self.device), 0

    def stepped(self) -> None:
        """After each step: on a CPU, every `steps_per_turn` steps, the turn passes (untimed)."""
        self.steps += 1
        if self.every_step and self.steps % self.steps_per_turn == 0:
            self.elapsed += now(self.device) - self.started
            self.turn()
            self.started = now(self.device)

    def end(self, steps: int) -> Stamp:
        """After the epoch's last step: its time per step (on a GPU, then the turn passes)."""
        self.elapsed += now(self.device) - self.started
        if not self.every_step:
            self.turn()
        return self.elapsed / steps


class TimedEpochs:
    """The training loader `train()` makes, timed from each `iter()` to the end of its batches.

    That span is the epoch's training loop: `train()` takes the iterator at the loop's top,
    asks for the next batch once a step is done, and the loader runs out once the last
    step is done. Everything else is delegated.
    """

    def __init__(self, loader: Any, steps: int, spans: list[Stamp], clock: TurnClock) -> None:
        self.loader, self.steps, self.spans, self.clock = loader, steps, spans, clock

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)

    def __iter__(self) -> Iterator[Any]:
        self.clock.begin()
        for batch in self.loader:
            yield batch
            self.clock.stepped()  # train() asks for the next batch: its step is done
        self.spans.append(self.clock.end(self.steps))


class Setup:
    """The rendered project's modules, the data, the config and the shared initial weights."""

    def __init__(self, project: Path, size: Size, device: torch.device, workdir: Path) -> None:
        self.size = size
        self.device = device
        self.workdir = workdir
        self.train_module: Any = project_module(project, "train")
        config_module = project_module(project, "config")
        data_module = project_module(project, "data")
        self.seed_module = project_module(project, "seed")
        self.model_module = project_module(project, "model")
        self.make_loader = data_module.make_loader
        self.epoch_batch_sampler = data_module.EpochBatchSampler
        self.set_epoch = data_module.set_epoch
        self.collate = project_module(project, "inputs").collate
        train_path, val_path = write_data(size, workdir)
        fields = {f.name for f in dataclasses.fields(config_module.TrainConfig)}
        self.overrides = [
            f"data.path={train_path}",
            f"data.val_path={val_path}",
            f"train.epochs={size.epochs}",
            f"train.batch_size={size.batch}",
            f"train.device={device.type}",
            "train.amp=false",  # fp32 everywhere: every contender does the same arithmetic
            f"model.hidden_sizes=[{', '.join(str(w) for w in size.hidden)}]",
            "model.dropout=0.0",  # no random masks, so the losses can be compared exactly
            f"seed={SEED}",
        ]
        if "patience" in fields:
            self.overrides.append("train.patience=1000")  # never stop early
        self.load_config = config_module.load_config
        self.config = self.load_config(None, self.overrides)
        if device.type == "cuda":  # what the generated Runtime sets, for every contender alike
            torch.set_float32_matmul_precision("high")
        self.seed_module.seed_everything(SEED)
        self.data = data_module.load_training_data(self.config)
        model = self.build_model()
        self.init_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.clip = self.config.train.grad_clip or math.inf

    def build_model(self) -> nn.Module:
        return self.model_module.build_model(
            self.config.model, self.data.encoder, self.data.target.out_features
        )

    def model(self) -> nn.Module:
        """A fresh model with the shared initial weights, on the device."""
        model = self.build_model()
        model.load_state_dict(self.init_state)
        return model.to(self.device)

    def optimization(self, model: nn.Module) -> tuple[torch.optim.Optimizer, Any]:
        """The generated project's AdamW groups and warmup-cosine schedule (set-up, not per-step work)."""
        cfg = self.config.train
        total = self.size.steps * self.size.epochs
        optimizer = self.train_module.make_optimizer(model, cfg, self.device)
        scheduler = self.train_module.warmup_cosine(
            optimizer, int(cfg.warmup_fraction * total), total
        )
        return optimizer, scheduler

    def loader(self) -> DataLoader:
        """The generated project's training loader (shuffled from SEED; epoch by `set_epoch`)."""
        return self.make_loader(self.data.train, self.size.batch, self.device, 0, SEED)

    def batch_sampler_loader(self) -> DataLoader:
        """The generated batches as a plain DataLoader, for Accelerate's prepare().

        The batch_sampler is the generated `EpochBatchSampler` (its `set_epoch` picks the
        epoch's order), the collate_fn the generated pass-through `collate`, over the
        generated `InputDataset`, whose `__getitems__` gathers a batch in one index op
        per tensor: the generated loader's batches, without its worker options.
        """
        train = self.data.train
        sampler = self.epoch_batch_sampler(len(train), self.size.batch, SEED)
        return DataLoader(train, batch_sampler=sampler, collate_fn=self.collate)


Rows = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
"""(numeric, categorical, target) of some rows."""


class EncodedRows(Dataset[Rows]):
    """The raw loop's Dataset: the encoded tensors, a batch of rows gathered at once.

    With a batch_sampler, the DataLoader hands `__getitems__` a batch's list of rows (its
    batched fetching, as PyTorch documents it): one index op per tensor, instead of a
    `__getitem__` per row and the default collate stacking them.
    """

    def __init__(self, numeric: torch.Tensor, categorical: torch.Tensor, target: torch.Tensor):
        self.numeric, self.categorical, self.target = numeric, categorical, target

    def __len__(self) -> int:
        return len(self.target)

    def __getitem__(self, row: int) -> Rows:
        return self.numeric[row], self.categorical[row], self.target[row]

    def __getitems__(self, rows: list[int]) -> Rows:
        index = torch.tensor(rows)
        return self.numeric[index], self.categorical[index], self.target[index]


def as_is(batch: Any) -> Any:
    """The raw loop's collate_fn: `EncodedRows.__getitems__` returns the batch (Rows) whole."""
    return batch


def write_data(size: Size, folder: Path) -> tuple[Path, Path]:
    """Parquet files of `size.features` numeric columns and a learnable target."""
    rng = np.random.default_rng(SEED)
    rows = size.rows + VAL_ROWS
    x = rng.standard_normal((rows, size.features), dtype=np.float32)
    weights = rng.standard_normal(size.features) / math.sqrt(size.features)
    y = x @ weights + np.sin(x[:, 0]) + 0.1 * rng.standard_normal(rows)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(size.features)])
    frame["target"] = y
    folder.mkdir(parents=True, exist_ok=True)
    train, val = folder / "train.parquet", folder / "val.parquet"
    frame.iloc[: size.rows].to_parquet(train, index=False)
    frame.iloc[size.rows :].to_parquet(val, index=False)
    return train, val


def mse(outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The regression loss, written out as a raw loop would."""
    return F.mse_loss(outputs.squeeze(-1), target)


def run_generated(s: Setup, turn: Turn) -> Run:
    """The generated `train()`, unchanged: its model starts from the shared weights, and its
    training loader is wrapped in TimedEpochs."""
    out_dir = Path(tempfile.mkdtemp(prefix="generated-", dir=s.workdir))
    config = s.load_config(None, [*s.overrides, f"out_dir={out_dir}"])
    build_model, make_loader = s.train_module.build_model, s.train_module.make_loader
    spans: list[Stamp] = []
    clock = TurnClock(s.device, turn, s.size.steps_per_turn)

    def build_model_from_shared_weights(*args: Any, **kwargs: Any) -> nn.Module:
        model = build_model(*args, **kwargs)
        model.load_state_dict(s.init_state)
        return model

    def make_timed_loader(*args: Any, **kwargs: Any) -> Any:
        loader = make_loader(*args, **kwargs)
        # The training loader is the shuffled one: it gets the seed.
        given = inspect.signature(make_loader).bind(*args, **kwargs).arguments
        shuffled = given.get("seed") is not None
        return TimedEpochs(loader, s.size.steps, spans, clock) if shuffled else loader

    s.train_module.build_model = build_model_from_shared_weights
    s.train_module.make_loader = make_timed_loader
    try:
        s.train_module.train(config)  # its progress lines print (into run()'s buffer)
    finally:
        s.train_module.build_model, s.train_module.make_loader = build_model, make_loader
    history = [json.loads(line) for line in (out_dir / "history.jsonl").read_text().splitlines()]
    shutil.rmtree(out_dir)
    rows = len(s.data.train)
    return Run(
        spans,
        losses=[record["train_loss"] for record in history],
        # On a CPU train()'s own clock also runs while the other contenders take their turns.
        own_wall=[]
        if clock.every_step
        else [rows / record["samples_per_s"] / s.size.steps for record in history],
    )


def run_raw(s: Setup, turn: Turn) -> Run:
    """The baseline: a training loop as a PyTorch user writes it.

    A stock DataLoader: a BatchSampler over a RandomSampler whose generator is seeded with
    SEED + epoch at each epoch's start (so it draws the generated loader's order), over
    `EncodedRows` (a batch in one index op per tensor) with a pass-through collate_fn;
    pinned batches copied without blocking on a GPU. Then forward, `mse_loss`,
    `(loss / accum).backward()` (accum: train.grad_accum_steps, 1 here), and every
    accum batches `clip_grad_norm_`, `step`, `zero_grad`, scheduler step.
    """
    model = s.model()
    optimizer, scheduler = s.optimization(model)
    device, accum = s.device, s.config.train.grad_accum_steps
    data = s.data.train
    dataset = EncodedRows(data.numeric, data.categorical, data.target)
    order = torch.Generator()
    batches = BatchSampler(RandomSampler(dataset, generator=order), s.size.batch, drop_last=False)
    loader = DataLoader(
        dataset, batch_sampler=batches, collate_fn=as_is, pin_memory=device.type == "cuda"
    )
    run = Run([], [])
    clock = TurnClock(device, turn, s.size.steps_per_turn)
    for epoch in range(s.size.epochs):
        order.manual_seed(SEED + epoch)
        model.train()
        clock.begin()
        loss_sum = torch.zeros((), device=device)
        for i, (numeric, categorical, target) in enumerate(loader):
            numeric = numeric.to(device, non_blocking=True)
            categorical = categorical.to(device, non_blocking=True)
            target = target.to(device, non_blocking=True)
            loss = mse(model(numeric, categorical), target)
            (loss / accum).backward()
            if (i + 1) % accum == 0:
                nn.utils.clip_grad_norm_(model.parameters(), s.clip)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                scheduler.step()
            loss_sum += loss.detach()
            clock.stepped()
        run.steps.append(clock.end(s.size.steps))
        run.losses.append(loss_sum.item() / s.size.steps)
    return run


def raw_losses_clipping_as_lightning(s: Setup) -> list[float]:
    """The raw loop's per-epoch losses (untimed) with one change: it clips as Lightning does.

    Lightning clips the optimizer's parameters group by group (make_optimizer's groups:
    the matrices, then the biases), the other contenders `model.parameters()` in module
    order: the same gradient norm, summed in another order. Same batches (the generated
    loader's), same arithmetic otherwise.
    """
    model = s.model()
    optimizer, scheduler = s.optimization(model)
    clipped = [p for group in optimizer.param_groups for p in group["params"]]
    loader, losses = s.loader(), []
    for epoch in range(s.size.epochs):
        s.set_epoch(loader, epoch)
        model.train()
        loss_sum = torch.zeros((), device=s.device)
        for batch in loader:
            batch = batch.to(s.device)
            loss = mse(model(*batch.inputs), batch.target)
            loss.backward()
            nn.utils.clip_grad_norm_(clipped, s.clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            loss_sum += loss.detach()
        losses.append(loss_sum.item() / s.size.steps)
    return losses


def check_losses(s: Setup, losses: dict[str, list[float]]) -> str:
    """Every run's per-epoch losses against the raw loop's ("raw"); a sentence, or AssertionError.

    All runs' first epochs must agree with raw's within FIRST_EPOCH_TOLERANCE. Later epochs
    within LATER_EPOCHS_TOLERANCE: of raw's, and for Lightning's runs, of a raw loop that
    clips in Lightning's order (`raw_losses_clipping_as_lightning`), since the rounding
    difference of that order alone grows as large as a shifted data order would.
    """
    lightning = {name: v for name, v in losses.items() if name.startswith("lightning")}
    others = {name: v for name, v in losses.items() if name not in lightning}
    tolerances = {"first": FIRST_EPOCH_TOLERANCE, "later": LATER_EPOCHS_TOLERANCE}
    sentence = check_agreement(others, "raw", **tolerances)
    if not lightning:
        return sentence
    check_agreement({name: v[:1] for name, v in losses.items()}, "raw", **tolerances)
    first = max(max_relative_difference(v[:1], losses["raw"][:1]) for v in lightning.values())
    reference = "raw, clipping as Lightning does"
    with quiet():
        clipping_as_lightning = raw_losses_clipping_as_lightning(s)
    held = check_agreement({reference: clipping_as_lightning, **lightning}, reference, **tolerances)
    return (
        f"{sentence}. Lightning's {len(lightning)} runs: first epoch within {first:.1e} of "
        f"raw's; against a raw loop that clips the same gradient norm in Lightning's order "
        f"(the optimizer's parameter groups, untimed), {held.split(': ', 1)[1]}"
    )


def run_lightning(s: Setup, defaults: bool, turn: Turn) -> Run:
    """Lightning's Trainer: lean (no progress bar, logger, checkpoints), or its defaults with self.log."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation notices of its own dependencies
        import lightning as L

    for name in ("lightning.pytorch", "lightning.fabric"):  # its info lines log to stderr directly
        logging.getLogger(name).setLevel(logging.ERROR)
    run = Run([], [])
    steps, device = s.size.steps, s.device

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.model = s.model()
            self.loss_sum = torch.zeros(())

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            loss = mse(self.model(*batch.inputs), batch.target)
            self.loss_sum += loss.detach()
            if defaults:
                self.log("train_loss", loss)
            return loss

        def configure_optimizers(self) -> Any:
            optimizer, scheduler = s.optimization(self.model)
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
            }

    clock = TurnClock(device, turn, s.size.steps_per_turn)

    class EpochTimer(L.Callback):
        """From the epoch's start to its end hook (before checkpointing), a turn per batch."""

        def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
            # The Trainer calls set_epoch on a loader's sampler and its batch_sampler's
            # sampler, not on a batch_sampler: the epoch's order is set here, untimed.
            s.set_epoch(trainer.train_dataloader, trainer.current_epoch)
            module.loss_sum = torch.zeros((), device=module.device)
            clock.begin()

        def on_train_batch_end(self, *args: Any) -> None:
            clock.stepped()

        def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
            run.steps.append(clock.end(steps))
            run.losses.append(module.loss_sum.item() / steps)

    root = Path(tempfile.mkdtemp(prefix="lightning-", dir=s.workdir))
    options: dict[str, Any] = {
        "max_epochs": s.size.epochs,
        "accelerator": "gpu" if device.type == "cuda" else "cpu",
        "devices": 1,
        "precision": "32-true",
        "gradient_clip_val": s.clip,
        "limit_val_batches": 0,
        "num_sanity_val_steps": 0,
        "use_distributed_sampler": False,
        "default_root_dir": str(root),
        "callbacks": [EpochTimer()],
    }
    if not defaults:
        options |= {
            "enable_progress_bar": False,
            "logger": False,
            "enable_checkpointing": False,
            "enable_model_summary": False,
        }
    L.Trainer(**options).fit(Module(), train_dataloaders=s.loader())
    shutil.rmtree(root)
    return run


def run_accelerate(s: Setup, turn: Turn) -> Run:
    """Accelerate's prepare() on model, optimizer, loader and scheduler; its backward and clipping."""
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=s.device.type == "cpu")
    model = s.model()
    optimizer, scheduler = s.optimization(model)
    model, optimizer, loader, scheduler = accelerator.prepare(
        model, optimizer, s.batch_sampler_loader(), scheduler
    )
    device = accelerator.device
    run = Run([], [])
    clock = TurnClock(device, turn, s.size.steps_per_turn)
    for epoch in range(s.size.epochs):
        loader.set_epoch(epoch)  # the prepared loader passes it on to the EpochBatchSampler
        model.train()
        clock.begin()
        loss_sum = torch.zeros((), device=device)
        for batch in loader:
            loss = mse(model(*batch.inputs), batch.target)
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(model.parameters(), s.clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            loss_sum += loss.detach()
            clock.stepped()
        run.steps.append(clock.end(s.size.steps))
        run.losses.append(loss_sum.item() / s.size.steps)
    accelerator.free_memory()
    return run


CONTENDERS: list[tuple[str, str, str | None]] = [
    ("raw", "raw PyTorch loop, stock DataLoader (baseline)", None),
    ("generated", "generated train(): progress bar, lines every 50 steps", None),
    ("lightning", "Lightning, lean: no progress bar, logger, checkpoints", "lightning"),
    ("lightning-defaults", "Lightning, defaults + self.log", "lightning"),
    ("accelerate", "Accelerate", "accelerate"),
]
"""(name, label, the package it needs)."""


def run(project: Path, device_name: str, size_name: str, is_quick: bool, workdir: Path) -> dict:
    size = quick(SIZES[size_name]) if is_quick else SIZES[size_name]
    device = resolve_device(device_name)
    setup = Setup(project, size, device, workdir)
    runners: dict[str, Callable[[Turn], Run]] = {
        "raw": lambda turn: run_raw(setup, turn),
        "generated": lambda turn: run_generated(setup, turn),
        "lightning": lambda turn: run_lightning(setup, False, turn),
        "lightning-defaults": lambda turn: run_lightning(setup, True, turn),
        "accelerate": lambda turn: run_accelerate(setup, turn),
    }
    notes, skipped = [], {}
    for name, _, package in CONTENDERS:
        if package is not None and not installed(package):
            skipped[name] = f"skipped: {package} is not installed (pip install {package})"
    for package in sorted({n.split("-")[0] for n in skipped}):
        note = f"{package} is not installed: its rows are skipped (pip install {package})"
        print(f"note: {note}", flush=True)
        notes.append(note)
    names = [name for name, _, _ in CONTENDERS if name not in skipped]
    threads = torch.get_num_threads()
    print(f"{size.name}: {size.describe()}; {device}, {threads} threads", flush=True)
    # On a CPU the CPU time this process used is the measure (other processes' share of the
    # core does not count); wall time is shown beside it. On a GPU, wall time (synchronized).
    clock = "cpu" if device.type == "cpu" else "wall"
    times: dict[str, list[Stamp]] = {name: [] for name in names}
    # Per contender: its epochs' times and those of the raw loop it took turns with.
    paired: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in names}
    losses: dict[str, list[float]] = {}
    own_wall: list[float] = []
    for repeat in range(size.repeats):
        # One pair at a time: each contender takes turns with a raw loop of its own, first
        # or second in alternate rounds (a third contender would only evict their caches).
        for name in interleaved(names[1:], repeat):
            pair = ["raw", name] if repeat % 2 == 0 else [name, "raw"]
            settle()
            # Progress bars, lines and warnings of both into one buffer that passes for a
            # terminal: the generated bar and Lightning's draw, as for a user watching.
            with quiet(terminal=True):
                results = run_in_lockstep({n: runners[n] for n in pair})
            if torch.get_num_threads() != threads:
                raise RuntimeError(
                    f"{name} changed torch's thread count to {torch.get_num_threads()}"
                )
            for who in pair:
                timed = results[who].steps[1:]  # the first epoch is the warm-up
                times[who] += timed
                losses[f"{who} (round {repeat + 1}, beside {name})"] = results[who].losses
            # Epoch e of the two ran turn by turn: it pairs with the raw loop's epoch e.
            for who, into in zip((name, "raw"), paired[name], strict=True):
                into += [getattr(t, clock) * 1e3 for t in results[who].steps[1:]]
            own_wall += results[name].own_wall[1:]
            contender_ms = median(paired[name][0][-len(results[name].steps) + 1 :]) or 0.0
            raw_ms = median(paired[name][1][-len(results["raw"].steps) + 1 :]) or 0.0
            print(
                f"  round {repeat + 1}/{size.repeats} {name:<19} {contender_ms:8.3f} ms/step "
                f"beside raw {raw_ms:8.3f} ({clock})",
                flush=True,
            )
    reference = next(key for key in losses if key.startswith("raw "))
    losses = {"raw": losses.pop(reference), **losses}
    agreement = check_losses(setup, losses)
    print(f"  {agreement}", flush=True)
    rows = []
    for name, label, _ in CONTENDERS:
        spans = times.get(name, [])
        own, raw = paired.get(name, ([], []))
        row = summarize(
            name, label, [getattr(t, clock) * 1e3 for t in spans], skipped.get(name, ""), own
        )
        if name != "raw":
            row["baseline_rounds"] = raw  # the raw loop's epochs that took turns with these
        row["secondary"] = median([t.wall * 1e3 for t in spans])
        rows.append(row)
    generated_wall = median([t.wall for t in times.get("generated", [])])
    own_median = median(own_wall)
    if own_median is not None and generated_wall is not None:
        notes.append(
            f"train()'s own samples_per_s (history.jsonl) gives {own_median * 1e3:.3f} "
            f"wall ms/step for the generated trainer; the loader wrapper measured "
            f"{generated_wall * 1e3:.3f} (its span ends before the loss is read)"
        )
    return {
        "section": f"steps-{size.name}",
        "title": f"Per training step, {device.type.upper()}, {size.describe()}",
        "device": device.type,
        "unit": "ms/step (CPU)" if clock == "cpu" else "ms/step (wall)",
        "secondary_header": "median ms/step (wall)" if clock == "cpu" else "",
        "higher_is_better": False,
        "baseline": "raw",
        "rows": rows,
        "agreement": agreement,
        "notes": notes,
        "setup": (
            f"{size.rows:,} training rows, {size.epochs} epochs per run (the first dropped "
            f"as warm-up), {size.repeats} rounds; each round every contender runs once, "
            f"taking turns with a raw loop of its own "
            f"{'every ' + str(size.steps_per_turn) + ' step(s)' if device.type == 'cpu' else 'every epoch'}, "
            f"torch threads {threads}"
        ),
        "environment": {"torch": torch.__version__, "threads": threads},
    }
