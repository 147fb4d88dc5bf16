"""`python -m autograder grade ASSIGNMENT... --course-dir DIR [--workers N] [--scheduler ADDRESS] [--force]`.

Prepare the course (gradebook + template), grade every submission not yet fully recorded (local
worker processes or a Dask cluster; several assignments share one pool, and its workers' warm
templates), record each result as it arrives (the only writer), export ``DIR/grades.csv`` with
nbgrader's CSV exporter, print a summary per assignment.  Exit 0 when grading ran, 2
when the harness could not run (message on stderr), 130 when interrupted (rerun to finish).
"""
from __future__ import annotations

import argparse
import fcntl
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ...nbgrader_runner import python_first_on_path
from ..worker import scratch
from .course import Course, GradingError, prepare, read_tree, resolve, submission_changed
from .class_report import build_after_grading, prepare as prepare_class_reports
from .record import Recorder, read_report


@dataclass
class GradingSummary:
    assignment: str
    graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)        # already fully recorded
    failed: dict[str, str] = field(default_factory=dict)    # student -> reason
    scores: dict[str, float] = field(default_factory=dict)  # every graded student (this run or before)
    max_score: float = 0.0
    seconds: float = 0.0

    @property
    def mean_score(self) -> float | None:
        return sum(self.scores.values()) / len(self.scores) if self.scores else None

    def text(self) -> str:
        lines = [f"{self.assignment}: graded {len(self.graded)}, already graded {len(self.skipped)}, "
                 f"failed to grade {len(self.failed)} in {self.seconds:.1f} s"]
        for student, reason in sorted(self.failed.items()):
            lines.append(f"  FAILED {student}: {reason.splitlines()[0] if reason else 'unknown'}")
        if self.mean_score is not None:
            lines.append(f"mean score {self.mean_score:.2f} / {self.max_score:g} over {len(self.scores)} students")
        return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignments", nargs="+", metavar="ASSIGNMENT",
                        help="the assignment to grade (e.g. lesson01_variables); several are graded by one pool "
                             "of workers")
    parser.add_argument("--course-dir", required=True, type=Path,
                        help="the course directory holding submitted/<student>/<ASSIGNMENT>/")
    parser.add_argument("--workers", type=int, default=None,
                        help="submissions graded at once on this machine (default: the number of cores)")
    parser.add_argument("--scheduler", default=None,
                        help="address of an existing Dask scheduler to grade on instead (dask.distributed)")
    parser.add_argument("--force", action="store_true",
                        help="regrade every submission, even those already fully recorded")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--gradebook-wait", type=float, default=60.0, metavar="S",
                        help="seconds to wait while another program (formgrader) holds gradebook.db locked, "
                             "before the run stops; rerun to finish (default 60)")
    parser.add_argument("--no-feedback", action="store_true",
                        help="skip the feedback HTML (grades, reports and grades.csv only; about half a second of CPU less "
                             "per notebook); `--force` without it regrades with feedback")
    parser.add_argument("--release-tests", action="store_true",
                        help="show the hidden tests in the feedback (default: hidden; students see each test's "
                             "docstring, points, verdict and messages). For example after the deadline, with --force")
    limits = parser.add_argument_group("limits for each submission (see README, 'Grading safely')")
    limits.add_argument("--cell-timeout", type=int, default=None,
                        help="seconds one cell may run (default: the course's ExecutePreprocessor.timeout)")
    limits.add_argument("--notebook-timeout", type=int, default=None,
                        help="seconds one notebook may run before its kernel is stopped (default 1800)")
    limits.add_argument("--memory-mb", type=int, default=None,
                        help="address-space limit of a kernel in MiB (default 4096; TensorFlow needs about 3000)")
    limits.add_argument("--sandbox", choices=("auto", "namespaces", "none"), default="auto",
                        help="kernel isolation: Linux namespaces, or limits only (default: the best available)")
    limits.add_argument("--kernels", choices=("warm", "cold"), default="warm",
                        help="warm: fork each kernel from a template process that has already imported the "
                             "notebook's modules (falls back to cold, saying why, where it cannot); "
                             "cold: a new process per notebook (default warm)")


def _lock(course: Course):
    course.state_dir.mkdir(parents=True, exist_ok=True)
    fh = open(course.state_dir / "lock", "w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise GradingError(f"another `grade {course.assignment}` is running on {course.root} "
                           f"(lock {course.state_dir / 'lock'})")
    return fh


def hidden_paths(course: Course) -> list[str]:
    """What a student's kernel must not see: the course (gradebook, everyone's submissions), the
    instructor's sources and this repository's solutions, tests and history, the home directory."""
    from ... import paths

    course_paths = {str(p.resolve()) for p in (course.root, course.source_dir.parent) if p.exists()}
    return sorted(course_paths | set(paths.private_paths()))


def grade(assignment: str, course_dir: Path, **options) -> GradingSummary:
    """Grade every submission of ``assignment`` in ``course_dir`` (see :func:`grade_assignments`)."""
    return grade_assignments([assignment], course_dir, **options)[0]


def _todo(course: Course, source_files: dict[str, bytes], force: bool,
          summary: GradingSummary) -> tuple[list[str], dict[str, str]]:
    """The students of ``course`` to grade now, and every student's submission digest (of its files and the
    assignment's ``source_files``); the others are already fully recorded (their scores go into ``summary``)."""
    digests: dict[str, str] = {}
    todo = []
    for student in course.students():
        digests[student] = course.submission_digest(read_tree(course.submission_dir(student)))
        previous = read_report(course, student)
        if (not force and previous and previous.get("status") == "graded"
                and previous.get("submission_digest") == digests[student]
                and (course.root / "autograded" / student / course.assignment).is_dir()):
            summary.skipped.append(student)
            summary.scores[student] = previous.get("score", 0.0)
            continue
        todo.append(student)
    return todo, digests


def grade_assignments(assignments: list[str], course_dir: Path, *, workers: int | None = None,
                      scheduler: str | None = None, force: bool = False, progress: bool = True,
                      feedback: bool = True, limits: dict | None = None,
                      release_tests: bool = False, gradebook_wait: float = 60.0) -> list[GradingSummary]:
    """Grade every submission of each of ``assignments`` in ``course_dir`` with one pool of workers (their
    warm templates serve every assignment that imports the same modules); one summary per assignment.
    Raise GradingError if the harness can't run."""
    start = time.perf_counter()
    python_first_on_path()   # nbgrader runs the `alembic` executable when it creates a gradebook
    scratch.sweep()          # the /tmp folders of runs killed before they could remove them
    courses = {a: resolve(course_dir, a) for a in dict.fromkeys(assignments)}
    first = next(iter(courses.values()))
    if not first.submitted_root.is_dir():
        raise GradingError(f"no submissions: {first.submitted_root} does not exist")
    log_dir = (first.state_dir if len(courses) == 1 else first.root / ".grading") / "logs"
    with _locked(courses.values()), _early_pool(scheduler, workers, log_dir, first, limits) as (pool, server):
        summaries = {a: GradingSummary(a) for a in courses}
        job_options = dict(feedback=feedback, release_tests=release_tests, limits=dict(limits or {}))
        todo, digests, shared = _plan(courses, summaries, force, job_options, gradebook_wait)
        results = _results(_jobs(todo, courses, shared, digests), scheduler, workers, log_dir, pool, server)
        # Once fewer submissions are left than workers, a core is idle: the class report's imports go there
        # (a Dask cluster's size is not known here: after the last result).
        tail = 1 if scheduler else _local_workers(workers)
        _record(results, courses, summaries, digests, len(todo), progress, gradebook_wait, tail)
        seconds = time.perf_counter() - start
        for summary in summaries.values():
            summary.seconds = seconds
        return list(summaries.values())


@contextmanager
def _locked(courses):
    """Hold every course's grading lock (another `grade` of the same assignment is refused)."""
    locks = []
    try:
        for course in courses:
            locks.append(_lock(course))
        yield
    finally:
        for lock in locks:
            lock.close()


def _plan(courses: dict[str, Course], summaries: dict[str, GradingSummary], force: bool,
          job_options: dict, gradebook_wait: float = 60.0) -> tuple[list[tuple[str, str]], dict[tuple[str, str], str], dict[str, dict]]:
    """Each course prepared; the (assignment, student) pairs to grade now, in order; every submission's digest;
    and per assignment, what every one of its jobs carries (``job_options`` added)."""
    todo: list[tuple[str, str]] = []
    digests: dict[tuple[str, str], str] = {}
    shared: dict[str, dict] = {}
    for assignment, course in courses.items():
        prepare(course, gradebook_wait)
        source_files = course.source_files()
        students, course_digests = _todo(course, source_files, force, summaries[assignment])
        todo += [(assignment, s) for s in students]
        digests.update({(assignment, s): d for s, d in course_digests.items()})
        shared[assignment] = dict(
            assignment=assignment, course_id=course.course_id, config_py=course.config_file.read_bytes(),
            source_files=source_files, template_gradebook=course.template_db.read_bytes(),
            hide=hidden_paths(course), **job_options)
    return todo, digests, shared


def _jobs(todo: list[tuple[str, str]], courses: dict[str, Course], shared: dict[str, dict],
          digests: dict[tuple[str, str], str]):
    """((assignment, student), a function making its SubmissionJob) for each submission to grade: a job reads
    the student's files only when a worker is about to take it, and ``digests`` then holds the digest of the
    files it read (the version graded, whatever a resubmission lands meanwhile)."""
    from ..worker.job import SubmissionJob

    def job(assignment: str, student: str) -> SubmissionJob:
        files = read_tree(courses[assignment].submission_dir(student))
        digests[assignment, student] = courses[assignment].submission_digest(files)
        return SubmissionJob(student=student, submitted_files=files, **shared[assignment])

    for key in todo:
        yield key, (lambda a=key[0], s=key[1]: job(a, s))


@contextmanager
def _early_pool(scheduler: str | None, workers: int | None, log_dir: Path, first: Course, limits: dict | None):
    """The local workers and the machine's template server (for ``first``'s notebook), started now (none for a
    Dask cluster): they load their modules while the course is prepared, so the command's start-up overlaps
    theirs.  Yields (pool, template server's socket path or None)."""
    if scheduler:
        yield None, None
        return
    from . import template_server
    from .executors import local_pool

    log_dir.mkdir(parents=True, exist_ok=True)
    server = template_server.start(first.config_file, first.source_dir, limits, str(log_dir))
    path = server.path if server else None
    try:
        pool = local_pool(_local_workers(workers), str(log_dir), path)
        try:
            yield pool, path
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
    finally:
        if server:
            server.close()


def _local_workers(workers: int | None) -> int:
    return max(1, workers or os.cpu_count() or 1)


def _results(jobs, scheduler: str | None, workers: int | None, log_dir: Path, pool=None,
             template_server: str | None = None):
    """The workers' results as they arrive: from a Dask cluster, or a local pool of ``workers`` processes
    (``pool``, already started; their templates from ``template_server``)."""
    if scheduler:
        from .executors import run_dask
        try:
            return run_dask(jobs, scheduler)
        except OSError as err:
            raise GradingError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from err
    from .executors import run_local
    return run_local(jobs, _local_workers(workers), log_dir=str(log_dir), pool=pool, template_server=template_server)


def _class_reports(courses: dict[str, Course], recorder: Recorder) -> None:
    """The whole class's picture per assignment, rebuilt from every report (also after a partial or resumed run)."""
    for course in courses.values():
        build_after_grading(course, recorder.gradebook)


def _record(results, courses: dict[str, Course], summaries: dict[str, GradingSummary],
            digests: dict[tuple[str, str], str], total: int, progress: bool, gradebook_wait: float = 60.0,
            tail: int = 1) -> None:
    """Record each result as it arrives (the parent is the only writer), with a progress bar; then grades.csv
    and each summary's maximum score.  Once fewer than ``tail`` results are left (the workers, ``tail`` processes,
    have fewer submissions than processes), the class report's modules are imported beside them
    (:func:`.class_report.prepare`)."""
    from nbgrader.api import MissingEntry
    from tqdm import tqdm

    first = next(iter(courses.values()))
    names = ", ".join(courses) if len(courses) <= 2 else f"{len(courses)} assignments"
    bar = tqdm(total=total, desc=f"grading {names}", unit="submission", file=sys.stderr,
               disable=not progress or not total, dynamic_ncols=True)
    with Recorder(first, busy_wait=gradebook_wait, say=lambda m: tqdm.write(m, file=sys.stderr)) as recorder:
        left = total
        try:
            if left < tail:
                prepare_class_reports()
            for (assignment, student), result in results:
                left -= 1
                if left == tail - 1:
                    prepare_class_reports()
                summary = summaries[assignment]
                changed = submission_changed(courses[assignment], student, digests[assignment, student])
                if changed:
                    result.warnings.append(changed)
                    tqdm.write(f"grade: {assignment}, {changed}", file=sys.stderr)
                report = recorder.record(result, digests[assignment, student], courses[assignment])
                if report["status"] == "graded":
                    summary.graded.append(student)
                    summary.scores[student] = report["score"]
                    summary.max_score = report["max_score"]
                else:
                    summary.failed[student] = report["reason"]
                bar.set_postfix(failed=sum(len(s.failed) for s in summaries.values()), refresh=False)
                bar.update(1)
        except BaseException:
            bar.close()
            try:   # what was recorded before the run stopped (Ctrl-C, a full disk, a locked gradebook)
                recorder.export_csv(first.root / "grades.csv")
            except GradingError:
                pass   # the error that stopped the run says more
            _class_reports(courses, recorder)
            raise
        bar.close()
        recorder.export_csv(first.root / "grades.csv")
        _class_reports(courses, recorder)
        for assignment, summary in summaries.items():
            if not summary.max_score:
                try:
                    summary.max_score = recorder.gradebook.find_assignment(assignment).max_score
                except MissingEntry:
                    pass


def run(args: argparse.Namespace) -> int:
    """The CLI entry point: exit status 0 when grading ran, whatever the students scored."""
    try:
        limits = {"timeout": args.cell_timeout, "notebook_timeout": args.notebook_timeout,
                  "memory_mb": args.memory_mb, "sandbox_mode": "" if args.sandbox == "auto" else args.sandbox, "kernels": args.kernels}
        summaries = grade_assignments(args.assignments, args.course_dir, workers=args.workers,
                                      scheduler=args.scheduler, force=args.force, progress=not args.no_progress,
                                      limits=limits, feedback=not args.no_feedback,
                                      release_tests=args.release_tests, gradebook_wait=args.gradebook_wait)
    except GradingError as err:
        print(f"grade: cannot grade: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grade: interrupted; run the same command again to grade the remaining submissions",
              file=sys.stderr)
        return 130
    print("\n".join(summary.text() for summary in summaries))
    return 0
