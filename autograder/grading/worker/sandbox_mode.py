"""Which sandbox the kernels of this machine get: Linux namespaces where they work, the limits alone elsewhere.

Decided in the worker, once per process (a probe with util-linux's ``unshare``); the kernel enters the
sandbox it is told (:mod:`autograder.grading.kernel.sandbox`, from the profile in
:data:`autograder.grading.protocol.PROFILE_ENV`).
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess

from ..protocol import MODE_ENV, UNSHARE


@functools.lru_cache(maxsize=1)
def namespaces_available() -> tuple[bool, str]:
    """(usable, why not): can this machine run the kernel in its own user/mount/net/pid namespaces?"""
    missing = [tool for tool in ("unshare", "setpriv", "mount") if shutil.which(tool) is None]
    if missing:
        return False, f"{', '.join(missing)} not installed (util-linux)"
    try:
        probe = subprocess.run([*UNSHARE, "sh", "-c", "mount -t tmpfs none /tmp && mount -o remount,bind,ro /"],
                               capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, f"unshare failed: {err}"
    if probe.returncode != 0:
        return False, f"user namespaces unavailable: {probe.stderr.strip()[:200]}"
    return True, ""


def best_mode() -> tuple[str, str]:
    """The sandbox mode to use here and, when it is the weaker one, why."""
    forced = os.environ.get(MODE_ENV, "").strip()
    if forced == "none":
        return "none", f"{MODE_ENV}=none"
    usable, why = namespaces_available()
    if forced == "namespaces" and not usable:
        raise RuntimeError(f"{MODE_ENV}=namespaces but {why}")
    return ("namespaces", "") if usable else ("none", why)
