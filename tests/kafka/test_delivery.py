"""`BatchSender` on a real broker: records land where aiokafka's per-record `send` puts them,
in order within a partition, with their headers, also when a batch fills and is split."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.kafka.delivery import BatchSender, OutgoingRecord

PARTITIONS = 4


async def make_topics(bootstrap: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, num_partitions=PARTITIONS, replication_factor=1) for n in names])
    finally:
        await admin.close()


async def read_all(bootstrap: str, topic: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    messages: list[Any] = []
    try:
        async with asyncio.timeout(30):
            while len(messages) < count:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    messages.extend(batch)
    finally:
        await consumer.stop()
    return messages


def test_records_land_where_per_record_sends_put_them_in_order_with_headers(kafka_broker: Any) -> None:
    bootstrap = kafka_broker.bootstrap
    run = uuid.uuid4().hex[:8]
    batched, per_record = f"delivery-batched-{run}", f"delivery-per-record-{run}"
    keys = [f"article-{i % 13}".encode() for i in range(60)]

    async def scenario() -> tuple[list[Any], list[Any]]:
        await make_topics(bootstrap, batched, per_record)
        # a small batch size, so that the 60 records (~300 bytes each) fill several batches
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_batch_size=2048,
                                    compression_type="zstd", linger_ms=1)
        await producer.start()
        try:
            sender = BatchSender(producer)
            futures = await sender.send([
                OutgoingRecord(batched, key, f"{i:03d}".encode() * 100, [("n", str(i).encode())])
                for i, key in enumerate(keys)
            ] + [OutgoingRecord(batched, None, b"keyless")])
            assert len(futures) > PARTITIONS  # some partition's records did not fit one batch
            await asyncio.gather(*futures)
            await asyncio.gather(*[await producer.send(per_record, b"x", key=key) for key in keys])
        finally:
            await producer.stop()
        return await read_all(bootstrap, batched, len(keys) + 1), await read_all(bootstrap, per_record, len(keys))

    got, reference = asyncio.run(scenario())
    where = {m.key: m.partition for m in reference}
    assert len(set(where.values())) > 1
    by_partition: dict[int, list[int]] = defaultdict(list)
    for message in got:
        if message.key is None:
            assert message.value == b"keyless"
            continue
        n = int(dict(message.headers)["n"])
        assert message.partition == where[message.key]
        assert message.value == f"{n:03d}".encode() * 100
        by_partition[message.partition].append(n)
    assert sorted(n for ns in by_partition.values() for n in ns) == list(range(len(keys)))
    assert all(ns == sorted(ns) for ns in by_partition.values())  # order kept within each partition
