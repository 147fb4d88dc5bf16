"""What a student gets back: nbgrader's feedback page, with the hidden tests left out.

Runs in the worker, on the autograded notebook (instructor data), and writes the student-facing copy:
``HideHiddenTests`` (test sources), ``StudentTracebacks`` (frames), ``FeedbackSummary`` (the table at the
top, and the page's styles: nbconvert's template styles no tables and clips long lines) and the
``course_feedback`` template (nbgrader's, with the summary above the notebook).
``feedback_config`` wires them into nbgrader's ``GenerateFeedback``, with ``FeedbackExporter`` (nbconvert's
HTML exporter, its templates compiled once per worker process).
"""
from __future__ import annotations

from pathlib import Path

from .exporter import FeedbackExporter
from .hidden import HideHiddenTests, hidden_text, visible_source
from .summary import FeedbackSummary
from .tracebacks import StudentTracebacks, student_traceback

TEMPLATES = Path(__file__).resolve().parent / "templates"


def feedback_config(config, *extra_preprocessors, release_tests: bool = False, repair_notes: dict | None = None,
                    withheld: dict | None = None):
    """A copy of the grading ``config`` for ``GenerateFeedback``, with our preprocessors (``repair_notes``:
    notebook name -> lines for the summary about a damaged notebook, see :mod:`..repair`; ``withheld``: notebook
    name -> the graded cells whose points are withheld for review)."""
    feedback = config.copy()
    feedback.GenerateFeedback.exporter_class = FeedbackExporter
    feedback.GenerateFeedback.preprocessors = [
        "nbgrader.preprocessors.GetGrades",
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
        StudentTracebacks, HideHiddenTests, *extra_preprocessors, FeedbackSummary]  # tracebacks read the whole source
    feedback.HideHiddenTests.release_tests = release_tests
    feedback.StudentTracebacks.release_tests = release_tests
    feedback.FeedbackSummary.repair_notes = dict(repair_notes or {})
    feedback.FeedbackSummary.withheld = dict(withheld or {})
    # nbgrader's own template, extended (GenerateFeedback keeps a template configured here).
    import nbgrader

    feedback.HTMLExporter.template_name = "course_feedback"
    feedback.HTMLExporter.template_file = "course_feedback.html.j2"
    feedback.HTMLExporter.extra_template_basedirs = [
        str(TEMPLATES), str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates")]
    return feedback


__all__ = ["FeedbackSummary", "HideHiddenTests", "StudentTracebacks", "feedback_config", "hidden_text",
           "student_traceback", "visible_source"]
