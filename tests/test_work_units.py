"""The main suite's two processes: each test file, and tests/lessons/ as a whole, runs in one of them, longest first."""
import subprocess
import sys
import textwrap
from pathlib import Path

import work_units
from autograder.paths import ROOT

TESTS = Path(__file__).resolve().parent


def test_each_listed_unit_exists():
    """A renamed test file would silently lose its place at the start of the queue."""
    missing = [unit for unit in work_units.LONGEST_FIRST if not (ROOT / unit).exists()]
    assert not missing


def test_lesson_tests_are_one_unit_and_other_files_their_own():
    assert work_units.unit_of("tests/lessons/test_lesson07_freezing_layers.py::test_x") == "tests/lessons"
    assert work_units.unit_of("tests/grading/test_red_team.py::test_attack[i01]") == "tests/grading/test_red_team.py"
    assert work_units.unit_of("tests/lessonsx/test_a.py::test_x") == "tests/lessonsx/test_a.py"


def test_listed_units_start_first_and_keep_their_tests_together():
    ids = ["tests/a.py::t1", "tests/test_validate.py::t1", "tests/a.py::t2", "tests/lessons/test_b.py::t1",
           "tests/lessons/test_c.py::t1", "tests/test_validate.py::t2", "tests/z.py::t1"]
    ordered = [ids[i] for i in work_units.longest_first(ids)]
    assert ordered == ["tests/lessons/test_b.py::t1", "tests/lessons/test_c.py::t1", "tests/test_validate.py::t1",
                       "tests/test_validate.py::t2", "tests/a.py::t1", "tests/a.py::t2", "tests/z.py::t1"]


def test_two_processes_share_the_files_and_keep_the_lessons_in_one(tmp_path):
    """The suite's own hooks (tests/work_units.py) on a small tree run with `--numprocesses=2`: both processes work,
    every test of tests/lessons/ runs in the same one (its session fixture would otherwise grade twice), and
    each file's tests stay in one process."""
    record = tmp_path / "ran.txt"
    test = textwrap.dedent(f"""
        import os
        def _note(name):
            with open({str(record)!r}, "a") as fh:
                fh.write(f"{{os.getpid()}} {{__file__.split('tree/', 1)[1]}}::{{name}}\\n")
        def test_1(): _note("test_1")
        def test_2(): _note("test_2")
        def test_3(): _note("test_3")
    """)
    tree = tmp_path / "tree"
    for name in ("tests/lessons/test_l1.py", "tests/lessons/test_l2.py", "tests/lessons/test_l3.py",
                 "tests/test_a.py", "tests/test_b.py", "tests/grading/test_c.py"):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(test)
    (tree / "tests" / "conftest.py").write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(TESTS)!r})
        from work_units import pytest_collection_modifyitems, pytest_xdist_make_scheduler  # the suite's own hooks
    """))
    run = subprocess.run([sys.executable, "-m", "pytest", "--numprocesses=2", "-p", "no:cacheprovider", "-q",
                          f"--rootdir={tree}", "tests"], cwd=tree, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    pids: dict[str, set[str]] = {}
    for line in record.read_text().splitlines():
        pid, test_id = line.split(" ", 1)
        pids.setdefault(work_units.unit_of(test_id), set()).add(pid)
    assert set(pids) == {"tests/lessons", "tests/test_a.py", "tests/test_b.py", "tests/grading/test_c.py"}
    assert all(len(p) == 1 for p in pids.values()), pids
    assert len(set().union(*pids.values())) == 2, pids
