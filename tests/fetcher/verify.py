"""Read a topic written in transactions, independently (confluent-kafka, read_committed).

`tests.kafka_verify.read_topic` stops on the consumer's position, so commit markers at the end of
a transactional topic are handled there; this name stays for the fetcher tests that import it.
"""

from __future__ import annotations

from typing import Any

from tests.kafka_verify import read_topic


def read_committed(bootstrap: str, topic: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    return read_topic(bootstrap, topic, timeout)
