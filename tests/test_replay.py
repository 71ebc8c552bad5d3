"""Replay / backfill on the real broker: exact ranges, versioned outputs, in-place upserts.

One worker processes three batches written a second apart (A: the bundled samples, B: distinct
articles, a near-duplicate and one document per cleaner rejection, C: more articles); the tests
replay ranges of that `news.raw` and read the results with confluent-kafka and Kafka's own
ConsoleConsumer.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from services.downstream.ranges import Position, parse_position
from services.downstream.replay import plan_replay, run_replay
from services.kafka.topics import DLQ, DUPLICATES, ENRICHED, RAW
from services.records import SCHEMA_VERSION
from services.settings import PROJECT_ROOT, get_settings
from services.sink.schemas import validator
from services.up import SAMPLES, ingest_and_wait
from tests.sink.broker_helpers import RoutedSettings, ensure, fresh_settings, read_raw, running_worker, write_articles
from tests.sink.rejections import REJECTED

pytestmark = pytest.mark.broker

EVENT_TIME = ("published_at", "fetched_at", "ingested_at")


@dataclass
class Stream:
    settings: RoutedSettings
    batches: dict[str, set[str]]  # raw ids per batch
    t1: str  # ISO time between A and B
    t2: str  # ISO time between B and C
    rejected_urls: dict[str, str]  # url -> reason


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _ingest(settings: RoutedSettings, paths: list[Path], worker: Any) -> set[str]:
    ledger, _ = asyncio.run(ingest_and_wait(settings, paths, 240.0, worker))
    assert not ledger.pending, f"not accounted for: {ledger.pending}"
    return set(ledger.expected)


@pytest.fixture(scope="module")
def stream(kafka_broker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stream]:
    home = tmp_path_factory.mktemp("replay-home")
    docs = tmp_path_factory.mktemp("replay-docs")
    settings = fresh_settings(kafka_broker.bootstrap, home, "rpl")
    ensure(settings)
    b_paths = write_articles(docs / "b", range(100, 106))
    copy = docs / "b" / "article-100-syndicated.txt"
    copy.write_text(b_paths[0].read_text(encoding="utf-8") + "\nRelated: council news, weather, sport\n")
    b_paths.append(copy)
    for name, (content, _) in REJECTED.items():
        (docs / "b" / name).write_text(content, encoding="utf-8")
        b_paths.append(docs / "b" / name)
    with running_worker(settings) as worker:
        a = _ingest(settings, [SAMPLES], worker)
        time.sleep(1.2)
        t1 = _now_iso()
        time.sleep(1.2)
        b = _ingest(settings, b_paths, worker)
        time.sleep(1.2)
        t2 = _now_iso()
        time.sleep(1.2)
        c = _ingest(settings, write_articles(docs / "c", range(200, 203)), worker)
        rejected = {(docs / "b" / name).as_uri(): reason for name, (_, reason) in REJECTED.items()}
        yield Stream(settings, {"A": a, "B": b, "C": c}, t1, t2, rejected)


def _records(settings: RoutedSettings, topic: str) -> list[dict[str, Any]]:
    return [{**m, "record": orjson.loads(m["value"])} for m in read_raw(settings.kafka, settings.topic(topic))]


def _ids(messages: list[dict[str, Any]]) -> set[str]:
    return {m["key"].decode() for m in messages}


def test_dry_run_prints_the_range_and_changes_nothing(stream: Stream) -> None:
    env = {k: v for k, v in stream.settings.as_env().items() if k.startswith("NEWSFLOW_")}
    raw_before = read_raw(stream.settings.kafka, stream.settings.topic(RAW))
    get_settings.cache_clear()
    try:
        from services.downstream.cli import replay

        result = CliRunner(env=env).invoke(replay, ["--from", stream.t1, "--to", stream.t2, "--dry-run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"{len(stream.batches['B'])} record(s) into live" in result.output
    assert result.output.count("news.raw[") == 4
    assert read_raw(stream.settings.kafka, stream.settings.topic(RAW)) == raw_before


def test_a_time_range_replays_exactly_the_ids_written_in_it(stream: Stream) -> None:
    settings = stream.settings
    plan = asyncio.run(plan_replay(settings, parse_position(stream.t1), parse_position(stream.t2), into="r1"))
    assert plan.total == len(stream.batches["B"])
    report = asyncio.run(run_replay(settings, plan, show_progress=False))
    assert report.read == plan.total
    replayed = set().union(*report.ids.values())
    assert replayed == stream.batches["B"]

    by_topic = {t: _records(settings, f"{t}.r1") for t in (ENRICHED, DUPLICATES, DLQ)}
    assert set().union(*(_ids(m) for m in by_topic.values())) == stream.batches["B"]
    assert len(_ids(by_topic[DUPLICATES])) == 1  # the syndicated copy, a duplicate of its original
    for topic, messages in by_topic.items():
        for m in messages:
            record, headers = m["record"], dict(m["headers"])
            assert headers["replay"].decode() == report.run
            if topic == DLQ:
                assert validator("dlq").is_valid(record)
                continue
            assert headers["schema"] == b"enriched" and validator("enriched").is_valid(record)
            provenance = record["provenance"]
            assert provenance["replay"]["run"] == report.run and provenance["replay"]["into"] == "r1"
            span = {(r.partition, o) for r in plan.ranges for o in range(r.start, r.stop)}
            assert (provenance["raw"]["partition"], provenance["raw"]["offset"]) in span
            assert set(provenance["stages"]) == {"clean", "tag", "dedup"}
    # the cleaner's rejections: on the DLQ with their reason and source URL, never enriched
    letters = {m["record"]["url"]: m["record"]["reason"] for m in by_topic[DLQ]}
    assert letters == stream.rejected_urls
    assert not {m["record"]["url"] for m in by_topic[ENRICHED]} & set(stream.rejected_urls)
    live_letters = {m["record"]["url"]: m["record"]["reason"] for m in _records(settings, DLQ)}
    assert {u: live_letters.get(u) for u in stream.rejected_urls} == stream.rejected_urls


def test_a_replay_into_v2_leaves_the_live_topics_byte_identical(stream: Stream) -> None:
    settings = stream.settings
    live = [ENRICHED, DUPLICATES, DLQ, "news.lang.en", "news.topic.politics"]
    before = {t: read_raw(settings.kafka, settings.topic(t)) for t in live}
    plan = asyncio.run(plan_replay(settings, Position("beginning"), into="v2"))
    assert plan.verdicts == "recompute"
    report = asyncio.run(run_replay(settings, plan, show_progress=False))
    after = {t: read_raw(settings.kafka, settings.topic(t)) for t in live}
    assert after == before

    everything = set().union(*stream.batches.values())
    assert set().union(*report.ids.values()) == everything
    live_articles = _ids(before[ENRICHED]) | _ids(before[DUPLICATES])
    v2 = {t: _records(settings, f"{t}.v2") for t in (ENRICHED, DUPLICATES)}
    assert _ids(v2[ENRICHED]) | _ids(v2[DUPLICATES]) == live_articles
    # routing topics get the version suffix too, and hold exactly what their name says
    english = _records(settings, "news.lang.en.v2")
    assert english and {m["record"]["lang"] for m in english} == {"en"}
    assert _ids(english) <= _ids(v2[ENRICHED])
    german = _records(settings, "news.lang.de.v2")
    assert [m["record"]["url"].rsplit("/", 1)[-1] for m in german] == ["bahnstreik-de.txt"]
    politics = _records(settings, "news.topic.politics.v2")
    assert all(any(t["code"] == "medtop:11000000" for t in m["record"]["topics"]) for m in politics)
    for m in english + politics:
        assert dict(m["headers"])["schema"] == b"enriched" and m["key"] == m["record"]["id"].encode()


def _tail(settings: RoutedSettings, *args: str) -> list[dict[str, Any]]:
    result = subprocess.run([sys.executable, "-m", "services.cli", "tail", *args, "--idle-timeout", "4"],
                            env={**os.environ, **settings.as_env()}, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_tail_filters_by_language_topic_and_time(stream: Stream) -> None:
    from services.cli import main

    if not any(p.name == "langs" for p in main.commands["tail"].params):  # type: ignore[attr-defined]
        pytest.skip("`newsflow tail` has no --lang/--topic/--since yet")
    settings = stream.settings
    live = _records(settings, ENRICHED)
    german = _tail(settings, ENRICHED, "--from-beginning", "--lang", "de")
    assert [r["id"] for r in german] == [m["record"]["id"] for m in live if m["record"]["lang"] == "de"]
    politics = _tail(settings, ENRICHED, "--from-beginning", "--topic", "politics", "--lang", "en,de")
    assert {r["id"] for r in politics} == {
        m["record"]["id"] for m in live if any(t["code"] == "medtop:11000000" for t in m["record"]["topics"])}
    t2_ms = int(datetime.fromisoformat(stream.t2).timestamp() * 1000)
    recent = _tail(settings, ENRICHED, "--since", stream.t2)
    assert stream.batches["C"] <= {r["id"] for r in recent}
    assert sorted(r["id"] for r in recent) == sorted(m["record"]["id"] for m in live if m["timestamp"] >= t2_ms)


def test_an_in_place_replay_only_upserts(stream: Stream) -> None:
    settings = stream.settings
    before = {t: _records(settings, t) for t in (ENRICHED, DUPLICATES)}
    plan = asyncio.run(plan_replay(settings, Position("beginning"), into="live"))
    assert plan.verdicts == "keep"
    report = asyncio.run(run_replay(settings, plan, show_progress=False))
    after = {t: _records(settings, t) for t in (ENRICHED, DUPLICATES)}

    for topic in (ENRICHED, DUPLICATES):
        # no id appears, disappears or changes topic; each replayed id arrives exactly once more
        assert _ids(after[topic]) == _ids(before[topic]), topic
        counts_before = Counter(m["key"] for m in before[topic])
        counts_after = Counter(m["key"] for m in after[topic])
        assert {k: counts_after[k] - counts_before[k] for k in counts_after} == dict.fromkeys(counts_after, 1)
        first = {m["key"]: m for m in before[topic]}
        new = [m for m in after[topic] if "replay" in m["record"].get("provenance", {})]
        assert len(new) == len(first)
        for m in new:
            old, record = first[m["key"]], m["record"]
            assert m["partition"] == old["partition"]  # same key, same partition: upserts stay in order
            assert record["dedup"] == old["record"]["dedup"]  # the first pass's verdict
            assert record["dedup"]["duplicate_of"] != record["id"]
            assert {f: record.get(f) for f in EVENT_TIME} == {f: old["record"].get(f) for f in EVENT_TIME}
            assert record["provenance"]["raw"] == old["record"]["provenance"]["raw"]
            assert record["provenance"]["replay"]["run"] == report.run
            # upsert semantics: per key, the latest message is the replayed one
            latest = max((x for x in after[topic] if x["key"] == m["key"]), key=lambda x: x["offset"])
            assert latest["offset"] == m["offset"]
    assert not _ids(after[ENRICHED]) & _ids(after[DUPLICATES])
    assert report.kept_verdicts == len(_ids(before[ENRICHED]) | _ids(before[DUPLICATES]))


def test_kafka_console_consumer_reads_our_topics(stream: Stream, kafka_broker: Any) -> None:
    topic = stream.settings.topic(ENRICHED)
    expected = read_raw(stream.settings.kafka, topic)
    result = kafka_broker.broker.run_tool("org.apache.kafka.tools.consumer.ConsoleConsumer", [
        "--bootstrap-server", kafka_broker.bootstrap, "--topic", topic, "--from-beginning",
        "--max-messages", str(len(expected)), "--timeout-ms", "30000",
        "--property", "print.key=true", "--property", "print.headers=true", "--property", "key.separator=\t",
    ], timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == len(expected)
    for line in lines:
        headers, key, value = line.split("\t", 2)
        record = orjson.loads(value)
        assert key == record["id"] and "schema:enriched" in headers and f"schema-version:{SCHEMA_VERSION}" in headers
    assert Counter(line.split("\t")[1] for line in lines) == Counter(m["key"].decode() for m in expected)


def test_the_example_consumer_upserts_each_article_once(stream: Stream) -> None:
    settings = stream.settings
    enriched = read_raw(settings.kafka, settings.topic(ENRICHED))
    letters = read_raw(settings.kafka, settings.topic(DLQ))
    command = [sys.executable, str(PROJECT_ROOT / "docs" / "examples" / "consumer.py"), "--bootstrap", settings.kafka,
               "--group", f"{settings.app_id}-example", "--from-beginning", "--idle-timeout", "5",
               "--topic", settings.topic(ENRICHED), "--topic", settings.topic(DLQ)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert result.returncode == 0, result.stderr[-2000:]
    summary = orjson.loads(result.stdout.splitlines()[-1])
    # every message read, dead letters skipped by their schema header, one row per article id
    assert summary == {"received": len(enriched) + len(letters), "skipped": len(letters),
                       "articles": len(_ids(enriched))}
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert orjson.loads(again.stdout.splitlines()[-1])["received"] == 0  # its group committed
