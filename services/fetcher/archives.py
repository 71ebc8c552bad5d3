"""Local files, folders and WARC archives (on disk or on a web server) as sources.

Why batches with offsets: an archive of 100 000 captures is committed every BATCH records with
the offset to resume from, so a restart continues where the last commit left off and the
per-article state keeps a re-read capture from being published twice.
"""

from __future__ import annotations

import asyncio
import glob
import os
import tempfile
from pathlib import Path
from typing import Any

from services.fetcher.core import FetcherCore
from services.fetcher.errors import FetchFailure
from services.fetcher.files import DocumentReader, expand_paths
from services.fetcher.pages import PageDocument, build_page, content_hash
from services.fetcher.politeness.scheduler import ResourceClass
from services.fetcher.sources import Source
from services.fetcher.state import FileState, ResourceState, Updates, url_key
from services.fetcher.warc import WarcCounts, is_warc, iter_warc
from services.kafka.topics import DLQ
from services.outcomes import Outcome
from services.records import now_iso

BATCH = 200  # records per transaction when reading files and archives
# news.dlq reasons of DocumentReader → fetch error classes
_DLQ_CLASS = {"too_large": "too_large", "bad_encoding": "bad_encoding", "unreadable": "unreadable",
              "binary": "unsupported_type", "invalid_json": "unsupported_type",
              "schema_violation": "unsupported_type"}


class ArchivePolls(FetcherCore):
    """Local files and folders, and WARC archives on disk or on a web server."""

    async def _poll_files(self, source: Source) -> None:
        assert source.path is not None
        status = self.state.source(source.id)
        status.polls += 1
        status.last_poll_at = now_iso()
        self.report.source(source.id).polls += 1
        published_before = self.report.source(source.id).published
        paths = _expand(source.path)
        if not paths:
            failure = FetchFailure("unreadable", f"no file matches {source.path}", url=source.path)
            updates = Updates()
            updates.put(status)
            await self._commit([self._failure(source, failure, resource=source.kind, url=source.path)],
                               updates)
        reader = DocumentReader(self.options.max_body_bytes, self.options.max_body_bytes, source=source.id)
        for path in paths:
            if self._stop.is_set():
                return
            try:
                stat = path.stat()
            except OSError:
                continue
            key = f"{source.id}:{path}"
            known = self.state.files.get(key)
            if known and known.done and known.size == stat.st_size and known.mtime_ns == stat.st_mtime_ns:
                self.report.skipped["file_unchanged"] += 1
                continue
            fresh = FileState(str(path), source.id, stat.st_size, stat.st_mtime_ns)
            if is_warc(path):
                resume = known.offset if known and not known.done and known.size == stat.st_size else 0
                await self._read_warc(source, path, fresh, resume)
            else:
                await self._read_file(source, reader, path, fresh)
        outcome = "new" if self.report.source(source.id).published > published_before else "unchanged"
        self._reschedule(source, outcome)
        updates = Updates()
        updates.put(status)
        await self._commit([], updates)

    async def _poll_warc_url(self, source: Source) -> None:
        """An archive on a web server: downloaded (conditionally) to a temporary file, then read.

        The validators are stored only once the archive is read to its end, so an interrupted
        run downloads it again and resumes at the stored record offset.
        """
        assert source.url is not None and self.retriever is not None
        status = self.state.source(source.id)
        status.polls += 1
        status.last_poll_at = now_iso()
        self.report.source(source.id).polls += 1
        published_before = self.report.source(source.id).published
        resource = self.state.resource(source.url, source.id)
        suffix = ".warc.gz" if source.url.lower().split("?")[0].endswith("gz") else ".warc"
        outcomes: list[Outcome] = []
        updates = Updates()
        with tempfile.NamedTemporaryFile(suffix=suffix, dir=self.options.download_dir or None) as handle:
            self.report.requests += 1
            if resource.validators:
                status.conditional_requests += 1
                self.report.conditional_requests += 1
            try:
                result = await self.retriever.fetch(
                    source.url, ResourceClass.LISTING, max_bytes=self.options.max_archive_bytes,
                    validators=resource.validators, into=handle)
            except FetchFailure as failure:
                status.last_http_status = failure.status
                outcomes.append(self._failure(source, failure, resource="warc", url=source.url))
                self._reschedule(source, "failed", retry_after_s=failure.retry_after)
                updates.put(status)
                await self._commit(outcomes, updates)
                return
            status.last_http_status = result.status
            if result.not_modified:
                status.not_modified += 1
                self.report.not_modified += 1
            else:
                handle.flush()
                size = os.fstat(handle.fileno()).st_size
                key = f"{source.id}:{source.url}"
                known = self.state.files.get(key)
                resume = known.offset if known and not known.done and known.size == size else 0
                fresh = FileState(source.url, source.id, size, None)
                await self._read_warc(source, Path(handle.name), fresh, resume)
                if fresh.done:
                    done = ResourceState(url=source.url, source=source.id, etag=result.validators.etag,
                                         last_modified=result.validators.last_modified,
                                         checked_at=result.fetched_at,
                                         format="warc")
                    self.state.resources[url_key(source.url)] = done
                    updates.put(done)
        outcome = "new" if self.report.source(source.id).published > published_before else "unchanged"
        self._reschedule(source, outcome)
        updates.put(status)
        await self._commit(outcomes, updates)

    async def _read_file(self, source: Source, reader: DocumentReader, path: Path, fresh: FileState) -> None:
        produced = await asyncio.to_thread(lambda: list(reader.read_file(path)))
        for start in range(0, max(1, len(produced)), BATCH):
            outcomes: list[Outcome] = []
            updates = Updates()
            for outcome in produced[start:start + BATCH]:
                if outcome.topic == DLQ:
                    record = outcome.record
                    failure = FetchFailure(_DLQ_CLASS.get(record["reason"], "unreadable"), record["message"],
                                           url=record.get("url"))
                    outcomes.append(self._failure(source, failure, resource="file", url=record.get("url")))
                    continue
                page = _file_document(outcome.record, source)
                published, more = self._settle(source, None, page, None, None)
                outcomes += published
                updates.update(more)
            fresh.records += len(produced[start:start + BATCH])
            last = start + BATCH >= len(produced)
            fresh.done = last
            updates.put(fresh)
            self.state.files[f"{source.id}:{fresh.path}"] = fresh
            await self._commit(outcomes, updates)

    async def _read_warc(self, source: Source, path: Path, fresh: FileState, resume: int) -> None:
        """An archive in batches; each batch commits with the offset to resume from."""
        counts = WarcCounts()
        iterator = iter_warc(path, max_bytes=self.options.max_body_bytes, start_offset=resume, counts=counts)
        fresh.offset = resume
        while True:
            try:
                items = await asyncio.to_thread(_take, iterator, BATCH)
            except FetchFailure as failure:
                items, fresh.done = [], True
                failure.url = failure.url or str(path)
                updates = Updates()
                updates.put(fresh)
                await self._commit([self._failure(source, failure, resource="warc", url=str(path))], updates)
                return
            outcomes: list[Outcome] = []
            updates = Updates()
            for item in items:
                if item.failure is not None:
                    outcomes.append(self._failure(source, item.failure, resource="warc",
                                                  url=item.failure.url))
                    continue
                assert item.result is not None
                try:
                    page = build_page(item.result, source=source.id, source_meta=source.meta or None)
                except FetchFailure as failure:
                    if failure.kind == "unsupported_type":
                        self.report.skipped["warc_not_html"] += 1
                    else:
                        outcomes.append(self._failure(source, failure, resource="warc",
                                                      url=item.result.final_url))
                    continue
                page.record["meta"]["warc"] = item.warc
                published, more = self._settle(source, None, page, None, None)
                outcomes += published
                updates.update(more)
            fresh.records += len(items)
            if items:
                fresh.offset = items[-1].offset
            fresh.done = len(items) < BATCH
            if fresh.done:
                for why, count in counts.skipped.items():
                    self.report.skipped[f"warc_{why}"] += count
            updates.put(fresh)
            self.state.files[f"{source.id}:{fresh.path}"] = fresh
            await self._commit(outcomes, updates)
            if fresh.done or self._stop.is_set():
                return


def _take(iterator: Any, count: int) -> list[Any]:
    out = []
    for item in iterator:
        out.append(item)
        if len(out) >= count:
            break
    return out


def _expand(pattern: str) -> list[Path]:
    matches = sorted(glob.glob(pattern, recursive=True)) if any(c in pattern for c in "*?[") else [pattern]
    paths: list[Path] = []
    for match in matches:
        path = Path(match)
        if path.is_dir():
            paths += [p for p in sorted(path.rglob("*")) if p.is_file() and is_warc(p)]
        paths += [p for p in expand_paths([path]) if p.is_file()] if path.exists() else []
    seen: set[Path] = set()
    return [p for p in paths if not (p in seen or seen.add(p))]


def _file_document(record: dict[str, Any], source: Source) -> PageDocument:
    if source.meta:
        record.setdefault("meta", {})["source_meta"] = source.meta
    return PageDocument(record["id"], record["url"], record, content_hash(record["body"], record["kind"]))
