"""Scale-out on one machine: two `newsflow worker` processes in one consumer group.

One is killed (SIGKILL, no goodbye) midway; the survivor takes over its partitions and every
ingested id still ends in exactly one terminal topic. Ids delivered twice are counted and
reported, not hidden. Also checks that a running worker's /metrics counters move.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from services.broker import free_port
from services.kafka.topics import ensure_topics, load_topic_specs
from services.settings import Settings
from services.up import ingest_and_wait, start_child
from tests.kafka_verify import read_topic
from tests.worker_ready import wait_ready

pytestmark = pytest.mark.broker

WORDS = """
harbour council river bridge school hospital museum railway election budget festival market factory airport
library stadium court police garden tram ferry vineyard orchestra mayor union drought storm research satellite
vaccine tariff pension housing energy transport climate
""".split()


def synthetic_articles(folder: Path, count: int, seed: int = 7) -> list[Path]:
    """Distinct article-length texts (random word sequences: no two are near duplicates)."""
    rng = random.Random(seed)
    paths = []
    for n in range(count):
        sentences = [" ".join(rng.choice(WORDS) for _ in range(14)).capitalize() + "." for _ in range(8)]
        path = folder / f"article-{n:04d}.txt"
        path.write_text(f"Report number {n}. " + " ".join(sentences), encoding="utf-8")
        paths.append(path)
    return paths


def metric_total(port: int, name: str) -> float:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines() if line.startswith(name + "{"))


def owned(assignment: list[str], topic: str) -> list[str]:
    return [tp for tp in assignment if tp.rsplit(":", 1)[0] == topic]


def settled_assignment(settings: Settings, ports: list[int], timeout: float = 90.0) -> list[list[str]]:
    """Each worker's assigned "topic:partition"s, once together they hold every input partition once."""
    specs = load_topic_specs(settings.topics_file)
    needed = {f"{settings.topic(t)}:{p}" for t in ("news.raw", "news.cleaned", "news.tagged")
              for p in range(specs[t].partitions)}
    deadline = time.monotonic() + timeout
    layout: list[list[str]] = []
    while time.monotonic() < deadline:
        layout = [[tp for tp in wait_ready(port).get("assignment", []) if tp in needed] for port in ports]
        held = [tp for assignment in layout for tp in assignment]
        if sorted(held) == sorted(needed):
            return layout
        time.sleep(0.5)
    raise AssertionError(f"the workers never held every input partition exactly once: {layout}")


def where(settings: Settings, ids: set[str]) -> dict[str, list[tuple[str, int, int]]]:
    """For a failure message: on which intermediate topics (partition, offset) the missing ids are."""
    found: dict[str, list[tuple[str, int, int]]] = {i: [] for i in ids}
    for name in ("news.raw", "news.cleaned", "news.tagged"):
        for m in read_topic(settings.kafka, settings.topic(name)):
            if m["value"].get("id") in found:
                found[m["value"]["id"]].append((name, m["partition"], m["offset"]))
    return found


def test_two_workers_one_killed_nothing_lost(kafka_broker: Any, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    base = Settings(kafka=kafka_broker.bootstrap, home=tmp_path / "home", topic_prefix=f"scale{run}.",
                    app_id=f"newsflow-scale-{run}", session_timeout_s=8.0)
    asyncio.run(ensure_topics(base))
    ports = [free_port(), free_port()]
    workers = [
        start_child(base.model_copy(update={"web_port": port}), ["worker", "--loglevel", "info"], f"worker-{i}.log")
        for i, port in enumerate(ports)
    ]
    try:
        for port in ports:
            wait_ready(port)
        layout = settled_assignment(base, ports)
        dedup_owner = next(a for a in layout if f"{base.topic('news.tagged')}:0" in a)
        other = next(a for a in layout if a is not dedup_owner)
        # dealt by stage cost (services/kafka/assignor.py): clean split evenly, tag all on the other
        assert [len(owned(a, base.topic("news.raw"))) for a in (dedup_owner, other)] == [2, 2], layout
        assert not owned(dedup_owner, base.topic("news.cleaned")), layout
        assert len(owned(other, base.topic("news.cleaned"))) == 4, layout
        before = metric_total(ports[0], "newsflow_records_in_total") + metric_total(
            ports[1], "newsflow_records_in_total")
        docs = synthetic_articles(tmp_path, 300)

        async def ingest_kill_wait() -> Any:
            async def killer() -> None:
                await asyncio.sleep(2.0)  # midway: some records done, many in flight
                workers[1].send_signal(signal.SIGKILL)

            kill = asyncio.create_task(killer())
            ledger, _ = await ingest_and_wait(base, docs, timeout=240.0)
            await kill
            return ledger

        ledger = asyncio.run(ingest_kill_wait())
        assert workers[1].poll() is not None, "the second worker was not killed"
        assert not ledger.pending, f"{len(ledger.pending)} ids lost after the kill: {where(base, ledger.pending)}"
        assert len(ledger.expected) == 300
        topics = {arrival.topic for arrivals in ledger.arrivals.values() for arrival in arrivals}
        assert topics <= {"news.enriched", "news.duplicates"}
        print(f"\n300 ids ingested, all accounted for; delivered twice: {ledger.redelivered}")
        after = metric_total(ports[0], "newsflow_records_in_total")
        assert after > before, "the survivor's /metrics counters did not move"
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(20)
            except Exception:
                worker.kill()
