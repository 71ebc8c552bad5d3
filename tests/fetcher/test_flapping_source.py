"""A source that flaps: good feed, 503 with Retry-After, 500, a timeout, good again, garbage XML,
truncated gzip, binary noise, then a good feed with new articles — one of whose pages answers
429 with Retry-After once.

The fetcher runs in-process with its real scheduler (`run_fetcher(..., once=False)`, the loop
behind `newsflow fetch`), its real HTTP client with a small timeout (`NEWSFLOW_FETCH_TIMEOUT_S`
through Settings), and its real transactional sink on the session broker. Checked afterwards,
from Kafka (read_committed, confluent-kafka):

- the fetcher never crashed: the run ends only when told to, with no internal errors;
- every failure is a `news.fetch.errors` record with its class (and status, Retry-After) and is
  counted in the source's state;
- backoff is sane: the state written after each poll has the interval the policy prescribes
  (doubling per consecutive failure from `interval`, capped at `max_interval`, reset by a
  success, never below a Retry-After), and no poll came earlier than the interval decided before it;
- once the source serves good content again, its new articles are published, each exactly once,
  and the polls after that (304s) publish nothing.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import itertools
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from services.fetcher.errors import FETCH_ERRORS
from services.fetcher.service import run_fetcher
from services.fetcher.state import FETCH_STATE
from services.fetcher.topics import ensure_fetch_topics
from services.kafka.topics import RAW
from services.settings import Settings
from tests.fetcher.site import LAST_MODIFIED, Site, article_html, rss
from tests.fetcher.verify import read_committed

pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]

TIMEOUT_S = 3.0  # the fetcher's whole-request timeout here: small, yet never hit by a good answer
INTERVAL_S, MAX_INTERVAL_S = 1.0, 3.0  # the source's poll interval and its backoff cap
RETRY_AFTER_S = 3  # what the 503 asks for: more than the first backoff step (1 s)
JITTER = 0.1  # politeness/polling.py: ±10 %
EARLY_S = 0.1  # tolerance for "no poll earlier than decided" (timer and clock granularity)

Respond = Callable[[web.Request], Awaitable[web.StreamResponse]]


def feed_bytes(site: Site, count: int) -> bytes:
    return rss([{"title": f"Flap story {n}", "link": site.url(f"/a/{n}")} for n in range(count)]).encode()


def good(body: bytes) -> Respond:
    """A feed with validators: 200, or 304 when the fetcher already has this version."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    async def respond(request: web.Request) -> web.StreamResponse:
        headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers={"Content-Type": "application/rss+xml", **headers})

    return respond


def status(code: int, **headers: str) -> Respond:
    async def respond(request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, text="try again later", headers=headers)

    return respond


def stall(seconds: float) -> Respond:
    async def respond(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)  # the fetcher has given up by now
        return web.Response(status=200, text="too late", content_type="application/rss+xml")

    return respond


def body(data: bytes, content_type: str) -> Respond:
    async def respond(request: web.Request) -> web.StreamResponse:
        return web.Response(body=data, headers={"Content-Type": content_type})

    return respond


def sequence(site: Site, path: str, steps: list[tuple[str, Respond]]) -> None:
    """The n-th request of `path` gets the n-th step; the last step repeats."""

    async def handler(request: web.Request) -> web.StreamResponse:
        n = site.counts[path] - 1  # Site._dispatch counted this request already
        return await steps[min(n, len(steps) - 1)][1](request)

    site.routes[path] = handler


# (what the feed serves, the error class it must cause or None, the interval the poll must decide)
def flapping_steps(site: Site) -> list[tuple[str, Respond, str | None, float]]:
    v1, v2 = feed_bytes(site, 2), feed_bytes(site, 4)
    noise = random.Random(5).randbytes(4096)
    return [
        ("good: articles 0, 1", good(v1), None, INTERVAL_S),  # new items: back to interval
        ("503 Retry-After: 3", status(503, **{"Retry-After": str(RETRY_AFTER_S)}), "http_5xx",
         RETRY_AFTER_S),  # 1st failure: 1 s, but never before Retry-After
        ("500", status(500), "http_5xx", 2.0),  # 2nd consecutive failure: 1 s × 2
        ("timeout", stall(TIMEOUT_S + 2.0), "timeout", MAX_INTERVAL_S),  # 3rd: 1 s × 4, capped at 3 s
        ("good again, unchanged (304)", good(v1), None, MAX_INTERVAL_S),  # success: failures reset
        ("garbage XML", body(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
                             b"<item><title>un<closed</ite", "application/rss+xml"), "malformed_xml", 1.0),
        ("truncated gzip", body(gzip.compress(v2)[:80], "application/gzip"), "unreadable", 2.0),
        ("binary noise", body(noise, "application/rss+xml"), "bad_encoding", MAX_INTERVAL_S),
        ("good: articles 0-3", good(v2), None, INTERVAL_S),  # new items 2 and 3 (3 flaps with a 429)
    ]


def page_429_once(site: Site, path: str, html: str) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if site.counts[path] == 1:
            return web.Response(status=429, text="slow down", headers={"Retry-After": "1"})
        return web.Response(text=html, content_type="text/html")

    site.routes[path] = handler


async def topic(settings: Settings, name: str) -> list[dict[str, Any]]:
    return await asyncio.to_thread(read_committed, settings.kafka, settings.topic(name))


async def test_flapping_feed(kafka_broker: Any, site: Site, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    settings = Settings(kafka=kafka_broker.bootstrap, home=tmp_path, topic_prefix=f"flap{run}.",
                        app_id=f"newsflow-flap-{run}", fetch_timeout_s=TIMEOUT_S)
    await ensure_fetch_topics(settings)
    steps = flapping_steps(site)
    site.static("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    sequence(site, "/feed.xml", [(name, respond) for name, respond, _, _ in steps])
    for n in range(3):
        site.static(f"/a/{n}", article_html(f"Flap story {n}"))
    page_429_once(site, "/a/3", article_html("Flap story 3"))
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({
        "fetcher": {"allow_networks": "127.0.0.0/8", "host_delay": 0, "host_concurrency": 4,
                    "connect_timeout": "2s", "retry_base": 0.2, "commit_interval": 0.05, "max_retry_after": "30s"},
        "sources": [{"id": "flappy", "kind": "feed", "url": site.url("/feed.xml"), "interval": INTERVAL_S,
                     "max_interval": MAX_INTERVAL_S}],
    }), encoding="utf-8")

    stop = asyncio.Event()
    fetcher = asyncio.create_task(run_fetcher(settings, sources, once=False, stop=stop))
    wanted = {site.url(f"/a/{n}") for n in range(4)}
    deadline = time.monotonic() + 120
    while True:  # until the good feed came back, its articles are out, and two more polls passed
        assert not fetcher.done(), f"the fetcher stopped by itself: {fetcher.exception()!r}"
        published = {m["value"]["url"] for m in await topic(settings, RAW)}
        if len(site.hits("/feed.xml")) >= len(steps) + 2 and wanted <= published:
            break
        assert time.monotonic() < deadline, (
            f"stuck: {len(site.hits('/feed.xml'))} feed polls, published {sorted(published)}")
        await asyncio.sleep(0.5)
    stop.set()
    report = await asyncio.wait_for(fetcher, 60)
    assert report.internal_errors == 0

    # once good again, every article exactly once, and the later polls (304) published nothing
    raw = Counter(m["value"]["url"] for m in await topic(settings, RAW))
    assert raw == dict.fromkeys(sorted(wanted), 1), raw

    # every failure is on news.fetch.errors, with its class, in the order the feed flapped
    errors = [m["value"] for m in await topic(settings, FETCH_ERRORS)]
    feed_errors = [e for e in errors if e["resource"] == "feed"]
    assert [e["class"] for e in feed_errors] == [kind for _, _, kind, _ in steps if kind], feed_errors
    assert feed_errors[0]["status"] == 503 and feed_errors[0]["retry_after_s"] == RETRY_AFTER_S
    assert feed_errors[1]["status"] == 500
    assert all(e["source"] == "flappy" and e["url"] == site.url("/feed.xml") for e in feed_errors)
    page_errors = [e for e in errors if e["resource"] == "page"]
    assert len(page_errors) == 1, page_errors
    expected_page_error = {"class": "http_4xx", "status": 429, "retry_after_s": 1.0, "will_retry": True,
                           "attempt": 1, "url": site.url("/a/3")}
    assert {k: page_errors[0].get(k) for k in expected_page_error} == expected_page_error, page_errors

    # ... and counted in the source's state
    history = [m["value"] for m in await topic(settings, FETCH_STATE) if m["key"] == b"source:flappy"]
    final = history[-1]
    assert final["errors"] == len(errors) == 7
    assert final["errors_by_class"] == dict(Counter(e["class"] for e in errors))
    assert final["failures"] == 0 and final["items_published"] == 4
    assert final["last_error"]["class"] == "http_4xx"

    # backoff: the interval each poll decided (the last state record of that poll) follows the policy
    decided: dict[int, dict[str, Any]] = {}
    for record in history:
        decided[record["polls"]] = record
    for number, (name, _, kind, expected) in enumerate(steps, start=1):
        status_after = decided[number]
        low, high = max(1.0, expected * (1 - JITTER)), max(1.0, expected * (1 + JITTER))
        assert low - 1e-6 <= status_after["interval_s"] <= high + 1e-6, (number, name, status_after)
        assert status_after["last_status"] == ("failed" if kind else ("new" if "articles" in name
                                                                      else "unchanged")), (name, status_after)
        assert (status_after["failures"] > 0) == bool(kind), (name, status_after)
    assert [decided[n]["failures"] for n in range(1, len(steps) + 1)] == [0, 1, 2, 3, 0, 1, 2, 3, 0]

    # ... and no poll came before the interval decided after the previous one (Retry-After included)
    starts = [hit.at for hit in site.hits("/feed.xml")]
    for number in range(1, len(steps) + 1):
        gap = starts[number] - starts[number - 1]
        assert gap >= decided[number]["interval_s"] - EARLY_S, (number, steps[number - 1][0], gap)
    # the 429 paused the page for its Retry-After, then it was fetched once more and published
    page_hits = [hit.at for hit in site.hits("/a/3")]
    assert len(page_hits) == 2 and page_hits[1] - page_hits[0] >= 1.0 - EARLY_S
    print(f"\n{len(site.hits('/feed.xml'))} feed polls; gaps " +
          ", ".join(f"{b - a:.1f}s" for a, b in itertools.pairwise(starts)) +
          f"; errors {dict(final['errors_by_class'])}")
