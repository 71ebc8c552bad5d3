"""A downstream consumer of newsflow with plain aiokafka: subscribe, check the contract, upsert by id.

    pip install aiokafka            # the only dependency (zstd support: pip install "aiokafka[zstd]")
    python docs/examples/consumer.py --topic news.enriched --group my-app --db articles.sqlite
    python docs/examples/consumer.py --topic news.lang.en --topic news.topic.politics --from-beginning

What it shows (see docs/contract.md):

* its own consumer group: independent offsets, so it never slows other consumers, and a new group can
  start from the oldest retained record (`--from-beginning`) or from now;
* the headers: `schema` says what the value is, `schema-version` its version; a major version it
  does not know is skipped loudly instead of misread;
* at-least-once delivery: the same article (same `id`, same key) can arrive again after a
  redelivery, an in-place replay or a re-drive. The store upserts by `id`, so a repeat replaces the
  row instead of adding one; offsets are committed only after the rows are stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import time
from typing import Any

from aiokafka import AIOKafkaConsumer

KNOWN_MAJOR = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, url TEXT, title TEXT, lang TEXT, topics TEXT, story_id TEXT, status TEXT,
    published_at TEXT, processed_at TEXT, record TEXT
)
"""
UPSERT = """
INSERT INTO articles (id, url, title, lang, topics, story_id, status, published_at, processed_at, record)
VALUES (:id, :url, :title, :lang, :topics, :story_id, :status, :published_at, :processed_at, :record)
ON CONFLICT(id) DO UPDATE SET
    url = excluded.url, title = excluded.title, lang = excluded.lang, topics = excluded.topics,
    story_id = excluded.story_id, status = excluded.status, published_at = excluded.published_at,
    processed_at = excluded.processed_at, record = excluded.record
"""


def row(record: dict[str, Any]) -> dict[str, Any]:
    dedup = record.get("dedup") or {}
    return {
        "id": record["id"], "url": record.get("url"), "title": record.get("title"), "lang": record.get("lang"),
        "topics": ",".join(t.get("label", "") for t in record.get("topics") or []),
        "story_id": dedup.get("story_id"), "status": dedup.get("status"),
        "published_at": record.get("published_at"), "processed_at": record.get("processed_at"),
        "record": json.dumps(record, ensure_ascii=False),
    }


async def consume(args: argparse.Namespace) -> dict[str, int]:
    db = sqlite3.connect(args.db)
    db.execute(SCHEMA)
    consumer = AIOKafkaConsumer(
        *args.topics,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,  # commit after storing, never before
        auto_offset_reset="earliest" if args.from_beginning else "latest",
        max_partition_fetch_bytes=16 * 1024 * 1024,  # newsflow messages can be up to 16 MiB
    )
    await consumer.start()
    received = skipped = 0
    last = time.monotonic()
    try:
        while args.max_records is None or received < args.max_records:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            if not batches:
                if args.idle_timeout is not None and time.monotonic() - last > args.idle_timeout:
                    break
                continue
            last = time.monotonic()
            rows = []
            for messages in batches.values():
                for message in messages:
                    received += 1
                    headers = {key: value.decode() for key, value in message.headers or ()}
                    if headers.get("schema-version", KNOWN_MAJOR).split(".")[0] != KNOWN_MAJOR:
                        print(f"skipping {message.key!r}: schema {headers.get('schema')} "
                              f"{headers.get('schema-version')} is newer than this consumer", file=sys.stderr)
                        skipped += 1
                        continue
                    if headers.get("schema") != "enriched":
                        skipped += 1  # e.g. news.dlq: letters are not articles
                        continue
                    rows.append(row(json.loads(message.value)))
            with db:  # one transaction per batch, then the offsets
                db.executemany(UPSERT, rows)
            await consumer.commit()
    finally:
        await consumer.stop()
    articles = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    db.close()
    return {"received": received, "skipped": skipped, "articles": articles}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default=os.environ.get("NEWSFLOW_KAFKA", "localhost:9092"))
    parser.add_argument("--topic", dest="topics", action="append",
                        help="Topic to read (repeatable). Default: news.enriched")
    parser.add_argument("--group", default="newsflow-example-consumer", help="Consumer group id.")
    parser.add_argument("--from-beginning", action="store_true",
                        help="A new group starts at the oldest retained record (default: only new ones).")
    parser.add_argument("--db", default=":memory:", help="SQLite file to upsert into (default: in memory).")
    parser.add_argument("--max-records", type=int, default=None, help="Stop after N messages.")
    parser.add_argument("--idle-timeout", type=float, default=None, help="Stop after S seconds without one.")
    args = parser.parse_args()
    args.topics = args.topics or ["news.enriched"]
    try:
        summary = asyncio.run(consume(args))
    except KeyboardInterrupt:
        return
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
