"""What every kind of poll shares: the state, the sink, the gates, the frontier, and how a
fetched document is settled (published, or recognised as already published).

Why `_settle` here: feeds, pages, files and archives all end the same way — a document whose
article may be new, a revision, or already known — and the decision must be one piece of code
with no await inside, so the state check and its update are atomic for every other task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from services.fetcher.errors import FetchFailure, error_outcome
from services.fetcher.jobs import Frontier
from services.fetcher.options import FetchOptions
from services.fetcher.pages import PageDocument
from services.fetcher.politeness.polling import PollPolicy, next_interval
from services.fetcher.politeness.scheduler import HostGates, HostLimits
from services.fetcher.publish import Sink
from services.fetcher.report import FetchReport
from services.fetcher.retrieve import FetchResult, Retriever, Validators
from services.fetcher.sources import Source, SourcesFile
from services.fetcher.state import DocState, FetchState, Updates, url_key
from services.kafka.topics import RAW
from services.outcomes import Outcome
from services.records import now_iso

log = logging.getLogger("newsflow.fetcher")


class CommitFailed(RuntimeError):
    """The sink could not commit: nothing more can be made durable, so the fetcher stops."""


@dataclass(slots=True)
class PageJob:
    doc_id: str
    source: Source


class FetcherCore:
    """The fetcher's shared parts; the polls are mixins (listings, pagework, archives) over it."""

    def __init__(self, sources: SourcesFile, options: FetchOptions, sink: Sink,
                 state: FetchState | None = None,
                 *, clock: Any = time.time) -> None:
        self.sources = sources
        self.options = options
        self.sink = sink
        self.state = state or FetchState()
        self.clock = clock
        self.report = FetchReport()
        per_host = {host: HostLimits(limits.get("delay_s", options.host_delay_s),
                                     int(limits.get("concurrency", options.host_concurrency)))
                    for host, limits in sources.hosts.items()}
        self.gates = HostGates(options.host_delay_s, options.host_concurrency, options.max_crawl_delay_s,
                               per_host)
        self.frontier: Frontier[PageJob] = Frontier(self._run_page, self._workers_for)
        self.retriever: Retriever | None = None
        self._listing_slots = asyncio.Semaphore(options.listing_concurrency)
        self._fatal: BaseException | None = None
        self._stop = asyncio.Event()
        self._by_id = sources.by_id()

    # -- running ---------------------------------------------------------------------------------

    async def _process_page(self, job: PageJob) -> str:
        raise NotImplementedError  # PageWork

    async def _commit(self, outcomes: list[Outcome], updates: Updates) -> None:
        try:
            await self.sink.commit(outcomes, updates)
        except Exception as exc:
            self._fatal = exc
            self._stop.set()
            raise CommitFailed(str(exc)) from exc

    def _reschedule(self, source: Source, outcome: str, *, hint_s: float | None = None,
                    retry_after_s: float | None = None) -> None:
        status = self.state.source(source.id)
        status.failures = status.failures + 1 if outcome == "failed" else 0
        interval = next_interval(PollPolicy(source.interval_s, source.max_interval_s), status.interval_s,
                                 outcome=outcome, failures=status.failures, hint_s=hint_s,
                                 retry_after_s=retry_after_s)
        status.interval_s = round(interval, 3)
        status.next_poll_at = self.clock() + interval
        status.last_status = outcome
        self.report.source(source.id).last_status = outcome

    def _failure(self, source: Source, failure: FetchFailure, *, resource: str, url: str | None,
                 attempt: int = 1, will_retry: bool = False, recovered: int | None = None) -> Outcome:
        status = self.state.source(source.id)
        status.count_error(failure.kind, failure.message, now_iso())
        self.report.error(source.id, failure.kind)
        log.info("fetch error %s %s: %s", source.id, failure.kind, failure.message)
        return error_outcome(failure, source=source.id, resource=resource, url=url, attempt=attempt,
                             will_retry=will_retry, recovered=recovered)

    # -- listings (feeds, sitemaps) --------------------------------------------------------------

    def _enqueue(self, job: PageJob, url: str, delay_s: float = 0.0) -> None:
        self.frontier.put(job, (urlsplit(url).hostname or "").lower(), delay_s)

    def _workers_for(self, host: str) -> int:
        return self.gates.gate(host).limits.concurrency

    async def _run_page(self, job: PageJob) -> None:
        try:
            await self._process_page(job)
        except CommitFailed:
            self._stop.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            self.report.internal_errors += 1
            log.exception("page %s of %s failed unexpectedly", job.doc_id, job.source.id)

    def _settle(self, source: Source, listed: DocState | None, page: PageDocument,
                validators: Validators | None, result: FetchResult | None) -> tuple[list[Outcome], Updates]:
        """Publish a fetched document unless its article is already published with this content.

        No await inside: the state check and its update are atomic for every other task.
        """
        updates = Updates()
        status = self.state.source(source.id)
        target = self.state.docs.get(page.id) or self.state.lookup(page.url)
        previous_hash = target.content_hash if target else None
        outcomes: list[Outcome] = []
        now = now_iso()
        if target is None:
            target = DocState(id=page.id, url=page.url, source=source.id)
        if previous_hash == page.content_hash:
            self.report.skipped["unchanged_content"] += 1
        else:
            revision = target.revision + 1 if previous_hash else 0
            record = page.record
            record["revision"] = revision
            record["content_hash"] = page.content_hash
            record["previous_hash"] = previous_hash
            outcomes.append(Outcome(RAW, page.id, record))
            target.revision = revision
            target.content_hash = page.content_hash
            target.first_published_at = target.first_published_at or now
            target.last_published_at = now
            status.items_published += 1
            self.report.published += 1
            if self.report.track_ids:
                self.report.published_ids.append(page.id)
            self.report.source(source.id).published += 1
            if revision:
                status.revisions += 1
                self.report.revisions += 1
                self.report.source(source.id).revisions += 1
        target.status = "published"
        target.attempts = 0
        target.entry = target.listing = None
        if validators is not None:
            target.etag, target.last_modified = validators.etag, validators.last_modified
        if listed is not None:
            target.hints = {**target.hints, **listed.hints}
            if listed.id != target.id:
                self.state.docs.pop(listed.id, None)
                updates.delete(f"doc:{listed.id}")
                self.state.aliases[url_key(listed.url)] = target.id
                updates.alias(listed.url, target.id)
        if result is not None and url_key(result.final_url) != target.id:
            self.state.aliases[url_key(result.final_url)] = target.id
            updates.alias(result.final_url, target.id)
        self.state.docs[target.id] = target
        updates.put(target)
        updates.put(status)
        return outcomes, updates
