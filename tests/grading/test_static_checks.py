"""The pre-run reading of a submission (autograder/grading/worker/static_checks.py): what it flags, what it leaves alone.

Fast (no kernel): each case is one student cell or one metadata edit on a real lesson notebook.
The end-to-end outcome of the same attacks (points withheld, review reasons) is in test_red_team.py.
"""
from __future__ import annotations

import copy

import nbformat
import pytest

from autograder import nbgrader_course as course
from autograder.grading.protocol import is_test_cell, nbgrader_md
from autograder.grading.worker.static_checks import scan, trusted_bindings
from autograder.paths import NOTEBOOKS, SOLUTIONS, assignments

LESSON = "lesson01_variables"


@pytest.fixture(scope="module")
def lesson():
    source = nbformat.read(str(SOLUTIONS / LESSON / f"{LESSON}.ipynb"), as_version=4)
    student = nbformat.read(str(NOTEBOOKS / LESSON / f"{LESSON}.ipynb"), as_version=4)
    answers = course.solution_answers(source)
    return source, student, answers


def submit(lesson, extra: str = "", where: str | None = None):
    """The solved lesson with `extra` appended to one solution cell (the first by default)."""
    source, student, answers = lesson
    cell = where or next(iter(answers))
    return course.answer(student, {**answers, cell: answers[cell] + "\n" + extra}), source


@pytest.mark.parametrize("assignment", assignments())
def test_every_solution_and_every_empty_notebook_is_clean(assignment):
    source = nbformat.read(str(SOLUTIONS / assignment / f"{assignment}.ipynb"), as_version=4)
    student = nbformat.read(str(NOTEBOOKS / assignment / f"{assignment}.ipynb"), as_version=4)
    assert scan(course.answer(student, course.solution_answers(source)), source) == []
    assert scan(student, source) == []


HONEST = [
    "print('x' * 10000)",
    "%time y = 1 + 1",
    "%timeit -n 1 -r 1 sum(range(10))",
    "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])",
    "import numpy as np\nimport tensorflow as tf",          # the same imports as the setup cell
    "import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\nprint(os.getcwd(), os.listdir('.'))",
    "with open('notes.txt', 'w') as fh:\n    fh.write('scratch')",
    "import math, time, random, itertools, collections, pathlib, json, sys\nprint(sys.version)",
    "def helper(x):\n    return x * 2\nresult = [helper(i) for i in range(3)]",
    "loss = 0.5\nexpected = [1, 2]\nstate = {}",      # names the tests assign before they read them
    "class Box:\n    def __init__(self, v):\n        self.v = v\n    def get(self):\n        return self.v",
]


@pytest.mark.parametrize("code", HONEST)
def test_honest_code_is_not_flagged(lesson, code):
    submitted, source = submit(lesson, code)
    assert scan(submitted, source) == []


HOSTILE = [
    ("get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])", "IPython shell"),
    ("ip = get_ipython()\nip.ast_transformers.append(object())", "IPython shell"),
    ("get_ipython().run_cell = lambda *a, **k: None", "IPython shell"),
    ("get_ipython().showtraceback = lambda *a, **k: None", "IPython shell"),
    ("get_ipython().events.register('post_run_cell', print)", "IPython shell"),
    ("!cat /etc/passwd", "IPython shell"),
    ("%load_ext autoreload", "IPython shell"),
    ("import builtins\nbuiltins.len = lambda x: 0", "imports `builtins`"),
    ("__builtins__.len = lambda x: 0", "`__builtins__`"),
    ("exec('x = 1')", "uses `exec`"),
    ("eval('1')", "uses `eval`"),
    ("globals()['expect'] = print", "uses `globals`"),
    ("getattr(__import__('bui' + 'ltins'), 'len')", "uses `__import__`"),
    ("setattr(tf, 'GradientTape', None)", "uses `setattr`"),
    ("import sys\nsys.settrace(lambda *a: None)", "`sys.settrace`"),
    ("import sys\nsys.setprofile(lambda *a: None)", "`sys.setprofile`"),
    ("import sys\nsys.modules['numpy'] = None", "`sys.modules`"),
    ("import gc\ngc.get_objects()", "imports `gc`"),
    ("import ctypes", "imports `ctypes`"),
    ("import inspect\ninspect.currentframe()", "imports `inspect`"),
    ("import subprocess", "imports `subprocess`"),
    ("import os\nos.system('ls')", "`os.system`"),
    ("import os\nos.kill(os.getppid(), 9)", "`os.kill`"),
    ("import os\nos.write(7, b'x')", "`os.write`"),
    ("np.allclose = lambda *a, **k: True", "changes `np.allclose`"),
    ("tf.GradientTape.gradient = None", "changes `tf.GradientTape.gradient`"),
    ("import numpy\nnumpy.testing.assert_allclose = print", "changes `numpy.testing.assert_allclose`"),
    ("def track(*args, **kwargs):\n    return None", "rebinds `track`"),
    ("range = lambda n: [0]", "rebinds `range`"),
    ("from autograder.tracker import track as snapshot", "rebinds `snapshot`"),
    ("import math as np", "rebinds `np`"),
    ("del np", "rebinds `np`"),
    ("class Always:\n    def __eq__(self, other):\n        return True", "defines `__eq__`"),
    ("class Box(list):\n    pass\nBox.__eq__ = lambda self, other: True", "sets `Box.__eq__`"),
    ("import collections\ncollections.UserList.__eq__, x = (lambda s, o: True), 1", "sets `collections.UserList.__eq__`"),
    ("f = (lambda: 0)\nf.__code__ = (lambda: 1).__code__", "`__code__`"),
    ("import sys\nframe = sys._getframe()", "`sys._getframe`"),
]


@pytest.mark.parametrize("code,reason", HOSTILE, ids=[c[0][:40] for c in HOSTILE])
def test_hostile_code_is_flagged_with_its_reason(lesson, code, reason):
    submitted, source = submit(lesson, code)
    findings = scan(submitted, source)
    assert any(reason in f.reason for f in findings), [f.reason for f in findings]


def _test_cell(nb):
    return next(c for c in nb.cells if is_test_cell(c))


def test_metadata_edits_are_flagged(lesson):
    source, student, answers = lesson
    solved = course.answer(student, answers)
    grade_id = _test_cell(solved).metadata["nbgrader"]["grade_id"]

    more_points = copy.deepcopy(solved)
    _test_cell(more_points).metadata["nbgrader"]["points"] = 100
    assert any("points" in f.reason for f in scan(more_points, source))

    unlocked = copy.deepcopy(solved)
    _test_cell(unlocked).metadata["nbgrader"]["locked"] = False
    assert any("locked" in f.reason for f in scan(unlocked, source))

    deleted = copy.deepcopy(solved)
    deleted.cells = [c for c in deleted.cells if nbgrader_md(c).get("grade_id") != grade_id]
    assert any(f"`{grade_id}` was deleted" in f.reason for f in scan(deleted, source))

    renamed = copy.deepcopy(solved)
    _test_cell(renamed).metadata["nbgrader"]["grade_id"] = "my_own_test"
    reasons = [f.reason for f in scan(renamed, source)]
    assert any("not in the assignment" in r for r in reasons) and any("deleted" in r for r in reasons)

    duplicated = copy.deepcopy(solved)
    duplicated.cells.append(copy.deepcopy(_test_cell(duplicated)))
    assert any("appears twice" in f.reason for f in scan(duplicated, source))


def test_trusted_bindings_reads_the_setup_imports(lesson):
    source, _, _ = lesson
    setup = course.cell_of(source, "setup").source
    imports, bindings = trusted_bindings([setup])
    assert {"keras", "numpy", "tensorflow", "autograder.tracker"} <= set(imports)
    assert bindings["np"] == ["numpy", ""] and bindings["tf"] == ["tensorflow", ""]
    assert bindings["track"] == ["autograder.tracker", "track"]
