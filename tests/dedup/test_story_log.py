"""Story events: what news.stories carries for each story, and that it survives a snapshot."""

from __future__ import annotations

from services.dedup.core import Deduplicator
from services.dedup.story_log import MAX_MEMBERS, StoryLog
from services.sink.schemas import validator

FLOOD = ("Harbourton council approved a flood wall along the river on Tuesday after spring storms flooded "
         "the old harbour district twice. The wall will cost 40 million and take three years to build. ")


def test_story_event_counts_members_copies_and_languages() -> None:
    dedup = Deduplicator()
    a = {"id": "a", "title": "Harbourton approves flood wall", "text": FLOOD * 3, "lang": "en",
         "published_at": "2026-11-18T08:00:00Z", "ingested_at": "2026-11-18T09:00:00Z"}
    copy = {**a, "id": "b", "title": "Flood wall approved", "published_at": "2026-11-18T10:00:00Z"}
    va, vb = dedup.check(a), dedup.check(copy)
    assert vb["duplicate_of"] == "a" and va["story_id"] == vb["story_id"]
    event = dedup.story_event(va["story_id"])
    assert event is not None
    assert validator("story").is_valid(event), validator("story").errors(event)
    assert event["title"] == "Harbourton approves flood wall"
    assert event["representative_id"] == "a"
    assert event["members"] == ["a", "b"] and event["member_count"] == 2 and event["unique_count"] == 1
    assert event["first_seen"] == "2026-11-18T08:00:00Z" and event["last_seen"] == "2026-11-18T10:00:00Z"
    assert event["languages"] == ["en"]
    dedup.check(copy)  # redelivered: not counted twice
    assert dedup.story_event(va["story_id"])["member_count"] == 2
    restored = Deduplicator.restore(dedup.snapshot())
    assert restored.story_event(va["story_id"]) == dedup.story_event(va["story_id"])


def test_members_are_capped_but_counted() -> None:
    log = StoryLog()
    for i in range(MAX_MEMBERS + 5):
        log.add("st-x", f"id{i}", "" if i == 0 else f"title {i}", 1000.0 + i, canonical=i == 0, lang="de")
    event = log.event("st-x")
    assert event is not None
    assert event["member_count"] == MAX_MEMBERS + 5 and len(event["members"]) == MAX_MEMBERS
    assert event["members_truncated"] and event["title"] == "title 1" and event["representative_id"] == "id0"
    assert validator("story").is_valid(event)
    assert log.evict_before(2000.0) == 1 and log.event("st-x") is None
