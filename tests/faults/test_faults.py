"""Faults survived (issue 20): each fault injected into real grading runs at seeded random points (set
``FAULT_SEED=N`` to reproduce a failure; the seed is in every message).  ``benchmarks/fault_matrix.py`` runs
the same scenarios over several seeds and prints the matrix."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scenarios  # noqa: E402


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The three-run scenario on a fresh course: ends with every submission graded (the other tests start there)."""
    root = scenarios.make_course(tmp_path_factory.mktemp("faults") / "course")
    return root, scenarios.workers_resubmission_busy_kill(root)


def test_worker_deaths_resubmission_busy_gradebook_and_a_killed_command(graded):
    """A worker SIGKILLed twice on one submission (failed, named, with the cause), once on another (retried and
    graded), a resubmission mid-run (recorded as the version graded, regraded next run), the gradebook held by
    another program for a while (recording waits, saying so), the command killed mid-run by SIGKILL, SIGTERM or
    SIGHUP: nothing of any run alive 2 s after it ended, nothing lost or doubled, the last run completes."""
    _, outcome = graded
    assert outcome.injected >= 5, outcome
    assert outcome.clean, outcome


def test_damaged_gradebook_is_refused_and_left_untouched(graded, tmp_path):
    root = scenarios.make_course(tmp_path / "course", base=graded[0])
    outcome = scenarios.damaged_gradebook(root)
    assert outcome.injected == 3 and outcome.clean, outcome


def test_disk_full_while_recording(graded, tmp_path):
    why = scenarios.can_make_namespaces()
    if why:
        pytest.skip(f"needs a size-limited tmpfs made without root (unshare -Urm): {why}")
    root = scenarios.make_course(tmp_path / "course", base=graded[0])
    outcome = scenarios.in_namespace("disk_full", root)
    assert outcome.clean, outcome


def test_a_gradebook_locked_for_good_stops_recording_cleanly(graded, tmp_path):
    """Another program holds gradebook.db: the recorder says it waits, gives up after its wait with a message
    naming the file and the student, writes nothing (no report, no row); once the lock is gone it records."""
    from autograder.grading.parent.course import GradingError, resolve
    from autograder.grading.parent.record import Recorder, report_path
    from autograder.grading.worker.job import SubmissionResult

    root = scenarios.make_course(tmp_path / "course", base=graded[0])
    course = resolve(root, "ps1")
    student = "s99_new"   # not in the gradebook yet: recording it needs a write
    result = SubmissionResult("ps1", student, status="failed", reason="the worker died (test)")
    said = []
    with Recorder(course, busy_wait=1.5, say=said.append) as recorder:
        with scenarios.gradebook_locked(course.db_path):
            with pytest.raises(GradingError) as err:
                recorder.record(result, "digest")
        assert str(course.db_path) in str(err.value) and student in str(err.value), err.value
        assert "stayed locked by another program" in str(err.value)
        assert len(said) == 1 and "is locked by another program" in said[0], said
        assert not report_path(course, student).exists()
        assert scenarios.integrity(course.db_path) == "ok"
        report = recorder.record(result, "digest")   # the lock is gone: recorded at once
    assert report["status"] == "failed" and scenarios.reports(root)[student]["status"] == "failed"
    assert not scenarios.duplicate_rows(root)
