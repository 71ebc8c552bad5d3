"""Where the fetcher's output goes: records and state in one Kafka transaction, or memory.

Why transactions: a raw record and the state saying "published" must land together, or a
crash between them either re-publishes the article (state lost) or loses it (state written
first). The Kafka sink batches concurrent commits into one transaction every
`commit_interval_s` (or `commit_batch` items), so transactions stay cheap at pages/s scale.
Its transactional id is stable per fetcher: a restarted fetcher fences its killed predecessor
and the broker aborts whatever the predecessor left open. Readers use read_committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.fetcher.state import FETCH_STATE, FetchState
from services.outcomes import Outcome
from services.settings import Settings

StateUpdates = dict[str, dict[str, Any] | None]
MAX_TRANSACTION_BYTES = 64 * 1024 * 1024


class Sink(Protocol):
    async def commit(self, outcomes: list[Outcome], updates: StateUpdates) -> None:
        """Make outcomes and state updates durable together (or raise)."""

    async def close(self) -> None: ...


@dataclass
class MemorySink:
    """For tests and `newsflow fetch --dry-run`: keeps (or prints) what would be committed."""

    outcomes: list[Outcome] = field(default_factory=list)
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    commits: int = 0
    echo: Callable[[Outcome], None] | None = None

    async def commit(self, outcomes: list[Outcome], updates: StateUpdates) -> None:
        self.commits += 1
        self.outcomes.extend(outcomes)
        for key, value in updates.items():
            if value is None:
                self.state.pop(key, None)
            else:
                self.state[key] = value
        if self.echo:
            for outcome in outcomes:
                self.echo(outcome)

    async def close(self) -> None:
        return None

    def load_state(self) -> FetchState:
        state = FetchState()
        for key, value in self.state.items():
            state.apply(key, value)
        return state

    def records(self, topic: str) -> list[dict[str, Any]]:
        return [o.record for o in self.outcomes if o.topic == topic]


def print_outcome(outcome: Outcome) -> None:
    sys.stdout.buffer.write(orjson.dumps({"topic": outcome.topic, "key": outcome.key,
                                          "value": outcome.record}))
    sys.stdout.buffer.write(b"\n")
    sys.stdout.buffer.flush()


@dataclass
class _Pending:
    outcomes: list[Outcome]
    updates: StateUpdates
    done: asyncio.Future[None]
    size: int


class KafkaSink:
    """Transactional producer; concurrent `commit` calls share transactions."""

    def __init__(self, settings: Settings, *, transactional_id: str, commit_interval_s: float = 0.25,
                 commit_batch: int = 200) -> None:
        self.settings = settings
        self.commit_interval_s = commit_interval_s
        self.commit_batch = commit_batch
        self.transactions = 0
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka, transactional_id=transactional_id, enable_idempotence=True,
            acks="all", compression_type="zstd", linger_ms=5, max_request_size=settings.max_message_bytes,
            request_timeout_ms=60000, transaction_timeout_ms=60000, **settings.kafka_client_options(),
        )
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def start(self) -> KafkaSink:
        await self._producer.start()
        self._task = asyncio.create_task(self._run(), name="fetch-committer")
        return self

    async def __aenter__(self) -> KafkaSink:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def commit(self, outcomes: list[Outcome], updates: StateUpdates) -> None:
        if self._task is None or self._task.done():
            raise RuntimeError("the Kafka sink is not running")
        size = sum(len(o.value()) for o in outcomes)
        size += sum(len(orjson.dumps(v)) for v in updates.values() if v)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(outcomes, updates, done, size))
        if sum(len(p.outcomes) + len(p.updates) for p in self._queue) >= self.commit_batch:
            self._wake.set()
        await done

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        await self._producer.stop()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.commit_interval_s)
            self._wake.clear()
            while self._queue:
                batch, budget = [], 0
                while self._queue and (not batch or budget + self._queue[0].size <= MAX_TRANSACTION_BYTES):
                    item = self._queue.pop(0)
                    batch.append(item)
                    budget += item.size
                try:
                    await self._transaction(batch)
                except BaseException as exc:  # fail the callers; the fetcher stops on it
                    for item in batch:
                        if not item.done.done():
                            item.done.set_exception(exc if isinstance(exc,
                                                                      Exception) else RuntimeError(str(exc)))
                    raise
                for item in batch:
                    if not item.done.done():
                        item.done.set_result(None)
            if self._closing:
                return

    async def _transaction(self, batch: list[_Pending]) -> None:
        state_topic = self.settings.topic(FETCH_STATE)
        await self._producer.begin_transaction()
        try:
            sent = []
            for item in batch:
                for outcome in item.outcomes:
                    sent.append(await self._producer.send(
                        self.settings.topic(outcome.topic), value=outcome.value(),
                        key=outcome.key.encode() if outcome.key else None, headers=outcome.kafka_headers()))
                for key, value in item.updates.items():
                    sent.append(await self._producer.send(
                        state_topic, key=key.encode(),
                        value=orjson.dumps(value) if value is not None else None,
                        headers=[("schema", b"fetch_state")]))
            await asyncio.gather(*sent)
            await self._producer.commit_transaction()
            self.transactions += 1
        except BaseException:
            with contextlib.suppress(Exception):
                await self._producer.abort_transaction()
            raise


async def load_state(settings: Settings, timeout_s: float = 120.0) -> FetchState:
    """Read the compacted state topic from its start to its (last stable) end, committed records only."""
    state = FetchState()
    topic = settings.topic(FETCH_STATE)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka, group_id=None, enable_auto_commit=False,
        isolation_level="read_committed", auto_offset_reset="earliest",
        max_partition_fetch_bytes=settings.max_message_bytes, fetch_max_bytes=max(settings.max_message_bytes,
                                                                                  52428800),
        **settings.kafka_client_options(),
    )
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        numbers = cluster.partitions_for_topic(topic)
        if not numbers:
            raise LookupError(f"topic {topic!r} does not exist; run `newsflow topics` first")
        partitions = [TopicPartition(topic, p) for p in sorted(numbers)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        for tp in list(remaining):
            if await consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)
        deadline = time.monotonic() + timeout_s
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end within {timeout_s:.0f}s")
            batch = await consumer.getmany(*remaining, timeout_ms=500, max_records=5000)
            for records in batch.values():
                for record in records:
                    key = record.key.decode() if record.key else ""
                    state.apply(key, orjson.loads(record.value) if record.value is not None else None)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return state
