"""A test's own local Kafka broker: started, or the test fails with the broker's own words."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from services.broker import BrokerError, LocalBroker
from services.settings import Settings


@contextmanager
def own_broker(settings: Settings, what: str = "the local Kafka broker") -> Iterator[LocalBroker]:
    """Start a `LocalBroker` for `settings` (tied to pytest: a killed run kills the JVM too), stop it after."""
    broker = LocalBroker(settings, tie_to_parent=True)
    try:
        broker.start(timeout=120)
    except BrokerError as exc:
        broker.stop()
        pytest.fail(f"could not start {what}: {exc}", pytrace=False)
    try:
        yield broker
    finally:
        broker.stop()
