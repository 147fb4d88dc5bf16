"""What the worker decides and says without a kernel, on fixture files (tests/grading/fixtures/findings/, the way
nbgrader tests each preprocessor on tests/preprocessors/files/): the refusal messages an instructor reads (a
submission that is not a notebook, nbgrader refusing an edit, the sandbox that cannot be had), the reading of
the guard's report file, and the review of what a graded cell shows (:mod:`autograder.grading.worker.review`).
Each runs in milliseconds; the same cases end to end are in test_red_team.py.
"""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.grading import protocol
from autograder.grading.worker import pipeline, review, sandbox_mode
from autograder.grading.worker.job import GradeRecord, NotebookRecord, SubmissionJob, SubmissionResult
from autograder.grading.worker.static_checks import Finding
from autograder.nbgrader_course import cell_of

FILES = Path(__file__).parent / "fixtures" / "findings"
SOURCE = Path(__file__).parent / "fixtures" / "pycourse" / "source" / "ps1"
KEY = bytes(range(32))


def job(**submitted: bytes) -> SubmissionJob:
    """ps1 of the plain-Python course, submitted by `ada` as ``submitted`` (file name -> bytes)."""
    return SubmissionJob(assignment="ps1", student="ada", course_id="pycourse", config_py=b"", template_gradebook=b"",
                         source_files={p.name: p.read_bytes() for p in SOURCE.glob("*.ipynb")},
                         submitted_files=dict(submitted))


def source(name: str = "problem1.ipynb") -> bytes:
    return (SOURCE / name).read_bytes()


# -- submissions refused before grading: the message names the student, the file and what is wrong --------

def test_a_truncated_notebook_is_refused_naming_student_and_file():
    problems, warnings = pipeline._check_notebooks(job(**{"problem1.ipynb": (FILES / "problem1_truncated.ipynb")
                                                          .read_bytes(), "problem2.ipynb": source("problem2.ipynb")}))
    assert len(problems) == 1 and warnings == []
    assert problems[0].startswith("student ada: problem1.ipynb is not a valid notebook (")


def test_nbgrader_metadata_that_is_not_a_mapping_is_refused():
    problems, _ = pipeline._check_notebooks(job(**{"problem1.ipynb": (FILES / "problem1_bad_metadata.ipynb")
                                                   .read_bytes()}))
    assert "student ada: problem1.ipynb has malformed nbgrader cell metadata" in problems


def test_missing_extra_and_wrongly_named_notebooks_are_said_and_the_rest_is_graded():
    problems, warnings = pipeline._check_notebooks(job(**{"problem1.ipynb": source(), "notes.ipynb": source()}))
    assert problems == []
    assert warnings == ["student ada: problem2.ipynb is missing from the submission (scored 0)",
                        "student ada: notes.ipynb is not a notebook of ps1 (expected problem1.ipynb, "
                        "problem2.ipynb); it was not graded"]
    problems, _ = pipeline._check_notebooks(job(**{"Problem1.ipynb": source()}))
    assert problems == ["student ada: no notebook of the assignment in submitted/ada/ps1/ (found only "
                        "Problem1.ipynb) (expected problem1.ipynb, problem2.ipynb)"]


def test_a_link_in_the_submission_is_left_out_and_said():
    from autograder.grading.parent.course import Tree

    files = Tree({"problem1.ipynb": source(), "problem2.ipynb": source("problem2.ipynb")})
    files.skipped = {"data.csv": "a symbolic link to /etc/passwd"}
    submitted = job()
    submitted.submitted_files = files   # as course.read_tree gives them: the links left out, and said
    problems, warnings = pipeline._check_notebooks(submitted)
    assert problems == []
    assert warnings == ["student ada: data.csv is a symbolic link to /etc/passwd; links in a submission are not "
                        "followed, so it was left out (not copied to the kernel's folder, not graded); the rest of "
                        "the submission is graded"]


def test_nbgrader_refusing_an_edit_is_said_with_the_edit_and_nbgraders_own_words():
    """nbgrader's log of a real refusal (the red team's m08: a second `test_squares` cell, fixture
    problem1_test_twice.ipynb): one line naming the student, the notebook, what the grader's own reading found
    in it, and nbgrader's error, with no scratch path and no traceback."""
    submitted = job(**{"problem1.ipynb": (FILES / "problem1_test_twice.ipynb").read_bytes(),
                       "problem2.ipynb": source("problem2.ipynb")})
    static = pipeline._static_findings(submitted)
    log = (FILES / "nbgrader_refused.log").read_text()
    assert pipeline._refusal(submitted, static, log, Path("/tmp/grade-ps1-wjl3ijs7")) == (
        "student ada: nbgrader could not autograde the submission: problem1.ipynb: cell id `test_squares` appears "
        "twice (nbgrader: One or more notebooks in the assignment use an old version)")


# -- the sandbox that cannot be had ---------------------------------------------------------------------------

def test_namespaces_asked_for_but_unavailable_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setenv(protocol.MODE_ENV, "namespaces")
    monkeypatch.setattr(sandbox_mode, "namespaces_available", lambda: (False, "unshare not installed (util-linux)"))
    with pytest.raises(RuntimeError, match=rf"^{protocol.MODE_ENV}=namespaces but unshare not installed"):
        sandbox_mode.best_mode()
    monkeypatch.setenv(protocol.MODE_ENV, "")
    assert sandbox_mode.best_mode() == ("none", "unshare not installed (util-linux)")


def test_a_failed_system_call_of_the_sandbox_names_the_call():
    import ctypes

    from autograder.grading.kernel import sandbox

    ctypes.set_errno(1)
    with pytest.raises(OSError, match=r"^\[Errno 1\] unshare: Operation not permitted$"):
        sandbox._check(-1, "unshare")
    sandbox._check(0, "unshare")   # success raises nothing


# -- the guard's report file, read by the worker -----------------------------------------------------------------

def test_the_guard_report_withholds_the_flagged_cell_and_a_missing_report_the_whole_notebook(tmp_path):
    guard = shutil.copytree(FILES / "guard", tmp_path / "guard")
    result = SubmissionResult("ps1", "ada", status="graded")
    result.notebooks = [NotebookRecord("problem1", 0.0, True), NotebookRecord("problem2", 0.0, True)]
    result.grades = [GradeRecord("problem1", "test_squares", 2.0, 2.0, False),
                     GradeRecord("problem1", "test_mean", 1.0, 1.0, False),
                     GradeRecord("problem2", "test_fizzbuzz", 3.0, 3.0, False)]
    pipeline._review(result, {"problem1": [], "problem2": []}, guard)
    assert result.withheld == {"problem1/test_squares": 2.0, "problem2/test_fizzbuzz": 3.0}
    assert [(g.name, g.auto_score, g.needs_manual_grade) for g in result.grades] == [
        ("test_squares", 0.0, True), ("test_mean", 1.0, False), ("test_fizzbuzz", 0.0, True)]
    assert {"notebook": "problem2", "cell": None,
            "reason": "the grader's guard left no report for this notebook"} in result.review
    assert result.guard["problem1"]["kernel"] == "cold" and "problem2" not in result.guard
    assert result.warnings == ["student ada: problem1.ipynb was graded in a cold kernel: the warm template could "
                               "not start: no fork server on this machine"]


def test_no_report_for_a_notebook_that_was_not_submitted_is_no_finding(tmp_path):
    result = SubmissionResult("ps1", "ada", status="graded")
    result.notebooks = [NotebookRecord("problem2", 0.0, False)]
    result.grades = [GradeRecord("problem2", "test_fizzbuzz", 0.0, 3.0, False)]
    pipeline._review(result, {}, tmp_path)
    assert result.review == [] and result.withheld == {}


# -- the review of the guard's reports against what a graded cell shows --------------------------------------

def graded_cell(outputs) -> nbformat.NotebookNode:
    """problem1's test_squares (2 points) as autograded, with ``outputs`` and its source swapped for the guard's."""
    nb = nbformat.reads(source().decode(), as_version=4)
    cell = copy.deepcopy(cell_of(nb, "test_squares"))
    cell.source, cell.outputs = '__autograder_guard__("n1")', [nbformat.from_dict(o) for o in outputs]
    nb.cells = [cell]
    return nb


def reports(*records) -> list[tuple[int, bytes]]:
    return [(0, protocol.sign_line(KEY, {**r, "seq": i + 1}).rstrip(b"\n")) for i, r in enumerate(records)]


TESTS = {"n1": (0, "test_squares", "assert squares(3) == [0, 1, 4]")}
HELLO = {"kind": "hello", "pid": 7, "snapshot": {"from": "template"}}
START = {"kind": "start", "nonce": "n1", "grade_id": "test_squares", "problems": []}


def result(shown) -> dict:
    return {"kind": "result", "nonce": "n1", "grade_id": "test_squares", "status": "ok", "shown": shown,
            "problems": []}


def shows(text) -> list[dict]:
    return [{"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": text}}]


@pytest.mark.parametrize("outputs, shown, changed", [
    (shows("0.5"), {"type": "number", "text": "0.5"}, False),            # as computed
    (shows("0.500"), {"type": "number", "text": "0.49999"}, False),      # `%precision 3`: display rounding
    (shows("2.0"), {"type": "number", "text": "0.5"}, True),             # the formatter changed: 2 points shown
    ([], {"type": "number", "text": "0.5"}, True),                       # the displayhook silenced: full credit
    (shows("2.0"), {"type": "other", "name": "Fraction"}, False),        # its own __repr__: left to static checks
    (shows("2.0") + [{"output_type": "stream", "name": "stderr", "text": "x"}],
     {"type": "number", "text": "0.5"}, False),                          # stderr: nbgrader scores it 0 anyway
])
def test_a_displayed_result_changed_from_what_the_test_computed_is_a_finding(outputs, shown, changed):
    found = review.check_reports(KEY, reports(HELLO, START, result(shown)), TESTS, graded_cell(outputs), "")
    reasons = found["cells"].get("test_squares", [])
    assert bool(reasons) == changed, reasons
    if changed:
        assert reasons[0].startswith("the test computed 0.5 but the notebook ")
        assert "its displayed result was changed (worth 2 instead of 0.5 points)" in reasons[0]


def test_watched_events_a_silent_guard_and_a_test_run_twice_are_said():
    event = {"kind": "event", "event": "sys._getframe", "arg": "0", "where": "<ipython-input-3>:2"}
    ok = result({"type": "none"})
    found = review.check_reports(KEY, reports(HELLO, event, START, ok, START, ok), TESTS, graded_cell([]), "")
    assert found["notebook"] == ["cell 1: sys._getframe 0 (at <ipython-input-3>:2)"]
    assert found["cells"] == {"test_squares": ["the test ran more than once"]}
    assert found["snapshot"] == "template"
    silent = review.check_reports(KEY, [], TESTS, graded_cell([]), "")
    assert "the grader's guard never reported from the kernel" in silent["notebook"]
    died = review.check_reports(KEY, [], TESTS, graded_cell([]), "the kernel died while running this cell")
    assert "the grader's guard never reported from the kernel" not in died["notebook"]
    assert json.loads(json.dumps(found)) == found   # plain JSON data: the worker writes it as is
