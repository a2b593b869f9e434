"""A last resort for shutdown: if closing resources hangs, dump every thread's stack and exit.

An intermittent hang after a clean worker stop was seen in CI (not reproduced in isolation). Work is
committed by then, so exiting beats a stuck process. faulthandler's watchdog is a C thread: it fires
even when the hang holds the GIL, which a Python timer thread could not.
"""

from __future__ import annotations

import faulthandler
import sys


def arm_exit_watchdog(seconds: float, what: str) -> None:
    sys.stderr.write(f"hub: {what} is shutting down (stacks are dumped if it takes over {seconds:g} s)\n")
    sys.stderr.flush()
    faulthandler.dump_traceback_later(seconds, exit=True)
