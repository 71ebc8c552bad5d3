"""Topics created on first use, and a long-lived producer that keeps sending to the old ones."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from services.kafka.topics import ENRICHED, ensure_topics
from services.sink.routing import TopicEnsurer
from tests.sink.broker_helpers import fresh_settings, read_raw

pytestmark = pytest.mark.broker


def test_a_producer_keeps_its_old_topics_after_sending_to_a_new_one(kafka_broker: Any, tmp_path: Path) -> None:
    settings = fresh_settings(kafka_broker.bootstrap, tmp_path, "tc")
    ensurer = TopicEnsurer(settings)
    asyncio.run(ensure_topics(settings, {ENRICHED: ensurer.specs[ENRICHED]}))

    async def scenario() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka, acks="all", linger_ms=5)
        await producer.start()
        try:
            await producer.send_and_wait(settings.topic(ENRICHED), b"1", key=b"a")
            await producer.client.force_metadata_update()  # as faust does: every topic's metadata, none tracked
            created = await ensurer.ensure(["news.lang.en", "news.topic.sport.v2"], producer=producer)
            assert created == [settings.topic("news.lang.en"), settings.topic("news.topic.sport.v2")]
            # a batch for the old topic is queued first, then the new topics are sent to (the dedup agent's order)
            sends = [await producer.send(settings.topic(t), b"2", key=b"a")
                     for t in (ENRICHED, "news.lang.en", "news.topic.sport.v2")]
            await asyncio.wait_for(asyncio.gather(*sends), timeout=30)
        finally:
            await producer.stop()

    asyncio.run(scenario())
    assert len(read_raw(settings.kafka, settings.topic(ENRICHED))) == 2
    spec = ensurer.spec_for("news.topic.sport.v2")
    assert spec.partitions == ensurer.specs[ENRICHED].partitions
    assert asyncio.run(ensurer.ensure(["news.lang.en"])) == []  # known: nothing to do
