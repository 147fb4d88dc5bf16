"""The summary at the top of a feedback page: total score, then one row per exercise.

An exercise is a solution cell and the graded test cells after it (up to the next solution cell); its
title is the last markdown heading before the solution cell. Each row gives the points earned, and
either "passed", "withheld for review" (points the grader withheld until an instructor looks: the score
shown is the gradebook's, without them), or the first failing test's message, linked to that test cell.
"""
from __future__ import annotations

import html
from pathlib import Path
from dataclasses import dataclass, field

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Dict

from ...protocol import nbgrader_md
from .hidden import is_graded_test

STYLES = Path(__file__).with_name("feedback.css")


@dataclass
class Exercise:
    title: str
    answer_id: str
    points: float = 0.0
    max_points: float = 0.0
    first_failure: tuple[str, str] | None = None     # (grade_id, message)
    tests: list[str] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)   # its test cells whose points wait for an instructor

    @property
    def passed(self) -> bool:
        return self.first_failure is None and not self.withheld and self.points >= self.max_points


def failure_message(cell) -> str | None:
    """The one line that says why a test cell failed: the error's message (the line that names a
    variable, for the tracker's list of failures), or what it wrote to stderr."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            lines = [line.strip() for line in str(output.get("evalue", "")).splitlines() if line.strip()]
            if len(lines) > 1 and lines[0].endswith(":"):
                return f"{output.get('ename')}: {lines[1].lstrip('- ')}"
            return f"{output.get('ename')}: {lines[0]}" if lines else str(output.get("ename"))
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return "wrote to stderr: " + "".join(output.get("text", "")).strip().splitlines()[0]
    return None


def _heading(source: str) -> str | None:
    headings = [line.lstrip("#").strip() for line in source.splitlines() if line.startswith("#")]
    return headings[-1] if headings else None


def exercises(nb, withheld: frozenset[str] = frozenset()) -> list[Exercise]:
    """The notebook's exercises with their scores (``withheld``: graded cells whose points wait for review)."""
    found: list[Exercise] = []
    title = None
    for cell in nb.cells:
        md = nbgrader_md(cell)
        if cell.cell_type == "markdown":
            title = _heading(cell.source) or title
        elif md.get("solution"):
            found.append(Exercise(title or md.get("grade_id", "exercise"), md.get("grade_id", "")))
        if is_graded_test(cell):
            if not found:
                found.append(Exercise(title or "Tests", ""))
            exercise = found[-1]
            score, points = float(md.get("score") or 0), float(md.get("points") or 0)
            exercise.points += score
            exercise.max_points += points
            exercise.tests.append(md["grade_id"])
            if md["grade_id"] in withheld:
                exercise.withheld.append(md["grade_id"])
            elif exercise.first_failure is None and score < points:
                exercise.first_failure = (md["grade_id"], failure_message(cell) or "did not earn its points")
    return [e for e in found if e.tests]


def summary_html(nb, resources, notes: list[str] = (), withheld: frozenset[str] = frozenset()) -> str:
    esc = html.escape
    grading = resources.get("nbgrader", {})
    score, max_score = float(grading.get("score", 0)), float(grading.get("max_score", 0))
    rows = []
    for exercise in exercises(nb, withheld):
        if exercise.passed:
            verdict = '<span class="verdict passed">&#10003; passed</span>'
            anchor = exercise.tests[0]
        elif exercise.withheld:
            anchor = exercise.withheld[0]
            verdict = ('<span class="verdict withheld">&#9998; withheld for review</span> <span class="message">'
                       'your instructor will grade this by hand; its points are not in the score yet</span>')
        else:
            anchor, message = exercise.first_failure or (exercise.tests[0], "")
            verdict = f'<span class="verdict failed">&#10007; not yet</span> <span class="message">{esc(message)}</span>'
        rows.append(f'<tr><td><a href="#{esc(anchor)}">{esc(exercise.title)}</a></td>'
                    f'<td class="points">{exercise.points:g} / {exercise.max_points:g}</td><td>{verdict}</td></tr>')
    penalty = float(grading.get("late_penalty", 0) or 0)
    late = f'<p class="late-penalty">Late submission penalty: &minus;{penalty:g}</p>' if penalty else ""
    late += "".join(f'<p class="repair-note">{esc(note)}</p>' for note in notes)
    return (f'<div class="course-summary" id="summary"><h2>Score: {score:g} / {max_score:g}</h2>{late}'
            '<table><thead><tr><th>exercise</th><th>points</th><th>verdict</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>'
            '<p class="hint">Each row links to its test cell. Hidden tests are not shown: the messages say what '
            'they found.</p></div>')


class FeedbackSummary(Preprocessor):
    """Put the summary in ``resources`` for the ``course_feedback`` template, and the page's styles with
    nbconvert's inlined CSS (run after nbgrader's GetGrades and nbconvert's CSSHTMLHeaderPreprocessor)."""

    enabled = Bool(True).tag(config=True)
    # notebook name -> what the grader repaired or could not place in it (worker.repair), said to the student
    repair_notes = Dict().tag(config=True)
    # notebook name -> graded cells whose points are withheld for review (worker.review), shown as such
    withheld = Dict().tag(config=True)

    def preprocess(self, nb, resources):
        name = resources.get("unique_key", "")
        notes = self.repair_notes.get(name, [])
        resources["course_summary"] = summary_html(nb, resources, notes, frozenset(self.withheld.get(name, ())))
        resources.setdefault("inlining", {}).setdefault("css", []).append(STYLES.read_text())
        return nb, resources
