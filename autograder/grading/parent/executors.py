"""Where submissions are graded: a local pool of worker processes, or an existing Dask cluster.

Both take an iterable of jobs (built lazily, a bounded number in flight), each under its key
``(assignment, student)``, and yield ``(key, SubmissionResult)`` as results arrive; a worker that
dies yields a failed result for its submission and grading goes on with a fresh worker.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Callable, Iterable, Iterator

from ..worker.job import SubmissionResult

JobKey = tuple[str, str]                                    # (assignment, student)
JobSource = Iterable[tuple[JobKey, Callable[[], object]]]   # (key, build the SubmissionJob)


def _died(key: JobKey, err: BaseException) -> SubmissionResult:
    assignment, student = key
    return SubmissionResult(assignment, student, status="failed",
                            reason=f"student {student}: the worker grading it died or failed "
                                   f"({type(err).__name__}: {err})")


def _quiet_worker(log_dir: str | None) -> None:
    """Worker start-up: its stderr (and that of the kernels it starts) goes to a log file, not the terminal."""
    import os

    if log_dir:
        os.makedirs(log_dir, exist_ok=True)
        fd = os.open(os.path.join(log_dir, f"worker-{os.getpid()}.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(fd, 2)
        os.close(fd)


def _load_worker() -> None:
    """A worker's first task: load its modules (nbgrader's converters, nbconvert: seconds of imports)."""
    import nbgrader.converters  # noqa: F401

    from ..worker import pipeline  # noqa: F401


def local_pool(workers: int, log_dir: str | None = None) -> cf.ProcessPoolExecutor:
    """``workers`` processes (spawned: no state shared with the parent), started now: each loads the worker's
    modules while the parent is still preparing the course (the command's start-up overlaps theirs)."""
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_quiet_worker, initargs=(log_dir,))
    for _ in range(workers):   # each task finds no idle process, so each starts one
        pool.submit(_load_worker)
    return pool


def run_local(jobs: JobSource, workers: int, log_dir: str | None = None,
              pool: cf.ProcessPoolExecutor | None = None) -> Iterator[tuple[JobKey, SubmissionResult]]:
    """Grade on this machine with ``workers`` processes: ``pool`` (from :func:`local_pool`), or a new one."""
    from ..worker.pipeline import grade_submission   # the worker's entry point (run in the worker processes)

    pending = iter(jobs)

    def new_pool():
        return local_pool(workers, log_dir)

    pool = pool or new_pool()
    in_flight: dict[cf.Future, JobKey] = {}
    try:
        def fill():
            nonlocal pool
            while len(in_flight) < 2 * workers:
                try:
                    key, build = next(pending)
                except StopIteration:
                    return
                job = build()
                try:
                    future = pool.submit(grade_submission, job)
                except cf.process.BrokenProcessPool:   # a worker died while it loaded its modules
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = new_pool()
                    future = pool.submit(grade_submission, job)
                in_flight[future] = key

        fill()
        while in_flight:
            done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
            broken = False
            for future in done:
                key = in_flight.pop(future)
                try:
                    yield key, future.result()
                except cf.process.BrokenProcessPool as err:
                    broken = True
                    yield key, _died(key, err)
                except Exception as err:  # noqa: BLE001
                    yield key, _died(key, err)
            if broken:  # every other in-flight job of the dead pool is lost too: say so, go on with a new pool
                for future, key in list(in_flight.items()):
                    try:
                        yield key, future.result()
                    except Exception as err:  # noqa: BLE001
                        yield key, _died(key, err)
                in_flight.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
            fill()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def run_dask(jobs: JobSource, address: str) -> Iterator[tuple[JobKey, SubmissionResult]]:
    """Send the same work to an existing ``dask.distributed`` scheduler at ``address``.

    Jobs carry every file they need, so the workers need this package importable but no shared
    filesystem.  Run Dask workers with one thread each (``--nthreads 1``): nbgrader changes the
    working directory while it converts, so a worker process grades one submission at a time.
    """
    from distributed import Client, as_completed

    from ..worker.pipeline import grade_submission

    client = Client(address, timeout=30)
    try:
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
