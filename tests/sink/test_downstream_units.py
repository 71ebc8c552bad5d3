"""The downstream tools' pure parts: positions, tail filters, re-drive mapping, kept dedup verdicts."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from services.dedup.core import Deduplicator
from services.downstream.dlq import redrive_outcome, selected
from services.downstream.filters import RecordFilter
from services.downstream.ranges import Position, parse_position, parse_time
from services.downstream.replay import KeptVerdicts, ReplayPlan, version_name
from services.kafka.topics import CLEANED, RAW, TAGGED
from services.outcomes import dead_letter
from services.records import DedupVerdict
from tests.sink.broker_helpers import synthetic_article
from tests.sink.test_routing import ARCTIC, CONFLICT, POLITICS
from tests.sink.test_sink import enriched

NOW = 1_800_000_000_000


def test_positions_as_people_write_them() -> None:
    assert parse_position("2h", NOW) == Position("time", time_ms=NOW - 7_200_000)
    assert parse_position("90s", NOW).time_ms == NOW - 90_000
    assert parse_position("1.5d", NOW).time_ms == NOW - 129_600_000
    assert parse_position("2026-11-20T08:00:00Z").time_ms == 1795161600000
    assert parse_position("2026-11-20T08:00").time_ms == 1795161600000  # naive = UTC
    assert parse_position("2026-11-20T09:00:00+01:00").time_ms == 1795161600000
    assert parse_position("1200") == Position("offset", all_offset=1200)
    assert parse_position("@7") == Position("offset", all_offset=7)
    assert parse_position("2:1200,0:5") == Position("offset", offsets=((0, 5), (2, 1200)))
    assert parse_position("2:1200,0:5").partitions == {0, 2}
    assert parse_position("beginning").kind == "beginning" and parse_position("end").kind == "end"
    with pytest.raises(ValueError, match="not a time"):
        parse_time("yesterday-ish")


def test_tail_filter_by_language_topic_and_time() -> None:
    record = enriched(lang="en", topics=[POLITICS, CONFLICT], user_topics=[ARCTIC])
    assert not RecordFilter().active and RecordFilter().matches(record)
    assert RecordFilter.of(["en"]).matches(record) and not RecordFilter.of(["de,fr"]).matches(record)
    for wanted in ("politics", "medtop:16000000", "conflict, war and peace", "arctic-security"):
        assert RecordFilter.of(topics=[wanted]).matches(record), wanted
    assert not RecordFilter.of(topics=["sport"]).matches(record)
    assert RecordFilter.of(["de", "en"], ["sport,politics"]).matches(record)
    since = RecordFilter.of(since="2h", now_ms=NOW)
    assert since.matches(record, NOW - 3_600_000) and not since.matches(record, NOW - 3 * 3_600_000)
    assert not RecordFilter.of(["en"]).matches("not a record")


def _letter(stage: str, reason: str, payload: bytes | str, **fields: Any) -> dict[str, Any]:
    return dead_letter(stage=stage, reason=reason, error="E", message="m", payload=payload, **fields).record


def test_redrive_sends_the_original_payload_to_the_failed_stages_input() -> None:
    raw = {"schema_version": "1.0.0", "id": "r1", "url": "https://x.example/a", "source": "x", "kind": "text",
           "body": "text", "ingested_at": "2026-01-01T00:00:00Z"}
    for stage, topic in (("clean", RAW), ("tag", CLEANED), ("dedup", TAGGED)):
        out = redrive_outcome(_letter(stage, f"{stage}_error", orjson.dumps(raw), article_id="r1"))
        assert not isinstance(out, str)
        assert (out.topic, out.key, out.record) == (topic, "r1", raw)
        assert dict(out.kafka_headers())["redriven-from"] == b"news.dlq"
    sink = redrive_outcome(_letter("sink", "schema_violation", orjson.dumps(enriched())))
    assert not isinstance(sink, str) and sink.topic == TAGGED
    assert "dedup" not in sink.record and "processed_at" not in sink.record and sink.key == "abc123"
    assert "ingest" in str(redrive_outcome(_letter("ingest", "too_large", b"x" * 10)))
    assert redrive_outcome(_letter("clean", "invalid_json", b"\xff\xfe not json")) == "payload is not JSON"
    assert redrive_outcome(_letter("clean", "schema_violation", b"[1, 2]")) == "payload is not a JSON object"
    binary = _letter("clean", "clean_error", b"\xff" + orjson.dumps(raw))
    assert binary["payload_encoding"] == "base64" and base64.b64decode(binary["payload"])[0] == 0xFF
    assert redrive_outcome(binary) == "payload is not JSON"


def test_redrive_selection_leaves_content_rejections_alone_unless_named() -> None:
    assert selected({"stage": "clean", "reason": "clean_error"}, set(), set())
    assert not selected({"stage": "clean", "reason": "too_short"}, set(), set())
    assert selected({"stage": "clean", "reason": "too_short"}, {"too_short"}, set())
    assert not selected({"stage": "tag", "reason": "tag_error"}, set(), {"clean"})


def _article(n: int, text: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"id{n}", "title": f"Title {n}", "text": text, "published_at": None,
            "ingested_at": f"2026-03-0{n}T10:00:00Z", "lang": "en", **extra}


def test_kept_verdicts_answer_seen_ids_with_their_first_pass_and_index_everything() -> None:
    original, other = synthetic_article(1), synthetic_article(2)
    # first pass: id2 came first and was unique; id1 was judged a copy of id2 (whatever the replay order)
    prior = {
        "id1": DedupVerdict(status="near_duplicate", duplicate_of="id2", story_id="st-first", similarity=0.9),
        "id2": DedupVerdict(status="unique", duplicate_of=None, story_id="st-first", similarity=None),
    }
    kept = KeptVerdicts(prior)
    assert kept.check(_article(1, original)) == prior["id1"]  # replay sees id1 first: still the copy
    assert kept.check(_article(2, other)) == prior["id2"]
    # a new id copying id1's text: matched against the replayed text, pointed at the canonical id2
    new = kept.check(_article(3, original + "\nRelated: more news"))
    assert new["status"] in ("duplicate", "near_duplicate") and new["duplicate_of"] == "id2"
    assert new["story_id"] == "st-first" and kept.kept == 2
    # a fresh Deduplicator in a replay has never seen the first pass: nothing is a copy of itself
    fresh = Deduplicator()
    assert fresh.check(_article(1, original))["status"] == "unique"
    assert fresh.check(_article(1, original))["status"] == "unique"  # same id again: same verdict


def test_versions_and_plans() -> None:
    assert version_name("live") == "live" and version_name("v2") == "v2"
    for bad in ("V 2", "", "v2/x"):
        with pytest.raises(ValueError):
            version_name(bad)
    plan = ReplayPlan([], into="v2")
    assert plan.output("news.enriched") == "news.enriched.v2" and plan.total == 0
    assert ReplayPlan([]).output("news.topic.politics") == "news.topic.politics"
