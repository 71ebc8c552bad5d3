"""Per-host gates: at most N requests in flight and at least `delay` seconds between request starts.

Why priorities inside a host's gate: feeds and sitemaps (listings) decide what is worth fetching,
robots.txt decides whether anything may be fetched, so both go ahead of the article pages queued
for the same host; pages of one host never starve another host because every host has its own gate.
Why a pause: a 429 or 503 with Retry-After stops the whole host, not just the one URL.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from enum import IntEnum


class ResourceClass(IntEnum):
    """Lower value = served first within a host."""

    ROBOTS = 0
    LISTING = 1  # feeds and sitemaps
    PAGE = 2  # article pages


@dataclass(slots=True)
class HostLimits:
    delay_s: float
    concurrency: int


@dataclass(slots=True)
class HostGate:
    limits: HostLimits
    clock: Callable[[], float] = time.monotonic
    active: int = 0
    next_start: float = 0.0
    paused_until: float = 0.0
    requests: int = 0
    _queue: list[tuple[int, int]] = field(default_factory=list)
    _cancelled: set[tuple[int, int]] = field(default_factory=set)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _wakeup: asyncio.Task[None] | None = None

    def _head(self) -> tuple[int, int] | None:
        while self._queue and self._queue[0] in self._cancelled:
            self._cancelled.discard(heapq.heappop(self._queue))
        return self._queue[0] if self._queue else None

    async def acquire(self, resource: ResourceClass) -> None:
        ticket = (int(resource), next(self._order))
        heapq.heappush(self._queue, ticket)
        try:
            async with self._changed:
                while True:
                    now = self.clock()
                    start_at = max(self.next_start, self.paused_until)
                    if self._head() == ticket and self.active < self.limits.concurrency and now >= start_at:
                        break
                    ready = self._head() == ticket and self.active < self.limits.concurrency
                    wait = start_at - now if ready else None
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(),
                                               timeout=wait if wait and wait > 0 else None)
                heapq.heappop(self._queue)
                self.active += 1
                self.requests += 1
                self.next_start = max(now, start_at) + self.limits.delay_s
                self._changed.notify_all()
        except BaseException:
            if ticket in self._queue:
                self._cancelled.add(ticket)
                # the next waiter may be waiting without a timeout for this ticket to go
                self._wakeup = asyncio.get_running_loop().create_task(self._notify())
            raise

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def release(self) -> None:
        async with self._changed:
            self.active -= 1
            self._changed.notify_all()

    async def pause(self, seconds: float) -> None:
        async with self._changed:
            self.paused_until = max(self.paused_until, self.clock() + seconds)
            self._changed.notify_all()


class HostGates:
    """One gate per host name; limits come from defaults, per-host config and robots Crawl-delay."""

    def __init__(self, delay_s: float, concurrency: int, max_crawl_delay_s: float,
                 per_host: dict[str, HostLimits] | None = None) -> None:
        self.default = HostLimits(delay_s, concurrency)
        self.max_crawl_delay_s = max_crawl_delay_s
        self.per_host = {h.lower(): v for h, v in (per_host or {}).items()}
        self.gates: dict[str, HostGate] = {}

    def gate(self, host: str) -> HostGate:
        host = host.lower()
        if host not in self.gates:
            limits = self.per_host.get(host, self.default)
            self.gates[host] = HostGate(HostLimits(limits.delay_s, limits.concurrency))
        return self.gates[host]

    def apply_crawl_delay(self, host: str, crawl_delay: float | None) -> float:
        """Raise the host's delay to robots.txt's Crawl-delay, capped; returns the delay in force."""
        gate = self.gate(host)
        configured = self.per_host.get(host.lower(), self.default).delay_s
        wanted = min(crawl_delay, self.max_crawl_delay_s) if crawl_delay else 0.0
        gate.limits.delay_s = max(configured, wanted)
        return gate.limits.delay_s

    @asynccontextmanager
    async def slot(self, host: str, resource: ResourceClass) -> AsyncIterator[HostGate]:
        gate = self.gate(host)
        await gate.acquire(resource)
        try:
            yield gate
        finally:
            await gate.release()

    async def pause(self, host: str, seconds: float) -> None:
        await self.gate(host).pause(seconds)
