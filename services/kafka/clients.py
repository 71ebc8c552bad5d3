"""Kafka clients for the command line: an idempotent publisher and a topic reader."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from services.kafka.delivery import BATCH_BYTES
from services.outcomes import Outcome
from services.settings import Settings


class Publisher:
    """Sends outcomes with acks=all and idempotence: a retry never writes a message twice.

    A failed `publish` raises, and the next one starts with a new producer. Why: aiokafka's
    idempotent producer keeps counting sequence numbers for a batch that failed without reaching
    the broker (e.g. one that expired while a restarting broker had no leader for its partition),
    so every later send is refused with OutOfOrderSequenceNumber until the producer is replaced
    (aiokafka #1017); a long-lived publisher would otherwise never publish again.
    """

    def __init__(self, settings: Settings, *, request_timeout_ms: int = 60000) -> None:
        self.settings = settings
        self.request_timeout_ms = request_timeout_ms
        self.renewals = 0  # producers replaced after a failed publish
        self._producer = self._new_producer()
        self._broken = False

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka,
            enable_idempotence=True,
            acks="all",
            compression_type="zstd",
            linger_ms=10,
            max_batch_size=BATCH_BYTES,  # raw pages are ~17 KB: at the 16 KiB default, one per batch
            max_request_size=self.settings.max_message_bytes,
            request_timeout_ms=self.request_timeout_ms,
            **self.settings.kafka_client_options(),
        )

    async def __aenter__(self) -> Publisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def _renew(self) -> None:
        """Swap in a started new producer (new producer id, sequences from 0); drop the old one."""
        fresh = self._new_producer()
        try:
            await fresh.start()
        except BaseException:  # broker still away: stay broken, the next publish tries again
            with contextlib.suppress(Exception):
                await fresh.stop()
            raise
        old, self._producer, self._broken = self._producer, fresh, False
        self.renewals += 1
        with contextlib.suppress(Exception):  # its batches failed already; don't wait on it for long
            await asyncio.wait_for(old.stop(), timeout=self.request_timeout_ms / 1000)

    async def publish(self, outcomes: Iterable[Outcome], window: int = 500) -> int:
        """Send all outcomes, at most `window` in flight, and wait for every acknowledgement.

        On a Kafka error it raises (what was sent before may have been written: ids are stable,
        so a caller that retries gets duplicates at worst), and the next call uses a new producer.
        """
        if self._broken:
            await self._renew()
        pending: list[asyncio.Future[Any]] = []
        sent = 0
        try:
            for outcome in outcomes:
                pending.append(
                    await self._producer.send(
                        self.settings.topic(outcome.topic),
                        value=outcome.value(),
                        key=outcome.key.encode() if outcome.key else None,
                        headers=outcome.kafka_headers(),
                    )
                )
                sent += 1
                if len(pending) >= window:
                    await asyncio.gather(*pending)
                    pending.clear()
            await asyncio.gather(*pending)
        except KafkaError:
            self._broken = True
            for future in pending:  # nobody will await the rest: no "exception never retrieved"
                future.add_done_callback(_consume_exception)
            raise
        return sent


def _consume_exception(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def record(self) -> Any:
        return orjson.loads(self.value) if self.value else None


class TopicReader:
    """Reads topics without joining a group (or within one, with `group`), from given offsets."""

    def __init__(self, settings: Settings, group: str | None = None, read_committed: bool = False) -> None:
        self.settings = settings
        self._consumer = AIOKafkaConsumer(
            isolation_level="read_committed" if read_committed else "read_uncommitted",
            bootstrap_servers=settings.kafka,
            group_id=group,
            enable_auto_commit=group is not None,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=settings.max_message_bytes,
            fetch_max_bytes=max(settings.max_message_bytes, 52428800),
            **settings.kafka_client_options(),
        )

    async def __aenter__(self) -> TopicReader:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def partitions(self, topic: str) -> list[TopicPartition]:
        # aiokafka's public topics() drops the partition data it fetched; ask the client directly
        cluster = await self._consumer._client.fetch_all_metadata()
        numbers = cluster.partitions_for_topic(topic)
        if numbers is None:
            raise LookupError(f"topic {topic!r} does not exist; run `newsflow topics` first")
        return [TopicPartition(topic, p) for p in sorted(numbers)]

    async def end_offsets(self, topics: Iterable[str]) -> dict[TopicPartition, int]:
        tps = [tp for topic in topics for tp in await self.partitions(topic)]
        return await self._consumer.end_offsets(tps)

    async def offsets_for_time(self, topics: Iterable[str], since_ms: int) -> dict[TopicPartition, int]:
        tps = [tp for topic in topics for tp in await self.partitions(topic)]
        found = await self._consumer.offsets_for_times({tp: since_ms for tp in tps})
        ends = await self._consumer.end_offsets(tps)
        return {tp: (found[tp].offset if found.get(tp) else ends[tp]) for tp in tps}

    async def assign(self, start: dict[TopicPartition, int | None]) -> None:
        """Read these partitions from these offsets (None: from the oldest record still kept)."""
        self._consumer.assign(list(start))
        for tp, offset in start.items():
            if offset is None:
                await self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, offset)

    async def read_range(self, tp: TopicPartition, start: int | None, end: int) -> AsyncIterator[Message]:
        """The messages of one partition from `start` (None: the oldest kept) up to, not including, `end`."""
        await self.assign({tp: start})
        while await self._consumer.position(tp) < end:
            batch = await self._consumer.getmany(tp, timeout_ms=500, max_records=500)
            for r in batch.get(tp, []):
                if r.offset >= end:
                    return
                yield Message(tp.topic, tp.partition, r.offset, r.timestamp, r.key, r.value, tuple(r.headers or ()))

    async def offset_for_time(self, tp: TopicPartition, since_ms: int) -> int | None:
        """The first offset of `tp` at or after `since_ms` (None: nothing that new)."""
        found = await self._consumer.offsets_for_times({tp: since_ms})
        return found[tp].offset if found.get(tp) else None

    def subscribe(self, topics: list[str]) -> None:
        self._consumer.subscribe(topics)

    async def messages(self, idle_timeout: float | None = None) -> AsyncIterator[Message]:
        """Yield messages as they come; stop after `idle_timeout` seconds without one (None: never)."""
        last = time.monotonic()
        while True:
            batch = await self._consumer.getmany(timeout_ms=500, max_records=500)
            got = False
            for tp, records in batch.items():
                for r in records:
                    got = True
                    yield Message(tp.topic, tp.partition, r.offset, r.timestamp, r.key, r.value,
                                  tuple(r.headers or ()))
            if got:
                last = time.monotonic()
            elif idle_timeout is not None and time.monotonic() - last > idle_timeout:
                return
