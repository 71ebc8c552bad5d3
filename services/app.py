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
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust
from aiokafka.errors import KafkaError

from services.kafka.topics import CLEANED, DLQ, DUPLICATES, ENRICHED, RAW, TAGGED
from services.metrics import PipelineMetrics
from services.outcomes import Outcome, dead_letter
from services.pipeline import CleanStep, DedupStep, TagStep
from services.settings import Settings, get_settings
from services.sink.routing import TopicEnsurer

log = logging.getLogger(__name__)

TAG_BATCH = 64
TAG_BATCH_WAIT_S = 0.05


def create_app(settings: Settings | None = None) -> faust.App:
    settings = settings or get_settings()
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
        producer_linger_ms=5,
        broker_commit_interval=1.0,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(1.0, settings.session_timeout_s / 5),
        topic_partitions=1,
        web_enabled=True,
        web_host="0.0.0.0",
        web_port=settings.web_port,
        web_in_thread=False,
    )
    wire_agents(app, settings)
    return app


def _credentials(settings: Settings) -> Any:
    if settings.kafka_sasl_mechanism and settings.kafka_sasl_username:
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username, password=password,
            mechanism=settings.kafka_sasl_mechanism,
        )
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

    for name in (RAW, CLEANED, TAGGED, ENRICHED, DUPLICATES, DLQ):
        topic(name)
    metrics = PipelineMetrics()
    # Routing and versioned topics are made the first time a record needs them (auto-create is off).
    ensurer = TopicEnsurer(settings)
    ensurer.assume_exist(topics)  # declared in ops/topics.yaml and created by `newsflow topics`
    clean_step, tag_step, dedup_step = CleanStep(settings), TagStep(settings), DedupStep(settings)
    # One thread for all stage cores: trafilatura is not thread-safe, and the GIL would
    # serialise them anyway. Scale out with more worker processes instead.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsflow-stage")

    async def run(fn: Any, *args: Any) -> list[Outcome]:
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    async def deliver(outcomes: list[Outcome], stage: str) -> None:
        """Send and wait for Kafka's acknowledgement; retry while the broker is away, never drop."""
        delay = 0.5
        while True:
            try:
                # a set lookup when every topic is known; creates routing topics the first time
                await ensurer.ensure({o.topic for o in outcomes}, producer=getattr(app.producer, "_producer", None))
                futures = [
                    await topic(o.topic).send(
                        key=o.key.encode() if o.key else None, value=o.value(), headers=o.kafka_headers()
                    )
                    for o in outcomes
                ]
                await asyncio.gather(*futures)
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
        async for event in stream.events():
            payload = event.value or b""
            context = {"raw": {"partition": event.message.partition, "offset": event.message.offset}}
            await guarded("clean", [payload], lambda p=payload, c=context: run(clean_step, p, c))

    @app.agent(topics[CLEANED], name="tag", concurrency=1)
    async def tag(stream: faust.StreamT) -> None:
        async for events in stream.take_events(TAG_BATCH, within=TAG_BATCH_WAIT_S):
            payloads = [event.value or b"" for event in events]
            await guarded("tag", payloads, lambda p=payloads: run(tag_step, p))

    @app.agent(topics[TAGGED], name="dedup", concurrency=1)
    async def dedup(stream: faust.StreamT) -> None:
        async for event in stream.events():
            payload = event.value or b""
            await guarded("dedup", [payload], lambda p=payload: run(dedup_step, p))

    metrics.attach(app)
