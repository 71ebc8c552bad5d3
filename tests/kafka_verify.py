"""An independent reader for assertions: confluent-kafka (librdkafka), not the code under test."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition


def end_offsets(consumer: Consumer, topic: str, partitions: list[int], timeout: float = 30.0) -> dict[int, int]:
    """High watermarks, retried while a just-created topic still elects its leaders (NOT_LEADER...)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        except KafkaException:
            # librdkafka marks NOT_LEADER_FOR_PARTITION non-retriable here, yet it clears in a second
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def read_messages(bootstrap: str, topic: str, timeout: float = 60.0, *, missing_ok: bool = False,
                  poll: float = 0.5) -> list[dict[str, Any]]:
    """Every message of `topic` from the beginning up to its current end (read_committed), fields
    untouched: key, value (bytes or None), headers (list of pairs), partition, offset, timestamp.

    A partition is done when the consumer's *position* reaches the end offset: on a transactional
    topic the last offsets are commit markers, never delivered to consumers.
    """
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"verify-{uuid.uuid4().hex}",
        "enable.auto.commit": False, "auto.offset.reset": "earliest", "isolation.level": "read_committed",
    })
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        if missing_ok and (topic not in metadata.topics or metadata.topics[topic].error is not None):
            return []
        partitions = sorted(metadata.topics[topic].partitions)
        ends = end_offsets(consumer, topic, partitions)  # with read_committed: the last stable offsets
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        remaining = {p for p, end in ends.items() if end > 0}
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while remaining and time.monotonic() < deadline:
            msg = consumer.poll(poll)
            if msg is not None and not msg.error():
                out.append({"key": msg.key(), "value": msg.value(), "headers": list(msg.headers() or []),
                            "partition": msg.partition(), "offset": msg.offset(), "timestamp": msg.timestamp()[1]})
            for tp in consumer.position([TopicPartition(topic, p) for p in list(remaining)]):
                if tp.offset >= 0 and tp.offset >= ends[tp.partition]:
                    remaining.discard(tp.partition)
        assert not remaining, f"could not read {topic} to its end within {timeout}s"
        return out
    finally:
        consumer.close()


def read_topic(bootstrap: str, topic: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    """`read_messages` with JSON values decoded (None stays None) and headers as a dict."""
    return [{**m, "value": None if m["value"] is None else orjson.loads(m["value"]), "headers": dict(m["headers"])}
            for m in read_messages(bootstrap, topic, timeout)]
