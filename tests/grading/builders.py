"""Building courses and varied submissions for the grading tests and the benchmark."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from autograder import nbgrader_course
from autograder.grading.protocol import nbgrader_md
from autograder.nbgrader_runner import generate_assignments

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Answers for the plain-Python course (tests/grading/fixtures/pycourse, assignment ps1), per solution cell.
GOOD = {
    "squares": "def squares(n):\n    return [i * i for i in range(n)]",
    "mean": "def mean(xs):\n    if not xs:\n        raise ValueError('empty')\n    return sum(xs) / len(xs)",
    "counter": "def step(state):\n    state['w'] += 1",
    "fizzbuzz": ("def fizzbuzz(n):\n    if n % 15 == 0:\n        return 'FizzBuzz'\n    if n % 3 == 0:\n"
                 "        return 'Fizz'\n    if n % 5 == 0:\n        return 'Buzz'\n    return str(n)"),
    "explain": "I check 15 first.",
}
BAD = {
    "squares": ["def squares(n):\n    return [i * i for i in range(1, n + 1)]",       # off by one: visible fails
                "def squares(n):\n    return [0, 1, 4]",                               # hard-coded: hidden fails
                "def squares(n)\n    return []"],                                      # syntax error
    "mean": ["def mean(xs):\n    return sum(xs) / len(xs)",                            # no ValueError on []
             "def mean(xs):\n    return sum(xs) // len(xs)",                           # integer division
             "def mean(xs):\n    import sys\n    print('debug', file=sys.stderr)\n    return sum(xs) / len(xs) if xs else 1 / 0"],
    "counter": ["def step(state):\n    state['w'] += 1\n    state['b'] -= 1",               # b not frozen
                "def step(state):\n    pass"],                                          # nothing updated
    "fizzbuzz": ["def fizzbuzz(n):\n    if n % 3 == 0:\n        return 'Fizz'\n    if n % 5 == 0:\n"
                 "        return 'Buzz'\n    return str(n)",                                 # forgets 15: partial
                 "def fizzbuzz(n):\n    return str(n)",
                 "def fizzbuzz(n):\n    raise RuntimeError('todo')"],
    "explain": ["YOUR ANSWER HERE"],
}


def make_pycourse(root: Path) -> Path:
    """A copy of the plain-Python course with ps1 generated (gradebook + release)."""
    shutil.copytree(FIXTURES / "pycourse", root, dirs_exist_ok=True)
    generate_assignments(root, ["ps1"])
    return root


def pycourse_submissions(root: Path, count: int = 22) -> dict[str, dict[str, object]]:
    """`count` varied submissions of ps1 (correct, partly wrong, empty, erroring, tampered, missing, malformed)."""
    release = {name: nbformat.read(str(root / "release" / "ps1" / name), as_version=4)
               for name in ("problem1.ipynb", "problem2.ipynb")}
    cells_of = {"problem1.ipynb": ("squares", "mean", "counter"), "problem2.ipynb": ("fizzbuzz", "explain")}
    variants: dict[str, dict[str, str] | str] = {"s00_correct": dict(GOOD), "s01_empty": {}}
    i = 2
    for cell, wrongs in BAD.items():
        for wrong in wrongs:
            variants[f"s{i:02d}_{cell}_wrong{wrongs.index(wrong)}"] = {**GOOD, cell: wrong}
            i += 1
    variants[f"s{i:02d}_half"] = {"squares": GOOD["squares"], "fizzbuzz": BAD["fizzbuzz"][0]}; i += 1
    variants[f"s{i:02d}_tampered"] = dict(GOOD, squares=BAD["squares"][0]); i += 1   # also edits a locked test
    variants[f"s{i:02d}_missing_problem2"] = "missing"; i += 1
    variants[f"s{i:02d}_malformed"] = "malformed"; i += 1
    while i < count:
        variants[f"s{i:02d}_correct"] = dict(GOOD); i += 1
    out = {}
    for student, answers in variants.items():
        folder = root / "submitted" / student / "ps1"
        folder.mkdir(parents=True, exist_ok=True)
        if answers == "malformed":
            (folder / "problem1.ipynb").write_text('{"cells": [ {"cell_type": "code", ')
            nbformat.write(nbgrader_course.answer(release["problem2.ipynb"], {"fizzbuzz": GOOD["fizzbuzz"]}),
                           str(folder / "problem2.ipynb"))
            out[student] = answers
            continue
        if answers == "missing":
            nbformat.write(nbgrader_course.answer(release["problem1.ipynb"], {k: GOOD[k] for k in cells_of["problem1.ipynb"]}),
                           str(folder / "problem1.ipynb"))
            out[student] = answers
            continue
        for name, nb in release.items():
            mine = {k: v for k, v in answers.items() if k in cells_of[name]}
            filled = nbgrader_course.answer(nb, mine)
            if student.endswith("tampered") and name == "problem1.ipynb":
                for cell in filled.cells:
                    if nbgrader_md(cell).get("grade_id") == "test_squares":
                        cell.source = "pass  # the student emptied the test"
            nbformat.write(filled, str(folder / name))
        out[student] = answers
    return out


def copy_course(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def gradebook_cells(root: Path, assignment: str = "ps1") -> dict[tuple[str, str, str], tuple]:
    """(student, notebook, cell) -> (auto_score, needs_manual_grade), from DIR/gradebook.db; a duplicate fails."""
    from nbgrader.api import Gradebook

    cells = {}
    config = (root / "nbgrader_config.py").read_text() if (root / "nbgrader_config.py").exists() else ""
    course_id = "pycourse" if "pycourse" in config else ""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id) as gb:
        for submission in gb.assignment_submissions(assignment):
            for nb in submission.notebooks:
                for grade in nb.grades:
                    key = (submission.student_id, nb.name, grade.name)
                    assert key not in cells, f"duplicate grade {key}"
                    cells[key] = (grade.auto_score, bool(grade.needs_manual_grade))
    return cells
