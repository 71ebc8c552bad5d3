"""The worker keeps the root logger at the level asked for (faust's spinner sets it to DEBUG)."""

from __future__ import annotations

import gc
import io
import logging
from collections.abc import Iterator

import faust
import pytest

from services.kafka.worker import Worker


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    gc.unfreeze()  # the Worker froze the test process's objects


def _root_level_after_setup(worker_class: type[faust.Worker]) -> int:
    app = faust.App("newsflow-logging-test", broker="kafka://127.0.0.1:1")
    worker = worker_class(app, loglevel="warning", quiet=True, stdout=io.StringIO(), stderr=io.StringIO())
    worker._setup_logging()
    return logging.getLogger().level


def test_faust_worker_turns_every_debug_call_into_a_record(restore_logging: None) -> None:
    """Why the subclass exists: with faust's own Worker a library's debug line is built and handled."""
    assert _root_level_after_setup(faust.Worker) == logging.DEBUG


def test_worker_keeps_the_requested_level(restore_logging: None) -> None:
    assert _root_level_after_setup(Worker) == logging.WARNING
    assert not logging.getLogger("trafilatura.htmlprocessing").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("services.app").isEnabledFor(logging.WARNING)
