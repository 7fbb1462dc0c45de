"""What every benchmark script shares: the repository's paths, one error type, progress lines.

``server`` starts and stops gunicorn, Celery and the in-process WSGI app; ``database`` sets up
and seeds the benchmark database; ``load`` and ``open_loop`` generate closed- and open-loop
HTTP load; ``traffic`` builds the storefront's requests; ``report`` holds the percentile
function, tables, charts and the files a run writes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
HOST = "127.0.0.1"


class BenchError(RuntimeError):
    """A benchmark cannot go on; the message says what to fix."""


def say(bench: str, message: str) -> None:
    """A progress line on stderr, so stdout holds only the results."""
    print(f"[{bench} {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
