"""What the benchmarks share: progress lines, a failure type, child-process figures and the `main` harness.

`run_main` gives each benchmark the same behaviour: SIGTERM and Ctrl-C stop the child processes in order
(exit 130), a failed set-up prints one line (exit 1), a missed target exits 1, and everything lives in a
temporary directory that is removed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn


class BenchError(RuntimeError):
    """The benchmark could not run (a child process failed to start or died, wrk failed, ...)."""


def progress(message: str) -> None:
    print(f"-- {message}", flush=True)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (NaN once it is gone)."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return math.nan


def tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _interrupt(_signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt


def run_main(name: str, body: Callable[[Path, contextlib.ExitStack], bool]) -> int:
    """Run `body(temp dir, exit stack)` (True: every target met); the stack's callbacks stop the children."""
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    with tempfile.TemporaryDirectory(prefix=f"{name.replace('_', '-')}-") as tmp, contextlib.ExitStack() as stack:
        try:
            return 0 if body(Path(tmp), stack) else 1
        except KeyboardInterrupt:
            progress("interrupted; stopping the child processes")
            return 130
        except (BenchError, OSError, subprocess.SubprocessError) as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 1
