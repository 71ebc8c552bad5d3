"""Poison input: each kind ends in the DLQ with a reason and its original bytes; nothing crashes.

The catalogue (POISON) is the one `docs/reliability.md` lists. Every kind is checked against
the in-process steps (fast), and the raw-topic kinds again on the real broker, sent straight
into `news.raw` by another client while a worker runs: the worker must survive all of them,
keep its memory bounded, and still process a good article afterwards.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from services.fetcher.files import DocumentReader
from services.kafka.topics import DLQ
from services.outcomes import original_payload
from services.pipeline import CleanStep
from services.records import now_iso
from services.settings import Settings
from tests.kafka_verify import read_topic

GOOD_TEXT = "The harbour authority reopened the northern ferry terminal on Monday after repairs. " * 6


def raw_record(body: str, kind: str = "html", **fields: Any) -> bytes:
    record = {"schema_version": "1.0.0", "id": "poison-1", "url": "https://example.com/poison", "source": "test",
              "kind": kind, "body": body, "ingested_at": now_iso(), **fields}
    return orjson.dumps(record)


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(2, 10)).replace("&lol1;", "&lol;")
    + ']><rss><channel><item><title>&lol9;</title><description>&lol9;</description></item></channel></rss>'
)

# kind → (payload for news.raw, expected DLQ reason). Payloads are what another producer could write.
RAW_TOPIC_POISON: dict[str, tuple[bytes, str]] = {
    "invalid JSON": (b'{"id": "x", "body": ', "invalid_json"),
    "not JSON at all (binary)": (bytes(range(256)) * 16, "invalid_json"),
    "invalid UTF-8 inside JSON": (b'{"id": "\xff\xfe", "body": "x"}', "invalid_json"),
    "JSON nested 5,000 deep": (b"[" * 5000 + b"]" * 5000, "invalid_json"),
    "JSON array instead of a record": (b"[1, 2, 3]", "schema_violation"),
    "JSON null / tombstone": (b"null", "schema_violation"),
    "empty message": (b"", "invalid_json"),
    "schema violation (wrong types)": (raw_record("text", kind="text", title=5), "schema_violation"),
    "record missing every text field": (
        orjson.dumps({"schema_version": "1.0.0", "id": "x", "url": "https://example.com/x", "source": "t",
                      "ingested_at": now_iso()}), "schema_violation"),
    "empty body": (raw_record("   ", kind="text"), "empty"),
    "too short": (raw_record("Short note.", kind="text"), "too_short"),
    "HTML nested 10,000 deep": (raw_record("<div>" * 10000 + "hello" + "</div>" * 10000), "not_an_article"),
    "XML billion laughs": (raw_record(BILLION_LAUGHS), "too_short"),
    "navigation-only page": (
        raw_record("<html><body><nav>" + "".join(f'<a href="/{i}">Link {i}</a>' for i in range(200))
                   + "</nav></body></html>"), "not_an_article"),
    "paywalled teaser": (
        raw_record("<html><body><article><h1>Big story</h1><p>The first paragraph is free to read.</p>"
                   "<div class='paywall'>Subscribe to continue reading. Already a subscriber? Sign in</div>"
                   "</article></body></html>"), "paywalled"),
    "JavaScript shell": (
        raw_record("<html><body><div id='root'></div><noscript>You need to enable JavaScript to run this app."
                   "</noscript></body></html>"), "needs_js"),
    "control characters only": (raw_record("\x00\x01\x02" * 100, kind="text"), "too_short"),
    "50,000 paragraphs": (raw_record("\n\n".join(f"Line {i} says something." for i in range(50000)), kind="text"),
                          "not_an_article"),
}

# Files as `newsflow ingest` sees them: refused at ingest, before news.raw.
FILE_POISON: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "10 MB text": (lambda: b"All work and no play makes a dull story. " * 256_000, "huge.txt", "too_large"),
    "binary file": (lambda: bytes(range(256)) * 64, "binary.txt", "binary"),
    "invalid UTF-8 file": (lambda: "Zürich und Köln im Schnee. ".encode("latin-1") * 40, "latin1.txt", "bad_encoding"),
    "invalid JSON file": (lambda: b'{"url": "https://example.com/x", "text": "open', "broken.json", "invalid_json"),
    "gzip bomb named .txt": (lambda: gzip.compress(b"\0" * 5_000_000), "bomb.txt", "binary"),
}


def test_catalogue_has_at_least_fifteen_kinds() -> None:
    assert len(RAW_TOPIC_POISON) + len(FILE_POISON) >= 15


@pytest.mark.parametrize("kind", sorted(RAW_TOPIC_POISON))
def test_clean_step_dead_letters_raw_topic_poison(kind: str) -> None:
    payload, reason = RAW_TOPIC_POISON[kind]
    [outcome] = CleanStep(Settings())(payload)
    assert outcome.topic == DLQ and outcome.record["reason"] == reason, outcome.record
    assert original_payload(outcome.record) == payload


@pytest.mark.parametrize("kind", sorted(FILE_POISON))
def test_reader_dead_letters_file_poison(kind: str, tmp_path: Path) -> None:
    make, name, reason = FILE_POISON[kind]
    data = make()
    (tmp_path / name).write_bytes(data)
    reader = DocumentReader(max_body_bytes=4 * 1024 * 1024, max_payload_bytes=16 * 1024 * 1024 - 65536)
    [outcome] = list(reader.read([tmp_path / name]))
    assert outcome.topic == DLQ and outcome.record["reason"] == reason
    kept = original_payload(outcome.record)
    assert data.startswith(kept) and (kept == data or outcome.record["payload_truncated"])


def worker_rss_mb(settings: Settings) -> float:
    """Resident memory of the running `newsflow worker` for these settings (Linux /proc)."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            cmdline = (status.parent / "cmdline").read_bytes().split(b"\0")
            environ = (status.parent / "environ").read_bytes()
        except OSError:
            continue
        if b"worker" in cmdline and f"NEWSFLOW_APP_ID={settings.app_id}".encode() in environ:
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    raise AssertionError("worker process not found")


@pytest.mark.broker
def test_worker_survives_poison_on_the_real_broker(pipeline: Settings, tmp_path: Path) -> None:
    from tests.test_end_to_end import run_once

    producer = Producer({"bootstrap.servers": pipeline.kafka, "message.max.bytes": 16 * 1024 * 1024,
                         "compression.type": "zstd"})
    for payload, _ in RAW_TOPIC_POISON.values():
        producer.produce(pipeline.topic("news.raw"), value=payload)
    producer.flush(30)
    good = tmp_path / "after-poison.txt"
    good.write_text(GOOD_TEXT)
    run_once(pipeline, [good])  # the worker still processes a good article after all that

    expected = {payload: reason for payload, reason in RAW_TOPIC_POISON.values()}
    deadline = time.monotonic() + 120
    while True:  # partitions drain independently: wait until every poison message has its dead letter
        dead = [m["value"] for m in read_topic(pipeline.kafka, pipeline.topic("news.dlq"))]
        by_payload = {original_payload(record): record["reason"] for record in dead}
        if all(p in by_payload for p in expected) or time.monotonic() > deadline:
            break
        time.sleep(1)
    for kind, (payload, reason) in RAW_TOPIC_POISON.items():
        assert by_payload.get(payload) == reason, (kind, by_payload.get(payload))
    assert worker_rss_mb(pipeline) < 1024
