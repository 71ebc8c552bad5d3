"""The whole pipeline on the real local broker: ingest → worker → news.enriched / duplicates / dlq.

Runs the very commands a user (and docker compose) runs: `newsflow topics`, `newsflow worker` as a
child process, `newsflow ingest`; results are read back with confluent-kafka.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from services.settings import PROJECT_ROOT, Settings
from services.sink.schemas import validator
from services.up import SAMPLES, ingest_and_wait
from tests.kafka_verify import read_topic

pytestmark = pytest.mark.broker

SEEDS = PROJECT_ROOT.parent / "shared" / "data" / "seeds"


def run_once(settings: Settings, paths: list[Path], timeout: float = 240.0) -> Any:
    ledger, _ = asyncio.run(ingest_and_wait(settings, paths, timeout))
    assert not ledger.pending, f"not accounted for: {ledger.pending}"
    return ledger


def enriched_by_file(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    by_file: dict[str, list[dict[str, Any]]] = {}
    for message in read_topic(settings.kafka, settings.topic("news.enriched")):
        record = message["value"]
        assert message["key"] == record["id"].encode()
        assert message["headers"]["schema"] == b"enriched"
        by_file.setdefault(record["url"].rsplit("/", 1)[-1], []).append(record)
    return by_file


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/data/seeds is not here (a user's clone)")
def test_seeds_end_to_end(pipeline: Settings) -> None:
    seeds = sorted(SEEDS.glob("*.txt"))
    run_once(pipeline, seeds)
    by_file = enriched_by_file(pipeline)
    enriched_schema = validator("enriched")
    for seed in seeds:
        records = by_file.get(seed.name)
        assert records, f"no enriched record names {seed.name}"
        for record in records:
            assert enriched_schema.is_valid(record), enriched_schema.errors(record)
            assert record["lang"] == "en", (seed.name, record["lang"])
            assert record["topics"], seed.name
    story = {name[:3]: {r["dedup"]["story_id"] for r in recs} for name, recs in by_file.items()}
    assert len(story["000"]) == 1 and story["000"] == story["001"] == story["002"]
    assert not story["004"] & story["000"]
    text = {name[:3]: "\n".join(r["text"] for r in recs) for name, recs in by_file.items()}
    assert "Federal Judge Restores Funding" not in text["000"]
    assert "Help us improve." not in text["001"]
    assert "16 px" not in text["002"]
    assert "Job of the Week" not in text["003"] and "Fairy tales" not in text["003"]
    assert "Read More" not in text["004"]


def test_samples_end_to_end(pipeline: Settings) -> None:
    ledger = run_once(pipeline, [SAMPLES])
    assert len(ledger.expected) == 6
    by_file = enriched_by_file(pipeline)
    duplicates = {m["value"]["url"].rsplit("/", 1)[-1]: m["value"]
                  for m in read_topic(pipeline.kafka, pipeline.topic("news.duplicates"))}
    # The gazette and its syndicated copy are one near-duplicate group. Which of the two is the
    # canonical one depends on which reaches dedup first (news.cleaned has 4 partitions).
    pair = ("harbourton-flood-wall-gazette.txt", "harbourton-flood-wall-syndicated.txt")
    canonical = [name for name in pair if name in by_file]
    assert len(canonical) == 1, f"exactly one of {pair} is enriched: {sorted(by_file)}"
    copy_name = pair[1 - pair.index(canonical[0])]
    original = by_file[canonical[0]][0]
    copy = duplicates[copy_name]
    assert copy["dedup"]["duplicate_of"] == original["id"]
    assert copy["dedup"]["status"] in ("near_duplicate", "duplicate")
    courier = by_file["harbourton-flood-wall-courier.html"][0]
    assert original["dedup"]["story_id"] == courier["dedup"]["story_id"]
    assert "Weekend Weather" not in original["text"]
    assert courier["title"].startswith("Harbourton approves")
    assert by_file["bahnstreik-de.txt"][0]["lang"] == "de"


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2 or "NEWSFLOW_WORKER_CPU" in os.environ,
                    reason="needs 2+ CPUs and up's default NEWSFLOW_WORKER_CPU")
def test_up_gives_its_worker_a_cpu_of_its_own(pipeline: Settings) -> None:
    """`up` starts its worker with NEWSFLOW_WORKER_CPU=auto: the highest CPU, claimed under NEWSFLOW_HOME."""
    cpu = max(os.sched_getaffinity(0))
    log = pipeline.home / "worker.log"
    deadline = time.monotonic() + 60
    while f"pinned to CPU {cpu}" not in log.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert f"worker: pinned to CPU {cpu}" in log.read_text(errors="replace")
    assert (pipeline.home / "cpus" / f"cpu-{cpu}.lock").exists()
