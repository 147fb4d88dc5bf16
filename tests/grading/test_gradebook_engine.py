"""The worker's one engine per scratch gradebook (autograder.grading.worker.gradebook_engine)."""
from __future__ import annotations

from nbgrader import api
from nbgrader.api import Gradebook

from autograder.grading.worker.gradebook_engine import one_engine_per_gradebook
from autograder.nbgrader_runner import python_first_on_path

python_first_on_path()   # nbgrader runs the `alembic` executable when it creates a gradebook


def test_nbgrader_opens_one_gradebook_through_one_engine_while_a_submission_is_graded(tmp_path):
    url, other_url = f"sqlite:///{tmp_path / 'gradebook.db'}", f"sqlite:///{tmp_path / 'other.db'}"
    original = api.create_engine
    with one_engine_per_gradebook() as engines:
        with Gradebook(url) as first:
            first.add_assignment("ps1")
        with Gradebook(url) as second:   # what a first open wrote, a second reads: the same database
            assert [a.name for a in second.assignments] == ["ps1"]
        with Gradebook(other_url) as other:
            assert other.assignments == []
        assert second.engine is first.engine and other.engine is not first.engine
        assert len(engines) == 2
    assert api.create_engine is original
    with Gradebook(url) as after:
        assert after.engine is not first.engine and [a.name for a in after.assignments] == ["ps1"]


def test_the_engines_are_given_back_even_when_grading_fails(tmp_path):
    original = api.create_engine
    try:
        with one_engine_per_gradebook():
            with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}"):
                raise RuntimeError("a converter failed")
    except RuntimeError:
        pass
    assert api.create_engine is original
