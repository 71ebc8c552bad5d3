"""Fetch failures as data: one exception type carrying a class, and its `news.fetch.errors` record.

Why a closed set of classes: operators count and alert on them per source (`newsflow sources`),
and the scheduler decides from the class alone whether to retry, back off or give up.
"""

from __future__ import annotations

from typing import Any

from services.outcomes import Outcome
from services.records import SCHEMA_VERSION, now_iso

FETCH_ERRORS = "news.fetch.errors"

# The classes the issue names, plus a few the network forces on us (connection, tls, …).
ERROR_CLASSES = (
    "dns",
    "timeout",
    "connection",
    "tls",
    "redirects",
    "unsafe_target",
    "http_4xx",
    "http_5xx",
    "blocked",
    "robots_disallowed",
    "not_a_feed",
    "malformed_xml",
    "too_large",
    "bad_encoding",
    "unsupported_type",
    "unreadable",
)

# Worth another attempt soon; everything else waits for the next poll (or never, for pages).
TRANSIENT_CLASSES = frozenset({"dns", "timeout", "connection", "http_5xx"})


class FetchFailure(Exception):
    """A fetch that did not yield a usable document. `kind` is one of ERROR_CLASSES."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        assert kind in ERROR_CLASSES, kind
        self.kind = kind
        self.message = message
        self.url = url
        self.status = status
        self.retry_after = retry_after
        self.detail = detail or {}

    @property
    def transient(self) -> bool:
        """Retry soon? 5xx, timeouts and the like, and 429/408 among the 4xx."""
        return self.kind in TRANSIENT_CLASSES or self.status in (408, 429)

    def __repr__(self) -> str:
        return f"FetchFailure({self.kind!r}, {self.message!r}, url={self.url!r}, status={self.status})"


def status_failure(status: int, url: str, retry_after: float | None = None) -> FetchFailure:
    """The class of an HTTP error status: 403 is `blocked`, other 4xx/5xx by their hundred."""
    if status == 403:
        return FetchFailure("blocked", "HTTP 403 Forbidden", url=url, status=status)
    kind = "http_5xx" if status >= 500 else "http_4xx"
    return FetchFailure(kind, f"HTTP {status}", url=url, status=status, retry_after=retry_after)


def error_outcome(
    failure: FetchFailure,
    *,
    source: str,
    resource: str,
    url: str | None,
    attempt: int = 1,
    will_retry: bool = False,
    recovered: int | None = None,
) -> Outcome:
    """The `news.fetch.errors` record of one failed (or partly failed) fetch, keyed by source id."""
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "source": source,
        "resource": resource,  # "feed" | "sitemap" | "page" | "robots" | "file" | "warc"
        "url": failure.url or url,
        "requested_url": url,
        "class": failure.kind,
        "status": failure.status,
        "message": failure.message[:2000],
        "attempt": attempt,
        "will_retry": will_retry,
        "retry_after_s": failure.retry_after,
        "failed_at": now_iso(),
    }
    if recovered is not None:
        record["recovered_items"] = recovered  # the document was broken, but this many entries were read
    if failure.detail:
        record["detail"] = failure.detail
    return Outcome(FETCH_ERRORS, source, record, headers={"schema": b"fetch_error"})
