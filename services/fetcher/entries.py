"""What a feed or sitemap lists: entries (article links with what the listing said) and child sitemaps.

Why one shape for all formats: the scheduler, the state and the record builder treat an RSS
item, an Atom entry, a JSON Feed item and a sitemap `<url>` alike; only `meta` differs, and it
keeps the listing's own fields so nothing the publisher said is thrown away.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from services.fetcher.errors import FetchFailure

_ROOT = re.compile(r"<\s*(?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)[\s>/]")
_PROLOG = re.compile(r"^(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)*",
                     re.DOTALL | re.IGNORECASE)

FEED_ROOTS = {"rss", "feed", "rdf", "channel"}
SITEMAP_ROOTS = {"urlset", "sitemapindex"}


@dataclass(slots=True)
class Entry:
    url: str  # absolute, as listed (canonicalised later)
    title: str | None = None
    published: str | None = None  # ISO 8601 UTC
    updated: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Changes when the listing says the article changed (new date, title or content)."""
        feed = self.meta.get("feed") or {}
        sitemap = self.meta.get("sitemap") or {}
        content = feed.get("content") or []
        basis = "\x1f".join(str(x) for x in (
            self.updated or "", self.title or "", feed.get("summary") or "",
            content[0].get("value", "") if content and isinstance(content[0], dict) else "",
            sitemap.get("lastmod") or "",
        ))
        return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ChildSitemap:
    url: str
    lastmod: str | None = None


@dataclass(slots=True)
class Listing:
    format: str  # rss20, atom10, rss10, json1, …, "sitemap", "sitemapindex", "text-sitemap"
    entries: list[Entry] = field(default_factory=list)
    children: list[ChildSitemap] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)  # feed-level fields (title, link, language…)
    poll_hint_s: float | None = None  # the publisher's own update period (RSS ttl, sy:updatePeriod)
    problem: FetchFailure | None = None  # set when the document was broken but partly read
    skipped: int = 0  # listed items without a usable link


def root_name(text: str) -> str | None:
    """Local name of the document's root element (after declaration, comments, doctype), lower-case."""
    prolog = _PROLOG.match(text)
    rest = text[prolog.end():] if prolog else text
    found = _ROOT.match(rest.lstrip())
    return found.group(1).lower() if found else None


def sniff(text: str) -> str:
    """"feed" | "sitemap" | "html" | "json" | "text" | "empty" | "xml": what the document is."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        return "empty"
    if stripped[0] in "{[":
        return "json"
    root = root_name(stripped)
    if root in FEED_ROOTS:
        return "feed"
    if root in SITEMAP_ROOTS:
        return "sitemap"
    if root in {"html", "head", "body"} or stripped[:15].lower().startswith("<!doctype html"):
        return "html"
    if stripped[0] == "<":
        return "xml"
    return "text"
