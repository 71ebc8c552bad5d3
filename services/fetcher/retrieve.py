"""Fetch a URL politely: robots.txt, the host's gate, conditional headers, redirects hop by hop.

Why here and not in the HTTP client: each redirect hop may land on another host, with its own
robots.txt, gate and address check; 429/503 with Retry-After pause the host for everyone.
The result keeps the whole story of the fetch (requested and final URL, redirect chain,
status, validators) because raw records carry it.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

from services.fetcher.decoding import http_charset
from services.fetcher.errors import FetchFailure, status_failure
from services.fetcher.http import HttpClient, Response
from services.fetcher.options import FetchOptions
from services.fetcher.politeness.scheduler import HostGates, ResourceClass
from services.fetcher.robots import MAX_ROBOTS_BYTES, RobotsCache
from services.records import now_iso

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
# Bot-protection interstitials (Cloudflare, Akamai, PerimeterX, DataDome, Imperva/Incapsula). Strong
# markers only appear on challenge pages; weak ones are also injected into normal pages, so they
# count only on an error status.
_CHALLENGE_STRONG = re.compile(  # matched on lower-cased bytes
    rb"<title>\s*(?:just a moment|attention required|pardon our interruption)|cf-browser-verification|"
    rb"px-captcha|captcha-delivery\.com|enable javascript and cookies to continue")
_CHALLENGE_WEAK = re.compile(rb"challenge-platform|_incapsula_resource|/_sec/cp_challenge")


@dataclass(frozen=True, slots=True)
class Validators:
    """What a conditional GET sends back: the ETag and Last-Modified the server gave last time."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)


@dataclass(slots=True)
class FetchResult:
    requested_url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: str
    elapsed_s: float
    redirects: list[dict[str, Any]] = field(default_factory=list)
    conditional: bool = False  # validators were sent

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def validators(self) -> Validators:
        return Validators(self.headers.get("etag"), self.headers.get("last-modified"))

    def info(self) -> dict[str, Any]:
        """`meta.fetch` of a raw record: the fetch as it happened."""
        return {k: v for k, v in {
            "requested_url": self.requested_url,
            "final_url": self.final_url,
            "status": self.status,
            "content_type": self.content_type,
            "charset": http_charset(self.content_type),
            "content_encoding": self.headers.get("content-encoding"),
            "content_length": len(self.body),
            "etag": self.headers.get("etag"),
            "last_modified": self.headers.get("last-modified"),
            "fetched_at": self.fetched_at,
            "elapsed_ms": round(self.elapsed_s * 1000, 1),
            "redirects": self.redirects or None,
            "conditional": self.conditional or None,
        }.items() if v is not None}


def retry_after_seconds(value: str | None, cap: float) -> float | None:
    """Retry-After as delta-seconds or an HTTP date → seconds from now, capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return None
    return max(0.0, min(seconds, cap))


def looks_like_challenge(response: Response) -> bool:
    """A bot-protection page instead of the document (HTTP 200, 403, 429 or 503)."""
    if response.header("cf-mitigated") == "challenge":
        return True
    if len(response.body) > 256 * 1024:
        return False  # challenge pages are small; articles that mention them are not
    head = response.body[:32768].lower()
    if _CHALLENGE_STRONG.search(head):
        return True
    return response.status in (403, 429, 503) and bool(_CHALLENGE_WEAK.search(head))


class Retriever:
    def __init__(self, http: HttpClient, gates: HostGates, options: FetchOptions,
                 in_flight: asyncio.Semaphore | None = None) -> None:
        self.http = http
        self.gates = gates
        self.options = options
        # a global cap on requests in flight, taken only once the host's gate let us through
        self.in_flight = in_flight or asyncio.Semaphore(1000)
        self.robots = RobotsCache(self._fetch_robots, ttl_s=options.robots_ttl_s,
                                  error_ttl_s=options.robots_error_ttl_s)

    async def _fetch_robots(self, url: str) -> tuple[int, bytes]:
        try:
            result = await self.fetch(url, ResourceClass.ROBOTS, max_bytes=MAX_ROBOTS_BYTES,
                                      check_robots=False)
        except FetchFailure as failure:
            if failure.status is not None and failure.kind in ("http_4xx", "blocked"):
                return failure.status, b""
            if failure.status is not None and failure.kind == "http_5xx":
                return failure.status, b""
            raise
        return result.status, result.body

    async def fetch(
        self,
        url: str,
        resource: ResourceClass,
        *,
        max_bytes: int,
        validators: Validators | None = None,
        accept: str | None = None,
        check_robots: bool = True,
        into: BinaryIO | None = None,
    ) -> FetchResult:
        """The final response (2xx or 304) after redirects; FetchFailure otherwise."""
        requested = url
        redirects: list[dict[str, Any]] = []
        started = time.monotonic()
        for _hop in range(self.options.max_redirects + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise FetchFailure("redirects", f"not an http(s) URL: {url}", url=url)
            if check_robots and self.options.respect_robots:
                rules = await self.robots.rules_for(url)
                if rules.failure is not None:
                    raise FetchFailure(rules.failure.kind, f"robots.txt: {rules.failure.message}", url=url,
                                       status=rules.failure.status)
                self.gates.apply_crawl_delay(parts.hostname, rules.crawl_delay(self.options.robots_token))
                if not rules.allows(url, self.options.robots_token):
                    raise FetchFailure("robots_disallowed", f"robots.txt of {rules.origin} disallows {url}"
                                       + (f" ({rules.error})" if rules.error else ""), url=url)
            headers = {"Accept": accept} if accept else {}
            if validators and not redirects:
                headers.update(validators.headers())
            async with self.gates.slot(parts.hostname, resource), self.in_flight:
                response = await self.http.get(url, headers=headers, max_bytes=max_bytes, into=into)
            if response.status in REDIRECT_STATUSES and response.header("location"):
                target = urljoin(url, response.header("location") or "")
                redirects.append({"status": response.status, "url": target})
                url = target
                continue
            if response.status in (429, 503):
                wait = retry_after_seconds(response.header("retry-after"), self.options.max_retry_after_s)
                if wait:
                    await self.gates.pause(parts.hostname, wait)
            if response.status in REDIRECT_STATUSES:
                raise FetchFailure("redirects", f"HTTP {response.status} without a Location header", url=url,
                                   status=response.status)
            if response.status >= 400:
                if response.status in (403, 429, 503) and looks_like_challenge(response):
                    raise FetchFailure("blocked", f"HTTP {response.status} bot-protection challenge page",
                                       url=url, status=response.status)
                retry_after = retry_after_seconds(response.header("retry-after"),
                                                  self.options.max_retry_after_s)
                raise status_failure(response.status, url, retry_after)
            return FetchResult(
                requested_url=requested, final_url=url, status=response.status, headers=response.headers,
                body=response.body, fetched_at=now_iso(), elapsed_s=time.monotonic() - started,
                redirects=redirects, conditional=bool(validators),
            )
        raise FetchFailure("redirects", f"more than {self.options.max_redirects} redirects", url=url,
                           detail={"chain": redirects})
