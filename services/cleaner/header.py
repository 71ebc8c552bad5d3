"""The top of an article: headline, standfirst (dek) and byline, which are not body text.

Extractors and copy-paste both leave the headline (often with a summary before or after it)
at the top of the text. Keeping it would repeat the title inside `text` and make every
story look like its own near-duplicate, so it is lifted into `title` / `lead` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.cleaner.authors import byline_authors
from services.cleaner.document import Block
from services.cleaner.headlines import is_headline_shape, is_sentence, repeats_title, same_text

# How far into the text a repeated headline / byline is looked for.
_HEADER_DEPTH = 4
_MIN_BODY_CHARS = 80
_MAX_ABOVE_TITLE_CHARS = 800


@dataclass(slots=True)
class Header:
    title: str | None
    lead: str | None
    authors: list[str]
    blocks: list[Block]


def _is_body(block: Block) -> bool:
    return block.kind != "heading" and len(block.text) >= _MIN_BODY_CHARS


def _is_dek(block: Block, description: str | None) -> bool:
    if block.kind == "item" or len(block.text) > 400:
        return False
    return block.kind == "heading" or (description is not None and same_text(block.text, description))


def _is_kicker(block: Block, following: Block) -> bool:
    """A leading heading that is not the title: usually a rephrased headline over the body."""
    return (
        block.kind == "heading"
        and len(block.text) >= 25
        and is_headline_shape(block.text)
        and _is_body(following)
    )


def take_header(blocks: list[Block], known_titles: list[str], description: str | None = None) -> Header:
    """Split a headline (and the summary around it) and a byline off the top of the blocks.

    `known_titles` are what the record and the page call the article (raw title, og:title...);
    the first one is the title, any of them can be the headline repeated in the text.
    """
    known_titles = [t for t in known_titles if t]
    known_title = known_titles[0] if known_titles else None
    title, lead, authors = known_title, None, []
    rest = list(blocks)

    # Bylines ("By Jane Doe") near the top.
    for i in range(min(_HEADER_DEPTH, len(rest))):
        names = byline_authors(rest[i].text)
        if names:
            authors = names
            del rest[i]
            break

    # The headline again: first, second (after a kicker or a summary) or after a few teaser
    # lines the extractor picked up above the article.
    head_at = None
    before = 0
    for i in range(min(_HEADER_DEPTH, len(rest))):
        text = rest[i].text
        if any(repeats_title(text, known) for known in known_titles):
            head_at = i
            break
        before += len(text)
        if before > _MAX_ABOVE_TITLE_CHARS:
            break
        if i >= 2:
            continue
        if not known_title and is_headline_shape(text) and i + 1 < len(rest) and _is_body(rest[i + 1]):
            kicker = len(rest[0].text.split()) <= 3 and not is_sentence(rest[0].text)
            if i == 1 and not kicker and not (is_sentence(rest[0].text) and len(rest) >= 3):
                break  # an untitled text whose second line happens to be short
            head_at = i
            title = text
            break
    if head_at is not None:
        # Before the headline: a summary (kept as lead) or kickers and teasers (dropped).
        if head_at == 1 and is_sentence(rest[0].text) and len(rest[0].text) >= 60:
            lead = rest[0].text
        rest = rest[head_at + 1 :]
        # After the headline: a dek, as a heading or repeating the page description.
        if lead is None and len(rest) >= 2 and _is_dek(rest[0], description):
            lead = rest[0].text
            rest = rest[1:]
    elif known_title and len(rest) >= 2 and _is_kicker(rest[0], rest[1]):
        rest = rest[1:]

    # A byline may also follow the headline.
    if not authors:
        for i in range(min(2, len(rest))):
            names = byline_authors(rest[i].text)
            if names:
                authors = names
                del rest[i]
                break
    return Header(title=title, lead=lead, authors=authors, blocks=rest)
