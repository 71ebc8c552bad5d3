"""Fetcher throughput: pages/s from N local hosts, with the per-host rate limit checked.

    python bench/fetch_bench.py --hosts 8 --pages 40 --rate 10
    python bench/fetch_bench.py --hosts 8 --pages 40 --rate 10 --kafka 127.0.0.1:9092   # also publish

Each host is a loopback alias (127.0.0.2, 127.0.0.3, …; Linux routes all of 127/8 to lo) served
by a separate process, with robots.txt, an RSS feed listing `--pages` articles and ~20 KB article
pages. The fetcher polls every feed once and fetches every article through its per-host gates
(`--rate` requests/s per host, `--host-concurrency` in flight). The servers log request start
times; the script reports pages/s and the smallest gap between two requests to one host, which
must not be below 1/rate.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import ClientSession, web

from services.fetcher.options import FetchOptions
from services.fetcher.publish import MemorySink
from services.fetcher.runner import Fetcher
from services.fetcher.sources import parse_sources

PARAGRAPH = ("<p>The harbour authority said on Tuesday that the northern ferry terminal would reopen after "
             "repairs to the flood wall, which was damaged in the February storms, were completed.</p>")


def _site(pages: int) -> web.Application:
    log: list[float] = []

    async def robots(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nAllow: /\n")

    async def feed(request: web.Request) -> web.Response:
        log.append(time.time())
        base = f"http://{request.host}"
        items = "".join(f"<item><title>Story {n}</title><link>{base}/articles/{n}</link>"
                        f"<pubDate>Tue, 03 Mar 2026 10:00:00 GMT</pubDate></item>" for n in range(pages))
        head = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{request.host}</title>'
        return web.Response(text=head + f"{items}</channel></rss>", content_type="application/rss+xml")

    async def article(request: web.Request) -> web.Response:
        log.append(time.time())
        number = request.match_info["n"]
        html = (f"<!doctype html><html><head><title>Story {number}</title></head><body><article>"
                f"<h1>Story {number} on {request.host}</h1>{PARAGRAPH * 60}</article></body></html>")
        return web.Response(text=html, content_type="text/html")

    async def requests_log(request: web.Request) -> web.Response:
        return web.json_response(log)

    app = web.Application()
    app.router.add_get("/robots.txt", robots)
    app.router.add_get("/feed.xml", feed)
    app.router.add_get("/articles/{n}", article)
    app.router.add_get("/_log", requests_log)
    return app


def _serve(hosts: list[str], port: int, pages: int, ready: Any) -> None:
    async def main() -> None:
        runners = []
        for host in hosts:
            runner = web.AppRunner(_site(pages), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, host, port).start()
            runners.append(runner)
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


async def _bench(args: argparse.Namespace, hosts: list[str], port: int) -> dict[str, Any]:
    delay = 1.0 / args.rate
    specs = parse_sources({"sources": [{"id": f"host-{n}", "kind": "feed",
                                        "url": f"http://{h}:{port}/feed.xml",
                                        "max_items": args.pages} for n, h in enumerate(hosts)]})
    options = FetchOptions(allow_networks="127.0.0.0/8", host_delay_s=delay,
                           host_concurrency=args.host_concurrency,
                           page_concurrency=args.concurrency, timeout_s=30, commit_interval_s=0.1)
    if args.kafka:
        from services.fetcher.publish import KafkaSink
        from services.fetcher.topics import ensure_fetch_topics
        from services.settings import Settings

        run = uuid.uuid4().hex[:8]
        settings = Settings(kafka=args.kafka, topic_prefix=f"bench{run}.")
        await ensure_fetch_topics(settings)
        sink: Any = await KafkaSink(settings, transactional_id=f"bench-{run}", commit_interval_s=0.1).start()
    else:
        sink = MemorySink()
    started = time.monotonic()
    try:
        report = await Fetcher(specs, options, sink).run(once=True)
    finally:
        await sink.close()
    elapsed = time.monotonic() - started
    per_host: dict[str, list[float]] = {}
    async with ClientSession() as session:
        for host in hosts:
            async with session.get(f"http://{host}:{port}/_log") as response:
                per_host[host] = sorted(await response.json())
    return {"elapsed": elapsed, "report": report, "delay": delay, "starts": per_host}


def politeness(starts: dict[str, list[float]]) -> dict[str, float]:
    """As the servers saw it: smallest gap, busiest 1-second window, mean rate over each host's run."""
    gaps: list[float] = []
    windows: list[int] = []
    means: list[float] = []
    for times in starts.values():
        gaps += [b - a for a, b in itertools.pairwise(times)]
        windows.append(max(sum(1 for t in times if s <= t < s + 1.0) for s in times) if times else 0)
        if len(times) > 1:
            means.append((len(times) - 1) / (times[-1] - times[0]))
    return {"min_gap": min(gaps) if gaps else 0.0, "max_window": max(windows) if windows else 0,
            "max_mean_rate": max(means) if means else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=8, help="distinct hosts (127.0.0.2 …)")
    parser.add_argument("--pages", type=int, default=40, help="articles per host")
    parser.add_argument("--rate", type=float, default=10.0, help="requests/s allowed per host")
    parser.add_argument("--host-concurrency", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32, help="article pages in flight, all hosts")
    parser.add_argument("--kafka", default=None,
                        help="bootstrap servers: also publish (transactions) to Kafka")
    args = parser.parse_args()

    hosts = [f"127.0.0.{n + 2}" for n in range(args.hosts)]
    from services.broker import free_port

    port = free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(hosts, port, args.pages, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise SystemExit("servers did not start")
        result = asyncio.run(_bench(args, hosts, port))
    finally:
        server.terminate()
        server.join(5)
    report = result["report"]
    pages = report.pages
    ceiling = args.hosts * args.rate
    seen = politeness(result["starts"])
    # request starts are >= 1/rate apart on the client; on the server, network jitter can bring two
    # closer, but no 1-second window may hold more than rate + 1 requests, nor the mean exceed the rate
    honoured = seen["max_window"] <= int(args.rate) + 1 and seen["max_mean_rate"] <= args.rate * 1.02
    print(f"hosts={args.hosts} pages/host={args.pages} rate/host={args.rate:g}/s host_concurrency="
          f"{args.host_concurrency} in_flight={args.concurrency} sink={'kafka' if args.kafka else 'memory'}")
    print(f"fetched {pages} pages + {args.hosts} feeds in {result['elapsed']:.2f}s: "
          f"{pages / result['elapsed']:.1f} pages/s (politeness ceiling {ceiling:g}/s = hosts x rate)")
    print(f"published {report.published}, errors {dict(report.errors) or 0}")
    print(f"per host, as the servers saw it: fastest mean rate {seen['max_mean_rate']:.2f}/s, busiest 1 s "
          f"window {seen['max_window']} requests, smallest gap {seen['min_gap'] * 1000:.1f} ms "
          f"(limit {args.rate:g}/s = {result['delay'] * 1000:.0f} ms) -> "
          f"{'honoured' if honoured else 'VIOLATED'}")
    if not honoured or report.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
