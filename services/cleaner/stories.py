"""Multi-story pages (newsletters, roundups): one record per story, never for a single article.

Two shapes are recognised:

* separated summaries: the source drew a boundary ("Read More" after each summary) at least
  twice, giving three or more non-empty stories;
* headlined sections: three or more headline-shaped lines, each followed by one to a few
  paragraphs, with the page starting at (or right after) the first headline. Articles with
  subheadings rarely look like that: their subheads are short ("Context", "What's next"),
  few, and come after an intro of several paragraphs.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from services.cleaner.document import Block
from services.cleaner.headlines import is_headline_shape, short_title, words

MIN_STORIES = 3
_MAX_MEAN_PARAGRAPHS = 4.0
_MAX_PARAGRAPHS = 8
_MIN_MEAN_HEADLINE_WORDS = 4.0
_MIN_BODY_CHARS = 80


@dataclass(slots=True)
class Story:
    title: str
    blocks: list[Block]
    titled: bool  # the source gave the title (False: made from the first sentence)


def _by_breaks(blocks: list[Block]) -> list[list[Block]] | None:
    segments: list[list[Block]] = [[]]
    for block in blocks:
        if block.kind == "break":
            segments.append([])
        else:
            segments[-1].append(block)
    segments = [s for s in segments if s]
    n_breaks = sum(1 for b in blocks if b.kind == "break")
    if n_breaks >= MIN_STORIES - 1 and len(segments) >= MIN_STORIES:
        return segments
    return None


def _is_story_headline(blocks: list[Block], i: int) -> bool:
    text = blocks[i].text
    # Questions head answers (interviews, explainers), not separate stories.
    if blocks[i].kind == "item" or not is_headline_shape(text) or text.rstrip().endswith("?"):
        return False
    nxt = blocks[i + 1] if i + 1 < len(blocks) else None
    return nxt is not None and len(nxt.text) >= _MIN_BODY_CHARS and not is_headline_shape(nxt.text)


def _by_headlines(blocks: list[Block]) -> list[list[Block]] | None:
    content = [b for b in blocks if b.kind != "break"]
    heads = [i for i in range(len(content)) if _is_story_headline(content, i)]
    if len(heads) < MIN_STORIES or heads[0] > 1:
        return None
    mean_words = sum(len(words(content[i].text)) for i in heads) / len(heads)
    if mean_words < _MIN_MEAN_HEADLINE_WORDS:
        return None
    bounds = [*heads, len(content)]
    segments = [content[a:b] for a, b in pairwise(bounds)]
    sizes = [len(s) - 1 for s in segments]
    if min(sizes) < 1 or max(sizes) > _MAX_PARAGRAPHS or sum(sizes) / len(sizes) > _MAX_MEAN_PARAGRAPHS:
        return None
    return segments


def split_stories(blocks: list[Block]) -> list[Story] | None:
    """The stories of a multi-story page, or None for a single article."""
    segments = _by_breaks(blocks)
    if segments is None:
        segments = _by_headlines(blocks)
    if segments is None:
        return None
    stories = []
    for segment in segments:
        first = segment[0]
        if len(segment) >= 2 and is_headline_shape(first.text) and first.kind != "item":
            stories.append(Story(title=first.text, blocks=segment[1:], titled=True))
        else:
            stories.append(Story(title=short_title(first.text), blocks=segment, titled=False))
    return stories
