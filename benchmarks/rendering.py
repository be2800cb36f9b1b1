"""(c) Rendering time per combination, and a freshly installed default project's first epoch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from benchmarks.project import ROOT, render_project
from benchmarks.stats import interleaved, median, summarize


def run_render(is_quick: bool, workdir: Path) -> dict:
    """`copier copy` of each combination of the covering set, in process, timed."""
    warnings.filterwarnings("ignore", "Dirty template changes")  # copier: uncommitted edits
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from generator.matrix import combination_id, covering_set

    combinations = covering_set()[:1] if is_quick else covering_set()
    repeats = 1 if is_quick else 3
    render_project({}, workdir / "warm-up")  # imports and copier's first-call set-up, untimed
    seconds: dict[str, list[Clocks]] = {combination_id(a): [] for a in combinations}
    failed: dict[str, str] = {}
    for repeat in range(repeats):
        for answers in interleaved(combinations, repeat):
            name = combination_id(answers)
            if name in failed:
                continue
            dst = workdir / f"render-{len(os.listdir(workdir))}"
            start = clocks()
            try:
                render_project(answers, dst)
            except Exception as error:
                failed[name] = f"failed: {type(error).__name__}: {error}".splitlines()[0]
                continue
            seconds[name].append(clocks() - start)
            shutil.rmtree(dst)
    rows = []
    for name, times in seconds.items():
        row = summarize(name, name, [t.cpu for t in times], failed.get(name, ""))
        row["secondary"] = median([t.wall for t in times])
        rows.append(row)
        shown = f"{row['median']:.2f} s CPU" if row["median"] is not None else row["note"]
        print(f"  {shown:>10}  {name}")
    medians = [r["median"] for r in rows if r["median"] is not None]
    walls = [r["secondary"] for r in rows if r["secondary"] is not None]
    notes = [f"{len(failed)} combination(s) failed to render"] if failed else []
    return {
        "section": "render",
        "title": "Rendering: `copier copy` per combination of the covering set (in process)",
        "device": "cpu",
        "unit": "s (CPU)",
        "secondary_header": "median s (wall)",
        "higher_is_better": False,
        "baseline": None,
        "rows": rows,
        "agreement": "",
        "notes": notes,
        "metrics": {
            "render_max_s": max(medians) if medians else None,
            "render_max_wall_s": max(walls) if walls else None,
            "render_failed": len(failed),
        },
        "setup": (
            f"{len(combinations)} combination(s), {repeats} interleaved render(s) each, "
            "rendering this working tree (vcs_ref=HEAD), after one untimed warm-up render"
        ),
    }


@dataclass(frozen=True)
class Clocks:
    wall: float
    cpu: float
    """This process's CPU time plus that of its finished children (copier's git calls)."""

    def __sub__(self, other: Clocks) -> Clocks:
        return Clocks(self.wall - other.wall, self.cpu - other.cpu)


def clocks() -> Clocks:
    times = os.times()  # children's CPU time counts once they have been waited for
    cpu = time.process_time() + times.children_user + times.children_system
    return Clocks(time.perf_counter(), cpu)


def parent_site_packages() -> list[str]:
    """This interpreter's package folders (its own and any a .pth file added: a shared torch)."""
    purelib = sysconfig.get_paths()["purelib"]
    found = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    return list(dict.fromkeys([purelib, *found]))


def timed_run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return seconds


def run_first_epoch(device: str, is_quick: bool, workdir: Path) -> dict:
    """Render the defaults, install them into a new venv, write the sample data, train one epoch.

    The venv sees this interpreter's packages (torch and the rest) through a .pth file, as
    the noxfile's shared torch does, so only the project itself is installed (--no-deps).
    The first epoch is the wall time of `<project> train train.epochs=1`: a new process
    importing torch, reading and encoding the data, one epoch, evaluation, checkpoints.
    `is_quick` skips the venv and the install: `python -m my_torch_project` from src/.
    """
    warnings.filterwarnings("ignore", "Dirty template changes")
    start = time.perf_counter()
    project = render_project({}, workdir / "fresh")
    render_s = time.perf_counter() - start
    notes: list[str] = []
    if is_quick:
        notes.append("--quick: not installed; ran `python -m my_torch_project` from src/")
        venv_s = install_s = None
        command = [sys.executable, "-m", "my_torch_project"]
        env: dict[str, str] | None = {**os.environ, "PYTHONPATH": str(project / "src")}
    else:
        venv_s, install_s, command, env = install(project, workdir, notes)
    sample_s = timed_run([*command, "sample-data"], project, env)
    train_s = timed_run(
        [*command, "train", "train.epochs=1", f"train.device={device}"], project, env
    )
    # The default out_dir is runs/{time}; runs/latest points at the newest run.
    history = (project / "runs" / "latest" / "history.jsonl").read_text().splitlines()
    record = json.loads(history[0])
    rows = 0
    if (project / "data" / "train.csv").is_file():
        rows = sum(1 for _ in (project / "data" / "train.csv").open()) - 1
    epoch_loop_s = None
    if rows:
        train_rows = rows - round(rows * 0.2)
        epoch_loop_s = train_rows / record["samples_per_s"]
    labelled = [
        ("render", "render the default answers (in process)", render_s),
        ("venv", "python -m venv", venv_s),
        ("install", "pip install --no-deps -e (build isolation)", install_s),
        ("sample-data", "`my-torch-project sample-data` (2,000 rows)", sample_s),
        ("first-epoch", "`my-torch-project train train.epochs=1`, process start to exit", train_s),
        (
            "epoch-loop",
            "of which the training loop (about: from samples/s in history.jsonl)",
            epoch_loop_s,
        ),
    ]
    for _, label, seconds in labelled:
        print(f"  {'-' if seconds is None else f'{seconds:.2f} s':>8}  {label}")
    return {
        "section": "first-epoch",
        "title": "A freshly installed default project: sample data, then its first epoch",
        "device": device,
        "unit": "s",
        "higher_is_better": False,
        "baseline": None,
        "rows": [
            summarize(name, label, [] if s is None else [s], "" if s is not None else "not run")
            for name, label, s in labelled
        ],
        "agreement": "",
        "notes": notes,
        "metrics": {"first_epoch_s": train_s},
        "setup": f"One run, device {device}, default answers and config (train.epochs=1)",
    }


def install(
    project: Path, workdir: Path, notes: list[str]
) -> tuple[float, float | None, list[str], dict[str, str] | None]:
    """A new venv seeing this interpreter's packages, with `project` installed (--no-deps).

    (venv seconds, install seconds or None, the project's command, its environment).
    """
    venv = workdir / "venv"
    venv_s = timed_run([sys.executable, "-m", "venv", str(venv)], workdir)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "_benchmarks_parent.pth").write_text("\n".join(parent_site_packages()) + "\n")
    try:
        install_s = timed_run(
            [str(python), "-m", "pip", "install", "-q", "--no-deps", "-e", str(project)], workdir
        )
        command = [str(bindir / "my-torch-project")]
        env = None
    except RuntimeError as error:
        install_s = None
        reason = str(error).strip().splitlines()[-1]
        notes.append(f"pip install failed ({reason}); ran `python -m my_torch_project` instead")
        command = [str(python), "-m", "my_torch_project"]
        env = {**os.environ, "PYTHONPATH": str(project / "src")}
    return venv_s, install_s, command, env
