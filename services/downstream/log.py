"""Reading exact ranges of topics: the building block of replay, status and DLQ re-drive.

Why not `TopicReader`: these readers need a stop offset per partition (a consumer group can only
be rewound, never told where to stop) and, for replay, a deterministic merge across partitions.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from services.settings import Settings

FETCH_RECORDS = 1024


def consumer(settings: Settings, group: str | None = None) -> AIOKafkaConsumer:
    """A plain consumer with the project's size limits; never auto-commits."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=settings.max_message_bytes,
        fetch_max_bytes=max(settings.max_message_bytes, 52428800),
        **settings.kafka_client_options(),
    )


async def partitions(client: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The partitions of a physical topic (LookupError when it does not exist)."""
    cluster = await client._client.fetch_all_metadata()  # public topics() drops partition data
    numbers = cluster.partitions_for_topic(topic)
    if numbers is None:
        raise LookupError(f"topic {topic!r} does not exist; run `newsflow topics` first")
    return [TopicPartition(topic, p) for p in sorted(numbers)]


async def timestamp_at(client: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> int | None:
    """Timestamp of the record at (or first after) `offset`."""
    client.assign([tp])
    client.seek(tp, offset)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        batch = await client.getmany(tp, timeout_ms=500, max_records=1)
        for record in batch.get(tp, ()):
            return int(record.timestamp)
    return None


async def read_ranges(client: AIOKafkaConsumer, stops: dict[TopicPartition, int], merge: bool = True,
                       stall_s: float = 60.0) -> AsyncIterator[tuple[TopicPartition, ConsumerRecord]]:
    """Records of assigned partitions up to `stops` (exclusive), merged by timestamp when `merge`.

    Merging waits until every unfinished partition has a record buffered, then yields the oldest,
    so the output is a deterministic function of the log, not of fetch timing.
    """
    buffers: dict[TopicPartition, deque[ConsumerRecord]] = {tp: deque() for tp in stops}
    remaining = {tp for tp, stop in stops.items() if await client.position(tp) < stop}
    last_progress = time.monotonic()
    while remaining or any(buffers.values()):
        need = [tp for tp in remaining if not buffers[tp]]
        if need or (not merge and remaining):
            batch = await client.getmany(*(need or list(remaining)), timeout_ms=500, max_records=FETCH_RECORDS)
            for tp, records in batch.items():
                for record in records:
                    if tp in remaining and record.offset < stops[tp]:
                        buffers[tp].append(record)
                        last_progress = time.monotonic()
            for tp in list(remaining):
                if await client.position(tp) >= stops[tp]:
                    remaining.discard(tp)
                    client.pause(tp)
            if remaining and time.monotonic() - last_progress > stall_s:
                raise TimeoutError(f"no records from {sorted(str(tp) for tp in remaining)} for {stall_s:.0f}s")
            if merge and any(not buffers[tp] for tp in remaining):
                continue
        ready = [tp for tp, buf in buffers.items() if buf]
        if not ready:
            continue
        if merge:
            tp = min(ready, key=lambda t: (buffers[t][0].timestamp, t.topic, t.partition, buffers[t][0].offset))
            yield tp, buffers[tp].popleft()
        else:
            for tp in ready:
                while buffers[tp]:
                    yield tp, buffers[tp].popleft()


async def read_to_end(settings: Settings, topics: list[str], since_ms: int | None = None
                      ) -> AsyncIterator[tuple[TopicPartition, ConsumerRecord]]:
    """Every record of these physical topics from `since_ms` (default: the oldest kept) to the end *now*.

    Partition by partition, not merged: for counting and lookups, where order across partitions
    does not matter. Bounded: records written after the call started are not read.
    """
    client = consumer(settings)
    await client.start()
    try:
        tps = [tp for topic in topics for tp in await partitions(client, topic)]
        ends = await client.end_offsets(tps)
        start = await client.beginning_offsets(tps)
        if since_ms is not None:
            found = await client.offsets_for_times({tp: max(since_ms, 0) for tp in tps})
            start = {tp: (found[tp].offset if found.get(tp) else ends[tp]) for tp in tps}
        todo = [tp for tp in tps if start[tp] < ends[tp]]
        if not todo:
            return
        client.assign(todo)
        for tp in todo:
            client.seek(tp, start[tp])
        async for item in read_ranges(client, {tp: ends[tp] for tp in todo}, merge=False):
            yield item
    finally:
        await client.stop()
