"""torch-template's generator: read the questions from copier.yml, choose answers, render projects.

Asking is separate from rendering: `answers = ...`, then `render(answers, dst)`.
"""

from generator.questions import TEMPLATE_ROOT, Question, load_questions
from generator.render import render

__all__ = ["TEMPLATE_ROOT", "Question", "load_questions", "render"]
