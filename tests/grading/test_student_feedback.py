"""What students get back from a graded class, end to end (grading command, feedback on).

- Hidden tests stay hidden: every lesson is graded with all its realistic mistakes at once (the wrong
  answers of tests/lessons), and no line that only a hidden block holds appears in any feedback page or in
  the reports' student-facing fields.
- A warning is not an error: a correct answer whose code makes Keras warn inside a test cell keeps its
  points, and the feedback shows the warning.
- Validate agrees with the grader on the visible tests: for a mixed set of lesson 1 and 3 notebooks
  (correct, partly wrong, erroring, slow, warning-raising), the cells Validate reports as failing are the
  test cells that the grader failed in their visible part (the failing line of the traceback is not in a
  hidden block).
"""
from __future__ import annotations

import concurrent.futures
import html
import importlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import nbgrader_course as course
from autograder import paths
from autograder.grading.worker.feedback import hidden_text
from autograder.grading.worker.feedback.hidden import hidden_lines, is_graded_test
from autograder.nbgrader_runner import nbgrader_env

LESSON_TESTS = Path(__file__).resolve().parents[1] / "lessons"

L1, L3 = "lesson01_variables", "lesson03_example2_dense"

# A correct train_bias_only that hands the optimizer None for the kernel: Keras skips it and warns
# "Gradients do not exist for variables ..." (a UserWarning) inside the test cells that call it.
BIAS_ONLY_WITH_NONE = """def train_bias_only(model, X, y, lr, num_steps):
    optimizer = keras.optimizers.SGD(learning_rate=lr)
    bias = model.layers[-1].bias
    losses = []
    for step in range(num_steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(X) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        grads = [g if v is bias else None for g, v in zip(grads, model.trainable_variables)]
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(float(loss))
    return losses"""

SLOW_SGD_STEP = "import time\n\ndef sgd_step(w, grad, lr):\n    time.sleep(1)\n    w.assign_sub(lr * grad)\n    return w"

# Lesson 1 and 3 notebooks both ways (name -> (assignment, answers replacing the solution's)).
MIXED = {
    "correct1": (L1, {}),
    "slow1": (L1, {"sgd_step": SLOW_SGD_STEP}),
    "erroring1": (L1, {"non_trainable_scale": "scale = tf.Varible([0.5, 2.0], trainable=False, name='scale')"}),
    "partly_wrong1": (L1, {"sgd_step": "def sgd_step(w, grad, lr):\n    w = w - lr * grad\n    return w"}),
    "warning3": (L3, {"train_bias_only": BIAS_ONLY_WITH_NONE}),
}


def _lesson_module(assignment):
    sys.path.insert(0, str(LESSON_TESTS))
    try:
        (path,) = LESSON_TESTS.glob(f"test_{assignment}.py")
        return importlib.import_module(path.stem)
    finally:
        sys.path.remove(str(LESSON_TESTS))


def _all_mistakes(assignment):
    answers = {}
    for wrong in getattr(_lesson_module(assignment), "WRONG_ANSWERS", []):
        answers.update(wrong.answers)
    return answers


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every lesson with all its mistakes, and the mixed set, graded by one run of the command with feedback."""
    root = tmp_path_factory.mktemp("feedback")
    lessons = paths.assignments()
    first = course.make_course(root / "course", lessons)
    submissions = {f"mistakes_{a}": (a, _all_mistakes(a)) for a in lessons} | MIXED
    notebooks = {}
    for student, (assignment, answers) in submissions.items():
        (source,) = paths.notebooks_of(paths.SOLUTIONS, assignment)
        released = course.release_notebook(first, assignment, source.name)
        solution = course.solution_answers(course.source_notebook(first, assignment, source.name))
        nb = course.answer(released, {**solution, **answers})
        course.submit(first, student, assignment, {source.name: nb})
        notebooks[student] = (assignment, source.name)
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", *lessons, "--course-dir", str(first),
                          "--workers", "2", "--no-progress"], capture_output=True, text=True, env=nbgrader_env(),
                         timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    return first, notebooks


def _report(first, student, assignment):
    return json.loads((first / "reports" / student / f"{assignment}.json").read_text())


def _feedback(first, student, assignment, notebook):
    return html.unescape((first / "feedback" / student / assignment / notebook.replace(".ipynb", ".html")).read_text())


def test_no_hidden_test_reaches_a_student(graded):
    first, notebooks = graded
    checked = 0
    for student, (assignment, notebook) in notebooks.items():
        source = course.source_notebook(first, assignment, notebook)
        released = course.release_notebook(first, assignment, notebook)
        public = "\n".join(cell.source for cell in released.cells)
        # Lines only hidden blocks hold (text that the student's own copy shows somewhere is no secret).
        secret = {line for cell in source.cells if is_graded_test(cell) for line in hidden_text(cell.source)
                  if line not in public}
        assert secret, f"{assignment} has no hidden tests"
        page = _feedback(first, student, assignment, notebook)
        assert "BEGIN HIDDEN TESTS" not in page
        leaked = [line for line in secret if line in page]
        assert not leaked, (student, leaked)
        report = _report(first, student, assignment)
        student_facing = json.dumps([c["student"] for nb in report["notebooks"] for c in nb["cells"]])
        assert not [line for line in secret if json.dumps(line)[1:-1] in student_facing], student
        checked += len(secret)
    assert checked > 100


def test_each_mistake_fails_with_its_message_in_the_summary(graded):
    first, notebooks = graded
    for student, (assignment, notebook) in notebooks.items():
        if not student.startswith("mistakes_"):
            continue
        report = _report(first, student, assignment)
        assert report["score"] < report["max_score"], student
        page = _feedback(first, student, assignment, notebook)
        assert "✗ not yet" in page and f"Score: {report['score']:g} / {report['max_score']:g}" in page


def test_a_warning_costs_no_points_and_is_shown(graded):
    first, notebooks = graded
    report = _report(first, "warning3", L3)
    assert report["score"] == report["max_score"], report["notebooks"][0]["cells"]
    page = re.sub(r"<[^>]+>", "", _feedback(first, "warning3", L3, notebooks["warning3"][1]))   # the text shown
    assert "UserWarning: Gradients do not exist for variables ['regressor/dense/kernel']" in page


def _validate(notebook: Path) -> dict:
    """What the Validate button runs (nbgrader's server extension): the Validator, with the configuration
    nbgrader finds from the notebook server's folder, in a fresh process."""
    code = ("import json, os, sys\n"
            "from jupyter_core.paths import jupyter_config_path\n"
            "from nbgrader.apps import NbGrader\n"
            "from nbgrader.validator import Validator\n"
            "app = NbGrader(); app.config_file_paths.append([os.getcwd(), *jupyter_config_path()])\n"
            "app.load_config_file()\n"
            "print(json.dumps(Validator(config=app.config).validate(sys.argv[1])))\n")
    run = subprocess.run([sys.executable, "-c", code, str(notebook)], capture_output=True, text=True,
                         cwd=notebook.parent, env=nbgrader_env(), timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def _failed_in_visible_part(cell, report_cell) -> bool:
    """The grader's verdict on a test cell's visible part: failed, and not on a line of a hidden block."""
    if report_cell["passed"]:
        return False
    tb = report_cell["traceback"] or ""
    marker = f"File <test cell {report_cell['grade_id']}>:"
    if marker not in tb:
        return True                      # failed outside the test's own lines (e.g. a name never defined)
    line = int(tb.split(marker, 1)[1].split()[0].rstrip(","))
    return line not in hidden_lines(cell.source)


def test_validate_agrees_with_the_grader_on_visible_tests(graded, tmp_path):
    first, notebooks = graded
    jobs = {}
    for student in MIXED:
        assignment, notebook = notebooks[student]
        folder = tmp_path / student
        shutil.copytree(first / "submitted" / student / assignment, folder)
        jobs[student] = folder / notebook
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        validated = dict(zip(jobs, pool.map(_validate, jobs.values())))
    for student, result in validated.items():
        assignment, notebook = notebooks[student]
        source = course.source_notebook(first, assignment, notebook)
        tests = {c.metadata["nbgrader"]["grade_id"]: c for c in source.cells if is_graded_test(c)}
        report = {c["grade_id"]: c for c in _report(first, student, assignment)["notebooks"][0]["cells"]}
        submitted = nbformat.read(str(jobs[student]), as_version=4)
        by_source = {c.source.strip(): c.metadata["nbgrader"]["grade_id"] for c in submitted.cells
                     if is_graded_test(c)}
        # Validate also lists locked cells that failed (a "try it" cell calling a broken function): not tests.
        validate_failed = {by_source[f["source"]] for f in result.get("failed", []) if f["source"] in by_source}
        grader_failed = {g for g, cell in tests.items() if _failed_in_visible_part(cell, report[g])}
        assert validate_failed == grader_failed, (student, validate_failed, grader_failed)
    assert not validated["correct1"].get("failed") and not validated["warning3"].get("failed")
    assert validated["erroring1"].get("failed") and validated["partly_wrong1"].get("failed")
