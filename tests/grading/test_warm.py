"""Warm kernels (autograder.grading.worker.warm, autograder.grading.kernel.template): a template forks each kernel into the sandbox a cold kernel gets.

The grading itself is compared with cold kernels and plain nbgrader elsewhere: the red-team suite grades
its whole catalogue both ways (tests/grading/test_red_team.py), the lesson tests grade every lesson with
warm kernels (tests/lessons) and test_grading.py compares the command with plain nbgrader.  Here: the
template's own promises, with a kernel started by hand and talked to with jupyter_client.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from autograder.grading.protocol import BRIEF_FD_ENV, CHANNEL_FD_ENV, PROFILE_ENV, Profile
from autograder.grading.worker import sandbox_mode, warm
from autograder.grading.worker.guarded_execute import trusted_prefixes

SECRET = "AUTOGRADER_WARM_TEST_SECRET"
BASE_ENV = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONHASHSEED": "0", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


class Kernel:
    """One kernel forked by ``template`` into a fresh jail, with a client connected to it."""

    def __init__(self, template: warm.Template, mode: str, imports=("numpy",), hide=(), protected=("numpy",)):
        from jupyter_client import BlockingKernelClient
        from jupyter_client.connect import write_connection_file

        self.jail = Path(tempfile.mkdtemp(prefix="agj-", dir="/tmp"))
        for sub in ("work", "ipc", "runtime"):
            (self.jail / sub).mkdir()
        (self.jail / "work" / "data.txt").write_text("the submission's own file")
        connection = str(self.jail / "runtime" / "kernel.json")
        write_connection_file(connection, transport="ipc", ip=str(self.jail / "ipc" / "k"))
        brief = {"key": "00" * 32, "tests": {}, "imports": list(imports), "bindings": {},
                 "protected_packages": list(protected), "trusted_prefixes": trusted_prefixes(), "protected_paths": []}
        brief_fd = os.memfd_create("brief", 0)
        os.write(brief_fd, json.dumps(brief).encode())
        os.lseek(brief_fd, 0, os.SEEK_SET)
        self.channel_r, channel_w = os.pipe()
        profile = Profile(mode=mode, jail=str(self.jail), hide=list(hide), memory_mb=4096)
        env = dict(BASE_ENV, HOME=str(self.jail / "work"), IPYTHONDIR=str(self.jail / "runtime" / "ipython"), **{PROFILE_ENV: profile.to_env()})
        self.process = template.spawn(["-f", connection], env, {BRIEF_FD_ENV: brief_fd, CHANNEL_FD_ENV: channel_w})
        os.close(brief_fd)
        os.close(channel_w)
        self.client = BlockingKernelClient(connection_file=connection)
        self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str) -> str:
        """stdout of ``code`` (an error fails the test)."""
        out = []
        reply = self.client.execute_interactive(
            textwrap.dedent(code), timeout=60,
            output_hook=lambda msg: out.append(msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None)
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(out)

    def hello(self) -> dict:
        """The guard's first report on the channel (its HMAC is checked by the worker, not here)."""
        first = os.read(self.channel_r, 65536).split(b"\n")[0]
        return json.loads(first.rpartition(b" ")[0])

    def close(self) -> None:
        self.client.stop_channels()
        self.process.kill()
        self.process.wait(10)
        os.close(self.channel_r)
        shutil.rmtree(self.jail, ignore_errors=True)


@pytest.fixture(scope="module")
def template():
    os.environ[SECRET] = "must not reach a kernel"   # the worker's environment: the template must not carry it
    try:
        t = warm.Template(["numpy"], BASE_ENV, ["numpy"])
    finally:
        os.environ.pop(SECRET)
    yield t
    t.close()
    assert t.process.poll() is not None


def test_template_reports_itself(template):
    status = template.status()
    assert status["hazard"] == ""
    assert status["rss_kb"] > 10_000 and status["threads"] == status["threads_at_start"]
    assert template.info["failed"] == {}


@pytest.mark.parametrize("mode", ["none", "namespaces"])
def test_forked_kernel_gets_its_own_process_environment_and_sandbox(template, mode):
    if mode == "namespaces" and not sandbox_mode.namespaces_available()[0]:
        pytest.skip(f"no namespaces here: {sandbox_mode.namespaces_available()[1]}")
    kernel = Kernel(template, mode, hide=[str(Path(__file__).resolve().parent)])
    try:
        facts = json.loads(kernel.run("""
            import json, os, sys
            status = dict(line.split(':', 1) for line in open('/proc/self/status'))
            try:
                hidden = os.listdir(%r)
            except OSError as err:
                hidden = type(err).__name__
            print(json.dumps({'pid': os.getpid(), 'cwd': os.getcwd(), 'files': sorted(os.listdir('.')),
                              'env': sorted(os.environ), 'cap': status['CapEff'].strip(),
                              'nnp': status['NoNewPrivs'].strip(), 'tmp': sorted(os.listdir('/tmp')),
                              'numpy': 'numpy' in sys.modules, 'hidden': hidden, 'guard': '__autograder_guard__' in dir(__builtins__)}))
            """ % str(Path(__file__).resolve().parent)))
    finally:
        kernel.close()
    assert facts["cwd"] == str(kernel.jail / "work") and facts["files"] == ["data.txt"]
    assert SECRET not in facts["env"] and "HOME" in facts["env"]
    assert facts["numpy"], "the template's imports are already there"
    assert facts["pid"] != template.info["pid"]
    if mode == "namespaces":
        assert facts["pid"] == 1                      # the first process of its own PID namespace
        assert facts["cap"] == "0000000000000000" and facts["nnp"] == "1"
        # a fresh /tmp holding its own jail (and, when the repository lives in /tmp, its environment and package)
        import autograder

        ours = {Path(p).resolve() for p in (sys.prefix, Path(autograder.__file__).parent)}
        assert set(facts["tmp"]) == {kernel.jail.name} | {p.parts[2] for p in ours if p.parts[1] == "tmp"}
        assert facts["hidden"] in ("PermissionError", "FileNotFoundError")   # a hidden path is covered
    else:
        assert isinstance(facts["hidden"], list)       # limits only: nothing is covered


def test_the_template_takes_the_guards_snapshot_and_each_kernel_takes_it_over(template):
    kernel = Kernel(template, "none")
    try:
        left = kernel.run("import autograder.grading.kernel.guard as g\nprint(g._prepared)")
        hello = kernel.hello()
    finally:
        kernel.close()
    assert left == "None\n", "the kernel's guard took the snapshot over: nothing of it is left in the module"
    assert hello["snapshot"]["from"] == "template" and hello["snapshot"]["modules"] > 10
    # A kernel whose guard protects other packages than the template snapshotted takes its own.
    kernel = Kernel(template, "none", protected=("numpy", "autograder"))
    try:
        kernel.run("pass")
        own = kernel.hello()["snapshot"]
    finally:
        kernel.close()
    assert own["from"] == "kernel" and own["modules"] > hello["snapshot"]["modules"]


def test_imports_already_loaded_make_no_other_template(template, monkeypatch):
    """Lessons that also import `warnings` (loaded by every Python at start-up) share the template, and its
    kernels take its snapshot over; an import it has not loaded (wave) needs another."""
    assert "warnings" in template.loaded and "wave" not in template.loaded
    assert template.serves(["numpy", "warnings"], ["numpy"])
    assert not template.serves(["numpy", "wave"], ["numpy"])
    assert not template.serves(["numpy"], ["numpy", "autograder"])
    for imports, snapshot_from in ((("numpy", "warnings"), "template"), (("numpy", "wave"), "kernel")):
        kernel = Kernel(template, "none", imports=imports)
        try:
            kernel.run("pass")
            assert kernel.hello()["snapshot"]["from"] == snapshot_from, imports
        finally:
            kernel.close()
    # template_for: the worker's cache hands the same template to both import lists
    monkeypatch.setattr(warm, "_templates", {"numpy": template})
    assert warm.template_for(["warnings", "numpy"], BASE_ENV, ["numpy"]) is template


def test_a_kernel_formats_each_traceback_once_with_the_templates_map_of_module_files(template):
    """A cell that raises: IPython renders its traceback once (not again for its history of exceptions, which
    keeps the name, message and last line), and the lookup of the cell's module finds inspect's map of module
    files already built by the template (its warm-up), instead of taking the real path of every loaded module."""
    kernel = Kernel(template, "none")
    try:
        kernel.run("""
            import inspect
            shell = get_ipython()
            renders, render = [], shell.InteractiveTB.structured_traceback
            shell.InteractiveTB.structured_traceback = lambda *a, **k: renders.append(1) or render(*a, **k)
            mapped = len(inspect._filesbymodname)
            """)
        reply = kernel.client.execute_interactive("1 / 0", timeout=60)
        facts = json.loads(kernel.run("""
            import json, sys
            print(json.dumps({'renders': len(renders), 'mapped': mapped, 'modules': len(sys.modules),
                              'new': len(inspect._filesbymodname) - mapped,
                              'stored': list(shell.history_manager.exceptions.values())}))
            """))
    finally:
        kernel.close()
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "ZeroDivisionError"
    assert facts["renders"] == 1
    assert facts["stored"] == [{"ename": "ZeroDivisionError", "evalue": "division by zero",
                                "traceback": ["ZeroDivisionError: division by zero\n"]}]
    assert facts["mapped"] > facts["modules"] / 2, "the template mapped the modules it had loaded"
    assert facts["new"] < 100, "the kernel mapped only the few modules it loaded itself"


def test_the_warm_up_leaves_no_thread_no_source_and_no_tensorflow_runtime(tmp_path):
    script = tmp_path / "warm.py"
    script.write_text(textwrap.dedent("""
        import inspect, json, linecache, sys, threading
        import tensorflow
        from autograder.grading.kernel import template
        template.warm_tracebacks()
        print(json.dumps({'hazard': template.fork_hazard(), 'threads': threading.active_count(),
                          'source': template.WARM_UP_FILE in linecache.cache,
                          'mapped': len(inspect._filesbymodname), 'modules': len(sys.modules)}))
        """))
    out = subprocess.run([sys.executable, "-P", str(script)], capture_output=True, text=True, timeout=120,
                         env=dict(BASE_ENV, PYTHONPATH=str(Path(__file__).resolve().parents[2])))
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    assert facts == {**facts, "hazard": "", "threads": 1, "source": False}
    assert facts["mapped"] > facts["modules"] / 2


def test_killing_a_kernel_leaves_the_template_and_nothing_else(template):
    kernel = Kernel(template, "none")
    pid = kernel.process.pid
    kernel.close()
    assert kernel.process.poll() is not None
    deadline = time.time() + 10
    while time.time() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists()
    assert template.alive() and template.status()["hazard"] == ""


def test_template_does_not_grow_with_the_kernels_it_forks(template):
    """Each kernel allocates and fills 200 MB; the template's resident size stays where it was."""
    Kernel(template, "none").close()   # the first fork faults in what every fork touches
    before = template.status()
    for _ in range(4):
        kernel = Kernel(template, "none")
        try:
            kernel.run("import numpy as np\nblock = np.ones(25_000_000)\nprint(block.sum())")
        finally:
            kernel.close()
    after = template.status()
    assert after["forks"] == before["forks"] + 4
    assert after["rss_kb"] - before["rss_kb"] < 5_000, (before, after)
    assert after["peak_rss_kb"] - before["peak_rss_kb"] < 5_000, (before, after)


def test_template_refuses_to_fork_once_tensorflow_ran_an_op(tmp_path):
    """Forking is safe after `import tensorflow` only while its runtime has not started: the template checks
    before every fork, and the worker falls back to a cold kernel with the reason."""
    (tmp_path / "runs_an_op.py").write_text("import tensorflow as tf\nVALUE = float(tf.constant(1.0) + 1.0)\n")
    quiet = warm.Template(["tensorflow"], BASE_ENV)
    try:
        assert quiet.status()["hazard"] == ""
    finally:
        quiet.close()
    loud = warm.Template(["tensorflow", "runs_an_op"], dict(BASE_ENV, PYTHONPATH=str(tmp_path)))
    try:
        assert loud.info["failed"] == {}
        assert "TensorFlow's runtime was started" in loud.status()["hazard"]
        with pytest.raises(warm.WarmUnavailable, match="refusing to fork: TensorFlow's runtime was started"):
            loud.spawn(["-f", "unused"], dict(BASE_ENV), {})
    finally:
        loud.close()


def test_a_template_that_cannot_start_says_why(tmp_path):
    (tmp_path / "exits_at_import.py").write_text("import os\nos._exit(3)\n")
    with pytest.raises(warm.WarmUnavailable, match="did not start: the template process exited"):
        warm.Template(["exits_at_import"], dict(BASE_ENV, PYTHONPATH=str(tmp_path)))


# -- the executor falls back to a cold kernel, and says so ------------------------------------------

def run_notebook(tmp_path, kernels: str = "warm", last: str = "print(x, len(sys.argv) > 0)") -> tuple[dict, dict]:
    """GuardedExecute (as nbgrader's autograde runs it) on a two-cell notebook; (findings, its outputs)."""
    import nbformat

    from autograder.grading.worker.guarded_execute import GuardedExecute

    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys\nx = 20 + 22"),
                                         nbformat.v4.new_code_cell(last)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executor = GuardedExecute(report_dir=str(tmp_path / "findings"), sandbox_mode="none", kernels=kernels,
                              timeout=60)
    executor.preprocess(nb, {"metadata": {"path": str(work)}, "unique_key": "nb"})
    findings = json.loads((tmp_path / "findings" / "nb.json").read_text())
    return findings, nb.cells[1].outputs


def test_executor_forks_warm_kernels(tmp_path):
    findings, outputs = run_notebook(tmp_path)
    assert (findings["kernel"], findings["kernel_why"], findings["snapshot"]) == ("warm", "", "template")
    assert outputs[0]["text"] == "42 True\n"
    assert findings["overhead_seconds"] < findings["seconds"]
    assert findings["overhead_cpu_seconds"] > 0   # the kernel's start-up CPU, the template's fork, the worker's share


def test_the_report_gives_the_kernels_own_cpu_seconds(tmp_path):
    busy = "import time\nstart = time.process_time()\nwhile time.process_time() - start < 0.4:\n    pass"
    idle, _ = run_notebook(tmp_path / "idle", last="import time\ntime.sleep(0.4)")
    spent, _ = run_notebook(tmp_path / "busy", last=busy)
    assert spent["kernel_cpu_seconds"] >= 0.4 > idle["kernel_cpu_seconds"] > 0
    assert spent["kernel_cpu_seconds"] - idle["kernel_cpu_seconds"] > 0.3


def test_executor_falls_back_to_a_cold_kernel_when_the_template_cannot_start(tmp_path, monkeypatch):
    def unavailable(imports, env, protected_packages):
        raise warm.WarmUnavailable("this platform cannot fork kernels (simulated)")

    monkeypatch.setattr(warm, "template_for", unavailable)
    findings, outputs = run_notebook(tmp_path)
    assert findings["kernel"] == "cold" and "cannot fork kernels (simulated)" in findings["kernel_why"]
    assert findings["snapshot"] == "kernel"
    assert outputs[0]["text"] == "42 True\n"


def test_executor_falls_back_to_a_cold_kernel_when_the_template_refuses_to_fork(tmp_path, monkeypatch):
    (tmp_path / "runs_an_op.py").write_text("import tensorflow as tf\nVALUE = float(tf.constant(1.0) + 1.0)\n")
    refusing = warm.Template(["tensorflow", "runs_an_op"], dict(BASE_ENV, PYTHONPATH=str(tmp_path)))
    monkeypatch.setattr(warm, "template_for", lambda imports, env, protected_packages: refusing)
    try:
        findings, outputs = run_notebook(tmp_path)
    finally:
        refusing.close()
    assert findings["kernel"] == "cold" and "refusing to fork: TensorFlow's runtime" in findings["kernel_why"]
    assert outputs[0]["text"] == "42 True\n"


def test_ready_client_is_ready_when_the_kernel_answers_and_says_when_it_died(template):
    """The executor's client (kernel_client.ReadyClient): ready once the kernel is idle after kernel_info, with
    nothing of the start-up left to mix into a cell's outputs; a dead kernel is an error, not a hang."""
    import asyncio

    from autograder.grading.worker.kernel_client import ReadyClient

    kernel = Kernel(template, "none")
    try:
        client = ReadyClient(connection_file=kernel.client.connection_file)
        client.load_connection_file()

        async def session() -> list[str]:
            client.start_channels()
            await client.wait_for_ready(timeout=30)
            msg_id = client.execute("print(6 * 7)")
            texts = []
            while True:
                msg = await client.get_iopub_msg(timeout=30)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "stream":
                    texts.append(msg["content"]["text"])
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    return texts

        assert asyncio.run(session()) == ["42\n"]
        kernel.process.kill()
        kernel.process.wait(10)
        with pytest.raises(RuntimeError, match="died|didn't respond"):
            asyncio.run(client.wait_for_ready(timeout=5))
        client.stop_channels()
    finally:
        kernel.close()


# -- the template server: one import for every worker of the machine --------------------------------------

def _ppid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def _gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z":
                return True   # exited, not yet reaped by its parent
        except OSError:
            return True
        time.sleep(0.05)
    return False


SERVED = ["numpy", "wave"]   # what the test server imports: wave, unlike numpy, is not loaded by every template


@pytest.fixture
def server():
    from autograder.grading.parent.template_server import TemplateServer
    from autograder.grading.worker.template_spec import warm_template

    os.environ[SECRET] = "must not reach a kernel"
    try:
        started = TemplateServer(warm_template(SERVED, BASE_ENV, ["numpy"]))
    finally:
        os.environ.pop(SECRET)
    yield started
    started.close()
    assert started.process.poll() is not None and not Path(started.path).parent.exists()


def test_a_template_server_forks_each_worker_a_template_of_its_own(server):
    """Two workers' templates: both forked from the one server (which imported numpy once), each serving its
    own worker; a kernel of one is the sandboxed kernel a worker's own template forks."""
    first = warm.Template(SERVED, BASE_ENV, ["numpy"], server=server.path)
    second = warm.Template(SERVED, BASE_ENV, ["numpy"], server=server.path)
    try:
        assert first.info["origin"] == second.info["origin"] == "server"
        assert first.server_refusal == ""
        assert first.info["pid"] != second.info["pid"]
        assert _ppid(first.info["pid"]) == _ppid(second.info["pid"]) == server.process.pid
        assert first.info["failed"] == {} and "IPython" in first.loaded   # the report a template of its own gives
        kernel = Kernel(second, "none", imports=SERVED)
        try:
            facts = json.loads(kernel.run("import json, os, sys\n"
                                          "print(json.dumps({'numpy': 'numpy' in sys.modules, 'env': sorted(os.environ)}))"))
            assert kernel.hello()["snapshot"]["from"] == "template"
        finally:
            kernel.close()
        assert facts["numpy"] and SECRET not in facts["env"]
        assert second.status()["forks"] == 1 and first.status()["forks"] == 0
    finally:
        first.close()
        second.close()
    assert _gone(first.info["pid"]) and _gone(second.info["pid"])
    assert server.process.poll() is None, "a worker's template leaving does not stop the server"


@pytest.mark.parametrize("ask", [dict(imports=["numpy"]), dict(env=dict(BASE_ENV, LANG="C.UTF-8")),
                                 dict(protected=["numpy", "autograder"])])
def test_a_worker_that_needs_another_template_starts_its_own(server, ask):
    """A notebook that does not import what the server imported (wave), or whose kernels get another
    environment or guard, gets a template of its worker's own."""
    imports, env, protected = ask.get("imports", SERVED), ask.get("env", BASE_ENV), ask.get("protected", ["numpy"])
    template = warm.Template(imports, env, protected, server=server.path)
    try:
        assert template.info["origin"] == "own" and _ppid(template.info["pid"]) == os.getpid()
        assert "the template server refuses: another template" in template.server_refusal
        assert ("does not import wave" in template.server_refusal) == ("imports" in ask)
    finally:
        template.close()


def test_a_notebook_importing_more_gets_a_forked_template_that_imports_the_rest(server, tmp_path):
    """Lesson 7 imports its own helper module besides what lesson 1 imports: its template is still forked
    from the server, imports the helper, and its kernels take its guard snapshot over (modules every template
    loads, like `warnings`, make no difference); an extra import that fails is reported as a template's own."""
    more = warm.Template([*SERVED, "warnings", "colorsys"], BASE_ENV, ["numpy"], server=server.path)
    broken = warm.Template([*SERVED, "no_such_module_here"], BASE_ENV, ["numpy"], server=server.path)
    try:
        assert more.info["origin"] == broken.info["origin"] == "server"
        assert more.info["failed"] == {} and "ModuleNotFoundError" in broken.info["failed"]["no_such_module_here"]
        kernel = Kernel(more, "none", imports=(*SERVED, "warnings", "colorsys"))
        try:
            assert kernel.run("import sys\nprint('colorsys' in sys.modules)") == "True\n"
            assert kernel.hello()["snapshot"]["from"] == "template"
        finally:
            kernel.close()
    finally:
        more.close()
        broken.close()
    plain = warm.Template(SERVED, BASE_ENV, ["numpy"], server=server.path)   # the server imported no more
    try:
        kernel = Kernel(plain, "none", imports=SERVED)
        try:
            assert kernel.run("import sys\nprint('colorsys' in sys.modules, 'wave' in sys.modules)") == "False True\n"
        finally:
            kernel.close()
    finally:
        plain.close()


def test_without_its_server_a_worker_starts_its_own_template(server):
    server.close()
    template = warm.Template(SERVED, BASE_ENV, ["numpy"], server=server.path)
    try:
        assert template.info["origin"] == "own"
        assert "the template server did not answer" in template.server_refusal
    finally:
        template.close()


def test_a_forked_template_dies_with_its_worker_and_with_the_server(server):
    """A worker that dies leaves its socket closed: its template exits.  A server that dies (with the
    command) takes every template it forked with it, and their kernels."""
    orphaned = warm.Template(SERVED, BASE_ENV, ["numpy"], server=server.path)
    orphaned._sock.close()   # what the kernel does for a worker killed with SIGKILL
    assert _gone(orphaned.info["pid"])
    template = warm.Template(SERVED, BASE_ENV, ["numpy"], server=server.path)
    kernel = Kernel(template, "none", imports=SERVED)
    try:
        server.process.kill()
        assert _gone(template.info["pid"]) and _gone(kernel.process.pid)
    finally:
        kernel.client.stop_channels()
        os.close(kernel.channel_r)
        shutil.rmtree(kernel.jail, ignore_errors=True)
        template.close()


def test_a_stranger_gets_no_template(server):
    """A client that sends no socket, or garbage, is refused, and the server goes on serving."""
    import socket

    for message, fds in ((b"not json", [0]), (json.dumps({"imports": ["numpy"]}).encode(), [])):
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
            conn.settimeout(30)
            conn.connect(server.path)
            socket.send_fds(conn, [message], fds)
            reply = json.loads(conn.recv(65536))
        assert reply["error"].startswith("the template server refuses"), reply
    template = warm.Template(SERVED, BASE_ENV, ["numpy"], server=server.path)
    try:
        assert template.info["origin"] == "server"
    finally:
        template.close()


def test_the_command_asks_the_server_for_the_template_the_workers_need(tmp_path):
    """The command computes the template from the course's config and the first source notebook without the
    grading machinery; it is the one GuardedExecute asks for (so workers are served), and None for cold kernels."""
    import nbformat
    from traitlets.config import Config

    from autograder.grading.parent.template_server import assignment_spec
    from autograder.grading.protocol import PROTECTED_PACKAGES
    from autograder.grading.worker.guarded_execute import GuardedExecute
    from autograder.grading.worker.kernel_config import kernel_config

    source = tmp_path / "source" / "ps1"
    source.mkdir(parents=True)
    locked = nbformat.v4.new_code_cell("import numpy as np\nimport wave", metadata={"nbgrader": {"locked": True}})
    answer = nbformat.v4.new_code_cell("import json  # the student's: not trusted, not imported by the template")
    nbformat.write(nbformat.v4.new_notebook(cells=[locked, answer]), source / "a.ipynb")
    config_file = tmp_path / "nbgrader_config.py"
    config_file.write_text("c = get_config()\nc.GuardedExecute.extra_env = {'COURSE_SEED': '7'}\n")
    spec = assignment_spec(config_file, source, {"memory_mb": 2048})
    assert spec["imports"] == ["numpy", "wave"] and spec["env"]["COURSE_SEED"] == "7"
    assert spec["protected_packages"] == sorted(PROTECTED_PACKAGES)
    config = Config()
    config.GuardedExecute.extra_env = {"COURSE_SEED": "7"}
    config.merge(kernel_config(limits={"memory_mb": 2048}))
    assert GuardedExecute(config=config).template_spec(["wave", "numpy"]) == spec
    assert assignment_spec(config_file, source, {"kernels": "cold"}) is None
    config_file.write_text("c = get_config()\nc.GuardedExecute.protected_packages = ['numpy']\n")
    assert assignment_spec(config_file, source, None)["protected_packages"] == ["numpy"]


def test_only_the_command_and_its_workers_get_a_template(server, tmp_path):
    """The server serves the process that started it and that process's children (the workers), never a
    process further down, such as a kernel that found the socket: a template it got would fork kernels
    outside its sandbox."""
    (tmp_path / "request.json").write_text(json.dumps(server.spec))
    script = tmp_path / "ask.py"
    script.write_text(textwrap.dedent(f"""
        import json, socket
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
            conn.connect({server.path!r})
            socket.send_fds(conn, [open({str(tmp_path / "request.json")!r}, "rb").read()], [theirs.fileno()])
            print(json.loads(conn.recv(65536)).get("error", "served"))
        """))
    child = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    grandchild = subprocess.run(["sh", "-c", f"{sys.executable} {script}; true"], capture_output=True, text=True,
                                timeout=60)
    assert child.stdout.strip() == "served", child.stderr
    assert "neither the command nor one of its workers" in grandchild.stdout, grandchild.stderr
