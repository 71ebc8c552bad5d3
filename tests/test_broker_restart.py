"""The broker goes away mid-stream and comes back: nothing is lost, nobody has to step in.

This module runs its OWN single-node KRaft broker (own port, own home under tmp), never the
session broker the other tests share. On it: fresh topics, one `newsflow worker` child process,
one `newsflow fetch` child process polling a loopback news site whose feed keeps growing, and
the project's own Publisher sending documents to news.raw at a steady rate. Mid-stream the
broker is stopped (SIGTERM, controlled shutdown; then, in the second test, SIGKILL of the JVM),
stays away a few seconds, and is started again on the same port and home (same storage, so the
topics, the consumer group and the fetcher's transactional state survive). Then, without any
operator action:

- every document the publisher got an acknowledgement for, and every article the site listed,
  is on news.raw (read_committed) — the site's articles exactly once (the fetcher's
  transactions);
- every id on news.raw ends in exactly one of news.enriched / news.duplicates / news.dlq;
  ids delivered twice (at-least-once redelivery) are counted and printed, not failed on;
- the worker and the fetcher processes are still alive.

A third test covers what a longer outage did to the Publisher (services/kafka/clients.py): after a
batch failed, aiokafka's idempotent producer was refused with OutOfOrderSequenceNumber forever.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiokafka.errors import KafkaError

from services.broker import LocalBroker, free_port
from services.fetcher.topics import ensure_fetch_topics
from services.kafka.clients import Publisher
from services.kafka.topics import RAW, TERMINAL_TOPICS, ensure_topics
from services.outcomes import Outcome
from services.records import SCHEMA_VERSION, now_iso, stable_id
from services.settings import Settings
from services.up import start_child, stop_worker
from tests.fetcher.site import LAST_MODIFIED, Site, rss
from tests.fetcher.verify import read_committed
from tests.local_broker import own_broker
from tests.worker_ready import wait_ready

pytestmark = [pytest.mark.broker, pytest.mark.timeout(240)]

WORDS = """
harbour council river bridge school hospital museum railway election budget festival market factory airport
library stadium court police garden tram ferry vineyard orchestra mayor union drought storm research satellite
vaccine tariff pension housing energy transport climate minister parliament verdict strike
""".split()

DOWN_S = 3.0  # how long the broker stays away


def prose(rng: random.Random, lead: str, sentences: int = 8) -> list[str]:
    """Distinct article-length text (random word sequences: no two are near duplicates)."""
    return [lead] + [" ".join(rng.choice(WORDS) for _ in range(14)).capitalize() + "." for _ in range(sentences)]


# -- a thread with its own event loop: the site and the publisher live there ----------------------
# Why not the test's loop: LocalBroker(tie_to_parent=True) makes the JVM die with the *thread* that
# started it, so the broker is started and restarted from the main thread, which must stay free.


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="restart-harness", daemon=True)
        self.thread.start()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        return self.spawn(coro).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


# -- the news site: a feed that grows while the test runs -------------------------------------------


@dataclass
class GrowingSite:
    """A feed listing the first `revealed` articles; each article page is distinct prose."""

    site: Site
    revealed: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    pages: dict[int, str] = field(default_factory=dict)

    def install(self) -> None:
        self.site.static("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
        self.site.routes["/feed.xml"] = self._feed

    def url(self, n: int) -> str:
        return self.site.url(f"/news/{n}")

    def reveal(self, count: int) -> None:
        """Called on the harness loop (call_soon_threadsafe): list `count` more articles."""
        for n in range(self.revealed, self.revealed + count):
            title = f"Harbour dispatch {n}"
            paragraphs = "".join(f"<p>{s}</p>" for s in prose(self.rng, f"{title}."))
            self.pages[n] = (f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>'
                             f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>")
            self.site.static(f"/news/{n}", self.pages[n])
        self.revealed += count

    async def _feed(self, request: web.Request) -> web.StreamResponse:
        items = [{"title": f"Harbour dispatch {n}", "link": self.url(n)} for n in range(self.revealed)]
        body = rss(items).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers={"Content-Type": "application/rss+xml", **headers})


# -- the publisher: the project's Publisher, one document at a time, through the outage -------------


@dataclass
class PublishLog:
    acked: list[str] = field(default_factory=list)
    sends: list[tuple[float, float]] = field(default_factory=list)  # (first attempt, acknowledged), monotonic
    failures: list[str] = field(default_factory=list)
    renewals: int = 0

    def waited_out(self, up_at: float) -> int:
        """Documents whose send began before the broker was back and waited at least DOWN_S for an ack."""
        return sum(1 for began, acked in self.sends if began < up_at and acked - began >= DOWN_S)


async def publish_steadily(settings: Settings, tag: str, count: int, rate: float, log: PublishLog) -> None:
    """Send `count` documents at `rate`/s; a send that fails is logged and the document sent again."""
    rng = random.Random(tag)
    async with Publisher(settings) as publisher:
        start = time.monotonic()
        for n in range(count):
            body = " ".join(prose(rng, f"Dispatch {tag}-{n}."))
            url = f"https://wire.example/{tag}/{n}"
            record = {"schema_version": SCHEMA_VERSION, "id": stable_id(url), "url": url, "source": "wire",
                      "kind": "text", "body": body, "title": f"Dispatch {tag}-{n}", "ingested_at": now_iso()}
            began = time.monotonic()
            while True:
                try:
                    await publisher.publish([Outcome(RAW, record["id"], record)])
                    break
                except Exception as exc:  # a producer that gives up is a finding: logged, asserted on
                    log.failures.append(f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(1.0)
            log.acked.append(record["id"])
            log.sends.append((began, time.monotonic()))
            await asyncio.sleep(max(0.0, start + (n + 1) / rate - time.monotonic()))
        log.renewals = publisher.renewals


# -- the stack: own broker, topics, worker, fetcher -------------------------------------------------


@dataclass
class Stack:
    broker: LocalBroker
    settings: Settings
    harness: LoopThread
    news: GrowingSite
    worker: Any
    fetcher: Any

    def logs(self) -> str:
        out = []
        for name in ("worker.log", "fetcher.log"):
            path = self.settings.home / name
            text = path.read_text(errors="replace") if path.exists() else "(none)"
            out.append(f"--- {name} (last 4000 chars) ---\n{text[-4000:]}")
        return "\n".join(out)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("restart-home")
    run = uuid.uuid4().hex[:8]
    settings = Settings(kafka=f"127.0.0.1:{free_port()}", home=home, controller_port=None, broker_heap_mb=256,
                        topic_prefix=f"restart{run}.", app_id=f"newsflow-restart-{run}", web_port=free_port(),
                        session_timeout_s=10.0)
    with own_broker(settings, "the test's own Kafka broker") as broker:
        yield from _stack(broker, settings, home)


def _stack(broker: LocalBroker, settings: Settings, home: Path) -> Iterator[Stack]:
    """Worker, fetcher and a growing site on `broker`; everything but the broker stopped after."""
    harness = LoopThread()
    worker = fetcher = site = None
    try:
        asyncio.run(ensure_topics(settings))
        asyncio.run(ensure_fetch_topics(settings))
        site = harness.run(Site().start())
        news = GrowingSite(site)
        harness.run(_call(news.install))
        sources = home / "sources.yaml"
        sources.write_text(yaml.safe_dump({
            "fetcher": {"allow_networks": "127.0.0.0/8", "host_delay": 0, "host_concurrency": 4, "timeout": "5s",
                        "retry_base": 0.5, "commit_interval": 0.1, "page_concurrency": 4},
            "sources": [{"id": "gazette", "kind": "feed", "url": site.url("/feed.xml"), "interval": "1s",
                         "max_interval": "2s"}],
        }), encoding="utf-8")
        worker = start_child(settings, ["worker", "--loglevel", "info"], "worker.log")
        wait_ready(settings.web_port, worker)
        fetcher = start_child(settings, ["fetch", "--sources", str(sources)], "fetcher.log")
        yield Stack(broker, settings, harness, news, worker, fetcher)
    finally:
        for child in (fetcher, worker):
            if child is not None:
                stop_worker(child)
        if site is not None:
            harness.run(site.stop())
        harness.close()


async def _call(fn: Any, *args: Any) -> Any:
    return fn(*args)


# -- reading back, independently (confluent-kafka, read_committed) ----------------------------------


def terminal_topics_of(settings: Settings) -> dict[str, Counter[str]]:
    """id → how often it arrived on each terminal topic (logical names)."""
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    for logical in TERMINAL_TOPICS:
        for message in read_committed(settings.kafka, settings.topic(logical)):
            value = message["value"]
            if isinstance(value, dict) and value.get("id"):
                seen[value["id"]][logical] += 1
                if value.get("parent_id"):
                    seen[value["parent_id"]][logical] += 0  # a story of a split page: its page is done
    return seen


def raw_records(settings: Settings) -> list[dict[str, Any]]:
    return [m["value"] for m in read_committed(settings.kafka, settings.topic(RAW))]


# -- the test ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_broker_restart_mid_stream(stack: Stack, how: str) -> None:
    settings, harness, news = stack.settings, stack.harness, stack.news
    tag = f"{how}-{uuid.uuid4().hex[:6]}"
    log = PublishLog()
    first_article = news.revealed
    publishing = harness.spawn(publish_steadily(settings, tag, count=60, rate=4.0, log=log))

    def reveal(count: int) -> None:
        harness.run(_call(news.reveal, count))

    # stream for a few seconds, then take the broker away while both sides are busy
    for _ in range(4):
        reveal(3)
        time.sleep(1.0)
    down_at = time.monotonic()
    if how == "stop":
        assert stack.broker.stop(timeout=30), "the broker was not running"
    else:
        pid = stack.broker.status().pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while stack.broker.status().running and time.monotonic() < deadline:
            time.sleep(0.1)
    reveal(3)  # new articles appear while the broker is away
    time.sleep(DOWN_S)
    stack.broker.start(timeout=120)  # same port, same home: same storage
    up_at = time.monotonic()
    for _ in range(3):
        reveal(3)
        time.sleep(1.0)
    publishing.result(timeout=120)
    last_article = news.revealed

    # every listed article and every acknowledged document reaches news.raw; then a terminal topic
    wanted_urls = {news.url(n) for n in range(first_article, last_article)}
    acked = set(log.acked)
    deadline = time.monotonic() + 120
    while True:
        raw = raw_records(settings)
        fetched = Counter(r["url"] for r in raw if r.get("source") == "gazette")
        raw_ids = {r["id"] for r in raw if r.get("source") == "gazette" and r["url"] in wanted_urls}
        raw_ids |= {r["id"] for r in raw if r["id"] in acked}
        seen = terminal_topics_of(settings) if wanted_urls <= set(fetched) else {}
        lost = [i for i in raw_ids if i not in seen] if seen else raw_ids
        if wanted_urls <= set(fetched) and not lost:
            break
        assert stack.worker.poll() is None, f"the worker died\n{stack.logs()}"
        assert stack.fetcher.poll() is None, f"the fetcher died\n{stack.logs()}"
        if time.monotonic() > deadline:
            missing = sorted(wanted_urls - set(fetched))
            raise AssertionError(f"not fetched: {missing[:5]} ({len(missing)}); not accounted for: "
                                 f"{len(lost)} of {len(raw_ids)}\n{stack.logs()}")
        time.sleep(2.0)

    assert not log.failures, f"the publisher's sends failed: {log.failures[:5]}"
    assert acked <= {r["id"] for r in raw}, "acknowledged documents missing from news.raw"
    assert all(fetched[u] == 1 for u in wanted_urls), {u: c for u, c in fetched.items() if c != 1}
    in_two = {i: dict(seen[i]) for i in raw_ids if len(+seen[i]) > 1}
    assert not in_two, f"ids on more than one terminal topic: {in_two}"
    twice = sum(1 for i in raw_ids if sum(seen[i].values()) > 1)
    # the outage hit work in flight: a send that began before the broker was back waited it out
    across = log.waited_out(up_at)
    assert across >= 1, "no publish was in flight across the outage: the test did not test anything"
    polls_away = sum(1 for h in news.site.log if h.path == "/feed.xml" and down_at < h.at < up_at)
    print(f"\nbroker {how}: away {up_at - down_at:.1f}s; {len(raw_ids)} ids ({len(wanted_urls)} fetched, "
          f"{len(log.acked)} published, {across} of them across the outage) all accounted for; "
          f"delivered twice: {twice}; feed polls while away: {polls_away}")
    assert stack.worker.poll() is None, f"the worker died\n{stack.logs()}"
    assert stack.fetcher.poll() is None, f"the fetcher died\n{stack.logs()}"


def test_publisher_recovers_from_a_sequence_gap(stack: Stack) -> None:
    """After a failed batch the Publisher starts over with a new producer instead of failing forever.

    What a long outage does (seen with the broker away ~75 s: a batch expired while the partition had
    no leader): aiokafka's idempotent producer keeps counting the lost batch's sequence numbers, the
    broker refuses every later send with OutOfOrderSequenceNumber (aiokafka #1017), and a long-lived
    Publisher never publishes again. The gap is made here directly, without waiting minutes.
    """
    settings = stack.settings

    def record(n: int) -> Outcome:
        url = f"https://wire.example/gap/{n}"
        return Outcome(RAW, "same-key", {"schema_version": SCHEMA_VERSION, "id": stable_id(url), "url": url,
                                         "source": "wire", "kind": "text", "body": f"Gap test {n}.",
                                         "ingested_at": now_iso()})

    async def scenario() -> tuple[str, int]:
        async with Publisher(settings, request_timeout_ms=10000) as publisher:
            await publisher.publish([record(0)])
            txn = publisher._producer._txn_manager
            gapped = [tp for tp, seq in list(txn._sequence_numbers.items()) if seq]
            assert gapped, "the first send left no sequence number to skip"
            for tp in gapped:
                txn.increment_sequence_number(tp, 3)  # as if a 3-record batch had been lost
            with pytest.raises(KafkaError) as refused:
                await publisher.publish([record(1)])  # same key, same partition: refused by the broker
            await publisher.publish([record(2)])  # before the fix: OutOfOrderSequenceNumber, forever
            await publisher.publish([record(3)])
            return type(refused.value).__name__, publisher.renewals

    refused, renewals = asyncio.run(scenario())
    assert refused == "OutOfOrderSequenceNumber" and renewals == 1
    urls = {m["value"]["url"] for m in read_committed(settings.kafka, settings.topic(RAW))}
    assert {f"https://wire.example/gap/{n}" for n in (0, 2, 3)} <= urls
    assert "https://wire.example/gap/1" not in urls
