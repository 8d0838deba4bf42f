"""Child processes that do not outlive the process that started them."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys

PR_SET_PDEATHSIG = 1
# Set by `imagescaler up` for its children: the pid they must not outlive.
PARENT_PID_VARIABLE = "IMAGESCALER_STOP_WITH_PARENT"


def stop_with_parent_if_asked() -> None:
    """In a child of `up`, at start: ask Linux for SIGTERM when the parent dies, then make
    sure it has not died already (it could have, between fork and here)."""
    expected = os.environ.pop(PARENT_PID_VARIABLE, None)
    if expected is None or sys.platform != "linux":
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(expected):
        sys.exit("the process that started this one has already stopped")


def with_parent_death_signal(command: list[str]) -> list[str]:
    """`command` run so that it gets SIGTERM when we die, for programs that are not ours
    (util-linux's setpriv; `up` has threads, so no preexec_fn)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--", *command] if setpriv else command
