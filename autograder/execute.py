"""Executing the solution notebooks on a fresh kernel and storing them clean."""
from __future__ import annotations

import time
from pathlib import Path

import nbclient
import nbformat

from . import hygiene


def execute_notebook(path: Path, *, timeout: int = 300) -> float:
    """Execute `path` top to bottom in a fresh kernel, in its own folder; store it cleaned.

    Returns the wall-clock seconds the run took. Raises nbclient's CellExecutionError
    (naming the cell) when a cell fails; the stored file is then left untouched.
    """
    nb = hygiene.read(path)
    started = time.perf_counter()
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    elapsed = time.perf_counter() - started
    hygiene.clean(nb, keep_outputs=True)
    path.write_text(hygiene.dumps(nb), encoding="utf-8")
    return elapsed
