from typing import Any

from services.kafka.topics import DLQ, DUPLICATES, ENRICHED
from services.records import SCHEMA_VERSION
from services.sink.core import EnrichedSink
from services.sink.schemas import validator


def enriched(status: str = "unique", **overrides: Any) -> dict[str, Any]:
    record = {
        "schema_version": SCHEMA_VERSION, "id": "abc123", "url": "file:///x.txt", "source": "file",
        "kind": "text", "title": "A title", "text": "Body text.", "published_at": None,
        "ingested_at": "2026-01-01T00:00:00Z", "lang": "en", "lang_confidence": 0.99,
        "topics": [{"code": "medtop:11000000", "label": "politics", "score": 0.8}],
        "dedup": {"status": status, "duplicate_of": None if status == "unique" else "zzz",
                  "story_id": "s1", "similarity": None if status == "unique" else 0.9},
    }
    record.update(overrides)
    return record


def test_unique_goes_to_enriched_and_duplicates_to_duplicates() -> None:
    sink = EnrichedSink()
    [out] = sink.route(enriched())
    assert out.topic == ENRICHED and out.key == "abc123" and "processed_at" in out.record
    assert [o.topic for o in sink.route(enriched("near_duplicate"))] == [DUPLICATES]
    assert [o.topic for o in sink.route(enriched("duplicate"))] == [DUPLICATES]


def test_invalid_record_goes_to_dlq_with_reason_never_downstream() -> None:
    [out] = EnrichedSink().route(enriched(lang_confidence=7, topics="politics"))
    assert out.topic == DLQ
    assert out.record["reason"] == "schema_violation" and out.record["stage"] == "sink"
    assert "lang_confidence" in out.record["message"] and out.record["id"] == "abc123"
    assert validator("dlq").is_valid(out.record)


def test_routed_records_validate_and_carry_schema_headers() -> None:
    [out] = EnrichedSink().route(enriched())
    assert validator("enriched").is_valid(out.record)
    headers = dict(out.kafka_headers())
    assert headers["schema"] == b"enriched" and headers["content-type"] == b"application/json"
