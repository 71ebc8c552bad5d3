"""What one fetcher run did, per source and in total — printed at the end of `newsflow fetch`."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SourceReport:
    polls: int = 0
    published: int = 0
    revisions: int = 0
    unchanged: int = 0  # polls that found nothing new (304, same body, no new entries)
    pages: int = 0  # article pages fetched
    errors: Counter[str] = field(default_factory=Counter)
    last_status: str | None = None


@dataclass
class FetchReport:
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    requests: int = 0
    conditional_requests: int = 0
    not_modified: int = 0
    published: int = 0
    revisions: int = 0
    pages: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # seen, unchanged, too_old, over_max_items, …
    errors: Counter[str] = field(default_factory=Counter)
    internal_errors: int = 0
    sources: dict[str, SourceReport] = field(default_factory=dict)
    published_ids: list[str] = field(default_factory=list)  # what `newsflow up --once` waits for
    track_ids: bool = True  # off when running for months: the list would only grow

    def source(self, source_id: str) -> SourceReport:
        return self.sources.setdefault(source_id, SourceReport())

    def error(self, source_id: str, kind: str) -> None:
        self.errors[kind] += 1
        self.source(source_id).errors[kind] += 1

    @property
    def elapsed_s(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def finish(self) -> FetchReport:
        self.finished = time.monotonic()
        return self

    def as_dict(self) -> dict[str, Any]:
        return {
            "elapsed_s": round(self.elapsed_s, 3), "requests": self.requests,
            "conditional_requests": self.conditional_requests, "not_modified": self.not_modified,
            "published": self.published, "revisions": self.revisions, "pages": self.pages,
            "skipped": dict(self.skipped), "errors": dict(self.errors),
            "internal_errors": self.internal_errors,
            "sources": {k: {"polls": v.polls, "published": v.published, "revisions": v.revisions,
                            "unchanged": v.unchanged, "pages": v.pages, "errors": dict(v.errors),
                            "last_status": v.last_status} for k, v in self.sources.items()},
        }
