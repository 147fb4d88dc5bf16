"""The first lines every lesson runs: quiet, deterministic TensorFlow."""
from __future__ import annotations

import contextlib
import html
import importlib
import logging
import os
import sys
import warnings

# The loggers TensorFlow and Keras write their Python-side warnings to (e.g. tf.function retracing).
WARNING_LOGGERS = ("tensorflow", "absl", "keras")


@contextlib.contextmanager
def _stderr_fd_discarded():
    """Send file descriptor 2 (where C++ code writes) to /dev/null; Python's sys.stderr is untouched."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def silence_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up logs discarded.

    `TF_CPP_MIN_LOG_LEVEL=3` hides TensorFlow's C++ info and warning logs, but on
    TF 2.21 the CUDA probe ("Could not find cuda drivers ...") prints before
    TensorFlow reads that variable, so the first import also runs with the C++
    side's stderr sent to /dev/null. Python warnings and errors still show.
    Call it before `import tensorflow`; later imports reuse the loaded module.

    It also turns oneDNN's custom operations off (`TF_ENABLE_ONEDNN_OPTS=0`), as the
    grader's kernels run (`autograder.grading.protocol.kernel_env`): the same numerical
    kernels in your notebook, in Validate and in the grader (oneDNN's may round
    differently, as TensorFlow's start-up note says), and no oneDNN layout pass each time
    TensorFlow builds a function (8 % of a graded lesson-1 kernel's CPU; the lessons'
    stored outputs are the same either way: nbval replays them with it off).
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    if "tensorflow" in sys.modules:
        return
    with _stderr_fd_discarded():
        importlib.import_module("tensorflow")


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _show_note(kind: str, text: str) -> None:
    from IPython.display import display

    display({"text/plain": f"{kind}: {text}",
             "text/html": f'<div class="course-warning"><b>{html.escape(kind)}</b>: {html.escape(text)}</div>'},
            raw=True, metadata={"autograder": "warning"})


class _NoteHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            _show_note(f"{record.name} {record.levelname.lower()}", record.getMessage())
        except Exception:  # noqa: BLE001 - a log line must never break the student's cell
            self.handleError(record)


def show_warnings_as_output() -> None:
    """Show Python warnings, and TensorFlow's and Keras's logged warnings, as an output under the cell
    instead of on stderr.

    nbgrader gives a graded test cell 0 points when it wrote anything to stderr, and TensorFlow and Keras
    warn there (Keras's "Gradients do not exist for variables ...", tf.function's retracing notice): a
    correct answer would lose its points for a warning. Shown as an output, the warning stays visible in
    JupyterLab, under Validate and in the feedback, the same way in all three. Errors still fail the cell.
    Outside IPython (no display), warnings keep Python's default behaviour.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is None:
        return

    def show(message, category, filename, lineno, file=None, line=None):
        _show_note(category.__name__, str(message))

    warnings.showwarning = show
    if "tensorflow" in sys.modules:  # its logger adds a stderr handler the first time it is asked for
        sys.modules["tensorflow"].get_logger()
    for name in WARNING_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [_NoteHandler(logging.WARNING)]
        logger.propagate = False
