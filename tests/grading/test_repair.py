"""Damaged notebooks graded fairly (issue 21; autograder/grading/worker/repair/).

Fast (no kernel): every case of the catalogue (tests/grading/damage.py) on three lessons, correct and partly
wrong, through the matcher and the repair: the exact note, the exact unrepairable answers, and a repaired
notebook that nbgrader grades as the undamaged copy (every nbgrader cell once, its metadata, its source).
The copies whose outcome needs a kernel are graded with lesson 1's class, in the lessons' one grading run
(``DAMAGED_CASES`` in tests/lessons/test_lesson01_variables.py).
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from damage import CASES, LESSONS, answers, gid, md  # noqa: E402

from autograder import nbgrader_course as course  # noqa: E402
from autograder.grading.worker.repair.match import is_anchor, normalized  # noqa: E402
from autograder.grading.worker.repair.messages import note, unmatched_message  # noqa: E402
from autograder.grading.worker.repair.repair import read_raw, repair_notebook  # noqa: E402
from autograder.grading.worker.repair.submission import release_version  # noqa: E402
from autograder.paths import NOTEBOOKS, SOLUTIONS  # noqa: E402

KEYS = ("grade", "grade_id", "locked", "points", "solution")


def source_and_student(name: str):
    """A lesson's instructor source and its released student notebook, as stored."""
    return (nbformat.read(str(SOLUTIONS / name / f"{name}.ipynb"), as_version=4),
            nbformat.read(str(NOTEBOOKS / name / f"{name}.ipynb"), as_version=4))


@pytest.fixture(scope="module", params=LESSONS)
def lesson(request):
    name = request.param
    source, student = source_and_student(name)
    solved = course.solution_answers(source)
    partly = {k: v for k, v in solved.items() if k != list(solved)[-1]}   # the last exercise left as released
    return name, release_version(source), {"correct": course.answer(student, solved),
                                           "partly_wrong": course.answer(student, partly)}


def test_release_version_is_the_student_notebook(lesson):
    """The grader's release (nbgrader's preprocessors on the source) has the student notebook's cells."""
    name, release, _ = lesson
    student = nbformat.read(str(NOTEBOOKS / name / f"{name}.ipynb"), as_version=4)
    assert [(c.cell_type, c.source) for c in release.cells] == [(c.cell_type, c.source) for c in student.cells]


@pytest.mark.parametrize("kind", ["correct", "partly_wrong"])
def test_undamaged_is_left_alone(lesson, kind):
    name, release, submissions = lesson
    assert repair_notebook(name, (nbformat.writes(submissions[kind]) + "\n").encode(), release).repaired is None


@pytest.mark.parametrize("kind", ["correct", "partly_wrong"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_catalogue(lesson, case, kind):
    name, release, submissions = lesson
    undamaged = submissions[kind]
    repair = repair_notebook(name, case.build(undamaged, name), release)
    assert repair.repaired is not None, "damage not recognised"
    assert note(repair) == case.note(release)
    assert tuple(u.grade_id for u in repair.match.unmatched) == case.unmatched(release)
    repaired = repair.repaired
    assert repaired.nbformat_minor == 5 and len({c["id"] for c in repaired.cells}) == len(repaired.cells)
    nbformat.validate(repaired)
    by_id = {}
    for cell in repaired.cells:
        if gid(cell):
            assert gid(cell) not in by_id, f"{gid(cell)} twice"
            by_id[gid(cell)] = cell
    expected = {gid(c): c for c in undamaged.cells if gid(c) and gid(c) not in case.unmatched(release)}
    assert set(by_id) == set(expected)
    split = case.name == "split_answer"
    for grade_id, cell in by_id.items():
        original = expected[grade_id]
        assert {k: md(cell).get(k) for k in KEYS} == {k: md(original).get(k) for k in KEYS}, grade_id
        assert cell.cell_type == original.cell_type, grade_id
        if split and grade_id == gid(undamaged.cells[answers(undamaged)[0]]):
            continue   # the half with the stub's line; the other half stays the student's code beside it
        if case.name != "merged_answers" or not md(cell).get("solution"):
            assert normalized(cell.source) == normalized(original.source), grade_id


def test_unmatched_message_names_the_answer_and_its_neighbours():
    """The merged case of lesson 1: one message, the answer cell, its count and its recognised neighbours."""
    name = "lesson01_variables"
    source, student = source_and_student(name)
    case = next(c for c in CASES if c.name == "merged_answers")
    repair = repair_notebook(name, case.build(course.answer(student, course.solution_answers(source)), name),
                             release_version(source))
    assert [unmatched_message(u) for u in repair.match.unmatched] == [
        "answer cell for `sgd_step` not found: the notebook has 0 cells where 1 was expected, between "
        "`test_watched_names_unread` and `test_sgd_step_in_place`; its tests are withheld for review, "
        "the other cells are graded"]


def test_ambiguous_split_is_not_guessed():
    """Two cells where one answer was expected and neither (or both) holds the stub's line: no repair of it."""
    name = "lesson01_variables"
    source, student = source_and_student(name)
    nb = course.answer(student, {**course.solution_answers(source), "sgd_step": "def sgd_step(w, grad, lr):\n    w.assign_sub(lr * grad)\n    return w"})
    i = next(k for k, c in enumerate(nb.cells) if gid(c) == "sgd_step")
    nb.cells.insert(i + 1, nbformat.v4.new_code_cell("def sgd_step(w, grad, lr):\n    return w"))
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    repair = repair_notebook(name, (nbformat.writes(nb) + "\n").encode(), release_version(source))
    (item,) = repair.match.unmatched
    assert unmatched_message(item).startswith(
        "answer cell for `sgd_step` not found: the notebook has 2 cells where 1 was expected, between "
        "`test_watched_names_unread` and `test_sgd_step_in_place`")
    assert "sgd_step" not in {gid(c) for c in repair.repaired.cells}


def test_edited_metadata_is_not_laundered():
    """A cell that keeps nbgrader metadata is never given other metadata: edits stay for the static checks."""
    name = "lesson01_variables"
    source, student = source_and_student(name)
    nb = course.answer(student, course.solution_answers(source))
    test = next(c for c in nb.cells if gid(c) == "test_sgd_step_in_place")
    test.metadata.nbgrader["points"] = 200
    nb.cells[0].metadata.pop("nbgrader", None)
    del nb.cells[2].metadata["nbgrader"]   # the setup cell: damage elsewhere triggers the repair
    repair = repair_notebook(name, (nbformat.writes(nb) + "\n").encode(), release_version(source))
    repaired = next(c for c in repair.repaired.cells if gid(c) == "test_sgd_step_in_place")
    assert md(repaired)["points"] == 200


def test_changed_test_source_is_not_recognised():
    """A test cell whose metadata is gone AND whose source was changed is not a test cell (red team m10)."""
    name = "lesson01_variables"
    source, student = source_and_student(name)
    nb = course.answer(student, course.solution_answers(source))
    test = next(c for c in nb.cells if gid(c) == "test_sgd_step_in_place")
    test.source = "pass"
    del test.metadata["nbgrader"]
    repair = repair_notebook(name, (nbformat.writes(nb) + "\n").encode(), release_version(source))
    assert repair.match.missing == ["test_sgd_step_in_place"]
    assert all(is_anchor(c) is False or gid(c) != "test_sgd_step_in_place" for c in repair.repaired.cells)
    assert read_raw((nbformat.writes(repair.repaired)).encode())[1] == 0


def test_validate_hook_explains_damage(monkeypatch):
    """What Validate runs on a damaged lesson: one failing graded cell saying so and how to get a clean copy
    (``jupyter-config/nbgrader_config.py`` installs the hook); an intact notebook is left as it is."""
    from damage import strip

    from autograder.damage_notice import on_notebook_start

    monkeypatch.setenv("NBGRADER_VALIDATING", "1")
    lesson = "lesson01_variables"
    intact = nbformat.read(str(NOTEBOOKS / lesson / f"{lesson}.ipynb"), as_version=4)
    damaged = strip(intact)
    on_notebook_start(notebook=intact)
    assert len(intact.cells) > 1
    on_notebook_start(notebook=damaged)
    (cell,) = damaged.cells
    assert md(cell)["grade"] and "checksum" in md(cell)
    assert "This notebook was damaged: nbgrader metadata missing on 8 cells (editor)." in cell.source
    assert f"copy notebooks/{lesson}/{lesson}.ipynb" in cell.source and "fetch the assignment again" in cell.source
    assert max(len(line) for line in cell.source.splitlines()) < 250   # Validate cuts longer lines


def test_stub_line_beats_position():
    """A scratch cell added before an answer and a plain cell deleted after it (as many cells as expected): the
    answer is still the cell that holds its stub's first line, not the scratch cell in its place."""
    from damage import strip

    name = "lesson01_variables"
    source, student = source_and_student(name)
    nb = course.answer(student, course.solution_answers(source))
    i = next(k for k, c in enumerate(nb.cells) if gid(c) == "sgd_step")
    assert nb.cells[i + 2].cell_type == "code" and not md(nb.cells[i + 2])     # the "Try it" cell
    del nb.cells[i + 2]
    nb.cells.insert(i, nbformat.v4.new_code_cell("lr = 0.5  # scratch"))
    repair = repair_notebook(name, (nbformat.writes(strip(nb)) + "\n").encode(), release_version(source))
    (answer,) = [c for c in repair.repaired.cells if gid(c) == "sgd_step"]
    assert answer.source.startswith("def sgd_step(w, grad, lr):") and not repair.match.unmatched


def test_feedback_summary_tells_the_student():
    """The feedback page's summary carries the repair in the student's words (worker/feedback/summary.py)."""
    from autograder.grading.worker.feedback.summary import summary_html
    from autograder.grading.worker.repair.messages import student_notes

    notes = student_notes([
        {"notebook": "a", "note": "repaired: nbgrader metadata missing on 8 cells (editor); matched by content",
         "problems": []},
        {"notebook": "b", "note": "", "problems": [{"answer": "x", "tests": ["t"], "message":
                                                    "answer cell for `x` not found: the notebook has 0 cells where "
                                                    "1 was expected, between `s` and `t`; its tests are withheld"}]},
        {"notebook": "c", "note": "", "problems": []}])
    assert notes == {
        "a": ["Your notebook reached the grader damaged: nbgrader metadata missing on 8 cells, as editors that do "
              "not know nbgrader leave it. It was matched to the assignment by content and graded as usual; to be "
              "safe, work in a clean copy of the assignment."],
        "b": ["Answer cell for `x` not found: the notebook has 0 cells where 1 was expected, between `s` and `t`: "
              "an instructor will grade its tests by hand."]}
    page = summary_html(nbformat.v4.new_notebook(), {"nbgrader": {"score": 6, "max_score": 6}}, notes["b"])
    assert '<p class="repair-note">Answer cell for `x` not found' in page
