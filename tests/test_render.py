"""Rendering through Copier's API, without trust: files, answers, conditional parts, no residue."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from generator.questions import resolve

Render = Callable[..., Path]
PACKAGE = "src/my_torch_project"


def text_files(project: Path) -> list[Path]:
    return [p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]


def test_defaults_render_the_documented_layout(render_project: Render) -> None:
    project = render_project()
    for name in [
        "pyproject.toml",
        "README.md",
        ".gitignore",
        ".copier-answers.yml",
        ".pre-commit-config.yaml",
        ".github/workflows/tests.yml",
        *(f"{PACKAGE}/{m}.py" for m in ["config", "device", "seed", "data", "model", "train"]),
        *(f"{PACKAGE}/{m}.py" for m in ["checkpoint", "cli", "__main__", "early_stopping"]),
        "tests/conftest.py",
        "tests/test_training.py",
    ]:
        assert (project / name).is_file(), name


def test_answers_file_records_every_answer_and_the_source(render_project: Render) -> None:
    project = render_project(task="regression")
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["_src_path"]
    assert recorded["_commit"]
    expected = resolve({"task": "regression"})[0]
    assert {k: v for k, v in recorded.items() if not k.startswith("_")} == expected


@pytest.mark.parametrize(
    "answers",
    [{}, {"task": "regression", "features": [], "ci": "none", "pre_commit": False}],
)
def test_no_template_residue(render_project: Render, answers: dict[str, object]) -> None:
    project = render_project(**answers)
    for path in text_files(project):
        assert not path.name.endswith(".jinja"), path
        text = path.read_text()
        assert not re.search(r"\{\{|\{%|%\}", text), f"template residue in {path}"
        assert "\n\n\n\n" not in text, f"stray blank lines in {path}"
        assert not re.search(r"[ \t]+\n", text), f"trailing whitespace in {path}"
        assert text.endswith("\n") and not text.endswith("\n\n"), f"bad file end in {path}"
        if path.suffix == ".py":
            ast.parse(text, filename=str(path))


def test_an_off_feature_leaves_nothing_behind(render_project: Render) -> None:
    project = render_project(features=[], ci="none", pre_commit=False)
    assert not (project / PACKAGE / "early_stopping.py").exists()
    assert not (project / ".github").exists()
    assert not (project / ".pre-commit-config.yaml").exists()
    for path in (project / PACKAGE).glob("*.py"):
        assert "early_stopping" not in path.read_text() and "patience" not in path.read_text()
    assert "amp: bool = False" in (project / PACKAGE / "config.py").read_text()


def test_task_picks_its_own_module(render_project: Render) -> None:
    classification = render_project(task="classification") / PACKAGE / "task.py"
    regression = render_project(task="regression") / PACKAGE / "task.py"
    assert "cross_entropy" in classification.read_text()
    assert "mse_loss" in regression.read_text()


def test_parquet_brings_its_dependency_and_default_path(render_project: Render) -> None:
    project = render_project(data_format="parquet")
    assert '"pyarrow>=' in (project / "pyproject.toml").read_text()
    assert 'path: str = "data/train.parquet"' in (project / PACKAGE / "config.py").read_text()
    csv = render_project(data_format="csv")
    assert '"pyarrow>=' not in (csv / "pyproject.toml").read_text()


def test_hardware_answer_is_the_default_device(render_project: Render) -> None:
    project = render_project(hardware="cuda")
    assert 'device: str = "cuda"' in (project / PACKAGE / "config.py").read_text()


def test_distributed_adds_its_files_and_nothing_else(render_project: Render) -> None:
    single = render_project()
    multi = render_project(distributed=True)
    package = "src/my_torch_project"
    added = {str(p.relative_to(multi)) for p in multi.rglob("*") if p.is_file()} - {
        str(p.relative_to(single)) for p in single.rglob("*") if p.is_file()
    }
    assert {f"{package}/distributed.py", "tests/test_distributed.py", "slurm.sbatch"} <= added
    assert "distributed" not in (single / package / "train.py").read_text()
    assert "torch.distributed" not in (single / package / "inference.py").read_text()


def test_names_follow_the_answers(render_project: Render) -> None:
    project = render_project(project_name="churn-model")
    assert (project / "src" / "churn_model" / "train.py").is_file()
    assert 'churn-model = "churn_model.cli:main"' in (project / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_name": "Bad Name"}, "project_name must start with a lowercase letter"),
        ({"package_name": "numpy"}, "would shadow the module 'numpy'"),
        ({"package_name": "import"}, "is a Python keyword"),
    ],
)
def test_copier_refuses_bad_answers_with_the_validator_message(
    render_project: Render, answers: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        render_project(**answers)


def test_pre_commit_runs_the_ruff_of_the_dev_dependencies(render_project: Render) -> None:
    """Two ruffs format differently: the hook's must be the one `pip install -e '.[dev]'` gets."""
    project = render_project()
    hooks = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    (rev,) = [r["rev"] for r in hooks["repos"] if r["repo"].endswith("/ruff-pre-commit")]
    pyproject = (project / "pyproject.toml").read_text()
    (pin,) = re.findall(r'"ruff~=([0-9.]+)"', pyproject)
    assert rev == f"v{pin}"
