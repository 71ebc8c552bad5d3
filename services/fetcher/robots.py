"""robots.txt per origin (RFC 9309), parsed by Protego, cached for a day.

Why these rules: a 4xx robots.txt means "no rules" (allow all); a 5xx means "unreachable", and
RFC 9309 says to assume complete disallow — retried after a short TTL so a blip does not stop a
source for a day. When the origin cannot be reached at all (DNS, timeout, refused address) the
page fails with that class, which says more than `robots_disallowed` would. Files are cut at
500 KiB (the RFC's minimum to parse).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from protego import Protego

from services.fetcher.errors import FetchFailure

MAX_ROBOTS_BYTES = 500 * 1024


@dataclass(slots=True)
class RobotsRules:
    origin: str
    parser: Protego | None = None  # None: no rules
    disallow_all: bool = False
    status: int | None = None
    error: str | None = None
    expires_at: float = 0.0
    sitemaps: list[str] = field(default_factory=list)
    failure: FetchFailure | None = None  # the origin could not be reached at all (dns, timeout, …)

    def allows(self, url: str, token: str) -> bool:
        if self.disallow_all:
            return False
        return True if self.parser is None else bool(self.parser.can_fetch(url, token))

    def crawl_delay(self, token: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(token)
        rate = self.parser.request_rate(token)
        if rate is not None and rate.requests:
            per_request = rate.seconds / rate.requests
            delay = max(delay or 0.0, per_request)
        return float(delay) if delay else None


# (status, body) of GET origin/robots.txt, redirects followed; raises FetchFailure on network errors
RobotsFetch = Callable[[str], Awaitable[tuple[int, bytes]]]


class RobotsCache:
    def __init__(self, fetch: RobotsFetch, *, ttl_s: float = 86400.0, error_ttl_s: float = 600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self.ttl_s = ttl_s
        self.error_ttl_s = error_ttl_s
        self.clock = clock
        self._rules: dict[str, RobotsRules] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @staticmethod
    def origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}"

    async def rules_for(self, url: str) -> RobotsRules:
        origin = self.origin(url)
        cached = self._rules.get(origin)
        if cached and cached.expires_at > self.clock():
            return cached
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:  # one fetch per origin, however many pages wait for it
            cached = self._rules.get(origin)
            if cached and cached.expires_at > self.clock():
                return cached
            rules = await self._load(origin)
            self._rules[origin] = rules
            return rules

    async def _load(self, origin: str) -> RobotsRules:
        robots_url = f"{origin}/robots.txt"
        try:
            status, body = await self._fetch(robots_url)
        except FetchFailure as failure:
            if failure.kind == "too_large":
                return RobotsRules(origin, error="robots.txt over 500 KiB: allowing all",
                                   expires_at=self.clock() + self.ttl_s)
            return RobotsRules(origin, disallow_all=True, error=f"{failure.kind}: {failure.message}",
                               failure=failure, expires_at=self.clock() + self.error_ttl_s)
        if 200 <= status < 300:
            text = body[:MAX_ROBOTS_BYTES].decode("utf-8", "replace").lstrip("\ufeff")
            parser = Protego.parse(text)
            sitemaps = [urljoin(robots_url, s) for s in parser.sitemaps]
            return RobotsRules(origin, parser=parser, status=status, sitemaps=sitemaps,
                               expires_at=self.clock() + self.ttl_s)
        if 400 <= status < 500:
            return RobotsRules(origin, status=status, expires_at=self.clock() + self.ttl_s)
        return RobotsRules(origin, disallow_all=True, status=status,
                           error=f"robots.txt answered HTTP {status}",
                           expires_at=self.clock() + self.error_ttl_s)
