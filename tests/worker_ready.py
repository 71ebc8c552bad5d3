"""Waiting for a `newsflow worker` child process to say it is ready (its /ready endpoint)."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson


def wait_ready(port: int, worker: subprocess.Popen[bytes] | None = None, log: Path | None = None,
               timeout: float = 120.0) -> dict[str, Any]:
    """/ready's body once it answers 200; fails at once (with the log's tail) if the worker exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker is not None and worker.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
            raise AssertionError(f"worker exited ({worker.returncode}) during startup\n{tail}")
        try:
            return orjson.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2).read())
        except Exception:
            time.sleep(0.5)
    raise AssertionError(f"worker on port {port} never became ready")
