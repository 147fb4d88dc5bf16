"""nbgrader's ``Execute`` step, hardened: sandboxed kernel, guarded tests, limits, per-cell failures.

:class:`GuardedExecute` replaces nbgrader's ``Execute`` in the worker's scratch course (see
:mod:`.kernel_config`).  For one notebook it:

* starts the kernel *warm* (forked from a template process that has already imported the heavy
  modules, see :mod:`.warm`) or, where that is not possible or ``kernels = 'cold'``, as a new process;
* prepares a *jail* folder (the kernel's working directory: a copy of the submission's other
  files, Unix sockets for the kernel connection, nothing else) and starts the kernel through
  :mod:`autograder.grading.kernel.sandbox` (namespaces where available, resource limits always) with a scrubbed
  environment;
* swaps each test cell's source for ``__autograder_guard__("<nonce>")`` while it runs (the real
  tests travel to :mod:`autograder.grading.kernel.guard` through a private file descriptor), and restores it afterwards so
  the autograded notebook and the feedback show the tests as written;
* reads the guard's channel as the cells run and checks every report (sequence, HMAC, one
  result per test, no integrity problem, no watched event);
* enforces the limits: per-cell time (nbgrader's ``timeout``), whole-notebook time, output per
  cell; a dead or killed kernel gives the cell that was running a clear error and every later
  code cell a "not run" error, so nbgrader scores what did not run 0 and grading goes on;
* writes its findings to ``<report_dir>/<notebook>.json`` for the worker (:mod:`.review`).
"""
from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from nbclient.util import run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Dict, Enum, Integer, List, Unicode

from ..protocol import (BRIEF_FD_ENV, CHANNEL_FD_ENV, PROFILE_ENV, PROTECTED_PACKAGES, Profile, is_test_cell,
                        is_trusted_cell, nbgrader_md, proc_status)
from . import scratch, warm
from .kernel_client import ReadyClient
from .sandbox_mode import best_mode
from .static_checks import trusted_bindings
from .template_spec import kernel_base_env, warm_template


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


class _Channel:
    """Reads the guard's reports as they arrive, tagging each with the cell that was running when it was written.

    A reader thread keeps the pipe empty (a full pipe would stall the kernel's next report), and every read
    happens under one lock: when the next cell starts (:meth:`set_cell`), whatever the pipe still holds is
    read first and tagged with the cell that wrote it (the kernel wrote it before answering that cell), so
    that a thread slowed down by a busy machine cannot tag it with the next cell.
    """

    def __init__(self, fd: int):
        self.fd = fd
        self.cell_index = -1
        self.lines: list[tuple[int, bytes]] = []
        self._buffer = b""
        self._eof = False
        self._lock = threading.Lock()
        os.set_blocking(fd, False)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        """Read what the pipe holds (the lock is held)."""
        while not self._eof:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self._eof = True
                return
            self._buffer += chunk
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                if len(self.lines) < 10000:
                    self.lines.append((self.cell_index, line))

    def _run(self) -> None:
        while not self._eof:
            try:
                select.select([self.fd], [], [])
            except (OSError, ValueError):
                return
            with self._lock:
                self._drain()

    def set_cell(self, index: int) -> None:
        with self._lock:
            self._drain()
            self.cell_index = index

    def close(self) -> None:
        self._thread.join(timeout=5)
        try:
            os.close(self.fd)
        except OSError:
            pass


def _runs(cell) -> bool:
    """Whether the executor sends ``cell`` to the kernel: a code cell with code in it."""
    return cell.cell_type == "code" and bool(cell.source.strip())


class GuardedExecute(Execute):
    """nbgrader's Execute with the sandboxed, guarded kernel (see the module docstring)."""

    notebook_timeout = Integer(1800, help="Seconds a whole notebook may run before its kernel is killed.").tag(config=True)
    memory_mb = Integer(4096, help="Address-space limit of the kernel, MiB.").tag(config=True)
    file_mb = Integer(256, help="Largest file the kernel may write, MiB.").tag(config=True)
    disk_mb = Integer(512, help="Writable space of the kernel (namespaces only), MiB.").tag(config=True)
    max_output_kb = Integer(1024, help="Output kept per cell, KiB; a cell printing 20x that is stopped.").tag(config=True)
    hide = List(Unicode(), help="Paths the kernel must not see (course directory, solutions, ...).").tag(config=True)
    report_dir = Unicode("", help="Folder for the findings (<notebook>.json) read by the worker.").tag(config=True)
    protected_packages = List(Unicode(), PROTECTED_PACKAGES).tag(config=True)
    sandbox_mode = Unicode("", help="'namespaces', 'none', or '' for the best available.").tag(config=True)
    extra_env = Dict(help="Environment variables given to the kernel.").tag(config=True)
    # Kill the kernel once the last cell has run (its outputs are all in): a graceful shutdown waits for it.
    shutdown_kernel = Enum(["graceful", "immediate"], "immediate").tag(config=True)
    kernels = Enum(["warm", "cold"], "warm", help="'warm': fork each kernel from a template that has imported "
                   "the notebook's modules (see autograder.grading.worker.warm); 'cold': start a new process.").tag(config=True)

    # -- one notebook ----------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        thread_cpu = time.thread_time()
        resources = resources or {}
        self._prepare(nb, resources)
        started = time.monotonic()
        watchdog = self._watchdog()
        try:
            return super().preprocess(nb, resources, km)
        finally:
            watchdog.cancel()
            self._finish(nb, time.monotonic() - started, time.thread_time() - thread_cpu)

    def _prepare(self, nb, resources: dict) -> None:
        """Before the kernel starts: this notebook's state, the sandbox mode, the jail (the kernel's working
        directory, set in ``resources``), the key, the brief (the tests swapped out) and the channel."""
        self._dead_reason = ""
        self._output_bytes: dict[int, int] = {}
        self._cut: set[int] = set()
        self._kernel, self._kernel_why, self._cell_seconds, self._kernel_peak_kb = self.kernels, "", 0.0, 0
        # CPU seconds of the start-up: this thread outside the cells, the kernel's processes before the first
        # cell, the warm template while it forked (see _write_findings)
        self._cell_cpu, self._startup_cpu = 0.0, None
        # the kernel's own CPU seconds (start-up and cells), read once, after the last code cell
        self._kernel_cpu, self._last_code = None, max((i for i, cell in enumerate(nb.cells) if _runs(cell)), default=-1)
        self._mode, self._mode_why = ("none", "") if self.sandbox_mode == "none" else best_mode()
        work = self._make_jail(resources)
        self._key = secrets.token_bytes(32)
        self._write_brief(self._swap_tests(nb))
        read_end, self._channel_w = os.pipe()
        self._channel = _Channel(read_end)
        resources.setdefault("metadata", {})["path"] = str(work)

    def _watchdog(self) -> threading.Timer:
        """A started timer that stops the kernel once the whole notebook has run past its time limit."""
        watchdog = threading.Timer(self.notebook_timeout, self._kill, args=(
            f"the notebook ran past its time limit ({self.notebook_timeout} s) and its kernel was stopped",))
        watchdog.daemon = True
        watchdog.start()
        return watchdog

    def _finish(self, nb, seconds: float, thread_cpu: float) -> None:
        """After the last cell: the descriptors closed, the test cells' sources restored, the findings written,
        the jail removed."""
        for fd in (self._brief_fd, self._channel_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._channel.close()
        for nonce, (index, _, source) in self._tests.items():
            nb.cells[index].source = source
            _drop_guard_frames(nb.cells[index], nonce)
        self._write_findings(nb, seconds, thread_cpu)
        shutil.rmtree(self._jail, ignore_errors=True)

    def _make_jail(self, resources: dict) -> Path:
        """The kernel's folder: work/ (its working directory: the submission's other files), ipc/, runtime/."""
        self._jail = Path(scratch.make("agj", dir="/tmp"))
        run_path = Path(resources.get("metadata", {}).get("path") or ".")
        work = self._jail / "work"
        shutil.copytree(run_path, work, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        for sub in ("ipc", "runtime"):
            (self._jail / sub).mkdir()
        return work

    def _swap_tests(self, nb) -> list[str]:
        """Each test cell's source swapped for a call of the guard under a fresh nonce (restored afterwards);
        returns the trusted cells' sources (what the tests may rely on)."""
        self._tests: dict[str, tuple[int, str, str]] = {}   # nonce -> (cell index, grade_id, source)
        trusted_sources = []
        for index, cell in enumerate(nb.cells):
            if is_trusted_cell(cell):
                trusted_sources.append(cell.source)
            if is_test_cell(cell):
                nonce = secrets.token_hex(12)
                grade_id = nbgrader_md(cell).get("grade_id", f"cell{index}")
                self._tests[nonce] = (index, grade_id, cell.source)
                cell.source = f'__autograder_guard__("{nonce}")'
        return trusted_sources

    def _write_brief(self, trusted_sources: list[str]) -> None:
        """The guard's brief (tests, imports, key, paths), in a memfd the kernel inherits and reads at once."""
        imports, bindings = trusted_bindings(trusted_sources)
        self._imports = imports
        brief = {
            "key": self._key.hex(),
            "tests": {n: {"grade_id": g, "source": s} for n, (_, g, s) in self._tests.items()},
            "imports": imports, "bindings": bindings,
            "protected_packages": list(self.protected_packages),
            "trusted_prefixes": trusted_prefixes(),
            # + every worker's scratch course (/tmp/grade-<assignment>-*: source, gradebook and a
            # submission), which --sandbox none leaves in view of the kernel.
            "protected_paths": [p.rstrip("/") + "/" for p in self.hide] + [
                os.path.join(tempfile.gettempdir(), "grade-")],
        }
        self._brief_fd = os.memfd_create("autograder-brief", 0)
        os.write(self._brief_fd, json.dumps(brief).encode())
        os.lseek(self._brief_fd, 0, os.SEEK_SET)

    def _template(self):
        """The worker's warm template for this notebook, or None (cold kernel; the reason is recorded)."""
        if self.kernels != "warm":
            return None
        try:
            return warm.template_for(**self.template_spec(self._imports))
        except warm.WarmUnavailable as err:
            self._cold(str(err))
            return None

    def _cold(self, why: str) -> None:
        self._kernel, self._kernel_why = "cold", why
        self.log.warning("autograder: starting a cold kernel instead of a warm one: %s", why)

    def create_kernel_manager(self):
        from jupyter_client.kernelspec import KernelSpec

        km = super().create_kernel_manager()
        # -P (Python's "safe path"): the kernel's working directory holds the submission's files, and
        # with `-m` it would come first on sys.path, so a submitted `autograder/` package would run
        # instead of the sandbox and the guard (red-team attack i43).  Every stage runs with -P.
        km._kernel_spec = KernelSpec(argv=[sys.executable, "-P", "-m", "autograder.grading.kernel.sandbox", "-f",
                                           "{connection_file}"],
                                     display_name="Python 3 (graded)", language="python",
                                     interrupt_mode="signal", metadata={})
        km.transport = "ipc"
        km.ip = str(self._jail / "ipc" / "k")
        km.connection_file = str(self._jail / "runtime" / "kernel.json")
        km.client_factory = ReadyClient   # ready 0.2 s sooner than jupyter_client's own (see kernel_client)
        template = self._template()
        if template is not None:
            km.provisioner = warm.provisioner(km, template, {BRIEF_FD_ENV: self._brief_fd,
                                                             CHANNEL_FD_ENV: self._channel_w}, on_cold=self._cold)
        return km

    def template_spec(self, imports: list[str]) -> dict:
        """The warm template a notebook importing ``imports`` needs (see :mod:`.template_spec`)."""
        return warm_template(imports, self._base_env(), self.protected_packages)

    def _base_env(self) -> dict[str, str]:
        """The environment every kernel gets (the warm template too): nothing of the grader's own."""
        return kernel_base_env(self.extra_env)

    async def async_start_new_kernel(self, **kwargs):
        profile = Profile(mode=self._mode, jail=str(self._jail), hide=list(self.hide),
                                  memory_mb=self.memory_mb, file_mb=self.file_mb, disk_mb=self.disk_mb,
                                  cpu_seconds=max(60, 2 * self.notebook_timeout))
        env = self._base_env()
        env.update({
            "HOME": str(self._jail / "work"),
            "MPLCONFIGDIR": str(self._jail / "work" / ".config" / "matplotlib"),
            "IPYTHONDIR": str(self._jail / "work" / ".ipython"),
            "JUPYTER_RUNTIME_DIR": str(self._jail / "runtime"),
            PROFILE_ENV: profile.to_env(),
            BRIEF_FD_ENV: str(self._brief_fd), CHANNEL_FD_ENV: str(self._channel_w),
        })
        env.update(self.extra_env)
        # stdout/stderr to /dev/null: the kernel's own streams (not the cells' outputs, which travel over
        # the kernel protocol) would otherwise be the worker's: the grading command's terminal and the
        # worker log, which a notebook could write into (red-team attack i31 wrote there).
        kwargs.update(env=env, cwd=str(self._jail / "work"), pass_fds=(self._brief_fd, self._channel_w),
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await super().async_start_new_kernel(**kwargs)
        for fd in (self._brief_fd, self._channel_w):   # the kernel holds its copies now
            try:
                os.close(fd)
            except OSError:
                pass
        self._brief_fd = self._channel_w = -1

    start_new_kernel = run_sync(async_start_new_kernel)  # nbconvert's sync path calls this one

    # -- each cell ---------------------------------------------------------------------------
    def preprocess_cell(self, cell, resources, index):
        if not _runs(cell):
            return cell, self.resources
        if self._dead_reason:
            cell.outputs = [_error("CellNotRun", f"not run: {self._dead_reason}")]
            return cell, self.resources
        self._channel.set_cell(index)
        if self._startup_cpu is None:
            self._startup_cpu = _cpu_seconds(self._kernel_pids())
            self._startup_cpu += getattr(self._kernel_process(), "fork_cpu", 0.0)   # a warm kernel: the template's fork
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return super().preprocess_cell(cell, resources, index)
        except Exception as err:  # noqa: BLE001 - DeadKernelError, timeouts nbclient gave up on, ...
            reason = self._dead_reason or _death_reason(err, self)
            self._dead_reason = self._dead_reason or reason
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "error"]
            cell.outputs.append(_error("KernelDied", reason))
            self._kill(reason)
            return cell, self.resources
        finally:
            self._cell_seconds += time.perf_counter() - started
            self._cell_cpu += time.thread_time() - cpu
            self._kernel_peak_kb = max(self._kernel_peak_kb, self._kernel_peak())
            if index == self._last_code and not self._dead_reason:
                self._kernel_cpu = _cpu_seconds(self._kernel_pids())

    def _kernel_process(self):
        """The kernel's process as its provisioner holds it (a Popen, or a warm.ForkedProcess), or None."""
        return getattr(getattr(getattr(self, "km", None), "provisioner", None), "process", None)

    def _kernel_pids(self) -> list[int]:
        """The kernel's process and its children (the kernel itself, in namespaces)."""
        process = self._kernel_process()
        if process is None:
            return []
        pids = [process.pid]
        try:
            with open(f"/proc/{process.pid}/task/{process.pid}/children") as fh:
                pids += [int(p) for p in fh.read().split()]
        except OSError:
            pass
        return pids

    def _kernel_peak(self) -> int:
        """Peak resident memory (KiB) of the kernel process and its children (the kernel itself, in namespaces)."""
        return max([0] + [proc_status(pid, ("VmHWM",)).get("VmHWM", 0) for pid in self._kernel_pids()])

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        total = self._output_bytes.get(cell_index, 0) + size
        self._output_bytes[cell_index] = total
        limit = self.max_output_kb * 1024
        if total > 20 * limit and not self._dead_reason:
            self._kill(f"the cell printed more than {20 * self.max_output_kb} KiB of output and was stopped")
        if total > limit:
            if cell_index not in self._cut:
                self._cut.add(cell_index)
                outs.append(NotebookNode(output_type="stream", name="stderr",
                                         text=f"[autograder: output of this cell cut at {self.max_output_kb} KiB]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _kill(self, reason: str) -> None:
        if not self._dead_reason:
            self._dead_reason = reason
        process = self._kernel_process()
        if process is not None and process.poll() is None:
            try:
                os.killpg(os.getpgid(process.pid), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                try:
                    process.kill()
                except OSError:
                    pass

    # -- findings ----------------------------------------------------------------------------
    def _write_findings(self, nb, seconds: float, thread_cpu: float) -> None:
        from .review import check_reports

        findings = check_reports(self._key, self._channel.lines, self._tests, nb, self._dead_reason)
        findings.update(sandbox=self._mode, sandbox_why=self._mode_why, seconds=round(seconds, 3),
                        kernel=self._kernel, kernel_why=self._kernel_why,
                        cells_seconds=round(self._cell_seconds, 3),
                        overhead_seconds=round(seconds - self._cell_seconds, 3),
                        # the same, in CPU seconds (what a loaded machine cannot inflate): the worker's outside the
                        # cells, the kernel's before its first cell, the template's fork; not the kernel's exit
                        overhead_cpu_seconds=(round(thread_cpu - self._cell_cpu + self._startup_cpu, 3)
                                              if self._startup_cpu is not None else None),
                        kernel_peak_rss_kb=self._kernel_peak_kb,
                        kernel_cpu_seconds=None if self._kernel_cpu is None else round(self._kernel_cpu, 3))
        if self.report_dir:
            name = Path(self.resources.get("unique_key", "notebook")).name
            out = Path(self.report_dir) / f"{name}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(findings, indent=1))


def _cpu_seconds(pids: list[int]) -> float:
    """CPU time so far of every thread of these processes (the scheduler's nanosecond count; 0 for one gone)."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                    total += int(fh.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    return total / 1e9


def _drop_guard_frames(cell, nonce: str) -> None:
    """Take the frame of the stand-in line (``__autograder_guard__("<nonce>")``) out of a test cell's traceback:
    the student's feedback shows the test's own frames, and the random nonce never reaches a report."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            output["traceback"] = [line for line in output.get("traceback", []) if nonce not in line]


def _death_reason(err: Exception, executor: GuardedExecute) -> str:
    name = type(err).__name__
    if name == "DeadKernelError":
        return (f"the kernel died while running this cell (memory limit of {executor.memory_mb} MiB, "
                f"os._exit, a crash, or a signal)")
    if "Timeout" in name or isinstance(err, TimeoutError):
        return f"the cell did not finish within its time limit ({executor.timeout} s)"
    return f"the kernel stopped responding ({name}: {str(err)[:200]})"


def trusted_prefixes() -> list[str]:
    """Files whose code is not the student's: the Python installation, the environment, this package."""
    import autograder

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(autograder.__file__).resolve().parent)}
    return sorted({r.rstrip("/") + "/" for r in roots} | {"<frozen "})
