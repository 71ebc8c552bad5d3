"""The whole pipeline on the real local broker: ingest → worker → news.enriched / duplicates / dlq.

Runs the very commands a user (and docker compose) runs: `newsflow topics`, `newsflow worker` as a
child process, `newsflow ingest`; results are read back with confluent-kafka.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

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
    gazette = by_file["harbourton-flood-wall-gazette.txt"][0]
    courier = by_file["harbourton-flood-wall-courier.html"][0]
    assert gazette["dedup"]["story_id"] == courier["dedup"]["story_id"]
    assert "Weekend Weather" not in gazette["text"]
    assert courier["title"].startswith("Harbourton approves")
    assert by_file["bahnstreik-de.txt"][0]["lang"] == "de"
    duplicates = [m["value"] for m in read_topic(pipeline.kafka, pipeline.topic("news.duplicates"))]
    syndicated = [d for d in duplicates if d["url"].endswith("harbourton-flood-wall-syndicated.txt")]
    assert syndicated and syndicated[0]["dedup"]["duplicate_of"] == gazette["id"]
    assert syndicated[0]["dedup"]["status"] in ("near_duplicate", "duplicate")


def test_bad_input_lands_in_dlq_and_nothing_crashes(pipeline: Settings, tmp_path: Path) -> None:
    cases = {
        "empty.txt": (b"", "empty"),
        "binary.txt": (bytes(range(256)) * 64, "binary"),
        "broken.json": (b'{"url": "https://example.com/x", "text": "unterminated', "invalid_json"),
        "latin1.txt": ("Zürich und Köln im Schneechaos. ".encode("latin-1") * 40, "bad_encoding"),
        "huge.txt": (b"All work and no play makes a dull story. " * 128_000, "too_large"),
    }
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
    settings = pipeline.model_copy(update={"max_body_bytes": 4 * 1024 * 1024})
    assert len(cases["huge.txt"][0]) > 5_000_000
    run_once(settings, [tmp_path / name for name in cases])

    # a message that is not even JSON, produced straight into news.raw by another client
    producer = Producer({"bootstrap.servers": pipeline.kafka})
    producer.produce(pipeline.topic("news.raw"), key=b"garbage", value=b"\xff\xfe not json")
    producer.flush(10)
    # the worker must still be alive and processing: a good document after the garbage arrives
    good = tmp_path / "after-garbage.txt"
    good.write_text("The harbour authority reopened the northern ferry terminal on Monday after repairs. " * 6)
    run_once(pipeline, [good])

    dlq = [m["value"] for m in read_topic(pipeline.kafka, pipeline.topic("news.dlq"))]
    dlq_schema = validator("dlq")
    reasons = {}
    for record in dlq:
        assert dlq_schema.is_valid(record), dlq_schema.errors(record)
        reasons[(record.get("url") or "").rsplit("/", 1)[-1]] = record["reason"]
    for name, (_, reason) in cases.items():
        assert reasons.get(name) == reason, (name, reasons)
    assert any(r["reason"] == "invalid_json" and r["stage"] == "clean" for r in dlq)
    assert any(r["url"].endswith("after-garbage.txt") for r in
               (m["value"] for m in read_topic(pipeline.kafka, pipeline.topic("news.enriched"))))
