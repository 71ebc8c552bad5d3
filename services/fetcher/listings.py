"""Polling feeds and sitemaps: fetch (conditionally), parse, follow child sitemaps, pick what is new.

Why pending documents: the articles a poll discovers are written to the state together with
the listing's new validators, so a crash after that commit loses none of them and a crash
before it simply polls again.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.fetcher.core import FetcherCore, PageJob
from services.fetcher.entries import Entry, Listing
from services.fetcher.errors import FetchFailure
from services.fetcher.pages import build_entry_document
from services.fetcher.politeness.scheduler import ResourceClass
from services.fetcher.sitemaps import parse_listing
from services.fetcher.sources import Source
from services.fetcher.state import DocState, ResourceState, Updates, entry_dict, url_key
from services.outcomes import Outcome
from services.records import now_iso

ACCEPT_LISTING = ("application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
                  "text/xml;q=0.9, text/plain;q=0.5, */*;q=0.3")


@dataclass(slots=True)
class _Poll:
    """What one poll of a listing source gathers before it commits."""

    outcomes: list[Outcome]
    updates: Updates
    resources: list[ResourceState]
    failed: FetchFailure | None = None
    hint_s: float | None = None
    info: dict[str, Any] | None = None
    fetch_info: dict[str, Any] | None = None


class ListingPolls(FetcherCore):
    """Feeds and sitemaps."""

    async def _poll_listing(self, source: Source) -> None:
        assert source.url is not None
        status = self.state.source(source.id)
        status.polls += 1
        status.last_poll_at = now_iso()
        self.report.source(source.id).polls += 1
        poll = _Poll([], Updates(), [])
        async with self._listing_slots:
            entries = await self._read_listing(source, source.url, 0, poll, None)
        selected, truncated = self._select(source, entries, poll)
        pending: list[DocState] = []
        for entry in selected:
            doc = self._pend(source, entry, poll)
            pending.append(doc)
            poll.updates.put(doc)
        if not truncated:  # else the next poll must see the whole listing again
            for resource in poll.resources:
                self.state.resources[url_key(resource.url)] = resource
                poll.updates.put(resource)
        published: list[Outcome] = []
        if not source.fetch_pages:
            for doc in pending:
                published += self._publish_entry(source, doc, poll)
        outcome = "failed" if poll.failed else ("new" if selected else "unchanged")
        if outcome == "unchanged":
            self.report.source(source.id).unchanged += 1
        status.items_last_poll = len(selected)
        self._reschedule(source, outcome, hint_s=poll.hint_s,
                         retry_after_s=poll.failed.retry_after if poll.failed else None)
        poll.updates.put(status)
        await self._commit(poll.outcomes + published, poll.updates)
        if source.fetch_pages:
            for doc in pending:
                self._enqueue(PageJob(doc.id, source), doc.url)

    async def _read_listing(self, source: Source, url: str, depth: int, poll: _Poll,
                            lastmod: str | None) -> list[Entry]:
        """Entries of one feed or sitemap, and of its child sitemaps (recursively, bounded)."""
        assert self.retriever is not None
        resource = self.state.resource(url, source.id)
        if depth and lastmod and resource.lastmod == lastmod and resource.checked_at:
            self.report.skipped["sitemap_unchanged_lastmod"] += 1
            return []
        validators = resource.validators
        status = self.state.source(source.id)
        self.report.requests += 1
        if validators:
            status.conditional_requests += 1
            self.report.conditional_requests += 1
        try:
            result = await self.retriever.fetch(url, ResourceClass.LISTING,
                                                max_bytes=self.options.max_listing_bytes,
                                                validators=validators, accept=ACCEPT_LISTING)
        except FetchFailure as failure:
            poll.outcomes.append(self._failure(source, failure, resource=source.kind, url=url))
            if depth == 0:
                poll.failed = failure
                status.last_http_status = failure.status
            return []
        if depth == 0:
            status.last_http_status = result.status
            poll.fetch_info = result.info()
        if result.not_modified:
            status.not_modified += 1
            self.report.not_modified += 1
            return []
        body_hash = hashlib.sha256(result.body).hexdigest()[:32]
        fresh = ResourceState(url=url, source=source.id, etag=result.validators.etag,
                              last_modified=result.validators.last_modified, body_hash=body_hash,
                              lastmod=lastmod, checked_at=result.fetched_at, format=resource.format)
        if resource.body_hash == body_hash:  # a server without validators, same document
            poll.resources.append(fresh)
            return []
        try:
            listing = await asyncio.to_thread(
                parse_listing, result.body, url=result.final_url, content_type=result.content_type,
                max_bytes=self.options.max_listing_bytes, text_sitemaps=source.kind == "sitemap")
        except FetchFailure as failure:
            poll.outcomes.append(self._failure(source, failure, resource=source.kind, url=url))
            if depth == 0:
                poll.failed = failure
            return []
        if listing.problem is not None:  # broken but partly read: the entries count, so does the error
            poll.outcomes.append(self._failure(source, listing.problem, resource=source.kind, url=url,
                                               recovered=len(listing.entries) + len(listing.children)))
        fresh.format = listing.format
        poll.resources.append(fresh)
        if depth == 0:
            poll.hint_s = listing.poll_hint_s
            poll.info = _listing_info(listing)
        entries = [_with_listing(e, listing) for e in listing.entries] if depth else list(listing.entries)
        if listing.children and depth >= self.options.max_sitemap_depth:
            self.report.skipped["sitemap_too_deep"] += len(listing.children)
            return entries
        for child in listing.children[: self.options.max_child_sitemaps]:
            entries += await self._read_listing(source, child.url, depth + 1, poll, child.lastmod)
        self.report.skipped["over_max_child_sitemaps"] += max(0, len(listing.children)
                                                              - self.options.max_child_sitemaps)
        return entries

    def _select(self, source: Source, entries: list[Entry], poll: _Poll) -> tuple[list[Entry], bool]:
        """New entries, and seen ones this source's listing says changed; at most `max_items`."""
        selected: list[Entry] = []
        seen_now: set[str] = set()
        oldest = self.clock() - source.max_age_s if source.max_age_s else None
        for entry in entries:
            key = url_key(entry.url)
            if key in seen_now:
                continue
            seen_now.add(key)
            if oldest is not None and _too_old(entry, oldest):
                self.report.skipped["too_old"] += 1
                continue
            doc = self.state.lookup(entry.url)
            if doc is not None and doc.status != "pending":
                fingerprint = entry.fingerprint()
                before = doc.hints.get(source.id)
                if before is None or before == fingerprint or not source.revisions:
                    if before != fingerprint:  # first listed by this source: remember, do not refetch
                        doc.hints[source.id] = fingerprint
                        poll.updates.put(doc)
                    self.report.skipped["seen"] += 1
                    continue
            elif doc is not None:
                continue  # pending: already queued
            if len(selected) >= source.max_items:
                self.report.skipped["over_max_items"] += 1
                return selected, True
            selected.append(entry)
        return selected, False

    def _pend(self, source: Source, entry: Entry, poll: _Poll) -> DocState:
        """Mark an entry pending (a new article, or a seen one to refetch), in memory at once."""
        doc = self.state.lookup(entry.url)
        if doc is None:
            doc = DocState(id=url_key(entry.url), url=entry.url, source=source.id)
        doc.status = "pending"
        doc.attempts = 0
        doc.hints[source.id] = entry.fingerprint()
        doc.entry = entry_dict(entry)
        doc.listing = poll.info
        self.state.docs[doc.id] = doc
        return doc

    def _publish_entry(self, source: Source, doc: DocState, poll: _Poll) -> list[Outcome]:
        """`fetch_pages: false`: the entry's own content becomes the record, in the poll's commit."""
        page = build_entry_document(doc.entry_obj(), source=source.id, listing_fetch=poll.fetch_info or {},
                                    listing=doc.listing, source_meta=source.meta or None)
        if page is None:
            doc.status = "failed"
            doc.last_error = "empty_entry"
            doc.entry = doc.listing = None
            poll.updates.put(doc)
            self.report.skipped["entry_without_content"] += 1
            return []
        outcomes, updates = self._settle(source, doc, page, None, None)
        poll.updates.update(updates)
        return outcomes

    # -- article pages ---------------------------------------------------------------------------


def _listing_info(listing: Listing) -> dict[str, Any]:
    info = {k: v for k, v in listing.info.items() if k in ("url", "format", "title", "link", "language")}
    info.setdefault("format", listing.format)
    return info


def _with_listing(entry: Entry, listing: Listing) -> Entry:
    """Entries of a child sitemap remember which sitemap listed them."""
    entry.meta.setdefault("sitemap_url", listing.info.get("url"))
    return entry


def _too_old(entry: Entry, oldest_epoch: float) -> bool:
    when = entry.published or entry.updated
    if not when:
        return False
    try:
        return datetime.fromisoformat(when.replace("Z", "+00:00")).astimezone(UTC).timestamp() < oldest_epoch
    except ValueError:
        return False
