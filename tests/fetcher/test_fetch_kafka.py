"""The fetcher on the real local broker: state in news.fetch.state, records in news.raw.

Restart safety is tested the hard way: the fetcher runs as a child process, is killed with
SIGKILL in the middle of a run, and restarted; news.raw (read_committed, with confluent-kafka)
must then hold every article exactly once by canonical URL.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from services.fetcher.errors import FETCH_ERRORS
from services.fetcher.service import run_fetcher
from services.fetcher.state import FETCH_STATE
from services.fetcher.topics import FETCH_TOPIC_SPECS
from services.kafka.topics import RAW, ensure_topics, load_topic_specs
from services.settings import PROJECT_ROOT, Settings
from tests.fetcher.site import Site, article_html, rss
from tests.fetcher.verify import read_committed

pytestmark = [pytest.mark.broker, pytest.mark.timeout(240)]

FAST = {"allow_networks": "127.0.0.0/8", "host_delay": 0, "host_concurrency": 4, "timeout": "5s",
        "retry_base": 0.05, "commit_interval": 0.05, "page_concurrency": 2}


@pytest.fixture
def settings(kafka_broker: Any, tmp_path: Path) -> Settings:
    run = uuid.uuid4().hex[:8]
    settings = Settings(kafka=kafka_broker.bootstrap, home=tmp_path, topic_prefix=f"fetch{run}.",
                        app_id=f"newsflow-fetch-{run}")
    specs = {RAW: load_topic_specs(settings.topics_file)[RAW], **FETCH_TOPIC_SPECS}
    asyncio.run(ensure_topics(settings, specs))
    return settings


def write_sources(tmp_path: Path, site: Site, **fetcher: Any) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({
        "fetcher": {**FAST, **fetcher},
        "sources": [{"id": "gazette", "kind": "feed", "url": site.url("/feed.xml"), "interval": "1m"}],
    }), encoding="utf-8")
    return path


def serve_news(site: Site, count: int, delay_s: float = 0.0) -> list[str]:
    site.static("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    urls = [site.url(f"/articles/{n}") for n in range(count)]
    # listed with a tracking parameter: the canonical URL (and id) drops it
    items = [{"title": f"Story {n}", "link": f"{url}?utm_source=rss"} for n, url in enumerate(urls)]
    site.static("/feed.xml", rss(items), "application/rss+xml")
    for n in range(count):
        if delay_s:
            site.slow(f"/articles/{n}", delay_s, article_html(f"Story {n}"))
        else:
            site.static(f"/articles/{n}", article_html(f"Story {n}"))
    return urls


async def topic(settings: Settings, name: str) -> list[dict[str, Any]]:
    return await asyncio.to_thread(read_committed, settings.kafka, settings.topic(name))


async def test_second_poll_is_conditional_and_publishes_nothing(settings: Settings, site: Site,
                                                                tmp_path: Path) -> None:
    urls = serve_news(site, 5)
    sources_file = write_sources(tmp_path, site)
    report = await run_fetcher(settings, sources_file, once=True)
    assert report.published == 5 and not report.errors
    raw = await topic(settings, RAW)
    assert sorted(m["value"]["url"] for m in raw) == sorted(urls)
    assert all(m["key"] == m["value"]["id"].encode() and m["headers"]["schema"] == b"raw" for m in raw)

    report = await run_fetcher(settings, sources_file, once=True)
    feed_hits = site.hits("/feed.xml")
    assert len(feed_hits) == 2 and feed_hits[1].if_none_match and feed_hits[1].if_modified_since
    assert report.not_modified == 1 and report.published == 0 and report.pages == 0
    assert len(await topic(settings, RAW)) == 5
    assert not await topic(settings, FETCH_ERRORS)

    # `newsflow sources` reads the state back from Kafka
    from services.fetcher.cli import sources

    env = {"NEWSFLOW_KAFKA": settings.kafka, "NEWSFLOW_TOPIC_PREFIX": settings.topic_prefix}
    from services.settings import get_settings

    get_settings.cache_clear()
    try:
        result = await asyncio.to_thread(
            CliRunner().invoke, sources, ["--sources", str(sources_file), "--json"], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    row = yaml.safe_load(result.output.splitlines()[0])
    assert row["id"] == "gazette" and row["items_published"] == 5 and row["polls"] == 2
    assert row["last_status"] == "unchanged" and row["last_http_status"] == 304 and row["errors"] == 0


async def test_killed_fetcher_restarts_without_duplicates_or_losses(settings: Settings, site: Site,
                                                                    tmp_path: Path) -> None:
    count = 30
    urls = serve_news(site, count, delay_s=0.15)
    sources_file = write_sources(tmp_path, site)
    env = {**os.environ, "NEWSFLOW_KAFKA": settings.kafka, "NEWSFLOW_TOPIC_PREFIX": settings.topic_prefix,
           "NEWSFLOW_APP_ID": settings.app_id}
    command = [sys.executable, "-m", "services.fetcher.cli", "fetch", "--sources", str(sources_file),
               "--once"]

    pipe, devnull = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
    first = await asyncio.create_subprocess_exec(*command, env=env, cwd=PROJECT_ROOT, stdout=devnull,
                                                 stderr=pipe)
    deadline = time.monotonic() + 90
    published: list[dict[str, Any]] = []
    while time.monotonic() < deadline and first.returncode is None:
        published = await topic(settings, RAW)
        if len(published) >= 6:
            break
        await asyncio.sleep(0.2)
    assert first.returncode is None, (await first.stderr.read()).decode()[-3000:]  # type: ignore[union-attr]
    first.kill()  # SIGKILL: no cleanup, an open transaction may be left behind
    await first.wait()
    before = {m["value"]["url"] for m in await topic(settings, RAW)}
    assert 6 <= len(before) < count, len(before)

    second = await asyncio.create_subprocess_exec(*command, env=env, cwd=PROJECT_ROOT, stdout=pipe,
                                                  stderr=pipe)
    _, err = await asyncio.wait_for(second.communicate(), timeout=120)
    assert second.returncode == 0, err.decode()[-3000:]

    raw = await topic(settings, RAW)
    by_url = Counter(m["value"]["url"] for m in raw)
    assert sorted(by_url) == sorted(urls) and set(by_url.values()) == {1}, by_url
    # the restarted run fetched only what the first had not published
    fetched_twice = [u for u in urls if len(site.hits(u.removeprefix(site.base))) > 1]
    assert len(fetched_twice) <= 4, fetched_twice  # at most the pages in flight at the kill
    assert len(site.hits("/feed.xml")) == 2
    state_keys = {m["key"] for m in await topic(settings, FETCH_STATE)}
    assert b"source:gazette" in state_keys
