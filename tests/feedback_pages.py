"""Feedback pages rendered from a stored autograded notebook, as nbgrader's GenerateFeedback renders them with
the course's configuration (autograder.grading.worker.feedback), without a kernel or a gradebook: the scores are read
from the notebook's stored ``metadata.nbgrader.score`` (what nbgrader's GetGrades would put there)."""
from __future__ import annotations

import copy
import os
from pathlib import Path

import nbformat

from autograder.grading.protocol import nbgrader_md

FIXTURE = Path(__file__).parent / "grading" / "fixtures" / "feedback" / "lesson03_two_failures.ipynb"


def failing_notebook() -> nbformat.NotebookNode:
    """Lesson 3's graded cells: exercise 1 failed in a hidden test, exercise 2 failed by the tracker."""
    return nbformat.read(str(FIXTURE), as_version=4)


def passing_notebook() -> nbformat.NotebookNode:
    """The same notebook with every test passed (errors removed, full points)."""
    nb = copy.deepcopy(failing_notebook())
    for cell in nb.cells:
        md = nbgrader_md(cell)
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if o.output_type != "error"]
        if md.get("grade"):
            md["score"] = md["points"]
    return nb


def render(nb: nbformat.NotebookNode, release_tests: bool = False, exporter_class=None) -> str:
    """The feedback page's HTML (by nbconvert's ``HTMLExporter``, or ``exporter_class``)."""
    import nbgrader
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    from autograder.grading.worker.feedback import feedback_config

    config = feedback_config(Config(), release_tests=release_tests)
    config.HTMLExporter.extra_template_paths = [os.path.join(   # what GenerateFeedback adds (bootstrap's CSS)
        os.path.dirname(nbgrader.__file__), "server_extensions/formgrader/static/node_modules/bootstrap/dist/css")]
    exporter = (exporter_class or HTMLExporter)(config=config)
    for preprocessor in config.GenerateFeedback.preprocessors[1:]:   # GetGrades: scores are stored
        exporter.register_preprocessor(preprocessor, enabled=True)
    graded = [nbgrader_md(c) for c in nb.cells if nbgrader_md(c).get("grade")]
    resources = {"nbgrader": {"notebook": "lesson03_example2_dense", "late_penalty": 0.0,
                              "score": sum(float(md["score"]) for md in graded),
                              "max_score": sum(float(md["points"]) for md in graded)}}
    body, _ = exporter.from_notebook_node(copy.deepcopy(nb), resources=resources)
    return body
