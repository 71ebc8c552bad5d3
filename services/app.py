"""The Faust app: agents that wire topics to the stage steps, and nothing more.

Every agent runs with concurrency 1 (faust #606: higher concurrency can commit past an
in-flight message), hands CPU work to one dedicated thread (trafilatura is not
thread-safe, and the event loop must keep serving commits and heartbeats), and never lets
an exception escape (faust #175: an escaped exception silently kills the agent). A
message is acknowledged only after everything it produced has been acknowledged by Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import time
from itertools import groupby
from typing import Any

import faust
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from services.dedup.checkpoint import CheckpointStore, PartitionedDeduplicator, RecordingTable
from services.kafka import faust_fixes
from services.kafka.assignor import stage_cost_assignor
from services.kafka.batching import take_batches
from services.kafka.clients import TopicReader
from services.kafka.delivery import BATCH_BYTES, BatchSender, OutgoingRecord
from services.kafka.topics import (
    CLEANED,
    DEDUP_STATE,
    DLQ,
    DUPLICATES,
    ENRICHED,
    RAW,
    STORIES,
    TAGGED,
)
from services.metrics import PipelineMetrics
from services.outcomes import Outcome, dead_letter
from services.pipeline import CleanStep, DedupStep, TagStep
from services.settings import Settings, get_settings
from services.sink.routing import TopicEnsurer
from services.stage_thread import StageThread

log = logging.getLogger(__name__)

# Micro-batches (`take_batches`). A batch is yielded when full or when the wait, counted from its
# first record, ends: under load batches fill while the previous one is processed, and the wait
# only matters when records are sparse, where it is added to their latency. An idle agent sleeps
# (faust's own `take_events` woke every wait: 8 % of a core per idle worker). Measured (bench,
# 1 worker at half load, faust's batching): waits of 20/10/10 ms for clean/tag/dedup gave p50
# 115 ms, p99 303 ms; 5/5/2 ms gave p50 70 ms, p99 202 ms, at the same max throughput. With
# `take_batches`, 1 ms waits and a 1 ms producer linger (instead of 5/5/2 and 5) gave p50 51/70/48
# ms against 190/105/86 ms in three alternating runs at 28 docs/s on a warm broker, and max
# throughput 54.0/63.4 docs/s against 56.8/53.4: under load batches fill while the previous one
# is processed, whatever the wait.
TAG_BATCH = 64
TAG_BATCH_WAIT_S = 0.001
# Clean takes small batches too. Why: an input is acknowledged only after Kafka acknowledged its
# outputs, and while one record waits for that (linger + the broker's round trip) the clean thread
# would idle; a batch pays that wait once. Small, because one page costs ~20-40 ms to clean.
CLEAN_BATCH = 8
CLEAN_BATCH_WAIT_S = 0.001
# Dedup too: one record at a time, its ~1 ms of work waited ~5-10 ms for Kafka's acknowledgement,
# which capped the stage at ~150 records/s whatever the cores (news.tagged has one partition).
DEDUP_BATCH = 32
DEDUP_BATCH_WAIT_S = 0.001

# What one record costs the stage reading each topic, in worker CPU ms: the stage core plus its
# share of Kafka and Faust (bench at 4baaa9d, 1 worker at max: clean 9.5, tag 1.7, dedup 1.5 ms per
# document, and ~3.6 ms outside the cores over the three hops; since 1e2e0ea the outside share is
# ~1.8 ms, which keeps the order and the assignment these weights give). Partitions are dealt out by
# this cost (services/kafka/assignor.py), so that the worker owning news.tagged takes less of the rest.
STAGE_COST_MS = {RAW: 11.0, CLEANED: 3.0, TAGGED: 2.7}


def create_app(settings: Settings | None = None) -> faust.App:
    settings = settings or get_settings()
    faust_fixes.install()  # faust #216/#221/#223: skipped messages must not be committed
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{host.strip()}" for host in settings.kafka.split(",")],
        broker_credentials=_credentials(settings),
        store=settings.store,
        datadir=str(settings.home / "worker"),
        key_serializer="raw",
        value_serializer="raw",
        processing_guarantee=settings.processing_guarantee,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_max_request_size=settings.max_message_bytes,
        consumer_max_fetch_size=settings.max_message_bytes,
        producer_compression_type="zstd",
        producer_linger_ms=1,  # see the batch waits above
        producer_max_batch_size=BATCH_BYTES,  # see services/kafka/delivery.py
        broker_commit_interval=1.0,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(1.0, settings.session_timeout_s / 5),
        topic_partitions=1,
        web_enabled=True,
        web_host="0.0.0.0",
        web_port=settings.web_port,
        web_in_thread=False,
        PartitionAssignor=stage_cost_assignor({settings.topic(t): ms for t, ms in STAGE_COST_MS.items()}),
    )
    wire_agents(app, settings)
    return app


def _credentials(settings: Settings) -> Any:
    """Faust's credentials from the same settings as every other client (a mechanism implies SASL)."""
    protocol, ssl_context = settings.kafka_protocol, settings.kafka_ssl_context()
    if protocol.startswith("SASL_"):
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username or "", password=password,
            mechanism=settings.kafka_sasl_mechanism or "PLAIN", ssl_context=ssl_context,
        )
    if ssl_context is not None:
        return faust.SSLCredentials(ssl_context)
    return None


def wire_agents(app: faust.App, settings: Settings) -> None:
    """Declare the topics, load the stage cores once, and attach one agent per stage."""
    topics: dict[str, faust.TopicT] = {}

    def topic(name: str) -> faust.TopicT:
        """The Faust topic for a logical name, made once (routing topics appear as records need them)."""
        if name not in topics:
            topics[name] = app.topic(settings.topic(name), value_type=bytes, key_type=bytes,
                                     value_serializer="raw", key_serializer="raw")
        return topics[name]

    for name in (RAW, CLEANED, TAGGED, ENRICHED, DUPLICATES, DLQ, STORIES):
        topic(name)
    metrics = PipelineMetrics()
    # Routing and versioned topics are made the first time a record needs them (auto-create is off).
    ensurer = TopicEnsurer(settings)
    ensurer.assume_exist(topics)  # declared in ops/topics.yaml and created by `newsflow topics`
    clean_step, tag_step, dedup_step = CleanStep(settings), TagStep(settings), DedupStep(settings)
    # Clean on one thread, tag and dedup (dedup first) on another (services/stage_thread.py)
    def count_cpu(stage: str, seconds: float) -> None:
        metrics.stage_cpu_seconds.labels(stage=stage).inc(seconds)

    cleaning = StageThread(on_cpu=count_cpu, name="newsflow-clean")
    finishing = StageThread(on_cpu=count_cpu, name="newsflow-tag-dedup")

    # at_least_once: outputs leave as one record batch per partition (services/kafka/delivery.py);
    # exactly_once must go through faust's transactional producers, record by record
    batched = settings.processing_guarantee == "at_least_once"

    async def send(outcomes: list[Outcome]) -> list[Any]:
        """Queue the outcomes for Kafka; the futures complete on Kafka's acknowledgement."""
        producer = getattr(app.producer, "_producer", None)
        # a set lookup when every topic is known; creates routing topics the first time
        await ensurer.ensure({o.topic for o in outcomes}, producer=producer)
        if batched and producer is not None:
            return await BatchSender(producer).send([
                OutgoingRecord(settings.topic(o.topic), o.key.encode() if o.key else None, o.value(), o.kafka_headers())
                for o in outcomes
            ])
        return [
            await topic(o.topic).send(key=o.key.encode() if o.key else None, value=o.value(), headers=o.kafka_headers())
            for o in outcomes
        ]

    async def deliver(outcomes: list[Outcome], stage: str) -> None:
        """Send and wait for Kafka's acknowledgement; retry while the broker is away, never drop."""
        delay = 0.5
        while True:
            try:
                await asyncio.gather(*await send(outcomes))
                break
            except KafkaError as exc:
                log.warning("%s: delivery failed (%s), retrying in %.1fs", stage, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        metrics.count_out(stage, outcomes)

    async def guarded(stage: str, payloads: list[bytes], work: Any) -> None:
        """Run a step; if even the step's own error handling fails, dead-letter the inputs."""
        metrics.records_in.labels(stage=stage).inc(len(payloads))
        try:
            with metrics.stage_seconds.labels(stage=stage).time():
                outcomes = await work()
        except Exception as exc:
            log.exception("%s: unexpected failure, sending %d payload(s) to the DLQ", stage, len(payloads))
            outcomes = [
                dead_letter(stage=stage, reason=f"{stage}_error", error=type(exc).__name__,
                            message=str(exc) or repr(exc), payload=payload)
                for payload in payloads
            ]
        await deliver(outcomes, stage)

    @app.agent(topics[RAW], name="clean", concurrency=1)
    async def clean(stream: faust.StreamT) -> None:
        async for events in take_batches(stream, CLEAN_BATCH, within=CLEAN_BATCH_WAIT_S):
            work = [(event.value or b"", {"raw": {"partition": event.message.partition,
                                                   "offset": event.message.offset}}) for event in events]
            await guarded("clean", [payload for payload, _ in work],
                          lambda w=work: cleaning.run("clean", clean_many, w))

    def clean_many(work: list[tuple[bytes, dict[str, Any]]]) -> list[Outcome]:
        """The clean step over a batch, outcomes in input order (the step never raises)."""
        return [outcome for payload, context in work for outcome in clean_step(payload, context)]

    @app.agent(topics[CLEANED], name="tag", concurrency=1)
    async def tag(stream: faust.StreamT) -> None:
        async for events in take_batches(stream, TAG_BATCH, within=TAG_BATCH_WAIT_S):
            payloads = [event.value or b"" for event in events]
            await guarded("tag", payloads, lambda p=payloads: finishing.run("tag", tag_step, p))

    # Dedup state: one Deduplicator per news.tagged partition, checkpointed into the compacted topic
    # news.dedup.state and caught up from news.tagged after a restart or rebalance
    # (services/dedup/checkpoint.py, docs/dedup.md "State in Kafka"). Not a Faust table: with one,
    # a survivor's partitions stalled after rebalances in our two-worker kill test (faust #176, #432,
    # #651: table recovery stalls), and the state needs no per-key table anyway.
    topic(DEDUP_STATE)
    state_log = RecordingTable()
    dedup_state = PartitionedDeduplicator(dedup_step.new_deduplicator, CheckpointStore(state_log),
                                          interval_s=settings.dedup_checkpoint_s)

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
        dedup_state.revoked({tp.partition for tp in revoked if tp.topic == settings.topic(TAGGED)})

    async def restore_dedup(partition: int, resume_at: int) -> None:
        """Load the partition's checkpoint and re-check what was processed after it, outputs discarded."""
        started = asyncio.get_running_loop().time()
        state_tp = TopicPartition(settings.topic(DEDUP_STATE), partition)
        tp = TopicPartition(settings.topic(TAGGED), partition)
        caught_up = 0
        async with TopicReader(settings) as reader:
            state_end = (await reader.end_offsets([state_tp.topic])).get(state_tp, 0)
            records = [(m.key, m.value) async for m in reader.read_range(state_tp, None, state_end)]
            state_log.load_partition(partition, records)
            deduplicator, checkpoint_at = await run_plain(dedup_state.restore, partition)
            start = checkpoint_at
            if start is None:  # no checkpoint: the window's worth of input (by broker time)
                horizon_ms = int((time.time() - (settings.story_window_days + 1) * 86400) * 1000)
                start = await reader.offset_for_time(tp, horizon_ms)
                start = resume_at if start is None else start
            if start < resume_at:
                batch: list[bytes] = []
                async for message in reader.read_range(tp, start, resume_at):
                    batch.append(message.value or b"")
                    if len(batch) >= 256:
                        caught_up += await run_plain(dedup_step.catch_up, batch, deduplicator)
                        batch = []
                caught_up += await run_plain(dedup_step.catch_up, batch, deduplicator)
        dedup_state.adopt(partition, deduplicator, resume_at)
        origin = "no checkpoint" if checkpoint_at is None else f"checkpoint at offset {checkpoint_at}"
        log.info("dedup: partition %d restored from %s; re-checked %d record(s) from offset %d up to %d in %.1fs",
                 partition, origin, caught_up, start, resume_at, asyncio.get_running_loop().time() - started)

    async def checkpoint_dedup(partition: int) -> None:
        """Snapshot (on dedup's thread) and write the changed keys to news.dedup.state; a failure
        only means a longer catch-up after the next restart."""
        try:
            checkpoint = await run_plain(dedup_state.snapshot, partition)
            chunks = dedup_state.save(checkpoint)
            writes = state_log.take_writes()
            futures = [await topic(DEDUP_STATE).send(key=key, value=value or b"", partition=partition)
                       for key, value in writes]
            await asyncio.gather(*futures)
        except Exception:
            log.exception("dedup: checkpoint of partition %d failed", partition)
        else:
            log.info("dedup: checkpoint of partition %d at offset %d (%d bytes, %d chunks)",
                     partition, checkpoint.offset, len(checkpoint.data), chunks)

    async def run_plain(fn: Any, *args: Any) -> Any:
        """State work for dedup (restore, snapshot) on its thread, not counted as stage CPU."""
        return await finishing.run("dedup", fn, *args, count_cpu=False)

    @app.agent(topics[TAGGED], name="dedup", concurrency=1)
    async def dedup(stream: faust.StreamT) -> None:
        async for events in take_batches(stream, DEDUP_BATCH, within=DEDUP_BATCH_WAIT_S):
            for partition, run_of_events in _runs_by_partition(events):
                await dedup_run(partition, run_of_events)

    async def dedup_run(partition: int, events: list[Any]) -> None:
        """Consecutive records of one partition, against that partition's state, in offset order."""
        first, last = events[0].message.offset, events[-1].message.offset
        if dedup_state.needs_restore(partition, first):
            delay = 1.0
            while True:  # never let the agent die (faust #175); without its state it must not go on
                try:
                    await restore_dedup(partition, first)
                    break
                except Exception:
                    log.exception("dedup: restoring partition %d failed, retrying in %.0fs", partition, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
        deduplicator = dedup_state.get(partition)
        payloads = [event.value or b"" for event in events]
        await guarded("dedup", payloads, lambda p=payloads, d=deduplicator: finishing.run("dedup", dedup_many, p, d))
        dedup_state.processed(partition, last)
        if dedup_state.checkpoint_due(partition):
            await checkpoint_dedup(partition)

    def dedup_many(payloads: list[bytes], deduplicator: Any) -> list[Outcome]:
        """The dedup step over a run of one partition, outcomes in input order (the step never raises)."""
        return [outcome for payload in payloads for outcome in dedup_step(payload, deduplicator)]

    metrics.attach(app)


def _runs_by_partition(events: list[Any]) -> list[tuple[int, list[Any]]]:
    """A batch as runs of consecutive events from one partition (order kept within each)."""
    return [(partition, list(run)) for partition, run in groupby(events, key=lambda e: e.message.partition)]
