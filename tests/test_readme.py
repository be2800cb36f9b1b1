"""The README says what the repository does: options, the two commands and CI, the gallery."""

from __future__ import annotations

import re

import yaml

from generator.questions import TEMPLATE_ROOT, load_questions

README = (TEMPLATE_ROOT / "README.md").read_text()


def table_rows() -> dict[str, str]:
    rows = {}
    for line in README.splitlines():
        match = re.match(r"\| `(\w+)` \|(.*)", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def test_every_question_has_a_row_listing_its_values_and_default() -> None:
    rows = table_rows()
    questions = {n: q for n, q in load_questions().items() if not q.computed}
    assert set(rows) == set(questions)
    for name, question in questions.items():
        values_cell, default_cell = rows[name].split("|")[:2]
        for value in question.values:
            assert f"`{value}`" in values_cell, (name, value)
        if question.choices is not None and not question.multiselect:
            assert f"`{question.default}`" in default_cell, name
        if question.multiselect:
            assert f"`[{', '.join(question.default)}]`" in default_cell, name


def test_the_two_commands_are_there() -> None:
    assert "python3 -m pip install -e '.[dev]' && nox -s demo" in README
    assert "python3 -m pip install -e '.[dev]' && nox\n" in README
    assert "nox" in (TEMPLATE_ROOT / ".ci" / "run").read_text()


def the_two_commands() -> tuple[str, str]:
    """The README's main-job and test commands, in that order, as written."""
    block = README.split("## The two commands")[1].split("```bash\n")[1].split("```")[0]
    demo, tests = [line for line in block.splitlines() if line and not line.startswith("#")]
    return demo, tests


def test_ci_runs_the_two_commands_as_written() -> None:
    demo, tests = the_two_commands()
    ci_run = (TEMPLATE_ROOT / ".ci" / "run").read_text().splitlines()
    assert any(line.startswith(f"{tests} ") for line in ci_run), ".ci/run runs another command"
    main_job = demo.split(" && ")[-1]  # .ci/run has installed the generator already
    assert any(line.startswith(f"{main_job} ") for line in ci_run), ".ci/run skips the main job"
    workflow = yaml.safe_load((TEMPLATE_ROOT / ".github" / "workflows" / "ci.yml").read_text())
    runs = {}
    for name, job in workflow["jobs"].items():
        if name == "gpu":  # the GPU check's own job: tests/test_gpu_check.py
            continue
        assert job["runs-on"] == "ubuntu-latest", name
        (setup,) = [
            step for step in job["steps"] if step.get("uses", "").startswith("actions/setup-python")
        ]
        assert setup["with"]["python-version"] == "3.11" and setup["with"]["cache"] == "pip", name
        runs[name] = [step["run"] for step in job["steps"] if "run" in step]
    named = demo.replace("nox -s demo", "nox -s slow benchmarks gpu")  # the sessions nox skips
    assert runs == {"tests": ["bash .ci/run"], "demo": [demo], "checks": [named]}


def conditional_files() -> set[tuple[str, str]]:
    """(condition, name) of each file or folder in template/ rendered only when an answer says so."""
    found = set()
    for path in (TEMPLATE_ROOT / "template").rglob("*"):
        found |= set(re.findall(r"\{% if (.+?) %\}(.+?)\{% endif %\}", path.name))
    return found


def test_the_gallery_names_every_conditional_file_in_its_answers_row() -> None:
    gallery = README.split("## What each answer adds")[1].split("\n## ")[0]
    rows = [line.split(" | ", 1) for line in gallery.splitlines() if line.startswith("| `")]
    files = conditional_files()
    assert len(files) > 20  # the pattern still finds them
    for condition, name in files:
        quoted = re.search(r"'(\w+)'", condition)
        answer = quoted[1] if quoted else condition  # `'ema' in features` -> ema; `distributed`
        named = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w-])")
        assert any(f"`{answer}`" in key and named.search(rest) for key, rest in rows), (
            f"README.md, What each answer adds: the row of `{answer}` does not name {name}"
        )
