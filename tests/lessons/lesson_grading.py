"""Grading a lesson as nbgrader would, for the lesson tests: empty, correct and realistic wrong submissions.

Each lesson's test module declares its wrong answers; `grade_lesson` builds a scratch nbgrader
course from this repository, submits the untouched student notebook ("empty"), the instructor's
answers ("correct") and every wrong answer (the instructor's answers with some cells replaced),
runs `nbgrader autograde` over them (two course copies at once, one per core) and returns what a
test needs to check.

Wrong answers that touch different exercises and fail different cells are graded together, in one
submission per group (fewer notebooks to execute); each still has to lose exactly its own cells, so
an interaction between two mistakes shows up as a failure (mark such a mistake ``alone=True``).
"""
from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import nbgrader_course as course
from autograder.paths import SOLUTIONS


@dataclass(frozen=True)
class WrongAnswer:
    """A realistic mistake: solution cells replaced (grade_id -> code), the graded cells it must fail,
    and text the failing cells' error must contain (the tracker's teaching message)."""
    student: str
    answers: dict[str, str]
    fails: frozenset[str]
    feedback: tuple[str, ...] = ()
    alone: bool = False          # grade it in a submission of its own


def group_wrong_answers(wrong_answers: list[WrongAnswer]) -> dict[str, list[WrongAnswer]]:
    """Submission name -> the wrong answers it combines (disjoint answer cells and disjoint failing cells)."""
    groups: list[list[WrongAnswer]] = []
    for wrong in wrong_answers:
        for group in groups:
            if wrong.alone or group[0].alone:
                continue
            if all(not (set(wrong.answers) & set(w.answers)) and not (wrong.fails & w.fails) for w in group):
                group.append(wrong)
                break
        else:
            groups.append([wrong])
    return {group[0].student if len(group) == 1 else f"wrong{i}": group for i, group in enumerate(groups)}


@dataclass
class GradedLesson:
    assignment: str
    max_points: dict[str, float]                    # graded cell -> points
    scores: dict[str, dict[str, float]]             # student -> graded cell -> points awarded
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # student -> graded cell -> error text
    groups: dict[str, list[WrongAnswer]] = field(default_factory=dict)  # submission -> wrong answers it combines

    def total(self, student: str) -> float:
        return sum(self.scores[student].values())


def _max_points(nb: nbformat.NotebookNode) -> dict[str, float]:
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def _errors(nb: nbformat.NotebookNode) -> dict[str, str]:
    errors = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        texts = [f"{o.ename}: {o.evalue}" for o in cell.get("outputs", []) if o.output_type == "error"]
        if grade_id and texts:
            errors[grade_id] = "\n".join(texts)
    return errors


def grade_lesson(root: Path, assignment: str, wrong_answers: list[WrongAnswer], parallel: int = 2) -> GradedLesson:
    """Autograde the class with plain `nbgrader autograde`, split over `parallel` copies of the course
    (each with its own gradebook, so the runs never share a database) running at the same time."""
    (notebook,) = [p.name for p in (SOLUTIONS / assignment).glob("*.ipynb")]
    first = course.make_course(root / "course0", [assignment])
    copies = [first] + [Path(shutil.copytree(first, root / f"course{i}")) for i in range(1, parallel)]
    student = course.release_notebook(first, assignment, notebook)
    solutions = course.solution_answers(course.source_notebook(first, assignment, notebook))
    submissions = {"empty": student, "correct": course.answer(student, solutions)}
    groups = group_wrong_answers(wrong_answers)
    for name, group in groups.items():
        answers = dict(solutions)
        for wrong in group:
            answers.update(wrong.answers)
        submissions[name] = course.answer(student, answers)
    where = {name: copies[i % parallel] for i, name in enumerate(submissions)}
    for name, nb in submissions.items():
        course.submit(where[name], name, assignment, {notebook: nb})
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda c: course.autograde(c, assignment), copies))
    scores, errors = {}, {}
    for copy in copies:
        scores.update(course.scores(copy, assignment))
    for name in submissions:
        graded = where[name] / "autograded" / name / assignment / notebook
        errors[name] = _errors(nbformat.read(str(graded), as_version=4))
    return GradedLesson(assignment, _max_points(course.source_notebook(first, assignment, notebook)), scores, errors,
                        groups)


def check_lesson(graded: GradedLesson, wrong_answers: list[WrongAnswer]) -> None:
    """The grading contract of every lesson: empty 0, correct full, each wrong answer exactly its cells lost."""
    assert graded.max_points, "the lesson has no graded cells"
    assert graded.scores["correct"] == graded.max_points, graded.errors["correct"]
    assert graded.total("empty") == 0, graded.scores["empty"]
    graded_wrongs = [w for group in graded.groups.values() for w in group]
    assert sorted(w.student for w in graded_wrongs) == sorted(w.student for w in wrong_answers)
    for name, group in graded.groups.items():
        fails = frozenset().union(*(w.fails for w in group))
        expected = {cell: (0.0 if cell in fails else points) for cell, points in graded.max_points.items()}
        who = [w.student for w in group]
        assert graded.scores[name] == expected, (who, graded.errors[name])
        assert 0 < graded.total(name) < sum(graded.max_points.values()) or len(graded.max_points) == len(fails)
        for wrong in group:
            failing_text = "\n".join(graded.errors[name].get(cell, "") for cell in wrong.fails)
            for phrase in wrong.feedback:
                assert phrase in failing_text, f"{wrong.student}: {phrase!r} not in the feedback:\n{failing_text}"
