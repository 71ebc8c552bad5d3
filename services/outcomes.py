"""What a stage produces: messages bound for a topic, including dead letters.

Stages never talk to Kafka; they return `Outcome`s. The Faust agents send them, the
in-process mode prints them, the benchmarks count them — so all three run the same code.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import orjson

from services.kafka.topics import DLQ
from services.records import SCHEMA_VERSION, now_iso

CONTENT_TYPE = b"application/json"
SCHEMA_BY_TOPIC = {
    "news.raw": b"raw",
    "news.cleaned": b"cleaned",
    "news.tagged": b"tagged",
    "news.enriched": b"enriched",
    "news.duplicates": b"enriched",
    "news.dlq": b"dlq",
    "news.stories": b"story",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One message for one logical topic. `record` stays a dict until it is sent."""

    topic: str
    key: str | None
    record: dict[str, Any]
    headers: dict[str, bytes] = field(default_factory=dict)

    def value(self) -> bytes:
        return encode(self.record)

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        """Schema name/version and content type on every message, so consumers can route blind."""
        base = {
            "content-type": CONTENT_TYPE,
            "schema": SCHEMA_BY_TOPIC.get(self.topic, b"unknown"),
            "schema-version": str(self.record.get("schema_version", SCHEMA_VERSION)).encode(),
        }
        base.update(self.headers)
        return list(base.items())


def encode(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS)


def payload_field(payload: bytes | str) -> tuple[str, str]:
    """The original payload as text when it is valid UTF-8, else base64 — never altered."""
    if isinstance(payload, str):
        return payload, "utf-8"
    try:
        return payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(payload).decode("ascii"), "base64"


def original_payload(dead_letter: dict[str, Any]) -> bytes:
    """Inverse of `payload_field`: the exact bytes that failed (used by `dlq redrive`)."""
    text = dead_letter.get("payload", "")
    if dead_letter.get("payload_encoding") == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")


def dead_letter(
    *,
    stage: str,
    reason: str,
    error: str,
    message: str,
    payload: bytes | str,
    article_id: str | None = None,
    parent_id: str | None = None,
    source: str | None = None,
    url: str | None = None,
) -> Outcome:
    """A DLQ outcome: why it failed, where, and the original payload so it can be re-driven.

    Identifying fields come from records that may be malformed: anything but a string is dropped.
    """
    article_id, parent_id, source, url = (_str_or_none(v) for v in (article_id, parent_id, source, url))
    text, encoding = payload_field(payload)
    record = {
        "schema_version": SCHEMA_VERSION,
        "id": article_id,
        "parent_id": parent_id,
        "source": source,
        "url": url,
        "stage": stage,
        "reason": reason,
        "error": error,
        "message": message[:2000],
        "payload": text,
        "payload_encoding": encoding,
        "payload_bytes": len(payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload),
        "failed_at": now_iso(),
    }
    return Outcome(DLQ, article_id, record)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
