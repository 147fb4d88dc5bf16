"""What crosses between the grading processes: the one module both sides of the trust boundary import.

The worker (``worker/``) starts the kernel (``kernel/``) and reads what it reports; the kernel runs the
student's code.  They share only this module (and the standard library): the names of the environment
variables and inherited file descriptors, the sandbox *profile*, the format of the guard's signed reports
and their kinds, which cells are tests, and the policy tables the guard decides with.  It imports nothing
but the standard library, holds no state, and runs no code of its own at import.

The kernel's guard reads these tables ONCE, before the notebook's first cell (:func:`.kernel.guard.policy`),
and keeps private copies: a notebook that imports this module and rebinds its names changes nothing the
running guard decides with (red-team attacks i70-i77).  See docs/architecture.md.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass, field

# -- environment and file descriptors (worker -> kernel) ----------------------------------------------------
BRIEF_FD_ENV = "AUTOGRADER_BRIEF_FD"        # the brief: tests, imports, key (a memfd the guard reads and closes)
CHANNEL_FD_ENV = "AUTOGRADER_CHANNEL_FD"    # the channel: the pipe the guard writes its signed reports to
PROFILE_ENV = "AUTOGRADER_SANDBOX"          # the sandbox profile (JSON), taken out of the environment at once
MODE_ENV = "AUTOGRADER_SANDBOX_MODE"        # "namespaces", "none" or unset (= best available): the grader's own
STDERR_ENV = "AUTOGRADER_WARM_STDERR"       # where the warm template and its kernels write their stderr (debugging)
TEMPLATE_SERVER_ENV = "AUTOGRADER_TEMPLATE_SERVER"  # the local template server's socket (command -> worker)
MAX_MESSAGE = 1 << 22                       # largest message between a worker and its warm template
# Linux namespaces, as util-linux's unshare makes them (the worker's probe; a cold kernel's first stage).
UNSHARE = ["unshare", "--user", "--map-root-user", "--mount", "--net", "--pid", "--fork", "--kill-child",
           "--mount-proc", "--propagation", "private"]
# The packages whose modules and classes the guard snapshots and checks around every test.
PROTECTED_PACKAGES = ["numpy", "tensorflow", "keras", "autograder"]


def proc_status(pid: int | str = "self", keys=("VmRSS", "VmHWM", "VmSize", "Threads")) -> dict[str, int]:
    """Numeric fields of ``/proc/PID/status`` (memory in KiB); {} for a process that is gone."""
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key in keys:
                    fields[key] = int(value.split()[0])
    except (OSError, ValueError):
        return {}
    return fields


# -- lifetime: every process the grader starts dies with the one that started it ------------------------
PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> bool:
    """Have the kernel SIGKILL this process when its parent dies (``prctl(PR_SET_PDEATHSIG)``), even if the
    parent is killed with SIGKILL and none of its clean-up runs.  Call it in the child, first thing, with the pid
    its parent had (the signal fires when the parent *thread* that started the child exits: start grading
    processes from a thread that lives as long as its process).  Closes the race of a parent that died
    before the call: then the process is re-parented already, ``getppid()`` no longer says ``parent_pid``,
    and it kills itself.  False where ``prctl`` is not available (not Linux)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return False
    if prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        return False
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGKILL)
    return True


def kernel_env() -> dict[str, str]:
    """Environment variables every grading process sets for the kernels it starts (and for itself): TensorFlow's
    C++ logs quiet, and oneDNN's custom operations off, as every lesson's first cell sets them
    (:func:`autograder.tfsetup.silence_tensorflow`; a warm template imports TensorFlow before that cell runs)."""
    return {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


@dataclass
class Profile:
    """The sandbox a kernel enters (worker -> kernel, in :data:`PROFILE_ENV`)."""

    mode: str                          # "namespaces" or "none"
    jail: str                          # the kernel's folder: work/ (its cwd), ipc/, runtime/
    hide: list[str] = field(default_factory=list)
    memory_mb: int = 4096              # address space (TensorFlow needs about 3 GiB of it to import)
    file_mb: int = 256                 # largest file the kernel may write
    disk_mb: int = 512                 # its writable space (tmpfs sizes), namespaces only
    cpu_seconds: int = 3600            # CPU time of the kernel process (a backstop for the wall-clock limits)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> Profile:
        return cls(**json.loads(os.environ.pop(PROFILE_ENV)))


# -- the guard's reports (kernel -> worker) -----------------------------------------------------------------
# Each is one line: the record as JSON (sorted keys, no spaces), a space, its HMAC-SHA256 in hex.
HELLO, START, RESULT, EVENT = "hello", "start", "result", "event"
RECORD_KINDS = frozenset({HELLO, START, RESULT, EVENT})


def record_body(record: dict) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def sign_line(key: bytes, record: dict) -> bytes:
    """The line the guard writes for ``record`` (the guard builds the same bytes from primitives it captured
    at start; tests/grading/test_protocol.py checks that they agree)."""
    body = record_body(record)
    return body + b" " + hmac.new(key, body, hashlib.sha256).hexdigest().encode() + b"\n"


def verify_line(key: bytes, line: bytes) -> dict | None:
    """The record of a report line whose HMAC is right, else None."""
    body, _, mac = line.rstrip(b"\n").rpartition(b" ")
    expected = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    if not body or not hmac.compare_digest(mac, expected):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


# -- which cells are which (nbgrader's metadata) ----------------------------------------------------------
def nbgrader_md(cell) -> dict:
    """A cell's ``metadata.nbgrader`` ({} when it has none)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test_cell(cell) -> bool:
    md = nbgrader_md(cell)
    return cell.get("cell_type") == "code" and bool(md.get("grade")) and not md.get("solution")


def is_trusted_cell(cell) -> bool:
    """Cells whose source nbgrader restores from the gradebook: locked cells and test cells."""
    return cell.get("cell_type") == "code" and (bool(nbgrader_md(cell).get("locked")) or is_test_cell(cell))


# -- the guard's policy (read once by the guard, before any notebook code) -----------------------------------
# Audit events always reported, whoever raises them (nothing in an honest grading run does).
ALWAYS = frozenset({
    "sys.settrace", "sys.setprofile", "sys.addaudithook", "sys._current_frames", "gc.get_objects",
    "gc.get_referrers", "gc.get_referents", "os.fork", "os.forkpty", "os.kill", "os.killpg", "os.system",
    "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen", "pty.spawn", "ctypes.dlopen",
    "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.call_function", "ctypes.addressof", "ctypes.string_at",
    "ctypes.wstring_at", "ctypes.PyObj_FromPtr", "socket.connect", "socket.bind", "socket.sendto",
    "socket.sendmsg", "resource.setrlimit", "resource.prlimit",
})
# Of those, refused outright (PermissionError) when the student's code asks: other processes, signals,
# native calls, sockets, resource limits.  Tracing and introspection are only reported.
BLOCKED = frozenset(ALWAYS - {"sys.settrace", "sys.setprofile", "sys.addaudithook", "sys._current_frames",
                              "gc.get_objects", "gc.get_referrers", "gc.get_referents"})
# Reported only when the student's own code (a notebook cell, an exec'd string, a file of the
# submission) is the direct caller, or calls through one of REACH_THROUGH (inspect, traceback).
FROM_STUDENT = frozenset({"sys._getframe", "exec", "compile", "import", "object.__getattr__",
                          "object.__setattr__", "object.__delattr__", "code.__new__", "function.__new__",
                          "marshal.loads", "marshal.load", "open", "os.listdir", "os.scandir"})
INTROSPECTION_ATTRS = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back", "__code__",
                                 "__globals__", "__closure__", "__builtins__", "gi_code", "cr_code",
                                 "f_locals", "f_globals"})
WATCHED_IMPORTS = frozenset({"ctypes", "_ctypes", "cffi", "_posixsubprocess", "_testcapi", "_testinternalcapi"})
# Refused without a report when one of these library files makes the request on the student's behalf:
# matplotlib builds its font cache (a fresh one in each kernel) with `fc-list`, and copes without it.
QUIET_REFUSALS = ("matplotlib/font_manager.py",)
REACH_THROUGH = ("inspect.py", "traceback.py", "functools.py", "<frozen importlib._bootstrap>",
                 "logging/__init__.py")  # logging.currentframe() hands out the caller's frame
# ... and, for `open` only, IPython's wrapper of the builtin (`open` in a notebook is IPython's
# interactiveshell._modified_open, which calls io.open: red-team attacks s05, s06 read /proc through it).
OPEN_THROUGH = REACH_THROUGH + ("IPython/core/interactiveshell.py",)
# ... and, for listing a folder, what walks folders for the caller (os.walk, Path.iterdir, glob, shutil).
LIST_THROUGH = REACH_THROUGH + ("/os.py", "/pathlib.py", "/glob.py", "/shutil.py")
# Special methods through which an object passes a test it should fail (`==` always true, ...): looked for at
# run time in the classes the notebook creates (built with type() and computed names, the source says
# nothing: red-team i27), and in the source by the worker's static checks.  Whatever an object's class, the
# guard also asks each value a test compares what it does (red-team i80-i83).
DECEPTIVE_METHODS = frozenset({
    "__eq__", "__ne__", "__bool__", "__len__", "__lt__", "__le__", "__gt__", "__ge__", "__contains__",
    "__instancecheck__", "__subclasscheck__", "__hash__", "__getattr__", "__getattribute__", "__float__",
    "__int__", "__index__", "__array__", "__array_ufunc__", "__array_function__", "__abs__", "__sub__",
    "__rsub__", "__round__", "__iter__", "__getitem__", "__repr__", "__str__", "__format__", "__class_getitem__",
    "__init_subclass__", "__set_name__", "__del__",
})
