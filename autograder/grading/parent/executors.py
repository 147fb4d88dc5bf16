"""Where submissions are graded: a local pool of worker processes, or an existing Dask cluster.

Both take an iterable of jobs (built lazily, a bounded number in flight), each under its key
``(assignment, student)``, and yield ``(key, SubmissionResult)`` as results arrive.  A local worker that
dies mid-submission (the out-of-memory killer) costs no one else's grade: the submission it was grading is
tried once more on a fresh worker, then reported failed with the cause (:func:`run_local`); Dask retries a
task whose worker died by its own rule (``distributed.scheduler.allowed-failures``), then reports
``KilledWorker``.  Every local worker dies with the parent, even when the parent is SIGKILLed.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..worker.job import SubmissionResult

JobKey = tuple[str, str]                                    # (assignment, student)
JobSource = Iterable[tuple[JobKey, Callable[[], object]]]   # (key, build the SubmissionJob)


def _died(key: JobKey, err: BaseException | str) -> SubmissionResult:
    assignment, student = key
    cause = err if isinstance(err, str) else f"{type(err).__name__}: {err}"
    return SubmissionResult(assignment, student, status="failed",
                            reason=f"student {student}: the worker grading it died or failed ({cause})")


def _start_worker(log_dir: str | None, parent_pid: int, template_server: str | None = None) -> None:
    """Worker start-up: it dies with the parent, however the parent dies (its warm template and kernels die
    with it in turn); its stderr (and that of the kernels it starts) goes to a log file, not the terminal; it
    asks the machine's template server at ``template_server`` (a socket's path) for its template first."""
    import os

    from ..protocol import TEMPLATE_SERVER_ENV, die_with_parent

    die_with_parent(parent_pid)
    if template_server:
        os.environ[TEMPLATE_SERVER_ENV] = template_server
    if log_dir:
        os.makedirs(log_dir, exist_ok=True)
        fd = os.open(os.path.join(log_dir, f"worker-{os.getpid()}.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(fd, 2)
        os.close(fd)


def grade_marked(job, key: JobKey, running_dir: str) -> SubmissionResult:
    """In the worker: grade ``job`` with ``running_dir/<worker pid>`` naming it meanwhile, so that the parent
    knows which submission a worker was grading when it died (the marker stays behind a killed worker)."""
    import json
    import os

    from ..worker.pipeline import grade_submission

    marker = os.path.join(running_dir, str(os.getpid()))
    try:
        with open(marker, "w") as fh:
            json.dump(list(key), fh)
    except OSError:   # a full disk: grading goes on, a death is then blamed on every submission in flight
        marker = None
    try:
        return grade_submission(job)
    finally:
        if marker:
            os.unlink(marker)


def _cause(exitcode: int | None) -> str:
    """How a worker process ended, in words (its exit code as multiprocessing gives it)."""
    import signal

    if exitcode is None:
        return "it died"
    if exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else f"signal {-exitcode}"
        oom = " (as the out-of-memory killer does)" if exitcode == -signal.SIGKILL else ""
        return f"the worker process was killed by {name}{oom}"
    return f"the worker process exited with status {exitcode}"


def _running(running_dir: Path) -> dict[int, JobKey]:
    """The markers left by :func:`grade_marked`: worker pid -> the submission it was grading."""
    import json

    found = {}
    for marker in running_dir.iterdir():
        try:
            found[int(marker.name)] = tuple(json.loads(marker.read_text()))
        except (OSError, ValueError):
            continue
        marker.unlink(missing_ok=True)
    return found


def _load_worker() -> None:
    """A worker's first task: load its modules (nbgrader's converters, nbconvert: seconds of imports)."""
    import nbgrader.converters  # noqa: F401

    from ..worker import pipeline  # noqa: F401


def local_pool(workers: int, log_dir: str | None = None, template_server: str | None = None
               ) -> cf.ProcessPoolExecutor:
    """``workers`` processes (spawned: no state shared with the parent; each dies with this process), started
    now: each loads the worker's modules while the parent is still preparing the course (the command's
    start-up overlaps theirs); their templates come from ``template_server`` (see :mod:`.template_server`)."""
    import os

    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_start_worker, initargs=(log_dir, os.getpid(), template_server))
    for _ in range(workers):   # each task finds no idle process, so each starts one
        pool.submit(_load_worker)
    return pool


def run_local(jobs: JobSource, workers: int, log_dir: str | None = None, attempts: int = 2,
              pool: cf.ProcessPoolExecutor | None = None, template_server: str | None = None
              ) -> Iterator[tuple[JobKey, SubmissionResult]]:
    """Grade on this machine with ``workers`` processes: ``pool`` (from :func:`local_pool`), or a new one
    (fresh ones, after a worker died, also ask ``template_server`` for their templates).

    A worker that dies (the out-of-memory killer, a crash) breaks the pool: the submission it was grading is
    graded again on a fresh pool, up to ``attempts`` times in all, then reported failed with the cause; the
    other submissions in flight (their workers stopped by the pool) are graded again without counting."""
    import os
    import shutil
    import tempfile
    from collections import deque

    pending = iter(jobs)
    retry: deque[tuple[JobKey, object]] = deque()
    tries: dict[JobKey, list[str]] = {}          # the causes of each death of a worker grading it
    if log_dir:   # LOG_DIR/running/<worker pid>: which submission each worker is grading (a test watches it)
        running_dir = Path(log_dir) / "running"
        shutil.rmtree(running_dir, ignore_errors=True)   # left by a killed run
        running_dir.mkdir(parents=True, exist_ok=True)
    else:
        running_dir = Path(tempfile.mkdtemp(prefix="grading-running-"))
    scratch = str(running_dir)

    def new_pool():
        return local_pool(workers, log_dir, template_server)

    pool = pool or new_pool()
    in_flight: dict[cf.Future, tuple[JobKey, object]] = {}
    load_breaks = 0
    try:
        def fill():
            nonlocal pool, load_breaks
            while len(in_flight) < 2 * workers:
                if retry:
                    key, job = retry.popleft()
                else:
                    try:
                        key, build = next(pending)
                    except StopIteration:
                        return
                    job = build()
                try:
                    future = pool.submit(grade_marked, job, key, scratch)
                except cf.process.BrokenProcessPool:
                    retry.appendleft((key, job))
                    if in_flight:      # the wait below sees the break and blames the worker that died
                        return
                    load_breaks += 1     # a worker died loading its modules: the worker's environment is broken
                    if load_breaks > 3:  # when it happens every time
                        raise
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = new_pool()
                    continue
                in_flight[future] = (key, job)

        fill()
        while in_flight:
            done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
            broken = False
            for future in done:
                key, job = in_flight.pop(future)
                try:
                    yield key, future.result()
                except cf.process.BrokenProcessPool:
                    broken = True
                    retry.append((key, job))
                except Exception as err:  # noqa: BLE001
                    yield key, _died(key, err)
            if broken:
                retry.extend(in_flight.values())   # every other job of the dead pool: its future fails too
                in_flight.clear()
                yield from _after_break(pool, running_dir, retry, tries, attempts)
                pool = new_pool()
            fill()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(scratch, ignore_errors=True)


def _after_break(pool: cf.ProcessPoolExecutor, running_dir: Path, retry, tries: dict[JobKey, list[str]],
                 attempts: int) -> Iterator[tuple[JobKey, SubmissionResult]]:
    """A worker of ``pool`` died: blame the submission it was grading (one more try, or failed after
    ``attempts``), leave the others in ``retry`` as they are.  The pool stops its other workers with SIGTERM,
    so the one that died of something else is the culprit."""
    import signal

    processes = dict(pool._processes or {})   # pid -> Process (the executor's own table; exit codes after join)
    pool.shutdown(wait=True, cancel_futures=True)
    running = _running(running_dir)
    culprits = {pid: key for pid, key in running.items()
                if pid in processes and processes[pid].exitcode != -signal.SIGTERM}
    if not culprits:   # not told apart (the table is gone): every submission that was being graded is suspect
        culprits = running
    blamed = {key: _cause(processes[pid].exitcode if pid in processes else None) for pid, key in culprits.items()}
    for key, job in list(retry):
        if key not in blamed:
            continue
        tries.setdefault(key, []).append(blamed[key])
        if len(tries[key]) >= attempts:
            retry.remove((key, job))
            causes = "; ".join(f"try {i + 1}: {c}" for i, c in enumerate(tries[key]))
            yield key, _died(key, f"graded {len(tries[key])} times, each on a fresh worker, and each time "
                                  f"the worker died: {causes}")


def run_dask(jobs: JobSource, address: str) -> Iterator[tuple[JobKey, SubmissionResult]]:
    """Send the same work to an existing ``dask.distributed`` scheduler at ``address``.

    Jobs carry every file they need, so the workers need this package importable but no shared
    filesystem.  Run Dask workers with one thread each (``--nthreads 1``): nbgrader changes the
    working directory while it converts, so a worker process grades one submission at a time.
    """
    from distributed import Client, as_completed

    from ..worker import scratch
    from ..worker.pipeline import grade_submission

    client = Client(address, timeout=30)
    try:
        client.run(scratch.sweep, on_error="ignore")   # what killed runs left on the workers' machines
        slots = max(2, 2 * sum(client.nthreads().values()))
        pending = iter(jobs)
        keys: dict[str, JobKey] = {}

        def submit():
            try:
                key, build = next(pending)
            except StopIteration:
                return None
            future = client.submit(grade_submission, build(), pure=False, retries=0)
            keys[future.key] = key
            return future

        first = [f for f in (submit() for _ in range(slots)) if f is not None]
        completed = as_completed(first)
        for future in completed:
            key = keys.pop(future.key)
            try:
                yield key, future.result()
            except Exception as err:  # noqa: BLE001 - worker died, pickling failed, ...
                yield key, _died(key, err)
            future.release()
            nxt = submit()
            if nxt is not None:
                completed.add(nxt)
    finally:
        client.close()
