"""The intermediate form both readers (plain text, HTML) produce and the rest of the cleaner consumes.

Keeping one shape lets furniture removal, story splitting and dateline parsing work the same
whatever the input kind was; only the readers know about markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["para", "heading", "item", "quote", "break"]

# News articles have tens of paragraphs; tens of thousands of lines are a log or a dump, and
# line-by-line rules over them would stall the stage.
MAX_PARAGRAPHS = 5000
TOO_MANY_PARAGRAPHS = ("not_an_article", f"more than {MAX_PARAGRAPHS} paragraphs: not an article")


@dataclass(slots=True)
class Block:
    """One paragraph-level unit. `break` marks a story boundary the source drew ("Read More")."""

    text: str
    kind: BlockKind = "para"
    # Share of the text that was link text in the page (teaser lists are all links).
    link_share: float = 0.0


@dataclass(slots=True)
class Draft:
    """What a reader found in one document, before the record is built."""

    blocks: list[Block]
    extractor: str
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    # Publication-date candidates the document itself declares, best first (JSON-LD, meta tags).
    date_candidates: list[str] = field(default_factory=list)
    modified_candidates: list[str] = field(default_factory=list)
    # Expensive last resort (htmldate), only called when nothing better is known.
    find_date: Callable[[], str | None] | None = None
    site_name: str | None = None
    canonical_url: str | None = None
    image: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    # The page declares a single article (JSON-LD / og:type): never split it into stories.
    single_article: bool = False
    # Why the cleaner should refuse this document: (reason, message), or None.
    # Readers report it instead of raising so that benchmarks can score the text anyway.
    refusal: tuple[str, str] | None = None
    # Dates seen in page furniture (e.g. a removed "date 2026-01-12" toolbar line): last resort.
    fallback_dates: list[str] = field(default_factory=list)
