"""The clean stage's pure core: one `RawArticle` in, one or more `CleanedArticle`s out.

No I/O, no Kafka: the Faust agent and the in-process mode both call `ArticleCleaner.clean`.
Refusals are `StageError`s whose reason is one of `REJECT_REASONS` (they go to the DLQ as
such); any other failure is wrapped as `extraction_failed`, so a poison record can never
crash the worker. The HTML path uses trafilatura, which is not thread-safe: run one
`ArticleCleaner` per thread (the agent uses a single dedicated thread).

Every `CACHE_RESET_EVERY` documents the cleaner empties the extraction stack's module-level
caches, so that a worker's memory stays flat over millions of pages (see `caches`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from services.cleaner import caches
from services.cleaner.dateline import parse_dateline, reference_date
from services.cleaner.dates import choose_date, url_date
from services.cleaner.document import Draft
from services.cleaner.header import take_header
from services.cleaner.html import EXTRACTOR, UNPARSEABLE, HtmlReader, parse_html
from services.cleaner.normalize import normalize_line
from services.cleaner.plaintext import read_text
from services.cleaner.stories import Story, split_stories
from services.records import CleanedArticle, Dateline, RawArticle, StageError, child_id

LOGGER = logging.getLogger(__name__)

CLEANER_VERSION = "1.0.0"
_HAS_TAG = re.compile(r"<[A-Za-z!/]")
_HTML_SNIFF = ("<html", "<!doctype html", "<body", "<head", "<article", "<div", "<p>", "<p ")


def _looks_like_html(body: str) -> bool:
    head = body[:2048].lstrip().casefold()
    return head.startswith("<") and any(tag in head for tag in _HTML_SNIFF)


class ArticleCleaner:
    """Turns raw documents into cleaned articles (see module docstring for the contract)."""

    def __init__(
        self,
        min_text_chars: int = 200,
        include_comments: bool = False,
        fast: bool = True,
        reset_caches_every: int | None = caches.CACHE_RESET_EVERY,
    ) -> None:
        self.min_text_chars = min_text_chars
        self._html = HtmlReader(include_comments=include_comments, fast=fast)
        # Documents between two cache resets (None or 0: never), documents since the last one.
        self.reset_caches_every = reset_caches_every
        self._since_reset = 0
        self.cache_resets = 0

    def clean(self, raw: RawArticle) -> list[CleanedArticle]:
        """One cleaned article, or several when a multi-story page (newsletter/roundup) is split.

        Raises StageError(reason, message) for reason in REJECT_REASONS (empty, too_short,
        paywalled, needs_js, not_an_article), or "extraction_failed" for anything unexpected.
        """
        try:
            return self._clean(raw)
        except StageError:
            raise
        except Exception as exc:  # last resort: never let a record crash the stage
            LOGGER.exception("cleaner failed on %r", _record_id(raw))
            raise StageError("extraction_failed", f"{type(exc).__name__}: {exc}") from exc

    # -- reading -------------------------------------------------------------------------

    def draft(self, raw: RawArticle) -> Draft:
        """What the document contains, before story splitting and record building."""
        self._count_document()
        body: Any = raw.get("body")
        if isinstance(body, bytes | bytearray):
            body = bytes(body).decode("utf-8", errors="replace")
        if not isinstance(body, str) or not body.strip():
            raise StageError("empty", "the document has no content")
        kind = raw.get("kind")
        is_html = kind == "html" or (kind != "text" and _looks_like_html(body))
        # Declared HTML without any markup is plain text after all.
        if is_html and _HAS_TAG.search(body):
            tree = parse_html(body)
            if tree is None:
                return Draft(blocks=[], extractor=EXTRACTOR, refusal=UNPARSEABLE)
            return self._html.read(tree, raw.get("url") or None, self.min_text_chars)
        return read_text(body)

    def _count_document(self) -> None:
        """After every `reset_caches_every` documents, reset the extraction caches (before the next one)."""
        if not self.reset_caches_every:
            return
        self._since_reset += 1
        if self._since_reset > self.reset_caches_every:
            self._since_reset = 1
            self.cache_resets += 1
            try:
                caches.reset_caches()
            except Exception:  # housekeeping must never cost a document
                LOGGER.warning("resetting the extraction caches failed", exc_info=True)

    # -- building ------------------------------------------------------------------------

    def _clean(self, raw: RawArticle) -> list[CleanedArticle]:
        draft = self.draft(raw)
        if draft.refusal is not None:
            raise StageError(*draft.refusal)
        return self._build(raw, draft, enforce=True)

    def extract_text(self, raw: RawArticle) -> str:
        """The main text the cleaner finds, with the refusal policy off (for extraction benchmarks)."""
        try:
            records = self._build(raw, self.draft(raw), enforce=False)
        except StageError:
            return ""
        return "\n\n".join(r["text"] for r in records)

    def _build(self, raw: RawArticle, draft: Draft, enforce: bool) -> list[CleanedArticle]:
        raw_title = raw.get("title")
        raw_title = normalize_line(raw_title) if isinstance(raw_title, str) and raw_title.strip() else None
        stories = None if draft.single_article else split_stories(draft.blocks)
        if stories is None:
            return [self._single(raw, draft, raw_title, enforce)]
        return self._split(raw, draft, stories, enforce)

    def _single(self, raw: RawArticle, draft: Draft, raw_title: str | None, enforce: bool) -> CleanedArticle:
        blocks = [b for b in draft.blocks if b.kind != "break"]
        header = take_header(blocks, [t for t in (raw_title, draft.title) if t], draft.description)
        paragraphs = [b.text for b in header.blocks]
        if enforce:
            self._check_length(paragraphs)
        title = raw_title or header.title or draft.title
        # Declared authors (metadata, wire credit line) first, then a "By ..." line in the text.
        return self._record(raw, draft, paragraphs, title, header.lead, draft.authors or header.authors)

    def _split(
        self, raw: RawArticle, draft: Draft, stories: list[Story], enforce: bool
    ) -> list[CleanedArticle]:
        parent_id = raw["id"]
        records: list[CleanedArticle] = []
        floor = self.min_text_chars if enforce else 1
        kept = [s for s in stories if len("\n\n".join(b.text for b in s.blocks)) >= floor]
        if not kept:
            raise StageError("too_short", "every story of the multi-story page is too short")
        for position, story in enumerate(kept):
            paragraphs = [b.text for b in story.blocks]
            record = self._record(raw, draft, paragraphs, story.title, None, draft.authors)
            record["id"] = child_id(parent_id, position)
            record["parent_id"] = parent_id
            record["position"] = position
            record["part_count"] = len(kept)  # type: ignore[typeddict-unknown-key]
            records.append(record)
        return records

    def _check_length(self, paragraphs: list[str]) -> None:
        length = len("\n\n".join(paragraphs))
        if length == 0:
            raise StageError("too_short", "no text left after cleaning")
        if length < self.min_text_chars:
            raise StageError("too_short", f"{length} characters after cleaning (< {self.min_text_chars})")

    def _record(
        self,
        raw: RawArticle,
        draft: Draft,
        paragraphs: list[str],
        title: str | None,
        lead: str | None,
        authors: list[str],
    ) -> CleanedArticle:
        record: dict[str, Any] = {k: v for k, v in raw.items() if k != "body"}
        text = "\n\n".join(paragraphs)
        # A dateline's "Aug. 20" takes its year from when the story was published, which the page
        # itself (or its URL) knows better than the time we happened to fetch it.
        declared, _ = choose_date(draft.date_candidates)
        url_day = url_date(draft.canonical_url) or url_date(raw.get("url"))
        reference = reference_date(
            declared, raw.get("published_at"), url_day, raw.get("fetched_at"), raw.get("ingested_at")
        )
        dateline: Dateline | None = parse_dateline(paragraphs[0], reference) if paragraphs else None
        dateline_date = dateline.get("date") if dateline else None

        def candidates() -> Iterator[str | None]:
            yield from draft.date_candidates
            yield raw.get("published_at")
            yield dateline_date
            yield from draft.fallback_dates
            yield url_day  # before htmldate, which misses "/2019/nov/18/" and may prefer an older date
            if draft.find_date is not None:
                yield draft.find_date()

        published, future = choose_date(candidates())
        modified, modified_future = choose_date(draft.modified_candidates)
        quality: dict[str, Any] = {
            "extractor": draft.extractor,
            "version": CLEANER_VERSION,
            "text_length": len(text),
            "problem": None,
        }
        if future or modified_future:
            quality["future_date"] = True
        record.update(
            text=text,
            paragraphs=paragraphs,
            title=title,
            lead=lead or (paragraphs[0] if paragraphs else None),
            authors=authors,
            published_at=published,
            modified_at=modified,
            site_name=draft.site_name,
            canonical_url=draft.canonical_url,
            image=draft.image,
            tags=draft.tags,
            dateline=dateline,
            parent_id=None,
            position=None,
            part_count=None,
            quality=quality,
        )
        return record  # type: ignore[return-value]


def _record_id(raw: object) -> object:
    return raw.get("id") if isinstance(raw, dict) else None
