"""Red team: hostile, broken and malformed submissions against `python -m autograder grade`.

The catalogue (attacks, classes, expected outcomes) is ``red_team.py``.  Cost is kept down by grading
each set once:

* ``main_run``: every attack, honest and control submission of the plain-Python course in ONE run of
  the command (4 workers, namespaces sandbox, short limits: 5 s a cell, 20 s a notebook, 1 GiB), with
  plain sequential ``nbgrader autograde`` grading the honest set alongside for comparison;
* ``bare_run``: the isolation attacks and a few others with ``--sandbox none`` (what still holds without
  namespaces), killed with SIGKILL as soon as its first result is recorded, then run again to finish;
* ``tf_run``: one TensorFlow lesson submission that replaces the tracker's ``expect``;
* ``cold_run``: the main run's catalogue again with cold kernels (``--kernels cold``: a new process per
  notebook, as nbgrader starts them), which must give every attack exactly the outcome the warm kernels
  of the main run gave (each is forked from a template process, see autograder/grading/worker/warm.py and kernel/template.py).

Then many small tests check each attack's exact outcome from the report, the gradebook, grades.csv and
the autograded notebook.  An inflation attack never earns a point its answer does not deserve: it is
either graded as if it had not been there, or marked for review with a reason that names it and its
cells score 0 until an instructor decides.
"""
from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from autograder import nbgrader_course as course
from autograder import paths
from autograder.nbgrader_course import cell_of
from autograder.grading.worker import scratch
from autograder.nbgrader_runner import nbgrader_env

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import builders  # noqa: E402
from process_check import descendants, processes  # noqa: E402
import red_team as rt  # noqa: E402

GRADE = [sys.executable, "-m", "autograder", "grade"]
LIMITS = ["--cell-timeout", "5", "--notebook-timeout", "20", "--memory-mb", "1024", "--no-progress"]
# Workers of the main and cold runs: more than the 2 cores, because a tenth of the attacks spend their time
# waiting for a time limit (sleeping, blocked), and the other workers use the idle cores meanwhile.
RUN_WORKERS = 4
MAIN = [a for a in rt.ALL if "main" in a.runs]
BARE = [a for a in rt.ALL if "bare" in a.runs]
PLAIN = [a for a in rt.ALL if "plain" in a.runs]
NOTEBOOK_OF = {gid: Path(nb).stem for nb, cells in rt.CELLS.items() for gid in cells}


def _repo_files_attacks_write() -> list[Path]:
    """Files of this repository and environment that attack i42 tries to append to."""
    import nbgrader.utils

    from autograder.grading.kernel import guard

    return [Path(guard.__file__), Path(nbgrader.utils.__file__)]


def digest_tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def grading_env() -> dict:
    env = nbgrader_env()
    env[rt.SECRET_ENV] = rt.SECRET_VALUE   # what no kernel may see
    return env


def grade(root: Path, *extra: str, command=GRADE, timeout: float = 900) -> subprocess.CompletedProcess:
    """The grading command in its own session (an attack that escaped could not take pytest with it)."""
    return subprocess.run([*command, "ps1", "--course-dir", str(root), *extra], capture_output=True, text=True,
                          env=grading_env(), timeout=timeout, start_new_session=True)


@dataclass
class Run:
    root: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    extra: dict = field(default_factory=dict)

    def report(self, student: str) -> dict:
        return json.loads((self.root / "reports" / student / "ps1.json").read_text())

    def autograded(self, student: str) -> dict[str, nbformat.NotebookNode]:
        folder = self.root / "autograded" / student / "ps1"
        return {p.stem: nbformat.read(str(p), as_version=4) for p in sorted(folder.glob("*.ipynb"))}

    def gradebook(self) -> dict[tuple[str, str, str], tuple]:
        if "gradebook" not in self.extra:
            self.extra["gradebook"] = builders.gradebook_cells(self.root)
        return self.extra["gradebook"]

    def csv_rows(self) -> dict[str, dict]:
        with open(self.root / "grades.csv", newline="") as fh:
            return {row["student_id"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return builders.make_pycourse(tmp_path_factory.mktemp("red_team") / "base")


@pytest.fixture(scope="module")
def main_run(base) -> Run:
    """Every attack of the catalogue graded in one run; plain nbgrader grades the honest set alongside."""
    root = shutil.copytree(base, base.parent / "main")
    stripped = []
    for attack in MAIN:
        folder = rt.submit(attack, root, paths.ROOT)
        if attack.name in {a.name for a in STRIPPED_ATTACKS} and submit_stripped(folder):
            stripped.append(attack.name)
    plain_root = shutil.copytree(base, base.parent / "plain")
    for attack in PLAIN:
        rt.submit(attack, plain_root, paths.ROOT)
    submitted_before = digest_tree(root / "submitted")
    repo_before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in _repo_files_attacks_write()}
    plain = subprocess.Popen([sys.executable, "-m", "nbgrader", "autograde", "ps1", "--create", "--force"],
                             cwd=plain_root, env=nbgrader_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, start_new_session=True)
    start = time.perf_counter()
    # Without the HTML feedback, which would double the cost of the 100-odd submissions; the bare run and the
    # TensorFlow run keep it.
    proc = grade(root, "--workers", str(RUN_WORKERS), "--no-feedback", *LIMITS)
    seconds = time.perf_counter() - start
    plain_log = plain.communicate(timeout=900)[0]
    return Run(root, proc.returncode, proc.stdout, proc.stderr, seconds, extra={
        "submitted_before": submitted_before, "submitted_after": digest_tree(root / "submitted"),
        "repo_before": repo_before,
        "repo_after": {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in _repo_files_attacks_write()},
        "plain_root": plain_root, "plain_log": plain_log, "stripped": stripped})


STRIPPED = "-stripped"   # the copy of an attack's submission with every cell's nbgrader metadata removed
# The attacks graded again stripped (issue 21): those that try to raise a score and are graded (a malformed or
# refused file has no metadata to lose that matters; breaking and isolation attacks gain no points).
STRIPPED_ATTACKS = [a for a in MAIN if a.klass == "inflate" and a.status == "graded"]


def submit_stripped(folder: Path) -> bool:
    """Submit beside ``folder`` (submitted/<attack>/ps1) a copy whose notebooks lost every cell's nbgrader metadata,
    as an editor loses it (issue 21: the grader repairs such notebooks; no attack may gain from it). Submissions
    holding links or special files are not copied (their notebooks are the point of the attack, not metadata)."""
    files = sorted(folder.rglob("*"))
    if any(p.is_symlink() or not (p.is_file() or p.is_dir()) for p in files):
        return False
    copy = folder.parent.parent / f"{folder.parent.name}{STRIPPED}" / folder.name
    for path in files:
        target = copy / path.relative_to(folder)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        try:
            raw = json.loads(data) if path.suffix == ".ipynb" else None
        except (ValueError, RecursionError):   # not JSON, or nested too deep: submitted as it is
            raw = None
        if isinstance(raw, dict) and isinstance(raw.get("cells"), list):
            for cell in raw["cells"]:
                if isinstance(cell, dict) and isinstance(cell.get("metadata"), dict):
                    cell["metadata"].pop("nbgrader", None)
            data = json.dumps(raw, indent=1).encode()
        target.write_bytes(data)
    return True


@pytest.fixture(scope="module")
def cold_run(base) -> Run:
    """The main run's catalogue again, with cold kernels."""
    root = shutil.copytree(base, base.parent / "cold")
    for attack in MAIN:
        rt.submit(attack, root, paths.ROOT)
    start = time.perf_counter()
    proc = grade(root, "--workers", str(RUN_WORKERS), "--no-feedback", "--kernels", "cold", *LIMITS)
    return Run(root, proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)


# -- checking one attack's outcome ------------------------------------------------------------------

def attack_cell(notebooks: dict) -> nbformat.NotebookNode:
    """The first cell the attack added (its source starts with the red-team mark)."""
    for nb in notebooks.values():
        for cell in nb.cells:
            if cell.cell_type == "code" and rt.MARK in cell.source.splitlines()[:2]:
                return cell
    raise AssertionError("the attack's cell is not in the autograded notebooks")


def graded_cell(notebooks: dict, grade_id: str) -> nbformat.NotebookNode:
    nb = notebooks[NOTEBOOK_OF[grade_id]]
    return cell_of(nb, grade_id)


def error_text(cell) -> str:
    return "\n".join(f"{o.ename}: {o.evalue}" for o in cell.get("outputs", []) if o.output_type == "error")


def stream_text(cell) -> str:
    return "".join(o.text for o in cell.get("outputs", []) if o.output_type == "stream")


def check_outcome(run: Run, attack: rt.Attack) -> None:
    report = run.report(attack.student)
    assert report["status"] == attack.status, report.get("reason")
    if attack.status == "failed":
        # a clear message naming the student, the file and the problem; nothing recorded as earned
        assert re.search(attack.reason, report["reason"]), report["reason"]
        assert attack.student in report["reason"]
        scores = {k: v for k, v in run.gradebook().items() if k[0] == attack.student}
        assert all(not auto for auto, _ in scores.values()), scores
        assert run.csv_rows()[attack.student]["score"] in ("0.0", "0")
        return

    cells = {c["grade_id"]: c for nb in report["notebooks"] for c in nb["cells"]}
    assert set(cells) == set(attack.deserved)
    withheld = report["withheld"]
    reasons = [item["reason"] for item in report["review"]]
    if attack.review is None:
        assert not report["needs_review"], reasons
    else:
        assert report["needs_review"], f"not marked for review; scores {({k: c['points'] for k, c in cells.items()})}"
        assert any(re.search(attack.review, r) for r in reasons), reasons

    for gid, deserved in attack.deserved.items():
        cell = cells[gid]
        if f"{NOTEBOOK_OF[gid]}/{gid}" in withheld:
            assert (cell["auto_points"], cell["points"], cell["needs_manual_grade"]) == (0, 0, True), (gid, cell)
        elif deserved is None:      # an answered free-text question: manual grading, as with nbgrader
            assert cell["auto_points"] is None and cell["needs_manual_grade"], (gid, cell)
        else:
            assert cell["points"] == pytest.approx(deserved, abs=1e-4), (gid, cell["points"], cell["error"])
    earned = sum(c["points"] or 0 for c in cells.values())
    assert earned <= sum(d or 0 for d in attack.deserved.values()) + 1e-6, "an undeserved point was awarded"
    at_stake = sum(v or 0 for v in withheld.values())
    if attack.gains is True:    # the attack does fool nbgrader alone: what it would have gained is withheld
        assert at_stake > 0, withheld
    elif attack.gains is False:
        assert at_stake == 0, withheld

    # the gradebook holds what the report says
    book = run.gradebook()
    for gid, cell in cells.items():
        assert book[(attack.student, NOTEBOOK_OF[gid], gid)] == (cell["auto_points"], cell["needs_manual_grade"])
    row = run.csv_rows()[attack.student]
    if "needs_review" in row:
        assert row["needs_review"] == ("yes" if report["needs_review"] else "no")
        if report["needs_review"]:
            assert reasons[0][:60] in row["review_reason"]

    notebooks = run.autograded(attack.student) if (attack.errors or attack.outputs) else {}
    for where, pattern in attack.errors.items():
        text = error_text(attack_cell(notebooks)) if where == "attack" else (cells[where]["error"] or "")
        assert re.search(pattern, text, re.M | re.S), (where, text)
    for where, pattern in attack.outputs.items():
        cell = attack_cell(notebooks) if where == "attack" else graded_cell(notebooks, where)
        assert re.search(pattern, stream_text(cell), re.S), (where, stream_text(cell)[:2000])
    if attack.warnings:
        assert any(re.search(attack.warnings, w) for w in report["warnings"]), report["warnings"]


def cases(attacks: list) -> list:
    """Parameters; an attack with an open hole is expected to fail (strictly: a fix makes the suite say so)."""
    return [pytest.param(a.name, marks=pytest.mark.xfail(strict=True, reason=f"open hole: {a.hole}"))
            if a.hole else a.name for a in attacks]


@pytest.mark.parametrize("name", cases(MAIN))
def test_attack(main_run, name):
    """Each attack of the catalogue has exactly its expected outcome (red_team.py says which, and why)."""
    check_outcome(main_run, rt.BY_NAME[name].in_run("main"))


# -- the run as a whole -------------------------------------------------------------------------------

def test_the_run_survives_everything(main_run):
    """Exit status 0; every submission recorded; only the malformed files (and the notebooks nbgrader itself
    refuses) fail, each with its own message; no worker died; the summary says so."""
    assert main_run.returncode == 0, main_run.stderr[-3000:]
    failed = sorted(a.name for a in MAIN if a.status == "failed")
    stripped = [f"{name}{STRIPPED}" for name in main_run.extra["stripped"]]
    stripped_failed = [s for s in stripped if main_run.report(s)["status"] == "failed"]
    graded = len(MAIN) + len(stripped) - len(failed) - len(stripped_failed)
    assert (f"graded {graded}, already graded 0, failed to grade {len(failed) + len(stripped_failed)}"
            in main_run.stdout), main_run.stdout
    for name in failed:
        assert f"FAILED {name}: student {name}" in main_run.stdout
    assert "worker grading it died" not in main_run.stdout
    assert sorted(p.parent.name for p in (main_run.root / "reports").glob("*/ps1.json")) == sorted(
        [a.name for a in MAIN] + stripped)


def test_no_attack_gains_from_stripped_metadata(main_run):
    """Every inflation attack's notebooks, stripped of nbgrader's metadata (the grader repairs them by content),
    graded in the main run: no graded cell earns more than the attack's answers deserve (issue 21)."""
    left_out = sorted({a.name for a in STRIPPED_ATTACKS} - set(main_run.extra["stripped"]))
    assert len(left_out) <= 2, left_out   # submissions holding links or special files
    gains = {}
    for name in main_run.extra["stripped"]:
        report = main_run.report(f"{name}{STRIPPED}")
        if report["status"] != "graded":
            continue
        deserved = rt.BY_NAME[name].in_run("main").deserved
        for nb in report["notebooks"]:
            for cell in nb["cells"]:
                want = deserved.get(cell["grade_id"]) or 0.0
                if (cell["points"] or 0.0) > want + 1e-6:
                    gains[f"{name}/{cell['grade_id']}"] = (cell["points"], want)
    assert not gains, gains


NBGRADER_REFUSALS = [a for a in MAIN if a.status == "failed" and a.reason == rt.NBGRADER_REFUSES]


@pytest.mark.parametrize("name", [a.name for a in MAIN if a.status == "failed"])
def test_a_failed_submission_names_student_file_and_problem(main_run, name):
    reason = main_run.report(name)["reason"]
    assert name in reason and re.search(r"problem\d\.ipynb", reason), reason


@pytest.mark.parametrize("name", [a.name for a in NBGRADER_REFUSALS])
def test_a_refused_notebook_names_the_edit(main_run, name):
    """When nbgrader itself refuses an edited notebook, the reason says which edit (the grader's own reading of
    the notebook: a deleted, added, duplicated or re-flagged graded cell) besides nbgrader's message."""
    reason = main_run.report(name)["reason"]
    assert "\n" not in reason, reason
    assert re.search(r"problem\d\.ipynb: .*(`\w+` was deleted|is not in the assignment|metadata of `\w+` changed|"
                     r"`\w+` appears twice)", reason), reason


def test_reading_a_submission_never_follows_links(tmp_path):
    """course.read_tree (how the command reads submitted/<student>/<assignment>/): links to files or folders, and
    what is not a regular file, are left out and listed (the worker warns, naming student and file: attack s08);
    the rest is read as before; the instructor's own folders may still use links."""
    import pickle

    from autograder.grading.parent.course import read_tree

    secret = tmp_path / "source.ipynb"
    secret.write_text("hidden tests")
    sub = tmp_path / "submission"
    (sub / "data" / ".ipynb_checkpoints").mkdir(parents=True)
    (sub / "problem1.ipynb").write_text("{}")
    (sub / "data" / "rows.csv").write_text("a,b")
    (sub / "data" / ".ipynb_checkpoints" / "old.csv").write_text("x")
    (sub / "notes.txt").symlink_to(secret)
    (sub / "data" / "again.csv").symlink_to("rows.csv")
    (sub / "everything").symlink_to(tmp_path)
    os.mkfifo(sub / "pipe")
    files = read_tree(sub)
    assert dict(files) == {"problem1.ipynb": b"{}", "data/rows.csv": b"a,b"}
    assert sorted(files.skipped) == ["data/again.csv", "everything", "notes.txt", "pipe"]
    assert all(files.skipped[k].startswith("a symbolic link") for k in ("data/again.csv", "everything", "notes.txt"))
    assert pickle.loads(pickle.dumps(files)).skipped == files.skipped    # it travels to the worker processes
    assert read_tree(sub / "everything").skipped == {".": "a symbolic link"}
    assert read_tree(sub, follow_links=True)["notes.txt"] == b"hidden tests"


def test_other_submissions_graded_as_if_alone(main_run):
    """The control submissions, graded among fork bombs, memory hogs, endless output and dying kernels,
    get exactly the plain grade of their answers, cell by cell, and are never marked."""
    controls = [a for a in MAIN if a.klass == "control"]
    assert len(controls) >= 4
    book = main_run.gradebook()
    for attack in controls:
        mine = {k[2]: v for k, v in book.items() if k[0] == attack.student}
        assert mine == {gid: ((want, want is None) if want is not None else (None, True))
                        for gid, want in attack.deserved.items()}, attack.name
        assert not main_run.report(attack.student)["needs_review"]


def test_honest_submissions_are_never_marked_and_score_as_plain_nbgrader(main_run):
    """Printing a lot, timing magics, plots, re-imports, its own files, honest mistakes: nothing is marked for
    review, and every cell scores what plain `nbgrader autograde` gives the same notebooks."""
    plain_root = main_run.extra["plain_root"]
    plain = builders.gradebook_cells(plain_root)
    ours = main_run.gradebook()
    for attack in PLAIN:
        assert not main_run.report(attack.student)["needs_review"], main_run.report(attack.student)["review"]
        theirs = {k: v for k, v in plain.items() if k[0] == attack.student}
        assert theirs, f"plain nbgrader did not grade {attack.name}:\n{main_run.extra['plain_log'][-3000:]}"
        assert {k: v for k, v in ours.items() if k[0] == attack.student} == theirs, attack.name


def test_nothing_submitted_or_installed_was_modified(main_run):
    """The submitted files are never modified (attack l01 tried), nor the grader's code or nbgrader (i42 tried)."""
    assert main_run.extra["submitted_after"] == main_run.extra["submitted_before"]
    assert main_run.extra["repo_after"] == main_run.extra["repo_before"]


def test_every_class_is_covered():
    counts = {}
    for attack in rt.ALL:
        counts[attack.klass] = counts.get(attack.klass, 0) + 1
    assert counts["inflate"] >= 50 and counts["break"] >= 20 and counts["malformed"] >= 15
    assert counts["isolation"] >= 7 and counts["lost"] >= 2 and counts["honest"] >= 6 and counts["control"] >= 4


def outcome(run: Run, attack: rt.Attack) -> dict:
    """What grading decided for an attack: status, every cell's points, review and its reasons, errors shown."""
    report = run.report(attack.student)
    cells = {c["grade_id"]: (c["points"], c["auto_points"], c["needs_manual_grade"], c["passed"])
             for nb in report.get("notebooks", []) for c in nb["cells"]}
    # What may differ between two runs: the course directory (attacks aim at it by its path, so their cells,
    # and IPython's file names for them, which hash the source, differ too) and random scratch folder names.
    def same_across_runs(reason: str) -> str:
        reason = reason.replace(str(run.root), "<course>")
        reason = re.sub(r"/tmp/ipykernel_\d+/\d+\.py", "<cell file>", reason)
        return re.sub(r"(agj|grade-ps1|tmp)[-_][A-Za-z0-9_]+", r"\1-*", reason)

    reasons = sorted({same_across_runs(item["reason"]) for item in report.get("review", [])})
    return {"status": report["status"], "cells": cells, "needs_review": report.get("needs_review"),
            "withheld": report.get("withheld"), "reasons": reasons}


def test_warm_kernels_grade_the_catalogue_exactly_as_cold_kernels(main_run, cold_run):
    """Every attack, honest and control submission: the same status, points, review and reasons, whether its
    kernels were forked from the warm template (main run) or started as new processes (cold run)."""
    assert cold_run.returncode == 0, cold_run.stderr[-3000:]
    kinds = {}
    for run, name in ((main_run, "warm"), (cold_run, "cold")):
        kinds[name] = {g["kernel"] for a in MAIN if a.status == "graded"
                       for g in run.report(a.student)["guard"].values()}
    assert kinds == {"warm": {"warm"}, "cold": {"cold"}}, kinds
    differ = {a.name: (outcome(main_run, a), outcome(cold_run, a)) for a in MAIN
              if outcome(main_run, a) != outcome(cold_run, a)}
    assert not differ, differ


# -- without namespaces, and a run killed midway ---------------------------------------------------

def _scratch_folders_of(pids: set[int]) -> list[Path]:
    """The /tmp folders (autograder/grading/worker/scratch.py) made by processes ``pids``."""
    return [p for p in Path("/tmp").iterdir() if (m := scratch.NAME.match(p.name)) and int(m["pid"]) in pids]


@pytest.fixture(scope="module")
def bare_run(base) -> Run:
    """`--sandbox none` on the isolation set (and friends), SIGKILLed at its first recorded result, then rerun."""
    root = shutil.copytree(base, base.parent / "bare")
    for attack in BARE:
        rt.submit(attack, root, paths.ROOT)
    submitted_before = digest_tree(root / "submitted")
    args = [*GRADE, "ps1", "--course-dir", str(root), "--workers", "2", "--sandbox", "none", *LIMITS]
    proc = subprocess.Popen(args, env=grading_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and not list((root / "reports").glob("*/ps1.json")):
        time.sleep(0.05)
    left_behind = _scratch_folders_of({proc.pid} | {p.pid for p in descendants(proc.pid, processes(False))})
    os.killpg(proc.pid, signal.SIGKILL)   # the command, its workers and their kernels' process group
    proc.wait()
    recorded = sorted(p.parent.name for p in (root / "reports").glob("*/ps1.json"))
    start = time.perf_counter()
    rerun = grade(root, "--workers", "2", "--sandbox", "none", *LIMITS)
    return Run(root, rerun.returncode, rerun.stdout, rerun.stderr, time.perf_counter() - start, extra={
        "recorded_before_kill": recorded, "submitted_before": submitted_before, "left_behind": left_behind,
        "submitted_after": digest_tree(root / "submitted")})


@pytest.mark.parametrize("name", cases(BARE))
def test_attack_without_namespaces(bare_run, name):
    """What still holds with --sandbox none: processes and sockets refused, a shadowing package ignored, a
    clean environment, and every read of the grader's files or processes reported (points withheld)."""
    check_outcome(bare_run, rt.BY_NAME[name].in_run("bare"))
    report = bare_run.report(name)
    assert {g["sandbox"] for g in report["guard"].values()} == {"none"}


def test_a_killed_run_loses_nothing_and_a_rerun_completes_the_set(bare_run):
    recorded = bare_run.extra["recorded_before_kill"]
    assert 1 <= len(recorded) < len(BARE), recorded
    assert bare_run.returncode == 0, bare_run.stderr[-3000:]
    assert f"graded {len(BARE) - len(recorded)}, already graded {len(recorded)}, failed to grade 0" \
        in bare_run.stdout, bare_run.stdout
    assert bare_run.extra["submitted_after"] == bare_run.extra["submitted_before"]
    builders.gradebook_cells(bare_run.root)   # no duplicate grade rows
    for student in bare_run.root.joinpath("autograded").iterdir():   # no half-written folders left
        assert [p.name for p in student.iterdir()] == ["ps1"]
    # The killed run's /tmp folders (its template server's socket, its workers' scratch courses and kernel jails):
    # there were some, and the rerun removed them.
    left_behind = bare_run.extra["left_behind"]
    assert {p.name.split("-")[0] for p in left_behind} >= {"agts", "grade"}, left_behind
    assert not [p for p in left_behind if p.exists()]


# -- one TensorFlow lesson -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tf_run(tmp_path_factory) -> Run:
    """lesson01_variables on a bare grading directory: the rebinding answer (`w = w - lr * grad`, which the
    tracker reports as replaced) plus a cell that makes every tracker expectation pass."""
    assignment, name = "lesson01_variables", "lesson01_variables.ipynb"
    tmp = tmp_path_factory.mktemp("red_team_tf")
    student = nbformat.read(str(paths.NOTEBOOKS / assignment / name), as_version=4)
    source = nbformat.read(str(paths.SOLUTIONS / assignment / name), as_version=4)
    answers = course.solution_answers(source)
    answers["sgd_step"] = "def sgd_step(w, grad, lr):\n    w = w - lr * grad\n    return w"
    nb = course.answer(student, answers)
    nb.cells.insert(0, rt.code("""
        from autograder.tracker.report import ChangeReport
        ChangeReport.expect = lambda self, *args, **kwargs: self   # every expectation passes"""))
    root = tmp / "grading"
    course.submit(root, "tracker_patched", assignment, {name: nb})
    start = time.perf_counter()
    proc = subprocess.run([*GRADE, assignment, "--course-dir", str(root), "--workers", "1", "--no-progress",
                           "--cell-timeout", "120", "--notebook-timeout", "400"],
                          capture_output=True, text=True, env=grading_env(), timeout=600, start_new_session=True)
    return Run(root, proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)


def test_tensorflow_tracker_patched(tf_run):
    """Replacing the tracker's ChangeReport.expect makes the wrong sgd_step pass under plain nbgrader; here the
    replacement is reported and the cell it would have passed scores 0 pending review."""
    assert tf_run.returncode == 0, tf_run.stderr[-3000:]
    report = json.loads((tf_run.root / "reports" / "tracker_patched" / "lesson01_variables.json").read_text())
    assert report["status"] == "graded"
    cells = {c["grade_id"]: c for nb in report["notebooks"] for c in nb["cells"]}
    step = cells["test_sgd_step_in_place"]
    assert report["needs_review"]
    assert any(re.search(r"ChangeReport\.expect was replaced", item["reason"]) for item in report["review"]), \
        report["review"]
    assert (step["points"], step["needs_manual_grade"]) == (0, True)
    assert report["withheld"]["lesson01_variables/test_sgd_step_in_place"] > 0   # nbgrader alone: passed
    assert report["score"] == 0
    # The student's feedback page shows the gradebook's score, not nbgrader's, and says why each exercise waits.
    page = html.unescape((tf_run.root / "feedback" / "tracker_patched" / "lesson01_variables"
                          / "lesson01_variables.html").read_text())
    summary = page[page.index('<div class="course-summary"'):page.index("</table>")]
    assert "Score: 0 / 6" in summary and "passed" not in summary, summary
    assert summary.count("withheld for review") == 3, summary
