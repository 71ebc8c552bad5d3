"""XML sitemaps, sitemap indexes, Google News sitemaps and text sitemaps → a `Listing`.

Why lenient and namespace-blind: real sitemaps use legacy or wrong namespaces, wrap `<loc>` in
CDATA, or (crawler-commons' corpus) put bare URLs in `<sitemap>`; elements are matched by local
name and a broken document is recovered when lxml can. An RSS or Atom feed offered as a sitemap
(sitemaps.org allows it) is read as a feed. Gzip is detected by its magic bytes and inflated
with a ceiling.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from services.fetcher.compression import gunzip_capped, is_gzip
from services.fetcher.dates import parse_date
from services.fetcher.decoding import decode_document, http_charset, xml_as_utf8
from services.fetcher.entries import ChildSitemap, Entry, Listing, sniff
from services.fetcher.errors import FetchFailure
from services.fetcher.feeds import not_a_feed, parse_feed
from services.fetcher.xmlsafety import parse_xml

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_URLS = 50_000  # the sitemaps.org limit per file


def parse_listing(data: bytes, *, url: str, content_type: str | None = None,
                  max_bytes: int = 64 * 1024 * 1024, text_sitemaps: bool = True) -> Listing:
    """Any feed or sitemap, whatever the source was declared as: the document says what it is."""
    return parse_sitemap(data, url=url, content_type=content_type, max_bytes=max_bytes,
                         text_sitemaps=text_sitemaps)


def parse_sitemap(data: bytes, *, url: str, content_type: str | None = None,
                  max_bytes: int = 64 * 1024 * 1024, text_sitemaps: bool = True) -> Listing:
    """Entries (urlset, text) or child sitemaps (index) of one sitemap document (or a feed)."""
    if is_gzip(data):
        data = gunzip_capped(data, max_bytes, url)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return parse_feed(data, url=url, content_type=content_type)
    decoded = decode_document(data, http=http_charset(content_type), kind="xml", url=url)
    kind = sniff(decoded.text)
    if kind == "feed":
        return parse_feed(data, url=url, content_type=content_type)
    if kind == "text" and text_sitemaps:
        return _text_sitemap(decoded.text, url)
    if kind != "sitemap" and kind != "xml":
        raise not_a_feed(decoded.text, kind, url)
    root, recovered = parse_xml(xml_as_utf8(decoded.text), url)
    name = etree.QName(root).localname.lower() if isinstance(root.tag, str) else ""
    namespace = etree.QName(root).namespace if isinstance(root.tag, str) else None
    if name == "urlset":
        listing = _urlset(root, url)
    elif name == "sitemapindex":
        listing = _index(root, url)
    else:
        raise FetchFailure("not_a_feed", f"XML, but neither a sitemap nor a feed (root <{name}>)", url=url)
    listing.info.update({"url": url, "format": listing.format, "charset": decoded.encoding})
    if namespace != SITEMAP_NS:
        listing.info["namespace"] = namespace  # legacy or wrong namespace, read anyway
    if recovered:
        count = len(listing.entries) + len(listing.children)
        if not count:
            raise FetchFailure("malformed_xml", "not well-formed sitemap XML; nothing could be read", url=url)
        listing.problem = FetchFailure(
            "malformed_xml", f"not well-formed sitemap XML, {count} items recovered", url=url)
    return listing


def _local(element: Any) -> str:
    return etree.QName(element).localname.lower() if isinstance(element.tag, str) else ""


def _child_text(element: Any, name: str) -> str | None:
    for child in element:
        if _local(child) == name:
            text = "".join(child.itertext()).strip()
            return text or None
    return None


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child) == name]


def _location(element: Any, base: str) -> str | None:
    """`<loc>`, or (lenient) the element's own bare text when it is a URL."""
    loc = _child_text(element, "loc")
    if loc is None:
        own = (element.text or "").strip()
        loc = own if own.startswith(("http://", "https://")) else None
    if not loc:
        return None
    resolved = urljoin(base, loc)
    return resolved if urlsplit(resolved).scheme in ("http", "https") else None


def _urlset(root: Any, base: str) -> Listing:
    listing = Listing(format="sitemap")
    for element in _children(root, "url")[:MAX_URLS]:
        loc = _location(element, base)
        if loc is None:
            listing.skipped += 1
            continue
        meta: dict[str, Any] = {"loc": loc}
        for name in ("lastmod", "changefreq", "priority"):
            value = _child_text(element, name)
            if value is not None:
                meta[name] = value
        news = _news(element)
        if news:
            meta["news"] = news
        images = [_child_text(img, "loc") for img in _children(element, "image")]
        if any(images):
            meta["images"] = [i for i in images if i]
        alternates = [
            {"hreflang": link.get("hreflang"), "href": link.get("href")}
            for link in _children(element, "link") if link.get("rel") == "alternate" and link.get("href")
        ]
        if alternates:
            meta["alternates"] = alternates
        videos = [{k: v for k in ("title", "thumbnail_loc", "content_loc", "publication_date")
                   if (v := _child_text(video, k))} for video in _children(element, "video")]
        if videos:
            meta["videos"] = videos
        listing.entries.append(Entry(
            url=loc,
            title=news.get("title") if news else None,
            published=parse_date(news.get("publication_date")) if news else None,
            updated=parse_date(meta.get("lastmod")),
            meta={"sitemap": meta},
        ))
    if any("news" in e.meta["sitemap"] for e in listing.entries):
        listing.format = "news-sitemap"
    return listing


def _news(element: Any) -> dict[str, Any]:
    """Google News fields: publication name/language, publication_date, title, keywords, …."""
    found: dict[str, Any] = {}
    for news in _children(element, "news"):
        for publication in _children(news, "publication"):
            for key in ("name", "language"):
                value = _child_text(publication, key)
                if value:
                    found[f"publication_{key}"] = value
        for key in ("publication_date", "title", "keywords", "genres", "stock_tickers", "access"):
            value = _child_text(news, key)
            if value:
                found[key] = value
    if "keywords" in found:
        found["keyword_list"] = [k.strip() for k in found["keywords"].split(",") if k.strip()]
    return found


def _index(root: Any, base: str) -> Listing:
    listing = Listing(format="sitemapindex")
    for element in _children(root, "sitemap")[:MAX_URLS]:
        loc = _location(element, base)
        if loc is None:
            listing.skipped += 1
            continue
        listing.children.append(ChildSitemap(loc, _child_text(element, "lastmod")))
    return listing


def _text_sitemap(text: str, base: str) -> Listing:
    listing = Listing(format="text-sitemap")
    for line in text.lstrip("\ufeff").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith(("http://", "https://")) and len(listing.entries) < MAX_URLS:
            listing.entries.append(Entry(url=line, meta={"sitemap": {"loc": line}}))
        else:
            listing.skipped += 1
    if not listing.entries:
        raise FetchFailure("not_a_feed", "plain text without any URL: not a text sitemap", url=base)
    listing.info["url"] = base
    return listing
