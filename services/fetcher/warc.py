"""WARC / WARC.gz / ARC archives (CC-NEWS and the like) → fetch results, one per HTML capture.

Why through `FetchResult`: a WARC response record *is* a past fetch (URL, date, status,
headers, body), so it becomes a raw record by the same code as a live page, with `meta.warc`
saying where it came from. Only `response` and `resource` records with an HTML or text payload
and a 2xx status are documents; requests, revisits, metadata and warcinfo are counted and
skipped. Payloads over the limit are refused (`too_large`); reading stops at `limit + 1` bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from services.fetcher.dates import parse_date
from services.fetcher.errors import FetchFailure
from services.fetcher.retrieve import FetchResult

WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")


def is_warc(path: str | Path) -> bool:
    return str(path).lower().endswith(WARC_SUFFIXES)


@dataclass(slots=True)
class WarcItem:
    """One record worth looking at: a fetch result, or the failure of one (too large, unreadable)."""

    offset: int  # where the record starts (resume point)
    end: int  # bytes of the file read so far (progress)
    result: FetchResult | None = None
    failure: FetchFailure | None = None
    warc: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class WarcCounts:
    records: int = 0
    documents: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


def iter_warc(path: str | Path, *, max_bytes: int, start_offset: int = 0,
              counts: WarcCounts | None = None) -> Iterator[WarcItem]:
    """Documents of one archive file, from `start_offset` (a record boundary) on."""
    counts = counts if counts is not None else WarcCounts()
    with open(path, "rb") as handle:
        if start_offset:
            handle.seek(start_offset)
        yield from _records(handle, str(path), max_bytes, counts)


def _records(handle: BinaryIO, name: str, max_bytes: int, counts: WarcCounts) -> Iterator[WarcItem]:
    iterator = ArchiveIterator(handle, arc2warc=True)
    try:
        for record in iterator:
            counts.records += 1
            if record.rec_type not in ("response", "resource"):
                counts.skip(record.rec_type or "unknown")
                continue
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            if not url.startswith(("http://", "https://")):
                counts.skip("not_http")
                continue
            if record.rec_type == "response" and record.http_headers is not None:
                status = int(record.http_headers.get_statuscode() or 0)
                headers = {k.lower(): v for k, v in record.http_headers.headers}
            else:
                status = 200
                headers = {"content-type": record.rec_headers.get_header("Content-Type") or ""}
            if not 200 <= status < 300:
                counts.skip(f"status_{status // 100}xx")
                continue
            failure: FetchFailure | None = None
            body = b""
            try:  # read the payload before asking for the offset: warcio reads to the end to know it
                body = _read_capped(record.content_stream(), max_bytes + 1)
            except Exception as exc:
                failure = FetchFailure("unreadable", f"WARC record payload unreadable: {exc}", url=url)
            if failure is None and len(body) > max_bytes:
                failure = FetchFailure("too_large", f"payload over the limit of {max_bytes} bytes", url=url,
                                       detail={"limit": max_bytes})
            offset, end = iterator.get_record_offset(), handle.tell()
            warc_meta = {k: v for k, v in {
                "file": os.path.basename(name),
                "offset": offset,
                "record_id": record.rec_headers.get_header("WARC-Record-ID"),
                "date": record.rec_headers.get_header("WARC-Date"),
                "ip_address": record.rec_headers.get_header("WARC-IP-Address"),
                "payload_digest": record.rec_headers.get_header("WARC-Payload-Digest"),
                "truncated": record.rec_headers.get_header("WARC-Truncated"),
                "record_type": record.rec_type,
            }.items() if v is not None}
            if failure is not None:
                yield WarcItem(offset, end, failure=failure, warc=warc_meta)
                continue
            # the payload is already de-chunked and decompressed: drop the headers that said otherwise
            headers.pop("content-encoding", None)
            headers.pop("transfer-encoding", None)
            fetched_at = parse_date(warc_meta.get("date")) or warc_meta.get("date") or ""
            counts.documents += 1
            yield WarcItem(offset, end, result=FetchResult(
                requested_url=url, final_url=url, status=status, headers=headers, body=body,
                fetched_at=fetched_at, elapsed_s=0.0), warc=warc_meta)
    except ArchiveLoadFailed as exc:
        raise FetchFailure("unreadable", f"{name}: not a readable WARC/ARC file: {exc}") from exc


def _read_capped(stream: Any, limit: int) -> bytes:
    """Read up to `limit` bytes in blocks (warcio's readers mishandle one large read)."""
    out = bytearray()
    while len(out) < limit:
        block = stream.read(min(65536, limit - len(out)))
        if not block:
            break
        out += block
    return bytes(out)
