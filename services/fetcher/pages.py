"""A fetched article page (or a feed entry that carries the article) → a `news.raw` record.

Why the record keeps so much: the cleaner and every later consumer can only use what the fetch
kept — the listing's fields (meta.feed / meta.sitemap), the fetch itself (meta.fetch: requested
and final URL, status, content type, charset, validators), and which URL identifies the article
(meta.canonical). `<link rel=canonical>` names the article when it points into the same site;
a cross-site canonical (syndication) is kept in meta but does not change the id.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from services.fetcher.decoding import decode_document, http_charset
from services.fetcher.entries import Entry
from services.fetcher.errors import FetchFailure
from services.fetcher.http import Response
from services.fetcher.retrieve import FetchResult, looks_like_challenge
from services.records import SCHEMA_VERSION, canonical_url, now_iso, stable_id

HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")
TEXT_TYPES = ("text/plain",)
_LINK_TAG = re.compile(rb"<link\b[^>]*>")  # matched on the lower-cased head
_REL_CANONICAL = re.compile(rb"""\brel\s*=\s*["']?[^"'>]*\bcanonical\b""")
_HREF = re.compile(rb"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_INVISIBLE = re.compile(
    r"<(?:script|style|noscript|template)\b[^>]*>.*?</(?:script|style|noscript|template)\s*>|<!--.*?-->",
    re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


@dataclass(slots=True)
class PageDocument:
    id: str
    url: str  # the article's identifying URL (canonical)
    record: dict[str, Any]
    content_hash: str


def content_hash(body: str, kind: str) -> str:
    """Hash of what a reader sees: scripts, styles, comments and markup removed, whitespace collapsed.

    Why not the raw bytes: ad slots, cache busters and CSRF tokens change on every fetch; a
    revision should mean the article changed.
    """
    text = body
    if kind == "html":
        text = _TAG.sub(" ", _INVISIBLE.sub(" ", body))
    return hashlib.sha256(_SPACE.sub(" ", text).strip().encode("utf-8", "surrogatepass")).hexdigest()[:32]


def canonical_link(body: bytes, base: str) -> str | None:
    """The href of `<link rel="canonical">` in the document head, resolved against `base`."""
    head = body[:262144]
    lowered = head.lower()
    end = lowered.find(b"</head>")
    if end < 0:
        end = lowered.find(b"<body")
    for found in _LINK_TAG.finditer(lowered, 0, end if end >= 0 else len(lowered)):
        if _REL_CANONICAL.search(found.group()):
            href = _HREF.search(head, found.start(), found.end())  # the original case
            if href:
                raw = next(g for g in href.groups() if g is not None).decode("utf-8", "replace").strip()
                if raw:
                    resolved = urljoin(base, raw.replace("&amp;", "&"))
                    if urlsplit(resolved).scheme in ("http", "https"):
                        return resolved
    return None


def same_site(a: str, b: str) -> bool:
    """Same host, or one a subdomain of the other (www.example.com / example.com / m.example.com)."""
    ha = (urlsplit(a).hostname or "").removeprefix("www.")
    hb = (urlsplit(b).hostname or "").removeprefix("www.")
    return bool(ha) and (ha == hb or ha.endswith("." + hb) or hb.endswith("." + ha))


def document_kind(content_type: str | None, body: bytes) -> str:
    """"html" or "text"; `unsupported_type` for PDFs, images, JSON and the like."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime in HTML_TYPES:
        return "html"
    if mime in TEXT_TYPES:
        return "html" if body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")) else "text"
    if not mime:
        return "html" if b"<html" in body[:4096].lower() else "text"
    raise FetchFailure("unsupported_type", f"{mime} is not an article page (HTML or text)")


def build_page(
    result: FetchResult,
    *,
    source: str,
    entry: Entry | None = None,
    listing: dict[str, Any] | None = None,
    source_meta: dict[str, Any] | None = None,
) -> PageDocument:
    """The raw record of a fetched page; FetchFailure for challenge pages, odd types, bad encodings."""
    if looks_like_challenge(Response(result.final_url, result.status, result.headers, result.body, 0.0)):
        raise FetchFailure("blocked", "a bot-protection challenge page instead of the article",
                           url=result.final_url, status=result.status)
    try:
        kind = document_kind(result.content_type, result.body)
    except FetchFailure as failure:
        failure.url = result.final_url
        raise
    decoded = decode_document(result.body, http=http_charset(result.content_type), kind=kind,
                              url=result.final_url)
    fetch = result.info()
    fetch.update({"charset": decoded.encoding, "charset_source": decoded.source})
    if decoded.mismatch:
        fetch["declared_charset"] = decoded.declared
    final = canonical_url(result.final_url)
    canonical = canonical_link(result.body, result.final_url) if kind == "html" else None
    canon_meta: dict[str, Any] = {"listed_url": entry.url if entry else result.requested_url,
                                  "final_url": final}
    url = final
    if canonical:
        canon_meta["link"] = canonical
        if same_site(canonical, result.final_url):
            url = canonical_url(canonical)
            canon_meta["honoured"] = True
        else:
            canon_meta["honoured"] = False  # cross-site: syndication, kept as information only
    meta: dict[str, Any] = {"fetch": fetch, "canonical": canon_meta}
    _listing_meta(meta, entry, listing, source_meta)
    body_hash = content_hash(decoded.text, kind)
    record = _record(url, source, kind, decoded.text, entry, result.fetched_at, result.content_type, meta)
    return PageDocument(record["id"], url, record, body_hash)


def build_entry_document(
    entry: Entry,
    *,
    source: str,
    listing_fetch: dict[str, Any],
    listing: dict[str, Any] | None = None,
    source_meta: dict[str, Any] | None = None,
) -> PageDocument | None:
    """A record from the feed entry alone (`fetch_pages: false`): its content:encoded or summary."""
    feed = entry.meta.get("feed") or {}
    contents = [c for c in feed.get("content") or [] if c.get("value")]
    body = contents[0]["value"] if contents else feed.get("summary")
    if not body:
        return None
    url = canonical_url(entry.url)
    meta: dict[str, Any] = {"fetch": dict(listing_fetch), "canonical": {"listed_url": entry.url},
                            "body_from": "feed:content" if contents else "feed:summary"}
    _listing_meta(meta, entry, listing, source_meta)
    record = _record(url, source, "html", body, entry, listing_fetch.get("fetched_at"), "text/html", meta)
    return PageDocument(record["id"], url, record, content_hash(body, "html"))


def _listing_meta(meta: dict[str, Any], entry: Entry | None, listing: dict[str, Any] | None,
                  source_meta: dict[str, Any] | None) -> None:
    if entry is not None:
        meta.update({k: v for k, v in entry.meta.items() if v})
    if listing:
        meta["listing"] = listing
    if source_meta:
        meta["source_meta"] = source_meta


def _record(url: str, source: str, kind: str, body: str, entry: Entry | None, fetched_at: str | None,
            content_type: str | None, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "id": stable_id(url),
        "url": url,
        "source": source,
        "kind": kind,
        "body": body,
        "title": entry.title if entry else None,
        "published_at": (entry.published or entry.updated) if entry else None,
        "fetched_at": fetched_at,
        "ingested_at": now_iso(),
        "content_type": content_type,
        "meta": meta,
    }
