"""nbval sees a behaviour change: a copy of a lesson whose stored output no longer matches fails on that cell."""
import shutil
import subprocess
import sys

import nbformat

from autograder import paths

ASSIGNMENT = "lesson01_variables"


def test_nbval_reports_a_changed_output(tmp_path):
    """Simulate TensorFlow changing behaviour: the stored `trainable` output of a cell is flipped."""
    (source,) = paths.notebooks_of(paths.SOLUTIONS, ASSIGNMENT)
    copy = tmp_path / source.name
    shutil.copy2(source, copy)
    nb = nbformat.read(str(copy), as_version=4)
    target = next(c for c in nb.cells if c.cell_type == "code" and any(
        o.output_type == "stream" and "True" in o.text for o in c.outputs))
    stream = next(o for o in target.outputs if o.output_type == "stream" and "True" in o.text)
    stream.text = stream.text.replace("True", "False", 1)
    nbformat.write(nb, str(copy))

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--color=no", f"--rootdir={tmp_path}", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", str(paths.ROOT / "tests" / "nbval_sanitize.cfg"), str(copy)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)

    assert result.returncode == 1, result.stdout
    assert "1 failed" in result.stdout, result.stdout
    failed = [line.split(" - ")[0] for line in result.stdout.splitlines() if line.startswith("FAILED")]
    index = [c for c in nb.cells if c.cell_type == "code"].index(target)  # nbval counts code cells from 0
    assert failed == [f"FAILED {copy.name}::Cell {index}"], result.stdout
    assert "False" in result.stdout and "True" in result.stdout  # the report shows stored vs fresh
