"""The in-process chain (`newsflow process`): every stage, no Kafka."""

from __future__ import annotations

import subprocess
import sys

import orjson

from services.fetcher.files import DocumentReader
from services.kafka.topics import DLQ, DUPLICATES, ENRICHED, STORIES
from services.pipeline import CleanStep, DedupStep, Pipeline, TagStep
from services.settings import Settings
from services.sink.schemas import validator
from services.up import SAMPLES


def test_pipeline_on_bundled_samples() -> None:
    settings = Settings()
    reader = DocumentReader(settings.max_body_bytes, settings.max_body_bytes)
    everything = list(Pipeline(settings).run(reader.read([SAMPLES])))
    outcomes = [o for o in everything if o.topic != STORIES]
    assert len(outcomes) == 6
    assert {o.topic for o in outcomes} <= {ENRICHED, DUPLICATES}
    for outcome in outcomes:
        assert validator("enriched").is_valid(outcome.record), validator("enriched").errors(outcome.record)
    by_name = {o.record["url"].rsplit("/", 1)[-1]: o.record for o in outcomes}
    assert by_name["bahnstreik-de.txt"]["lang"] == "de"
    syndicated = by_name["harbourton-flood-wall-syndicated.txt"]["dedup"]
    assert syndicated["status"] in ("near_duplicate", "duplicate")
    assert syndicated["duplicate_of"] == by_name["harbourton-flood-wall-gazette.txt"]["id"]
    # every article is followed by its story's event; the flood story ends with 3 members from 2 outlets
    stories = [o for o in everything if o.topic == STORIES]
    assert len(stories) == 6 and all(validator("story").is_valid(o.record) for o in stories)
    flood = by_name["harbourton-flood-wall-gazette.txt"]["dedup"]["story_id"]
    last = [o.record for o in stories if o.key == flood][-1]
    assert last["member_count"] == 3 and last["unique_count"] == 2


def test_steps_turn_garbage_into_dead_letters() -> None:
    settings = Settings()
    for step in (CleanStep(settings), DedupStep(settings)):
        for payload in (b"", b"\xff\xfe", b"[1, 2]", b'{"id": 3}', b"null"):
            [outcome] = step(payload)
            assert outcome.topic == DLQ, (step, payload)
            assert validator("dlq").is_valid(outcome.record)
    outcomes = TagStep(settings)([b"{", b'{"id": "x", "text": "Hello world, this is a test."}'])
    assert outcomes[0].topic == DLQ and outcomes[0].record["reason"] == "invalid_json"
    assert len(outcomes) == 2


def test_clean_step_rejections_carry_reason_and_source() -> None:
    settings = Settings()
    raw = {"schema_version": "1.0.0", "id": "r1", "url": "file:///tmp/empty.txt", "source": "file",
           "kind": "text", "body": "   ", "ingested_at": "2026-01-01T00:00:00Z"}
    [outcome] = CleanStep(settings)(orjson.dumps(raw))
    assert outcome.topic == DLQ and outcome.record["reason"] == "empty"
    assert outcome.record["url"] == "file:///tmp/empty.txt" and outcome.record["id"] == "r1"
    assert orjson.loads(outcome.record["payload"]) == raw


def test_cli_process_runs_without_kafka() -> None:
    result = subprocess.run([sys.executable, "-m", "services.cli", "process", str(SAMPLES)],
                            capture_output=True, timeout=300, check=True)
    records = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 6
    statuses = {r.get("dedup", {}).get("status") for r in records}
    assert "unique" in statuses and statuses & {"near_duplicate", "duplicate"}
