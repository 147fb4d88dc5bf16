"""Which processes a test session leaves behind (see tests/conftest.py): descendants of the pytest process, made a
child subreaper so that orphans come back to it, and orphans re-parented to init (where there is no subreaper) of
this checkout's Python running the grader's code, started during the session."""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
GRADER_CODE = ("autograder.grading", "multiprocessing.spawn", "multiprocessing.forkserver", "distributed.cli",
               "distributed.nanny", "autograder grade")


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    state: str
    start: int          # clock ticks after boot
    cmdline: str


def processes(with_cmdline: bool = True) -> dict[int, Proc]:
    """Every process on the machine (``with_cmdline=False``: without reading their command lines, cheaper)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes() if with_cmdline else b""
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        found[int(entry)] = Proc(int(entry), int(fields[1]), fields[0], int(fields[19]),
                                 cmdline.replace(b"\0", b" ").decode(errors="replace").strip())
    return found


def descendants(root: int, table: dict[int, Proc]) -> list[Proc]:
    children: dict[int, list[Proc]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc)
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child.pid)
    return out


def _now_ticks() -> int:
    with open("/proc/uptime") as fh:
        return int(float(fh.read().split()[0]) * os.sysconf("SC_CLK_TCK"))


class ProcessCheck:
    def __init__(self):
        self.me = os.getpid()
        self.started = 0
        self.before: set[int] = set()

    def start(self) -> None:
        """Become the subreaper of everything the session starts; note what was already running."""
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        self.started = _now_ticks()
        self.before = {p.pid for p in descendants(self.me, processes())}

    def _ours(self, table: dict[int, Proc]) -> list[Proc]:
        exempt = set(self.before) | {self.me}
        try:   # multiprocessing's resource tracker serves this process until it exits (it is not a grader process)
            from multiprocessing import resource_tracker
            exempt.add(resource_tracker._resource_tracker._pid or 0)
        except (ImportError, AttributeError):
            pass
        found = {p.pid: p for p in descendants(self.me, table)}
        python = sys.executable
        for proc in table.values():   # escaped the subreaper (where there is none): orphans, re-parented to init
            if proc.ppid == 1 and proc.start >= self.started and proc.cmdline.startswith(python) \
                    and any(code in proc.cmdline for code in GRADER_CODE):
                found.setdefault(proc.pid, proc)
        return [p for p in found.values() if p.pid not in exempt and p.state not in ("Z", "X")]

    def _reap(self) -> None:
        while True:   # zombies re-parented to us (we are their subreaper)
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def leftovers(self, grace: float = 3.0) -> list[Proc]:
        """Our processes still alive after ``grace`` seconds (the grader's own promise is 2 s)."""
        deadline = time.monotonic() + grace
        while True:
            self._reap()
            left = self._ours(processes())
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    def kill(self, procs: list[Proc]) -> None:
        """SIGKILL those of ``procs`` that are still our descendants (an orphan re-parented to init may be another
        session's: it is reported, not killed)."""
        ours = {p.pid for p in descendants(self.me, processes())}
        for proc in procs:
            if proc.pid not in ours:
                continue
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
        self._reap()
