"""`newsflow status` and `newsflow dlq redrive` on the real broker, checked against Kafka's own
ConsumerGroupCommand: lag while the worker is stopped, zero after it caught up, and a dead letter
re-driven after a fix."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.downstream.dlq import redrive
from services.downstream.status import Status, collect_status, render
from services.ingest import ingest_paths
from services.kafka.topics import CLEANED, DLQ, ENRICHED, RAW, TAGGED
from services.settings import Settings
from services.up import ingest_and_wait, publish_and_wait
from tests.sink.broker_helpers import ensure, fresh_settings, read_raw, running_worker, write_articles

pytestmark = pytest.mark.broker

SHORT = "The harbour ferry resumed service on Monday after repairs to the northern pier were completed early."


def _status(settings: Settings, **kwargs: Any) -> Status:
    return asyncio.run(collect_status(settings, [settings.app_id], **kwargs))


def _wait_for_zero_lag(settings: Settings, timeout: float = 90.0) -> Status:
    """Faust commits about once a second: poll until the group's lag on every stage input is 0."""
    deadline = time.monotonic() + timeout
    while True:
        status = _status(settings, with_dlq=False)
        group = status.group(settings.app_id)
        topics = set(group.lag_by_topic()) if group else set()
        if group and group.lag == 0 and {settings.topic(t) for t in (RAW, CLEANED, TAGGED)} <= topics:
            return status
        assert time.monotonic() < deadline, render(status, settings)
        time.sleep(1.0)


def _kafka_lags(kafka_broker: Any, group: str, topic: str) -> dict[int, int]:
    """LAG per partition as `kafka-consumer-groups --describe` prints it ('-' rows left out)."""
    args = ["--bootstrap-server", kafka_broker.bootstrap, "--describe", "--group", group]
    result = kafka_broker.broker.run_tool("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand", args,
                                          timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lags = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[0] == group and parts[1] == topic and parts[5] != "-":
            lags[int(parts[2])] = int(parts[5])
    return lags


def _cli_status(settings: Settings) -> dict[str, Any]:
    """`newsflow status --json` as a separate process with the deployment's environment."""
    code = "import sys; from services.downstream.cli import status; status(prog_name='newsflow status')"
    result = subprocess.run([sys.executable, "-c", code, "--json", "--group", settings.app_id],
                            env={**os.environ, **settings.as_env()}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return orjson.loads(result.stdout)


def test_lag_while_stopped_zero_after_catching_up_and_redrive(kafka_broker: Any, tmp_path: Path) -> None:
    settings = fresh_settings(kafka_broker.bootstrap, tmp_path / "home", "sts")
    ensure(settings)
    short = tmp_path / "a" / "ferry-brief.txt"
    a_paths = [*write_articles(tmp_path / "a", range(300, 304)), short]
    short.write_text(SHORT, encoding="utf-8")
    with running_worker(settings) as worker:
        ledger, _ = asyncio.run(ingest_and_wait(settings, a_paths, 240.0, worker))
        assert not ledger.pending
        before = _wait_for_zero_lag(settings)
    assert all(p.committed is not None for p in before.group(settings.app_id).partitions if p.end)

    # worker stopped: new documents wait on news.raw
    report = asyncio.run(ingest_paths(settings, write_articles(tmp_path / "b", range(310, 316)), show_progress=False))
    assert report.raw == 6
    stopped = _status(settings)
    group = stopped.group(settings.app_id)
    assert group is not None and group.members == 0
    raw_lag = {p.partition: p.lag for p in group.partitions if p.topic == settings.topic(RAW)}
    assert sum(raw_lag.values()) == 6
    kafka = _kafka_lags(kafka_broker, settings.app_id, settings.topic(RAW))
    assert kafka and all(raw_lag[p] == lag for p, lag in kafka.items()), (raw_lag, kafka)
    assert stopped.dlq == {("clean", "too_short"): 1}
    as_json = _cli_status(settings)
    assert as_json["groups"][0]["lag"] == group.lag >= 6
    assert as_json["dlq"] == [{"stage": "clean", "reason": "too_short", "count": 1}]

    # the fix (a lower minimum length) is deployed: restart, catch up, re-drive the short document
    fixed = settings.model_copy(update={"min_text_chars": 50})
    with running_worker(fixed) as worker:
        async def nothing_new() -> list[str]:
            return report.ids

        ledger, _ = asyncio.run(publish_and_wait(fixed, nothing_new, 240.0, worker))
        assert not ledger.pending
        caught_up = _wait_for_zero_lag(fixed)
        assert all(lag == 0 for lag in _kafka_lags(kafka_broker, settings.app_id, settings.topic(RAW)).values())

        assert sum(asyncio.run(redrive(fixed, dry_run=True)).sent.values()) == 0  # rejections only by name
        dry = asyncio.run(redrive(fixed, reasons=["too_short"], dry_run=True))
        assert dict(dry.sent) == {("clean", "too_short", RAW): 1}

        async def redrive_short() -> list[str]:
            return (await redrive(fixed, reasons=["too_short"])).ids

        ledger, _ = asyncio.run(publish_and_wait(fixed, redrive_short, 240.0, worker))
        assert not ledger.pending
        [arrival] = next(iter(ledger.arrivals.values()))
        assert arrival.topic == ENRICHED and arrival.record["url"] == short.as_uri()
        _wait_for_zero_lag(fixed)
    print("\n".join(render(stopped, settings)), "\n---\n", "\n".join(render(caught_up, settings)))
    letters = read_raw(settings.kafka, settings.topic(DLQ))
    assert len(letters) == 1  # the DLQ is a log: the re-driven letter stays
