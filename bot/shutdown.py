"""A last resort for shutdown: if closing resources hangs, dump every thread's stack and exit.

An intermittent hang after a clean worker stop was seen in CI (not reproduced in isolation). Work is
committed by then, so exiting beats a stuck process. faulthandler's watchdog is a C thread: it fires
even when the hang holds the GIL, which a Python timer thread could not.
"""

from __future__ import annotations

import faulthandler

import structlog

log = structlog.get_logger(__name__)


def arm_exit_watchdog(seconds: float, what: str) -> None:
    # A log line (JSON with `logging.format: json`); only the stack dump itself is raw text.
    log.info("shutting down; the stacks are dumped if it takes longer", process=what, limit_s=seconds)
    faulthandler.dump_traceback_later(seconds, exit=True)
