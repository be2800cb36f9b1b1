"""copier.yml is the public interface: its names, values and defaults are kept stable."""

from __future__ import annotations

import pytest
import yaml

from generator.questions import TEMPLATE_ROOT, load_questions, load_settings, resolve

# Names and choice values promised to users (issue 2). Adding is fine; removing or renaming
# silently resets recorded answers on `copier update`, so this list only ever grows.
PUBLIC = {
    "project_name": None,
    "package_name": None,
    "description": None,
    "author_name": None,
    "author_email": None,
    "license": ["MIT", "Apache-2.0", "BSD-3-Clause", "Proprietary"],
    "task": ["classification", "regression"],
    "data_format": ["csv", "parquet", "images"],
    "input_kind": ["tabular", "text"],
    "backbone": ["scratch", "pretrained"],
    "hardware": ["auto", "cpu", "cuda", "mps"],
    "distributed": None,
    "parallelism": ["ddp", "fsdp2"],
    "features": [
        "amp",
        "compile",
        "grad_checkpointing",
        "ema",
        "early_stopping",
        "auto_batch_size",
        "profiling",
        "tensorboard",
        "export",
        "quantization",
        "cross_validation",
        "tune",
        "mlflow",
    ],
    "ci": ["github", "none"],
    "pre_commit": None,
}


def test_public_names_and_values_are_all_there() -> None:
    questions = load_questions()
    for name, values in PUBLIC.items():
        assert name in questions, name
        if values is not None:
            assert set(values) <= set(questions[name].values), name


def test_every_question_has_a_type_and_a_default() -> None:
    raw = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    for name, spec in raw.items():
        if not name.startswith("_"):
            assert "type" in spec, f"{name} has no type"
            assert "default" in spec, f"{name} has no default"


def test_defaults_are_the_promised_ones() -> None:
    answers, errors = resolve({})
    assert errors == {}
    assert answers["task"] == "classification"
    assert answers["data_format"] == "csv"
    assert answers["input_kind"] == "tabular"
    assert answers["hardware"] == "auto"
    assert answers["distributed"] is False
    assert answers["features"] == ["amp", "early_stopping"]
    assert answers["package_name"] == "my_torch_project"


def test_nothing_needs_trust() -> None:
    settings = load_settings()
    for key in ("_tasks", "_jinja_extensions", "_migrations"):
        assert key not in settings
    assert settings["_subdirectory"] == "template"
    assert (TEMPLATE_ROOT / "template" / "{{ _copier_conf.answers_file }}.jinja").is_file()


def test_input_kind_is_asked_only_for_tables() -> None:
    assert "input_kind" in resolve({"data_format": "parquet"})[0]
    assert "input_kind" not in resolve({"data_format": "images"})[0]


@pytest.mark.parametrize(
    ("answers", "question", "message"),
    [
        ({"project_name": "My Project"}, "project_name", "lowercase letters"),
        ({"project_name": "a--b"}, "project_name", "single dashes"),
        ({"package_name": "class"}, "package_name", "is a Python keyword"),
        ({"package_name": "torch"}, "package_name", "would shadow the module 'torch'"),
        ({"package_name": "json"}, "package_name", "would shadow the module 'json'"),
        ({"package_name": "9lives"}, "package_name", "valid lowercase Python identifier"),
        ({"author_email": "nobody"}, "author_email", "name@host"),
        ({"task": "ranking"}, "task", "not among the choices"),
    ],
)
def test_resolve_reports_what_copier_reports(
    answers: dict[str, str], question: str, message: str
) -> None:
    errors = resolve(answers)[1]
    assert message in errors[question]
