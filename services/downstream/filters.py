"""Subscription filters for `newsflow tail --lang en --topic politics --since 2h`.

Why a pure function: the filter is the same whatever reads the topic (tail, the example consumer,
a test), and it needs no Kafka to test. Routing topics (`news.topic.politics`, `news.lang.en`) do
the same selection on the broker side; this is for ad-hoc reading of any topic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.downstream.ranges import parse_time
from services.sink.routing import topic_matches


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Keep a record when it matches every given criterion (each list criterion: any of its values).

    * `languages`: the record's `lang` is one of these ISO 639-1 codes;
    * `topics`: one of its `topics[]` matches (slug `politics`, code `medtop:11000000` or label),
      or one of its `user_topics[]` has that id;
    * `since_ms`: the message was written at or after this time (Kafka timestamp, epoch ms).
    """

    languages: frozenset[str] = frozenset()
    topics: tuple[str, ...] = ()
    since_ms: int | None = None

    @classmethod
    def of(cls, languages: Iterable[str] = (), topics: Iterable[str] = (), since: str | None = None,
           now_ms: int | None = None) -> RecordFilter:
        """From command-line values; each may be repeated or comma-separated (`--lang en,de`)."""
        langs = frozenset(p.strip().lower() for v in languages for p in v.split(",") if p.strip())
        wanted = tuple(p.strip() for v in topics for p in v.split(",") if p.strip())
        return cls(langs, wanted, parse_time(since, now_ms) if since else None)

    @property
    def active(self) -> bool:
        return bool(self.languages or self.topics or self.since_ms is not None)

    def matches(self, record: Any, timestamp_ms: int | None = None) -> bool:
        if self.since_ms is not None and timestamp_ms is not None and timestamp_ms < self.since_ms:
            return False
        if not self.languages and not self.topics:
            return True
        if not isinstance(record, dict):
            return False
        if self.languages and str(record.get("lang", "")).lower() not in self.languages:
            return False
        if self.topics:
            tags = [t for t in record.get("topics") or () if isinstance(t, dict)]
            users = {str(u.get("id", "")).lower() for u in record.get("user_topics") or () if isinstance(u, dict)}
            if not any(topic_matches(t, w) for t in tags for w in self.topics) and \
                    not any(w.lower() in users for w in self.topics):
                return False
        return True
