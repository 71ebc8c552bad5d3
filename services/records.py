"""Record types that travel between stages, and the ids that make them idempotent.

Records are plain dicts on the wire (orjson in, orjson out); these TypedDicts document
their shape for readers and type checkers. Each stage adds fields, none removes them, so
a record on `news.enriched` still carries everything the fetcher knew.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, NotRequired, TypedDict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SCHEMA_VERSION = "1.1.0"

# Query parameters that only track clicks; they never change what a page says.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_ga",
        "ref_src",
        "cmpid",
    }
)


class RawArticle(TypedDict):
    """What the fetcher publishes to `news.raw`: the source's own words, untouched."""

    schema_version: str
    id: str
    url: str
    source: str  # source id: a configured source, or "file" / "stdin" for `newsflow ingest`
    kind: str  # "text" | "html"
    body: str  # the decoded document (plain text or HTML)
    title: NotRequired[str | None]
    published_at: NotRequired[str | None]  # ISO 8601 as the source said it
    fetched_at: NotRequired[str | None]
    ingested_at: str
    content_type: NotRequired[str | None]
    meta: NotRequired[dict[str, Any]]  # feed / sitemap fields kept as given


class Dateline(TypedDict, total=False):
    place: str | None
    agency: str | None
    date: str | None


class Quality(TypedDict, total=False):
    extractor: str  # e.g. "trafilatura 2.3.1" or "plaintext"
    version: str  # newsflow cleaner version
    text_length: int
    problem: str | None  # None, or one of REJECT_REASONS
    future_date: bool  # the page claimed a publication date in the future; it was not trusted


class CleanedArticle(RawArticle, total=False):
    """`news.cleaned`: RawArticle plus main text and metadata."""

    text: str
    paragraphs: list[str]
    lead: str | None
    authors: list[str]
    modified_at: str | None
    site_name: str | None
    canonical_url: str | None
    image: str | None
    tags: list[str]
    dateline: Dateline | None
    parent_id: str | None  # set on stories split out of a multi-story page
    position: int | None
    part_count: int | None  # how many stories the parent page was split into
    quality: Quality


class TopicScore(TypedDict):
    code: str  # IPTC media topic code, e.g. "medtop:11000000"
    label: str
    score: float


class UserTopicMatch(TypedDict):
    id: str
    label: str
    matched_terms: list[str]


class CountryMention(TypedDict):
    code: str  # ISO 3166-1 alpha-2
    name: str
    count: int


class CityMention(TypedDict):
    name: str
    country: str
    count: int


class Places(TypedDict):
    countries: list[CountryMention]
    cities: list[CityMention]
    main: str | None


class TaggedArticle(CleanedArticle, total=False):
    """`news.tagged`: CleanedArticle plus language and topics."""

    lang: str
    lang_confidence: float
    mixed_language: bool  # paragraphs in substantially different languages
    topics: list[TopicScore]
    user_topics: list[UserTopicMatch]
    places: Places
    keywords: list[str]


class DedupVerdict(TypedDict):
    status: str  # "unique" | "duplicate" | "near_duplicate"
    duplicate_of: str | None
    story_id: str
    similarity: float | None


class EnrichedArticle(TaggedArticle, total=False):
    """`news.enriched` / `news.duplicates`: TaggedArticle plus the dedup verdict."""

    dedup: DedupVerdict
    processed_at: str


# Why the cleaner may refuse an article; these become the DLQ reason verbatim.
REJECT_REASONS = ("empty", "too_short", "paywalled", "needs_js", "not_an_article")


class StageError(Exception):
    """A record a stage refuses on purpose. `reason` is a short machine-readable class."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, drop default ports, fragments and tracking parameters."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    if scheme == "file":
        return urlunsplit(("file", "", parts.path, "", ""))
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port not in (None, 80 if scheme == "http" else 443) else None
    if parts.port is not None and scheme not in ("http", "https"):
        port = parts.port
    netloc = f"{host}:{port}" if port else host
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def stable_id(url: str | None, content: str | bytes | None = None) -> str:
    """Article id: hash of the canonical URL, or of the content when there is no URL.

    The same input always yields the same id, so a redelivered or replayed record can be
    upserted by consumers instead of counted twice.
    """
    if url:
        basis = b"url:" + canonical_url(url).encode("utf-8", "surrogatepass")
    else:
        data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else (content or b"")
        basis = b"content:" + data
    return hashlib.sha256(basis).hexdigest()[:20]


def child_id(parent_id: str, position: int) -> str:
    """Id of the `position`-th story split out of a multi-story page (stable, like the parent's)."""
    return hashlib.sha256(f"{parent_id}#{position}".encode()).hexdigest()[:20]
