"""Scratch folders in /tmp, named after the process that removes them, and the sweep of those a killed run left.

Each run makes folders in /tmp: the command's template-server socket (``agts-``), each worker's template home
(``agw-``), scratch course (``grade-<assignment>-``) and kernel jails (``agj-``). The process that made one
removes it when done; a run that is SIGKILLed (the out-of-memory killer, a lost session) cannot, and each such
run left about a dozen, up to half a megabyte each. Every such folder carries its maker's PID namespace and
process id in its name (``agj-4026531836_4242_k3j9x0qa``), so the next run on the machine (:func:`sweep`, at the
command's start, and on each Dask worker when a run connects to the cluster) removes those whose maker is gone,
and leaves alone any whose maker still runs (another course's grading, say) or that it cannot tell: another
user's, a name it did not make, or one made in another PID namespace (a container sharing /tmp, whose processes
this one cannot see).
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

# mkdtemp's random part: 8 characters of [a-z0-9_].
NAME = re.compile(r"^(agts|agw|agj|grade-.+)-(?P<namespace>\d+)_(?P<pid>\d+)_[a-z0-9_]{8}$")


def pid_namespace() -> int:
    """This process's PID namespace (the inode of /proc/self/ns/pid); 0 where there is none to read."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def make(prefix: str, dir: str | None = None) -> str:
    """A new private folder (mode 0700) named ``<prefix>-<PID namespace>_<this pid>_<random>``."""
    return tempfile.mkdtemp(prefix=f"{prefix}-{pid_namespace()}_{os.getpid()}_", dir=dir)


def _started_at(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch); None if there is no such process, or only its exit
    status is left (a zombie its parent has not reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()
        if fields[0] in ("Z", "X"):
            return None
        ticks = int(fields[19])
        with open("/proc/stat") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def abandoned(path: Path) -> bool:
    """Whether ``path`` is a scratch folder of this user, made in this PID namespace, whose maker is gone: no process
    has its pid, or the one that has it started after the folder last changed (the pid was reused)."""
    match = NAME.match(path.name)
    if not match or int(match["namespace"]) != pid_namespace():
        return False
    try:
        info = path.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return False
    started = _started_at(int(match["pid"]))
    return started is None or started > info.st_ctime + 1   # +1: the clock tick's rounding


def sweep(roots: tuple[str, ...] | None = None) -> list[str]:
    """Remove the abandoned scratch folders in ``roots`` (the temporary folder and /tmp); the paths removed."""
    if not pid_namespace():   # no way to tell a live maker from a dead one: leave everything
        return []
    removed = []
    for root in dict.fromkeys(roots or (tempfile.gettempdir(), "/tmp")):
        try:
            entries = list(os.scandir(root))
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            if abandoned(path):
                shutil.rmtree(path, ignore_errors=True)
                if not path.exists():
                    removed.append(str(path))
    return removed
