"""An nbgrader course directory: set up from this repository, submissions, autograding, scores.

Used by the tests and benchmarks (a scratch course each); the grading command resolves the course it grades
itself (:mod:`autograder.grading.parent.course`).  Both generate assignments the same way
(:func:`autograder.nbgrader_runner.generate_assignments`), as does the release of the student notebooks.
"""
from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import nbformat

from . import paths
from .grading.protocol import nbgrader_md
from .nbgrader_runner import generate_assignments, run_nbgrader

SOLUTION_BLOCK = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)


def make_course(root: Path, assignments: list[str]) -> Path:
    """A course at `root` with this repository's config and solutions, assignments generated into its gradebook
    (:func:`autograder.nbgrader_runner.generate_assignments`: nbgrader's API, in this process)."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(paths.NBGRADER_CONFIG, root / "nbgrader_config.py")
    for assignment in assignments:
        shutil.copytree(paths.SOLUTIONS / assignment, root / "solutions" / assignment, dirs_exist_ok=True,
                        ignore=paths.COPY_IGNORED)
    generate_assignments(root, assignments)
    return root


def grade_ids(nb: nbformat.NotebookNode, *, kind: str) -> list[str]:
    """grade_ids of the solution cells (kind='solution') or graded test cells (kind='grade')."""
    return [nbgrader_md(c)["grade_id"] for c in nb.cells if nbgrader_md(c).get(kind)]


def cell_of(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    """The one cell of ``nb`` whose nbgrader grade_id is ``grade_id`` (ValueError when there is not exactly one)."""
    found = [c for c in nb.cells if nbgrader_md(c).get("grade_id") == grade_id]
    if len(found) != 1:
        raise ValueError(f"{len(found)} cells with grade_id {grade_id!r}")
    return found[0]


def solution_answers(source_nb: nbformat.NotebookNode) -> dict[str, str]:
    """The instructor's answer for every solution cell, as a student would type it (markers removed)."""
    return {nbgrader_md(c)["grade_id"]: SOLUTION_BLOCK.sub("", c.source).strip("\n")
            for c in source_nb.cells if nbgrader_md(c).get("solution")}


def answer(student_nb: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of a student notebook with the given solution cells filled in (grade_id -> source)."""
    nb = copy.deepcopy(student_nb)
    unknown = set(answers) - set(grade_ids(nb, kind="solution"))
    if unknown:
        raise KeyError(f"no solution cell with grade_id {sorted(unknown)}")
    for cell in nb.cells:
        grade_id = nbgrader_md(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def release_notebook(course: Path, assignment: str, name: str) -> nbformat.NotebookNode:
    return nbformat.read(str(course / "notebooks" / assignment / name), as_version=4)


def source_notebook(course: Path, assignment: str, name: str) -> nbformat.NotebookNode:
    return nbformat.read(str(course / "solutions" / assignment / name), as_version=4)


def submit(course: Path, student: str, assignment: str, notebooks: dict[str, nbformat.NotebookNode]) -> Path:
    """Place a student's notebooks where `nbgrader collect` would: submitted/<student>/<assignment>/."""
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, str(folder / name))
    return folder


def autograde(course: Path, assignment: str, *extra: str) -> str:
    """`nbgrader autograde ASSIGNMENT` in the course (students are created in the gradebook as needed)."""
    return run_nbgrader("autograde", assignment, "--create", "--force", *extra, cwd=course, plain=True)


def scores(course: Path, assignment: str) -> dict[str, dict[str, float]]:
    """student -> {grade_id of each graded cell: points awarded}, read from the course's gradebook."""
    from nbgrader.api import Gradebook

    result: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            cells = result.setdefault(submission.student_id, {})
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = grade.score
    return result
