"""Accounting: has every ingested id reached exactly one terminal topic?

An ingested document is accounted for when its id arrives on `news.enriched`,
`news.duplicates` or `news.dlq` — or, for a multi-story page, when every story split out of
it (records whose `parent_id` is the document's id) has arrived.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Arrival:
    topic: str
    record: dict[str, Any]


@dataclass
class Ledger:
    expected: set[str]
    arrivals: dict[str, list[Arrival]] = field(default_factory=lambda: defaultdict(list))
    parts: dict[str, dict[str, Arrival]] = field(default_factory=lambda: defaultdict(dict))
    part_counts: dict[str, int] = field(default_factory=dict)
    redelivered: int = 0
    _pending: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._pending = set(self.expected)

    @classmethod
    def of(cls, ids: Iterable[str]) -> Ledger:
        return cls(expected=set(ids))

    def observe(self, topic: str, record: Any) -> bool:
        """Record one terminal message; True when it belongs to an expected document."""
        if not isinstance(record, dict):
            return False
        article_id, parent_id = record.get("id"), record.get("parent_id")
        if parent_id in self.expected and article_id != parent_id:
            if article_id in self.parts[parent_id]:
                self.redelivered += 1
            self.parts[parent_id][article_id] = Arrival(topic, record)
            if isinstance(record.get("part_count"), int):
                self.part_counts[parent_id] = record["part_count"]
            if self.is_done(parent_id):
                self._pending.discard(parent_id)
            return True
        if article_id in self.expected:
            if self.arrivals[article_id]:
                self.redelivered += 1
            self.arrivals[article_id].append(Arrival(topic, record))
            self._pending.discard(article_id)
            return True
        return False

    def is_done(self, article_id: str) -> bool:
        if self.arrivals.get(article_id):
            return True
        parts = self.parts.get(article_id)
        if not parts:
            return False
        count = self.part_counts.get(article_id)
        return count is not None and len(parts) >= count

    @property
    def pending(self) -> set[str]:
        return self._pending

    def results(self, article_id: str) -> list[Arrival]:
        """Terminal arrivals of a document: itself, or its stories in page order."""
        if self.arrivals.get(article_id):
            return self.arrivals[article_id][-1:]
        parts = list(self.parts.get(article_id, {}).values())
        return sorted(parts, key=lambda a: a.record.get("position") or 0)
