"""Shared fixtures. TensorFlow's C++ logs are silenced before anything imports it."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


# -- the suite leaves no process behind (issue 20) ---------------------------------------------------------------
# Every process a test starts is a descendant of this pytest process: it is made a child subreaper, so even an
# orphan (a worker whose parent was SIGKILLed) is re-parented here rather than to init.  At the end of the
# session, after the session fixtures are torn down, any descendant still alive, or any orphan (re-parented to
# init) of this checkout's Python running the grader's code that was started during the session, fails the run.
from process_check import ProcessCheck   # noqa: E402  (tests/ is on sys.path: rootdir conftest)

_process_check = ProcessCheck()


def pytest_sessionstart(session):
    _process_check.start()


import pytest  # noqa: E402


@pytest.hookimpl(trylast=True)   # after the runner's own sessionfinish has torn the session fixtures down
def pytest_sessionfinish(session, exitstatus):
    import sys

    warm = sys.modules.get("autograder.grading.worker.warm")
    if warm is not None:   # templates started in this process by tests that grade in-process (else closed at exit)
        warm.close_templates()
    left = _process_check.leftovers()
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"pid {p.pid} (parent {p.ppid}): {p.cmdline[:200]}" for p in left]
    if reporter:
        reporter.write_sep("=", f"FAILED: {len(left)} processes left running by the test session (descendants now killed)", red=True)
        for line in lines:
            reporter.write_line(line)
    else:
        print("\n".join(lines))
    _process_check.kill(left)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


# -- two processes share the suite (pytest-xdist, `course.py test` passes -n): the hooks are in tests/work_units.py
from work_units import pytest_collection_modifyitems, pytest_xdist_make_scheduler  # noqa: E402, F401
