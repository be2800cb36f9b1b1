"""One benchmark section in a process of its own: `python -m benchmarks.worker SECTION ...`.

`python -m benchmarks` starts one worker per section (each compares its contenders side by
side, in this one process) and gathers their JSON results.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

SECTIONS = (
    "steps-tiny",
    "steps-medium",
    "tabular-pipeline",
    "image-pipeline",
    "parquet-pipeline",
    "render",
    "first-epoch",
    "checkpoint-save-1",
    "checkpoint-save-2",
)


def run_section(args: argparse.Namespace) -> dict:
    section, project, workdir = args.section, args.project, args.workdir
    if section.startswith("steps-"):
        from benchmarks import steps

        size = section.removeprefix("steps-")
        return steps.run(project, args.device, size, args.quick, workdir)
    if section == "tabular-pipeline":
        from benchmarks import pipelines

        return pipelines.run_tabular(project, args.quick)
    if section == "image-pipeline":
        from benchmarks import pipelines

        return pipelines.run_images(project, args.quick, workdir)
    if section == "parquet-pipeline":
        from benchmarks import pipelines

        return pipelines.run_parquet(project, args.quick, workdir)
    if section.startswith("checkpoint-save-"):
        from benchmarks import checkpoints

        processes = int(section.removeprefix("checkpoint-save-"))
        return checkpoints.run(processes, args.quick, workdir)
    if section == "render":
        from benchmarks import rendering

        return rendering.run_render(args.quick, workdir)
    from benchmarks import rendering

    return rendering.run_first_epoch(args.device, args.quick, workdir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker", description=__doc__)
    parser.add_argument("section", choices=SECTIONS)
    parser.add_argument("--project", type=Path, help="the rendered project the section uses")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON result")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    result = run_section(args)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
