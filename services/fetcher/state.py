"""Fetch state: what each source, listing and article looked like last time.

Why it lives in a compacted Kafka topic (`news.fetch.state`, one key per thing): the state is
written in the same transaction as the records it describes, so after a crash the two agree —
an article is either published and marked published, or neither, and a feed's validators are
stored only together with the pending articles its last poll discovered. Keys:

  source:<id>            SourceStatus — polls, last status, items, errors by class, next poll
  res:<url id>           ResourceState — a feed or sitemap URL: ETag, Last-Modified, body hash
  doc:<article id>       DocState — pending (with its listing entry), published (hash, revision) or failed
  alias:<url id>         the doc id a listed / redirected URL turned out to be
  file:<source>:<path>   FileState — a local file or WARC: size, mtime, hash, resume offset
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from services.fetcher.entries import Entry
from services.fetcher.retrieve import Validators
from services.records import stable_id

FETCH_STATE = "news.fetch.state"


@dataclass(slots=True)
class SourceStatus:
    source: str
    polls: int = 0
    last_poll_at: str | None = None
    last_status: str | None = None  # "new" | "unchanged" | "failed"
    last_http_status: int | None = None
    last_error: dict[str, Any] | None = None  # {"class", "message", "at"}
    items_published: int = 0
    items_last_poll: int = 0
    revisions: int = 0
    errors: int = 0
    errors_by_class: dict[str, int] = field(default_factory=dict)
    failures: int = 0  # consecutive failed polls
    interval_s: float | None = None
    next_poll_at: float | None = None  # epoch seconds
    conditional_requests: int = 0
    not_modified: int = 0

    def count_error(self, kind: str, message: str, at: str) -> None:
        self.errors += 1
        self.errors_by_class[kind] = self.errors_by_class.get(kind, 0) + 1
        self.last_error = {"class": kind, "message": message[:500], "at": at}


@dataclass(slots=True)
class ResourceState:
    url: str
    source: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    lastmod: str | None = None  # what the parent sitemap index said
    checked_at: str | None = None
    format: str | None = None

    @property
    def validators(self) -> Validators:
        return Validators(self.etag, self.last_modified)


@dataclass(slots=True)
class DocState:
    id: str
    url: str
    source: str
    status: str = "pending"  # "pending" | "published" | "failed"
    content_hash: str | None = None
    revision: int = 0
    hints: dict[str, str] = field(default_factory=dict)  # source id → its listing entry's fingerprint
    first_published_at: str | None = None
    last_published_at: str | None = None
    attempts: int = 0
    last_error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    entry: dict[str, Any] | None = None  # pending only: the listing entry to fetch
    listing: dict[str, Any] | None = None  # pending only: the listing it came from

    @property
    def validators(self) -> Validators:
        return Validators(self.etag, self.last_modified)

    def entry_obj(self) -> Entry:
        raw = self.entry or {"url": self.url}
        return Entry(url=raw["url"], title=raw.get("title"), published=raw.get("published"),
                     updated=raw.get("updated"), meta=raw.get("meta") or {})


@dataclass(slots=True)
class FileState:
    path: str
    source: str
    size: int | None = None
    mtime_ns: int | None = None
    offset: int = 0  # WARC: the record offset to resume from
    done: bool = False
    records: int = 0


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


_TYPES: dict[str, type] = {"source": SourceStatus, "res": ResourceState, "doc": DocState, "file": FileState}


@lru_cache(maxsize=65536)
def url_key(url: str) -> str:
    """The id of the article a URL names (cached: the fetcher asks for the same URLs many times)."""
    return stable_id(url)


def entry_dict(entry: Entry) -> dict[str, Any]:
    return {"url": entry.url, "title": entry.title, "published": entry.published, "updated": entry.updated,
            "meta": entry.meta}


class FetchState:
    """In-memory view of the state topic; `encode`/`apply` translate to and from its records."""

    def __init__(self) -> None:
        self.sources: dict[str, SourceStatus] = {}
        self.resources: dict[str, ResourceState] = {}
        self.docs: dict[str, DocState] = {}
        self.aliases: dict[str, str] = {}
        self.files: dict[str, FileState] = {}

    # -- reading -------------------------------------------------------------------------------

    def source(self, source_id: str) -> SourceStatus:
        if source_id not in self.sources:
            self.sources[source_id] = SourceStatus(source_id)
        return self.sources[source_id]

    def resource(self, url: str, source: str) -> ResourceState:
        return self.resources.get(url_key(url)) or ResourceState(url=url, source=source)

    def lookup(self, url: str) -> DocState | None:
        """The article a URL names: by its own canonical id, or through an alias."""
        key = url_key(url)
        doc = self.docs.get(key)
        if doc is None and key in self.aliases:
            doc = self.docs.get(self.aliases[key])
        return doc

    def pending(self) -> list[DocState]:
        return [d for d in self.docs.values() if d.status == "pending"]

    # -- writing -------------------------------------------------------------------------------

    @staticmethod
    def key_of(obj: SourceStatus | ResourceState | DocState | FileState) -> str:
        if isinstance(obj, SourceStatus):
            return f"source:{obj.source}"
        if isinstance(obj, ResourceState):
            return f"res:{url_key(obj.url)}"
        if isinstance(obj, DocState):
            return f"doc:{obj.id}"
        return f"file:{obj.source}:{obj.path}"

    @staticmethod
    def encode(obj: SourceStatus | ResourceState | DocState | FileState) -> dict[str, Any]:
        """The state record; dict fields are copied (later changes must not leak into it)."""
        return {f.name: _copy(getattr(obj, f.name)) for f in dataclasses.fields(obj)}

    def apply(self, key: str, value: dict[str, Any] | None) -> None:
        """One state record (None: a tombstone) into memory."""
        kind, _, rest = key.partition(":")
        if kind == "alias":
            if value is None:
                self.aliases.pop(rest, None)
            else:
                self.aliases[rest] = value["doc"]
            return
        table: dict[str, Any] = {"source": self.sources, "res": self.resources, "doc": self.docs,
                                 "file": self.files}.get(kind, {})
        if value is None:
            table.pop(rest, None)
            return
        cls = _TYPES.get(kind)
        if cls is None:
            return
        names = {f.name for f in dataclasses.fields(cls)}
        table[rest] = cls(**{k: v for k, v in value.items() if k in names})

    def apply_all(self, updates: dict[str, dict[str, Any] | None]) -> None:
        for key, value in updates.items():
            self.apply(key, value)


class Updates(dict[str, dict[str, Any] | None]):
    """State records to write with the next commit; the last value per key wins (like compaction)."""

    def put(self, obj: SourceStatus | ResourceState | DocState | FileState) -> None:
        self[FetchState.key_of(obj)] = FetchState.encode(obj)

    def delete(self, key: str) -> None:
        self[key] = None

    def alias(self, url: str, doc_id: str) -> None:
        key = url_key(url)
        if key != doc_id:
            self[f"alias:{key}"] = {"doc": doc_id, "url": url}
