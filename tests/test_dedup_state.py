"""Dedup state survives a worker restart (checkpoints in news.dedup.state + catch-up from news.tagged).

On the real broker, with the commands a user runs: a copy of an article with a new headline and an
appended headline list lands in news.duplicates; the worker is killed (SIGKILL, no goodbye); after
the restart the same copy is still a duplicate, a second copy made after the restart is one too,
and the original sent again is never a duplicate of itself. news.stories carries the story.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.broker import free_port
from services.kafka.topics import ensure_topics
from services.ledger import Ledger
from services.settings import Settings
from services.up import SAMPLES, ingest_and_wait, start_worker, stop_worker, worker_log
from tests.kafka_verify import read_topic

pytestmark = pytest.mark.broker

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "seeds" / "000_d039d1196f0db9df.txt"
FALLBACK = SAMPLES / "harbourton-flood-wall-gazette.txt"  # a user's clone has no ../shared

HEADLINES = """More headlines

Allies weigh new Arctic patrols as sea lanes open
Markets close higher on tech earnings
Storm warning issued for the northern coast
Read more: Ten things to know this week
"""


@pytest.fixture(scope="module")
def settings(kafka_broker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka=kafka_broker.bootstrap, home=tmp_path_factory.mktemp("dedup-state"), topic_prefix=f"ds{run}.",
        app_id=f"newsflow-ds-{run}", web_port=free_port(), dedup_checkpoint_s=1.0,
    )
    asyncio.run(ensure_topics(settings))
    yield settings


def ingest(settings: Settings, paths: list[Path]) -> Ledger:
    ledger, _ = asyncio.run(ingest_and_wait(settings, paths, timeout=180))
    assert not ledger.pending, f"not accounted for: {ledger.pending}\n" + worker_log(settings).read_text()[-4000:]
    return ledger


def only(ledger: Ledger) -> tuple[str, dict[str, Any]]:
    [article_id] = ledger.expected
    arrivals = ledger.results(article_id)
    assert len(arrivals) == 1, arrivals
    return arrivals[0].topic, arrivals[0].record


def test_duplicate_state_survives_a_killed_worker(settings: Settings, tmp_path: Path) -> None:
    source = SEED if SEED.is_file() else FALLBACK
    body = source.read_text(encoding="utf-8")
    original = tmp_path / "original" / source.name
    original.parent.mkdir()
    original.write_text(body, encoding="utf-8")
    copy = tmp_path / "copy" / "copy.txt"
    copy.parent.mkdir()
    copy.write_text("Allies step up Arctic security talks, Rutte says\n\n" + body.rstrip() + "\n\n" + HEADLINES,
                    encoding="utf-8")

    worker = start_worker(settings)
    try:
        topic, first = only(ingest(settings, [original]))
        assert topic == "news.enriched" and first["dedup"]["status"] == "unique"
        topic, dup = only(ingest(settings, [copy]))
        assert topic == "news.duplicates", dup["dedup"]
        assert dup["dedup"]["duplicate_of"] == first["id"]
        assert dup["dedup"]["story_id"] == first["dedup"]["story_id"]
        asyncio.run(asyncio.sleep(1.5))  # let the next record fall due for a checkpoint as well
        filler = tmp_path / "filler" / "filler.txt"
        filler.parent.mkdir()
        filler.write_bytes((SAMPLES / "bahnstreik-de.txt").read_bytes())
        ingest(settings, [filler])  # a record after the interval: the worker checkpoints its state
        deadline = time.monotonic() + 60
        while "dedup: checkpoint of partition 0" not in worker_log(settings).read_text(errors="replace"):
            assert time.monotonic() < deadline, "no dedup checkpoint written"
            time.sleep(0.2)
        ingest(settings, [SAMPLES / "harbourton-flood-wall-courier.html"])  # after the checkpoint: caught up
        time.sleep(3)  # its offset is committed (every second), so the restarted worker must re-check it
    finally:
        worker.kill()  # SIGKILL: no shutdown hook may save anything
        worker.wait()

    worker = start_worker(settings)
    try:
        topic, again = only(ingest(settings, [copy]))  # the very same copy, redelivered after the restart
        assert topic == "news.duplicates", again["dedup"]
        assert again["id"] == dup["id"] and again["dedup"]["duplicate_of"] == first["id"]

        second = tmp_path / "second" / "second-copy.txt"
        second.parent.mkdir()
        second.write_text("Rutte: NATO allies agree Arctic must stay safe\n\n" + body.rstrip()
                          + "\n\nRelated\nArctic shipping routes explained\nWho owns the North Pole?\n",
                          encoding="utf-8")
        topic, new_copy = only(ingest(settings, [second]))  # a copy the restarted worker never saw
        assert topic == "news.duplicates", new_copy["dedup"]
        assert new_copy["dedup"]["duplicate_of"] == first["id"]

        topic, same = only(ingest(settings, [original]))  # the original replayed: never its own duplicate
        assert topic == "news.enriched" and same["id"] == first["id"]
        assert same["dedup"]["status"] == "unique"
    finally:
        stop_worker(worker)

    log = worker_log(settings).read_text(errors="replace")
    assert "dedup: partition 0 restored from checkpoint at offset" in log
    assert re.search(r"restored from checkpoint at offset \d+; re-checked [1-9]", log), "no catch-up after restore"
    story_id = first["dedup"]["story_id"]
    events = [m for m in read_topic(settings.kafka, settings.topic("news.stories")) if m["key"] == story_id.encode()]
    assert events, "no news.stories event for the story"
    latest = events[-1]["value"]
    assert latest["story_id"] == story_id and latest["representative_id"] == first["id"]
    assert {first["id"], dup["id"], new_copy["id"]} <= set(latest["members"])
    assert latest["member_count"] == 3 and latest["unique_count"] == 1
    assert events[-1]["headers"]["schema"] == b"story"
