"""Repairs to the parsed page before extraction, for structures the extractor misreads.

* Split bodies: some CMSs cut one article into several sibling containers with the same class
  (one per "chunk" between ads); trafilatura takes the first and loses the rest. Same-class
  containers full of long paragraphs are merged into the first.
* Embedded posts: news copy quotes tweets and Instagram posts; their wrappers carry classes
  like "social-media-embed" that the extractor discards as share widgets. The wrappers of
  such quotes lose their class so the quoted text stays with the article.
"""

from __future__ import annotations

import re
from collections import defaultdict

from lxml import etree
from lxml.html import HtmlElement

_BODYISH_CLASS = re.compile(r"(?i)body|content|text|chunk|paragraph|story|article")
_MIN_PARAGRAPH_CHARS = 80
_MIN_PARAGRAPHS_PER_PART = 2
_MAX_LINK_SHARE = 0.3
_EMBED_XPATH = (
    './/blockquote[contains(@class, "twitter-tweet") or contains(@class, "twitter-video") '
    'or contains(@class, "instagram-media") or contains(@class, "tiktok-embed")]'
)
_EMBED_WRAPPER_SLACK = 200
_CANDIDATES = etree.XPath("//body//div[@class] | //body//section[@class]")


def _long_paragraphs(elem: HtmlElement) -> int:
    return sum(1 for p in elem.iter("p") if len(p.text_content().strip()) >= _MIN_PARAGRAPH_CHARS)


def _link_share(elem: HtmlElement) -> float:
    text = len(elem.text_content())
    if not text:
        return 1.0
    return sum(len(a.text_content()) for a in elem.iter("a")) / text


def _is_article_part(elem: HtmlElement) -> bool:
    return _long_paragraphs(elem) >= _MIN_PARAGRAPHS_PER_PART and _link_share(elem) <= _MAX_LINK_SHARE


def _nested(elems: list[HtmlElement]) -> bool:
    ids = {id(e) for e in elems}
    for elem in elems:
        parent = elem.getparent()
        while parent is not None:
            if id(parent) in ids:
                return True
            parent = parent.getparent()
    return False


def merge_split_bodies(tree: HtmlElement) -> int:
    """Merge same-class article containers into the first one; returns how many were merged."""
    groups: dict[tuple[str, str], list[HtmlElement]] = defaultdict(list)
    for elem in _CANDIDATES(tree):
        groups[(elem.tag, elem.get("class", ""))].append(elem)
    merged = 0
    for (_, cls), members in groups.items():
        if len(members) < 2 or len(members) > 30 or not _BODYISH_CLASS.search(cls):
            continue
        if any(len(m.findall(".//p")) < _MIN_PARAGRAPHS_PER_PART for m in members) or _nested(members):
            continue
        if not all(_is_article_part(m) for m in members):
            continue
        first = members[0]
        for other in members[1:]:
            for child in list(other):
                first.append(child)
            other.getparent().remove(other)
            merged += 1
    return merged


def keep_embedded_posts(tree: HtmlElement) -> int:
    """Strip discard-prone classes from the wrappers of quoted tweets / posts."""
    freed = 0
    for quote in tree.xpath(_EMBED_XPATH):
        budget = len(quote.text_content()) + _EMBED_WRAPPER_SLACK
        wrapper = quote.getparent()
        while wrapper is not None and wrapper.tag not in ("body", "article", "main"):
            if len(wrapper.text_content()) > budget:
                break
            for attr in ("class", "id"):
                wrapper.attrib.pop(attr, None)
            freed += 1
            wrapper = wrapper.getparent()
    return freed


def repair_tree(tree: HtmlElement) -> None:
    """Fix page structures the extractor misreads, in place."""
    merge_split_bodies(tree)
    keep_embedded_posts(tree)
