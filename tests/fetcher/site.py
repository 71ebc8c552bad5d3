"""A small news site on loopback for fetcher tests: feeds, sitemaps, pages and misbehaviour.

Everything it serves is written here (no publisher's content). Each route is a plain function;
`Site.log` records every request (path, host, conditional headers, time) so tests can assert
what the fetcher asked for, e.g. that a second poll is conditional and that a host is paced.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

LAST_MODIFIED = formatdate(1767225600, usegmt=True)  # 2026-01-01


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class Hit:
    path: str
    host: str
    at: float
    if_none_match: str | None
    if_modified_since: str | None
    user_agent: str | None


@dataclass
class Site:
    host: str = "127.0.0.1"
    port: int = 0
    routes: dict[str, Handler] = field(default_factory=dict)
    log: list[Hit] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> list[Hit]:
        return [h for h in self.log if h.path == path]

    # -- routes ----------------------------------------------------------------------------------

    def static(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8",
               validators: bool = True, headers: dict[str, str] | None = None) -> None:
        """A document with ETag and Last-Modified that answers conditional requests with 304."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'

        async def handler(request: web.Request) -> web.StreamResponse:
            extra = dict(headers or {})
            if validators:
                extra.update({"ETag": etag, "Last-Modified": LAST_MODIFIED})
                if request.headers.get("If-None-Match") == etag:
                    return web.Response(status=304, headers=extra)
            return web.Response(body=data, headers={"Content-Type": content_type, **extra})

        self.routes[path] = handler

    def sequence(self, path: str, *responses: Callable[[], web.StreamResponse]) -> None:
        """Answer the n-th request with the n-th response (the last one repeats)."""

        async def handler(request: web.Request) -> web.StreamResponse:
            n = self.counts.get(path, 1) - 1
            return responses[min(n, len(responses) - 1)]()

        self.routes[path] = handler

    def redirect(self, path: str, target: str, status: int = 301) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": target})

        self.routes[path] = handler

    def slow(self, path: str, seconds: float, body: str = "<html><body>late</body></html>") -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            await asyncio.sleep(seconds)
            return web.Response(text=body, content_type="text/html")

        self.routes[path] = handler

    # -- serving ---------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path_qs if request.path_qs in self.routes else request.path
        self.counts[path] = self.counts.get(path, 0) + 1
        self.log.append(Hit(path, request.host.split(":")[0], time.monotonic(),
                            request.headers.get("If-None-Match"),
                            request.headers.get("If-Modified-Since"), request.headers.get("User-Agent")))
        handler = self.routes.get(path)
        if handler is None:
            return web.Response(status=404, text="not found")
        return await handler(request)

    async def start(self) -> Site:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._dispatch)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        if not self.port:
            self.port = free_port(self.host)
        await web.TCPSite(self.runner, self.host, self.port).start()
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


# -- documents --------------------------------------------------------------------------------------


def article_html(title: str, paragraphs: int = 3, canonical: str | None = None, charset: str = "utf-8",
                 extra_head: str = "") -> str:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    body = "".join(
        f"<p>{title}: paragraph {i} of a report about the harbour, the council and the weather.</p>"
        for i in range(paragraphs))
    return (f'<!doctype html><html><head><meta charset="{charset}"><title>{title}</title>{link}{extra_head}'
            f"</head><body><article><h1>{title}</h1>{body}</article></body></html>")


def rss(items: list[dict[str, Any]], title: str = "Harbourton Gazette", ttl: int | None = None) -> str:
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/">',
           f"<channel><title>{title}</title><link>http://gazette.test/</link><language>en</language>"]
    if ttl:
        out.append(f"<ttl>{ttl}</ttl>")
    for item in items:
        out.append("<item>")
        out.append(f"<title>{item['title']}</title><link>{item['link']}</link>")
        out.append(f"<guid isPermaLink=\"false\">{item.get('guid', item['link'])}</guid>")
        out.append(f"<pubDate>{item.get('date', 'Tue, 03 Mar 2026 10:00:00 GMT')}</pubDate>")
        out.append(f"<description>{item.get('summary', 'A short summary.')}</description>")
        if item.get("content"):
            out.append(f"<content:encoded><![CDATA[{item['content']}]]></content:encoded>")
        out.append(f"<dc:creator>{item.get('author', 'Ada Reporter')}</dc:creator>")
        for category in item.get("categories", ["Local"]):
            out.append(f"<category>{category}</category>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out)


def urlset(urls: list[str], news: bool = False) -> str:
    ns = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"' if news else ""
    out = [f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"{ns}>']
    for n, url in enumerate(urls):
        out.append(f"<url><loc>{url}</loc><lastmod>2026-03-0{1 + n % 8}</lastmod>")
        if news:
            out.append("<news:news><news:publication><news:name>Harbourton Gazette</news:name>"
                       "<news:language>en</news:language></news:publication>"
                       f"<news:publication_date>2026-03-03T10:0{n % 10}:00Z</news:publication_date>"
                       f"<news:title>Sitemap story {n}</news:title>"
                       "<news:keywords>harbour, council</news:keywords>"
                       "</news:news>")
        out.append("</url>")
    out.append("</urlset>")
    return "".join(out)


def sitemap_index(urls: list[str]) -> str:
    children = "".join(f"<sitemap><loc>{u}</loc><lastmod>2026-03-03</lastmod></sitemap>" for u in urls)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{children}</sitemapindex>')


def gz(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"))


def warc_bytes(captures: list[tuple[str, str]], gzipped: bool = True) -> bytes:
    """A WARC with a warcinfo record, and a request + response record per (url, html) capture."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzipped)
    writer.write_record(writer.create_warcinfo_record("test.warc.gz", {"software": "newsflow tests"}))
    for url, html in captures:
        payload = html.encode("utf-8")
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                           ("Content-Length", str(len(payload)))], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "request",
                                                      payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")))
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(payload),
                                                      http_headers=http))
    return out.getvalue()
