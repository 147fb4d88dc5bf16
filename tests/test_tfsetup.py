"""The lessons' set-up: warnings are shown under the cell, never written to stderr (where nbgrader would take
a test cell's points for them); errors still fail the cell."""
import nbclient
import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from autograder.nbgrader_runner import nbgrader_env

SETUP = "import logging, warnings\nfrom autograder.tfsetup import show_warnings_as_output\nshow_warnings_as_output()"


def _run(*sources):
    nb = new_notebook(cells=[new_code_cell(SETUP), *(new_code_cell(s) for s in sources)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbclient.NotebookClient(nb, timeout=60, allow_errors=True, env=nbgrader_env()).execute()
    return [[(o.output_type, o.get("name"), o.get("text") or o.get("data", {}).get("text/plain"))
             for o in cell.outputs] for cell in nb.cells[1:]]


def test_warnings_and_logged_warnings_are_outputs_not_stderr():
    warned, logged, printed, failed = _run(
        "warnings.warn('Gradients do not exist for variables', UserWarning)",
        "logging.getLogger('tensorflow').warning('5 out of the last 5 calls triggered tf.function retracing')",
        "import sys; print('the student wrote this', file=sys.stderr)",
        "raise ValueError('a real error')")
    assert warned == [("display_data", None, "UserWarning: Gradients do not exist for variables")]
    assert logged == [("display_data", None,
                       "tensorflow warning: 5 out of the last 5 calls triggered tf.function retracing")]
    assert printed == [("stream", "stderr", "the student wrote this\n")]   # only warnings are moved
    assert failed[0][0] == "error"


def test_a_cell_can_still_record_warnings_itself():
    (recorded,) = _run("with warnings.catch_warnings(record=True) as caught:\n"
                       "    warnings.simplefilter('always')\n    warnings.warn('x')\nprint(len(caught))")
    assert recorded == [("stream", "stdout", "1\n")]


def test_the_lessons_and_the_grader_run_tensorflow_with_the_same_numerical_kernels():
    """oneDNN's custom operations are off wherever the course's TensorFlow runs: a lesson's kernel (its first
    cell calls silence_tensorflow before importing TensorFlow, whatever the student's environment says) and
    the grader's kernels and warm templates (their environment)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from autograder.grading.worker.template_spec import kernel_base_env

    root = Path(__file__).resolve().parent.parent

    probe = "from tensorflow.python.util import _pywrap_util_port as port; print(port.IsMklEnabled())"
    lesson = subprocess.run(
        [sys.executable, "-c", "from autograder.tfsetup import silence_tensorflow\nsilence_tensorflow()\n" + probe],
        capture_output=True, text=True, timeout=120, env=dict(os.environ, TF_ENABLE_ONEDNN_OPTS="1"))
    grader = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                            env=dict(kernel_base_env({}), PYTHONPATH=str(root)))
    default = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                             env={k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"})
    assert (lesson.stdout.strip(), grader.stdout.strip()) == ("False", "False"), (lesson.stderr, grader.stderr)
    assert default.stdout.strip() == "True", "TensorFlow's default, which the course turns off, is on"
