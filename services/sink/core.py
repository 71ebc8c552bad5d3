"""The sink: the last check before a record leaves the pipeline.

Unique articles go to `news.enriched`, exact and near duplicates to `news.duplicates`; a unique
article is also copied to its routing topics (`news.topic.<slug>`, `news.lang.<code>`,
`news.user.<id>`, see `services.sink.routing`), which are views of `news.enriched`, not extra
terminal places. Every record is validated against `schemas/enriched.schema.json` first; one that
does not validate goes to the DLQ, never downstream.

Keys: the article id on every topic, so all versions of an article land on one partition in
order, and a redelivered or replayed record can be upserted by id.
"""

from __future__ import annotations

from typing import Any

from services.kafka.topics import DUPLICATES, ENRICHED, STORIES
from services.outcomes import Outcome, dead_letter, encode
from services.records import now_iso
from services.settings import Settings
from services.sink.routing import Routing
from services.sink.schemas import validator

# Fields that help the pipeline internally but are not part of the downstream contract.
INTERNAL_FIELDS = ("body",)
ENRICHED_SCHEMA = b"enriched"


class EnrichedSink:
    """Route a deduplicated article to its downstream topics, validated."""

    def __init__(self, routing: Routing | None = None) -> None:
        self._schema = validator("enriched")
        self._story_schema = validator("story")
        self.routing = routing or Routing()

    @classmethod
    def from_settings(cls, settings: Settings) -> EnrichedSink:
        return cls(Routing.from_settings(settings))

    def route(self, article: dict[str, Any]) -> list[Outcome]:
        """The terminal outcome first (enriched, duplicates or a dead letter), then routing copies."""
        record = {k: v for k, v in article.items() if k not in INTERNAL_FIELDS}
        record.setdefault("processed_at", now_iso())
        problems = self._schema.errors(record)
        if problems:
            return [dead_letter(
                stage="sink",
                reason="schema_violation",
                error="ValidationError",
                message="; ".join(problems),
                payload=encode(record),
                article_id=record.get("id"),
                parent_id=record.get("parent_id"),
                source=record.get("source"),
                url=record.get("url"),
            )]
        if record["dedup"]["status"] != "unique":
            return [Outcome(DUPLICATES, record["id"], record)]
        outcomes = [Outcome(ENRICHED, record["id"], record)]
        # Routing copies share the record (one dict, encoded per send) and say their schema
        # explicitly: the header table only knows the fixed topics.
        outcomes += [
            Outcome(topic, record["id"], record, {"schema": ENRICHED_SCHEMA})
            for topic in self.routing.routes(record)
        ]
        return outcomes

    def story(self, event: dict[str, Any]) -> Outcome:
        """A story event for compacted `news.stories`, keyed by story id (the latest per story wins).

        Not a terminal place: the articles themselves are on news.enriched / news.duplicates. An
        event that breaks its schema is a bug; it is dead-lettered (no article id) for visibility.
        """
        problems = self._story_schema.errors(event)
        if problems:
            return dead_letter(stage="sink", reason="schema_violation", error="ValidationError",
                               message="story event: " + "; ".join(problems), payload=encode(event))
        return Outcome(STORIES, event["story_id"], event)
