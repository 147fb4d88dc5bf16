"""The one place where grading decides how a submission's kernel is started.

nbgrader's ``Execute`` preprocessor (an nbconvert ``ExecutePreprocessor``) launches one kernel per
notebook through a jupyter_client kernel manager.  Every scratch course a worker grades gets its
kernel settings from :func:`kernel_config`, so a later change (a pre-warmed, forked kernel behind a
jupyter_client kernel provisioner, time and memory limits) is made here and nowhere else.
"""
from __future__ import annotations

from traitlets.config import Config


def kernel_config() -> Config:
    """Config merged over the course's own config in each worker's scratch course.

    Today: nbgrader's defaults (``AsyncKernelManager``, the notebook's kernel spec, the course's
    ``ExecutePreprocessor.timeout``).  The kernel-launch hook for later work:
    ``c.Execute.kernel_manager_class`` or ``c.KernelManager.provisioner`` / ``kernel_spec`` metadata.
    """
    return Config()


def kernel_env() -> dict[str, str]:
    """Environment variables a worker sets before it starts kernels (the kernel inherits them)."""
    return {"TF_CPP_MIN_LOG_LEVEL": "3"}
