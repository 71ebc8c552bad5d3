"""Local files and folders → raw records (`newsflow ingest`, `newsflow process`).

Supported: `.txt` (plain text), `.html`/`.htm`, `.json` (one record or a list) and `.jsonl`
(one record per line) with `url`, `title`, `text` or `html`, `published_at`. A file's `url`
is its `file://` URI. WARC/ARC archives (`.warc`, `.warc.gz`, `.arc.gz`, e.g. CC-NEWS) yield one
record per HTML capture, with the captured URL. What cannot become a raw record — binary, bad
encoding, too large, invalid JSON, a record without text — becomes a dead letter here, with the
original bytes.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from services.kafka.topics import RAW
from services.outcomes import Outcome, dead_letter
from services.records import SCHEMA_VERSION, RawArticle, now_iso, stable_id

TEXT_SUFFIXES = {".txt", ".text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSON_SUFFIXES = {".json"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES | JSONL_SUFFIXES

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f]")


class DocumentReader:
    """Turns paths (files, folders, `-` for stdin) into raw-record or dead-letter outcomes."""

    def __init__(self, max_body_bytes: int, max_payload_bytes: int, source: str = "file",
                 progress: Callable[[int], None] | None = None) -> None:
        self.max_body_bytes = max_body_bytes
        # A dead letter carries the original bytes; beyond this they are cut and hashed.
        self.max_payload_bytes = max_payload_bytes
        self.source = source
        self.progress = progress  # called with the number of input bytes just consumed

    def read(self, paths: Iterable[str | Path]) -> Iterator[Outcome]:
        for path in expand_paths(paths):
            if path == Path("-"):
                yield from self.read_bytes(sys.stdin.buffer.read(), url=None, suffix=None)
            elif is_warc(path):
                yield from self.read_warc(path)
            else:
                yield from self.read_file(path)
                if self.progress is not None:
                    self.progress(_size(path))

    def read_warc(self, path: Path) -> Iterator[Outcome]:
        """One raw record per HTML/text capture; oversized or unreadable records become dead letters."""
        from services.fetcher.errors import FetchFailure
        from services.fetcher.pages import build_page
        from services.fetcher.warc import iter_warc

        consumed = 0
        try:
            for item in iter_warc(path, max_bytes=self.max_body_bytes):
                if self.progress is not None:
                    self.progress(item.end - consumed)
                consumed = item.end
                if item.failure is not None:
                    yield self._refuse(item.failure.url, b"", item.failure.kind, item.failure.message)
                    continue
                assert item.result is not None
                try:
                    page = build_page(item.result, source=self.source)
                except FetchFailure as failure:
                    if failure.kind != "unsupported_type":  # images, PDFs, … are not articles: skipped
                        yield self._refuse(item.result.final_url, item.result.body, failure.kind,
                                           failure.message)
                    continue
                page.record["meta"]["warc"] = item.warc
                yield self._raw_outcome(page.record)  # type: ignore[arg-type]
        except FetchFailure as failure:
            yield self._refuse(path.resolve().as_uri(), b"", "unreadable", failure.message)
        if self.progress is not None:
            self.progress(max(0, _size(path) - consumed))

    def read_file(self, path: Path) -> Iterator[Outcome]:
        url = path.resolve().as_uri()
        try:
            size = path.stat().st_size
            if size > self.max_body_bytes:
                with path.open("rb") as handle:
                    data = handle.read(self.max_payload_bytes)
                yield self._refuse(
                    url, data, "too_large",
                    f"{size} bytes is over the limit of {self.max_body_bytes} "
                    "(NEWSFLOW_MAX_BODY_BYTES)",
                    total=size,
                )
                return
            data = path.read_bytes()
        except OSError as exc:
            yield self._refuse(url, b"", "unreadable", f"{type(exc).__name__}: {exc}",
                               error=type(exc).__name__)
            return
        yield from self.read_bytes(data, url=url, suffix=path.suffix.lower())

    def read_bytes(self, data: bytes, url: str | None, suffix: str | None) -> Iterator[Outcome]:
        if len(data) > self.max_body_bytes:
            yield self._refuse(
                url, data, "too_large", f"{len(data)} bytes is over the limit of {self.max_body_bytes}"
            )
            return
        if suffix is None:  # stdin: JSON lines if it looks like them, else one text document
            suffix = ".jsonl" if data.lstrip()[:1] == b"{" else ".txt"
        if suffix in JSONL_SUFFIXES:
            for number, line in enumerate(data.splitlines(), start=1):
                if line.strip():
                    line_url = f"{url}#L{number}" if url else None
                    yield from self._records_from_json(line, line_url, whole_url=url)
            return
        if suffix in JSON_SUFFIXES:
            yield from self._records_from_json(data, url, whole_url=url)
            return
        kind = "html" if suffix in HTML_SUFFIXES else "text"
        text = self._decode(data, kind, url)
        if isinstance(text, Outcome):
            yield text
            return
        yield self._raw_outcome(self._raw(url, kind, text, data))

    # -- building records -------------------------------------------------------------------

    def _raw(self, url: str | None, kind: str, body: str, data: bytes, **fields: Any) -> RawArticle:
        article_id = stable_id(url, data if not url else None)
        record: RawArticle = {
            "schema_version": SCHEMA_VERSION,
            "id": article_id,
            "url": url or f"urn:newsflow:content:{article_id}",
            "source": self.source,
            "kind": kind,
            "body": body,
            "title": fields.get("title"),
            "published_at": fields.get("published_at"),
            "fetched_at": None,
            "ingested_at": now_iso(),
            "content_type": "text/html" if kind == "html" else "text/plain",
            "meta": fields.get("meta", {}),
        }
        return record

    @staticmethod
    def _raw_outcome(record: RawArticle) -> Outcome:
        return Outcome(RAW, record["id"], dict(record))

    def _records_from_json(self, data: bytes, url: str | None, whole_url: str | None) -> Iterator[Outcome]:
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            yield self._refuse(url, data, "invalid_json", f"not valid JSON: {exc}", error="JSONDecodeError")
            return
        items = doc if isinstance(doc, list) else [doc]
        for index, item in enumerate(items):
            item_url = url if len(items) == 1 else f"{whole_url}#{index}"
            yield self._record_from_object(item, item_url, orjson.dumps(item) if len(items) > 1 else data)

    def _record_from_object(self, item: Any, file_url: str | None, data: bytes) -> Outcome:
        if not isinstance(item, dict):
            return self._refuse(file_url, data, "schema_violation", "a record must be a JSON object")
        html, text = item.get("html"), item.get("text")
        body = html if isinstance(html, str) and html.strip() else text
        if not isinstance(body, str):
            return self._refuse(
                item.get("url") if isinstance(item.get("url"), str) else file_url,
                data, "schema_violation", "record has neither a 'text' nor an 'html' string field",
            )
        url = item.get("url") if isinstance(item.get("url"), str) and item["url"].strip() else None
        kind = "html" if body is html else "text"
        title = item.get("title") if isinstance(item.get("title"), str) else None
        published = item.get("published_at") if isinstance(item.get("published_at"), str) else None
        meta = {k: v for k, v in item.items() if k not in {"url", "title", "text", "html", "published_at"}}
        record = self._raw(url, kind, body, body.encode("utf-8", "surrogatepass"), title=title,
                           published_at=published, meta=meta)
        if not url and file_url:
            record["meta"] = {**meta, "file": file_url}
        return self._raw_outcome(record)

    def _decode(self, data: bytes, kind: str, url: str | None) -> str | Outcome:
        """Strict decoding: UTF-8 (with or without BOM), or the charset an HTML page declares."""
        if b"\x00" in data[:8192] or len(_CONTROL.findall(data[:8192])) > 32:
            return self._refuse(url, data, "binary", "binary content, not a text or HTML document")
        encodings = ["utf-8-sig"]
        if kind == "html":
            declared = _META_CHARSET.search(data[:4096])
            if declared:
                encodings.insert(0, declared.group(1).decode("ascii", "replace"))
        for encoding in encodings:
            try:
                return data.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                continue
        return self._refuse(
            url, data, "bad_encoding",
            "not valid UTF-8 and no usable charset declared; "
            "convert it first, e.g. `iconv -f latin1 -t utf-8`",
            error="UnicodeDecodeError",
        )

    def _refuse(
        self, url: str | None, data: bytes, reason: str, message: str, error: str = "Rejected",
        total: int | None = None,
    ) -> Outcome:
        kept = data[: self.max_payload_bytes]
        article_id = stable_id(url, None if url else data)
        outcome = dead_letter(
            stage="ingest", reason=reason, error=error, message=message, payload=kept,
            article_id=article_id, source=self.source, url=url,
        )
        if total is not None or len(kept) < len(data):
            outcome.record["payload_truncated"] = True
            outcome.record["payload_bytes"] = total if total is not None else len(data)
            outcome.record["payload_sha256"] = hashlib.sha256(data).hexdigest()
        return outcome


def expand_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given; folders walked recursively for supported suffixes, in a stable order."""
    for raw in paths:
        path = Path(raw)
        if str(raw) == "-":
            yield Path("-")
        elif path.is_dir():
            yield from sorted(
                p for p in path.rglob("*")
                if p.is_file() and (p.suffix.lower() in SUPPORTED_SUFFIXES or is_warc(p))
            )
        else:
            yield path


def is_warc(path: Path) -> bool:
    return path.name.lower().endswith((".warc", ".warc.gz", ".arc", ".arc.gz"))


def total_bytes(paths: Iterable[str | Path]) -> int:
    """Input size of everything `read` would read (for a progress bar's ETA); stdin counts 0."""
    return sum(_size(p) for p in expand_paths(paths) if p != Path("-"))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
