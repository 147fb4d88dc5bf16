"""How the main suite's tests are shared between pytest-xdist's processes (`course.py test` passes `-n`).

A unit of work goes whole to one process: each test file (its module fixtures grade a class once), and the whole of
tests/lessons/ (one session fixture grades every lesson in one run of the command; two processes would each grade
them all). Units are handed out longest first, so that the two processes finish close together instead of one
grading a class alone at the end; a unit not listed takes seconds and keeps its place in the collection.
"""
from __future__ import annotations

# Wall seconds each took run alone on the 2-core machine (stop 20, `pytest tests -p` with a timing plugin): the
# lessons 181, red team 162, grading 84, student feedback 68, Validate 50, faults 42, warm kernels 35, class
# report 29, browser 21. A unit missing from here runs in collection order after these; a wrong order costs
# minutes of the suite, never a result.
LONGEST_FIRST = (
    "tests/lessons",
    "tests/grading/test_red_team.py",
    "tests/grading/test_grading.py",
    "tests/grading/test_student_feedback.py",
    "tests/test_validate.py",
    "tests/faults/test_faults.py",
    "tests/grading/test_warm.py",
    "tests/grading/test_class_report.py",
    "tests/test_browser.py",
)
SHARED_FIXTURE_FOLDERS = ("tests/lessons",)    # folders whose tests share one session fixture: one unit each


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its file, or the folder of SHARED_FIXTURE_FOLDERS it is in."""
    path = nodeid.split("::", 1)[0]
    return next((folder for folder in SHARED_FIXTURE_FOLDERS if path.startswith(folder + "/")), path)


def longest_first(nodeids: list[str]) -> list[int]:
    """The order (indexes into ``nodeids``) that starts the listed units first, each unit's tests kept together and
    in their order."""
    rank = {unit: i for i, unit in enumerate(LONGEST_FIRST)}
    units = [unit_of(nodeid) for nodeid in nodeids]
    first_seen: dict[str, int] = {}
    for i, unit in enumerate(units):
        first_seen.setdefault(unit, i)
    return sorted(range(len(units)), key=lambda i: (rank.get(units[i], len(rank)), first_seen[units[i]], i))


# -- the hooks (imported by tests/conftest.py) ----------------------------------------------------------------------
def pytest_collection_modifyitems(items):
    order = longest_first([item.nodeid for item in items])
    items[:] = [items[i] for i in order]


def pytest_xdist_make_scheduler(config, log):
    """xdist's scheduler by scope, with ``unit_of`` as the scope and the collection's order kept (the hook above has
    put the longest units first; xdist would otherwise order scopes by their number of tests)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    config.option.loadscopereorder = False
    return ByUnit(config, log)
