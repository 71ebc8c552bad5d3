"""The fetcher against a loopback news site, without Kafka (MemorySink keeps records and state)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from services.fetcher.errors import FETCH_ERRORS
from services.fetcher.options import FetchOptions
from services.fetcher.publish import MemorySink
from services.fetcher.runner import Fetcher
from services.fetcher.sources import parse_sources
from services.kafka.topics import RAW
from services.records import stable_id
from tests.fetcher.conftest import fast_options
from tests.fetcher.site import Site, article_html, gz, rss, sitemap_index, urlset, warc_bytes


def sources(*specs: dict[str, Any], **top: Any) -> Any:
    return parse_sources({"sources": list(specs), **top})


async def run(specs: Any, options: FetchOptions, sink: MemorySink | None = None) -> tuple[MemorySink, Any]:
    sink = sink or MemorySink()
    fetcher = Fetcher(specs, options, sink, sink.load_state())
    report = await fetcher.run(once=True)
    return sink, report


def errors(sink: MemorySink) -> list[dict[str, Any]]:
    return sink.records(FETCH_ERRORS)


def raw(sink: MemorySink) -> list[dict[str, Any]]:
    return sink.records(RAW)


def news_site(site: Site, count: int = 3) -> list[str]:
    urls = [site.url(f"/articles/{n}") for n in range(count)]
    site.static("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    items = [{"title": f"Story {n}", "link": url, "content": f"<p>Full text {n}</p>",
              "categories": ["Local", "Harbour"]} for n, url in enumerate(urls)]
    site.static("/feed.xml", rss(items, ttl=30), "application/rss+xml")
    for n in range(count):
        site.static(f"/articles/{n}", article_html(f"Story {n}"))
    return urls


async def test_feed_entries_become_raw_records_with_feed_and_fetch_meta(site: Site,
                                                                        options: FetchOptions) -> None:
    urls = news_site(site)
    sink, report = await run(sources({"id": "gazette", "kind": "feed", "url": site.url("/feed.xml")}),
                             options)
    records = {r["url"]: r for r in raw(sink)}
    assert set(records) == set(urls) and not errors(sink)
    record = records[urls[1]]
    assert record["id"] == stable_id(urls[1]) and record["source"] == "gazette" and record["kind"] == "html"
    assert record["title"] == "Story 1" and record["published_at"] == "2026-03-03T10:00:00Z"
    assert "<h1>Story 1</h1>" in record["body"]
    assert record["revision"] == 0 and record["previous_hash"] is None
    feed = record["meta"]["feed"]
    assert feed["content"][0]["value"] == "<p>Full text 1</p>" and feed["author"] == "Ada Reporter"
    assert feed["categories"] == ["Local", "Harbour"] and feed["guid"] == urls[1]
    fetch = record["meta"]["fetch"]
    assert fetch["requested_url"] == fetch["final_url"] == urls[1] and fetch["status"] == 200
    assert fetch["content_type"].startswith("text/html") and fetch["charset"] == "utf-8"
    assert fetch["etag"] and fetch["last_modified"] and fetch["fetched_at"]
    assert record["meta"]["listing"]["format"] == "rss20"
    assert all(h.user_agent and h.user_agent.startswith("newsflow-test/") for h in site.log)
    assert report.published == 3
    status = sink.load_state().sources["gazette"]
    assert status.items_published == 3 and status.last_status == "new"
    assert status.interval_s >= 30 * 60 * 0.9  # the feed's <ttl> (minutes) is a floor


async def test_second_poll_is_conditional_and_publishes_nothing(site: Site, options: FetchOptions) -> None:
    news_site(site)
    specs = sources({"id": "gazette", "kind": "feed", "url": site.url("/feed.xml")})
    sink, _ = await run(specs, options)
    first = len(sink.outcomes)
    _, report = await run(specs, options, sink)
    assert len(sink.outcomes) == first  # nothing new, not even an error
    second = site.hits("/feed.xml")[-1]
    assert second.if_none_match and second.if_modified_since
    assert report.not_modified == 1 and report.conditional_requests == 1 and report.published == 0
    assert len(site.hits("/articles/0")) == 1  # seen articles are not fetched again


async def test_changed_feed_fetches_only_new_and_changed_articles(site: Site, options: FetchOptions) -> None:
    urls = news_site(site, 2)
    specs = sources({"id": "gazette", "kind": "feed", "url": site.url("/feed.xml")})
    sink, _ = await run(specs, options)
    # story 0 is updated (new date, new text), story 2 is new, story 1 unchanged
    urls.append(site.url("/articles/2"))
    items = [{"title": "Story 0", "link": urls[0], "date": "Wed, 04 Mar 2026 09:00:00 GMT"},
             {"title": "Story 1", "link": urls[1], "content": "<p>Full text 1</p>",
              "categories": ["Local", "Harbour"]},
             {"title": "Story 2", "link": urls[2]}]
    site.static("/feed.xml", rss(items), "application/rss+xml")
    site.static("/articles/0", article_html("Story 0 (corrected)"))
    site.static("/articles/2", article_html("Story 2"))
    sink, report = await run(specs, options, sink)
    records = raw(sink)
    assert [r["url"] for r in records].count(urls[0]) == 2 and [r["url"] for r in records].count(urls[1]) == 1
    revision = records[-2] if records[-2]["url"] == urls[0] else records[-1]
    assert revision["id"] == stable_id(urls[0]) and revision["revision"] == 1
    assert revision["previous_hash"] == records[0]["content_hash"] != revision["content_hash"]
    assert report.published == 2 and report.revisions == 1
    assert len(site.hits("/articles/1")) == 1


async def test_redirects_and_rel_canonical_decide_the_url(site: Site, options: FetchOptions) -> None:
    site.static("/robots.txt", "", "text/plain")
    site.static("/feed.xml", rss([{"title": "Moved", "link": site.url("/r/1")}]), "application/rss+xml")
    site.redirect("/r/1", site.url("/story?id=1&utm_source=rss"))
    site.static("/story?id=1&utm_source=rss", article_html("Moved",
                                                           canonical="/news/harbour-wall?utm_medium=x"))
    sink, _ = await run(sources({"id": "s", "kind": "feed", "url": site.url("/feed.xml")}), options)
    [record] = raw(sink)
    canonical = site.url("/news/harbour-wall")
    assert record["url"] == canonical and record["id"] == stable_id(canonical)
    fetch, canon = record["meta"]["fetch"], record["meta"]["canonical"]
    assert fetch["requested_url"] == site.url("/r/1")
    assert fetch["final_url"] == site.url("/story?id=1&utm_source=rss")
    assert fetch["redirects"] == [{"status": 301, "url": site.url("/story?id=1&utm_source=rss")}]
    assert canon["honoured"] is True and canon["listed_url"] == site.url("/r/1")
    state = sink.load_state()
    assert state.lookup(site.url("/r/1")).id == record["id"]  # the listed URL is an alias now


async def test_cross_site_canonical_is_kept_but_not_used(site: Site, options: FetchOptions) -> None:
    site.static("/robots.txt", "", "text/plain")
    site.static("/a", article_html("Syndicated", canonical="https://original.example/story"))
    sink, _ = await run(sources({"id": "p", "kind": "page", "url": site.url("/a")}), options)
    [record] = raw(sink)
    assert record["url"] == site.url("/a")
    assert record["meta"]["canonical"] == {"listed_url": site.url("/a"), "final_url": site.url("/a"),
                                           "link": "https://original.example/story", "honoured": False}


async def test_robots_disallow_is_an_error_record_and_nothing_is_requested(site: Site,
                                                                           options: FetchOptions) -> None:
    news_site(site, 1)
    site.static("/feed.xml", rss([{"title": "Secret", "link": site.url("/private/x")},
                                  {"title": "Open", "link": site.url("/articles/0")}]), "application/rss+xml")
    sink, _ = await run(sources({"id": "s", "kind": "feed", "url": site.url("/feed.xml")}), options)
    [error] = errors(sink)
    assert error["class"] == "robots_disallowed" and error["url"] == site.url("/private/x")
    assert error["source"] == "s" and error["resource"] == "page"
    assert not site.hits("/private/x") and len(raw(sink)) == 1
    assert sink.load_state().sources["s"].errors_by_class == {"robots_disallowed": 1}


async def test_robots_crawl_delay_paces_the_host(site: Site) -> None:
    site.static("/robots.txt", "User-agent: *\nCrawl-delay: 0.3\n", "text/plain")
    site.static("/feed.xml", rss([{"title": f"S{n}", "link": site.url(f"/p/{n}")} for n in range(4)]),
                "application/rss+xml")
    for n in range(4):
        site.static(f"/p/{n}", article_html(f"S{n}"))
    options = fast_options(max_crawl_delay_s=0.3)
    sink, _ = await run(sources({"id": "s", "kind": "feed", "url": site.url("/feed.xml")}), options)
    assert len(raw(sink)) == 4
    starts = sorted(h.at for h in site.log if h.path.startswith(("/p/", "/feed")))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.28, gaps


async def test_429_with_retry_after_then_success(site: Site, options: FetchOptions) -> None:
    news_site(site, 1)
    site.sequence("/articles/0",
                  lambda: web.Response(status=429, headers={"Retry-After": "1"}, text="slow down"),
                  lambda: web.Response(text=article_html("Story 0"), content_type="text/html"))
    sink, _ = await run(sources({"id": "s", "kind": "feed", "url": site.url("/feed.xml")}), options)
    [error] = errors(sink)
    assert error["class"] == "http_4xx" and error["status"] == 429 and error["will_retry"] is True
    assert error["retry_after_s"] == 1.0
    assert len(raw(sink)) == 1
    first, second = site.hits("/articles/0")
    assert second.at - first.at >= 0.95


async def test_500_then_success_is_published_once(site: Site, options: FetchOptions) -> None:
    news_site(site, 1)
    site.sequence("/articles/0", lambda: web.Response(status=500, text="oops"),
                  lambda: web.Response(text=article_html("Story 0"), content_type="text/html"))
    sink, _ = await run(sources({"id": "s", "kind": "feed", "url": site.url("/feed.xml")}), options)
    assert [e["class"] for e in errors(sink)] == ["http_5xx"] and len(raw(sink)) == 1


async def test_persistent_5xx_gives_up_after_max_attempts(site: Site) -> None:
    news_site(site, 1)
    site.sequence("/articles/0", lambda: web.Response(status=503, text="down"))
    sink, _ = await run(sources({"id": "s", "kind": "feed", "url": site.url("/feed.xml")}),
                        fast_options(max_attempts=3))
    assert [e["will_retry"] for e in errors(sink)] == [True, True, False] and not raw(sink)
    assert sink.load_state().lookup(site.url("/articles/0")).status == "failed"


async def test_slow_response_past_the_timeout(site: Site) -> None:
    news_site(site, 1)
    site.slow("/articles/0", 3.0)
    sink, _ = await run(sources({"id": "s", "kind": "feed", "url": site.url("/feed.xml")}),
                        fast_options(timeout_s=0.5, max_attempts=1))
    [error] = errors(sink)
    assert error["class"] == "timeout" and not raw(sink)


async def test_broken_listings_are_classified(site: Site, options: FetchOptions) -> None:
    site.static("/robots.txt", "", "text/plain")
    site.static("/broken.xml", '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item>'
                '<title>a &amp b</title></channel>', "application/rss+xml")
    site.static("/html", "<!doctype html><html><head><title>Home</title>"
                '<link rel="alternate" type="application/rss+xml" href="/real-feed.xml">'
                "</head><body>hi</body></html>")
    site.static("/bomb.xml", '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
                '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><rss><channel><title>&b;</title></channel></rss>',
                "application/xml")
    site.static("/latin1-feed.xml", '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<item><title>Zürich</title><link>{site.url('/z')}</link></item></channel></rss>"
                .encode()[:0] + b"\xef\xbb\xbf<rss><channel><title>Z\xfcrich</title></channel></rss>",
                "application/rss+xml")
    site.sequence("/forbidden", lambda: web.Response(status=403, text="no"))
    site.sequence("/challenge", lambda: web.Response(
        status=503, text="<html><head><title>Just a moment...</title></head></html>",
        content_type="text/html"))
    site.sequence("/gone", lambda: web.Response(status=410, text="gone"))
    specs = sources(*({"id": name, "kind": "feed", "url": site.url(path)} for name, path in [
        ("broken", "/broken.xml"), ("html", "/html"), ("bomb", "/bomb.xml"), ("bom", "/latin1-feed.xml"),
        ("forbidden", "/forbidden"), ("challenge", "/challenge"), ("gone", "/gone"), ("missing", "/nope")]))
    sink, report = await run(specs, options)
    classes = {e["source"]: e["class"] for e in errors(sink)}
    assert classes == {"broken": "malformed_xml", "html": "not_a_feed", "bomb": "malformed_xml",
                       "bom": "bad_encoding", "forbidden": "blocked", "challenge": "blocked",
                       "gone": "http_4xx",
                       "missing": "http_4xx"}, classes
    html_error = next(e for e in errors(sink) if e["source"] == "html")
    assert html_error["detail"]["advertised_feeds"] == [site.url("/real-feed.xml")]
    state = sink.load_state()
    assert state.sources["broken"].last_status == "failed" and state.sources["broken"].failures == 1
    assert report.internal_errors == 0 and not raw(sink)


async def test_wrong_declared_charset_is_detected_and_recorded(site: Site, options: FetchOptions) -> None:
    site.static("/robots.txt", "", "text/plain")
    html = ("<html><head><title>Köln</title></head><body><p>"
            + "Die Straßenbahn in Köln fährt wieder über die Brücke, sagt der Bürgermeister. " * 20
            + "</p></body></html>")
    site.static("/page", html.encode("cp1252"), "text/html; charset=utf-8")
    sink, _ = await run(sources({"id": "p", "kind": "page", "url": site.url("/page")}), options)
    [record] = raw(sink)
    assert "Straßenbahn in Köln fährt" in record["body"]
    fetch = record["meta"]["fetch"]
    assert fetch["charset"] == "cp1252" and fetch["declared_charset"] == "utf-8"


async def test_undecodable_page_is_bad_encoding(site: Site, options: FetchOptions) -> None:
    site.static("/robots.txt", "", "text/plain")
    site.static("/page", b"\xef\xbb\xbf<html>" + bytes(range(128, 256)) * 20, "text/html")
    sink, _ = await run(sources({"id": "p", "kind": "page", "url": site.url("/page")}), options)
    assert [e["class"] for e in errors(sink)] == ["bad_encoding"] and not raw(sink)


async def test_gzip_sitemap_index_and_google_news_fields(site: Site, options: FetchOptions) -> None:
    site.static("/robots.txt", "", "text/plain")
    news_urls = [site.url(f"/n/{n}") for n in range(2)]
    plain_urls = [site.url(f"/p/{n}") for n in range(2)]
    site.static("/sitemap.xml", sitemap_index([site.url("/news.xml.gz"), site.url("/pages.xml")]),
                "application/xml")
    site.static("/news.xml.gz", gz(urlset(news_urls, news=True)), "application/x-gzip")
    site.static("/pages.xml", urlset(plain_urls), "application/xml")
    for url in news_urls + plain_urls:
        site.static(url.removeprefix(site.base), article_html(url.rsplit("/", 2)[-2] + " story"))
    sink, _ = await run(sources({"id": "sm", "kind": "sitemap", "url": site.url("/sitemap.xml")}), options)
    records = {r["url"]: r for r in raw(sink)}
    assert set(records) == set(news_urls + plain_urls) and not errors(sink)
    news = records[news_urls[1]]
    assert news["title"] == "Sitemap story 1" and news["published_at"] == "2026-03-03T10:01:00Z"
    assert news["meta"]["sitemap"]["news"]["keyword_list"] == ["harbour", "council"]
    assert news["meta"]["sitemap"]["news"]["publication_name"] == "Harbourton Gazette"
    assert news["meta"]["sitemap_url"] == site.url("/news.xml.gz")
    # a second poll: the index is unchanged (304), so no child sitemap is requested again
    await run(sources({"id": "sm", "kind": "sitemap", "url": site.url("/sitemap.xml")}), options, sink)
    assert len(site.hits("/news.xml.gz")) == 1 and len(raw(sink)) == 4


async def test_gzip_bomb_is_refused(site: Site, options: FetchOptions) -> None:
    site.static("/robots.txt", "", "text/plain")
    site.static("/bomb.xml.gz", gz(urlset([site.url("/x")]) + " " * 3_000_000), "application/x-gzip")
    sink, _ = await run(sources({"id": "sm", "kind": "sitemap", "url": site.url("/bomb.xml.gz")}),
                        options.replace(max_listing_bytes=1_000_000))
    assert [e["class"] for e in errors(sink)] == ["too_large"]


async def test_text_sitemap_json_feed_and_atom(site: Site, options: FetchOptions) -> None:
    site.static("/robots.txt", "", "text/plain")
    site.static("/sitemap.txt", f"{site.url('/t/1')}\n\n{site.url('/t/2')}\n", "text/plain")
    site.static("/feed.json", '{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": ['
                f'{{"id": "1", "url": "{site.url("/j/1")}", "title": "Json one", "content_html": "<p>x</p>",'
                '"date_published": "2026-03-03T08:00:00+01:00", "authors": [{"name": "Jo"}],'
                ' "tags": ["a"]}]}',
                "application/feed+json")
    site.static("/atom.xml",
                '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f'<title>A</title><entry><title>Atom one</title><link href="{site.url("/a/1")}"/>'
                "<id>urn:x</id>"
                "<updated>2026-03-03T09:00:00Z</updated><author><name>Al</name></author></entry></feed>",
                "application/atom+xml")
    for path in ("/t/1", "/t/2", "/j/1", "/a/1"):
        site.static(path, article_html(path))
    sink, _ = await run(sources({"id": "txt", "kind": "sitemap", "url": site.url("/sitemap.txt")},
                                {"id": "json", "kind": "feed", "url": site.url("/feed.json")},
                                {"id": "atom", "kind": "feed", "url": site.url("/atom.xml")}), options)
    by_source: dict[str, list[dict[str, Any]]] = {}
    for record in raw(sink):
        by_source.setdefault(record["source"], []).append(record)
    assert sorted(r["url"] for r in by_source["txt"]) == [site.url("/t/1"), site.url("/t/2")]
    [json_record] = by_source["json"]
    assert json_record["title"] == "Json one" and json_record["published_at"] == "2026-03-03T07:00:00Z"
    assert json_record["meta"]["feed"]["authors"] == ["Jo"]
    assert json_record["meta"]["listing"]["format"] == "json1.1"
    [atom] = by_source["atom"]
    assert atom["title"] == "Atom one" and atom["published_at"] == "2026-03-03T09:00:00Z"


async def test_page_too_large_is_refused_not_truncated(site: Site) -> None:
    site.static("/robots.txt", "", "text/plain")
    site.static("/big", article_html("Big", paragraphs=2000))
    sink, _ = await run(sources({"id": "p", "kind": "page", "url": site.url("/big")}),
                        fast_options(max_body_bytes=50_000))
    [error] = errors(sink)
    assert error["class"] == "too_large" and not raw(sink)


async def test_private_targets_are_refused_unless_allowed(site: Site) -> None:
    news_site(site, 1)
    sink, _ = await run(sources({"id": "s", "kind": "feed", "url": site.url("/feed.xml")}),
                        fast_options(allow_networks=""))
    [error] = errors(sink)
    assert error["class"] == "unsafe_target" and not site.log
    sink, _ = await run(sources({"id": "s", "kind": "feed", "url": f"http://localhost:{site.port}/feed.xml"}),
                        fast_options(allow_networks="10.0.0.0/8"))
    assert [e["class"] for e in errors(sink)] == ["unsafe_target"] and not site.log


async def test_feed_entries_without_fetching_pages(site: Site, options: FetchOptions) -> None:
    urls = news_site(site, 2)
    sink, _ = await run(sources({"id": "s", "kind": "feed", "url": site.url("/feed.xml"),
                                 "fetch_pages": False,
                                 "meta": {"country": "xx"}}), options)
    records = raw(sink)
    assert sorted(r["url"] for r in records) == urls and not site.hits("/articles/0")
    assert records[0]["body"].startswith("<p>Full text") and records[0]["meta"]["body_from"] == "feed:content"
    assert records[0]["meta"]["fetch"]["requested_url"] == site.url("/feed.xml")
    assert records[0]["meta"]["source_meta"] == {"country": "xx"}


async def test_page_source_is_revisited_conditionally(site: Site, options: FetchOptions) -> None:
    site.static("/robots.txt", "", "text/plain")
    site.static("/live", article_html("Live v1"))
    specs = sources({"id": "live", "kind": "page", "url": site.url("/live")})
    sink, _ = await run(specs, options)
    await run(specs, options, sink)
    assert site.hits("/live")[-1].if_none_match and len(raw(sink)) == 1
    site.static("/live", article_html("Live v2"))
    await run(specs, options, sink)
    assert [r["revision"] for r in raw(sink)] == [0, 1]


async def test_warc_file_source_and_resume(tmp_path: Path, options: FetchOptions) -> None:
    captures = [(f"https://news.example/story/{n}?utm_source=x",
                 article_html(f"Archived {n}")) for n in range(5)]
    captures.append(("https://news.example/story/1", article_html("Archived 1")))  # a duplicate capture
    (tmp_path / "crawl.warc.gz").write_bytes(warc_bytes(captures))
    specs = sources({"id": "cc", "kind": "warc", "path": str(tmp_path / "*.warc.gz")})
    sink, report = await run(specs, options)
    records = raw(sink)
    assert sorted(r["url"] for r in records) == [f"https://news.example/story/{n}" for n in range(5)]
    assert records[0]["meta"]["warc"]["record_type"] == "response" and records[0]["fetched_at"]
    assert report.skipped["unchanged_content"] == 1 and report.skipped["warc_request"] == 6
    await run(specs, options, sink)
    assert len(raw(sink)) == 5  # unchanged file: skipped


async def test_served_warc_and_local_folder(site: Site, tmp_path: Path, options: FetchOptions) -> None:
    (tmp_path / "a.html").write_text(article_html("Local file"), encoding="utf-8")
    (tmp_path / "b.txt").write_bytes("caf\xe9".encode("latin-1") * 10)
    sink, _ = await run(sources({"id": "drop", "kind": "files", "path": str(tmp_path)}), options)
    assert [r["url"] for r in raw(sink)] == [(tmp_path / "a.html").as_uri()]
    assert [e["class"] for e in errors(sink)] == ["bad_encoding"]


async def test_pending_pages_survive_a_stopped_run(site: Site, options: FetchOptions) -> None:
    urls = news_site(site, 6)
    for n in range(6):
        site.slow(f"/articles/{n}", 0.3, article_html(f"Story {n}"))
    specs = sources({"id": "s", "kind": "feed", "url": site.url("/feed.xml")})
    sink = MemorySink()
    fetcher = Fetcher(specs, options.replace(page_concurrency=1), sink, sink.load_state())
    import asyncio

    stop = asyncio.Event()
    task = asyncio.create_task(fetcher.run(once=True, stop=stop))
    deadline = time.monotonic() + 10
    while len(raw(sink)) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await task
    done = {r["url"] for r in raw(sink)}
    assert 2 <= len(done) < 6
    await run(specs, options, sink)  # a new fetcher on the same state finishes the job
    assert sorted(r["url"] for r in raw(sink)) == sorted(urls)


async def test_warc_served_over_http_is_downloaded_and_polled_conditionally(site: Site,
                                                                            options: FetchOptions) -> None:
    site.static("/robots.txt", "", "text/plain")
    captures = [(f"https://news.example/a/{n}", article_html(f"Served {n}")) for n in range(3)]
    site.static("/crawl.warc.gz", warc_bytes(captures), "application/warc")
    specs = sources({"id": "ccw", "kind": "warc", "url": site.url("/crawl.warc.gz")})
    sink, _ = await run(specs, options)
    assert sorted(r["url"] for r in raw(sink)) == [u for u, _ in captures] and not errors(sink)
    assert raw(sink)[0]["meta"]["warc"]["file"].endswith(".warc.gz")
    await run(specs, options, sink)
    assert site.hits("/crawl.warc.gz")[-1].if_none_match and len(raw(sink)) == 3


async def test_hosts_are_fetched_in_parallel_each_at_its_pace(site: Site) -> None:
    other = await Site(host="127.0.0.2").start()
    try:
        for host_site in (site, other):
            host_site.static("/robots.txt", "", "text/plain")
            host_site.static("/feed.xml", rss([{"title": f"S{n}", "link": host_site.url(f"/p/{n}")}
                                               for n in range(5)]), "application/rss+xml")
            for n in range(5):
                host_site.static(f"/p/{n}", article_html(f"S{n}"))
        specs = sources({"id": "one", "kind": "feed", "url": site.url("/feed.xml")},
                        {"id": "two", "kind": "feed", "url": other.url("/feed.xml")})
        sink, _ = await run(specs, fast_options(host_delay_s=0.15, host_concurrency=1, page_concurrency=8))
        assert len(raw(sink)) == 10
        one = [h.at for h in site.log if h.path.startswith("/p/")]
        two = [h.at for h in other.log if h.path.startswith("/p/")]
        assert min(two) < max(one) and min(one) < max(two)  # interleaved, no head-of-line blocking
        for starts in (one, two):
            gaps = [b - a for a, b in itertools.pairwise(sorted(starts))]
            assert min(gaps) >= 0.12, gaps
    finally:
        await other.stop()


async def test_running_forever_polls_when_due_and_stops_promptly(site: Site, options: FetchOptions) -> None:
    import asyncio

    news_site(site, 2)
    specs = sources({"id": "s", "kind": "feed", "url": site.url("/feed.xml"), "interval": "1s",
                     "max_interval": "1s"})
    sink = MemorySink()
    stop = asyncio.Event()
    fetcher = Fetcher(specs, options, sink, sink.load_state())
    task = asyncio.create_task(fetcher.run(once=False, stop=stop))
    deadline = time.monotonic() + 10
    while len(site.hits("/feed.xml")) < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    stopped = time.monotonic()
    report = await asyncio.wait_for(task, timeout=5)
    assert time.monotonic() - stopped < 1.0
    polls = site.hits("/feed.xml")
    assert len(polls) >= 3 and all(p.if_none_match for p in polls[1:])
    assert 0.8 <= polls[2].at - polls[1].at <= 1.5  # the interval, with jitter
    assert report.published == 2 and report.not_modified >= 2


async def test_cli_dry_run_prints_records_and_needs_no_kafka(site: Site, tmp_path: Path) -> None:
    import asyncio

    import orjson
    import yaml
    from click.testing import CliRunner

    from services.fetcher.cli import _standalone

    urls = news_site(site, 2)
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"fetcher": {"allow_networks": "127.0.0.0/8", "host_delay": 0},
                                    "sources": [{"id": "g", "kind": "feed", "url": site.url("/feed.xml")}]}))
    result = await asyncio.to_thread(
        CliRunner().invoke, _standalone, ["fetch", "--sources", str(path), "--once", "--dry-run"],
        env={"NEWSFLOW_KAFKA": "127.0.0.1:9"})  # nothing listens there: the dry run must not need it
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert sorted(line["value"]["url"] for line in lines if line["topic"] == "news.raw") == urls
    assert "fetch summary" in result.stderr
