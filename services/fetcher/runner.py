"""The fetcher: poll sources when due, fetch the article pages they list, publish what is new.

Why this shape: listings (feeds, sitemaps) are polled by a scheduler with adaptive intervals;
the article pages they reveal become *pending* documents, written to the state topic together
with the listing's validators, then fetched through a per-host frontier and per-host gates.
A page is published together with its "published" state in one transaction. So a fetcher
killed at any point restarts with its pending work intact and nothing published twice.
State is applied in memory at once (before the commit), so concurrent work never races on it;
a failed commit stops the fetcher. The kinds of polls live in listings.py, pagework.py and
archives.py; what they share in core.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from services.fetcher.archives import ArchivePolls
from services.fetcher.core import CommitFailed, FetcherCore, PageJob, log
from services.fetcher.http import HttpClient
from services.fetcher.listings import ListingPolls
from services.fetcher.pagework import PageWork
from services.fetcher.report import FetchReport
from services.fetcher.retrieve import Retriever
from services.fetcher.sources import Source

__all__ = ["CommitFailed", "Fetcher", "FetcherCore", "PageJob"]


class Fetcher(ListingPolls, PageWork, ArchivePolls):
    """Usage: `await Fetcher(sources, options, sink, state).run(once=True)` → FetchReport."""

    async def run(self, *, once: bool, stop: asyncio.Event | None = None) -> FetchReport:
        """Poll every enabled source (once, or forever on its schedule) and fetch what it lists."""
        if stop is not None:
            self._stop = stop
        self.report.track_ids = once
        http = HttpClient(user_agent=self.options.user_agent, policy=self.options.address_policy,
                          timeout_s=self.options.timeout_s, connect_timeout_s=self.options.connect_timeout_s,
                          connections=max(100, self.options.page_concurrency * 2))
        async with http:
            self.retriever = Retriever(http, self.gates, self.options,
                                       in_flight=asyncio.Semaphore(self.options.page_concurrency))
            try:
                for doc in self.state.pending():  # left over by an interrupted run
                    source = self._by_id.get(doc.source)
                    if source is not None and source.enabled:
                        self._enqueue(PageJob(doc.id, source), doc.url)
                if once:
                    await self._until_stopped(self._poll_all_once())
                else:
                    await self._until_stopped(self._schedule_forever())
            finally:
                await self.frontier.close()
        self.report.finish()
        if self._fatal is not None:
            raise CommitFailed(f"could not commit to Kafka: {self._fatal}") from self._fatal
        return self.report

    async def _until_stopped(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (task, stopper):
                if not pending.done():
                    pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            stopper.cancel()

    async def _poll_all_once(self) -> None:
        await asyncio.gather(*(self._poll_guarded(s) for s in self.sources.sources if s.enabled))
        await self.frontier.wait_idle()

    async def _schedule_forever(self) -> None:
        """Start each source's poll when due; wake for the next due time, a finished poll, or stop."""
        running: dict[str, asyncio.Task[None]] = {}
        stopped = asyncio.ensure_future(self._stop.wait())
        while not self._stop.is_set():
            now = self.clock()
            for source in self.sources.sources:
                if not source.enabled or source.id in running:
                    continue
                due = self.state.source(source.id).next_poll_at
                if due is None or due <= now:
                    running[source.id] = asyncio.create_task(self._poll_guarded(source),
                                                             name=f"poll-{source.id}")
            for source_id in [k for k, t in running.items() if t.done()]:
                running.pop(source_id)
            upcoming = [self.state.source(s.id).next_poll_at or now for s in self.sources.sources
                        if s.enabled and s.id not in running]
            wait = min([max(0.05, t - self.clock()) for t in upcoming] + [30.0])
            await asyncio.wait({stopped, *running.values()}, timeout=wait,
                               return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)

    async def _poll_guarded(self, source: Source) -> None:
        """A poll that cannot crash the fetcher: classified failures are records, bugs are logged."""
        try:
            if source.listing:
                await self._poll_listing(source)
            elif source.kind == "page":
                await self._poll_page_source(source)
            elif source.kind == "warc" and source.url:
                await self._poll_warc_url(source)
            else:
                await self._poll_files(source)
        except CommitFailed:
            self._stop.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            self.report.internal_errors += 1
            log.exception("polling source %s failed unexpectedly", source.id)
