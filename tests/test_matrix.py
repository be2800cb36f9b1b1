from __future__ import annotations

import itertools

from generator.matrix import (
    NARROW,
    accepted_values,
    combination_id,
    covering_set,
    default_assignment,
    factors,
    linked,
    meets,
    required_pairs,
    to_answers,
)
from generator.questions import load_questions, resolve


def assignment_of(answers: dict[str, object]) -> dict[str, object]:
    full = resolve(answers)[0]
    result: dict[str, object] = {}
    for name in factors():
        question, _, value = name.partition(":")
        result[name] = value in full.get(question, []) if value else full.get(name)
    return result


def test_factors_come_from_copier_yml() -> None:
    names = factors()
    assert names["task"] == load_questions()["task"].values
    assert all(f"features:{v}" in names for v in load_questions()["features"].values)
    assert "project_name" not in names


def test_covering_set_starts_with_the_defaults_and_is_accepted() -> None:
    combos = covering_set()
    assert combination_id(combos[0]) == "defaults"
    assert all(not resolve(c)[1] for c in combos)
    assert len({combination_id(c) for c in combos}) == len(combos)


def test_every_accepted_pair_is_covered() -> None:
    values = accepted_values()
    assigned = [assignment_of(c) for c in covering_set()]
    checked = 0
    for a, b in itertools.combinations(values, 2):
        if not linked(a, b):
            continue  # covered value by value: test_every_accepted_value_appears
        for va, vb in itertools.product(values[a], values[b]):
            if not meets((a, va), (b, vb)):
                continue  # an off feature and what it cannot meet: test_each_off_feature_...
            answers = to_answers({**default_assignment(), a: va, b: vb})
            asked, errors = resolve(answers)
            if errors or a.partition(":")[0] not in asked or b.partition(":")[0] not in asked:
                continue
            checked += 1
            assert any(x[a] == va and x[b] == vb for x in assigned), (a, va, b, vb)
    singles = sum(len(values[name]) for name in NARROW)
    assert checked + singles == len(required_pairs())


def test_each_off_feature_meets_every_kind_of_input() -> None:
    """A feature off still leaves an `{% else %}` line here and there: each is rendered
    with every data format and input kind it can meet."""
    assigned = [assignment_of(c) for c in covering_set()]
    for feature in load_questions()["features"].values:
        for name in ("data_format", "input_kind"):
            for value in accepted_values()[name]:
                assert any(
                    x[f"features:{feature}"] is False and x[name] == value for x in assigned
                ), (
                    feature,
                    name,
                    value,
                )


def test_an_off_feature_meets_only_the_kind_of_input_and_what_shares_its_code() -> None:
    assert meets(("features:amp", False), ("data_format", "images"))
    assert meets(("features:mlflow", False), ("features:tensorboard", True))
    assert not meets(("features:amp", False), ("task", "regression"))
    assert not meets(("distributed", True), ("features:ema", False))
    assert meets(("features:amp", True), ("task", "regression"))


def test_every_accepted_value_appears() -> None:
    values = accepted_values()
    assigned = [assignment_of(c) for c in covering_set()]
    for name, options in values.items():
        assert {x[name] for x in assigned} - {None} == set(options), name


def test_each_slow_test_file_runs_its_slow_tests_once_in_the_slow_session() -> None:
    """The default run runs no slow test but the defaults' `workers` ones; the slow session
    runs each file's once (per kind of input for a file every project of that kind has)."""
    import noxfile  # the default run's selection lives beside its sessions

    runs: dict[str, list[str]] = {}
    for name, selection in noxfile.SELECTION.items():
        slow = noxfile.slow_test_files(noxfile.COMBINATIONS[name])
        if name == "defaults":
            assert selection.markers == ["-m", "not slow or workers"]
        else:
            assert selection.markers == ["-m", "not slow"], name
        files = {file.removeprefix("tests/") for file in selection.slow_files}
        assert files <= slow
        for file in files:
            runs.setdefault(file, []).append(name)
    defaults = noxfile.slow_test_files(noxfile.COMBINATIONS["defaults"])
    assert {f"tests/{file}" for file in defaults} == set(noxfile.SELECTION["defaults"].slow_files)
    every = set().union(*(noxfile.slow_test_files(a) for a in noxfile.COMBINATIONS.values()))
    assert every == set(runs)
    assert {"test_distributed.py", "test_tuning.py", "test_reliability.py"} <= every
    for file in ("test_tuning.py", "test_cross_validation.py", "test_distributed.py"):
        assert len(runs[file]) == 1, (file, runs[file])  # comes with an answer: runs once
    tabular = [n for n in runs["test_tuning.py"] if "images" not in n and "text" not in n]
    assert tabular == runs["test_tuning.py"]  # where a run is cheapest
    kinds = {
        "images" if "images" in n else "text" if "text" in n else "tabular"
        for n in runs["test_reliability.py"]
    }
    assert kinds == {"tabular", "text", "images"}  # killed and resumed with each kind of input
    assert [n for n, s in noxfile.SELECTION.items() if s.slow_files] == noxfile.SLOW
