"""Validate on a damaged notebook (issue 21): say so, and how to get a clean copy, instead of testing it.

Installed as nbclient's ``on_notebook_start`` hook of the Execute that nbgrader's Validator runs
(``jupyter-config/nbgrader_config.py``: ``c.Validator.Execute.on_notebook_start``).  When the notebook is one
of the course's lessons (found by content among ``notebooks/``) and nbgrader's metadata or cells were lost,
the notebook Validate executes is replaced by one graded cell that fails with the explanation, so Validate
lists exactly that message.  Only under Validate (``NBGRADER_VALIDATING``); the grader repairs such
notebooks itself (:mod:`autograder.grading.worker.repair`).
"""
from __future__ import annotations

import os

import nbformat

from .grading.worker.repair.match import normalized
from .grading.worker.repair.messages import note, unmatched_message
from .grading.worker.repair.repair import repair_notebook
from .paths import NOTEBOOKS

ADVICE = ("This notebook was damaged: {what}.\n"
          "An editor that does not know nbgrader (VS Code, Colab, a script converter, an older Jupyter) dropped what\n"
          "marks the exercises and tests, so Validate cannot check it (grading repairs only what it recognises).\n"
          "Get a clean copy: fetch the assignment again (or copy notebooks/{folder}/{name} from the course),\n"
          "paste your answers into its answer cells, and validate that copy.")


def release_for(nb) -> tuple[str, object] | None:
    """(path relative to notebooks/, release notebook) of the lesson ``nb`` is a copy of, or None."""
    sources = {normalized(c.source) for c in nb.cells if c.source.strip()}
    best, best_share = None, 0.5
    for path in sorted(NOTEBOOKS.glob("*/*.ipynb")):
        release = nbformat.read(str(path), as_version=4)
        share = sum(normalized(c.source) in sources for c in release.cells) / max(1, len(release.cells))
        if share > best_share:
            best, best_share = (path.relative_to(NOTEBOOKS), release), share
    return best


def damage(nb) -> tuple[str, str] | None:
    """(what is wrong, notebooks/ path of the clean copy) when ``nb`` is a damaged copy of a lesson."""
    found = release_for(nb)
    if found is None:
        return None
    rel, release = found
    repair = repair_notebook(rel.name, (nbformat.writes(nb) + "\n").encode(), release)
    what = [note(repair).removeprefix("repaired: ").removesuffix("; matched by content")] if repair.damaged else []
    what += [unmatched_message(u).split(";")[0] for u in (repair.match.unmatched if repair.match else [])]
    what = [w for w in what if w and "cell ids" not in w and "nbformat" not in w]   # harmless to Validate
    return ("; ".join(what), str(rel)) if what else None


def on_notebook_start(notebook, **_) -> None:
    """nbclient hook: a damaged lesson is replaced, for this validation only, by one failing cell that says so."""
    if os.environ.get("NBGRADER_VALIDATING") != "1":
        return
    found = damage(notebook)
    if found is None:
        return
    what, rel = found
    folder, _, name = rel.partition("/")
    text = ADVICE.format(what=what, folder=folder, name=name)
    cell = nbformat.v4.new_code_cell(f'raise RuntimeError("""\n{text}\n""")')
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "damaged_notebook", "locked": True, "points": 0,
                                 "solution": False, "task": False, "schema_version": 3}
    from nbgrader.utils import compute_checksum

    cell.metadata.nbgrader["checksum"] = compute_checksum(cell)
    notebook.cells[:] = [cell]
