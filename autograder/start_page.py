"""The course's start page, `notebooks/START_HERE.ipynb`: the first thing a student sees in JupyterLab.

`python3 course.py lab` opens JupyterLab on notebooks/, nbgrader's release directory, which is generated:
`python3 course.py release` (`autograder.release`) writes this page there from `LESSONS` below and the
assignments found in solutions/, so never edit it in notebooks/ by hand. It is a notebook of markdown cells
only, because JupyterLab renders a notebook's markdown (and follows its links to the lessons) when it opens
it, whereas a `.md` file opens in the text editor. `tests/test_release.py` checks that the committed page is
exactly what `render()` makes and that it lists every lesson.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook

FILENAME = "START_HERE.ipynb"

# The date and machine of the run times below: each is the wall-clock time nbclient (what `course.py execute` runs:
# a fresh kernel) took to run the solved lesson top to bottom, TensorFlow's import included; the shorter of two
# runs on a machine shared with other work, rounded up to 5 s. Lessons 1-8 as of commit 16ba58a.
MEASURED_ON = "2026-11-30, on a Linux machine with 2 CPU cores shared with other work"

# assignment -> (what it teaches, in one line; run time in seconds, as measured above)
LESSONS: dict[str, tuple[str, int]] = {
    "lesson01_variables": (
        "a `tf.Variable` is a container with a `trainable` flag; what `GradientTape` watches; "
        "`assign_sub` versus `w = w - lr * g`", 5),
    "lesson02_example1_non_trainable": (
        "the document's Example 1 as written (it raises inside the optimizer), why, and the corrected program", 5),
    "lesson03_example2_dense": (
        "the document's Example 2: a Dense layer's trainable variables, training only the bias, freezing a layer "
        "in a custom loop", 15),
    "lesson04_example3_intermediate": (
        "the document's Example 3 as written (`No gradients provided`), why \"close to [0.]\" is wrong, the loss "
        "inside the tape", 15),
    "lesson05_graph_view": (
        "the graph view: which variables have a path to the loss, `stop_gradient`, `unconnected_gradients`, "
        "a `tf.function` graph", 10),
    "lesson06_trainable_params_zero": (
        "why Keras 3 says \"Trainable params: 0\" for a raw `tf.Variable`; `add_weight`, `keras.Variable`, "
        "`tf.Module`", 15),
    "lesson07_freezing_layers": (
        "`layer.trainable = False`, freezing after the first `fit()` (ignored until `compile()` runs again), "
        "nested models, BatchNormalization", 25),
    "lesson08_hidden_state": (
        "state that changes but is not a parameter: optimizer iterations and slots, metrics, seed state", 20),
    "lesson09_capstone_transfer": (
        "capstone: transfer learning done right (pretrain, freeze, new head, fine-tune the top block), three "
        "classic mistakes the tracker catches and one it cannot", 35),
}

INTRO = """\
# Start here: why does a TensorFlow Variable have no trainable parameters?

A hands-on course on trainable and frozen variables in TensorFlow 2.21 / Keras 3.15. It follows one source
document scenario by scenario, runs its examples on the pinned versions, shows what really happens, and ends
each lesson with exercises whose tests check **which variables your code updated and which it left frozen**.

Work through the lessons in order: each one uses what the ones before it taught. Click a lesson to open it."""

HOW_TO_WORK = """\
## How to work through a lesson

- Run the cells from the top, in order (**Shift-Enter** runs a cell and moves to the next). The first cell
  imports TensorFlow, which takes a few seconds.
- Each exercise has a cell holding `# YOUR CODE HERE` and `raise NotImplementedError()`: replace
  `raise NotImplementedError()` with your code, keeping the `def` line above it when there is one. Leave the
  other cells as they are (the grader restores them, and refuses a notebook whose test cells were deleted,
  duplicated or added).
- Under each exercise, the test cells check your answer; a "try it" cell, where there is one, shows what your
  code did before the tests grade it. Until you solve an exercise, these cells stop with an error: that is
  expected."""

VALIDATE = """\
## Check your work: the Validate button

Press **Validate** in the notebook's toolbar. It saves the notebook, runs it from top to bottom on a fresh
kernel, as the grader will, and lists the exercises whose tests fail (or says that they all pass).
Passing the visible tests is not the whole grade: **hidden tests** re-run your functions on other seeds, shapes
and data, so write code that works for any input the exercise allows. Each lesson's "How this lesson is graded"
cell lists its exercises and their points. Grading also sets limits that Validate does not: by default 300 s
for one cell, 30 minutes for the whole notebook and 4 GiB of memory (your instructor may change them); the
lessons need a small part of that."""

SUBMIT = """\
## Submit

1. Press **Validate** once more (it also saves the notebook; **Ctrl-S** saves it without validating).
2. Hand in the notebook file itself, `<lesson>/<lesson>.ipynb` (for example
   `lesson01_variables/lesson01_variables.ipynb`), under its own name, the way your instructor asks (for
   example, uploaded to the course site). This JupyterLab has no exchange set up, so there is no *Submit*
   button: your instructor puts each file in nbgrader's `submitted/<your id>/<lesson>/` folder and grades the
   whole class with nbgrader."""


def _lessons_table(assignments: list[str]) -> str:
    missing = [a for a in assignments if a not in LESSONS]
    if missing:
        raise KeyError(f"autograder/start_page.py has no line for {', '.join(missing)}: add it to LESSONS")
    rows = ["## The lessons", "",
            "| # | lesson | what it teaches | run time |", "| --- | --- | --- | --- |"]
    for number, assignment in enumerate(assignments, 1):
        summary, seconds = LESSONS[assignment]
        rows.append(f"| {number} | [{assignment}]({assignment}/{assignment}.ipynb) | {summary} | "
                    f"about {seconds} s |")
    rows += ["", f"Run time: how long the solved lesson takes to run from top to bottom (measured {MEASURED_ON}; "
                 "your machine may be faster or slower)."]
    return "\n".join(rows)


def render(assignments: list[str]) -> nbformat.NotebookNode:
    """The start page listing `assignments` in order (a notebook of markdown cells, not yet cleaned)."""
    cells = [INTRO, _lessons_table(assignments), HOW_TO_WORK, VALIDATE, SUBMIT]
    # Fixed cell ids: a release that changes nothing leaves the file unchanged.
    return new_notebook(cells=[new_markdown_cell(text, id=f"start-here-{n}") for n, text in enumerate(cells)])


def write(notebooks_dir: Path, assignments: list[str]) -> Path:
    """Write the start page of `assignments` into `notebooks_dir`; return its path."""
    from . import hygiene

    path = notebooks_dir / FILENAME
    path.write_text(hygiene.dumps(hygiene.clean(render(assignments), keep_outputs=False)), encoding="utf-8")
    return path
