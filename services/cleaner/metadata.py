"""Article metadata from an HTML page: JSON-LD first, then meta tags, then the DOM.

trafilatura's meta-tag and JSON-LD readers give title, author, site name, image, tags and
URL cheaply; its full `extract_metadata` also runs DOM-wide author/category searches and a
date search that cost more than the text extraction itself, so dates, paywall flags and the
page type are read from JSON-LD here, and the DOM is searched only when nothing else said.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.metadata import examine_meta, extract_title, extract_url

from services.cleaner.authors import clean_authors
from services.cleaner.normalize import normalize_line

LOGGER = logging.getLogger(__name__)

ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "blogposting", "liveblogposting", "socialmediaposting", "report",
     "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle", "reviewnewsarticle",
     "backgroundnewsarticle", "techarticle", "scholarlyarticle", "satiricalarticle"}
)  # fmt: skip
# Page types of section fronts and search pages (see pagetype.is_listing).
LISTING_TYPES = frozenset({"collectionpage", "itemlist", "searchresultspage", "profilepage"})

# <meta> names and properties that carry a publication / modification date, best first.
_PUBLISHED_META = (
    "article:published_time", "og:published_time", "datepublished", "article.published",
    "publishdate", "publish-date", "publish_date", "pubdate", "parsely-pub-date", "sailthru.date",
    "dc.date.issued", "dcterms.issued", "dc.date", "dcterms.created", "date", "original-publish-date",
    "cxenseparse:recs:publishtime", "article:published", "release_date",
)  # fmt: skip
_MODIFIED_META = ("article:modified_time", "og:updated_time", "datemodified", "dcterms.modified", "lastmod")


@dataclass(slots=True)
class PageMeta:
    """What the page says about itself (all optional; pages lie or stay silent)."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    site_name: str | None = None
    canonical_url: str | None = None
    image: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    jsonld_published: list[str] = field(default_factory=list)
    meta_published: list[str] = field(default_factory=list)
    jsonld_modified: list[str] = field(default_factory=list)
    meta_modified: list[str] = field(default_factory=list)
    page_types: set[str] = field(default_factory=set)
    og_type: str | None = None
    accessible_for_free: bool | None = None


def _loads(text: str) -> Any:
    text = text.strip()
    if text.startswith("<!--"):
        text = text.removeprefix("<!--").removesuffix("-->").strip()
    text = text.rstrip(";")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _objects(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object with an @type, through @graph and nested lists (bounded depth)."""
    if depth > 6:
        return
    if isinstance(value, list):
        for item in value:
            yield from _objects(item, depth + 1)
    elif isinstance(value, dict):
        if "@type" in value:
            yield value
        if "@graph" in value:
            yield from _objects(value["@graph"], depth + 1)
        for key in ("mainEntity", "mainEntityOfPage", "itemListElement"):
            inner = value.get(key)
            if isinstance(inner, dict | list):
                yield from _objects(inner, depth + 1)


def _types(obj: dict[str, Any]) -> set[str]:
    raw = obj.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return {v.casefold() for v in values if isinstance(v, str)}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _names(value: Any) -> list[str]:
    """Author names from a JSON-LD author value (string, Person, list of either)."""
    names: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and "organization" not in _types(item):
            name = item.get("name")
            if isinstance(name, str):
                names.append(name)
    return names


def _image(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        return _image(value[0])
    if isinstance(value, dict):
        url = value.get("url") or value.get("contentUrl")
        return url if isinstance(url, str) else None
    return None


def _read_jsonld(tree: HtmlElement, meta: PageMeta) -> list[str]:
    """Fill dates, type and paywall flag from JSON-LD; return the article's authors."""
    authors: list[str] = []
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        data = _loads(script.text or "")
        if data is None:
            continue
        for obj in _objects(data):
            types = _types(obj)
            meta.page_types |= types
            if not types & (ARTICLE_TYPES | {"webpage"}) and not any(t.endswith("article") for t in types):
                continue
            meta.jsonld_published.extend(_strings(obj.get("datePublished")))
            meta.jsonld_modified.extend(_strings(obj.get("dateModified")))
            free = obj.get("isAccessibleForFree")
            if free is not None and meta.accessible_for_free is not False:
                meta.accessible_for_free = str(free).casefold() not in ("false", "0", "no")
            if not authors:
                authors = _names(obj.get("author"))
            headline = obj.get("headline")
            if not meta.title and isinstance(headline, str):
                meta.title = headline
            publisher = obj.get("publisher")
            if not meta.site_name and isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
                meta.site_name = publisher["name"]
            if not meta.image:
                meta.image = _image(obj.get("image"))
            keywords = obj.get("keywords")
            if isinstance(keywords, str):
                meta.tags.extend(k for k in keywords.split(",") if k.strip())
            elif isinstance(keywords, list):
                meta.tags.extend(_strings(keywords))
            meta.tags.extend(_strings(obj.get("articleSection")))
    return authors


def _read_meta_dates(tree: HtmlElement, meta: PageMeta) -> None:
    found: dict[str, str] = {}
    for elem in tree.iterfind(".//meta[@content]"):
        key = (elem.get("property") or elem.get("name") or elem.get("itemprop") or "").casefold()
        if key and key not in found and (key in _PUBLISHED_META or key in _MODIFIED_META):
            found[key] = elem.get("content", "")
        elif key == "parsely-page" and "parsely-pub-date" not in found:
            # Parse.ly's older tag: a JSON object, {"pub_date": "2014-12-27T17:10:17Z", ...}.
            value = _loads(elem.get("content", ""))
            if isinstance(value, dict) and isinstance(value.get("pub_date"), str):
                found["parsely-pub-date"] = value["pub_date"]
        elif key == "og:type" and meta.og_type is None:
            meta.og_type = elem.get("content", "").casefold()
        elif key == "article:content_tier" and elem.get("content", "").casefold() in ("locked", "metered"):
            meta.accessible_for_free = False
    meta.meta_published = [found[k] for k in _PUBLISHED_META if k in found]
    meta.meta_modified = [found[k] for k in _MODIFIED_META if k in found]
    for elem in tree.iterfind(".//time[@datetime]"):
        if elem.get("pubdate") is not None or elem.get("itemprop") == "datePublished":
            meta.meta_published.append(elem.get("datetime", ""))
            break


_BYLINE_XPATH = etree.XPath(
    '//body//*[@rel="author" or @itemprop="author" or contains(@class, "byline") '
    'or contains(@class, "author-name") or contains(@class, "article-author")]'
)


def _dom_authors(tree: HtmlElement) -> list[str]:
    """Byline elements, only consulted when neither JSON-LD nor meta tags named anyone."""
    for elem in _BYLINE_XPATH(tree)[:5]:
        text = normalize_line(elem.text_content())
        if 3 <= len(text) <= 120 and (names := clean_authors(text)):
            return names
    return []


def _dedupe(values: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        clean = normalize_line(value).strip(" ,;")
        if clean and len(clean) <= 60 and clean.casefold() not in seen:
            seen[clean.casefold()] = clean
    return list(seen.values())


def _site_name(value: str | None) -> str | None:
    """'@SputnikInt' -> 'SputnikInt', 'https://www.example.com' -> 'example.com'."""
    if not value:
        return None
    value = normalize_line(value).lstrip("@")
    if value.startswith(("http://", "https://")):
        value = value.split("://", 1)[1].split("/", 1)[0].removeprefix("www.")
    return value or None


_SUFFIX_SEPARATORS = (" | ", " - ", " – ", " — ", " · ", " :: ", " : ", "：", "｜")


def _strip_site_suffix(title: str, site_name: str | None) -> str:
    """'Headline | Yonhap News Agency' -> 'Headline' when the suffix is the page's own site name."""
    if not site_name:
        return title
    key = site_name.casefold()
    for separator in _SUFFIX_SEPARATORS:
        head, found, tail = title.rpartition(separator)
        if found and len(head.strip()) >= 10 and tail.strip().casefold() == key:
            return head.strip()
    return title


def read_metadata(tree: HtmlElement, url: str | None = None) -> PageMeta:
    """Everything the page declares about the article (never raises on odd markup)."""
    meta = PageMeta()
    try:
        jsonld_authors = _read_jsonld(tree, meta)
    except (TypeError, ValueError, AttributeError) as err:  # pathological JSON-LD shapes
        LOGGER.debug("JSON-LD skipped: %s", err)
        jsonld_authors = []
    _read_meta_dates(tree, meta)
    doc = examine_meta(tree)
    # og:title / meta title first: JSON-LD headlines are often shortened for search engines.
    meta.title = doc.title or meta.title or extract_title(tree)
    meta.site_name = _site_name(doc.sitename or meta.site_name)
    meta.description = doc.description
    meta.image = meta.image or doc.image
    meta.canonical_url = extract_url(tree, url) or doc.url
    tags = [*meta.tags, *(doc.tags or []), *(doc.categories or [])]
    meta.tags = _dedupe([part for tag in tags for part in tag.split(",")])
    authors = clean_authors(jsonld_authors) or clean_authors((doc.author or "").split(";"))
    meta.authors = authors or _dom_authors(tree)
    if meta.title:
        meta.title = _strip_site_suffix(normalize_line(meta.title), meta.site_name)
    return meta
