"""Running a benchmark script the way a person would, for the smoke tests of `scripts/`."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def run_script(*args: str, timeout_s: float = 240) -> str:
    """Run `python scripts/<args>` from the repository and return its output (stdout then stderr). A script
    exits 0 when its targets hold and 1 when one is missed (expected on a short run on a loaded box); any
    other exit is a failure."""
    done = subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1), output
    return output
