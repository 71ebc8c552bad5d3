"""The worker process: faust's `Worker` without its terminal spinner, models out of the GC's way.

faust 0.15.3's Worker draws a spinner for every log record when the level is WARN or above, and
so that it sees every record it sets the *root logger* to DEBUG (`Worker._setup_spinner_handler`).
Every library's debug call then builds a `LogRecord`: trafilatura logs several per page, which
cost ~2.5 % of a loaded worker's samples (py-spy at max throughput). A worker logs to a file
or a container, with no terminal to spin on, so the root logger keeps the level asked for.

The stage cores load ~200k long-lived objects (models, keyword tables, gazetteers). Every full
collection of Python's cyclic GC walked all of them: ~105 ms with the whole process stopped,
added to the latency of every record in flight. They never become garbage, so the worker freezes
them (`gc.freeze`) once they are loaded; a full collection then walks only what came after.

A stop has a deadline. With the broker gone, mode's stop waits 60 s for the consumer thread
(measured: 61 s from SIGTERM to exit; a worker that had just processed a run was still stopping
2 minutes after SIGTERM); mode also ignores every signal after the first. So a second SIGTERM/SIGINT exits
at once, and a stop that outlasts NEWSFLOW_SHUTDOWN_GRACE_S exits too. Both are safe for the data:
offsets are committed only for finished records, so whatever was in flight is redelivered.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
from typing import Any

import faust

log = logging.getLogger(__name__)


class Worker(faust.Worker):
    """`faust.Worker` whose root logger stays at the requested level, its app's models frozen."""

    def __init__(self, app: faust.App, *args: Any, pinned_cpu: int | None = None,
                 shutdown_grace_s: float | None = None, **kwargs: Any) -> None:
        super().__init__(app, *args, **kwargs)
        self.pinned_cpu = pinned_cpu  # NEWSFLOW_WORKER_CPU, applied before any thread started
        self.shutdown_grace_s = shutdown_grace_s  # NEWSFLOW_SHUTDOWN_GRACE_S
        freeze_loaded_objects()  # create_app loaded the models

    async def on_start(self) -> None:
        await super().on_start()
        if self.pinned_cpu is not None:  # logging is set up by now
            log.info("worker: pinned to CPU %d (NEWSFLOW_WORKER_CPU)", self.pinned_cpu)

    def _schedule_shutdown(self, sig: signal.Signals) -> None:
        if self._signal_stop_time:  # mode would ignore it
            log.warning("worker: %s again while stopping: exiting now; records not yet committed will be "
                        "redelivered", sig.name)
            exit_now(128 + sig.value)
        super()._schedule_shutdown(sig)
        if self.shutdown_grace_s is not None:
            timer = threading.Timer(self.shutdown_grace_s, self._stop_overdue, args=(sig.name,))
            timer.daemon = True  # a stop in time ends the process without waiting for it
            timer.start()

    def _stop_overdue(self, signal_name: str) -> None:
        log.error("worker: still stopping %.0f s after %s (is the broker at %s reachable?); exiting without "
                  "waiting (NEWSFLOW_SHUTDOWN_GRACE_S). Records not yet committed will be redelivered.",
                  self.shutdown_grace_s, signal_name, ",".join(str(url) for url in self.app.conf.broker))
        exit_now(1)

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        # mode's logging setup has already put the root logger at `level`; skipping the spinner
        # handler is all it takes to leave it there.
        self.spinner = None


def freeze_loaded_objects() -> int:
    """Collect once, then move every object allocated so far out of the collector's reach."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def exit_now(code: int) -> None:
    """End the process without waiting for anything: flush the logs first, they say why."""
    logging.shutdown()
    os._exit(code)
