"""Small pieces of the trust boundary, each checked in about a second without a grading run: the report format
both sides share, the worker's reading of reports (:mod:`autograder.grading.worker.review`), and the guard
started in a bare Python process (no kernel) while "notebook" code rebinds every table it can find (issue 19).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
from autograder.grading import protocol
from autograder.grading.worker.review import ReviewItem, apply_review, check_reports, collect_items
from autograder.grading.worker.static_checks import Finding

KEY = bytes(range(32))


# -- signed reports ---------------------------------------------------------------------------------------

def test_a_signed_line_verifies_and_any_change_does_not():
    line = protocol.sign_line(KEY, {"kind": protocol.RESULT, "seq": 1, "status": "ok"})
    assert protocol.verify_line(KEY, line.rstrip(b"\n")) == {"kind": "result", "seq": 1, "status": "ok"}
    assert protocol.verify_line(KEY, line.replace(b'"ok"', b'"OK"').rstrip(b"\n")) is None
    assert protocol.verify_line(bytes(32), line.rstrip(b"\n")) is None
    assert protocol.verify_line(KEY, b"not a report") is None


# -- the worker's reading of the reports (fixture notebook: one test cell) ----------------------------------

def _notebook(outputs=()) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('__autograder_guard__("n1")')
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t1", "points": 2}
    cell.outputs = list(outputs)
    nb.cells = [cell]
    return nb


TESTS = {"n1": (0, "t1", "assert answer() == 1")}


def _lines(*records) -> list[tuple[int, bytes]]:
    return [(0, protocol.sign_line(KEY, {**r, "seq": i + 1}).rstrip(b"\n")) for i, r in enumerate(records)]


HELLO = {"kind": "hello", "pid": 1, "snapshot": {"from": "kernel"}}
START = {"kind": "start", "nonce": "n1", "grade_id": "t1", "problems": []}
OK = {"kind": "result", "nonce": "n1", "grade_id": "t1", "status": "ok", "shown": {"type": "none"}, "problems": []}


def test_reports_of_a_test_that_ran_and_passed_are_no_finding():
    found = check_reports(KEY, _lines(HELLO, START, OK), TESTS, _notebook(), "")
    assert found["notebook"] == [] and found["cells"] == {} and found["snapshot"] == "kernel"


def test_a_test_with_no_result_did_not_run_under_the_guard():
    found = check_reports(KEY, _lines(HELLO, START), TESTS, _notebook(), "")
    assert "did not run under the grader's guard" in found["cells"]["t1"][0]


def test_a_forged_or_missing_report_is_a_finding_about_the_notebook():
    lines = _lines(HELLO, START, OK)
    forged = lines[:2] + [(0, lines[2][1][:-3] + b"abc")]
    found = check_reports(KEY, forged, TESTS, _notebook(), "")
    assert any("authenticity" in r for r in found["notebook"])
    skipped = [lines[0], lines[2]]
    assert any("out of order" in r for r in check_reports(KEY, skipped, TESTS, _notebook(), "")["notebook"])


def test_a_hidden_failure_and_a_guard_problem_are_findings_about_the_cell():
    failed = {**OK, "status": "error", "ename": "AssertionError"}
    found = check_reports(KEY, _lines(HELLO, START, failed), TESTS, _notebook(), "")
    assert "the failure was hidden" in found["cells"]["t1"][0]
    flagged = {**OK, "problems": ["an object of class `_ANY` compares equal to an object it cannot know"]}
    found = check_reports(KEY, _lines(HELLO, START, flagged), TESTS, _notebook(), "")
    assert found["cells"]["t1"] == ["after the test ran: an object of class `_ANY` compares equal to an object "
                                     "it cannot know"]


def test_review_withholds_the_points_of_the_cells_a_finding_affects():
    class Grade:
        def __init__(self, notebook, name, score):
            self.notebook, self.name, self.auto_score, self.needs_manual_grade = notebook, name, score, False

    grades = [Grade("p1", "t1", 2.0), Grade("p1", "t2", 1.0), Grade("p2", "t3", 3.0)]
    items = collect_items("p1", {"notebook": [], "cells": {"t1": ["the test ran more than once"]}}, [])
    assert items == [ReviewItem("p1", "t1", "the test ran more than once")]
    assert apply_review(grades, items) == {("p1", "t1"): 2.0}
    assert [(g.auto_score, g.needs_manual_grade) for g in grades] == [(0.0, True), (1.0, False), (3.0, False)]
    whole = collect_items("p2", None, [Finding(0, None, "uses `exec`")])
    assert whole == [ReviewItem("p2", None, "cell 1: uses `exec`")]
    assert apply_review(grades, whole) == {("p2", "t3"): 3.0}


# -- the guard without a kernel -------------------------------------------------------------------------------

NOTEBOOK = '''
import json, os, sys
import autograder.grading.protocol as protocol
import autograder.grading.kernel.guard as guard
brief = {"key": KEY_HEX, "trusted_prefixes": TRUSTED, "tests": TESTS, "imports": [], "protected_packages": []}
r, w = os.pipe()
os.write(w, json.dumps(brief).encode())
os.close(w)
channel_r, channel_w = os.pipe()
os.environ[protocol.BRIEF_FD_ENV], os.environ[protocol.CHANNEL_FD_ENV] = str(r), str(channel_w)
guard.start()
# -- from here on, the "notebook": every table of the kernel side emptied, every way it can be reached
from unittest import mock
for module in (protocol, guard):
    for key, value in list(vars(module).items()):
        if isinstance(value, (frozenset, tuple)) and not key.startswith("__"):
            setattr(module, key, type(value)())
reached = getattr(__autograder_guard__, "__glo" + "bals__")
for key, value in list(reached.items()):
    if isinstance(value, (frozenset, tuple)) and not key.startswith("__"):
        reached[key] = type(value)()
Anything = type("Anything", (), {"__eq__": lambda self, other: True})
answers = {"student": Anything(), "ready_made": mock.ANY, "honest": 1}
for nonce in TESTS:
    try:
        __autograder_guard__(nonce)
    except AssertionError:
        pass
try:
    os.kill(os.getpid(), 0)
    print("SIGNAL SENT")
except PermissionError as err:
    print("REFUSED", err)
try:
    __autograder_guard__("a-nonce-of-no-test")
except RuntimeError as err:
    print("REFUSED", err)
os.close(channel_w)
lines = b""
while chunk := os.read(channel_r, 1 << 16):
    lines += chunk
print(json.dumps([line.decode() for line in lines.splitlines()]))
'''


def test_the_guard_decides_with_what_it_captured_at_start(tmp_path):
    """The guard in a bare process, then "notebook" code (a file outside the trusted prefixes) that empties every
    table of protocol and guard, and those reachable through __autograder_guard__.__globals__: the guard still
    refuses a signal, finds the notebook's always-equal class, and asks a ready-made always-equal object
    (unittest.mock.ANY) what it does; its reports verify with the protocol's key check."""
    from autograder.grading.worker.guarded_execute import trusted_prefixes

    tests = {f"n{i}": {"grade_id": f"t{i}", "source": f"assert answers[{name!r}] == 2"}
             for i, name in enumerate(("student", "ready_made", "honest"))}
    script = tmp_path / "notebook.py"
    script.write_text(NOTEBOOK.replace("KEY_HEX", repr(KEY.hex())).replace("TRUSTED", repr(trusted_prefixes()))
                      .replace("TESTS", repr(tests)))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(protocol.__file__).parents[2])})
    assert out.returncode == 0, out.stderr[-3000:]
    printed = out.stdout.splitlines()
    assert printed[:2] == ["REFUSED autograder: os.kill is not allowed while grading",   # what the notebook shows
                           "REFUSED autograder: unknown test"]
    records = [protocol.verify_line(KEY, line.encode()) for line in json.loads(printed[2])]
    assert all(r is not None for r in records)
    results = {r["grade_id"]: r for r in records if r["kind"] == "result"}
    assert results["t0"]["status"] == "ok" and any("class `Anything`, created by the notebook's code, defines "
                                                   "`__eq__`" in p for p in results["t0"]["problems"])
    assert results["t1"]["status"] == "ok" and any("`_ANY` compares equal to an object it cannot know" in p
                                                   for p in results["t1"]["problems"])
    assert results["t2"]["status"] == "error" and results["t2"]["ename"] == "AssertionError"
    assert any(r["kind"] == "event" and r["event"] == "os.kill" for r in records)
    assert any(r["kind"] == "event" and r["event"] == "guard called with an unknown test"
               and r["arg"] == "a-nonce-of-no-test" for r in records)
