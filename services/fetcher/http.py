"""One HTTP request, one hop: status, headers and a body read up to a limit.

Why no automatic redirects here: every hop must pass the address policy, robots.txt and the
target host's gate (retrieve.py walks the chain). Why read in chunks: a body over the limit is
refused (`too_large`) as soon as the limit is crossed, and because aiohttp decompresses
Content-Encoding on the fly, the limit also caps decompressed size (gzip bombs).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import aiohttp
from aiohttp import DummyCookieJar

from services.fetcher.addresses import AddressPolicy, GuardedResolver, UnsafeTargetError
from services.fetcher.errors import FetchFailure


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes
    elapsed_s: float

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class HttpClient:
    """An aiohttp session with the guarded resolver, an identifying User-Agent and no cookie jar."""

    def __init__(self, *, user_agent: str, policy: AddressPolicy, timeout_s: float = 30.0,
                 connect_timeout_s: float = 10.0, connections: int = 100) -> None:
        self.user_agent = user_agent
        self.policy = policy
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpClient:
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.policy), limit=self.connections,
                                         ttl_dns_cache=300, enable_cleanup_closed=True)
        self._session = aiohttp.ClientSession(
            connector=connector, cookie_jar=DummyCookieJar(), auto_decompress=True,
            headers={"User-Agent": self.user_agent}, raise_for_status=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, url: str, *, headers: dict[str, str] | None = None, max_bytes: int,
                  timeout_s: float | None = None, into: BinaryIO | None = None) -> Response:
        """GET `url` without following redirects; raise FetchFailure for anything but a response.

        With `into`, a 2xx body is streamed to that file (large archives) instead of memory, and
        only the time between two reads is limited, not the whole download.
        """
        assert self._session is not None, "use `async with HttpClient(...)`"
        host = urlsplit(url).hostname or ""
        try:
            self.policy.check_host(host)
        except UnsafeTargetError as exc:
            raise FetchFailure("unsafe_target", str(exc), url=url) from exc
        total = timeout_s or self.timeout_s
        timeout = aiohttp.ClientTimeout(total=None if into is not None else total,
                                        connect=self.connect_timeout_s,
                                        sock_read=total)
        started = time.monotonic()
        try:
            async with self._session.get(url, headers=headers or {}, allow_redirects=False,
                                         timeout=timeout) as resp:
                declared = resp.content_length
                if declared is not None and declared > max_bytes and "content-encoding" not in resp.headers:
                    raise FetchFailure("too_large",
                                       f"Content-Length {declared} is over the limit of {max_bytes}",
                                       url=url, status=resp.status, detail={"limit": max_bytes})
                body = bytearray()
                streamed = 0
                to_file = into is not None and 200 <= resp.status < 300
                async for chunk in resp.content.iter_chunked(65536):
                    if to_file:
                        into.write(chunk)  # type: ignore[union-attr]
                        streamed += len(chunk)
                    else:
                        body += chunk
                    if len(body) + streamed > max_bytes:
                        raise FetchFailure("too_large", f"body is over the limit of {max_bytes} bytes",
                                           url=url, status=resp.status, detail={"limit": max_bytes})
                headers_out: dict[str, str] = {}
                for name, value in resp.headers.items():
                    key = name.lower()
                    headers_out[key] = f"{headers_out[key]}, {value}" if key in headers_out else value
                return Response(url, resp.status, headers_out, bytes(body), time.monotonic() - started)
        except FetchFailure:
            raise
        except Exception as exc:
            raise classify_exception(exc, url) from exc


def classify_exception(exc: BaseException, url: str) -> FetchFailure:
    """aiohttp / OS exceptions → dns, timeout, connection, tls, unsafe_target."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error: Any = getattr(exc, "os_error", None)
        if isinstance(os_error, UnsafeTargetError):
            return FetchFailure("unsafe_target", str(os_error), url=url)
        if isinstance(exc, aiohttp.ClientConnectorDNSError):
            return FetchFailure("dns", f"name resolution failed: {os_error or exc}", url=url)
        if isinstance(exc, aiohttp.ClientSSLError):
            return FetchFailure("tls", f"TLS failed: {exc}", url=url)
        return FetchFailure("connection", f"cannot connect: {os_error or exc}", url=url)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return FetchFailure("timeout", f"no complete response in time ({type(exc).__name__})", url=url)
    if isinstance(exc, ssl.SSLError):
        return FetchFailure("tls", f"TLS failed: {exc}", url=url)
    if isinstance(exc, aiohttp.InvalidURL | ValueError):
        return FetchFailure("redirects", f"invalid URL: {exc}", url=url)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return FetchFailure("connection", f"broken response body: {exc}", url=url)
    if isinstance(exc, aiohttp.ClientError | OSError):
        return FetchFailure("connection", f"{type(exc).__name__}: {exc}", url=url)
    return FetchFailure("connection", f"unexpected {type(exc).__name__}: {exc}", url=url)
