"""A class with known mistakes planted in known proportions, for the class report, the per-question export,
formgrader's review and the exchange round trip (tests/grading/test_class_report.py).

One small TensorFlow assignment, ``planted`` (one notebook, two exercises graded with the variable-change
tracker), in a full nbgrader course whose ``Exchange.root`` is a local folder.  Each planted mistake has the
tracker cause id it must be counted under (or the label the class report gives a failure without one).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import nbgrader_course
from autograder.nbgrader_runner import run_nbgrader

ASSIGNMENT = "planted"
COURSE_ID = "planted_course"
NOTEBOOK = "planted"
SETUP = ("from autograder.tfsetup import silence_tensorflow\nsilence_tensorflow()\n"
         "import tensorflow as tf\nfrom autograder.tracker import snapshot")
SGD = "def sgd_step(w, grad, lr):\n    w.assign_sub(lr * grad)\n    return w"
BIAS = ("def train_bias_step(w, b, x, y, lr):\n    with tf.GradientTape() as tape:\n"
        "        loss = tf.reduce_sum((tf.linalg.matvec(x, w) + b - y) ** 2)\n"
        "    b.assign_sub(lr * tape.gradient(loss, b))")
TEST_IN_PLACE = ('"""sgd_step updates w in place (tracker: updated, not replaced)."""\n'
                 'state = {"w": tf.Variable([1.0, -2.0])}\nsnap = snapshot(namespace=state)\n'
                 'state["w"] = sgd_step(state["w"], tf.constant([0.5, 0.5]), lr=0.1)\n'
                 'snap.compare().expect(updated="w")')
TEST_RETURNS = ('"""sgd_step returns the variable it updated."""\nw = tf.Variable([1.0])\n'
                'assert sgd_step(w, tf.constant([1.0]), lr=0.5) is w, "return w, the variable you updated"')
TEST_BIAS = ('"""train_bias_step updates b and leaves w frozen (tracker)."""\n'
             'state = {"w": tf.Variable([1.0, 2.0]), "b": tf.Variable([0.5])}\nsnap = snapshot(namespace=state)\n'
             'train_bias_step(state["w"], state["b"], tf.constant([[1.0, 2.0]]), tf.constant([3.0]), lr=0.1)\n'
             'snap.compare().expect(updated="b", frozen="w")')
MAX_POINTS = {"test_sgd_in_place": 1.0, "test_sgd_returns": 1.0, "test_bias_only": 2.0}

# The planted mistakes: answers replaced, and what the class report must count.
REBIND = "def sgd_step(w, grad, lr):\n    w = w - lr * grad\n    return w"
BOTH = ("def train_bias_step(w, b, x, y, lr):\n    with tf.GradientTape() as tape:\n"
        "        loss = tf.reduce_sum((tf.linalg.matvec(x, w) + b - y) ** 2)\n"
        "    gw, gb = tape.gradient(loss, [w, b])\n    w.assign_sub(lr * gw)\n    b.assign_sub(lr * gb)")
OUTSIDE = ("def train_bias_step(w, b, x, y, lr):\n    loss = tf.reduce_sum((tf.linalg.matvec(x, w) + b - y) ** 2)\n"
           "    with tf.GradientTape() as tape:\n        pass\n    grad = tape.gradient(loss, b)\n"
           "    if grad is not None:\n        b.assign_sub(lr * grad)")
EXEC = BIAS + '\nexec("pass")'


@dataclass(frozen=True)
class Planted:
    student: str
    answers: dict          # grade_id -> source; a missing answer keeps the release's stub
    score: float


CLASS = [
    *(Planted(f"correct{i}", {"sgd": SGD, "bias": BIAS}, 4.0) for i in (1, 2)),
    Planted("rebind1", {"sgd": REBIND, "bias": BIAS}, 2.0),
    Planted("rebind2", {"sgd": REBIND, "bias": BIAS}, 2.0),
    Planted("stub1", {"bias": BIAS}, 2.0),
    Planted("both1", {"sgd": SGD, "bias": BOTH}, 2.0),
    Planted("both2", {"sgd": SGD, "bias": BOTH}, 2.0),
    Planted("outside1", {"sgd": SGD, "bias": OUTSIDE}, 2.0),
    Planted("flagged1", {"sgd": SGD, "bias": EXEC}, 0.0),     # exec(): marked for review, every cell withheld
]
BROKEN = "broken1"                  # a truncated notebook: fails to grade, named in the report
EXCHANGE_STUDENT = "alice"          # goes through nbgrader's exchange and solves everything

# What the class report must count: exercise title -> cause -> students.
EXPECTED_CAUSES = {
    "Update in place": {"replaced_by_tensor": ["rebind1", "rebind2"],
                        "no tracker verdict: NotImplementedError": ["stub1"],
                        "marked for review": ["flagged1"]},
    "Train only the bias": {"trainable_changed": ["both1", "both2"], "loss_outside_tape": ["outside1"],
                            "marked for review": ["flagged1"]},
}


def _cell(kind: str, source: str, grade_id: str | None = None, points: float | None = None):
    md = {"grade": kind == "test", "grade_id": grade_id, "locked": kind != "answer", "schema_version": 3,
          "solution": kind == "answer", "task": False}
    if kind == "markdown":
        return nbformat.v4.new_markdown_cell(source)
    if kind == "setup":
        md.update(grade=False, grade_id=grade_id)
    if points is not None:
        md["points"] = points
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": md})


def source_notebook() -> nbformat.NotebookNode:
    answer = lambda body: body.replace("\n", "\n    ### BEGIN SOLUTION\n", 1) + "\n    ### END SOLUTION"  # noqa: E731
    nb = nbformat.v4.new_notebook(cells=[
        _cell("setup", SETUP, "setup"),
        _cell("markdown", "# Update in place\nWrite `sgd_step(w, grad, lr)`: one step of gradient descent on `w`."),
        _cell("answer", answer(SGD), "sgd"),
        _cell("test", TEST_IN_PLACE, "test_sgd_in_place", 1),
        _cell("test", TEST_RETURNS, "test_sgd_returns", 1),
        _cell("markdown", "# Train only the bias\nWrite `train_bias_step(w, b, x, y, lr)`: update `b`, not `w`."),
        _cell("answer", answer(BIAS), "bias"),
        _cell("test", TEST_BIAS, "test_bias_only", 2),
    ])
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    return nb


def make_course(root: Path, exchange: Path) -> Path:
    """The course (config, source, gradebook and release made by ``nbgrader generate_assignment``)."""
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    exchange.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(
        f'c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = "{COURSE_ID}"\n'
        f'c.Exchange.root = "{exchange}"\nc.ExecutePreprocessor.timeout = 300\n')
    nbformat.write(source_notebook(), str(root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"))
    run_nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=root)
    return root


def student_config(home: Path, exchange: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "nbgrader_config.py").write_text(
        f'c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = "{COURSE_ID}"\nc.Exchange.root = "{exchange}"\n')


def solve(notebook: Path, answers: dict) -> None:
    nb = nbformat.read(str(notebook), as_version=4)
    nbformat.write(nbgrader_course.answer(nb, answers), str(notebook))


def place_class(root: Path) -> None:
    """Put the planted students' notebooks where `nbgrader collect` leaves them."""
    release = root / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    for planted in CLASS:
        folder = root / "submitted" / planted.student / ASSIGNMENT
        folder.mkdir(parents=True)
        nb = nbformat.read(str(release), as_version=4)
        nbformat.write(nbgrader_course.answer(nb, planted.answers), str(folder / f"{NOTEBOOK}.ipynb"))
    broken = root / "submitted" / BROKEN / ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / f"{NOTEBOOK}.ipynb").write_text('{"cells": [ {"cell_type": "code", ')
