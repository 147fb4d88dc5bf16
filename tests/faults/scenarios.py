"""Faults injected into real grading runs, at points drawn from a seeded random generator (a failure names its seed
and reproduces with ``FAULT_SEED=N``).  Shared by ``tests/faults`` (which assert every figure is 0) and
``benchmarks/fault_matrix.py`` (which prints the matrix over several seeds).

Each scenario returns a :class:`Outcome`: how many faults it injected, whether every run ended as it should
(``survived``), and what was lost: grades (a student with no graded report, or a report whose score the gradebook
does not hold), orphans (processes of a run alive 2 s after it ended), duplicate gradebook rows.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "grading")]
import builders  # noqa: E402
from process_check import descendants, processes  # noqa: E402

from autograder.nbgrader_runner import nbgrader_env  # noqa: E402

GRADE = [sys.executable, "-m", "autograder", "grade", "ps1"]
SEED = int(os.environ.get("FAULT_SEED", "20"))
STUDENTS = ("s00_correct", "s01_empty", "s14_half")
RUN_TIMEOUT = 900


@dataclass
class Outcome:
    fault: str
    seed: int
    injected: int = 0
    runs: int = 0
    survived: int = 0
    grades_lost: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)   # each run's wall time

    def check(self, ok: bool, note: str) -> None:
        self.runs += 1
        self.survived += bool(ok)
        if not ok:
            self.notes.append(note)

    @property
    def clean(self) -> bool:
        return self.survived == self.runs and not (self.grades_lost or self.orphans or self.duplicates)

    def __str__(self) -> str:
        return (f"{self.fault} (seed {self.seed}): injected {self.injected}, runs survived {self.survived}/{self.runs}, "
                f"run seconds {self.seconds}, "
                f"grades lost {self.grades_lost}, orphans {self.orphans}, duplicate rows {self.duplicates}; "
                + " | ".join(self.notes))


# -- the course ----------------------------------------------------------------------------------------------
def make_course(root: Path, base: Path | None = None) -> Path:
    """A plain-Python nbgrader course (tests/grading/fixtures/pycourse) with STUDENTS' submissions of ps1."""
    if base is not None:
        return Path(shutil.copytree(base, root))
    builders.make_pycourse(root)
    builders.pycourse_submissions(root)
    for folder in (root / "submitted").iterdir():
        if folder.name not in STUDENTS:
            shutil.rmtree(folder)
    return root


def resubmit(root: Path, student: str) -> None:
    """A late resubmission: the student's problem1 now has the correct answers."""
    import nbformat

    from autograder import nbgrader_course

    release = nbformat.read(str(root / "release" / "ps1" / "problem1.ipynb"), as_version=4)
    answers = {k: builders.GOOD[k] for k in ("squares", "mean", "counter")}
    answers["squares"] += f"\n# resubmitted {time.time()}"   # never the same bytes as before
    target = root / "submitted" / student / "ps1" / "problem1.ipynb"
    tmp = target.with_suffix(".new")
    nbformat.write(nbgrader_course.answer(release, answers), str(tmp))
    os.replace(tmp, target)


# -- a run of the command, watched ---------------------------------------------------------------------------
class Run:
    """``python -m autograder grade ps1`` on ``root``, as a child of this process (its own process group, so
    a signal meant for it alone reaches it alone)."""

    def __init__(self, root: Path, *extra: str):
        self.root = root
        # Output to files: a pipe nobody reads while the run goes on could fill up and stall it.
        self._out, self._err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen([*GRADE, "--course-dir", str(root), "--workers", "2", "--no-progress", *extra],
                                     env=nbgrader_env(), stdout=self._out, stderr=self._err, start_new_session=True)
        self.seen: set[int] = set()   # every process of the run's tree seen while it ran
        self.started = time.monotonic()
        self._snapped = 0.0
        self.out = self.err = ""

    def snapshot(self, every: float = 0.5) -> None:
        """Note the run's process tree (at most every ``every`` seconds: reading /proc costs CPU)."""
        if time.monotonic() - self._snapped < every:
            return
        self._snapped = time.monotonic()
        self.seen |= {p.pid for p in descendants(self.proc.pid, processes(with_cmdline=False))}

    def running(self) -> dict[int, tuple[str, str]]:
        """Which submission each worker is grading now (the pool's markers)."""
        folder = self.root / ".grading" / "ps1" / "logs" / "running"
        found = {}
        for marker in folder.glob("*") if folder.is_dir() else []:
            try:
                found[int(marker.name)] = tuple(json.loads(marker.read_text()))
            except (OSError, ValueError):
                pass
        return found

    def stderr_so_far(self) -> str:
        return os.pread(self._err.fileno(), 1 << 20, 0).decode(errors="replace")

    def reports(self) -> int:
        return len(list((self.root / "reports").glob("*/ps1.json")))

    def wait_until(self, condition, timeout: float = RUN_TIMEOUT) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            self.snapshot()
            if condition():
                return True
            time.sleep(0.05)
        return False

    def finish(self, timeout: float = RUN_TIMEOUT) -> int:
        while self.proc.poll() is None and timeout > 0:
            self.snapshot()
            time.sleep(0.1)
            timeout -= 0.1
        self.proc.wait(timeout=max(timeout, 1))
        self._out.seek(0)
        self._err.seek(0)
        self.out, self.err = self._out.read(), self._err.read()
        self._out.close()
        self._err.close()
        self.seconds = time.monotonic() - self.started
        return self.proc.returncode

    def orphans(self, grace: float = 2.0) -> list[str]:
        """Processes of this run's tree still alive ``grace`` seconds after the command ended."""
        time.sleep(grace)
        alive = processes()
        return [f"{pid}: {alive[pid].cmdline[:120]}" for pid in sorted(self.seen)
                if pid in alive and alive[pid].state not in ("Z", "X")]


@contextmanager
def gradebook_locked(db_path: Path, seconds: float | None = None):
    """Another program (formgrader, say) holds a write transaction on the gradebook: for ``seconds`` from
    entering, or until the block ends."""
    release = threading.Event()
    held = threading.Event()

    def hold():
        with closing(sqlite3.connect(db_path, timeout=30, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE student SET first_name = first_name")
            held.set()
            release.wait(seconds)
            db.execute("ROLLBACK")

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    held.wait(30)
    try:
        yield
    finally:
        release.set()
        thread.join(30)


# -- what a run left -----------------------------------------------------------------------------------------
def integrity(db_path: Path) -> str:
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def reports(root: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in (root / "reports").glob("*/ps1.json")}


def duplicate_rows(root: Path) -> list[str]:
    with closing(sqlite3.connect(f"file:{root / 'gradebook.db'}?mode=ro", uri=True)) as db:
        checks = {"grade": "SELECT notebook_id, cell_id, COUNT(*) FROM grade GROUP BY notebook_id, cell_id",
                  "comment": "SELECT notebook_id, cell_id, COUNT(*) FROM comment GROUP BY notebook_id, cell_id",
                  "notebook": "SELECT assignment_id, notebook_id, COUNT(*) FROM submitted_notebook "
                              "GROUP BY assignment_id, notebook_id",
                  "submission": "SELECT student_id, assignment_id, COUNT(*) FROM submitted_assignment "
                                "GROUP BY student_id, assignment_id"}
        found = [f"{what} {row}" for what, sql in checks.items()
                 for row in db.execute(sql + " HAVING COUNT(*) > 1").fetchall()]
    return found


def lost_grades(root: Path) -> list[str]:
    """Students not graded in the end, or whose report's score the gradebook does not hold."""
    from nbgrader.api import Gradebook

    lost = []
    found = reports(root)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "pycourse") as gb:
        for student in STUDENTS:
            report = found.get(student)
            if not report or report["status"] != "graded":
                lost.append(f"{student}: {report and report['status']}")
                continue
            submission = gb.find_submission("ps1", student)
            if abs(submission.score - report["raw_score"]) > 1e-9:
                lost.append(f"{student}: gradebook {submission.score} != report {report['raw_score']}")
    return lost


class LockHolder:
    """Another program takes the gradebook's write lock (:meth:`take`) and lets it go later (:meth:`let_go`)."""

    def __init__(self, db_path: Path):
        self.db_path = db_path
        self._release = threading.Event()
        self._thread: threading.Thread | None = None
        self.taken_at = 0.0

    def take(self) -> None:
        held = threading.Event()

        def hold():
            with gradebook_locked(self.db_path):
                held.set()
                self._release.wait()

        self._thread = threading.Thread(target=hold, daemon=True)
        self._thread.start()
        held.wait(30)
        self.taken_at = time.monotonic()

    def let_go(self) -> None:
        self._release.set()
        if self._thread is not None:
            self._thread.join(30)


# -- the scenarios -------------------------------------------------------------------------------------------
def workers_resubmission_busy_kill(root: Path, seed: int = SEED) -> Outcome:
    """Three runs on one course.  1: workers SIGKILLed mid-submission (one student twice: reported failed; one
    once: retried), a resubmission landing while it is graded, another program holding the gradebook for a while
    at a random moment (recording waits).  2: the command itself killed (SIGKILL, SIGTERM or SIGHUP)
    mid-submission.  3: the rerun completes.  (A gradebook held for good: ``test_faults``, on the recorder.)"""
    rng = random.Random(seed)
    out = Outcome("worker killed / resubmitted mid-run / gradebook busy / command killed", seed)
    twice, once, changed = rng.sample(STUDENTS, 3)
    lock_after = rng.randint(0, 1)
    db = root / "gradebook.db"

    # 1 -----------------------------------------------------------------------------------------------------
    run = Run(root, "--no-feedback")   # (feedback pages: the disk-full scenario writes them)
    kills, killed, resubmitted, lock = {twice: 2, once: 1}, set(), False, None
    while run.proc.poll() is None:
        run.snapshot()
        running = run.running()
        if lock is not None and "is locked by another program" in run.stderr_so_far():
            lock.let_go()   # the recorder found the gradebook held and said so: let it go on
        for pid, (_, student) in running.items():
            if kills.get(student) and pid not in killed:
                run.snapshot(every=0)
                time.sleep(rng.uniform(0, 0.3))
                try:
                    os.kill(pid, signal.SIGKILL)   # as the out-of-memory killer does
                    killed.add(pid)
                    kills[student] -= 1
                    out.injected += 1
                except ProcessLookupError:
                    pass
            if student == changed and not resubmitted:
                resubmit(root, student)
                resubmitted = True
                out.injected += 1
        if lock is None and run.reports() >= lock_after:
            lock = LockHolder(db)
            lock.take()
            out.injected += 1
        time.sleep(0.05)
    code = run.finish()
    if lock is not None:
        lock.let_go()
    first = reports(root)
    out.orphans += run.orphans()
    out.seconds.append(round(run.seconds, 1))
    failed = first.get(twice, {})
    out.check(code == 0 and failed.get("status") == "failed" and twice in failed.get("reason", "")
              and "SIGKILL" in failed.get("reason", "") and not kills.get(twice),
              f"run 1: exit {code}, {twice} (killed twice): {failed.get('status')} {failed.get('reason', '')[:300]}; "
              f"kills left {kills}; stderr {run.err[-800:]}")
    out.check(first.get(once, {}).get("status") == "graded", f"run 1: {once} (killed once) not graded on its retry")
    out.check(resubmitted and any("changed while it was graded" in w for w in first.get(changed, {}).get("warnings", [])),
              f"run 1: {changed} resubmitted mid-run, but its report has no warning (resubmitted: {resubmitted})")
    out.check(lock is None or "is locked by another program" in run.err,
              f"run 1: the gradebook was held, no waiting message: {run.err[-500:]}")
    out.duplicates += duplicate_rows(root)

    # 2 -----------------------------------------------------------------------------------------------------
    sig = rng.choice([signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
    run = Run(root, "--no-feedback")
    if run.wait_until(lambda: run.running()):
        time.sleep(rng.uniform(0, 1.0))
        run.snapshot(every=0)
        run.proc.send_signal(sig)
        out.injected += 1
    run.finish()
    out.orphans += run.orphans()
    out.seconds.append(round(run.seconds, 1))
    out.check(integrity(db) == "ok", f"run 2 (killed by {sig.name}): gradebook integrity {integrity(db)}")
    out.duplicates += duplicate_rows(root)

    # 3 -----------------------------------------------------------------------------------------------------
    run = Run(root, "--no-feedback")
    code = run.finish()
    out.orphans += run.orphans()
    out.seconds.append(round(run.seconds, 1))
    final = reports(root)
    out.check(code == 0 and "failed to grade 0" in run.out, f"run 3: exit {code}: {run.out[-400:]} {run.err[-400:]}")
    out.check(final.get(changed, {}).get("submission_digest") != first.get(changed, {}).get("submission_digest")
              and not final.get(changed, {}).get("warnings"),
              f"run 3: {changed}'s new version was not regraded")
    out.grades_lost += lost_grades(root)
    out.duplicates += duplicate_rows(root)
    return out


def damaged_gradebook(root: Path, seed: int = SEED) -> Outcome:
    """``gradebook.db`` truncated, replaced by text, emptied: refused with a message naming it, left untouched."""
    from autograder.grading.parent.command import grade_assignments
    from autograder.grading.parent.course import GradingError

    rng = random.Random(seed)
    out = Outcome("damaged gradebook.db", seed)
    good = (root / "gradebook.db").read_bytes()
    damages = {"truncated": good[:rng.randint(100, len(good) - 4096)], "not a database": b"gradebook\n" * 50,
               "empty": b""}
    for what, data in damages.items():
        (root / "gradebook.db").write_bytes(data)
        out.injected += 1
        try:
            grade_assignments(["ps1"], root, workers=1, progress=False)
            message = ""
        except GradingError as err:
            message = str(err)
        out.check(str(root / "gradebook.db") in message and "damaged" in message
                  and (root / "gradebook.db").read_bytes() == data,
                  f"{what}: {message or 'no error'}")
    (root / "gradebook.db").write_bytes(good)
    return out


def disk_full(root: Path, seed: int = SEED) -> Outcome:
    """Run in a user + mount namespace (``unshare -Urm``): the course on a small tmpfs, filled up to a random
    number of bytes left, one student resubmitted; the run stops with a message naming the file; the gradebook,
    grades.csv and the other reports are intact; once space is freed the rerun grades everything once."""
    rng = random.Random(seed)
    out = Outcome("disk full while recording", seed)
    mount = root.parent / f"{root.name}-tmpfs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "none", str(mount)], check=True)
    course = Path(shutil.copytree(root, mount / "course"))
    resubmitted = rng.sample(STUDENTS, 1)
    for student in resubmitted:
        resubmit(course, student)
    kept = [s for s, r in reports(course).items() if s not in resubmitted and r["status"] == "graded"]
    before = {"csv": (course / "grades.csv").read_bytes(),
              "reports": {s: (course / "reports" / s / "ps1.json").read_bytes() for s in kept},
              "rows": {k: v for k, v in builders.gradebook_cells(course).items() if k[0] in kept}}
    free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    leave = rng.randint(0, 300_000)   # bytes left: the template gradebook (150 kB), then the student's ~340 kB
    filler = mount / "filler"
    with open(filler, "wb") as fh:
        try:
            fh.write(b"\0" * max(0, free - leave))
        except OSError:
            pass
    run = Run(course, "--workers", "1")
    code = run.finish()
    out.orphans += run.orphans()
    out.seconds.append(round(run.seconds, 1))
    out.injected += 1
    if code == 0:
        out.check(False, f"{leave} bytes left were enough: no write failed (the fault was not injected)")
    else:
        out.check(code == 2 and ("No space left on device" in run.err or "disk is full" in run.err),
                  f"full disk ({leave} bytes left): exit {code}, stderr {run.err[-600:]}")
    reports_now = {s: (course / "reports" / s / "ps1.json").read_bytes() for s in kept}
    out.check(integrity(course / "gradebook.db") == "ok" and (course / "grades.csv").read_bytes() == before["csv"]
              or code == 0, "full disk: gradebook.db or grades.csv changed")
    out.check(reports_now == before["reports"], "full disk: an earlier report changed")
    out.check({k: v for k, v in builders.gradebook_cells(course).items() if k[0] in kept} == before["rows"],
              "full disk: earlier grades changed in the gradebook")
    left = [str(p.relative_to(course)) for p in course.rglob(".*") if p.name.endswith((".tmp", ".new", ".old"))]
    out.check(not left, f"full disk: half-written files left: {left}")
    filler.unlink()
    run = Run(course, "--workers", "1")
    code = run.finish()
    out.orphans += run.orphans()
    out.seconds.append(round(run.seconds, 1))
    final = reports(course)
    out.check(code == 0 and all(final[s]["submission_digest"] != json.loads(root.joinpath(
        "reports", s, "ps1.json").read_text())["submission_digest"] for s in resubmitted),
        f"after freeing space: exit {code}, {run.out[-300:]} {run.err[-300:]}")
    out.grades_lost += lost_grades(course)
    out.duplicates += duplicate_rows(course)
    return out


def can_make_namespaces() -> str:
    """'' when ``unshare -Urm`` can mount a tmpfs here; otherwise why not."""
    if not shutil.which("unshare"):
        return "util-linux's unshare is not installed"
    probe = subprocess.run(["unshare", "-Urm", "sh", "-c", "mount -t tmpfs -o size=1m none /mnt"],
                           capture_output=True, text=True)
    if probe.returncode:
        return f"user namespaces are not available here ({probe.stderr.strip()[:200]})"
    return ""


def main(argv: list[str]) -> int:
    """``python scenarios.py disk_full ROOT SEED OUT``: a scenario run in another process (the namespace),
    its Outcome written to OUT as JSON."""
    name, root, seed, dest = argv
    outcome = globals()[name](Path(root), int(seed))
    Path(dest).write_text(json.dumps(outcome.__dict__))
    return 0


def in_namespace(name: str, root: Path, seed: int = SEED) -> Outcome:
    """Run scenario ``name`` inside ``unshare -Urm`` (a user and mount namespace: unprivileged CI can mount a tmpfs)."""
    dest = root.parent / f"{root.name}-{name}.json"
    proc = subprocess.run(["unshare", "-Urm", sys.executable, __file__, name, str(root), str(seed), str(dest)],
                          capture_output=True, text=True, env=nbgrader_env(), timeout=RUN_TIMEOUT * 2)
    if proc.returncode or not dest.exists():
        out = Outcome(name, seed)
        out.check(False, f"the scenario crashed: {proc.stdout[-1500:]} {proc.stderr[-3000:]}")
        return out
    return Outcome(**json.loads(dest.read_text()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
