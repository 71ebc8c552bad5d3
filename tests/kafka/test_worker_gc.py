"""The worker freezes what its app loaded (the stage models), so full collections skip it."""

from __future__ import annotations

import gc
import io

import faust

from services.kafka.worker import Worker


def test_worker_freezes_the_objects_loaded_before_it() -> None:
    gc.unfreeze()
    models = [{"token": i} for i in range(5000)]  # stands for the tables create_app loads
    try:
        Worker(faust.App("newsflow-gc-test", broker="kafka://127.0.0.1:1"), loglevel="warning", quiet=True,
               stdout=io.StringIO(), stderr=io.StringIO())
        assert gc.get_freeze_count() >= len(models)
        assert not any(obj is models for obj in gc.get_objects(generation=2))  # out of the collector's walk
    finally:
        gc.unfreeze()
