"""Host gates, adaptive polling and the robots.txt cache, without a network."""

from __future__ import annotations

import asyncio
import itertools
import random
import time

from services.fetcher.errors import FetchFailure
from services.fetcher.politeness.polling import PollPolicy, next_interval
from services.fetcher.politeness.scheduler import HostGates, ResourceClass
from services.fetcher.robots import RobotsCache


async def test_gate_spaces_request_starts_and_caps_concurrency() -> None:
    gates = HostGates(delay_s=0.1, concurrency=1, max_crawl_delay_s=5)
    starts: list[float] = []

    async def request() -> None:
        async with gates.slot("a.test", ResourceClass.PAGE):
            starts.append(time.monotonic())
            await asyncio.sleep(0.01)

    await asyncio.gather(*(request() for _ in range(5)))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) == 5 and min(gaps) >= 0.095, gaps


async def test_hosts_do_not_wait_for_each_other() -> None:
    gates = HostGates(delay_s=0.5, concurrency=1, max_crawl_delay_s=5)
    started = time.monotonic()

    async def request(host: str) -> None:
        async with gates.slot(host, ResourceClass.PAGE):
            pass

    await asyncio.gather(*(request(f"h{n}.test") for n in range(10)))
    assert time.monotonic() - started < 0.2


async def test_listings_and_robots_go_before_queued_pages() -> None:
    gates = HostGates(delay_s=0.05, concurrency=1, max_crawl_delay_s=5)
    order: list[str] = []

    async def request(name: str, resource: ResourceClass, delay: float) -> None:
        await asyncio.sleep(delay)
        async with gates.slot("a.test", resource):
            order.append(name)

    await asyncio.gather(
        request("page-0", ResourceClass.PAGE, 0), *(request(f"page-{n}", ResourceClass.PAGE,
                                                            0.001) for n in (1, 2)),
        request("feed", ResourceClass.LISTING, 0.01), request("robots", ResourceClass.ROBOTS, 0.01))
    assert order[0] == "page-0" and order[1:3] == ["robots", "feed"], order


async def test_cancelled_waiter_does_not_block_the_gate() -> None:
    gates = HostGates(delay_s=0.05, concurrency=1, max_crawl_delay_s=5)

    async def hold() -> None:
        async with gates.slot("a.test", ResourceClass.PAGE):
            await asyncio.sleep(0.1)

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0.01)
    waiter = asyncio.create_task(gates.gate("a.test").acquire(ResourceClass.ROBOTS))
    await asyncio.sleep(0.01)
    waiter.cancel()
    await holder

    async def later() -> None:
        async with gates.slot("a.test", ResourceClass.PAGE):
            pass

    await asyncio.wait_for(later(), timeout=1)


async def test_pause_and_crawl_delay() -> None:
    gates = HostGates(delay_s=0.0, concurrency=2, max_crawl_delay_s=0.2)
    assert gates.apply_crawl_delay("a.test", 120) == 0.2  # capped
    assert gates.apply_crawl_delay("a.test", None) == 0.0
    await gates.pause("a.test", 0.2)
    started = time.monotonic()
    async with gates.slot("a.test", ResourceClass.PAGE):
        assert time.monotonic() - started >= 0.19


def test_adaptive_polling() -> None:
    policy = PollPolicy(interval_s=600, max_interval_s=6000, jitter=0)
    assert next_interval(policy, None, outcome="new") == 600
    assert next_interval(policy, 600, outcome="unchanged") == 900
    assert next_interval(policy, 5000, outcome="unchanged") == 6000  # capped
    assert next_interval(policy, 5000, outcome="new") == 600  # back to the configured pace
    assert next_interval(policy, 600, outcome="failed", failures=3) == 2400  # exponential backoff
    assert next_interval(policy, 600, outcome="new", hint_s=3600) == 3600  # the feed's own ttl is a floor
    assert next_interval(policy, 600, outcome="new", hint_s=86400) == 6000
    assert next_interval(policy, 600, outcome="failed", failures=1, retry_after_s=7200) == 7200
    jittered = PollPolicy(interval_s=600, max_interval_s=6000, jitter=0.1)
    values = {round(next_interval(jittered, None, outcome="new", rng=random.Random(n))) for n in range(20)}
    assert len(values) > 5 and all(540 <= v <= 660 for v in values)


async def test_robots_cache_status_rules() -> None:
    answers = {
        "https://ok.test/robots.txt": (200,
                                       b"User-agent: *\nDisallow: /no/\nCrawl-delay: 4\nSitemap: /sm.xml\n"),
        "https://missing.test/robots.txt": (404, b""),
        "https://down.test/robots.txt": (503, b""),
    }
    calls: list[str] = []

    async def fetch(url: str) -> tuple[int, bytes]:
        calls.append(url)
        if url not in answers:
            raise FetchFailure("dns", "no such host", url=url)
        return answers[url]

    cache = RobotsCache(fetch)
    ok = await cache.rules_for("https://ok.test/a")
    assert ok.allows("https://ok.test/a", "newsflow") and not ok.allows("https://ok.test/no/x", "newsflow")
    assert ok.crawl_delay("newsflow") == 4 and ok.sitemaps == ["https://ok.test/sm.xml"]
    assert (await cache.rules_for("https://missing.test/x")).allows("https://missing.test/x", "newsflow")
    down = await cache.rules_for("https://down.test/x")
    assert not down.allows("https://down.test/x", "newsflow") and down.failure is None
    unreachable = await cache.rules_for("https://gone.test/x")
    assert unreachable.failure is not None and unreachable.failure.kind == "dns"
    await asyncio.gather(*(cache.rules_for("https://ok.test/b") for _ in range(5)))
    assert calls.count("https://ok.test/robots.txt") == 1  # cached, fetched once
