"""What a student gets back: nbgrader's feedback page, with the hidden tests left out.

Runs in the worker, on the autograded notebook (instructor data), and writes the student-facing copy:
``HideHiddenTests`` (test sources), ``StudentTracebacks`` (frames), ``FeedbackSummary`` (the table at the
top, with the page's styles: nbconvert's template styles no tables and clips long lines).
``feedback_config`` wires them into nbgrader's ``GenerateFeedback``.
"""
from __future__ import annotations

from .hidden import HideHiddenTests, hidden_text, visible_source
from .summary import FeedbackSummary
from .tracebacks import StudentTracebacks, student_traceback


def feedback_config(config, *extra_preprocessors, release_tests: bool = False):
    """A copy of the grading ``config`` for ``GenerateFeedback``, with our preprocessors."""
    feedback = config.copy()
    feedback.GenerateFeedback.preprocessors = [
        "nbgrader.preprocessors.GetGrades",
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
        HideHiddenTests, StudentTracebacks, *extra_preprocessors, FeedbackSummary]
    feedback.HideHiddenTests.release_tests = release_tests
    feedback.StudentTracebacks.release_tests = release_tests
    return feedback


__all__ = ["FeedbackSummary", "HideHiddenTests", "StudentTracebacks", "feedback_config", "hidden_text",
           "student_traceback", "visible_source"]
