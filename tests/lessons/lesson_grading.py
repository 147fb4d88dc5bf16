"""Grading a lesson as nbgrader would, for the lesson tests: empty, correct (several ways) and realistic wrong submissions.

Each lesson's test module declares its wrong answers; `grade_lessons` (called once per test session
by conftest.py, for every lesson module collected) builds a scratch nbgrader course from this
repository, submits for each lesson the untouched student notebook ("empty"), the instructor's answers
("correct") and every wrong answer (the instructor's answers with some cells replaced), grades them all
with one run of the course's grading command (`python -m autograder grade LESSON...`: nbgrader's
autograde in the sandbox, two workers, warm kernels forked from a template that has imported
TensorFlow) and returns what each test needs to check.  No honest submission may be marked for review
(that would withhold points, and the check of the scores would say so); a lesson module that sets
`COMPARE_WITH_NBGRADER = True` also has a copy graded with plain `nbgrader autograde`, which must give
the same scores, cell by cell.

Wrong answers that touch different exercises and fail different cells are graded together, in one
submission per group (fewer notebooks to execute); each still has to lose exactly its own cells, so
an interaction between two mistakes shows up as a failure (mark such a mistake ``alone=True``).

Students solve an exercise in more than one correct way: a lesson module lists other correct answers
as ``RIGHT_ANSWERS`` (``RightAnswer``), each of which must score full marks. Right answers to different
exercises are graded together, like wrong ones.
"""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import nbgrader_course as course
from autograder.grading.protocol import nbgrader_md
from autograder.nbgrader_runner import nbgrader_env
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


@dataclass(frozen=True)
class RightAnswer:
    """Another correct way to answer: solution cells replaced (grade_id -> code); it must score full marks."""
    student: str
    answers: dict[str, str]
    fails: frozenset[str] = frozenset()    # a right answer fails nothing
    alone: bool = False


def group_wrong_answers(wrong_answers: list[WrongAnswer] | list[RightAnswer], prefix: str = "wrong"
                        ) -> dict[str, list[WrongAnswer]]:
    """Submission name -> the answers it combines (disjoint answer cells and disjoint failing cells)."""
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
    return {group[0].student if len(group) == 1 else f"{prefix}{i}": group for i, group in enumerate(groups)}


@dataclass
class GradedLesson:
    assignment: str
    max_points: dict[str, float]                    # graded cell -> points
    scores: dict[str, dict[str, float]]             # student -> graded cell -> points awarded
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # student -> graded cell -> error text
    groups: dict[str, list[WrongAnswer]] = field(default_factory=dict)  # submission -> wrong answers it combines
    right_groups: dict[str, list[RightAnswer]] = field(default_factory=dict)  # submission -> right answers
    damaged: dict[str, dict] = field(default_factory=dict)  # damaged copy (student) -> its report (issue 21)
    damaged_csv: dict[str, dict] = field(default_factory=dict)  # damaged copy (student) -> its grades.csv row

    def total(self, student: str) -> float:
        return sum(self.scores[student].values())


def _max_points(nb: nbformat.NotebookNode) -> dict[str, float]:
    return {nbgrader_md(c)["grade_id"]: float(nbgrader_md(c)["points"]) for c in nb.cells if nbgrader_md(c).get("grade")}


def _errors(nb: nbformat.NotebookNode) -> dict[str, str]:
    errors = {}
    for cell in nb.cells:
        grade_id = nbgrader_md(cell).get("grade_id")
        texts = [f"{o.ename}: {o.evalue}" for o in cell.get("outputs", []) if o.output_type == "error"]
        if grade_id and texts:
            errors[grade_id] = "\n".join(texts)
    return errors


def _submissions(first: Path, assignment: str, wrong_answers: list[WrongAnswer],
                 right_answers: list[RightAnswer] = ()):
    """Submit the empty, correct, other-correct and wrong-answer notebooks of one lesson; return its
    notebook's name, the submission names, the groups of wrong answers and the groups of right answers."""
    (notebook,) = [p.name for p in (SOLUTIONS / assignment).glob("*.ipynb")]
    student = course.release_notebook(first, assignment, notebook)
    solutions = course.solution_answers(course.source_notebook(first, assignment, notebook))
    submissions = {"empty": student, "correct": course.answer(student, solutions)}
    groups = group_wrong_answers(wrong_answers)
    right_groups = group_wrong_answers(list(right_answers), prefix="right")
    for name, group in (groups | right_groups).items():
        answers = dict(solutions)
        for wrong in group:
            answers.update(wrong.answers)
        submissions[name] = course.answer(student, answers)
    for name, nb in submissions.items():
        course.submit(first, name, assignment, {notebook: nb})
    return notebook, list(submissions), groups, right_groups


def grade_lessons(root: Path, lessons: dict[str, list[WrongAnswer]], workers: int = 2,
                  compare_with_nbgrader: tuple[str, ...] = (),
                  right_answers: dict[str, list[RightAnswer]] | None = None,
                  damaged: dict[str, dict[str, bytes]] | None = None) -> dict[str, GradedLesson]:
    """Grade the classes of every lesson in ``lessons`` (assignment -> its wrong answers; ``right_answers``:
    assignment -> its other correct answers) with one run of the grading command, as an instructor grades
    several assignments (see the module docstring).  ``damaged`` (assignment -> student -> notebook file) adds
    damaged copies (issue 21) to the same run; their reports are returned for the lesson's own checks."""
    right_answers, damaged = right_answers or {}, damaged or {}
    first = course.make_course(root / "course", list(lessons))
    submitted = {a: _submissions(first, a, wrong_answers, right_answers.get(a, []))
                 for a, wrong_answers in lessons.items()}
    plain = Path(shutil.copytree(first, root / "plain")) if compare_with_nbgrader else None
    for assignment, copies in damaged.items():     # after the plain copy: plain nbgrader cannot repair them
        (notebook,) = [p.name for p in (SOLUTIONS / assignment).glob("*.ipynb")]
        for student, data in copies.items():
            folder = first / "submitted" / student / assignment
            folder.mkdir(parents=True)
            (folder / notebook).write_bytes(data)
    with ThreadPoolExecutor(1) as pool:   # plain nbgrader (one process, one kernel) beside the command
        plain_runs = [pool.submit(course.autograde, plain, a) for a in compare_with_nbgrader]
        run = subprocess.run([sys.executable, "-m", "autograder", "grade", *lessons, "--course-dir", str(first),
                              "--workers", str(workers), "--no-progress", "--no-feedback"],
                             capture_output=True, text=True, env=nbgrader_env(), timeout=3600)
        for done in plain_runs:
            done.result()
    assert run.returncode == 0, run.stderr[-3000:]
    graded, templates = {}, {}                     # assignment -> pids of the templates that forked its kernels
    origins = set()                                # (origin, parent pid) of every template
    for assignment, (notebook, names, groups, right_groups) in submitted.items():
        copies = damaged.get(assignment, {})
        assert (f"{assignment}: graded {len(names) + len(copies)}, already graded 0, failed to grade 0"
                in run.stdout), run.stdout
        errors = {}
        for name in names:
            report = json.loads((first / "reports" / name / f"{assignment}.json").read_text())
            assert not report["needs_review"], (assignment, name, report["review"])
            assert {g["kernel"] for g in report["guard"].values()} == {"warm"}, report["guard"]
            templates.setdefault(assignment, set()).add(report["stats"]["template"]["pid"])
            origins.add((report["stats"]["template"]["origin"], report["stats"]["template"]["parent_pid"]))
            graded_nb = first / "autograded" / name / assignment / notebook
            errors[name] = _errors(nbformat.read(str(graded_nb), as_version=4))
        max_points = _max_points(course.source_notebook(first, assignment, notebook))
        scores = {k: v for k, v in course.scores(first, assignment).items() if k not in copies}
        graded[assignment] = GradedLesson(assignment, max_points, scores, errors, groups, right_groups, {
            student: json.loads((first / "reports" / student / f"{assignment}.json").read_text())
            for student in copies})
    # Lessons that import the same modules (some also `warnings`, loaded anyway) share each worker's template; a
    # lesson that imports a helper module of its own gets its own template: one per worker for each lesson.
    assert all(len(pids) <= workers for pids in templates.values()), (
        {a: len(pids) for a, pids in templates.items()}, f"templates for {workers} workers")
    # Every template, for every lesson (those with a helper module of their own too), was forked by the
    # command's one template server: TensorFlow was imported once for the whole run.
    assert len(origins) == 1 and next(iter(origins))[0] == "server", origins
    # grades.csv, exported once at the end of the run: nbgrader's export, a row for every student of the course
    # and every assignment (0 where the student submitted nothing), each lesson's scores in its rows.
    with open(first / "grades.csv", newline="") as fh:
        all_rows = list(csv.DictReader(fh))
    copies = {student for students in damaged.values() for student in students}
    for row in all_rows:
        if row["student_id"] in copies and row["assignment"] in damaged:
            graded[row["assignment"]].damaged_csv[row["student_id"]] = row
    rows = {(r["assignment"], r["student_id"]): float(r["score"]) for r in all_rows if r["student_id"] not in copies}
    students = {name for _, names, *_ in submitted.values() for name in names}
    expected = {(a, name): sum(graded[a].scores[name].values()) if name in names else 0.0
                for a, (_, names, *_) in submitted.items() for name in students}
    assert rows == expected, {k: (rows.get(k), expected.get(k)) for k in rows.keys() | expected.keys()
                              if rows.get(k) != expected.get(k)}
    for assignment in compare_with_nbgrader:
        assert course.scores(plain, assignment) == graded[assignment].scores, assignment
    return graded


def check_lesson(graded: GradedLesson, wrong_answers: list[WrongAnswer],
                 right_answers: list[RightAnswer] = ()) -> None:
    """The grading contract of every lesson: empty 0, correct full (every listed way), each wrong answer
    exactly its cells lost."""
    assert graded.max_points, "the lesson has no graded cells"
    assert graded.scores["correct"] == graded.max_points, graded.errors["correct"]
    graded_rights = [r for group in graded.right_groups.values() for r in group]
    assert sorted(r.student for r in graded_rights) == sorted(r.student for r in right_answers)
    for name, group in graded.right_groups.items():
        assert graded.scores[name] == graded.max_points, ([r.student for r in group], graded.errors[name])
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
