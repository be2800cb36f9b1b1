"""Sessions: the generator's tests, and one session per answer combination that renders a project
and runs its own tests, ruff and mypy.

    nox                                   # default: tests, the covering set of projects, update
    nox -s slow benchmarks gpu            # the slow tests the default run leaves out, the
                                          # benchmarks' smoke run and the GPU check's dry run
    nox -s demo                           # render the defaults, train on the sample data
    nox -s "project(defaults)"            # one combination of the covering set
    nox -s answers -- task=regression features=[amp]   # any combination, by its answers

torch is installed once per machine into a shared environment (.nox/_shared-torch) that
every project session sees through a .pth file, so no session downloads or unpacks torch.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import nox
import yaml

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from generator.matrix import combination_id, covering_set  # noqa: E402
from generator.questions import TEMPLATE_ROOT, render_name, resolve  # noqa: E402
from generator.render import render  # noqa: E402

nox.options.sessions = ["tests", "project", "update"]
"""The default run: within CI's budget on 2 cores (.ci/run). `slow` (the slow tests of all but
the defaults, about 10 minutes), `benchmarks` and `gpu` (4 minutes together) run in a job of
their own on GitHub (.github/workflows/ci.yml, `checks`), beside it; the benchmarks' and the
GPU check's unit tests (tests/test_benchmarks.py, tests/test_gpu_check.py) run in `tests`."""
logging.getLogger("plumbum").setLevel(logging.WARNING)  # copier's git calls, one line each
nox.options.reuse_existing_virtualenvs = True

TORCH = os.environ.get("TORCH_SPEC", "torch==2.14.1 torchvision==0.29.1").split()
"""What the shared environment installs for torch; override with TORCH_SPEC."""
SHARED_DEPS = [
    *("numpy", "pandas", "pyarrow", "pyyaml", "tqdm", "pytest", "pytest-xdist", "ruff", "mypy"),
    *("types-PyYAML", "types-tqdm"),
    *("tensorboard", "onnx", "onnxscript", "onnxruntime", "safetensors", "hypothesis"),
    *("matplotlib", "torchao", "torchcodec"),
    *("optuna", "timm", "mlflow-skinny", "sqlalchemy<2.1", "alembic"),
]
"""The generated projects' other heavy dependencies, installed once with torch (and pytest-xdist,
which runs their tests on every core)."""
PARALLEL_PYTEST = ["-n", "auto"]
"""pytest-xdist: a worker per core, taking the next test as it is free."""
ONE_THREAD = {"OMP_NUM_THREADS": "1"}
"""torch threads per pytest worker: with a worker per core, more threads only contend."""
SHARED_ENV = ROOT / ".nox" / "_shared-torch"
REPORTS = ROOT / ".nox" / "_reports"
COMBINATIONS = {combination_id(answers): answers for answers in covering_set()}
TEMPLATE_TESTS = TEMPLATE_ROOT / "template" / "tests"


class Selection(NamedTuple):
    """What one combination's suite runs."""

    markers: list[str]
    """The project session's pytest arguments (none: every test)."""
    slow_files: list[str]
    """Test files whose slow tests (not `workers`) the slow session runs here."""


def shared_site_packages(session: nox.Session) -> Path:
    """Create the shared torch environment once; its site-packages folder."""
    marker = SHARED_ENV / "installed.json"
    wanted = {"torch": TORCH, "deps": SHARED_DEPS}
    python = SHARED_ENV / "bin" / "python"
    if not marker.is_file() or json.loads(marker.read_text()) != wanted:
        session.log(f"installing {' '.join(TORCH)} once into {SHARED_ENV}")
        session.run(sys.executable, "-m", "venv", "--clear", str(SHARED_ENV), external=True)
        session.run(str(python), "-m", "pip", "install", "-q", "--upgrade", "pip", external=True)
        # Byte-compiled at install (about 40 s): compiled on first import instead, a module
        # with an invalid escape (torchao's quant_api) warns, and the suites make warnings errors.
        session.run(str(python), "-m", "pip", "install", "-q", *TORCH, *SHARED_DEPS, external=True)
        marker.write_text(json.dumps(wanted))
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return Path(site)


def use_shared_torch(session: nox.Session) -> None:
    """Make the shared environment's packages importable in this session's virtualenv."""
    shared = shared_site_packages(session)
    own = session.run(
        "python",
        "-c",
        "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        silent=True,
    )
    assert isinstance(own, str)
    Path(own.strip(), "_shared_torch.pth").write_text(f"{shared}\n")


def test_files(answers: dict[str, object]) -> dict[str, Path]:
    """The test files a combination's project has, by name, each with its template (the
    template's tests/ folder, its conditional names rendered as Copier renders them)."""
    names = {render_name(path.name, answers): path for path in TEMPLATE_TESTS.iterdir()}
    return {name: path for name, path in names.items() if name.startswith("test_")}


def slow_test_files(answers: dict[str, object]) -> set[str]:
    """The test files of a combination's project that hold tests marked slow."""
    files = test_files(answers).items()
    return {name for name, path in files if "pytest.mark.slow" in path.read_text()}


ANSWER_BOUND = re.compile(r"features|distributed|parallelism|backbone")
"""In a test file's template name: the file comes with an answer (test_tuning.py with `tune`),
not with every project of a kind of input."""
KIND_COST = {"tabular": 0, "text": 1, "images": 2}
"""How dear each kind of input makes a slow test (a tabular run takes seconds, an image one
many more)."""


def test_selection(combinations: dict[str, dict[str, object]]) -> dict[str, Selection]:
    """What each combination's suites run, to keep the default run within CI's budget.

    The default run (`project`) runs each combination's tests but those marked slow; the
    defaults run those marked `workers` too (killed five times and resumed bit for bit with
    loader workers; Ctrl-C to a run and its workers). The `slow` session runs the other
    slow tests (runs killed and resumed, signals, torchrun, the README's commands; each a
    process or several of their own) once per test file that holds them: a file every
    project of a kind of input has (tabular, text, images) in the combination of that kind
    with the fewest features, without `distributed` (for tabular data, the defaults); a file
    that comes with an answer (test_tuning.py with `tune`, test_distributed.py with
    `distributed`) in the cheapest combination that has it, tabular before text before
    images. `nox -s answers` runs every test of any combination.
    """

    answers_of = {name: resolve(answers)[0] for name, answers in combinations.items()}

    def resolved(name: str) -> dict[str, Any]:
        return answers_of[name]

    def kind(name: str) -> str:
        answers = resolved(name)
        return "images" if answers["data_format"] == "images" else str(answers["input_kind"])

    def cost(name: str) -> tuple[int, bool, int]:
        answers = resolved(name)
        return (KIND_COST[kind(name)], bool(answers["distributed"]), len(answers["features"]))

    templates = {name: test_files(answers) for name, answers in combinations.items()}
    files = {name: slow_test_files(answers) for name, answers in combinations.items()}
    by_kind: dict[str, str] = {}  # each kind of input's combination with the fewest features
    for name in sorted(combinations, key=lambda name: cost(name)[1:]):
        by_kind.setdefault(kind(name), name)
    owned: dict[str, set[str]] = {name: set() for name in combinations}
    for file in sorted(set().union(*files.values())):
        having = [name for name in combinations if file in files[name]]
        bound = any(ANSWER_BOUND.search(templates[name][file].name) for name in having)
        kinds = [name for name in by_kind.values() if file in files[name]]
        for name in kinds if kinds and not bound else [min(having, key=cost)]:
            owned[name].add(file)
    defaults = next(iter(combinations))
    return {
        name: Selection(
            ["-m", "not slow or workers" if name == defaults else "not slow"],
            [f"tests/{file}" for file in sorted(owned[name])],
        )
        for name in combinations
    }


SELECTION = test_selection(COMBINATIONS)


def install_project(session: nox.Session, answers: dict[str, object]) -> Path:
    """Render `answers` into the session's folder and install the project; its path."""
    use_shared_torch(session)
    project = Path(session.create_tmp()).resolve() / "project"  # nox may return it relative
    shutil.rmtree(project, ignore_errors=True)  # a reused session must not keep stale files
    render(answers, project)
    # Its own repository, as a user's project is: tools then read the project's .gitignore,
    # not this repository's (which ignores .nox/ and so every file of the project).
    session.run("git", "init", "-q", str(project), external=True)
    # Built with the environment's setuptools (virtualenv puts one in every session; 77 or
    # newer reads the PEP 639 license): an isolated build would install its own each time,
    # 10 of the 12 seconds this step takes.
    session.install("-q", "--no-build-isolation", "-e", f"{project}[dev]")
    session.chdir(project)
    REPORTS.mkdir(parents=True, exist_ok=True)
    return project


def run_pytest(session: nox.Session, report: str, *args: str) -> None:
    """The project's pytest on every core, one torch thread each, with a JUnit report."""
    # `python -m`: the tools live in the shared environment, which has no scripts on PATH here.
    # worksteal: an idle worker takes tests queued for another (the last ones run for a minute).
    pytest = ["python", "-m", "pytest", "-q", *PARALLEL_PYTEST, "--dist", "worksteal"]
    junit = f"--junitxml={REPORTS / f'{report}.xml'}"
    session.run(*pytest, *args, junit, env=ONE_THREAD)


def check_project(
    session: nox.Session, answers: dict[str, object], name: str, markers: list[str]
) -> None:
    """Render `answers`, install the project, run its tests (`markers` selects), ruff and mypy."""
    install_project(session, answers)
    run_pytest(session, f"project-{name}", *markers)
    session.run("python", "-m", "ruff", "check", ".")
    session.run("python", "-m", "ruff", "format", "--check", ".")
    session.run("python", "-m", "mypy", env={"MYPY_CACHE_DIR": str(ROOT / ".nox" / "_mypy_cache")})


@nox.session
def tests(session: nox.Session) -> None:
    """The generator's and the template's own tests."""
    session.install("-q", "-e", ".[dev]")
    REPORTS.mkdir(parents=True, exist_ok=True)
    junit = f"--junitxml={REPORTS / 'tests.xml'}"
    # Each test file on one worker: the update tests' module fixtures render releases once.
    session.run("pytest", "-q", *PARALLEL_PYTEST, "--dist", "loadfile", junit, *session.posargs)


@nox.session
@nox.parametrize("combination", list(COMBINATIONS), ids=list(COMBINATIONS))
def project(session: nox.Session, combination: str) -> None:
    """One combination of the covering set: its tests but the slow ones (the defaults run
    their `workers` ones too)."""
    check_project(session, COMBINATIONS[combination], combination, SELECTION[combination].markers)


SLOW = [name for name, selection in SELECTION.items() if selection.slow_files]


@nox.session
@nox.parametrize("combination", SLOW, ids=SLOW)
def slow(session: nox.Session, combination: str) -> None:
    """The slow tests the default run leaves out, each test file's once (test_selection):
    `nox -s slow` runs them all, in a job of their own on GitHub (`checks`)."""
    install_project(session, COMBINATIONS[combination])
    files = SELECTION[combination].slow_files
    run_pytest(session, f"slow-{combination}", "-m", "slow and not workers", *files)


@nox.session
def answers(session: nox.Session) -> None:
    """Any combination: `nox -s answers -- key=value ...` (values in YAML: features=[amp, ema])."""
    given = {}
    for arg in session.posargs:
        key, _, value = arg.partition("=")
        given[key] = yaml.safe_load(value)
    check_project(session, given, combination_id(given), [])


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: render the defaults, install, write the sample data, train, evaluate, predict.

    It closes with where the project and its run are, and what to try next; `.ci/run` runs
    it beside the tests, so the README's first command cannot break unseen.
    """
    use_shared_torch(session)
    project = Path(session.create_tmp()).resolve() / "demo"  # nox may return it relative
    shutil.rmtree(project, ignore_errors=True)
    render({}, project)
    session.install("-q", "-e", str(project))
    session.chdir(project)
    command = resolve({})[0]["project_name"]
    session.run(command, "sample-data")
    session.run(command, "train", *session.posargs)
    session.run(command, "evaluate")
    predictions = project / "predictions.csv"
    session.run(command, "predict", "--input", "data/train.csv", "--output", str(predictions))
    run = (project / "runs" / "latest").resolve()
    metrics = json.loads((run / "metrics.json").read_text())
    # The best checkpoint's figures: the top-level numbers (per-class and last-epoch ones nest).
    figures = {
        k: v
        for k, v in metrics.items()
        if isinstance(v, float) and k not in ("best_epoch", "skipped_fp16_steps")
    }
    shown = ", ".join(f"{k} {v:.4g}" for k, v in figures.items())
    session.log(
        "\n".join(
            [
                f"demo: trained; validation {shown}",
                f"  project:     {project}",
                f"  run folder:  {run}",
                f"  predictions: {predictions}",
                "  next:",
                f"    cd {project} && . {Path(session.bin) / 'activate'}",
                f"    {command} train train.epochs=3   # another run, in runs/<time>/",
                f"    {command} plot                   # its curves, from runs/latest",
                f"    {command} doctor                 # checks data, model and step",
            ]
        )
    )


@nox.session
def benchmarks(session: nox.Session) -> None:
    """The benchmarks' smoke run (`python -m benchmarks --quick`) in the shared torch environment.

    `nox -s benchmarks -- [--device cuda]` passes its arguments on instead: the full run,
    which writes benchmarks/RESULTS.md. Lightning and Accelerate rows need those packages
    (`nox -s benchmarks -- ...` does not install them; they are skipped with a note).
    """
    session.install("-q", "-e", ".")
    use_shared_torch(session)
    REPORTS.mkdir(parents=True, exist_ok=True)
    quick = ["--quick", f"--output={REPORTS / 'benchmarks-quick.md'}"]
    session.run("python", "-m", "benchmarks", *(session.posargs or quick))


UPDATE_OWN_TESTS = "(own_tests and not toggled) or (toggled and distributed)"
"""The update tests that run projects' own tests in the default run: the resolved update's, the
newest earlier release's, and of the toggles the one with the widest hooks (`distributed`).
Each feature's toggle has its files and hooks checked in `tests`; its project's tests take 25
seconds each, and run with `nox -s update -- -k own_tests`."""


@nox.session
def update(session: nox.Session) -> None:
    """The update tests that run generated projects' own tests (tests/test_update.py and
    tests/test_update_history.py, selected by UPDATE_OWN_TESTS).

    An updated project with its conflict resolved runs all its tests; a project with
    `distributed` turned on, then off again, runs those the change concerns; a project of
    the newest earlier release with a user's edits, updated to this tree, runs those its
    edits concern. The rest of both files runs in `tests`; `nox -s update -- ARGS` passes
    pytest ARGS instead (`-k own_tests`: every toggle's too; `-q`: the whole files).
    """
    update_environment(session)
    session.run(
        "pytest",
        "-q",
        "tests/test_update.py",
        "tests/test_update_history.py",
        f"--junitxml={REPORTS / 'update.xml'}",
        *(session.posargs or ["-k", UPDATE_OWN_TESTS]),
        env={"TORCH_TEMPLATE_UPDATE_PROJECT_TESTS": "1"},
    )


@nox.session
def update_history(session: nox.Session) -> None:
    """Every earlier release, with a third of the covering set, updated to this tree
    (tests/test_update_history.py with TORCH_TEMPLATE_HISTORY=all): the user's edits, the
    conflicts, the fresh render, each project's whole fast suite, and a project of each
    release with every feature it offered. Not in the default run (about 4 minutes a case
    on 2 cores); run it before a release (RELEASING.md)."""
    update_environment(session)
    session.run(
        "pytest",
        "-q",
        "tests/test_update_history.py",
        f"--junitxml={REPORTS / 'update-history.xml'}",
        *session.posargs,
        env={"TORCH_TEMPLATE_UPDATE_PROJECT_TESTS": "1", "TORCH_TEMPLATE_HISTORY": "all"},
    )


def update_environment(session: nox.Session) -> None:
    """The generator, the shared torch environment, and what a project with every feature
    depends on (most of it already in the shared environment): the projects run from their
    src/ folders."""
    from generator.questions import load_questions

    session.install("-q", "-e", ".[dev]")
    use_shared_torch(session)
    everything = {"features": load_questions()["features"].values, "distributed": True}
    project = Path(session.create_tmp()).resolve() / "dependencies"
    shutil.rmtree(project, ignore_errors=True)
    render(everything, project)
    session.install("-q", f"{project}[dev]")
    name = resolve(everything)[0]["project_name"]
    session.run("python", "-m", "pip", "uninstall", "-q", "-y", name, silent=True)
    REPORTS.mkdir(parents=True, exist_ok=True)


@nox.session
def gpu(session: nox.Session) -> None:
    """The GPU check's dry run (benchmarks/gpu; README, "GPU check"), so that it cannot rot.

    `prepare` renders the CUDA combinations and downloads the wheels a GPU machine lacks;
    `run --dry-run` installs them and the projects, writes the sample data, collects the
    suites and parses every training's overrides, reporting each CUDA step as skipped.
    `nox -s gpu -- ARGS` passes ARGS to `run` instead of --dry-run (none: on a GPU, for real).
    """
    session.install("-q", "-e", ".")
    use_shared_torch(session)
    folder = Path(session.create_tmp()).resolve() / "gpucheck"  # nox may return it relative
    session.run("python", "-m", "benchmarks.gpu", "prepare", str(folder))
    REPORTS.mkdir(parents=True, exist_ok=True)
    run = ["python", "-m", "benchmarks.gpu", "run", str(folder), "--report-dir"]
    session.run(*run, str(REPORTS / "gpu-check"), *(session.posargs or ["--dry-run"]))
