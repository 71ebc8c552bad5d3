"""Prometheus metrics of a worker, and its `/metrics`, `/health`, `/ready` endpoints."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import faust
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from services.kafka.topics import DLQ, DUPLICATES, ENRICHED

log = logging.getLogger(__name__)

# How often a worker refreshes `newsflow_consumer_lag` (seconds).
LAG_INTERVAL_S = 5.0


class PipelineMetrics:
    """Per-stage counters and latencies; one registry per app so tests can build several."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.records_in = Counter(
            "newsflow_records_in", "Messages a stage consumed.", ["stage"], registry=self.registry
        )
        self.records_out = Counter(
            "newsflow_records_out", "Messages a stage produced, by destination topic.", ["stage", "topic"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "newsflow_dead_letters", "Messages sent to the DLQ, by stage and reason.", ["stage", "reason"],
            registry=self.registry,
        )
        self.dedup_verdicts = Counter(
            "newsflow_dedup_verdicts", "Dedup verdicts by status.", ["status"], registry=self.registry
        )
        self.stage_seconds = Histogram(
            "newsflow_stage_seconds", "Time a stage spent on a message (or micro-batch).", ["stage"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        # Thread CPU time of the stage threads, per stage. Against `process_cpu_seconds_total` it
        # says how much of a worker's CPU goes to the stages and how much to Kafka and Faust.
        self.stage_cpu_seconds = Counter(
            "newsflow_stage_cpu_seconds", "CPU seconds the stage threads spent in a stage's core.", ["stage"],
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)  # process_cpu_seconds_total, resident memory, …
        self.end_to_end_seconds = Histogram(
            "newsflow_end_to_end_seconds",
            "Time from ingestion (the record's ingested_at) until its verdict was acknowledged on "
            "news.enriched or news.duplicates.",
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 21600, 86400),
        )
        self.consumer_lag = Gauge(
            "newsflow_consumer_lag",
            "Messages behind the end of each assigned input partition (high watermark minus the "
            "group's committed offset), as seen by this worker.",
            ["topic", "partition"], registry=self.registry,
        )
        # Incremented by the fetcher (one per fetch attempt). `outcome` is a class, not a message:
        # ok, not_modified, or an error class such as http_4xx, http_5xx, timeout, dns, too_large.
        self.fetch_outcomes = Counter(
            "newsflow_fetch_outcomes", "Fetch attempts by source and outcome class.", ["source", "outcome"],
            registry=self.registry,
        )
        self._lag_labels: set[tuple[str, str]] = set()

    def count_out(self, stage: str, outcomes: Iterable[Any]) -> None:
        for outcome in outcomes:
            self.records_out.labels(stage=stage, topic=outcome.topic).inc()
            if outcome.topic == DLQ:
                self.dead_letters.labels(stage=outcome.record.get("stage", stage),
                                         reason=outcome.record.get("reason", "unknown")).inc()
            elif outcome.topic in (ENRICHED, DUPLICATES):
                self.dedup_verdicts.labels(status=outcome.record["dedup"]["status"]).inc()
                self.observe_end_to_end(outcome.record)

    def observe_end_to_end(self, record: dict[str, Any], now: float | None = None) -> None:
        """Observe ingested_at → now for a record that reached its final topic (skip if unknown)."""
        stamp = record.get("ingested_at")
        if not isinstance(stamp, str):
            return
        try:
            ingested = datetime.fromisoformat(stamp).timestamp()
        except ValueError:
            return
        self.end_to_end_seconds.observe(max(0.0, (time.time() if now is None else now) - ingested))

    def update_lag(self, consumer: Any) -> None:
        """Refresh `newsflow_consumer_lag` from a Faust consumer's assignment.

        Lag = high watermark − the group's committed offset; a partition is reported once the
        worker has fetched from it and the group has committed an offset for it. Partitions this
        worker no longer owns are removed, so `sum by (topic)` over all workers stays right
        after a rebalance.
        """
        committed = getattr(consumer, "_committed_offset", {}) or {}
        seen: set[tuple[str, str]] = set()
        for tp in consumer.assignment():
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # not fetched yet, or the partition is being revoked
                continue
            if highwater is None:
                continue
            offset = committed.get(tp)
            if offset is None:
                continue
            labels = (tp.topic, str(tp.partition))
            self.consumer_lag.labels(*labels).set(max(0, highwater - offset))
            seen.add(labels)
        for labels in self._lag_labels - seen:
            with contextlib.suppress(KeyError):
                self.consumer_lag.remove(*labels)
        self._lag_labels = seen

    def attach(self, app: faust.App) -> None:
        """Serve /metrics, /health (liveness) and /ready (assignment received) on the worker's web port."""
        registry = self.registry

        @app.page("/metrics")
        async def metrics(web: Any, request: Any) -> Any:
            # As a header: aiohttp refuses a `content_type` argument that carries a charset.
            return web.bytes(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

        @app.page("/health")
        async def health(web: Any, request: Any) -> Any:
            return web.json({"status": "ok"})

        @app.page("/ready")
        async def ready(web: Any, request: Any) -> Any:
            assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in app.consumer.assignment())
            ok = bool(assigned) and not app.rebalancing
            return web.json({"ready": ok, "assignment": assigned}, status=200 if ok else 503)

        @app.timer(interval=LAG_INTERVAL_S)
        async def consumer_lag() -> None:
            try:
                self.update_lag(app.consumer)
            except Exception as exc:  # a metrics refresh must never disturb the worker
                log.debug("consumer lag refresh failed: %s", exc)
