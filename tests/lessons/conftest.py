"""Every lesson collected in this session is graded by one run of the grading command (lesson_grading)."""
import sys
from pathlib import Path

import pytest
from lesson_grading import GradedLesson, grade_lessons

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "grading"))
from damage import damaged_copies  # noqa: E402  (tests/grading/damage.py: the catalogue of damaged notebooks)

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def graded_lessons(request, tmp_path_factory) -> dict[str, GradedLesson]:
    modules = {item.module for item in request.session.items
               if getattr(getattr(item, "module", None), "ASSIGNMENT", None)
               and Path(item.module.__file__).resolve().parent == HERE}
    modules = sorted(modules, key=lambda m: m.ASSIGNMENT)
    return grade_lessons(tmp_path_factory.mktemp("lessons"), {m.ASSIGNMENT: m.WRONG_ANSWERS for m in modules},
                         compare_with_nbgrader=tuple(m.ASSIGNMENT for m in modules
                                                     if getattr(m, "COMPARE_WITH_NBGRADER", False)),
                         right_answers={m.ASSIGNMENT: getattr(m, "RIGHT_ANSWERS", []) for m in modules},
                         damaged={m.ASSIGNMENT: damaged_copies(m.ASSIGNMENT, m.DAMAGED_CASES) for m in modules
                                  if getattr(m, "DAMAGED_CASES", ())})


@pytest.fixture(scope="module")
def graded(request, graded_lessons) -> GradedLesson:
    """This module's lesson, as graded."""
    return graded_lessons[request.module.ASSIGNMENT]
