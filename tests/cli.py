"""Running the command line as an operator does: `main.py` in a subprocess, with no MDESK_* setting
from the test run's own environment, only those the test gives."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

from tests.conftest import REPO


def run_main(
    *args: str, settings: dict[str, str] | None = None, prefix: Sequence[str] = (), input_text: str | None = None
) -> subprocess.CompletedProcess:
    """`python main.py ARGS` with `settings` as its only MDESK_* variables; `prefix` runs it under
    another command (e.g. one that drops root's powers)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDESK_")}
    env.update(settings or {})
    return subprocess.run(
        [*prefix, sys.executable, "main.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        input=input_text,
        text=True,
        timeout=120,
        check=False,
    )
