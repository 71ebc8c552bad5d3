"""Fetching article pages (and single-page sources) and settling them.

Why retries live here: a transient failure (timeout, 5xx, 429) puts the page back into the
frontier after `retry_base_s` × 2^n or the server's Retry-After; the document stays pending in
the state meanwhile, so a restart resumes it too.
"""

from __future__ import annotations

from services.fetcher.core import FetcherCore, PageJob
from services.fetcher.entries import Entry
from services.fetcher.errors import FetchFailure
from services.fetcher.pages import build_page
from services.fetcher.politeness.scheduler import ResourceClass
from services.fetcher.sources import Source
from services.fetcher.state import DocState, Updates, entry_dict, url_key
from services.records import now_iso

ACCEPT_PAGE = "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.5, */*;q=0.1"


class PageWork(FetcherCore):
    """Article pages and single-page sources."""

    async def _process_page(self, job: PageJob) -> str:
        """Fetch one pending page and settle it; returns "new", "unchanged" or "failed"."""
        assert self.retriever is not None
        doc = self.state.docs.get(job.doc_id)
        if doc is None or doc.status != "pending":
            return "unchanged"
        source = job.source
        entry = doc.entry_obj()
        status = self.state.source(source.id)
        validators = doc.validators if source.kind == "page" else None
        self.report.requests += 1
        if validators:
            status.conditional_requests += 1
            self.report.conditional_requests += 1
        try:
            result = await self.retriever.fetch(entry.url, ResourceClass.PAGE,
                                                max_bytes=self.options.max_body_bytes,
                                                validators=validators, accept=ACCEPT_PAGE)
            self.report.pages += 1
            self.report.source(source.id).pages += 1
            if result.not_modified:
                status.not_modified += 1
                self.report.not_modified += 1
                doc.status = "published"
                doc.entry = doc.listing = None
                updates = Updates()
                updates.put(doc)
                await self._commit([], updates)
                return "unchanged"
            listed = entry if source.listing else None
            page = build_page(result, source=source.id, entry=listed, listing=doc.listing,
                              source_meta=source.meta or None)
        except FetchFailure as failure:
            return await self._page_failed(job, doc, failure)
        outcomes, updates = self._settle(source, doc, page, result.validators, result)
        await self._commit(outcomes, updates)
        return "new" if outcomes else "unchanged"

    async def _page_failed(self, job: PageJob, doc: DocState, failure: FetchFailure) -> str:
        doc.attempts += 1
        retry = failure.transient and doc.attempts < self.options.max_attempts
        outcome = self._failure(job.source, failure, resource="page", url=doc.url, attempt=doc.attempts,
                                will_retry=retry)
        doc.last_error = failure.kind
        if not retry:
            doc.status = "published" if doc.content_hash else "failed"
            doc.entry = doc.listing = None
        updates = Updates()
        updates.put(doc)
        updates.put(self.state.source(job.source.id))
        await self._commit([outcome], updates)
        if retry:
            delay = max(failure.retry_after or 0.0, self.options.retry_base_s * 2 ** (doc.attempts - 1))
            self._enqueue(job, doc.url, delay)
        return "failed"

    async def _poll_page_source(self, source: Source) -> None:
        """A single page URL: refetched each poll (conditionally); changed content is a revision."""
        assert source.url is not None
        status = self.state.source(source.id)
        status.polls += 1
        status.last_poll_at = now_iso()
        self.report.source(source.id).polls += 1
        entry = Entry(url=source.url)
        doc = self.state.lookup(source.url) or DocState(id=url_key(source.url), url=source.url,
                                                        source=source.id)
        doc.status = "pending"
        doc.entry = entry_dict(entry)
        doc.attempts = 0
        self.state.docs[doc.id] = doc
        outcome = await self._process_page(PageJob(doc.id, source))
        self._reschedule(source, outcome)
        if outcome == "unchanged":
            self.report.source(source.id).unchanged += 1
        updates = Updates()
        updates.put(status)
        await self._commit([], updates)

    # -- local files and archives ----------------------------------------------------------------
