"""(b) Data pipelines: the generated tabular and image inputs against the usual alternatives.

Tabular, rows/s of whole shuffled epochs of batches (nothing trains): the generated
`make_loader` over the project's `InputDataset` (one gather per batch) vs randperm plus
tensor slicing vs a per-row Dataset with the default collate, all in the same order
(epoch e: a `randperm` seeded with SEED + e, as the generated loader draws it).

Images, images/s per core (one process, one torch thread, no workers): the generated
`InputDataset` (TorchCodec decoding, Pillow's reduced-scale decoding of large JPEGs, v2
transforms, a batch per call) vs an ImageFolder-style PIL pipeline (PIL open + convert,
torchvision.transforms, per item, default collate), in folder order, on the images
project's drawn sample PNGs and on large photo-like JPEGs; beside them the same
`InputDataset` with other decoders: torchvision.io's (the project's before TorchCodec),
Pillow alone (its fallback without TorchCodec) and TorchCodec for every pixel.

Parquet, rows/s of whole epochs from the file to shuffled batches: a full read
(`pd.read_parquet`, then the generated `make_dataset` and `make_loader`, as without
`data.streaming`) vs the generated `ParquetStream` (`data.streaming`), one process, no
workers, the same fitted encodings; and the peak resident memory one epoch adds, each
contender in a fresh process (`python -m benchmarks.pipelines`), on files of two sizes.

Rates are per second of the CPU time this process used (with one thread: per core),
with the wall-time rates beside them.
"""

from __future__ import annotations

import copy
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


LARGE_JPEG = (1024, 768)
"""The photos of the second image set: (width, height), drawn and saved at JPEG quality 90."""


def write_photos(folder: Path, count: int) -> None:
    """`count` photo-like JPEGs of LARGE_JPEG pixels (gradients and noise) in two class folders."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(SEED)
    width, height = LARGE_JPEG
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    for i in range(count):
        turn = rng.uniform(0.5, 2.0, size=3).astype(np.float32)
        shade = [
            np.sin(xs / width * 6 * turn[c] + c) * np.cos(ys / height * 4 * turn[c])
            for c in range(3)
        ]
        pixels = 128 + 90 * np.stack(shade, axis=-1) + rng.normal(0, 8, (height, width, 3))
        (folder / f"class{i % 2}").mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
        image.save(folder / f"class{i % 2}" / f"{i:04d}.jpg", quality=90)


def torchvision_decode(path: str, size: int) -> torch.Tensor:
    """The images project's decoding before TorchCodec: torchvision.io's (deprecated since 0.29)."""
    from torchvision.io import ImageReadMode, decode_image

    image = decode_image(path, mode=ImageReadMode.RGB)
    if image.ndim == 4:
        image = image[0]
    if image.dtype == torch.uint16:
        image = image.to(torch.int32).bitwise_right_shift(8).to(torch.uint8)
    return image


def with_decoder(dataset: Any, decode: Callable[[str, int], torch.Tensor]) -> Any:
    """A copy of the generated InputDataset whose images `decode(path, image_size)` decodes."""
    clone = copy.copy(dataset)
    clone.load = lambda row: decode(clone.paths[row], clone.image_size)
    return clone


def image_set(
    project: Path, folder: Path, tag: str, decoders: dict[str, tuple[str, Callable[..., Any]]]
) -> tuple[dict[str, Callable[[], Iterable[Any]]], dict[str, str], str]:
    """The contenders on the images of `folder` (class subfolders): loaders, labels, agreement.

    `decoders` maps a name to its label and a decode(path, image_size) that stands in for
    the generated one (None: the generated pipeline itself). Each contender yields the
    images of `folder` once per iteration, in folder order, without augmentation; their
    labels must match the PIL baseline's, and their pixels be within 0.05 on average.
    """
    from torchvision import datasets, transforms

    data_module = project_module(project, "data")
    inputs_module = project_module(project, "inputs")
    task_module = project_module(project, "task")
    config = project_module(project, "config").Config()
    frame = data_module.read_table(folder)
    where = str(folder)
    encoder = inputs_module.InputEncoder.fit(frame, config.inputs, config.data.target, where)
    target = task_module.Target.fit(frame[config.data.target], where)
    dataset = data_module.make_dataset(frame, config.data.target, encoder, target, where)
    size, batch = encoder.image_size, config.train.batch_size
    pil_transform = transforms.Compose(
        [
            transforms.Resize((size, size)),
            transforms.ToTensor(),
            transforms.Normalize([0.5] * 3, [0.5] * 3),
        ]
    )
    makers: dict[str, Callable[[], Iterable[Any]]] = {
        f"pil{tag}": lambda: DataLoader(
            datasets.ImageFolder(str(folder), pil_transform), batch_size=batch
        )
    }
    labels = {f"pil{tag}": "PIL ImageFolder-style, per item (baseline)"}
    for name, (label, decode) in decoders.items():
        variant = dataset if decode is None else with_decoder(dataset, decode)
        makers[name + tag] = lambda variant=variant: data_module.make_loader(variant, batch, CPU, 0)
        labels[name + tag] = label
    with quiet():
        batches = {name: [as_tuples(b) for b in make()] for name, make in makers.items()}
    images = {name: torch.cat([b[0] for b in seen]) for name, seen in batches.items()}
    targets = {name: torch.cat([b[-1] for b in seen]) for name, seen in batches.items()}
    reference = f"pil{tag}"
    differences = []
    for name in makers:
        if images[name].shape != images[reference].shape or not torch.equal(
            targets[name], targets[reference]
        ):
            raise AssertionError(f"{name}: not the images and labels of the PIL pipeline")
        differences.append((images[name] - images[reference]).abs().mean().item())
    if max(differences) > 0.05:
        raise AssertionError(f"the image pipelines' pixels differ by {max(differences):.3f}")
    agreement = (
        f"same {len(targets[reference])} images, labels and shape "
        f"{tuple(images[reference].shape[1:])}; mean absolute pixel difference to PIL's at most "
        f"{max(differences):.1e} on the [-1, 1] scale (resampling and reduced-scale decoding)"
    )
    return makers, labels, agreement


def run_images(project: Path, is_quick: bool, workdir: Path) -> dict:
    """Images per CPU second on the drawn sample PNGs and on large JPEGs, each set against PIL.

    The rows of the JPEG set are paired with that set's own PIL rows (`baseline_rounds`).
    """
    import warnings

    torch.set_num_threads(1)  # per core: one process, one thread, no workers
    # The "before" rows measure torchvision.io's decoders, deprecated for TorchCodec: the
    # generated project no longer uses them; here they are the measure of the change.
    warnings.filterwarnings("ignore", "The image decoding and encoding", DeprecationWarning)
    inputs_module = project_module(project, "inputs")
    sample_module = project_module(project, "sample_data")
    config = project_module(project, "config").Config()
    count = 60 if is_quick else 600
    photos = 8 if is_quick else 48
    repeats = 1 if is_quick else 8
    with quiet():
        sample_module.write_sample_data(workdir / "images", rows=count, seed=SEED)
    write_photos(workdir / "photos", photos)
    before = ("before: torchvision.io decode (deprecated) + v2, per batch", torchvision_decode)
    pillow = (
        "Pillow decode (draft for large JPEGs; the fallback without TorchCodec) + v2, per batch",
        inputs_module.decode_with_pil,
    )
    full = (
        "TorchCodec decode, every pixel (no draft) + v2, per batch",
        lambda path, size: inputs_module.decode(path, 0),
    )
    sets = {
        "": (
            workdir / "images",
            {
                "generated": ("generated: TorchCodec decode + v2 transforms, per batch", None),
                "torchvision": before,
                "pillow": pillow,
            },
        ),
        "-jpeg": (
            workdir / "photos",
            {
                "generated": (
                    "generated: Pillow draft decode (JPEGs 4x the size) + v2, per batch",
                    None,
                ),
                "torchcodec": full,
                "torchvision": before,
            },
        ),
    }
    results: dict[str, Any] = {"rows": [], "agreement": []}
    for tag, (folder, decoders) in sets.items():
        makers, labels, agreement = image_set(project, folder, tag, decoders)
        items = count if tag == "" else photos
        results["agreement"].append(f"{folder.name}: {agreement}")
        epochs = dict.fromkeys(makers, 3)  # a warm-up, then two timed passes
        times: dict[str, list[Stamp]] = {name: [] for name in makers}
        with quiet():
            for repeat in range(repeats):
                for name, spans in alternating_epochs(makers, epochs, repeat).items():
                    times[name] += spans
        rows = [rows_for(name, labels[name], items, times[name]) for name in makers]
        for row in rows:
            rate = items / (median([t.cpu for t in times[row["name"]]]) or 1.0)
            print(f"  {row['name']:<18} {rate:>10,.1f} images per CPU second")
            if tag:
                row["label"] = f"{LARGE_JPEG[0]}x{LARGE_JPEG[1]} JPEGs: {row['label']}"
                row["baseline_rounds"] = rows[0]["rounds"]
        results["rows"] += rows
    print("image pipeline: " + "; ".join(results["agreement"]))
    return {
        "section": "image-pipeline",
        "title": "Image pipeline, images per CPU second (one process, one thread, no workers)",
        "device": "cpu",
        "unit": "images/s (CPU)",
        "secondary_header": "median images/s (wall)",
        "higher_is_better": True,
        "baseline": "pil",
        "rows": results["rows"],
        "agreement": "; ".join(results["agreement"]),
        "notes": [
            "the JPEG rows' ratios are to the JPEG set's own PIL row (paired with its epochs)"
        ],
        "setup": (
            f"{count} drawn PNGs (40-72 px, every fifth grayscale) and {photos} photo-like "
            f"{LARGE_JPEG[0]}x{LARGE_JPEG[1]} JPEGs (quality 90), each resized to "
            f"{config.inputs.image_size}x{config.inputs.image_size}, batch "
            f"{config.train.batch_size}, {repeats} interleaved runs of 2 timed passes, turn by turn"
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
