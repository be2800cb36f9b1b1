"""The questions of copier.yml, read at run time: the one source of truth for choices and defaults."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
"""The repository root: where copier.yml and template/ live."""


@dataclass(frozen=True)
class Question:
    """One question of copier.yml, as Copier reads it."""

    name: str
    type: str
    help: str
    default: Any
    choices: dict[str, Any] | None
    """Label -> value, in copier.yml's order; None for free-form questions."""
    multiselect: bool
    when: Any
    validator: str | None

    @property
    def computed(self) -> bool:
        """A value derived from other answers (`when: false`): never asked, never recorded."""
        return self.when is False

    @property
    def values(self) -> list[Any]:
        """The choice values (not labels)."""
        return list(self.choices.values()) if self.choices else []


def load_settings(root: Path = TEMPLATE_ROOT) -> dict[str, Any]:
    """copier.yml's settings (the keys starting with an underscore)."""
    raw = yaml.safe_load((root / "copier.yml").read_text())
    return {key: value for key, value in raw.items() if key.startswith("_")}


@functools.cache
def load_questions(root: Path = TEMPLATE_ROOT) -> dict[str, Question]:
    """copier.yml's questions in order, keyed by name."""
    raw = yaml.safe_load((root / "copier.yml").read_text())
    questions = {}
    for name, spec in raw.items():
        if name.startswith("_"):
            continue
        choices = spec.get("choices")
        if isinstance(choices, list):
            choices = {str(value): value for value in choices}
        questions[name] = Question(
            name=name,
            type=spec.get("type", "yaml"),
            help=spec.get("help", ""),
            default=spec.get("default"),
            choices=choices,
            multiselect=bool(spec.get("multiselect", False)),
            when=spec.get("when", True),
            validator=spec.get("validator"),
        )
    return questions


@functools.cache
def jinja_environment(root: Path = TEMPLATE_ROOT) -> SandboxedEnvironment:
    """A Jinja environment configured as Copier configures its own (envops and built-in filters)."""
    envops = dict(load_settings(root).get("_envops", {}))
    envops.pop("undefined", None)  # StrictUndefined: kept out so that unset names read as empty
    return SandboxedEnvironment(
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"], **envops
    )


@functools.cache
def _compiled(source: str, root: Path) -> Template:
    return jinja_environment(root).from_string(source)


def resolve(
    answers: dict[str, Any], root: Path = TEMPLATE_ROOT, destination: str | Path | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Fill in defaults and evaluate `when` and validators in order, as Copier does.

    `destination`: the folder the project is for, which defaults may read as Copier's
    `_copier_conf.dst_path` (project_name's does); without it they read an empty path.
    Returns (the answers of the questions that are asked, {question: validator message}).
    """
    _, asked, errors = _evaluate(answers, root, destination)
    return asked, errors


def render_context(answers: dict[str, Any], root: Path = TEMPLATE_ROOT) -> dict[str, Any]:
    """Every value the template renders with, computed ones (input_type) included."""
    return _evaluate(answers, root, None)[0]


def render_name(source: str, answers: dict[str, Any], root: Path = TEMPLATE_ROOT) -> str:
    """A template path's name as Copier renders it for `answers` ('' : the file is left out)."""
    name = _compiled(source, root).render(**render_context(answers, root))
    return name.removesuffix(".jinja") if name.strip() != ".jinja" else ""


def _evaluate(
    answers: dict[str, Any], root: Path, destination: str | Path | None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    def render(source: str) -> str:
        return _compiled(source, root).render(**context)

    dst_path = "" if destination is None else str(destination)
    context: dict[str, Any] = {"_copier_conf": {"dst_path": dst_path}}
    asked: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question in load_questions(root).values():
        if question.name in answers:
            value = answers[question.name]
        elif isinstance(question.default, str) and "{{" in question.default:
            value = render(question.default)
        else:
            value = question.default
        context[question.name] = value
        when = question.when
        if isinstance(when, str):
            when = render(when).strip().lower() in ("true", "yes", "1")
        if when:
            asked[question.name] = value
        elif question.name not in answers:
            continue  # Copier checks a given answer even to a question it does not ask
        if question.choices is not None:
            chosen = value if question.multiselect else [value]
            unknown = [v for v in chosen if v not in question.values]
            if unknown:
                errors[question.name] = f"{unknown} not among the choices {question.values}"
                continue
        if question.validator:
            message = render(question.validator).strip()
            if message:
                errors[question.name] = message
    return context, asked, errors
