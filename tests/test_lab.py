"""The README's main command starts JupyterLab on notebooks/ with nbgrader's extensions loaded."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from autograder.paths import ROOT

TOKEN = "course-test-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, data: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, response.read().decode()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port = _free_port()
    log = (tmp_path_factory.mktemp("lab") / "lab.log").open("w+")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path_factory.mktemp("runtime")))
    # Exactly the README's command, plus what a headless test needs.
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "course.py"), "lab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(f"{base}/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"JupyterLab did not start:\n{log.read()}")
                time.sleep(0.5)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_lab_serves_the_course_notebooks(lab):
    """/lab answers, and the file browser's root is notebooks/ (the student versions)."""
    status, page = _get(f"{lab}/lab")
    assert status == 200 and "JupyterLab" in page
    _, listing = _get(f"{lab}/api/contents")
    names = {item["name"] for item in json.loads(listing)["content"]}
    assert names == {p.name for p in (ROOT / "notebooks").iterdir() if p.is_dir()}


def test_nbgrader_lab_extension_assets_are_served(lab):
    """The page loads nbgrader's lab extension and its assets are reachable."""
    _, page = _get(f"{lab}/lab")
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    nbgrader = [e for e in config["federated_extensions"] if e["name"] == "@jupyter/nbgrader"]
    assert nbgrader, "nbgrader's lab extension is not installed"
    status, script = _get(f"{lab}/lab/extensions/@jupyter/nbgrader/{nbgrader[0]['load']}")
    assert status == 200 and len(script) > 100


def test_validate_button_endpoint_reports_the_unsolved_exercise(lab):
    """What the Validate button calls: an unsolved student notebook is reported as failing."""
    body = urllib.parse.urlencode({"path": "lesson01_variables/lesson01_variables.ipynb"}).encode()
    _, reply = _get(f"{lab}/assignments/validate", data=body)
    result = json.loads(reply)
    assert result["success"] is True, result
    failed = result["value"]["failed"]
    assert len(failed) == 1 and "Check that `scale`" in failed[0]["source"], failed
    assert "NameError" in failed[0]["error"]  # the stub raised, so `scale` was never defined
