"""Property: every answer combination resolve() accepts renders a project whose Python compiles
(and, for a sample, passes ruff); every one it rejects is refused by Copier with a message
naming the question, never a traceback from the template."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.questions import load_questions, resolve
from generator.render import render

QUESTIONS = load_questions()
BAD_TEXT = {
    "project_name": ["My Project", "9lives", "a--b"],
    "package_name": ["class", "json", "Not-Valid"],
    "author_email": ["nobody", "a@b@c"],
}
RUFF_SAMPLE = 3
"""How many accepted combinations also go through `ruff check` (about 1 s each)."""


@st.composite
def answer_sets(draw: st.DrawFn) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for question in QUESTIONS.values():
        if question.computed or not draw(st.booleans()):
            continue  # unanswered: the default
        if question.multiselect:
            answers[question.name] = draw(st.lists(st.sampled_from(question.values), unique=True))
        elif question.choices:
            answers[question.name] = draw(st.sampled_from(question.values))
        elif question.type == "bool":
            answers[question.name] = draw(st.booleans())
        elif question.name in BAD_TEXT and draw(st.integers(0, 3)) == 0:
            answers[question.name] = draw(st.sampled_from(BAD_TEXT[question.name]))
    return answers


checked_with_ruff = 0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=answer_sets())
def test_accepted_answers_render_and_rejected_ones_are_named(answers: dict[str, Any]) -> None:
    global checked_with_ruff
    _, errors = resolve(answers)
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "project"
        if errors:
            with pytest.raises(ValueError) as refused:
                render(answers, dst)
            assert any(name in str(refused.value) for name in errors), (errors, refused.value)
            return
        render(answers, dst)
        sources = list(dst.rglob("*.py"))
        assert sources
        for path in sources:
            compile(path.read_text(), str(path), "exec")
        assert not list(dst.rglob("*.jinja"))
        if checked_with_ruff < RUFF_SAMPLE:
            checked_with_ruff += 1
            result = subprocess.run(
                [sys.executable, "-m", "ruff", "check", "--no-cache", "-q", "."],
                cwd=dst,
                capture_output=True,
                text=True,
                check=False,
            )
            assert result.returncode == 0, (answers, result.stdout + result.stderr)
