"""The answer matrix: every accepted combination of the behavioural questions, and a covering subset.

The full matrix is exponential (thirteen features alone give 8192 subsets), so by default
we run a covering set: every pair of values of two factors that meet in code (a feature
counts as an on/off factor; NARROW and OFF_MEETS say which pairs cannot meet) appears in at
least one combination, and every combination is one the template accepts. Everything is derived from copier.yml.
"""

from __future__ import annotations

import functools
import itertools
import random
from pathlib import Path
from typing import Any

from generator.questions import TEMPLATE_ROOT, load_questions, resolve

STRUCTURE = ("task", "data_format", "input_kind", "backbone", "distributed", "parallelism")
"""The questions that decide what a project's data, model and processes are."""
COMMANDS = (
    *("profiling", "tensorboard", "export", "quantization", "cross_validation", "tune", "mlflow"),
)
"""Features that add a command or an output beside the training step instead of changing it."""
SHARED_CODE = {
    "export": ("quantization",),
    "quantization": ("export",),
    "tensorboard": ("mlflow",),
    "mlflow": ("tensorboard",),
}
"""Features that share code: a quantized model is written through export's path; the run
folder logs a step's loss for TensorBoard or MLflow through one hook."""
OFF_MEETS = ("data_format", "input_kind")
"""What a feature that is off meets in code: a feature renders whole files and hooks, and
off it renders none of them, only, here and there, an `{% else %}` line (the plain
autocast-free step, say) that differs with the kind of input alone. So a pair of an off
feature and another value is required only with these factors and the features it shares
code with (SHARED_CODE); each off value still appears once per kind of input.
Measured on the questions of 0.3.0: 8 projects, 2 of them of images, instead of 10 and 4."""


def _narrow() -> dict[str, tuple[str, ...]]:
    features = load_questions(TEMPLATE_ROOT)["features"].values
    step = [f"features:{name}" for name in features if name not in COMMANDS]
    narrow: dict[str, tuple[str, ...]] = {"hardware": (), "ci": (), "pre_commit": ()}
    for name in COMMANDS:
        partners = [f"features:{other}" for other in SHARED_CODE.get(name, ())]
        narrow[f"features:{name}"] = (*STRUCTURE, *step, *partners)
    return narrow


NARROW = _narrow()
"""Factors paired only with the factors named, and otherwise covered value by value.

- `hardware` sets the default `train.device` and the device paths (pinned memory,
  channels_last, worker count). This CPU-only run cannot take a CUDA or MPS path, and every
  project tests device selection with faked CUDA and MPS; the real pairs of hardware and
  data belong to the GPU check (benchmarks/gpu), which trains each kind of input on CUDA.
- `ci` and `pre_commit` add a config file each.
- A command feature (tune, export, ...) meets what the step is made of (the structure and
  the features that change the step: amp, compile, ema, ...), not another command: two
  commands share no code unless SHARED_CODE says so.

Pairing these with everything would take 12 projects where 9 or 10 cover every pair that
can meet in code (measured on the questions of 0.3.0, before OFF_MEETS)."""


IDENTITY = ("project_name", "package_name", "description", "author_name", "author_email", "license")
"""Questions that change names and text, not behaviour: left at their defaults in the matrix."""


def factors(root: Path = TEMPLATE_ROOT) -> dict[str, list[Any]]:
    """Factor -> values: each choice or bool question, and each feature as `feature:<name>` on/off."""
    result: dict[str, list[Any]] = {}
    for question in load_questions(root).values():
        if question.name in IDENTITY:
            continue
        if question.multiselect:
            for value in question.values:
                result[f"{question.name}:{value}"] = [False, True]
        elif question.choices is not None:
            result[question.name] = question.values
        elif question.type == "bool":
            result[question.name] = [False, True]
    return result


def to_answers(assignment: dict[str, Any], root: Path = TEMPLATE_ROOT) -> dict[str, Any]:
    """Copier answers for a factor assignment (features gathered back into a list)."""
    answers: dict[str, Any] = {}
    for question in load_questions(root).values():
        if question.multiselect:
            answers[question.name] = [
                v for v in question.values if assignment.get(f"{question.name}:{v}", False)
            ]
        elif question.name in assignment:
            answers[question.name] = assignment[question.name]
    return answers


def accepted(assignment: dict[str, Any], root: Path = TEMPLATE_ROOT) -> bool:
    return not resolve(to_answers(assignment, root), root)[1]


def accepted_values(root: Path = TEMPLATE_ROOT) -> dict[str, list[Any]]:
    """The values of each factor that an accepted combination uses: the defaults with that
    value, or with that value and one other factor changed (backbone=pretrained needs
    data_format=images)."""
    defaults = default_assignment(root)
    every = factors(root)

    def usable(name: str, value: Any) -> bool:
        if accepted({**defaults, name: value}, root):
            return True
        return any(
            accepted({**defaults, other: other_value, name: value}, root)
            for other, values in every.items()
            if other != name
            for other_value in values
        )

    return {name: [v for v in values if usable(name, v)] for name, values in every.items()}


@functools.cache
def _default_assignment(root: Path) -> tuple[tuple[str, Any], ...]:
    asked, _ = resolve({}, root)
    assignment: dict[str, Any] = {}
    for name in factors(root):
        question, _, value = name.partition(":")
        if value:
            assignment[name] = value in asked.get(question, [])
        else:
            assignment[name] = asked.get(name, load_questions(root)[name].default)
    return tuple(assignment.items())


def default_assignment(root: Path = TEMPLATE_ROOT) -> dict[str, Any]:
    """The factor values of the default answers."""
    return dict(_default_assignment(root))


def covering_set(
    root: Path = TEMPLATE_ROOT, seed: int = 1, candidates: int = 60
) -> list[dict[str, Any]]:
    """Accepted combinations, the defaults first, that together hold every required pair.

    A pair of values is required when the defaults with those two values changed are
    accepted and ask both questions (`input_kind` is not asked for images, say). Greedy
    (AETG-style): each new combination is the best of `candidates` random accepted ones,
    built value by value to cover the most pairs still missing; when none adds a pair,
    the defaults with one missing pair set are taken, so every required pair is covered.
    The greedy choice depends on the seed: of seeds 0-7, 1 and 6 give the fewest projects
    (8, two of images; the others 9 or 10) on the questions of 0.3.0 (choose again when
    questions change).
    """
    values = accepted_values(root)
    names = list(values)
    uncovered = required_pairs(root)
    first = default_assignment(root)
    chosen = [first]
    uncovered -= _pairs(first, root)
    rng = random.Random(seed)
    while uncovered:
        best, best_gain = None, 0
        for _ in range(candidates):
            candidate = _build(names, values, uncovered, rng, root)
            if candidate is None:
                continue
            gain = len(_pairs(candidate, root) & uncovered)
            if gain > best_gain:
                best, best_gain = candidate, gain
        if best is None:
            (a, va), (b, vb) = min(uncovered, key=repr)
            best = {**first, a: va, b: vb}
        chosen.append(best)
        uncovered -= _pairs(best, root)
    return [_asked_answers(a, root) for a in chosen]


def _asked_answers(assignment: dict[str, Any], root: Path) -> dict[str, Any]:
    """The answers of an assignment, less those to questions it does not ask."""
    answers = to_answers(assignment, root)
    asked = resolve(answers, root)[0]
    return {name: value for name, value in answers.items() if name in asked}


def required_pairs(root: Path = TEMPLATE_ROOT) -> set[tuple[tuple[str, Any], tuple[str, Any]]]:
    """Every pair of factor values that some accepted combination asks about (see covering_set)."""
    values = accepted_values(root)
    defaults = default_assignment(root)
    required = set()
    for a, b in itertools.combinations(values, 2):
        for va, vb in itertools.product(values[a], values[b]):
            if ((a, va), (b, vb)) in _pairs({**defaults, a: va, b: vb}, root):
                required.add(((a, va), (b, vb)))
    for a in NARROW:
        for va in values.get(a, []):
            if ((a, va), (a, va)) in _pairs({**defaults, a: va}, root):
                required.add(((a, va), (a, va)))
    return required


def _build(
    names: list[str],
    values: dict[str, list[Any]],
    uncovered: set[Any],
    rng: random.Random,
    root: Path,
) -> dict[str, Any] | None:
    order = names[:]
    rng.shuffle(order)
    assignment: dict[str, Any] = {}
    for name in order:
        options = values[name][:]
        rng.shuffle(options)
        assignment[name] = max(
            options,
            key=lambda v: sum(
                ((name, v), (other, assignment[other])) in uncovered
                or ((other, assignment[other]), (name, v)) in uncovered
                for other in assignment
            ),
        )
    full = {**default_assignment(root), **assignment}
    return full if accepted(full, root) else None


def _pairs(assignment: dict[str, Any], root: Path) -> set[Any]:
    """The value pairs an accepted assignment holds, among the factors it asks about."""
    answers = to_answers(assignment, root)
    asked, errors = resolve(answers, root)
    if errors:
        return set()
    names = [n for n in assignment if n.partition(":")[0] in asked]
    return {
        ((a, assignment[a]), (b, assignment[b]))
        for a, b in itertools.combinations(names, 2)
        if linked(a, b) and meets((a, assignment[a]), (b, assignment[b]))
    } | {((a, assignment[a]), (a, assignment[a])) for a in names if a in NARROW}


def linked(a: str, b: str) -> bool:
    """Whether the pairs of values of factors `a` and `b` must all be covered (see NARROW)."""
    if a not in NARROW and b not in NARROW:
        return True
    return b in NARROW.get(a, ()) or a in NARROW.get(b, ())


def meets(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    """Whether the factor values `a` and `b` meet in code: not where one is a feature turned
    off and the other is not among what an off feature meets (OFF_MEETS)."""
    for (name, value), (other, _) in ((a, b), (b, a)):
        question, _, feature = name.partition(":")
        if question == "features" and value is False:
            shares = tuple(f"features:{partner}" for partner in SHARED_CODE.get(feature, ()))
            if other not in (*OFF_MEETS, *shares):
                return False
    return True


def combination_id(answers: dict[str, Any], root: Path = TEMPLATE_ROOT) -> str:
    """A short, stable name: the answers that differ from the defaults ('defaults' if none)."""
    defaults = resolve({}, root)[0]
    questions = load_questions(root)
    parts = []
    for name, value in answers.items():
        # A question the defaults do not ask (backbone, parallelism) differs from its own default.
        default = defaults[name] if name in defaults else questions[name].default
        if name in questions and default != value:
            text = "+".join(value) if isinstance(value, list) else str(value).lower()
            parts.append(f"{name}={text or 'none'}")
    return ",".join(parts) or "defaults"
