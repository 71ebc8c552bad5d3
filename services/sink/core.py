"""The sink: the last check before a record leaves the pipeline.

Unique articles go to `news.enriched`, exact and near duplicates to `news.duplicates`.
Every record is validated against `schemas/enriched.schema.json` first; one that does not
validate goes to the DLQ, never downstream.
"""

from __future__ import annotations

from typing import Any

from services.kafka.topics import DUPLICATES, ENRICHED
from services.outcomes import Outcome, dead_letter, encode
from services.records import now_iso
from services.sink.schemas import validator

# Fields that help the pipeline internally but are not part of the downstream contract.
INTERNAL_FIELDS = ("body",)


class EnrichedSink:
    """Route a deduplicated article to its downstream topic, validated."""

    def __init__(self) -> None:
        self._schema = validator("enriched")

    def route(self, article: dict[str, Any]) -> Outcome:
        record = {k: v for k, v in article.items() if k not in INTERNAL_FIELDS}
        record.setdefault("processed_at", now_iso())
        problems = self._schema.errors(record)
        if problems:
            return dead_letter(
                stage="sink",
                reason="schema_violation",
                error="ValidationError",
                message="; ".join(problems),
                payload=encode(record),
                article_id=record.get("id"),
                parent_id=record.get("parent_id"),
                source=record.get("source"),
                url=record.get("url"),
            )
        status = record["dedup"]["status"]
        topic = ENRICHED if status == "unique" else DUPLICATES
        return Outcome(topic, record["id"], record)
