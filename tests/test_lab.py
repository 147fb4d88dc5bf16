"""The README's main command starts JupyterLab on notebooks/ with nbgrader's extensions loaded."""
import json
import re
import urllib.parse

import nbformat

import pytest
from lab_server import get as _get
from lab_server import running_lab

from autograder.grading.protocol import nbgrader_md
from autograder.paths import ROOT


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with running_lab(tmp_path_factory.mktemp("lab")) as base:
        yield base


def test_lab_serves_the_course_notebooks(lab):
    """/lab answers, and the file browser's root is notebooks/ (the student versions)."""
    status, page = _get(f"{lab}/lab")
    assert status == 200 and "JupyterLab" in page
    _, listing = _get(f"{lab}/api/contents")
    names = {item["name"] for item in json.loads(listing)["content"]}
    assert names == {p.name for p in (ROOT / "notebooks").iterdir() if not p.name.startswith(".")}  # lessons + start page


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
    notebook = nbformat.read(str(ROOT / "notebooks" / "lesson01_variables" / "lesson01_variables.ipynb"), 4)
    graded = [c.source for c in notebook.cells if nbgrader_md(c).get("grade")]
    assert [f["source"] for f in failed] == graded  # every exercise unsolved: every graded cell fails
    assert "Check that `scale`" in failed[0]["source"] and "NameError" in failed[0]["error"]
