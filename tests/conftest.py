"""Shared fixtures. `kafka_broker`: one real local Kafka broker per test session.

Why session-scoped: a JVM broker takes ~6–10 s to start; tests share it and use unique topic and
group names. Missing java/mvn is a hard failure (CI installs them), never a skip.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from services.broker import LocalBroker, free_port
from services.kafka.topics import ensure_topics
from services.settings import Settings
from services.up import start_worker, stop_worker
from tests.local_broker import own_broker


@dataclass(frozen=True)
class RunningBroker:
    """What tests get: where to connect, and settings pointing at this broker."""

    bootstrap: str
    settings: Settings
    broker: LocalBroker


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBroker]:
    home = tmp_path_factory.mktemp("newsflow-home")
    settings = Settings(kafka=f"127.0.0.1:{free_port()}", home=home, controller_port=None, broker_heap_mb=256)
    with own_broker(settings) as broker:
        yield RunningBroker(bootstrap=broker.bootstrap, settings=settings, broker=broker)


@pytest.fixture(scope="module")
def pipeline(kafka_broker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Fresh topics (unique prefix) and one `newsflow worker` process on the session broker."""
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka=kafka_broker.bootstrap, home=tmp_path_factory.mktemp("home"), topic_prefix=f"e2e{run}.",
        app_id=f"newsflow-e2e-{run}", web_port=free_port(),
    )
    asyncio.run(ensure_topics(settings))
    worker = start_worker(settings)
    yield settings
    alive = worker.poll() is None
    stop_worker(worker)
    assert alive, (settings.home / "worker.log").read_text(errors="replace")[-5000:]
