"""RSS 0.9x/2.0, RSS 1.0 (RDF), Atom and JSON Feed → a `Listing` that keeps every entry field.

Why feedparser plus our own decoding and JSON Feed reader: feedparser reads every XML dialect
and recovers from much breakage, but (6.0) knows no JSON Feed, guesses undeclared charsets as
windows-1252, and by default rewrites the HTML it carries. Here the document is decoded first
(see decoding.py), entity declarations are refused (xmlsafety.py), and HTML is kept as given.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import orjson

from services.fetcher.dates import from_struct, parse_date
from services.fetcher.decoding import decode_document, http_charset, xml_as_utf8
from services.fetcher.entries import Entry, Listing, sniff
from services.fetcher.errors import FetchFailure
from services.fetcher.xmlsafety import refuse_entity_declarations

_FEED_LINK = re.compile(
    r"""<link[^>]+type=["']application/(?:rss|atom|feed)\+(?:xml|json)["'][^>]*>""", re.IGNORECASE)
_HREF = re.compile(r"""href=["']([^"']+)["']""", re.IGNORECASE)
_AM_PM = re.compile(r"\d\s*[AaPp][Mm]\b")
_UPDATE_PERIOD_S = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000, "yearly": 31536000}


def parse_feed(data: bytes, *, url: str, content_type: str | None = None) -> Listing:
    """Entries of a feed document; raises FetchFailure (not_a_feed, malformed_xml, bad_encoding)."""
    if _looks_like_json(data, content_type):
        return parse_json_feed(data, url=url)
    decoded = decode_document(data, http=http_charset(content_type), kind="xml", url=url)
    kind = sniff(decoded.text)
    if kind in ("html", "empty", "text", "json"):
        raise not_a_feed(decoded.text, kind, url)
    xml = xml_as_utf8(decoded.text)
    refuse_entity_declarations(xml, url)
    parsed = feedparser.parse(
        xml, response_headers={"content-type": "application/xml; charset=utf-8", "content-location": url},
        sanitize_html=False, resolve_relative_uris=True,
    )
    broken = bool(parsed.bozo) and not isinstance(parsed.get("bozo_exception"),
                                                  feedparser.CharacterEncodingOverride)
    if not parsed.entries and (broken or not parsed.get("version")):
        if broken:
            raise FetchFailure("malformed_xml", f"not well-formed feed XML: {parsed.get('bozo_exception')}",
                               url=url)
        if kind != "feed":
            raise FetchFailure("not_a_feed", f"an XML document, but not a feed (root: {kind})", url=url)
    listing = Listing(format=parsed.get("version") or "unknown", info=_feed_info(parsed.feed, url, parsed),
                      poll_hint_s=_poll_hint(parsed.feed))
    listing.info["charset"] = decoded.encoding
    if decoded.mismatch:
        listing.info["declared_charset"] = decoded.declared
    for item in parsed.entries:
        entry = _entry(item, url)
        if entry is None:
            listing.skipped += 1
        else:
            listing.entries.append(entry)
    if broken and not listing.entries:
        raise FetchFailure("malformed_xml", f"not well-formed feed XML, no entry could be read: "
                           f"{parsed.get('bozo_exception')}", url=url)
    if broken:
        listing.problem = FetchFailure(
            "malformed_xml", f"not well-formed feed XML, {len(listing.entries)} entries recovered: "
            f"{parsed.get('bozo_exception')}", url=url)
    return listing


def not_a_feed(text: str, kind: str, url: str) -> FetchFailure:
    """`not_a_feed`, naming the feeds an HTML page advertises (a moved feed often does)."""
    advertised = []
    for tag in _FEED_LINK.findall(text[:200_000]):
        href = _HREF.search(tag)
        if href:
            advertised.append(urljoin(url, href.group(1)))
    message = {"html": "an HTML page, not a feed", "empty": "an empty document",
               "text": "plain text, not a feed", "json": "JSON, but not a JSON Feed"}.get(kind, kind)
    if advertised:
        message += f"; the page advertises: {', '.join(advertised[:5])}"
    return FetchFailure("not_a_feed", message, url=url, detail={"advertised_feeds": advertised[:20]})


def parse_json_feed(data: bytes, *, url: str) -> Listing:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        doc = orjson.loads(data.lstrip(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise FetchFailure("not_a_feed", f"JSON that does not parse: {exc}", url=url) from exc
    if not isinstance(doc, dict) or not str(doc.get("version",
                                                    "")).startswith("https://jsonfeed.org/version/"):
        raise FetchFailure("not_a_feed", "JSON, but not a JSON Feed (no jsonfeed.org version)", url=url)
    version = str(doc["version"]).rsplit("/", 1)[-1]
    listing = Listing(format=f"json{version.replace('.', '')}", info={
        "format": f"json{version}", "url": url, "title": doc.get("title"),
        "link": doc.get("home_page_url"), "feed_url": doc.get("feed_url"),
        "language": doc.get("language"), "description": doc.get("description"),
    })
    feed_authors = _json_authors(doc)
    items = doc.get("items") if isinstance(doc.get("items"), list) else []
    for item in items:
        if not isinstance(item, dict):
            listing.skipped += 1
            continue
        link = item.get("url") or item.get("external_url")
        if not link and _is_http(item.get("id")):
            link = item.get("id")
        if not isinstance(link, str) or not link.strip():
            listing.skipped += 1
            continue
        authors = _json_authors(item) or feed_authors
        feed_meta: dict[str, Any] = {
            "format": listing.info["format"],
            "guid": item.get("id"),
            "link": item.get("url"),
            "external_url": item.get("external_url"),
            "title": item.get("title"),
            "summary": item.get("summary"),
            "content": [c for c in (
                {"type": "text/html",
                 "value": item.get("content_html")} if item.get("content_html") else None,
                {"type": "text/plain",
                 "value": item.get("content_text")} if item.get("content_text") else None,
            ) if c],
            "authors": authors,
            "author": authors[0] if authors else None,
            "published": item.get("date_published"),
            "updated": item.get("date_modified"),
            "categories": [t for t in item.get("tags") or [] if isinstance(t, str)],
            "image": item.get("image"),
            "language": item.get("language"),
            "enclosures": [a for a in item.get("attachments") or [] if isinstance(a, dict)],
        }
        listing.entries.append(Entry(
            url=urljoin(url, link.strip()), title=item.get("title"),
            published=parse_date(item.get("date_published")), updated=parse_date(item.get("date_modified")),
            meta={"feed": _compact(feed_meta)},
        ))
    return listing


def _entry(item: Any, feed_url: str) -> Entry | None:
    links = item.get("links") or []
    candidates = [
        item.get("feedburner_origlink"),
        item.get("link") if not item.get("guidislink") or item.get("link") != item.get("id") else None,
        *(c.get("href") for c in links if c.get("rel") in ("alternate", None)),
        *(c.get("href") for c in links if c.get("rel") == "self"),  # an entry's self link, as a last resort
    ]
    resolved = [urljoin(feed_url, c.strip()) for c in candidates if isinstance(c, str) and c.strip()]
    link = next((c for c in resolved if urlsplit(c).scheme in ("http", "https")), None)
    link_from_guid = link is None and _is_http(item.get("id"))
    if link_from_guid:  # <guid isPermaLink="false">https://…</guid> is still the article's address
        link = item["id"].strip()
    if link is None:
        return None
    # dict.get: FeedParserDict.get maps a missing `published` to `updated` (and warns); we keep what was said
    published = _date(dict.get(item, "published_parsed"), dict.get(item, "published"))
    updated = _date(dict.get(item, "updated_parsed"), dict.get(item, "updated"))
    feed_meta: dict[str, Any] = {
        "guid": item.get("id"),
        "guid_is_permalink": item.get("guidislink"),
        "link_from_guid": link_from_guid or None,
        "link": item.get("link"),
        "origlink": item.get("feedburner_origlink"),
        "links": [{k: v for k, v in ln.items() if k in ("href", "rel", "type", "length", "title")}
                  for ln in item.get("links") or []],
        "title": item.get("title"),
        "summary": item.get("summary"),
        "content": [{k: c.get(k) for k in ("type", "language", "value") if c.get(k) is not None}
                    for c in item.get("content") or []],
        "author": item.get("author"),
        "authors": [a.get("name") for a in item.get("authors") or [] if isinstance(a,
                                                                                   dict) and a.get("name")],
        "published": dict.get(item, "published"),
        "updated": dict.get(item, "updated"),
        "categories": [t.get("term") for t in item.get("tags") or [] if t.get("term")],
        "tags": [{k: t.get(k) for k in ("term", "scheme",
                                        "label") if t.get(k)} for t in item.get("tags") or []],
        "enclosures": [dict(e) for e in item.get("enclosures") or []],
        "media": [dict(m) for m in item.get("media_content") or []],
        "thumbnails": [dict(m) for m in item.get("media_thumbnail") or []],
        "comments": item.get("comments"),
        "language": (item.get("title_detail") or {}).get("language"),
    }
    return Entry(url=link, title=item.get("title"), published=published, updated=updated,
                 meta={"feed": _compact(feed_meta)})


def _date(parsed: Any, raw: Any) -> str | None:
    """feedparser's parse, except where it drops information we can read (a 12-hour clock)."""
    if isinstance(raw, str) and _AM_PM.search(raw):
        return parse_date(raw) or from_struct(parsed)
    return from_struct(parsed) or parse_date(raw if isinstance(raw, str) else None)


def _feed_info(feed: Any, url: str, parsed: Any) -> dict[str, Any]:
    return _compact({
        "format": parsed.get("version"), "url": url, "title": feed.get("title"), "link": feed.get("link"),
        "language": feed.get("language"), "description": feed.get("subtitle"), "updated": dict.get(feed,
                                                                                                   "updated"),
        "ttl": feed.get("ttl"), "update_period": feed.get("sy_updateperiod"),
        "update_frequency": feed.get("sy_updatefrequency"), "generator": feed.get("generator"),
    })


def _poll_hint(feed: Any) -> float | None:
    """The publisher's own update period: RSS <ttl> minutes, or sy:updatePeriod / sy:updateFrequency."""
    try:
        if feed.get("ttl"):
            return float(feed["ttl"]) * 60
        period = _UPDATE_PERIOD_S.get(str(feed.get("sy_updateperiod", "")).strip().lower())
        if period:
            return period / max(1.0, float(feed.get("sy_updatefrequency") or 1))
    except (TypeError, ValueError):
        return None
    return None


def _json_authors(obj: dict[str, Any]) -> list[str]:
    authors = obj.get("authors") or ([obj["author"]] if isinstance(obj.get("author"), dict) else [])
    return [a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]


def _looks_like_json(data: bytes, content_type: str | None) -> bool:
    """The body decides (servers label XML feeds as JSON and vice versa); the type only breaks ties."""
    first = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first in (b"{", b"["):
        return True
    return not first and bool(content_type and "json" in content_type.lower())


def _is_http(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _compact(fields: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values: a record keeps what the source said, not what it did not."""
    return {k: v for k, v in fields.items() if v not in (None, "", [], {})}
