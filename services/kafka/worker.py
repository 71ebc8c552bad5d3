"""The worker process: faust's `Worker` without its terminal spinner.

faust 0.15.3's Worker draws a spinner for every log record when the level is WARN or above, and
so that it sees every record it sets the *root logger* to DEBUG (`Worker._setup_spinner_handler`).
Every library's debug call then builds a `LogRecord`: trafilatura logs several per page, which
cost ~2.5 % of a loaded worker's samples (py-spy at max throughput). A worker logs to a file
or a container, with no terminal to spin on, so the root logger keeps the level asked for.
"""

from __future__ import annotations

import logging

import faust


class Worker(faust.Worker):
    """`faust.Worker` whose root logger stays at the requested level."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        # mode's logging setup has already put the root logger at `level`; skipping the spinner
        # handler is all it takes to leave it there.
        self.spinner = None
