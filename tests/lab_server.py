"""Start JupyterLab exactly as the README's main command does (`python3 course.py lab`), headless."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from autograder.paths import ROOT

TOKEN = "course-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, data: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, response.read().decode()


@contextlib.contextmanager
def running_lab(workdir: Path, *extra_args: str):
    """Yield the base URL of a JupyterLab started with `course.py lab`; stop it afterwards."""
    # A private runtime, workspace and settings directory: no tabs restored from an earlier session,
    # and no "Jupyter news" prompt over the page.
    settings = workdir / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(workdir / "lab-workspaces"),
               JUPYTERLAB_SETTINGS_DIR=str(workdir / "lab-settings"))
    with running_server([sys.executable, str(ROOT / "course.py"), "lab"], ROOT, workdir, env, *extra_args) as base:
        yield base


@contextlib.contextmanager
def running_server(command: list[str], cwd: Path, workdir: Path, env: dict[str, str], *extra_args: str):
    """Yield the base URL of a Jupyter server started by ``command`` in ``cwd`` (log in ``workdir``); stop it
    afterwards (its whole process group)."""
    port = free_port()
    log = (workdir / "lab.log").open("w+")
    proc = subprocess.Popen(
        [*command, "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}", *extra_args],
        cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                get(f"{base}/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"the Jupyter server did not start:\n{log.read()}")
                time.sleep(0.5)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
