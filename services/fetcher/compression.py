"""Gzip with a ceiling: `.xml.gz` sitemaps and `.warc.gz` members are decompressed here.

Why a ceiling: a 50 KB gzip bomb expands to gigabytes; the limit refuses it with
`too_large` after reading at most `limit + 1` decompressed bytes.
"""

from __future__ import annotations

import zlib

from services.fetcher.errors import FetchFailure

GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(data: bytes) -> bool:
    return data[:2] == GZIP_MAGIC


def gunzip_capped(data: bytes, limit: int, url: str | None = None) -> bytes:
    """Decompress (possibly multi-member) gzip data, refusing more than `limit` output bytes."""
    out = bytearray()
    remaining = data
    while remaining:
        inflater = zlib.decompressobj(wbits=31)
        try:
            # at most limit + 1 bytes: reaching them proves the data is over the limit
            chunk = inflater.decompress(remaining, limit + 1 - len(out))
        except zlib.error as exc:
            raise FetchFailure("unreadable", f"not valid gzip data: {exc}", url=url) from exc
        out += chunk
        if len(out) > limit or inflater.unconsumed_tail:
            raise FetchFailure(
                "too_large", f"gzip data expands beyond the limit of {limit} bytes", url=url,
                detail={"compressed_bytes": len(data), "limit": limit},
            )
        if not inflater.eof:
            raise FetchFailure("unreadable", "truncated gzip data", url=url)
        remaining = inflater.unused_data.lstrip(b"\x00")
        if remaining and not is_gzip(remaining):
            break  # trailing garbage after the last member is ignored, as gzip(1) does
    return bytes(out)
