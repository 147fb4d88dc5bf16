"""`python -m autograder grade`: the contract's files, nbgrader's grades, Dask, resume, any course.

Cost is kept down by grading each thing once.  The plain-Python course
(tests/grading/fixtures/pycourse: two notebooks, no TensorFlow, kernels start in about a second)
is graded once by plain sequential `nbgrader autograde` + `nbgrader export` and once by the
command (2 workers), in one module fixture that the contract, equality, report, feedback, summary
and rerun tests share.  The Dask test (a scheduler and two workers started with Dask's own command-line
tools, one of them killed mid-run) and the resume test grade a few of those submissions again and
compare with that run.  Three submissions of lesson01_variables prove the TensorFlow path
(tracker verdicts, table and figure) on a bare grading directory.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder import nbgrader_course as course
from autograder.nbgrader_course import cell_of
from autograder.nbgrader_runner import nbgrader_env

sys.path.insert(0, str(Path(__file__).resolve().parent))
import builders  # noqa: E402

GRADE = [sys.executable, "-m", "autograder", "grade"]


def grade_cmd(assignment: str, root: Path, *extra: str, timeout: float = 1500) -> subprocess.CompletedProcess:
    return subprocess.run([*GRADE, assignment, "--course-dir", str(root), *extra], capture_output=True, text=True,
                          env=nbgrader_env(), timeout=timeout)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return sorted(csv.DictReader(fh), key=lambda r: (r["assignment"], r["student_id"]))


@pytest.fixture(scope="module")
def pycourse(tmp_path_factory):
    """The same 22 submissions graded by plain nbgrader (sequential) and by the command (2 workers)."""
    base = builders.make_pycourse(tmp_path_factory.mktemp("pycourse") / "course")
    students = builders.pycourse_submissions(base, 22)
    plain = shutil.copytree(base, base.parent / "plain")
    ours = shutil.copytree(base, base.parent / "ours")
    env = nbgrader_env()
    # Run both at once (each is dominated by kernel start-up); plain nbgrader runs its usual sequential loop.
    plain_proc = subprocess.Popen(f"{sys.executable} -m nbgrader autograde ps1 --create --force; "
                                  f"{sys.executable} -m nbgrader export",
                                  shell=True, cwd=plain, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
    ours_result = grade_cmd("ps1", ours, "--workers", "2")
    plain_out = plain_proc.communicate(timeout=1500)[0]
    return {"base": base, "plain": plain, "ours": ours, "students": students, "result": ours_result,
            "plain_out": plain_out}


def test_exit_status_and_summary(pycourse):
    """Grading ran: exit 0 although one submission is malformed; the summary says who failed and why."""
    result = pycourse["result"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "graded 21" in result.stdout and "failed to grade 1" in result.stdout, result.stdout
    assert "s17_malformed" in result.stdout and "problem1.ipynb" in result.stdout
    assert "mean score" in result.stdout
    assert "grading ps1" in result.stderr and "22/22" in result.stderr   # the tqdm progress bar, on stderr
    assert "grading ps1" not in result.stdout


def test_same_grades_as_nbgrader_cell_by_cell(pycourse):
    """Every cell's autograde score (and manual-grading flag) equals plain nbgrader's."""
    plain = builders.gradebook_cells(pycourse["plain"], "ps1")
    ours = builders.gradebook_cells(pycourse["ours"], "ps1")
    failed = [s for s in pycourse["students"] if s != "s17_malformed"
              and not (pycourse["plain"] / "autograded" / s / "ps1").is_dir()]
    assert not failed, f"plain nbgrader itself failed on {failed}:\n{pycourse['plain_out'][-4000:]}"
    graded = {k: v for k, v in plain.items() if k[0] != "s17_malformed"}
    assert len({k[0] for k in graded}) >= 20
    assert {k: v for k, v in ours.items() if k[0] != "s17_malformed"} == graded
    # The variety is real: full marks, zero, partial credit, manual grading, restored tests.
    totals = {}
    for (student, _, _), (score, _) in graded.items():
        totals[student] = totals.get(student, 0) + (score or 0)
    assert totals["s00_correct"] == 10 and totals["s01_empty"] == 0
    assert len(set(totals.values())) >= 5, totals
    assert graded[("s15_tampered", "problem1", "test_squares")][0] == 0   # the emptied test was restored
    assert plain[("s10_fizzbuzz_wrong0", "problem2", "partial_fizzbuzz")][0] not in (0, 2)


def test_grades_csv_equals_nbgrader_export(pycourse):
    """DIR/grades.csv is nbgrader's export (same columns, rows and scores) plus the two review columns."""
    ours = read_csv(pycourse["ours"] / "grades.csv")
    plain = read_csv(pycourse["plain"] / "grades.csv")
    assert {"student_id", "assignment", "score", "max_score"} <= set(ours[0])
    assert list(ours[0]) == [*plain[0], "needs_review", "review_reason"]
    assert len(ours) == len(pycourse["students"]) == 22
    assert [{k: row[k] for k in plain[0]} for row in ours] == plain
    for row in ours:
        report = json.loads((pycourse["ours"] / "reports" / row["student_id"] / "ps1.json").read_text())
        assert row["needs_review"] == ("yes" if report.get("needs_review") else "no"), row


# Figures that differ from one run to the next (timings, memory, the worker's log): not part of the grade.
VOLATILE_GUARD = ("seconds", "cells_seconds", "overhead_seconds", "overhead_cpu_seconds", "kernel_peak_rss_kb",
                  "kernel_cpu_seconds")


def comparable(report: dict) -> dict:
    report = {k: v for k, v in report.items() if k not in ("log_tail", "stats")}
    report["guard"] = {nb: {k: v for k, v in g.items() if k not in VOLATILE_GUARD}
                       for nb, g in report.get("guard", {}).items()}
    return report


def differences(a, b, path="") -> list[str]:
    """Where two JSON values differ (for assertion messages)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{path}/{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {str(a)[:300]!r} != {str(b)[:300]!r}"]


def test_feedback_and_reports(pycourse):
    """feedback/ holds nbgrader's HTML plus the tracker table and figure; reports/ the per-cell verdicts."""
    ours = pycourse["ours"]
    for student in pycourse["students"]:
        report = json.loads((ours / "reports" / student / "ps1.json").read_text())
        assert report["student_id"] == student and report["assignment"] == "ps1"
        if student == "s17_malformed":
            assert report["status"] == "failed"
            assert "s17_malformed" in report["reason"] and "problem1.ipynb" in report["reason"]
            continue
        assert report["status"] == "graded"
        assert sorted(p.name for p in (ours / "feedback" / student / "ps1").glob("*.html")) == \
            (["problem1.html"] if student == "s16_missing_problem2" else ["problem1.html", "problem2.html"])
    report = json.loads((ours / "reports" / "s08_counter_wrong0" / "ps1.json").read_text())
    cells = {c["grade_id"]: c for nb in report["notebooks"] for c in nb["cells"]}
    assert set(cells) == {"test_squares", "test_mean", "test_mean_empty", "test_counter", "test_fizzbuzz",
                          "partial_fizzbuzz", "explain"}
    counter = cells["test_counter"]
    assert counter["points"] == 0 and counter["max_points"] == 1 and counter["passed"] is False
    assert "w must be updated and b left frozen" in counter["error"]
    (tracker,) = counter["tracker"]
    assert [(v["name"], v["verdict"]) for v in tracker["variables"]] == [("w", "updated"), ("b", "updated")]
    assert cells["test_squares"]["passed"] is True and cells["test_squares"]["error"] is None
    assert cells["explain"]["needs_manual_grade"] is True and cells["explain"]["passed"] is None
    assert report["score"] == 9 and report["max_score"] == 11
    html = (ours / "feedback" / "s08_counter_wrong0" / "ps1" / "problem1.html").read_text()
    assert 'class="pytracker"' in html                       # the tracker's table (text/html of the bundle)
    assert html.count("data:image/png;base64") == 1          # the figure drawn from the collected JSON
    assert "w must be updated and b left frozen" in html
    missing = json.loads((ours / "reports" / "s16_missing_problem2" / "ps1.json").read_text())
    assert any("problem2.ipynb is missing" in w for w in missing["warnings"])
    autograded = ours / "autograded" / "s00_correct" / "ps1"
    assert {p.name for p in autograded.glob("*.ipynb")} == {"problem1.ipynb", "problem2.ipynb"}


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`python -m autograder ARGV` in this process (what __main__ runs): exit status, stdout, stderr."""
    from autograder.cli import main

    capsys.readouterr()
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_rerun_skips_everything_already_recorded(pycourse, capsys):
    """A second run grades nothing new, keeps the gradebook, reports and grades.csv as they were, exits 0."""
    ours = pycourse["ours"]
    before = builders.gradebook_cells(ours, "ps1")
    reports = {p: p.read_bytes() for p in (ours / "reports").glob("*/ps1.json")}
    csv_before = read_csv(ours / "grades.csv")
    status, out, err = cli(capsys, "grade", "ps1", "--course-dir", str(ours), "--workers", "2")
    assert status == 0, err[-2000:]
    # the malformed submission is tried again (it may have been fixed); the 21 graded ones are skipped
    assert "graded 0, already graded 21, failed to grade 1" in out, out
    assert builders.gradebook_cells(ours, "ps1") == before
    assert {p: p.read_bytes() for p in (ours / "reports").glob("*/ps1.json") if "s17" not in str(p)} == \
        {p: b for p, b in reports.items() if "s17" not in str(p)}
    assert read_csv(ours / "grades.csv") == csv_before


class Processes:
    """Every process started from ``roots`` (and their children, grandchildren, ...) seen while the test polls:
    the test ends by checking that none of them is left."""

    def __init__(self):
        self.roots: list[subprocess.Popen] = []
        self.seen: dict[int, float] = {}    # pid -> create_time (a reused pid is another process)

    def start(self, cmd, **kwargs) -> subprocess.Popen:
        kwargs = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **kwargs}
        proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
        self.roots.append(proc)
        self.poll()
        return proc

    def poll(self) -> None:
        import psutil

        for root in self.roots:
            try:
                family = [psutil.Process(root.pid), *psutil.Process(root.pid).children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for proc in family:
                try:
                    self.seen.setdefault(proc.pid, proc.create_time())
                except psutil.NoSuchProcess:
                    pass

    def wait(self, what, condition, timeout: float):
        deadline = time.time() + timeout
        while not condition():
            assert time.time() < deadline, f"timed out waiting for {what}"
            self.poll()
            time.sleep(0.05)

    def alive(self) -> list[str]:
        import psutil

        left = []
        for pid, created in self.seen.items():
            try:
                proc = psutil.Process(pid)
                if proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE:
                    left.append(f"{pid} {' '.join(proc.cmdline())[:120]}")
            except psutil.NoSuchProcess:
                pass
        return left

    def stop(self) -> None:
        for proc in self.roots:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.roots:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _cover(path: Path) -> list[str]:
    """A command prefix that runs a program with ``path`` covered by an empty tmpfs (its own user and mount
    namespaces), or [] where user namespaces are unavailable."""
    prefix = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
              'mount -t tmpfs -o size=1m none "$0" && exec "$@"', str(path)]
    if not shutil.which("unshare"):
        return []
    probe = subprocess.run([*prefix, "test", "!", "-e", str(path / "submitted")], capture_output=True)
    return prefix if probe.returncode == 0 else []


def test_a_real_dask_cluster_survives_a_killed_worker(pycourse, tmp_path):
    """Dask's own command-line tools: `dask scheduler` and two `dask worker --nthreads 1`, separate processes, each
    worker in an empty folder of its own with the course directory out of its sight (covered by an empty tmpfs
    where user namespaces allow). Grading through --scheduler gives the local run's grades, reports and CSV rows;
    one worker killed (SIGKILL, with its nanny) while it grades costs nothing: the scheduler gives its submission
    to the other, and a rerun finds everything recorded once. No process the test started is left."""
    picked = ["s00_correct", "s05_mean_wrong0", "s08_counter_wrong0", "s09_counter_wrong1", "s14_half",
              "s17_malformed"]   # full marks, wrong answers, tracker verdicts, a failure
    root = shutil.copytree(pycourse["base"], tmp_path / "course", ignore=shutil.ignore_patterns("submitted"))
    for student in picked:
        shutil.copytree(pycourse["base"] / "submitted" / student, root / "submitted" / student)
    dask = str(Path(sys.executable).with_name("dask"))
    procs = Processes()
    try:
        home = tmp_path / "scheduler"
        home.mkdir()
        procs.start([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(home / "scheduler.json")], cwd=home, env=nbgrader_env())
        procs.wait("the scheduler", (home / "scheduler.json").exists, 300)
        time.sleep(0.2)
        address = json.loads((home / "scheduler.json").read_text())["address"]
        cover = _cover(root)
        workers = []
        for name in ("w1", "w2"):
            folder = tmp_path / name
            (folder / "tmp").mkdir(parents=True)
            env = {**nbgrader_env(), "TMPDIR": str(folder / "tmp"), "HOME": str(folder)}
            workers.append((folder, procs.start(
                [*cover, dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--name", name,
                 "--no-dashboard", "--local-directory", str(folder / "dask"), "--memory-limit", "0"],
                cwd=folder, env=env)))
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=300)
        for _, worker in workers:   # what each worker sees at the course directory's path (its mount namespace)
            assert (Path(f"/proc/{worker.pid}/root{root}") / "submitted").exists() == (not cover)

        grading = procs.start([*GRADE, "ps1", "--course-dir", str(root), "--scheduler", address, "--no-progress"],
                              env=nbgrader_env(), stdout=subprocess.PIPE, text=True)
        (w1_folder, w1), _ = workers
        procs.wait("worker w1 to start grading a submission",
                   lambda: any((w1_folder / "tmp").glob("grade-ps1-*")) or grading.poll() is not None, 600)
        assert grading.poll() is None, "the run ended before worker w1 graded anything"
        os.killpg(w1.pid, signal.SIGKILL)    # the worker, its nanny, and through them its template and kernel
        w1.wait()
        procs.wait("the grading run", lambda: grading.poll() is not None, 900)
        out = grading.stdout.read()
        assert grading.returncode == 0, out
        assert "graded 5, already graded 0, failed to grade 1" in out, out
        assert not (root / ".grading" / "ps1" / "logs").exists(), "the local worker pool was used"
        for student in picked:
            ours = json.loads((pycourse["ours"] / "reports" / student / "ps1.json").read_text())
            mine = json.loads((root / "reports" / student / "ps1.json").read_text())
            assert comparable(mine) == comparable(ours), (student, differences(comparable(mine), comparable(ours)))
        local = {k: v for k, v in builders.gradebook_cells(pycourse["ours"], "ps1").items() if k[0] in picked}
        assert builders.gradebook_cells(root, "ps1") == local   # raises on a duplicate grade
        rows = [r for r in read_csv(pycourse["ours"] / "grades.csv") if r["student_id"] in picked]
        assert read_csv(root / "grades.csv") == rows

        rerun = grade_cmd("ps1", root, "--scheduler", address, "--no-progress", timeout=600)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert "graded 0, already graded 5, failed to grade 1" in rerun.stdout, rerun.stdout
        assert builders.gradebook_cells(root, "ps1") == local and read_csv(root / "grades.csv") == rows
    finally:
        procs.stop()
    procs.wait("every process the test started to end", lambda: not procs.alive(), 30)


def test_resume_after_a_killed_run(pycourse, tmp_path):
    """SIGKILL the command (and its workers and kernels) mid-run; the rerun grades the rest, nothing twice, nothing lost."""
    picked = ["s00_correct", "s05_mean_wrong0", "s09_counter_wrong1", "s14_half"]
    root = shutil.copytree(pycourse["base"], tmp_path / "resume", ignore=shutil.ignore_patterns("submitted"))
    for student in picked:
        shutil.copytree(pycourse["base"] / "submitted" / student, root / "submitted" / student)
    proc = subprocess.Popen([*GRADE, "ps1", "--course-dir", str(root), "--workers", "2", "--no-progress"],
                            env=nbgrader_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if list((root / "reports").glob("*/ps1.json")):
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)   # the command alone: its workers, templates and kernels die with it (issue 20)
    proc.wait()
    recorded = {p.parent.name for p in (root / "reports").glob("*/ps1.json")}
    assert 1 <= len(recorded) < len(picked), recorded
    result = grade_cmd("ps1", root, "--workers", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"graded {len(picked) - len(recorded)}, already graded {len(recorded)}, failed to grade 0" \
        in result.stdout, result.stdout
    cells = builders.gradebook_cells(root, "ps1")   # raises on a duplicate grade
    expected = {k: v for k, v in builders.gradebook_cells(pycourse["ours"], "ps1").items() if k[0] in picked}
    assert cells == expected
    rows = read_csv(root / "grades.csv")
    assert rows == [r for r in read_csv(pycourse["ours"] / "grades.csv") if r["student_id"] in picked]
    for student in picked:
        ours = json.loads((pycourse["ours"] / "reports" / student / "ps1.json").read_text())
        mine = json.loads((root / "reports" / student / "ps1.json").read_text())
        assert comparable(mine) == comparable(ours), (student, differences(comparable(mine), comparable(ours)))
    for student in picked:   # no half-written folders left beside the recorded ones
        assert [p.name for p in (root / "autograded" / student).iterdir()] == ["ps1"]


def test_harness_errors_exit_non_zero(tmp_path, capsys):
    """Unknown assignment, missing course directory, no submissions: exit 2 with a message saying why."""
    status, out, err = cli(capsys, "grade", "no_such_assignment", "--course-dir", str(tmp_path))
    assert status == 2 and "cannot grade" in err and "no source notebooks for assignment 'no_such_assignment'" in err
    status, out, err = cli(capsys, "grade", "lesson01_variables", "--course-dir", str(tmp_path / "missing"))
    assert status == 2 and "does not exist" in err and str(tmp_path / "missing") in err
    status, out, err = cli(capsys, "grade", "lesson01_variables", "--course-dir", str(tmp_path))
    assert status == 2 and "no submissions" in err
    assert not (tmp_path / "gradebook.db").exists()
    # and through the real entry point, once
    result = grade_cmd("no_such_assignment", tmp_path)
    assert result.returncode == 2 and "no source notebooks" in result.stderr and not result.stdout


def _tracker_outputs(notebook: Path, grade_id: str) -> list[dict]:
    """The tracker JSON that the autograded notebook's cell published (what nbgrader executed)."""
    from autograder.grading.worker.collect import MIME_TYPE

    nb = nbformat.read(str(notebook), as_version=4)
    cell = cell_of(nb, grade_id)
    return [o["data"][MIME_TYPE] for o in cell.outputs if MIME_TYPE in o.get("data", {})]


def test_tensorflow_lesson_on_a_bare_grading_directory(tmp_path):
    """DIR holds only submitted/ (sources from solutions/, config from the repository): lesson01 graded.

    The rebinding mistake (`w = w - lr * grad`, from tests/lessons/test_lesson01_variables.py)
    fails the tracker's `expect(updated="w")`: its report holds the tracker's real verdicts
    (collected from the autograded outputs), its feedback the tracker table, the failed
    expectation and the figure.
    """
    assignment, notebook = "lesson01_variables", "lesson01_variables.ipynb"
    scratch = course.make_course(tmp_path / "scratch", [assignment])
    student = course.release_notebook(scratch, assignment, notebook)
    answers = course.solution_answers(course.source_notebook(scratch, assignment, notebook))
    rebinds = "def sgd_step(w, grad, lr):\n    w = w - lr * grad\n    return w"
    root = tmp_path / "grading"
    for name, nb in {"correct": course.answer(student, answers),
                     "rebinds_w": course.answer(student, {**answers, "sgd_step": rebinds}),
                     "empty": student}.items():
        course.submit(root, name, assignment, {notebook: nb})
    result = grade_cmd(assignment, root, "--workers", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "graded 3, already graded 0, failed to grade 0" in result.stdout, result.stdout
    assert "mean score 3.33 / 6 over 3 students" in result.stdout, result.stdout
    assert (root / "gradebook.db").is_file() and not (root / "source").exists()

    rows = {r["student_id"]: r for r in read_csv(root / "grades.csv")}
    assert {k: (float(r["score"]), float(r["max_score"])) for k, r in rows.items()} == \
        {"correct": (6, 6), "rebinds_w": (4, 6), "empty": (0, 6)}

    report = json.loads((root / "reports" / "rebinds_w" / f"{assignment}.json").read_text())
    assert report["status"] == "graded" and report["score"] == 4 and report["max_score"] == 6
    cells = {c["grade_id"]: c for nb in report["notebooks"] for c in nb["cells"]}
    assert {k: (c["points"], c["passed"]) for k, c in cells.items()} == {
        "correct_non_trainable_scale": (2, True), "test_watched_names_default": (1, True),
        "test_watched_names_unread": (1, True), "test_sgd_step_in_place": (0, False)}
    step = cells["test_sgd_step_in_place"]
    assert "TrackerAssertionError" in step["error"] and "expected updated, but it was replaced" in step["error"]
    assert "assign_sub" in step["error"]
    autograded = root / "autograded" / "rebinds_w" / assignment / notebook
    assert step["tracker"] == _tracker_outputs(autograded, "test_sgd_step_in_place")   # collected, not recomputed
    (verdict,) = step["tracker"]
    assert verdict["expectation"]["passed"] is False
    assert [(v["name"], v["verdict"]) for v in verdict["variables"]] == [("w", "replaced")]
    passed = cells["test_watched_names_default"]["tracker"]
    assert [t["expectation"]["passed"] for t in passed] == [True, True]   # visible and hidden test's expect()
    assert {v["name"]: v["verdict"] for v in passed[0]["variables"]} == {"a": "frozen", "b": "frozen"}

    html = (root / "feedback" / "rebinds_w" / assignment / "lesson01_variables.html").read_text()
    assert 'class="autograder-tracker"' in html and 'class="autograder-tracker-failed"' in html
    assert "expected updated, but it was replaced" in html
    figures = sum(1 for c in cells.values() for t in c["tracker"] if t["variables"])
    own = nbformat.read(str(autograded), as_version=4)
    own_pngs = sum("image/png" in o.get("data", {}) for c in own.cells for o in c.get("outputs", []))
    assert figures >= 4 and html.count("data:image/png;base64") == own_pngs + figures   # one figure per table

    empty = json.loads((root / "reports" / "empty" / f"{assignment}.json").read_text())
    assert all(c["passed"] is False and c["error"] for nb in empty["notebooks"] for c in nb["cells"])
    correct = json.loads((root / "reports" / "correct" / f"{assignment}.json").read_text())
    assert all(c["passed"] is True and c["error"] is None for nb in correct["notebooks"] for c in nb["cells"])

    # Each worker's template was forked by the command's one template server (TensorFlow imported once).
    templates = [json.loads((root / "reports" / s / f"{assignment}.json").read_text())["stats"]["template"]
                 for s in rows]
    assert {(t["origin"], t["server_refusal"]) for t in templates} == {("server", "")}, templates
    assert len({t["parent_pid"] for t in templates}) == 1


def test_the_grading_side_reads_the_tracker_display_without_tensorflow():
    """collect and figures use the tracker's own display module (MIME type, plot); the tracker package imports
    TensorFlow only for what needs it, so the grading side loads none."""
    code = ("import sys; from autograder.grading.worker import collect, figures; "
            "from autograder.tracker import display; "
            "assert collect.MIME_TYPE is display.MIME_TYPE and figures._display_module() is display; "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_figure_from_collected_json_uses_the_tracker_plot():
    from autograder.grading.worker.figures import figure_png, report_from_json

    data = {"summary": {"updated": 1, "frozen": 1}, "optimizer_iterations": {"opt": [0, 3]},
            "variables": [{"name": "dense/kernel", "verdict": "frozen", "trainable": False, "rel_change": 0,
                           "max_abs_delta": 0},
                          {"name": "dense/bias", "verdict": "updated", "trainable": True, "rel_change": "inf",
                           "max_abs_delta": 0.5}]}
    assert figure_png(data).startswith(b"\x89PNG")
    assert report_from_json(data).iterations_after == {"opt": 3}


def test_one_submission_is_a_callable_unit(pycourse):
    """grade_submission: plain data in, plain data out, no course directory needed."""
    from autograder.grading import SubmissionJob, grade_submission
    from autograder.grading.parent.course import read_tree

    base = pycourse["base"]
    job = SubmissionJob(assignment="ps1", student="s01_empty", course_id="pycourse",
                        config_py=(base / "nbgrader_config.py").read_bytes(),
                        source_files=read_tree(base / "source" / "ps1"),
                        template_gradebook=(pycourse["ours"] / ".grading" / "ps1" / "template_gradebook.db").read_bytes(),
                        submitted_files={"problem1.ipynb": b"not json"}, feedback=False)
    result = grade_submission(job)
    assert result.status == "failed" and "problem1.ipynb is not a valid notebook" in result.reason
    assert "s01_empty" in result.reason
    nb = nbformat.read(str(base / "submitted" / "s01_empty" / "ps1" / "problem1.ipynb"), as_version=4)
    job.submitted_files = {"problem1.ipynb": nbformat.writes(nb).encode()}
    result = grade_submission(job)
    assert result.status == "graded", result.reason
    assert {(g.notebook, g.name): g.auto_score for g in result.grades}[("problem1", "test_squares")] == 0
    assert any("problem2.ipynb is missing" in w for w in result.warnings)
