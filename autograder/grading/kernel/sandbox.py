"""Starting a grading kernel in a sandbox: its own namespaces, a private filesystem view, limits.

Every grading kernel takes one path, :func:`run_kernel`: :func:`enter` the sandbox, then the guard
(:mod:`.guard`) and ipykernel.  A cold kernel is the command ``python -P -m
autograder.grading.kernel.sandbox -f CONNECTION_FILE`` (:func:`main`, started by
:mod:`autograder.grading.worker.guarded_execute`, the profile in ``AUTOGRADER_SANDBOX``); a warm kernel is
forked from a template that has already imported the heavy modules (:mod:`.template`) and takes the same path.

:func:`enter` sets the resource limits and, where Linux namespaces are available, makes them with system
calls (``unshare(2)``, ``mount(2)``, ``prctl(2)``, ``capset(2)``: no ``unshare``/``mount``/``setpriv``
process, each of which cost a fork and an exec), still before any student code:

* a fresh, size-limited tmpfs on ``/tmp`` and ``/dev/shm`` (other submissions' scratch folders,
  the grading worker's files vanish), with the kernel's own *jail* folder bound back in;
* a tmpfs over every path of the profile's ``hide`` list (the course directory with the
  gradebook and every student's submission, the repository's ``solutions/`` and ``.git``, the
  home directory; where the Python installation lives under one, it alone is bound back);
* the whole filesystem re-mounted read-only except the jail and the new tmpfs;
* no network: a new network namespace with no interface up (the kernel talks to the worker
  over Unix sockets in the jail);
* a new PID namespace: the kernel cannot see or signal the grader, and when the kernel's process
  tree is killed, everything it started dies with it (the first process of the namespace is killed
  with the process that waits for it);
* then every capability is dropped (bounding set, inheritable and ambient sets, no new privileges), so
  the student's code cannot undo any of it.

Where namespaces are not available (``unshare`` missing or user namespaces disabled), the
kernel runs with the limits only, and :mod:`.guard` reports (rather than prevents) reads of the
hidden paths made through Python; see the README, "Grading safely".
"""
from __future__ import annotations

import functools
import os
import resource
import signal
import sys

from ..protocol import Profile, die_with_parent

def _set_limits(profile: Profile) -> None:
    def cap(which, value):
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_AS, profile.memory_mb * 1024 * 1024)
    cap(resource.RLIMIT_FSIZE, profile.file_mb * 1024 * 1024)
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_CPU, profile.cpu_seconds)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails with EFBIG instead of killing


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """mount(2) (no `mount` executable: each one cost a fork and exec, 1.7 ms, and a kernel start made dozens)."""
    def raw(value):
        return value.encode() if value is not None else None

    _check(_libc().mount(raw(source), raw(target), raw(fstype), flags, raw(data)), f"mount {target}")


def _tmpfs(path: str, options: str) -> None:
    _mount("none", path, "tmpfs", MS_NOSUID | MS_NODEV, options)


def _read_only(path: str) -> None:
    """``mount -o remount,bind,ro PATH``: the flags a mount inherited from the parent namespace has locked
    (nosuid, nodev, noexec, atime) must be repeated, or the kernel refuses (EPERM)."""
    flags = os.statvfs(path).f_flag
    kept = sum(mount_flag for stat_flag, mount_flag in _LOCKED_FLAGS.items() if flags & stat_flag)
    _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


# The whole `autograder` package (this file is autograder/grading/kernel/sandbox.py): a notebook imports more of
# it than the kernel side (the tracker, a lesson's helpers), also when the repository lives under /tmp.
_AUTOGRADER_PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cover(path: str, options: str, keep: list[str]) -> None:
    """A tmpfs over the folder ``path``; what the kernel needs from under it (``keep``: the Python environment,
    this package) is held open first and bound back, read-only."""
    keep = sorted({k for k in keep if not any(k.startswith(m + "/") for m in keep)})
    held = [(os.open(k, os.O_PATH), k) for k in keep]
    _tmpfs(path, options)
    for fd, kept_path in held:
        source = f"/proc/self/fd/{fd}"
        if os.path.isdir(source):
            os.makedirs(kept_path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(kept_path), exist_ok=True)
            open(kept_path, "a").close()
        _mount(source, kept_path, None, MS_BIND)
        _read_only(kept_path)
        os.close(fd)


def _hide(path: str, needed: list[str]) -> None:
    """Cover ``path`` (an empty tmpfs no one may enter for a folder, /dev/null for a file); a folder that holds
    something the kernel needs (the Python installation under a home directory) is covered too, with only
    that brought back: the folder then holds the path down to it and nothing else."""
    if not os.path.lexists(path) or os.path.islink(path):
        return
    inside = [n for n in needed if n == path or n.startswith(path + "/")]
    if not inside:
        if os.path.isdir(path):
            _tmpfs(path, "size=1m,mode=000")
        elif os.path.isfile(path):
            _mount("/dev/null", path, None, MS_BIND)
        return
    if any(n == path for n in inside) or not os.path.isdir(path):
        return
    _cover(path, "size=1m,mode=711", inside)


def _inner(profile: Profile) -> None:
    """Inside the namespaces, as the namespace's root: build the filesystem view, then drop privileges."""
    jail = profile.jail
    os.chdir(jail)  # keeps the jail reachable as "." once /tmp is covered
    size = f"size={profile.disk_mb}m"
    needed = [os.path.realpath(n) for n in (
        jail, sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.realpath(sys.executable),
        _AUTOGRADER_PACKAGE)]
    for path in ("/tmp", "/dev/shm"):
        if not os.path.isdir(path):
            continue
        # The Python environment and this package stay visible when the repository itself lives in /tmp.
        _cover(path, size, [n for n in needed if n.startswith(path + "/") and n != jail])
        if jail.startswith(path + "/"):
            os.makedirs(jail, exist_ok=True)
            _mount(".", jail, None, MS_BIND)
    work = os.path.join(jail, "work")
    kept = {}
    for root, _, files in os.walk(work):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as fh:
                kept[os.path.relpath(path, work)] = fh.read()
    _tmpfs(work, size)
    for rel, data in kept.items():
        os.makedirs(os.path.dirname(os.path.join(work, rel)), exist_ok=True)
        with open(os.path.join(work, rel), "wb") as fh:
            fh.write(data)
    for path in profile.hide:
        _hide(path.rstrip("/") or "/", needed)
    _read_only("/")
    os.chdir(work)


# -- the same, in a process forked from a warm template (see .warm) -------------------------------
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_NOATIME, MS_NODIRATIME, MS_REC, MS_PRIVATE, MS_RELATIME = 1024, 2048, 16384, 1 << 18, 1 << 21
# statvfs flag -> the mount flag that keeps it
_LOCKED_FLAGS = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
                 os.ST_NOATIME: MS_NOATIME, os.ST_NODIRATIME: MS_NODIRATIME, os.ST_RELATIME: MS_RELATIME}
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 1, 24, 38, 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


@functools.lru_cache(maxsize=1)
def _libc():
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for name, args in (("unshare", (ctypes.c_int,)),
                       ("mount", (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                                  ctypes.c_void_p)),
                       ("prctl", (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)),
                       ("capset", (ctypes.c_void_p, ctypes.c_void_p))):
        getattr(libc, name).argtypes = args
        getattr(libc, name).restype = ctypes.c_int
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _drop_capabilities() -> None:
    """What ``setpriv --bounding-set=-all --inh-caps=-all --ambient-caps=-all --no-new-privs`` does."""
    import ctypes

    libc = _libc()
    with open("/proc/sys/kernel/cap_last_cap") as fh:
        last = int(fh.read())
    for cap in range(last + 1):
        _check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"prctl(PR_CAPBSET_DROP, {cap})")
    _check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(PR_CAP_AMBIENT_CLEAR_ALL)")
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()   # effective, permitted, inheritable: all empty (two 32-bit halves)
    _check(libc.capset(ctypes.addressof(header), ctypes.addressof(data)), "capset")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def enter(profile: Profile) -> None:
    """Put the calling process (forked from a warm template, single-threaded) into the sandbox.

    Returns in the process that is to become the kernel.  With namespaces that is a new child,
    the first process of its PID namespace, killed with its parent (``PR_SET_PDEATHSIG``): the
    calling process stays behind, waits for it and exits with its status, like ``unshare --fork
    --kill-child``, so killing the calling process's group takes the whole namespace down.
    """
    _set_limits(profile)
    if profile.mode != "namespaces":
        os.chdir(os.path.join(profile.jail, "work"))
        return
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID), "unshare")
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/gid_map", f"0 {gid} 1")
    alive_r, alive_w = os.pipe()   # closes when the waiter dies: the new process cannot see its parent's pid
    child = os.fork()
    if child:
        os.close(alive_r)
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # the kernel handles interrupts; this one only waits
        while True:
            try:
                _, status = os.waitpid(child, 0)
                break
            except InterruptedError:
                continue
        code = os.waitstatus_to_exitcode(status)
        os._exit(code if code >= 0 else 128 - code)   # killed by signal N: 128 + N, as a shell says
    _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    os.close(alive_w)
    import select

    if select.select([alive_r], [], [], 0)[0]:   # the waiter died before the line above
        os._exit(1)
    os.close(alive_r)
    _mount("none", "/", None, MS_REC | MS_PRIVATE)                   # mount --make-rprivate /
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _inner(profile)
    _drop_capabilities()


def run_kernel(profile: Profile, argv: list[str]) -> None:
    """Enter the sandbox, then become the kernel (the guard, then ipykernel): the one path of every grading
    kernel, cold (:func:`main`, a new process) or warm (forked by :mod:`.template`)."""
    enter(profile)
    sys.argv = [sys.argv[0], *argv]
    from . import guard

    guard.main()


def main(argv: list[str]) -> None:
    """A cold kernel: ``python -P -m autograder.grading.kernel.sandbox -f CONNECTION_FILE`` (-P: see
    :mod:`autograder.grading.worker.guarded_execute`).  It dies with the worker that started it (jupyter_client
    names that worker in ``JPY_PARENT_PID``), even when the worker is killed."""
    die_with_parent(int(os.environ.get("JPY_PARENT_PID") or os.getppid()))
    run_kernel(Profile.from_env(), argv)


if __name__ == "__main__":
    main(sys.argv[1:])
