"""Shared fixtures. `kafka_broker`: one real local Kafka broker per test session.

Why session-scoped: a JVM broker takes ~6–10 s to start; tests share it and use unique topic and
group names. Missing java/mvn is a hard failure (CI installs them), never a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from services.broker import BrokerError, LocalBroker, free_port
from services.settings import Settings


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
    broker = LocalBroker(settings, tie_to_parent=True)  # a killed pytest kills the JVM too
    try:
        broker.start(timeout=120)
    except BrokerError as exc:
        broker.stop()
        pytest.fail(f"could not start the local Kafka broker: {exc}", pytrace=False)
    try:
        yield RunningBroker(bootstrap=broker.bootstrap, settings=settings, broker=broker)
    finally:
        broker.stop()
