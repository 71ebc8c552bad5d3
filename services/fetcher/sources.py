"""The sources file (`--sources FILE`, see ops/sources.example.yaml): what to fetch, how often.

Why YAML with a `defaults:` block: users keep hundreds of sources in one file; most differ only
in id and URL. Each source has an id (it keys records, state and error counts), a kind, a poll
interval and optional per-source settings; `fetcher:` overrides fetcher options and `hosts:`
sets per-host politeness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from services.fetcher.options import duration

KINDS = ("feed", "sitemap", "page", "files", "warc")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,99}$")
_SOURCE_KEYS = {"id", "kind", "url", "path", "interval", "max_interval", "fetch_pages", "max_items",
                "max_age",
                "revisions", "enabled", "meta"}


class SourcesError(ValueError):
    """The sources file is wrong; the message says where and how."""


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    kind: str
    url: str | None = None
    path: str | None = None
    interval_s: float = 900.0
    max_interval_s: float = 86400.0
    fetch_pages: bool = True  # feeds/sitemaps: fetch each article page (else publish the entry itself)
    max_items: int = 500  # new article pages per poll; the rest wait for the next poll
    max_age_s: float | None = None  # skip listed items whose date is older
    revisions: bool = True  # refetch a seen article when the listing says it changed
    enabled: bool = True
    meta: dict[str, Any] = field(default_factory=dict)  # copied into every record's meta.source_meta

    @property
    def listing(self) -> bool:
        return self.kind in ("feed", "sitemap")


@dataclass(frozen=True, slots=True)
class SourcesFile:
    sources: list[Source]
    fetcher: dict[str, Any] = field(default_factory=dict)
    hosts: dict[str, dict[str, float]] = field(default_factory=dict)  # host → {delay_s?, concurrency?}
    path: Path | None = None

    def by_id(self) -> dict[str, Source]:
        return {s.id: s for s in self.sources}


def load_sources(path: str | Path) -> SourcesFile:
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SourcesError(f"{path}: cannot read: {exc}") from exc
    return parse_sources(doc, path)


def parse_sources(doc: Any, path: Path | None = None) -> SourcesFile:
    where = str(path or "sources")
    if not isinstance(doc, dict) or not isinstance(doc.get("sources"), list):
        raise SourcesError(f"{where}: expected a mapping with a `sources:` list")
    defaults = doc.get("defaults") or {}
    fetcher = {k.removesuffix("_s") + "_s" if _is_duration_key(k) else k: v
               for k, v in (doc.get("fetcher") or {}).items()}
    hosts: dict[str, dict[str, float]] = {}
    for host, spec in (doc.get("hosts") or {}).items():
        spec = spec or {}
        try:
            limits: dict[str, float] = {}
            if "delay" in spec:
                limits["delay_s"] = duration(spec["delay"])
            if "concurrency" in spec:
                limits["concurrency"] = int(spec["concurrency"])
        except (TypeError, ValueError) as exc:
            raise SourcesError(f"{where}: hosts.{host}: {exc}") from exc
        hosts[str(host).lower()] = limits
    sources: list[Source] = []
    seen: set[str] = set()
    base = path.parent if path else Path.cwd()
    for number, raw in enumerate(doc["sources"], start=1):
        if not isinstance(raw, dict):
            raise SourcesError(f"{where}: source #{number} is not a mapping")
        merged = {**defaults, **raw}
        label = f"{where}: source #{number} ({merged.get('id', 'no id')})"
        unknown = set(merged) - _SOURCE_KEYS
        if unknown:
            raise SourcesError(f"{label}: unknown key(s) {sorted(unknown)}; known: {sorted(_SOURCE_KEYS)}")
        source = _source(merged, label, base)
        if source.id in seen:
            raise SourcesError(f"{label}: duplicate id {source.id!r}")
        seen.add(source.id)
        sources.append(source)
    return SourcesFile(sources, fetcher, hosts, path)


def _source(raw: dict[str, Any], label: str, base: Path) -> Source:
    source_id = str(raw.get("id", ""))
    if not _ID.match(source_id):
        raise SourcesError(f"{label}: `id` must be letters, digits, '.', '_' or '-' (got {source_id!r})")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise SourcesError(f"{label}: `kind` must be one of {', '.join(KINDS)} (got {kind!r})")
    url, path = raw.get("url"), raw.get("path")
    if kind in ("feed", "sitemap", "page") or (kind == "warc" and url is not None):
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http",
                                                                    "https") or not urlsplit(url).hostname:
            raise SourcesError(f"{label}: a {kind} needs an http(s) `url` (got {url!r})")
    else:
        if not isinstance(path, str) or not path:
            raise SourcesError(f"{label}: a {kind} source needs a `path` (file, folder or glob)"
                               + (" or a `url`" if kind == "warc" else ""))
        if not Path(path).is_absolute():
            path = str(base / path)
    try:
        return Source(
            id=source_id, kind=kind, url=url, path=path,
            interval_s=duration(raw.get("interval", 900)),
            max_interval_s=duration(raw.get("max_interval", 86400)),
            fetch_pages=bool(raw.get("fetch_pages", True)),
            max_items=int(raw.get("max_items", 500)),
            max_age_s=duration(raw["max_age"]) if raw.get("max_age") is not None else None,
            revisions=bool(raw.get("revisions", True)),
            enabled=bool(raw.get("enabled", True)),
            meta=dict(raw.get("meta") or {}),
        )
    except (TypeError, ValueError) as exc:
        raise SourcesError(f"{label}: {exc}") from exc


def _is_duration_key(key: str) -> bool:
    return key.endswith(("delay", "timeout", "interval", "ttl", "_s")) or key in ("retry_base",
                                                                                  "max_retry_after")
