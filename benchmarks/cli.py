"""`python -m benchmarks [--quick] [--device cpu|cuda]`: render, run every section, write RESULTS.md."""

from __future__ import annotations

import argparse
import datetime
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

from benchmarks import machine, report
from benchmarks.project import IMAGES, PARQUET, ROOT, TABULAR, render_project
from benchmarks.worker import SECTIONS

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
PROJECTS = {"tabular": TABULAR, "images": IMAGES, "parquet": PARQUET}
SECTION_PROJECT = {
    "steps-tiny": "tabular",
    "steps-medium": "tabular",
    "tabular-pipeline": "tabular",
    "image-pipeline": "images",
    "parquet-pipeline": "parquet",
    "render": None,
    "first-epoch": None,
    "checkpoint-save-1": None,
    "checkpoint-save-2": None,
}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark the generated projects against raw PyTorch, Lightning, "
        "Accelerate and PIL; run from the repository root.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run (under a minute); writes no file by default",
    )
    parser.add_argument(
        "--device", default="cpu", choices=["cpu", "cuda"], help="for the step rows"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads in every section (default 1, see RESULTS.md; 0: torch's own choice)",
    )
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only this section (repeatable)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"the results file (default: {RESULTS.relative_to(ROOT)}; none with --quick)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    if args.output is None and not args.quick:
        args.output = RESULTS
    return args


def run_worker(
    section: str, project: Path | None, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    """One section in its own process; its JSON result, or an error entry."""
    out = workdir / f"{section}.json"
    command = [sys.executable, "-m", "benchmarks.worker", section, "--device", args.device]
    command += ["--workdir", str(workdir / section), "--out", str(out)]
    if project is not None:
        command += ["--project", str(project)]
    if args.quick:
        command.append("--quick")
    if args.threads:
        command += ["--threads", str(args.threads)]
    print(f"\n== {section}", flush=True)
    start = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT).returncode
    print(f"== {section}: {time.perf_counter() - start:.0f} s", flush=True)
    if code != 0 or not out.is_file():
        return {
            "section": section,
            "error": f"the worker exited with status {code} (see its output)",
        }
    return json.loads(out.read_text())


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    sections = [s for s in SECTIONS if not args.only or s in args.only]
    workdir = Path(tempfile.mkdtemp(prefix="torch-template-benchmarks-"))
    load_before = os.getloadavg()[0]
    print(f"{machine.cores()} cores, {machine.cpu_model()}; load average {load_before:.2f}")
    print(f"work folder: {workdir}")
    try:
        projects: dict[str, Path] = {}
        for kind in sorted({k for s in sections if (k := SECTION_PROJECT[s]) is not None}):
            projects[kind] = render_project(PROJECTS[kind], workdir / f"project-{kind}")
        results = []
        for section in sections:
            project = projects.get(SECTION_PROJECT[section] or "")
            results.append(run_worker(section, project, args, workdir))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    threads = next((r["environment"]["threads"] for r in results if "environment" in r), None)
    run = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(
            ["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])]
        ),
        "revision": machine.git_revision(ROOT),
        "cores": machine.cores(),
        "cpu": machine.cpu_model(),
        "threads": threads or args.threads or "torch's default",
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "device": args.device,
        "quick": args.quick,
        "versions": machine.versions(),
    }
    block = report.render_block(results, run)
    print("\n" + block)
    if args.output is not None:
        existing = args.output.read_text() if args.output.is_file() else None
        args.output.write_text(report.splice(existing, block))
        print(f"wrote {args.output}")
    failed = [r["section"] for r in results if "error" in r]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0
