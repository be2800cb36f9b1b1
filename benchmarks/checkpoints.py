"""Checkpoint save time: torch.distributed.checkpoint (sync and async) against torch.save.

The same model and AdamW state (an MLP of `WIDTH`-wide layers, one optimizer step taken)
saved by 1 process, or by 2 processes over gloo with the model sharded by FSDP2
(`fully_shard`, as a generated `parallelism=fsdp2` project shards it). Contenders, in
rotated order each round, each writing a fresh folder:

- torch.save: the whole state dict in one file from rank 0. With 2 processes the shards
  are first gathered to rank 0 (`get_state_dict(full_state_dict=True)`), as a sharded
  run must do to write one file; the gather is timed with the write.
- dcp.save: every process writes its own shards, and rank 0 the metadata.
- dcp.async_save: the time training is blocked (the state copied to CPU memory), and
  beside it the time until the files are written (`future.result()`).

`python -m benchmarks.checkpoints --processes N --out FILE` runs the section; under
torchrun it runs the measuring processes (`--measure`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.stats import interleaved, median, summarize

WIDTH = 2048
LAYERS = 6
"""6 layers of 2048 x 2048: 25M parameters, 100 MB of fp32 weights and 300 MB with AdamW's moments."""
QUICK_WIDTH = 512


def measure(width: int, rounds: int, folder: Path, out: Path) -> None:
    """In each process under torchrun (or alone): build, shard, step, then time each contender."""
    import torch
    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp
    from torch import nn
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        from torch.distributed.fsdp import fully_shard

        dist.init_process_group("gloo")
    rank = dist.get_rank() if distributed else 0
    torch.manual_seed(0)
    model = nn.Sequential(*(nn.Linear(width, width) for _ in range(LAYERS)))
    if distributed:
        for layer in model:
            fully_shard(layer)
        fully_shard(model)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.randn(8, width)).sum().backward()
    optimizer.step()

    def barrier() -> None:
        if distributed:
            dist.barrier()

    def torch_save(target: Path) -> float:
        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        model_state, optimizer_state = get_state_dict(model, optimizer, options=options)
        if rank == 0:
            target.mkdir(parents=True, exist_ok=True)
            torch.save({"model": model_state, "optimizer": optimizer_state}, target / "last.pt")
        return 0.0

    def dcp_save(target: Path) -> float:
        model_state, optimizer_state = get_state_dict(model, optimizer)
        dcp.save({"model": model_state, "optimizer": optimizer_state}, checkpoint_id=target)
        return 0.0

    def dcp_async(target: Path) -> float:
        model_state, optimizer_state = get_state_dict(model, optimizer)
        state = {"model": model_state, "optimizer": optimizer_state}
        started = time.perf_counter()
        future = dcp.async_save(state, checkpoint_id=target)
        blocked = time.perf_counter() - started
        future.result()  # type: ignore[union-attr]
        return blocked

    contenders = {"torch-save": torch_save, "dcp-sync": dcp_save, "dcp-async": dcp_async}
    totals: dict[str, list[float]] = {name: [] for name in contenders}
    blocked: list[float] = []
    for repeat in range(rounds):
        for name in interleaved(list(contenders), repeat):
            target = folder / f"{name}-{repeat}"
            barrier()
            started = time.perf_counter()
            blocking = contenders[name](target)
            barrier()  # the save is done when the slowest process is
            totals[name].append(time.perf_counter() - started)
            if name == "dcp-async":
                blocked.append(blocking)
            barrier()
            if rank == 0:
                shutil.rmtree(target, ignore_errors=True)
    if rank == 0:
        parameters = sum(p.numel() for p in model.parameters())
        out.write_text(json.dumps({"totals": totals, "blocked": blocked, "parameters": parameters}))
    if distributed:
        dist.destroy_process_group()


def run(processes: int, is_quick: bool, workdir: Path) -> dict[str, Any]:
    """The section's result: each contender's save time, with `processes` processes."""
    import torch

    width, rounds = (QUICK_WIDTH, 2) if is_quick else (WIDTH, 5)
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "measured.json"
    folder = Path(tempfile.mkdtemp(prefix="checkpoints-", dir=workdir))
    command = [sys.executable, "-m", "benchmarks.checkpoints", "--measure"]
    command += ["--width", str(width), "--rounds", str(rounds)]
    command += ["--folder", str(folder), "--out", str(out)]
    if processes > 1:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        command = [*launcher, f"--nproc_per_node={processes}", *command[1:]]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(command, check=True, env=environment, cwd=Path(__file__).resolve().parent.parent)
    measured = json.loads(out.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    totals = measured["totals"]
    megabytes = measured["parameters"] * 12 / 1e6  # fp32 weights and AdamW's two moments
    rows = [
        summarize(
            "torch-save",
            "torch.save, one file from rank 0",
            totals["torch-save"],
            rounds=totals["torch-save"],
        ),
        summarize(
            "dcp-sync",
            "dcp.save, each process its shards",
            totals["dcp-sync"],
            rounds=totals["dcp-sync"],
        ),
        summarize(
            "dcp-async",
            "dcp.async_save, until written",
            totals["dcp-async"],
            rounds=totals["dcp-async"],
        ),
    ]
    rows[-1]["secondary"] = median(measured["blocked"])
    for row in rows[:-1]:
        row["secondary"] = row["median"]  # a synchronous save blocks training throughout
    gathered = " (gathered to rank 0 first)" if processes > 1 else ""
    return {
        "section": f"checkpoint-save-{processes}",
        "title": f"Checkpoint save, {processes} process(es), CPU{' (gloo, FSDP2)' if processes > 1 else ''}",
        "device": "cpu",
        "unit": "s",
        "secondary_header": "median s training is blocked",
        "higher_is_better": False,
        "baseline": "torch-save",
        "setup": (
            f"{measured['parameters'] / 1e6:.1f}M parameters, {megabytes:.0f} MB of weights and "
            f"AdamW state; torch.save writes one file{gathered}; to a local disk, "
            f"torch {torch.__version__}"
        ),
        "rows": rows,
        "agreement": "",
        "notes": [],
        "environment": {"torch": torch.__version__, "threads": 1},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.checkpoints", description=__doc__)
    parser.add_argument("--measure", action="store_true", help="be a measuring process")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--width", type=int, default=WIDTH)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.measure:
        measure(args.width, args.rounds, args.folder, args.out)
        return 0
    result = run(args.processes, args.quick, args.out.parent / "work")
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
