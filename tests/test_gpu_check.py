"""The GPU check (benchmarks/gpu): its dry run end to end on a stand-in project, the figures it
reads from the projects' output, and the CI job that runs it on a GPU runner.

The stand-in is a tiny package with the generated CLI's shape (sample-data, config, train,
profile) and no torch, so the dry run's whole path runs in seconds: the layered environment,
the editable install, the sample data, every training's overrides through `config`,
`pytest --collect-only`, the benchmark worker's arguments, and the report. `nox -s gpu` runs
the real thing on rendered projects.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from generator.questions import TEMPLATE_ROOT

sys.path.insert(0, str(TEMPLATE_ROOT))  # benchmarks/ is a folder of the repository, not installed
from benchmarks.gpu import run_gpu_check
from benchmarks.gpu.prepare import copy_benchmarks

STAND_IN_CLI = """
import argparse
import sys
from pathlib import Path

FIELDS = {FIELDS}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="stand-in")
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample-data")
    sample.add_argument("--rows", type=int, default=20)
    sample.add_argument("--output", default="data/train.csv")
    for name in ("config", "train"):
        commands.add_parser(name).add_argument("overrides", nargs="*")
    profile = commands.add_parser("profile")
    profile.add_argument("--steps", type=int)
    profile.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    if args.command == "sample-data":
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text("x,target\\n" + "1,0\\n" * args.rows)
        print(f"wrote {{args.rows}} rows to {{args.output}}")
        return 0
    for override in args.overrides:
        key = override.partition("=")[0]
        if key not in FIELDS:
            print(f"error: {{key}}: unknown field", file=sys.stderr)
            return 2
    print("\\n".join(args.overrides))
    return 0
"""
BACKEND = """
# An in-tree build backend: an editable wheel holding a .pth file to src/. The stand-in then
# installs wherever pip does, whatever setuptools (and wheel) the environment has or lacks.
import base64, hashlib, pathlib, zipfile

NAME = "stand_in-0"


def _wheel(directory, editable):
    files = {
        "stand_in.pth": str(pathlib.Path("src").resolve()) + "\\n",
        f"{NAME}.dist-info/METADATA": "Metadata-Version: 2.1\\nName: stand-in\\nVersion: 0\\n",
        f"{NAME}.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{NAME}.dist-info/RECORD,,")
    files[f"{NAME}.dist-info/RECORD"] = "\\n".join(record) + "\\n"
    wheel = f"{NAME}-py3-none-any.whl"
    with zipfile.ZipFile(pathlib.Path(directory) / wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, False)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, True)
"""
FIELDS = [
    "train.device",
    "train.amp",
    "train.amp_dtype",
    "train.epochs",
    "train.batch_size",
    "model.hidden_sizes",
    "data.path",
    "out_dir",
]


def stand_in(folder: Path, fields: list[str]) -> dict[str, object]:
    """A project folder of the stand-in package; its manifest entry."""
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [build-system]
            requires = []
            build-backend = "backend"
            backend-path = ["."]
            """
        )
    )
    (folder / "backend.py").write_text(BACKEND)
    package = folder / "src" / "stand_in"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "cli.py").write_text(STAND_IN_CLI.format(FIELDS=fields))
    (package / "__main__.py").write_text("import sys\nfrom .cli import main\nsys.exit(main())\n")
    (folder / "tests").mkdir()
    (folder / "tests" / "test_stand_in.py").write_text(
        "from stand_in.cli import main\n\n\ndef test_config():\n    assert main(['config']) == 0\n"
    )
    return {
        "name": "stand-in",
        "package": "stand_in",
        "input_type": "tabular",
        "answers": {"features": ["auto_batch_size", "profiling"]},
        "path": "projects/stand-in",
    }


def prepared(tmp_path: Path, fields: list[str]) -> Path:
    """A folder as `prepare` leaves it, with the stand-in instead of rendered projects."""
    folder = tmp_path / "gpucheck"
    project = stand_in(folder / "projects" / "stand-in", fields)
    copy_benchmarks(folder)
    manifest = {
        "prepared": {"date": "today", "revision": "test"},
        "projects": [project],
        "bench": {"tabular": "bench/tabular", "images": "bench/images"},
        "wheels": [],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def run_check(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(folder / "run_gpu_check.py"), str(folder), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_dry_run_runs_what_needs_no_cuda_and_reports_the_rest_skipped(tmp_path: Path) -> None:
    folder = prepared(tmp_path, FIELDS)
    result = run_check(folder, "--dry-run")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    report = json.loads((folder / "report.json").read_text())
    assert report["mode"] == "dry-run"
    steps = {(s["project"], s["name"]): s for s in report["steps"]}
    assert (
        steps[("stand-in", "pip install --no-deps --no-build-isolation -e")]["status"] == "passed"
    )
    assert (folder / "work" / "train" / "stand-in" / "data" / "big.csv").is_file()
    parse = steps[("stand-in", "every training's overrides parse (config)")]
    assert parse["status"] == "passed"
    assert parse["figures"] == {"commands": 5}  # 4 runs' overrides, and `profile --help`
    assert steps[("stand-in", "pytest --collect-only")]["figures"] == {"collected": 1}
    runs = [s for s in report["steps"] if s["kind"] in ("train", "profile", "bench")]
    assert len(runs) == 7  # bf16, fp16, profile, out-of-memory; three benchmark sections
    assert all(s["status"] == run_gpu_check.NO_CUDA for s in runs)
    assert steps[("stand-in", "pytest (full suite, CUDA tests included)")]["status"] == (
        run_gpu_check.NO_CUDA
    )
    assert steps[("benchmarks", "python -m benchmarks.worker --help")]["status"] == "passed"
    assert report["summary"] == {"passed": 7, "failed": 0, "skipped": 8}
    markdown = (folder / "report.md").read_text()
    assert "mode: **dry-run**" in markdown and "| stand-in | train fp16 | skipped" in markdown
    assert "train.amp_dtype=fp16" in markdown  # the command it would run


def test_an_override_the_project_refuses_fails_the_dry_run_naming_it(tmp_path: Path) -> None:
    folder = prepared(tmp_path, [f for f in FIELDS if f != "train.amp_dtype"])
    result = run_check(folder, "--dry-run")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    report = json.loads((folder / "report.json").read_text())
    (parse,) = [s for s in report["steps"] if s["kind"] == "parse" and s["project"] == "stand-in"]
    assert parse["status"] == "failed"
    assert "train.amp_dtype: unknown field" in parse["detail"]
    assert report["summary"]["failed"] == 1
    markdown = (folder / "report.md").read_text()
    assert "## Failures" in markdown and "train.amp_dtype: unknown field" in markdown


def test_a_spent_budget_skips_the_steps_left_and_still_writes_the_report(tmp_path: Path) -> None:
    folder = prepared(tmp_path, FIELDS)
    result = run_check(folder, "--dry-run", "--budget-s", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((folder / "report.json").read_text())
    install = [s for s in report["steps"] if s["kind"] == "install"]
    assert install and all(s["status"] == run_gpu_check.OUT_OF_TIME for s in install)
    assert report["summary"]["passed"] == 0


def test_training_figures_come_from_the_epoch_lines_the_harness_and_metrics(
    tmp_path: Path,
) -> None:
    output = "\n".join(
        [
            "device: cuda:0 (NVIDIA H200, 140 GiB), precision: bfloat16, 1 process(es)",
            "warning: out of memory at batch size 65536; trying 32768",
            "warning: out of memory at batch size 32768; trying 16384",
            "epoch 1/2  train_loss 0.9  val_loss 0.5  12,345 samples/s",
            "epoch 2/2  train_loss 0.4  val_loss 0.3  23,456 samples/s",
            "gpu-check: compile_s 12.50",
            "gpu-check: peak_memory_mib 812.4",
        ]
    )
    (tmp_path / "metrics.json").write_text(json.dumps({"loss": 0.3, "train_time_s": 4.0}))
    profile = {
        "train": {"median_step_ms": 1.5, "steps_ms": [1.5, 1.6]},
        "memory": {"cuda_max_allocated_mib": 90.0},
        "top_ops": [{"name": "aten::mm"}],
    }
    (tmp_path / "profile.json").write_text(json.dumps(profile))
    figures = run_gpu_check.training_figures(output, tmp_path)
    assert figures["samples_per_s"] == [12345.0, 23456.0]
    assert figures["samples_per_s_last_epoch"] == 23456.0
    assert figures["device"].startswith("cuda:0 (NVIDIA H200")
    assert figures["compile_s"] == 12.5 and figures["peak_memory_mib"] == 812.4
    assert figures["out_of_memory_at"] == [65536, 32768]
    assert figures["fitted_batch_size"] == 16384
    assert figures["metrics"] == {"loss": 0.3, "train_time_s": 4.0}
    assert figures["profile"] == {
        "train.median_step_ms": 1.5,
        "memory.cuda_max_allocated_mib": 90.0,
    }
    assert figures["top_ops"] == ["aten::mm"]
    assert run_gpu_check.warning_lines(output) == [
        "warning: out of memory at batch size 65536; trying 32768",
        "warning: out of memory at batch size 32768; trying 16384",
    ]


def test_junit_counts_and_failed_tests(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite tests="4" failures="1" errors="0" skipped="1">'
        '<testcase classname="tests.test_amp" name="test_fp16"><failure/></testcase>'
        '<testcase classname="tests.test_amp" name="test_bf16"/>'
        '<testcase classname="tests.test_amp" name="test_cpu"/>'
        '<testcase classname="tests.test_loader" name="test_pinned"><skipped/></testcase>'
        "</testsuite></testsuites>"
    )
    counts = run_gpu_check.junit_counts(junit)
    assert counts == {"total": 4, "failed": 1, "errors": 0, "skipped": 1, "passed": 2}
    assert run_gpu_check.failed_tests(junit) == ["tests.test_amp::test_fp16"]


@pytest.mark.parametrize("command", [["prepare"], ["run", "nowhere"]])
def test_the_command_line_refuses_a_missing_folder(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu", *command],
        capture_output=True,
        text=True,
        cwd=TEMPLATE_ROOT,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert ("nowhere/run_gpu_check.py" if "run" in command else "dir") in result.stderr


def test_ci_runs_the_gpu_check_only_where_a_gpu_runner_is_enabled() -> None:
    workflow = yaml.safe_load((TEMPLATE_ROOT / ".github" / "workflows" / "ci.yml").read_text())
    job = workflow["jobs"]["gpu"]
    assert "gpu" in job["runs-on"] and "self-hosted" in job["runs-on"]
    assert job["if"] == "vars.GPU_RUNNER == 'true'"
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs[-2].startswith("python3 -m benchmarks.gpu prepare gpucheck")
    assert runs[-1].startswith("python3 gpucheck/run_gpu_check.py")
    (upload,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload["if"] == "always()"
    assert "gpucheck/report.md" in upload["with"]["path"]


def test_benchmark_figures_give_each_contenders_ratio_to_the_raw_loop_beside_it() -> None:
    result = {
        "unit": "ms/step (wall)",
        "rows": [
            {"name": "raw", "median": 1.0},
            {"name": "generated", "median": 1.1, "baseline_rounds": [0.9, 1.0, 1.1]},
            {"name": "lightning", "median": None, "baseline_rounds": []},
        ],
        "agreement": "losses agree",
    }
    figures = run_gpu_check.benchmark_figures(result)
    assert figures["rows"] == {"raw": 1.0, "generated": 1.1, "lightning": None}
    assert figures["ratio_to_baseline"] == pytest.approx({"generated": 1.1})
    assert figures["agreement"] == "losses agree"
