"""The first lines every lesson runs: quiet, deterministic TensorFlow."""
from __future__ import annotations

import contextlib
import importlib
import os
import sys


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
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
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
