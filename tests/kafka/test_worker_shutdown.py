"""A worker asked to stop ends in bounded time, even when the broker is gone.

With the broker away, faust/mode's stop waits 60 s for the consumer thread, and mode ignores
every signal after the first. `services/kafka/worker.py` gives the stop a deadline
(NEWSFLOW_SHUTDOWN_GRACE_S) and lets a second signal end the process at once.

Own broker (own port and home): it is stopped under two running `newsflow worker` processes.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import pytest

from services.broker import free_port
from services.kafka.topics import ensure_topics
from services.settings import Settings
from services.up import start_child, stop_worker
from tests.local_broker import own_broker
from tests.worker_ready import wait_ready

pytestmark = [pytest.mark.broker, pytest.mark.timeout(240)]


def exit_within(worker: subprocess.Popen[bytes], seconds: float) -> float | None:
    """Seconds until the worker exited, or None if it was still running after `seconds`."""
    t0 = time.monotonic()
    try:
        worker.wait(seconds)
    except subprocess.TimeoutExpired:
        return None
    return time.monotonic() - t0


def test_a_stop_without_a_broker_ends_by_its_deadline_or_at_a_second_signal(tmp_path: Path) -> None:
    base = Settings(kafka=f"127.0.0.1:{free_port()}", home=tmp_path / "broker", controller_port=None,
                    broker_heap_mb=256)
    with own_broker(base, "the shutdown test's broker") as broker:
        settings = {
            name: base.model_copy(update={"home": tmp_path / name, "topic_prefix": f"{name}.", "app_id": name,
                                          "web_port": free_port(), "shutdown_grace_s": grace})
            for name, grace in (("deadline", 3.0), ("second", 120.0))
        }
        workers = {}
        try:
            for name, s in settings.items():
                asyncio.run(ensure_topics(s))
                workers[name] = start_child(s, ["worker", "--loglevel", "info"], "worker.log")
            for name, s in settings.items():
                wait_ready(s.web_port, workers[name], s.home / "worker.log")
            broker.stop()
            for worker in workers.values():
                worker.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert workers["second"].poll() is None, "stopped before the broker's absence could hold it"
            workers["second"].send_signal(signal.SIGTERM)

            second = exit_within(workers["second"], 15)
            deadline = exit_within(workers["deadline"], 30)  # without the deadline: 61 s (measured)
            logs = {name: (s.home / "worker.log").read_text(errors="replace") for name, s in settings.items()}
            assert second is not None, logs["second"][-3000:]
            assert workers["second"].returncode == 128 + signal.SIGTERM
            assert "SIGTERM again while stopping: exiting now" in logs["second"]
            assert deadline is not None, logs["deadline"][-3000:]
            assert workers["deadline"].returncode == 1
            assert "still stopping 3 s after SIGTERM" in logs["deadline"]
        finally:
            for worker in workers.values():
                stop_worker(worker, grace=5)
