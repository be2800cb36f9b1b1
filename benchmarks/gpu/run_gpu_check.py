"""The GPU check's run half: `python run_gpu_check.py [DIR] [--dry-run]`, offline, no copier.

`python -m benchmarks.gpu prepare DIR` (on a machine with copier and the network) renders the
CUDA combinations into DIR/projects/, the benchmark projects into DIR/bench/, downloads the
wheels a GPU machine lacks into DIR/wheels/, and copies this file and the `benchmarks` package
into DIR. On the GPU machine (torch installed; no copier, no network) this file alone runs:

1. a virtual environment DIR/work/env layered on this interpreter's packages (a .pth file),
   so torch is the machine's own and nothing of its environment changes; the missing wheels,
   then each project (`pip install --no-deps --no-build-isolation -e`), go there;
2. each project's full pytest, the suites side by side in the background, while
3. each project, in a copy of its folder, writes its sample data and trains with
   train.device=cuda in bf16 and in fp16 (and more where its answers call for it: torchrun
   with NCCL, deterministic mode, the profiler, an out-of-memory recovery of the auto batch
   size), each through `harness`, which also records the peak CUDA memory and the
   torch.compile time;
4. then, alone on the machine, the step and image-pipeline benchmarks with --device cuda.

Everything stops by the time budget (--budget-s, default 450 s): a step that would start
later is reported as skipped. Without a CUDA device, or with --dry-run, every step that needs
one is reported as "skipped: no CUDA device" and the rest still runs: the installs, the
sample data, `pytest --collect-only`, and every training command parsed through `config`.
One report, DIR/report.md and DIR/report.json, holds every outcome and figure.

This file imports only the standard library at the top: torch is imported by `harness`,
which runs inside the layered environment.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NO_CUDA = "skipped: no CUDA device"
OUT_OF_TIME = "skipped: the time budget was spent"
DEFAULT_BUDGET_S = 450
"""7.5 minutes: the issue's limit is 8, and a step that starts late is cut at the deadline."""
TRAIN_EPOCHS = 3
OOM_ROWS = 100_000
"""Rows of the out-of-memory run's data: a batch of 65,536 rows must exist to be tried."""
OOM_CAP_GIB = 1.0
"""The card is capped to this much (torch.cuda.set_per_process_memory_fraction) in the
out-of-memory run: a batch 'far too large for the card' then does not depend on the card."""
OOM_OVERRIDES = [
    "data.path=data/big.csv",
    "train.batch_size=65536",
    "model.hidden_sizes=[4096,4096]",
    "train.epochs=1",
]
SUITE = "pytest (full suite, CUDA tests included)"
BENCH_SECTIONS = {"steps-tiny": "tabular", "steps-medium": "tabular", "image-pipeline": "images"}
BENCH_RESERVE_S = 60
"""Seconds of the budget that the pytest suites leave to the benchmarks."""


@dataclass
class Step:
    """One outcome of the report."""

    name: str
    project: str
    kind: str
    command: list[str] = field(default_factory=list)
    status: str = "pending"
    """passed, failed, or a line starting with `skipped:`."""
    seconds: float | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    detail: str = ""
    """Why it failed: the last lines of its output."""
    log: str = ""


@dataclass
class Context:
    dir: Path
    work: Path
    python: Path
    cuda: bool
    """Run the CUDA steps (a CUDA device, or --rehearse); else report them as skipped."""
    deadline: float
    cpus: int
    pytest_args: list[str] = field(default_factory=list)
    full_benchmarks: bool = False
    steps: list[Step] = field(default_factory=list)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


# ---------------------------------------------------------------------------------------------
# Parsing the projects' output
# ---------------------------------------------------------------------------------------------

EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+) .*?([\d,.]+) samples/s", re.MULTILINE)
HARNESS_LINE = re.compile(r"^gpu-check: (\w+) (.+)$", re.MULTILINE)
OOM_LINE = re.compile(r"out of memory at batch size (\d+); trying (\d+)")
DEVICE_LINE = re.compile(r"^device: (.+)$", re.MULTILINE)


def training_figures(output: str, run_dir: Path | None) -> dict[str, Any]:
    """samples/s per epoch, the device line, the harness's figures, metrics.json's numbers."""
    figures: dict[str, Any] = {}
    speeds = [float(m.group(3).replace(",", "")) for m in EPOCH_LINE.finditer(output)]
    if speeds:
        figures["samples_per_s"] = speeds
        figures["samples_per_s_last_epoch"] = speeds[-1]
    device = DEVICE_LINE.search(output)
    if device:
        figures["device"] = device.group(1).strip()
    for match in HARNESS_LINE.finditer(output):
        key, value = match.group(1), match.group(2).strip()
        try:
            figures[key] = float(value)
        except ValueError:
            figures[key] = value
    ooms = [(int(a), int(b)) for a, b in OOM_LINE.findall(output)]
    if ooms:
        figures["out_of_memory_at"] = [size for size, _ in ooms]
        figures["fitted_batch_size"] = ooms[-1][1]
    if run_dir is not None and (run_dir / "metrics.json").is_file():
        metrics = json.loads((run_dir / "metrics.json").read_text())
        figures["metrics"] = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
    if run_dir is not None and (run_dir / "profile.json").is_file():  # the profile command's
        profile = json.loads((run_dir / "profile.json").read_text())
        figures["profile"] = {
            f"{part}.{key}": value
            for part in ("train", "memory", "inference")
            for key, value in profile.get(part, {}).items()
            if isinstance(value, int | float)
        }
        figures["top_ops"] = [op.get("name") for op in profile.get("top_ops", [])[:5]]
    return figures


def warning_lines(output: str) -> list[str]:
    """The `warning:` lines (torch.compile's fallback, a device fallback, out-of-memory)."""
    found = [line.strip() for line in output.splitlines() if line.lower().startswith("warning:")]
    return list(dict.fromkeys(found))[:20]


def junit_counts(path: Path) -> dict[str, int]:
    """passed, failed, errors, skipped, total of a pytest --junitxml file."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    counts = {"total": 0, "failed": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        counts["total"] += int(suite.get("tests", 0))
        counts["failed"] += int(suite.get("failures", 0))
        counts["errors"] += int(suite.get("errors", 0))
        counts["skipped"] += int(suite.get("skipped", 0))
    counts["passed"] = counts["total"] - counts["failed"] - counts["errors"] - counts["skipped"]
    return counts


def failed_tests(path: Path, limit: int = 20) -> list[str]:
    """The node ids of the failed and erroring tests of a --junitxml file."""
    names = []
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            names.append(f"{case.get('classname')}::{case.get('name')}")
    return names[:limit]


COLLECTED = re.compile(r"(\d+) tests? collected")


ERROR_LINE = re.compile(r"^(error: .*|gpu-check: exit [1-9]\d* .*)$", re.MULTILINE)


def failure_detail(reason: str, output: str) -> str:
    """Why a step failed: its exit, the projects' `error:` lines (the message naming the
    field or file), then the last lines of its output."""
    errors = [m.group(1) for m in ERROR_LINE.finditer(output)][:10]
    parts = [reason, *errors, "last lines:", tail(output)] if errors else [reason, tail(output)]
    return "\n".join(parts)


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------
# Running steps
# ---------------------------------------------------------------------------------------------


def run_command(
    ctx: Context, step: Step, cwd: Path, limit_s: float, env: dict[str, str] | None = None
) -> str | None:
    """Run `step.command` with a timeout; its output (also in a log file), or None when the
    budget is spent before it starts. Sets the status to passed or failed."""
    budget = min(limit_s, ctx.remaining())
    if budget < 5:
        step.status = OUT_OF_TIME
        return None
    log = ctx.work / "logs" / f"{len(ctx.steps):02d}-{slug(step.project)}-{slug(step.name)}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    step.log = str(log.relative_to(ctx.dir))
    start = time.monotonic()
    with log.open("w") as handle:
        process = launch(step.command, cwd, env, handle)
        code = finish(process, start + budget)
    output = log.read_text(errors="replace")
    step.seconds = round(time.monotonic() - start, 2)
    step.warnings = warning_lines(output)
    if code == 0:
        step.status = "passed"
    else:
        step.status = "failed"
        reason = f"exit status {code}"
        if code is None:
            cut = " (the run's time budget)" if budget < limit_s else ""
            reason = f"timed out after {budget:.0f} s{cut}"
        step.detail = failure_detail(reason, output)
    return output


def launch(
    command: list[str], cwd: Path, env: dict[str, str] | None, output: Any
) -> subprocess.Popen[bytes]:
    """`command` in a process group of its own (torchrun's and pytest-xdist's children too)."""
    return subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def finish(process: subprocess.Popen[bytes], deadline: float) -> int | None:
    """Its exit status; None when it ran past `deadline` (its whole group is then killed)."""
    try:
        return process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return None


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def record(ctx: Context, step: Step) -> Step:
    ctx.steps.append(step)
    mark = {"passed": "ok  ", "failed": "FAIL"}.get(step.status, "skip")
    shown = f"{step.seconds:.1f} s" if step.seconds is not None else ""
    reason = "" if step.status in ("passed", "failed") else f"  ({step.status})"
    print(f"[{mark}] {step.project}: {step.name} {shown}{reason}", flush=True)
    return step


def skipped(ctx: Context, step: Step, why: str) -> Step:
    step.status = why
    return record(ctx, step)


# ---------------------------------------------------------------------------------------------
# The environment
# ---------------------------------------------------------------------------------------------


def parent_site_packages() -> list[str]:
    """This interpreter's package folders, including any a .pth file added (a shared torch)."""
    import sysconfig

    purelib = sysconfig.get_paths()["purelib"]
    found = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    return list(dict.fromkeys([purelib, *found]))


def make_env(ctx: Context) -> Step:
    """A venv without pip of its own: pip, torch and the rest come from this interpreter's
    packages through a .pth file; what is installed lands in the venv, nowhere else."""
    env = ctx.work / "env"
    step = Step("virtual environment on this interpreter's packages", "setup", "setup")
    step.command = [sys.executable, "-m", "venv", "--without-pip", str(env)]
    if run_command(ctx, step, ctx.work, 120) is not None and step.status == "passed":
        site = subprocess.run(
            [str(ctx.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        Path(site, "_gpu_check_parent.pth").write_text("\n".join(parent_site_packages()) + "\n")
    return record(ctx, step)


def installed_version(ctx: Context, distribution: str) -> str | None:
    code = (
        "import sys\nfrom importlib import metadata\n"
        "try: print(metadata.version(sys.argv[1]))\nexcept metadata.PackageNotFoundError: pass"
    )
    found = subprocess.run(
        [str(ctx.python), "-c", code, distribution], capture_output=True, text=True
    ).stdout.strip()
    return found or None


def install_wheels(ctx: Context, wheels: list[dict[str, str]]) -> None:
    """Each wheel the manifest lists, unless the environment has that distribution already
    (the machine's own build of it wins); setuptools only where the one there is too old."""
    for wheel in wheels:
        name, file = wheel["name"], ctx.dir / "wheels" / wheel["file"]
        step = Step(f"wheel {name}", "setup", "setup")
        have = installed_version(ctx, name)
        minimum = wheel.get("min_version")
        if have is not None and (minimum is None or version_tuple(have) >= version_tuple(minimum)):
            step.status = "passed"
            step.figures = {"version": have, "source": "already installed"}
            record(ctx, step)
            continue
        step.command = [str(ctx.python), "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
        step.command += ["--find-links", str(ctx.dir / "wheels"), str(file)]
        run_command(ctx, step, ctx.work, 180)
        step.figures = {"version": wheel["version"], "source": f"wheels/{wheel['file']}"}
        record(ctx, step)


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def install_project(ctx: Context, project: dict[str, Any]) -> bool:
    step = Step("pip install --no-deps --no-build-isolation -e", project["name"], "install")
    step.command = [str(ctx.python), "-m", "pip", "install", "-q", "--no-deps"]
    step.command += ["--no-build-isolation", "-e", str(ctx.work / "projects" / project["name"])]
    run_command(ctx, step, ctx.work, 300)
    return record(ctx, step).status == "passed"


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Training:
    name: str
    overrides: list[str]
    torchrun: bool = False
    memory_cap_gib: float | None = None
    out_of_memory: bool = False
    command: tuple[str, ...] = ("train",)
    """The project's subcommand and its options, before the overrides."""


def trainings(project: dict[str, Any]) -> list[Training]:
    """The CUDA runs of a project, from its answers."""
    cuda = ["train.device=cuda", "train.amp=true"]
    epochs = f"train.epochs={TRAIN_EPOCHS}"
    plan = [
        Training(
            f"train {dtype}", [*cuda, epochs, f"train.amp_dtype={dtype}", f"out_dir=runs/{dtype}"]
        )
        for dtype in ("bf16", "fp16")
    ]
    features = project["answers"].get("features", [])
    no_compile = ["train.compile=false"] if "compile" in features else []
    if project["answers"].get("distributed"):
        overrides = [*cuda, "train.epochs=2", "train.amp_dtype=bf16", "out_dir=runs/torchrun"]
        plan.append(Training("torchrun --nproc_per_node=1 (NCCL) bf16", overrides, torchrun=True))
    if project["input_type"] == "images":
        overrides = [*cuda, "train.epochs=2", "train.deterministic=true", *no_compile]
        plan.append(Training("train deterministic bf16", [*overrides, "out_dir=runs/determ"]))
    if "profiling" in features:
        overrides = [*cuda, "out_dir=runs/profile"]
        command = ("profile", "--steps", "5", "--output", "runs/profile")
        plan.append(Training("profile (torch.profiler on CUDA)", overrides, command=command))
    if "auto_batch_size" in features:
        overrides = [*OOM_OVERRIDES, *cuda, *no_compile]
        plan.append(
            Training(
                f"out-of-memory recovery (batch 65,536 on a card capped at {OOM_CAP_GIB:g} GiB)",
                [*overrides, "out_dir=runs/oom"],
                memory_cap_gib=OOM_CAP_GIB,
                out_of_memory=True,
            )
        )
    return plan


def harness_command(ctx: Context, package: str, training: Training) -> list[str]:
    python = [str(ctx.python)]
    if training.torchrun:
        python += ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1"]
    args = [str(HERE / "run_gpu_check.py"), "harness", "--package", package]
    if training.memory_cap_gib is not None:
        args += ["--memory-cap-gib", str(training.memory_cap_gib)]
    return [*python, *args, "--", *training.command, *training.overrides]


def sample_data(ctx: Context, project: dict[str, Any], where: Path) -> str:
    """The sample data (and the out-of-memory run's larger table); `passed`, or the status
    of the step that did not pass."""
    step = Step("sample-data", project["name"], "data")
    step.command = [str(ctx.python), "-m", project["package"], "sample-data"]
    run_command(ctx, step, where, 180)
    status = record(ctx, step).status
    features = project["answers"].get("features", [])
    if status == "passed" and "auto_batch_size" in features and project["input_type"] == "tabular":
        big = Step(f"sample-data --rows {OOM_ROWS} (out-of-memory run)", project["name"], "data")
        big.command = [*step.command, "--rows", str(OOM_ROWS), "--output", "data/big.csv"]
        run_command(ctx, big, where, 180)
        status = record(ctx, big).status
    return status


def parse_trainings(
    ctx: Context, project: dict[str, Any], where: Path, plan: list[Training]
) -> None:
    """Without CUDA: every training's overrides through the project's `config` command (each
    field and value is checked there), in one harness process; the trainings are skipped."""
    step = Step("every training's overrides parse (config)", project["name"], "parse")
    commands = [["config", *training.overrides] for training in plan]
    # The other subcommands' options: that they exist (argparse's --help exits 0).
    commands += [
        [training.command[0], "--help"] for training in plan if training.command[0] != "train"
    ]
    step.command = [str(ctx.python), str(HERE / "run_gpu_check.py"), "harness"]
    step.command += ["--package", project["package"], "--each", json.dumps(commands)]
    run_command(ctx, step, where, 180)
    step.figures = {"commands": len(commands)}
    record(ctx, step)
    if any(training.torchrun for training in plan):
        launcher = Step("torchrun is there (--help)", project["name"], "parse")
        launcher.command = [str(ctx.python), "-m", "torch.distributed.run", "--help"]
        run_command(ctx, launcher, where, 60)
        record(ctx, launcher)
    for training in plan:
        train = Step(training.name, project["name"], training.command[0])
        train.command = harness_command(ctx, project["package"], training)
        skipped(ctx, train, NO_CUDA)


def check_training(ctx: Context, project: dict[str, Any], where: Path, training: Training) -> None:
    """On CUDA: the training, and its figures from its output and run folder."""
    step = Step(training.name, project["name"], training.command[0])
    step.command = harness_command(ctx, project["package"], training)
    output = run_command(ctx, step, where, 240)
    if output is not None:
        out_dir = next(o.split("=", 1)[1] for o in training.overrides if o.startswith("out_dir="))
        step.figures = training_figures(output, where / out_dir)
        recovered = "out_of_memory_at" in step.figures
        if training.out_of_memory and step.status == "passed" and not recovered:
            step.status = "failed"
            step.detail = "no out-of-memory happened: the recovery path did not run"
    record(ctx, step)


def collect_suites(ctx: Context, projects: list[dict[str, Any]]) -> None:
    """Without CUDA: each project's suite collected; its run reported as skipped."""
    for project in projects:
        step = Step("pytest --collect-only", project["name"], "pytest")
        step.command = [str(ctx.python), "-m", "pytest", "--collect-only", "-q"]
        step.command += ["-p", "no:cacheprovider"]
        output = run_command(ctx, step, ctx.work / "projects" / project["name"], 240)
        found = COLLECTED.search(output or "")
        if found:
            step.figures = {"collected": int(found.group(1))}
        record(ctx, step)
        suite = Step(SUITE, project["name"], "pytest")
        skipped(ctx, suite, NO_CUDA)


@dataclass
class Suite:
    step: Step
    process: subprocess.Popen[bytes]
    handle: Any
    junit: Path
    log: Path
    started: float
    code: int | None = None
    """Its exit status; None when it was stopped at the budget."""
    ended: float | None = None
    watcher: threading.Thread | None = None

    def watch(self, deadline: float) -> None:
        """Wait for it in a thread, stopping it at `deadline`, its end time taken as it ends."""

        def wait() -> None:
            self.code = finish(self.process, deadline)
            self.ended = time.monotonic()

        self.watcher = threading.Thread(target=wait, daemon=True)
        self.watcher.start()


def start_suites(ctx: Context, projects: list[dict[str, Any]], xdist: bool) -> list[Suite]:
    """Each project's full suite, in the background and side by side, while the trainings run
    in the foreground (two cores left to them); they must end before the benchmarks."""
    workers = max(1, (ctx.cpus - 2) // max(len(projects), 1))
    suites = []
    for project in projects:
        step = Step(SUITE, project["name"], "pytest")
        junit = ctx.work / "logs" / f"junit-{project['name']}.xml"
        step.command = [str(ctx.python), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        step.command += [f"--junitxml={junit}", *ctx.pytest_args]
        if xdist:
            step.command += ["-n", str(workers)]
        if ctx.remaining() - BENCH_RESERVE_S < 30:
            skipped(ctx, step, OUT_OF_TIME)
            continue
        log = ctx.work / "logs" / f"pytest-{project['name']}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        handle = log.open("w")
        where = ctx.work / "projects" / project["name"]
        process = launch(step.command, where, {"OMP_NUM_THREADS": "1"}, handle)
        step.log = str(log.relative_to(ctx.dir))
        suite = Suite(step, process, handle, junit, log, time.monotonic())
        suite.watch(ctx.deadline - BENCH_RESERVE_S)
        suites.append(suite)
    return suites


def finish_suites(ctx: Context, suites: list[Suite]) -> None:
    for suite in suites:
        step = suite.step
        if suite.watcher is not None:
            suite.watcher.join()
        code = suite.code
        suite.handle.close()
        step.seconds = round((suite.ended or time.monotonic()) - suite.started, 2)
        output = suite.log.read_text(errors="replace")
        if suite.junit.is_file():
            step.figures = {
                **junit_counts(suite.junit),
                "failed_tests": failed_tests(suite.junit),
            }
        step.status = "passed" if code == 0 else "failed"
        if code != 0:
            reason = "timed out (the budget)" if code is None else f"exit status {code}"
            step.detail = failure_detail(reason, output)
        record(ctx, step)


def benchmark_figures(result: dict[str, Any]) -> dict[str, Any]:
    """A benchmark worker's result: each contender's median, its ratio to the baseline's
    rounds beside it (the raw loop), the loss agreement and the notes."""
    rows = [row for row in result.get("rows", []) if isinstance(row, dict)]
    ratios = {}
    for row in rows:
        paired = [x for x in row.get("baseline_rounds") or [] if isinstance(x, int | float)]
        if row.get("median") is not None and paired:
            ratios[row["name"]] = row["median"] / statistics.median(paired)
    figures: dict[str, Any] = {
        "unit": result.get("unit"),
        "rows": {row.get("name"): row.get("median") for row in rows},
    }
    if ratios:
        figures["ratio_to_baseline"] = ratios
    for key in ("agreement", "notes", "metrics"):
        if result.get(key):
            figures[key] = result[key]
    return figures


def benchmark_steps(ctx: Context, bench: dict[str, str]) -> None:
    """The step and image-pipeline benchmarks with --device cuda, from DIR (the copied
    `benchmarks` package) on the pre-rendered projects."""
    for section, kind in BENCH_SECTIONS.items():
        step = Step(f"python -m benchmarks.worker {section} --device cuda", "benchmarks", "bench")
        out = ctx.work / "bench" / f"{section}.json"
        step.command = [str(ctx.python), "-m", "benchmarks.worker", section, "--device", "cuda"]
        step.command += ["--project", str(ctx.dir / bench[kind]), "--threads", "1"]
        step.command += ["--workdir", str(ctx.work / "bench" / section), "--out", str(out)]
        if not ctx.full_benchmarks:
            step.command.append("--quick")
        if not ctx.cuda:
            skipped(ctx, step, NO_CUDA)
            continue
        run_command(ctx, step, ctx.dir, 240)
        if out.is_file():
            step.figures = benchmark_figures(json.loads(out.read_text()))
        record(ctx, step)
    if not ctx.cuda:
        parse = Step("python -m benchmarks.worker --help", "benchmarks", "parse")
        parse.command = [str(ctx.python), "-m", "benchmarks.worker", "--help"]
        run_command(ctx, parse, ctx.dir, 60)
        record(ctx, parse)


# ---------------------------------------------------------------------------------------------
# The machine and the report
# ---------------------------------------------------------------------------------------------

PROBE = """
import json, platform, torch
info = {"python": platform.python_version(), "torch": torch.__version__,
        "cuda_runtime": torch.version.cuda, "cuda_available": torch.cuda.is_available()}
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    info.update(gpu=p.name, gpu_memory_gib=round(p.total_memory / 2**30, 1),
                capability=".".join(map(str, torch.cuda.get_device_capability(0))),
                gpus=torch.cuda.device_count())
print(json.dumps(info))
"""


def probe(python: Path | str) -> dict[str, Any]:
    result = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True)
    if result.returncode != 0:
        return {"torch": f"not importable ({tail(result.stdout + result.stderr, 1)})"}
    return json.loads(result.stdout.strip().splitlines()[-1])


def summary(steps: list[Step]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for step in steps:
        counts["skipped" if step.status.startswith("skipped") else step.status] += 1
    return counts


def shown_figures(figures: dict[str, Any]) -> str:
    """The figures of a step on one table cell."""
    parts = []
    for key, value in figures.items():
        if key in ("metrics", "rows", "profile", "ratio_to_baseline") and isinstance(value, dict):
            inner = ", ".join(f"{k} {number(v)}" for k, v in value.items())
            parts.append(f"{key}: {inner}")
        elif key == "failed_tests" and not value:
            continue
        elif isinstance(value, list):
            parts.append(f"{key} {', '.join(number(v) for v in value)}")
        else:
            parts.append(f"{key} {number(value)}")
    return "; ".join(parts).replace("|", "/").replace("\n", " ")


def number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_markdown(report: dict[str, Any]) -> str:
    machine, counts = report["machine"], report["summary"]
    lines = [
        "# GPU check",
        "",
        f"- mode: **{report['mode']}**" + (f" ({report['reason']})" if report["reason"] else ""),
        f"- started {report['started']}, {report['duration_s']:.0f} s "
        f"(budget {report['budget_s']} s); prepared {report['prepared'].get('date', '?')} "
        f"at {report['prepared'].get('revision', '?')}",
        "- machine: "
        + ", ".join(f"{k} {v}" for k, v in machine.items() if not isinstance(v, dict)),
        f"- outcome: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped",
        *torch_note(report),
        *(
            [
                "- the trainings ran beside the test suites: their samples/s show that the paths "
                "work, not how fast (the benchmarks ran alone)"
            ]
            if report["mode"] != "dry-run"
            else []
        ),
        "",
        "| project | step | status | s | figures |",
        "| --- | --- | --- | --- | --- |",
    ]
    for step in report["steps"]:
        seconds = f"{step['seconds']:.1f}" if step["seconds"] is not None else ""
        status = step["status"] if step["status"] != "failed" else "**failed**"
        lines.append(
            f"| {step['project']} | {step['name']} | {status} | {seconds} | "
            f"{shown_figures(step['figures'])} |"
        )
    warned = [s for s in report["steps"] if s["warnings"]]
    if warned:
        lines += ["", "## Warnings", ""]
        for step in warned:
            lines += [f"- {step['project']}, {step['name']}:"]
            lines += [f"  - `{w}`" for w in step["warnings"]]
    failed = [s for s in report["steps"] if s["status"] == "failed"]
    if failed:
        lines += ["", "## Failures", ""]
        for step in failed:
            lines += [f"### {step['project']}: {step['name']}", ""]
            lines += [f"`{' '.join(step['command'])}` (log: {step['log']})", "", "```"]
            lines += [step["detail"], "```", ""]
    lines += ["", "## Commands", ""]
    for step in report["steps"]:
        if step["command"]:
            lines.append(f"- {step['project']}, {step['name']}: `{' '.join(step['command'])}`")
    return "\n".join(lines).rstrip() + "\n"


def torch_note(report: dict[str, Any]) -> list[str]:
    """A line when the wheels were fetched for another torch or Python than this machine's."""
    prepared, machine = report["prepared"], report["machine"]
    lines = []
    for key in ("torch", "python"):
        here, there = machine.get(key), prepared.get(key)
        if here and there and here.split("+")[0] != there.split("+")[0]:
            lines.append(
                f"- note: the wheels were fetched for {key} {there}, this machine has {here} "
                "(torchao and torchcodec are built for one torch: expect their warnings)"
            )
    return lines


def write_report(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "report.json", out / "report.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    md_path.write_text(render_markdown(report))
    return md_path, json_path


def build_report(
    ctx: Context,
    manifest: dict[str, Any],
    started: datetime.datetime,
    seconds: float,
    reason: str,
    budget: float,
    machine: dict[str, Any],
) -> dict[str, Any]:
    return {
        "mode": ("rehearsal" if "--rehearse" in reason else "cuda") if ctx.cuda else "dry-run",
        "reason": reason,
        "started": started.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "duration_s": round(seconds, 1),
        "budget_s": budget,
        "prepared": manifest.get("prepared", {}),
        "machine": machine,
        "summary": summary(ctx.steps),
        "steps": [asdict(step) for step in ctx.steps],
    }


# ---------------------------------------------------------------------------------------------
# The harness: one project command in this process, with the CUDA figures
# ---------------------------------------------------------------------------------------------


def harness(argv: Sequence[str]) -> int:
    """`harness --package PKG [--memory-cap-gib G] -- COMMAND ARGS`: the project's CLI with
    torch.compile timed, the card capped (the out-of-memory run), and the peak CUDA memory
    printed at the end, as `gpu-check: NAME VALUE` lines."""
    import importlib

    parser = argparse.ArgumentParser(prog="run_gpu_check.py harness")
    parser.add_argument("--package", required=True)
    parser.add_argument("--memory-cap-gib", type=float)
    parser.add_argument(
        "--each", help="a JSON list of argument lists: run the CLI on each (the dry run's config)"
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    if args.each is not None:
        return run_each(args.package, json.loads(args.each))
    import torch

    if args.memory_cap_gib is not None and torch.cuda.is_available():
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, args.memory_cap_gib * 2**30 / total))
        print(f"gpu-check: memory_cap_gib {args.memory_cap_gib}", flush=True)
    train_module = importlib.import_module(f"{args.package}.train")
    compile_seconds: list[float] = []
    original = getattr(train_module, "compile_in_place", None)
    if original is not None:

        def timed_compile(*positional: Any, **named: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*positional, **named)
            finally:
                if torch.cuda.is_available() and torch.cuda.is_initialized():
                    torch.cuda.synchronize()
                compile_seconds.append(time.perf_counter() - start)

        setattr(train_module, "compile_in_place", timed_compile)  # noqa: B010 (a module's name)
    cli = importlib.import_module(f"{args.package}.cli")
    code = int(cli.main(rest))
    if compile_seconds:
        print(f"gpu-check: compile_s {sum(compile_seconds):.2f}", flush=True)
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        peak = torch.cuda.max_memory_allocated() / 2**20
        print(f"gpu-check: peak_memory_mib {peak:.1f}", flush=True)
        reserved = torch.cuda.max_memory_reserved() / 2**20
        print(f"gpu-check: peak_reserved_mib {reserved:.1f}", flush=True)
    return code


def run_each(package: str, commands: list[list[str]]) -> int:
    """The project's CLI on each argument list in this one process (one torch import); the
    first non-zero exit status, or 0."""
    import importlib

    cli = importlib.import_module(f"{package}.cli")
    worst = 0
    for command in commands:
        try:
            code = int(cli.main(command))
        except SystemExit as error:  # argparse's usage errors
            code = error.code if isinstance(error.code, int) else 2
        print(f"gpu-check: exit {code} {' '.join(command)}", flush=True)
        worst = worst or code
    return worst


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="run_gpu_check.py",
        description="The GPU check's run half (offline): installs, trains, tests, benchmarks.",
    )
    parser.add_argument("dir", nargs="?", type=Path, default=HERE, help="the prepared folder")
    parser.add_argument(
        "--dry-run", action="store_true", help="report every CUDA step as skipped, run the rest"
    )
    parser.add_argument(
        "--rehearse",
        action="store_true",
        help="run the CUDA steps without a CUDA device (the projects fall back to the CPU "
        "with a warning; the out-of-memory and benchmark steps then fail): tests this script",
    )
    parser.add_argument(
        "--pytest-args",
        default="",
        help="more pytest arguments for the suites, e.g. \"-k 'amp or loader'\" (default: none)",
    )
    parser.add_argument(
        "--full-benchmarks",
        action="store_true",
        help="the benchmarks' full sizes and repeats instead of --quick (minutes more)",
    )
    parser.add_argument(
        "--budget-s",
        type=float,
        default=DEFAULT_BUDGET_S,
        help=f"seconds for the whole run; later steps are skipped (default {DEFAULT_BUDGET_S})",
    )
    parser.add_argument("--report-dir", type=Path, help="default: DIR")
    return parser.parse_args(argv)


def run_steps(ctx: Context, manifest: dict[str, Any]) -> None:
    """Every step: installs; the suites in the background while each project trains in the
    foreground; then the benchmarks, alone on the machine."""
    if make_env(ctx).status != "passed":
        # No venv module (a Debian python without python3-venv): this interpreter's own
        # environment then, as the issue first described it; the failure stays in the report.
        ctx.python = Path(sys.executable)
    install_wheels(ctx, manifest["wheels"])
    xdist = installed_version(ctx, "pytest-xdist") is not None
    installed = [p for p in manifest["projects"] if install_project(ctx, p)]
    suites = start_suites(ctx, installed, xdist) if ctx.cuda else []
    for project in installed:
        train_project(ctx, project)
    if ctx.cuda:
        finish_suites(ctx, suites)
    else:
        collect_suites(ctx, installed)
    benchmark_steps(ctx, manifest["bench"])


def train_project(ctx: Context, project: dict[str, Any]) -> None:
    """Sample data and every run of `project`, in a copy of its folder (data/, runs/): the
    suite runs in the folder itself meanwhile."""
    where = ctx.work / "train" / project["name"]
    shutil.copytree(ctx.work / "projects" / project["name"], where, symlinks=True)
    plan = trainings(project)
    data = sample_data(ctx, project, where)
    if data != "passed":
        why = data if data.startswith("skipped") else "skipped: its sample data failed"
        for training in plan:
            skipped(ctx, Step(training.name, project["name"], training.command[0]), why)
        return
    if not ctx.cuda:
        parse_trainings(ctx, project, where, plan)
        return
    for training in plan:
        check_training(ctx, project, where, training)


def usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["harness"]:
        return harness(argv[1:])
    args = parse(argv)
    folder = args.dir.resolve()
    manifest = json.loads((folder / "manifest.json").read_text())
    started = datetime.datetime.now(datetime.timezone.utc)
    clock = time.monotonic()
    work = folder / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    # Projects are copied: trainings write data/ and runs/ into them, and DIR stays as prepared.
    shutil.copytree(folder / "projects", work / "projects", symlinks=True)
    machine = probe(sys.executable)
    has_cuda = bool(machine.get("cuda_available"))
    if args.dry_run:
        reason = "--dry-run"
    elif args.rehearse:
        reason = "--rehearse: the CUDA steps on " + ("CUDA" if has_cuda else "the CPU")
    else:
        reason = "" if has_cuda else "torch sees no CUDA device"
    machine.update(cpus=usable_cpus(), platform=platform.platform(terse=True))
    ctx = Context(
        dir=folder,
        work=work,
        python=work / "env" / "bin" / "python",
        cuda=(has_cuda or args.rehearse) and not args.dry_run,
        deadline=clock + args.budget_s,
        cpus=machine["cpus"],
        pytest_args=shlex.split(args.pytest_args),
        full_benchmarks=args.full_benchmarks,
    )
    print(f"GPU check in {folder}: {'CUDA' if ctx.cuda else 'dry run'}; {machine}", flush=True)
    try:
        run_steps(ctx, manifest)
    except Exception as error:  # a bug here must still leave a report of what ran
        crash = Step("run_gpu_check.py itself", "setup", "setup", status="failed")
        crash.detail = f"{type(error).__name__}: {error}"
        record(ctx, crash)
    report = build_report(
        ctx, manifest, started, time.monotonic() - clock, reason, args.budget_s, machine
    )
    md_path, json_path = write_report(report, args.report_dir or folder)
    counts = report["summary"]
    print(
        f"\nGPU check ({report['mode']}): {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped in {report['duration_s']:.0f} s; report: {md_path}, "
        f"{json_path}",
        flush=True,
    )
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
