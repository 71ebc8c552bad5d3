"""Prometheus metrics of a worker, and its `/metrics`, `/health`, `/ready` endpoints."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from services.kafka.topics import DLQ, DUPLICATES, ENRICHED


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

    def count_out(self, stage: str, outcomes: Iterable[Any]) -> None:
        for outcome in outcomes:
            self.records_out.labels(stage=stage, topic=outcome.topic).inc()
            if outcome.topic == DLQ:
                self.dead_letters.labels(stage=outcome.record.get("stage", stage),
                                         reason=outcome.record.get("reason", "unknown")).inc()
            elif outcome.topic in (ENRICHED, DUPLICATES):
                self.dedup_verdicts.labels(status=outcome.record["dedup"]["status"]).inc()

    def attach(self, app: faust.App) -> None:
        """Serve /metrics, /health (liveness) and /ready (assignment received) on the worker's web port."""
        registry = self.registry

        @app.page("/metrics")
        async def metrics(web: Any, request: Any) -> Any:
            return web.bytes(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

        @app.page("/health")
        async def health(web: Any, request: Any) -> Any:
            return web.json({"status": "ok"})

        @app.page("/ready")
        async def ready(web: Any, request: Any) -> Any:
            assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in app.consumer.assignment())
            ok = bool(assigned) and not app.rebalancing
            return web.json({"ready": ok, "assignment": assigned}, status=200 if ok else 503)
