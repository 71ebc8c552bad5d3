"""Read a topic written in transactions, independently (confluent-kafka, read_committed).

Why not tests/kafka_verify.read_topic: it stops when it has seen the message at high-watermark − 1,
but in a transactional topic the last offsets are commit markers, never delivered to consumers.
Here a partition is done when the consumer's position has reached the end offset.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from tests.kafka_verify import end_offsets


def read_committed(bootstrap: str, topic: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"verify-{uuid.uuid4().hex}",
        "enable.auto.commit": False, "auto.offset.reset": "earliest", "isolation.level": "read_committed",
    })
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = sorted(metadata.topics[topic].partitions)
        # with read_committed, the high watermark here is the last stable offset
        ends = end_offsets(consumer, topic, partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        remaining = {p for p, end in ends.items() if end > 0}
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while remaining and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                value = orjson.loads(msg.value()) if msg.value() is not None else None
                out.append({"key": msg.key(), "value": value, "headers": dict(msg.headers() or []),
                            "partition": msg.partition(), "offset": msg.offset()})
            for tp in consumer.position([TopicPartition(topic, p) for p in list(remaining)]):
                if tp.offset >= 0 and tp.offset >= ends[tp.partition]:
                    remaining.discard(tp.partition)
        assert not remaining, f"could not read {topic} to its end within {timeout}s"
        return out
    finally:
        consumer.close()
