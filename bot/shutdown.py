"""A last resort for shutdown: if closing resources hangs, dump every thread's stack and exit.

An intermittent hang after a clean worker stop was seen once in CI (a database pool close that never
returned). Work is already committed by then, so a supervisor restarting a stuck process is worse than
exiting: this turns the hang into a logged stack dump and an exit after `seconds`.
"""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
from typing import Final

EXIT_CODE_AFTER_HANG: Final = 3


def arm_exit_watchdog(seconds: float, what: str) -> threading.Timer:
    def fire() -> None:
        sys.stderr.write(f"hub: {what} did not finish shutting down within {seconds:g} s; stacks follow\n")
        faulthandler.dump_traceback(all_threads=True)
        sys.stderr.flush()
        os._exit(EXIT_CODE_AFTER_HANG)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer
