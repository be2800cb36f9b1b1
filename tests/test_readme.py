"""The README's options table says what copier.yml says."""

from __future__ import annotations

import re

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
