"""(b) Data pipelines: the generated tabular and image inputs against the usual alternatives.

Tabular, rows/s of whole shuffled epochs of batches (nothing trains): the generated
`make_loader` over the project's `InputDataset` (one gather per batch) vs randperm plus
tensor slicing vs a per-row Dataset with the default collate, all in the same order
(epoch e: a `randperm` seeded with SEED + e, as the generated loader draws it).

Images, images/s per core (one process, one torch thread, no workers): the generated
`InputDataset` (torchvision.io decoding, v2 transforms, a batch per call) vs an
ImageFolder-style PIL pipeline (PIL open + convert, torchvision.transforms, per item,
default collate), in folder order, on the images project's drawn sample images.

Parquet, rows/s of whole epochs from the file to shuffled batches: a full read
(`pd.read_parquet`, then the generated `make_dataset` and `make_loader`, as without
`data.streaming`) vs the generated `ParquetStream` (`data.streaming`), one process, no
workers, the same fitted encodings; and the peak resident memory one epoch adds, each
contender in a fresh process (`python -m benchmarks.pipelines`), on files of two sizes.

Rates are per second of the CPU time this process used (with one thread: per core),
with the wall-time rates beside them.
"""

from __future__ import annotations

import gc
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from benchmarks.project import ROOT, project_module
from benchmarks.stats import interleaved, median, summarize
from benchmarks.timing import Stamp, now, quiet, settle

SEED = 0
BATCH = 256
CPU = torch.device("cpu")


class PerRow(Dataset[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]):
    """The textbook Dataset: one row per __getitem__, batched by the default collate."""

    def __init__(self, numeric: torch.Tensor, categorical: torch.Tensor, target: torch.Tensor):
        self.numeric, self.categorical, self.target = numeric, categorical, target

    def __len__(self) -> int:
        return len(self.target)

    def __getitem__(self, row: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.numeric[row], self.categorical[row], self.target[row]


class EpochPermutation(Sampler[int]):
    """Rows one at a time in the generated loader's order: epoch e's `randperm` seeded with SEED + e.

    Each iteration is the next epoch. (A `RandomSampler` whose generator is re-seeded
    before each epoch gives the same rows at the same cost per row.)
    """

    def __init__(self, rows: int) -> None:
        self.rows, self.epoch = rows, 0

    def __len__(self) -> int:
        return self.rows

    def __iter__(self) -> Iterator[int]:
        order = torch.Generator().manual_seed(SEED + self.epoch)
        self.epoch += 1
        return iter(torch.randperm(self.rows, generator=order).tolist())


class EveryEpoch:
    """An iterable whose n-th iteration is `epoch(n)`: epoch after epoch, as a training loop runs them."""

    def __init__(self, epoch: Callable[[int], Iterator[Any]]) -> None:
        self.epoch, self.count = epoch, 0

    def __iter__(self) -> Iterator[Any]:
        self.count += 1
        return self.epoch(self.count - 1)


def epochs_of(loader: Any, set_epoch: Callable[[Any, int], None]) -> EveryEpoch:
    """A generated loader iterated as `train()` does: `set_epoch(loader, e)` before epoch e."""

    def epoch(number: int) -> Iterator[Any]:
        set_epoch(loader, number)
        return iter(loader)

    return EveryEpoch(epoch)


def alternating_epochs(
    makers: dict[str, Callable[[], Iterable[Any]]], epochs: dict[str, int], repeat: int
) -> dict[str, list[Stamp]]:
    """One round: each contender's timed epochs, taking turns an epoch at a time.

    The loaders are made once, untimed; the order of the turns is rotated by `repeat`;
    each contender's first epoch is its warm-up and is dropped. Epoch e of every contender
    runs within a second or so, so their ratio, epoch by epoch, keeps little of a shared
    machine's drift.
    """
    settle()
    order = interleaved(list(makers), repeat)
    loaders = {name: makers[name]() for name in order}
    times: dict[str, list[Stamp]] = {name: [] for name in order}
    for epoch in range(max(epochs.values())):
        for name, loader in loaders.items():
            if epoch < epochs[name]:
                start = now(CPU)
                for _batch in loader:
                    pass
                times[name].append(now(CPU) - start)
    return {name: spans[1:] for name, spans in times.items()}


def rows_for(name: str, label: str, items: int, times: list[Stamp]) -> dict[str, Any]:
    """A result row of items per CPU second, with items per wall second beside it.

    `times` are in the order the turns ran, so that epoch i pairs with epoch i of every
    contender that ran as many (`paired_ratio`).
    """
    rates = [items / t.cpu for t in times]
    row = summarize(name, label, rates, rounds=rates)
    row["secondary"] = median([items / t.wall for t in times])
    return row


def as_tuples(batch: Any) -> tuple[torch.Tensor, ...]:
    """(numeric, categorical, target) of a generated Batch, a tuple or the default collate's list."""
    if hasattr(batch, "inputs"):
        return (*batch.inputs, batch.target)
    return tuple(batch)


def run_tabular(project: Path, is_quick: bool) -> dict:
    data_module = project_module(project, "data")
    config_module = project_module(project, "config")
    inputs_module = project_module(project, "inputs")
    task_module = project_module(project, "task")
    sample_module = project_module(project, "sample_data")
    rows = BATCH * (8 if is_quick else 200)
    frame = sample_module.make_sample_frame(rows=rows, seed=SEED)
    config = config_module.Config()
    where = "sample frame"
    encoder = inputs_module.InputEncoder.fit(frame, config.inputs, config.data.target, where)
    target = task_module.Target.fit(frame[config.data.target], where)
    dataset = data_module.make_dataset(
        frame, config.data.target, encoder, target, where, train=True
    )
    numeric, categorical, labels = dataset.numeric, dataset.categorical, dataset.target

    def generated() -> Iterable[Any]:
        loader = data_module.make_loader(dataset, BATCH, CPU, 0, SEED)
        return epochs_of(loader, data_module.set_epoch)

    def raw() -> Iterable[Any]:
        def batches(epoch: int) -> Iterator[tuple[torch.Tensor, ...]]:
            perm = torch.randperm(rows, generator=torch.Generator().manual_seed(SEED + epoch))
            for i in range(0, rows, BATCH):
                index = perm[i : i + BATCH]
                yield numeric[index], categorical[index], labels[index]

        return EveryEpoch(batches)

    def per_row() -> Iterable[Any]:
        rows_dataset = PerRow(numeric, categorical, labels)
        return DataLoader(rows_dataset, batch_size=BATCH, sampler=EpochPermutation(rows))

    contenders = {"raw": raw, "generated": generated, "per-row": per_row}
    labels_of = {
        "raw": "randperm + tensor slicing (baseline)",
        "generated": "generated make_loader + InputDataset",
        "per-row": "per-row Dataset + default collate",
    }
    # Same batches: two epochs of each, compared tensor by tensor, untimed.
    reference = None
    for name, make in contenders.items():
        loader = make()
        seen = [as_tuples(b) for _ in range(2) for b in loader]
        if reference is None:
            reference = seen
        elif len(seen) != len(reference) or not all(
            all(torch.equal(a, b) for a, b in zip(x, y, strict=True))
            for x, y in zip(seen, reference, strict=True)
        ):
            raise AssertionError(f"{name}: its batches differ from raw's")
    agreement = "all three yield identical batches (two epochs compared tensor by tensor)"
    print(f"tabular pipeline: {rows:,} rows of the sample table, batch {BATCH}; {agreement}")
    fast_epochs, slow_epochs, repeats = (2, 1, 1) if is_quick else (10, 2, 10)
    times: dict[str, list[Stamp]] = {name: [] for name in contenders}
    epochs = {name: 1 + (slow_epochs if name == "per-row" else fast_epochs) for name in contenders}
    for repeat in range(repeats):
        timed = alternating_epochs(contenders, epochs, repeat)
        for name, spans in timed.items():
            times[name] += spans
            rate = rows / (median([t.cpu for t in spans]) or 1.0)
            print(f"  run {repeat + 1}/{repeats} {name:<10} {rate:>14,.0f} rows per CPU second")
    result_rows = [rows_for(name, labels_of[name], rows, times[name]) for name in contenders]
    return {
        "section": "tabular-pipeline",
        "title": "Tabular pipeline, rows per CPU second (one torch thread)",
        "device": "cpu",
        "unit": "rows/s (CPU)",
        "secondary_header": "median rows/s (wall)",
        "higher_is_better": True,
        "baseline": "raw",
        "rows": result_rows,
        "agreement": agreement,
        "notes": [],
        "setup": (
            f"{rows:,} rows (the sample table: 4 numeric, 2 categorical columns), batch {BATCH}, "
            f"torch threads {torch.get_num_threads()}, {repeats} interleaved runs, epoch by epoch in turn"
        ),
    }


def run_images(project: Path, is_quick: bool, workdir: Path) -> dict:
    from torchvision import datasets, transforms

    torch.set_num_threads(1)  # per core: one process, one thread, no workers
    data_module = project_module(project, "data")
    config_module = project_module(project, "config")
    inputs_module = project_module(project, "inputs")
    task_module = project_module(project, "task")
    sample_module = project_module(project, "sample_data")
    config = config_module.Config()
    folder = workdir / "images"
    count = 60 if is_quick else 600
    with quiet():
        sample_module.write_sample_data(folder, rows=count, seed=SEED)
    frame = data_module.read_table(folder)
    where = str(folder)
    encoder = inputs_module.InputEncoder.fit(frame, config.inputs, config.data.target, where)
    target = task_module.Target.fit(frame[config.data.target], where)
    # No augmentation (train=False) in either pipeline, so their outputs can be compared.
    dataset = data_module.make_dataset(frame, config.data.target, encoder, target, where)
    size, batch = encoder.image_size, config.train.batch_size

    def generated() -> Iterable[Any]:
        return data_module.make_loader(dataset, batch, CPU, 0)

    pil_transform = transforms.Compose(
        [
            transforms.Resize((size, size)),
            transforms.ToTensor(),
            transforms.Normalize([0.5] * 3, [0.5] * 3),
        ]
    )

    def pil() -> Iterable[Any]:
        return DataLoader(datasets.ImageFolder(str(folder), pil_transform), batch_size=batch)

    contenders = {"pil": pil, "generated": generated}
    labels_of = {
        "pil": "PIL ImageFolder-style, per item (baseline)",
        "generated": "generated: torchvision.io decode + v2 transforms, per batch",
    }
    with quiet():
        first = [as_tuples(b) for b in generated()]
        second = [as_tuples(b) for b in pil()]
    images_a, targets_a = torch.cat([b[0] for b in first]), torch.cat([b[-1] for b in first])
    images_b, targets_b = torch.cat([b[0] for b in second]), torch.cat([b[-1] for b in second])
    if images_a.shape != images_b.shape or not torch.equal(targets_a, targets_b):
        raise AssertionError("the two image pipelines do not yield the same images and labels")
    difference = (images_a - images_b).abs().mean().item()
    if difference > 0.05:
        raise AssertionError(f"the image pipelines' pixels differ by {difference:.3f} on average")
    agreement = (
        f"same {len(targets_a)} images, labels and shape {tuple(images_a.shape[1:])}; mean "
        f"absolute pixel difference {difference:.1e} on the [-1, 1] scale (resampling differs)"
    )
    print(f"image pipeline: {agreement}")
    repeats = 1 if is_quick else 8
    epochs = dict.fromkeys(contenders, 3)  # a warm-up, then two timed passes
    times: dict[str, list[Stamp]] = {name: [] for name in contenders}
    with quiet():
        for repeat in range(repeats):
            for name, spans in alternating_epochs(contenders, epochs, repeat).items():
                times[name] += spans
    for name in contenders:
        rate = count / (median([t.cpu for t in times[name]]) or 1.0)
        print(f"  {name:<10} {rate:>10,.0f} images per CPU second")
    return {
        "section": "image-pipeline",
        "title": "Image pipeline, images per CPU second (one process, one thread, no workers)",
        "device": "cpu",
        "unit": "images/s (CPU)",
        "secondary_header": "median images/s (wall)",
        "higher_is_better": True,
        "baseline": "pil",
        "rows": [rows_for(name, labels_of[name], count, times[name]) for name in contenders],
        "agreement": agreement,
        "notes": [],
        "setup": (
            f"{count} drawn PNGs (40-72 px, every fifth grayscale) resized to {size}x{size}, "
            f"batch {batch}, {repeats} interleaved runs of 2 timed passes, turn by turn"
        ),
    }


class ParquetEpochs:
    """Epochs of shuffled batches from a Parquet file, by the full read or by streaming.

    The encodings are fitted once, on a sample, and shared: both contenders then do the
    same encoding work, and the timed epochs hold everything from the file to the batches.
    """

    def __init__(self, project: Path, path: Path, chunk_rows: int) -> None:
        self.data = project_module(project, "data")
        streaming = project_module(project, "streaming")
        inputs = project_module(project, "inputs")
        task = project_module(project, "task")
        config = project_module(project, "config").Config()
        self.path, self.column = path, config.data.target
        rows = streaming.ParquetRows(path)
        sample = rows.sample(config.data.fit_rows, SEED)
        where = str(path)
        self.encoder = inputs.InputEncoder.fit(sample, config.inputs, self.column, where)
        self.target = task.Target.fit(sample[self.column], where)
        self.split = streaming.ParquetSplit(
            rows, self.encoder, self.target, self.column, chunk_rows, train=True
        )

    def full_read(self) -> Iterable[Any]:
        import pandas as pd

        def epoch(number: int) -> Iterator[Any]:
            frame = pd.read_parquet(self.path)
            dataset = self.data.make_dataset(
                frame, self.column, self.encoder, self.target, str(self.path), True
            )
            loader = self.data.make_loader(dataset, BATCH, CPU, 0, SEED)
            self.data.set_epoch(loader, number)
            return iter(loader)

        return EveryEpoch(epoch)

    def streaming(self) -> Iterable[Any]:
        loader = self.data.make_loader(self.split, BATCH, CPU, 0, SEED)
        return epochs_of(loader, self.data.set_epoch)


def write_parquet(project: Path, path: Path, rows: int, group_rows: int) -> Path:
    """The tabular sample table (4 numeric, 2 categorical columns), `rows` long."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = project_module(project, "sample_data").make_sample_frame(rows=rows, seed=SEED)
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=group_rows
    )
    return path


def memory_kb(field: str) -> int:
    """A line of /proc/self/status, in kB: VmRSS (resident now) or VmHWM (its peak)."""
    status = Path("/proc/self/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else 0


def peak_memory(project: Path, path: Path, contender: str, chunk_rows: int) -> float:
    """MiB of resident memory one epoch of `contender` adds at its peak, in this process.

    The peak is reset just before the epoch (writing 5 to /proc/self/clear_refs), so the
    imports and the fitting sample do not count. Linux only: elsewhere /proc is missing.
    """
    torch.set_num_threads(1)
    epochs = ParquetEpochs(project, path, chunk_rows)
    loader = epochs.full_read() if contender == "full-read" else epochs.streaming()
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    before = memory_kb("VmRSS")
    for _batch in loader:
        pass
    return (memory_kb("VmHWM") - before) / 1024


def measure_peak(project: Path, path: Path, contender: str, chunk_rows: int) -> float:
    """`peak_memory` in a fresh process, so that no earlier allocation is reused or counted."""
    command = [sys.executable, "-m", "benchmarks.pipelines", str(project), str(path)]
    command += [contender, str(chunk_rows)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return float(json.loads(result.stdout.splitlines()[-1])["peak_mib"])


def run_parquet(project: Path, is_quick: bool, workdir: Path) -> dict:
    torch.set_num_threads(1)
    config = project_module(project, "config").Config()
    rows = 50_000 if is_quick else 1_000_000
    chunk_rows = 8192 if is_quick else config.data.chunk_rows
    group_rows = 2 * chunk_rows  # row groups of a few MB, as writers commonly make them
    path = write_parquet(project, workdir / "table.parquet", rows, group_rows)
    parquet = ParquetEpochs(project, path, chunk_rows)
    contenders = {"full-read": parquet.full_read, "streaming": parquet.streaming}
    labels_of = {
        "full-read": "pd.read_parquet + make_dataset + make_loader (baseline)",
        "streaming": f"generated ParquetStream, chunk_rows {chunk_rows:,}",
    }
    # Same rows, in different orders: every target once, and the same column sums.
    epoch_of = {name: [as_tuples(b) for b in make()] for name, make in contenders.items()}
    targets = {name: torch.cat([b[-1] for b in e]).sort().values for name, e in epoch_of.items()}
    sums = {name: torch.cat([b[0] for b in e]).double().sum(0) for name, e in epoch_of.items()}
    if not torch.equal(targets["full-read"], targets["streaming"]) or not torch.allclose(
        sums["full-read"], sums["streaming"]
    ):
        raise AssertionError("the full read and the stream do not yield the same rows")
    del epoch_of
    agreement = "both yield every row once an epoch (sorted targets equal, column sums agree)"
    print(f"parquet pipeline: {rows:,} rows in row groups of {group_rows:,}; {agreement}")
    repeats = 1 if is_quick else 5
    epochs = dict.fromkeys(contenders, 3)  # a warm-up, then two timed epochs
    times: dict[str, list[Stamp]] = {name: [] for name in contenders}
    for repeat in range(repeats):
        for name, timed in alternating_epochs(contenders, epochs, repeat).items():
            times[name] += timed
            rate = rows / (median([t.cpu for t in timed]) or 1.0)
            print(f"  run {repeat + 1}/{repeats} {name:<10} {rate:>12,.0f} rows per CPU second")
    result_rows = [rows_for(name, labels_of[name], rows, times[name]) for name in contenders]

    # Peak memory on this file and, except in the smoke run, on one four times its size.
    files = {rows: path}
    if not is_quick:
        files[4 * rows] = write_parquet(project, workdir / "large.parquet", 4 * rows, group_rows)
    peaks = {
        (name, size): measure_peak(project, file, name, chunk_rows)
        for size, file in files.items()
        for name in contenders
    }
    for row in result_rows:
        at = [f"+{peaks[(row['name'], size)]:,.0f} MiB at {size:,} rows" for size in files]
        row["note"] = "peak " + ", ".join(at)
        print(f"  {row['name']:<10} {row['note']}")
    return {
        "section": "parquet-pipeline",
        "title": "Parquet pipeline, rows per CPU second from the file to batches (one torch thread)",
        "device": "cpu",
        "unit": "rows/s (CPU)",
        "secondary_header": "median rows/s (wall)",
        "higher_is_better": True,
        "baseline": "full-read",
        "rows": result_rows,
        "agreement": agreement,
        "metrics": {f"peak_mib_{name}_{size}": mib for (name, size), mib in peaks.items()},
        "notes": [
            "peak: resident memory one epoch adds at its highest, each in a fresh process "
            "(the imports and the encodings' fitting sample not counted). The stream's "
            "follows chunk_rows; the full read's, the file."
        ],
        "setup": (
            f"{rows:,} rows of the sample table (4 numeric, 2 categorical columns) in row groups "
            f"of {group_rows:,}, batch {BATCH}, shuffled, no workers, torch threads "
            f"{torch.get_num_threads()}, {repeats} interleaved runs of two timed epochs, turn by turn"
        ),
    }


if __name__ == "__main__":  # the memory probe: PROJECT PATH CONTENDER CHUNK_ROWS
    project_arg, path_arg, contender_arg, chunk_arg = sys.argv[1:]
    peak = peak_memory(Path(project_arg), Path(path_arg), contender_arg, int(chunk_arg))
    print(json.dumps({"peak_mib": peak}))
