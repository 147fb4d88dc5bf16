"""Grade one submission: the unit of work that runs in a worker process (local pool or Dask).

:func:`grade_submission` takes a :class:`SubmissionJob` (plain data: the course config, the
assignment's source files, a template gradebook holding only the assignment's definitions, the one
student's submitted files) and returns a :class:`SubmissionResult` (plain data: per-cell grades and
comments, the autograded files, the feedback files, the collected tracker JSON, status/reason).
It builds a private scratch nbgrader course, runs nbgrader's own ``Autograde`` converter there
(sanitize, restore locked cells and hidden tests from the gradebook, execute, save grades, late
penalties), then nbgrader's ``GenerateFeedback``.  It never touches the course directory or its
gradebook: the parent process is the only writer (see :mod:`autograder.grading.parent.record`).
"""
from __future__ import annotations

import io
import json
import logging
import os
import shutil
import threading
import time
import traceback
from pathlib import Path

from ...nbgrader_runner import python_first_on_path
from . import scratch as scratch_folders
from .collect import collect_cells
from .gradebook_engine import one_engine_per_gradebook
from .job import CommentRecord, GradeRecord, NotebookRecord, SubmissionJob, SubmissionResult

_ONE_AT_A_TIME = threading.Lock()  # nbgrader's converters chdir(): one submission per process at a time


def _write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise ValueError(f"refusing path outside the scratch course: {rel!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _check_notebooks(job: SubmissionJob) -> tuple[list[str], list[str]]:
    """(problems that stop grading, warnings) for the submitted notebooks."""
    import nbformat

    problems, warnings = [], []
    # Entries course.read_tree left out: links (never followed: red-team attack s08), FIFOs, devices.
    skipped = dict(getattr(job.submitted_files, "skipped", None) or {})
    for rel, why in sorted(skipped.items()):
        rule = "; links in a submission are not followed" if why.startswith("a symbolic link") else ""
        if rel == ".":
            warnings.append(f"student {job.student}: submitted/{job.student}/{job.assignment} itself is {why}{rule}, "
                            f"so nothing in it was read")
        else:
            warnings.append(f"student {job.student}: {rel} is {why}{rule}, so it was left out (not copied to the "
                            f"kernel's folder, not graded); the rest of the submission is graded")
    submitted = {Path(rel).name: data for rel, data in job.submitted_files.items()
                 if rel.endswith(".ipynb") and "/" not in rel}
    expected = sorted(rel for rel in job.source_files if rel.endswith(".ipynb") and "/" not in rel)
    if not set(submitted) & set(expected):
        found = f" (found only {', '.join(sorted(submitted))})" if submitted else ""
        left_out = sorted(rel for rel in skipped if rel in expected or rel == ".")
        left_out_note = f"; left out: {', '.join(left_out)} ({skipped[left_out[0]]})" if left_out else ""
        problems.append(f"student {job.student}: no notebook of the assignment in "
                        f"submitted/{job.student}/{job.assignment}/{found} "
                        f"(expected {', '.join(expected)}){left_out_note}")
    for name in expected:
        if name not in submitted and submitted:
            why = f"{skipped[name]}, not read" if name in skipped else "missing from the submission"
            warnings.append(f"student {job.student}: {name} is {why} (scored 0)")
    for name in sorted(submitted):
        if name not in expected:
            warnings.append(f"student {job.student}: {name} is not a notebook of {job.assignment} "
                            f"(expected {', '.join(expected)}); it was not graded")
    for name, data in sorted(submitted.items()):
        if name not in expected:
            continue
        try:
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
            nbformat.validate(nb)
        except Exception as err:
            message = str(err).strip().splitlines()[0] if str(err).strip() else ""
            problems.append(f"student {job.student}: {name} is not a valid notebook "
                            f"({type(err).__name__}: {message[:300]})")
            continue
        for cell in nb.cells:
            md = cell.get("metadata", {}).get("nbgrader")
            if md is not None and not isinstance(md, dict):
                problems.append(f"student {job.student}: {name} has malformed nbgrader cell metadata")
                break
    return problems, warnings


def _static_findings(job: SubmissionJob, answer_cells: dict[str, dict[int, list[str]]] | None = None
                     ) -> dict[str, list]:
    """notebook name -> findings of :func:`.static_checks.scan` (submitted against source)."""
    import nbformat

    from .static_checks import Finding, scan

    found = {}
    for rel, data in job.source_files.items():
        if not rel.endswith(".ipynb") or "/" in rel or rel not in job.submitted_files:
            continue
        try:
            source = nbformat.reads(data.decode("utf-8"), as_version=4)
            submitted = nbformat.reads(job.submitted_files[rel].decode("utf-8"), as_version=4)
            found[Path(rel).stem] = scan(submitted, source, (answer_cells or {}).get(Path(rel).stem))
        except Exception as err:  # noqa: BLE001 - an unreadable cell must not pass unchecked
            found[Path(rel).stem] = [Finding(-1, None, f"could not be checked before running "
                                                       f"({type(err).__name__}: {str(err)[:200]})")]
    return found


# What the grader's own reading (static_checks.scan) says about an edit that nbgrader refuses to grade.
_STRUCTURAL = ("was deleted", "is not in the assignment", "nbgrader metadata", "appears twice")


def _refusal(job: SubmissionJob, static: dict[str, list], log: str, scratch: Path) -> str:
    """Why nbgrader refused the submission, on one line: the student, the notebook file and the edit.

    The notebook is the one nbgrader was converting when it failed (its log), else those with edited
    nbgrader metadata; the edit is what :func:`_static_findings` found in it ("graded cell
    `test_squares` was deleted"), followed by nbgrader's own error messages.
    """
    import re

    lines = log.splitlines()
    first_error = next((i for i, line in enumerate(lines) if line.startswith("[ERROR]")), len(lines))
    converting = [line.rpartition("/")[2] for line in lines[:first_error]
                  if line.startswith("[INFO] Converting notebook ")]
    structural = {nb: [f.reason for f in found if any(s in f.reason for s in _STRUCTURAL)]
                  for nb, found in static.items()}
    if converting:
        names = [converting[-1]]
    else:
        names = [f"{nb}.ipynb" for nb, reasons in sorted(structural.items()) if reasons] or sorted(
            rel for rel in job.submitted_files if rel.endswith(".ipynb") and "/" not in rel)
    parts = []
    for name in names:
        reasons = structural.get(Path(name).stem) or []
        more = f"; and {len(reasons) - 4} more" if len(reasons) > 4 else ""
        parts.append(f"{name}: " + ("; ".join(reasons[:4]) + more if reasons else
                                    "nbgrader could not process it"))

    where = str(scratch / "submitted" / job.student / job.assignment)
    messages: list[str] = []
    for line in lines[first_error:]:
        if line.startswith("[ERROR] "):
            text = line[len("[ERROR] "):].strip()
            if text.startswith(("Traceback", "Please see")) or not text:
                continue
            if text.startswith("There was an error processing assignment"):
                if any(m.startswith("There was an error processing") for m in messages):
                    continue
                text = "There was an error processing the assignment"
        else:   # the last line of a traceback: "package.module.SomeError: message"
            match = re.match(r"^(?:[A-Za-z_]\w*\.)*([A-Z]\w*): (\S.*)$", line)
            if match is None:
                continue
            text = f"{match.group(1)}: {match.group(2)}"
        text = text.replace(where, job.assignment).replace(str(scratch), "")[:200]
        if not any(text in m or m in text for m in messages):
            messages.append(text)
    return (f"student {job.student}: nbgrader could not autograde the submission: {' | '.join(parts)} "
            f"(nbgrader: {' | '.join(messages[:6]) or 'see the log'})")


def _scratch_config(job: SubmissionJob, root: Path):
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    from ...paths import private_paths
    from .kernel_config import kernel_config

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    overrides = Config()
    cd = overrides.CourseDirectory
    cd.root = str(root)
    cd.source_directory = "source"
    cd.release_directory = "release"
    cd.submitted_directory = "submitted"
    cd.autograded_directory = "autograded"
    cd.feedback_directory = "feedback"
    cd.db_url = f"sqlite:///{root / 'gradebook.db'}"
    cd.course_id = job.course_id
    cd.assignment_id = job.assignment
    cd.student_id = job.student
    cd.notebook_id = "*"
    config.merge(overrides)
    # The parent's paths, and this machine's own (a Dask worker elsewhere has its own home and repository).
    hide = list(dict.fromkeys([str(root), *job.hide, *private_paths()]))
    config.merge(kernel_config(report_dir=str(root / "guard"), hide=hide, limits=job.limits))
    return config


def _scratch_course(job: SubmissionJob, scratch: Path):
    """The scratch nbgrader course: config, template gradebook, sources, the one student's files; its config."""
    (scratch / "nbgrader_config.py").write_bytes(job.config_py)
    (scratch / "gradebook.db").write_bytes(job.template_gradebook)
    _write_tree(scratch / "source" / job.assignment, job.source_files)
    _write_tree(scratch / "submitted" / job.student / job.assignment, job.submitted_files)
    return _scratch_config(job, scratch)


def _feedback(result: SubmissionResult, job: SubmissionJob, config, coursedir, logger, scratch: Path) -> None:
    """nbgrader's feedback HTML for the student (``feedback``: hidden tests left out, a summary first), with the
    tracker's figures (a courtesy: a failure is a warning, grades stand)."""
    from nbgrader.converters import GenerateFeedback

    try:
        from .feedback import feedback_config
        from .figures import TrackerFigures
        from .repair.messages import student_notes

        withheld = _withhold_in_scratch(result, config.CourseDirectory.db_url, job)
        feedback = GenerateFeedback(coursedir=coursedir, log=logger, config=feedback_config(
            config, TrackerFigures, release_tests=job.release_tests, repair_notes=student_notes(result.repairs),
            withheld=withheld))
        feedback.force = True
        feedback.start()
        result.feedback_files = _read(scratch / "feedback" / job.student / job.assignment)
    except Exception as err:  # feedback is a courtesy; the grades stand
        result.warnings.append(f"student {job.student}: feedback not generated ({type(err).__name__}: {err})")


def _withhold_in_scratch(result: SubmissionResult, db_url: str, job: SubmissionJob) -> dict[str, list[str]]:
    """Withhold in the scratch gradebook the points the review withheld (as the parent records them in the
    course's), so that the student's feedback page shows the score the gradebook holds; notebook -> cells."""
    from nbgrader.api import Gradebook

    withheld: dict[str, list[str]] = {}
    for key in result.withheld:
        notebook, _, cell = key.partition("/")
        withheld.setdefault(notebook, []).append(cell)
    if not withheld:
        return withheld
    with Gradebook(db_url, job.course_id) as gb:
        for notebook, cells in withheld.items():
            for cell in cells:
                grade = gb.find_grade(cell, notebook, job.assignment, job.student)
                grade.auto_score, grade.needs_manual_grade = 0.0, True
        gb.db.commit()
    return withheld


def _read_gradebook(result: SubmissionResult, db_url: str, job: SubmissionJob) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(db_url, job.course_id) as gb:
        submission = gb.find_submission(job.assignment, job.student)
        result.timestamp = submission.timestamp.isoformat() if submission.timestamp else None
        for nb in submission.notebooks:
            for grade in nb.grades:
                result.grades.append(GradeRecord(nb.name, grade.name, grade.auto_score, grade.max_score,
                                                 bool(grade.needs_manual_grade)))
            for comment in nb.comments:
                result.comments.append(CommentRecord(nb.name, comment.name, comment.auto_comment))
            result.notebooks.append(NotebookRecord(nb.name, nb.late_submission_penalty,
                                                   f"{nb.name}.ipynb" in job.submitted_files))


def grade_submission(job: SubmissionJob) -> SubmissionResult:
    """Autograde one student's submission in a private scratch course; never raises."""
    with _ONE_AT_A_TIME, one_engine_per_gradebook():
        return _grade(job)


def _grade(job: SubmissionJob) -> SubmissionResult:
    start = time.perf_counter()
    python_first_on_path()

    result = SubmissionResult(job.assignment, job.student, status="failed")
    logger, log_buffer = _worker_logger()
    scratch = Path(scratch_folders.make(f"grade-{job.assignment}"))
    try:
        problems, result.warnings = _check_notebooks(job)
        if problems:
            result.reason = "; ".join(problems)
            return result
        job, answer_cells = _repair(job, result)
        static = _static_findings(job, answer_cells)
        config = _scratch_course(job, scratch)
        coursedir = _autograde(config, logger)
        if coursedir is None:
            result.reason = _refusal(job, static, log_buffer.getvalue(), scratch)
            return result
        _read_gradebook(result, config.CourseDirectory.db_url, job)
        _review(result, static, scratch / "guard")
        _collect(result, scratch / "autograded" / job.student / job.assignment)
        if job.feedback:
            _feedback(result, job, config, coursedir, logger, scratch)
        result.status = "graded"
        return result
    except BaseException as err:  # noqa: BLE001 - a worker must report, never die silently
        if isinstance(err, KeyboardInterrupt):
            raise
        result.status = "failed"
        result.reason = (f"student {job.student}: grading crashed: {type(err).__name__}: {err}\n"
                         + traceback.format_exc(limit=5))
        return result
    finally:
        result.log = log_buffer.getvalue()[-20000:]
        result.seconds = time.perf_counter() - start
        result.stats = _stats()
        shutil.rmtree(scratch, ignore_errors=True)


def _repair(job: SubmissionJob, result: SubmissionResult) -> tuple[SubmissionJob, dict[str, dict[int, list[str]]]]:
    """The job with its damaged notebooks repaired (:mod:`.repair`), what was done in ``result.repairs``; and,
    per notebook, the cells standing where an answer could not be placed (for the static checks)."""
    from .repair.submission import repair_job

    try:
        job, repaired = repair_job(job)
    except Exception as err:  # noqa: BLE001 - a repair that fails leaves the submission as it was
        result.warnings.append(f"student {job.student}: damaged notebooks not repaired "
                               f"({type(err).__name__}: {str(err)[:200]})")
        return job, {}
    result.repairs = [{"notebook": r.notebook, "note": r.note, "problems": r.problems}
                      for r in repaired if r.note or r.problems]
    return job, {r.notebook: r.answer_cells for r in repaired}


def _worker_logger() -> tuple[logging.Logger, io.StringIO]:
    """This worker's logger for nbgrader's converters, writing into a buffer (the result's ``log``)."""
    log_buffer = io.StringIO()
    logger = logging.getLogger(f"autograder.grading.worker.{os.getpid()}")
    logger.handlers[:] = [logging.StreamHandler(log_buffer)]
    logger.handlers[0].setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, log_buffer


def _autograde(config, logger):
    """Run nbgrader's ``Autograde`` in the scratch course; its CourseDirectory, or None when nbgrader refused
    the submission (the reason is in the log: :func:`_refusal`)."""
    from nbgrader.converters import Autograde, NbGraderException
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config, log=logger)
    converter = Autograde(coursedir=coursedir, config=config, log=logger)
    converter.force = True
    converter.create_student = True
    try:
        converter.start()
    except NbGraderException:
        return None
    return coursedir


def _collect(result: SubmissionResult, autograded: Path) -> None:
    """The autograded files into ``result``, and what each of its notebooks' graded cells says."""
    result.autograded_files = _read(autograded)
    grades = {(g.notebook, g.name): g for g in result.grades}
    for rel, data in sorted(result.autograded_files.items()):
        if rel.endswith(".ipynb") and "/" not in rel:
            result.cells.extend(collect_cells(Path(rel).stem, data, grades))


def _stats() -> dict:
    """Resource figures for the report (benchmarks read them): this worker's peak memory, its warm template."""
    import resource

    from . import warm

    stats = {"worker_peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    try:
        stats["template"] = warm.current_status()
    except Exception as err:  # noqa: BLE001 - figures only
        stats["template"] = {"error": f"{type(err).__name__}: {err}"}
    return stats


def _review(result: SubmissionResult, static: dict[str, list], guard_dir: Path) -> None:
    """Withhold the points of every graded cell a finding affects (see :mod:`.review`)."""
    from .review import ReviewItem, apply_review, collect_items

    items = []
    for notebook in sorted({n.name for n in result.notebooks}):
        path = guard_dir / f"{notebook}.json"
        findings = json.loads(path.read_text()) if path.exists() else None
        if findings is not None:
            result.guard[notebook] = {k: findings.get(k) for k in (
                "sandbox", "sandbox_why", "kernel", "kernel_why", "dead", "seconds", "cells_seconds",
                "overhead_seconds", "overhead_cpu_seconds", "kernel_peak_rss_kb", "snapshot", "kernel_cpu_seconds")}
            if findings.get("kernel_why"):
                result.warnings.append(f"student {result.student}: {notebook}.ipynb was graded in a cold kernel: "
                                       f"{findings['kernel_why']}")
        elif any(n.name == notebook and n.submitted for n in result.notebooks):
            findings = {"notebook": ["the grader's guard left no report for this notebook"]}
        items += collect_items(notebook, findings, static.get(notebook, []))
    items += [ReviewItem(r["notebook"], p["answer"], p["message"], tuple(p["tests"]))
              for r in result.repairs for p in r["problems"]]
    withheld = apply_review(result.grades, items)
    result.review = [{"notebook": i.notebook, "cell": i.cell, "reason": i.reason} for i in items]
    result.withheld = {f"{nb}/{cell}": score for (nb, cell), score in withheld.items()}


def _read(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def result_summary(result: SubmissionResult) -> dict:
    """A short JSON-friendly view (for logs and debugging)."""
    return json.loads(json.dumps({"student": result.student, "status": result.status, "reason": result.reason,
                                  "grades": [g.__dict__ for g in result.grades]}))
