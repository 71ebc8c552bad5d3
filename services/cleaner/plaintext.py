"""Plain-text documents: normalise, cut into paragraphs, strip furniture.

Plain text reaches us from copy-paste, feeds and e-mail newsletters, with the page chrome
flattened into lines ("Read More", "16 px", "Help us improve.", a list of other headlines).
Everything here is shape-based so that it works on texts we have never seen.
"""

from __future__ import annotations

from services.cleaner.authors import credit_authors
from services.cleaner.document import MAX_PARAGRAPHS, TOO_MANY_PARAGRAPHS, Block, Draft
from services.cleaner.furniture import remove_furniture
from services.cleaner.normalize import normalize_text, split_paragraphs

EXTRACTOR = "plaintext"


def read_text(body: str, site_name: str | None = None) -> Draft:
    """A draft of a plain-text document: furniture-free blocks, dates seen in toolbar lines."""
    paragraphs = split_paragraphs(normalize_text(body))
    if len(paragraphs) > MAX_PARAGRAPHS:
        return Draft(blocks=[], extractor=EXTRACTOR, refusal=TOO_MANY_PARAGRAPHS)
    blocks, dates = remove_furniture([Block(p) for p in paragraphs], site_name=site_name)
    authors: list[str] = []
    for block in reversed(blocks[-3:]):
        authors = credit_authors(block.text)
        if authors:
            break
    return Draft(blocks=blocks, extractor=EXTRACTOR, authors=authors, fallback_dates=dates)
