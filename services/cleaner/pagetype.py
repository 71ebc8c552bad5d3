"""Pages the cleaner refuses on purpose: paywalled teasers, JavaScript shells, listings.

Each verdict needs two kinds of evidence: a marker on the page (isAccessibleForFree=false, a
"please enable JavaScript" noscript, a CollectionPage type) AND too little extracted text.
Metered sites mark full articles as not free, and many article pages carry a noscript
notice, so a marker alone would reject good articles.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml.html import HtmlElement

from services.cleaner.document import Block
from services.cleaner.metadata import LISTING_TYPES, PageMeta

# Below this many characters of text, a marked page is a teaser rather than a metered article.
PAYWALL_TEASER_CHARS = 1500

_PAYWALL_ATTR_XPATH = (
    './/*[contains(@class, "paywall") or contains(@id, "paywall") or contains(@class, "regwall") '
    'or contains(@class, "piano-") or contains(@class, "subscriber-only") '
    'or contains(@class, "premium-content") '
    'or contains(@class, "meteredContent") or contains(@class, "tp-modal")]'
)
_PAYWALL_TEXT = re.compile(
    r"(?i)(subscribe|sign in|log in|become a (member|subscriber))( now)? to (continue|keep) reading|"
    r"(this|the full) (article|story|content) is (only )?(available|reserved|exclusive)( only)? (to|for) "
    r"(subscribers|members)|already a subscriber\?|to read (the full|this|the rest of this) (article|story)|"
    r"subscriber[- ]only|for subscribers only|you have reached your (free )?(article )?limit"
)
_JS_TEXT = re.compile(
    r"(?i)(enable|turn on|activate|requires?|need(s)? to (enable|have))\s+(your\s+)?javascript|"
    r"javascript (is )?(required|disabled|must be enabled)|browser (does not|doesn't) support javascript"
)
_APP_ROOT_XPATH = './/body//div[@id="root" or @id="app" or @id="__next" or @id="___gatsby" or @id="__nuxt"]'


def _text_chars(blocks: list[Block]) -> int:
    return sum(len(b.text) for b in blocks if b.kind != "break")


def is_paywalled(
    tree: HtmlElement, meta: PageMeta, blocks: list[Block], page_text: Callable[[], str]
) -> bool:
    """A teaser behind a paywall: the page says so and the text stops short."""
    if _text_chars(blocks) >= PAYWALL_TEASER_CHARS:
        return False
    if meta.accessible_for_free is False:
        return True
    if _PAYWALL_TEXT.search(page_text()):
        return True
    return bool(tree.xpath(_PAYWALL_ATTR_XPATH)) and _text_chars(blocks) < 600


def needs_javascript(tree: HtmlElement, blocks: list[Block], min_chars: int, templated: bool = False) -> bool:
    """An application shell: the text only appears after scripts run (or in unrendered templates)."""
    if _text_chars(blocks) >= min_chars:
        return False
    if templated:
        return True
    for noscript in tree.iter("noscript"):
        if _JS_TEXT.search(noscript.text_content() or ""):
            return True
    body_text = " ".join(t.strip() for t in tree.xpath(".//body//text()[not(ancestor::script)]") if t.strip())
    if _JS_TEXT.search(body_text[:2000]):
        return True
    roots = tree.xpath(_APP_ROOT_XPATH)
    return bool(roots) and len(tree.xpath(".//script")) >= 1 and len(body_text) < 500


_SENTENCE_ENDS = (".", "!", "?", ":", '"', "”", "’", "»", ")", "。", "！", "？")


def is_listing(meta: PageMeta, blocks: list[Block]) -> bool:
    """A section front or search page: a type that says so, or text made of linked teasers.

    Short paragraphs alone are not enough (how-tos and listicles have them); teasers are links.
    """
    content = [b for b in blocks if b.kind != "break"]
    paragraphs = [b.text for b in content]
    long_ones = sum(1 for p in paragraphs if len(p) >= 250)
    short_ones = sum(1 for p in paragraphs if len(p) < 100)
    linked = sum(1 for b in content if b.link_share >= 0.5)
    teaser_shaped = (
        len(paragraphs) >= 8
        and short_ones >= 0.7 * len(paragraphs)
        and long_ones <= 1
        and linked >= 0.4 * len(paragraphs)
    )
    # A menu or link farm: many blocks and almost none reads as a sentence. No article looks like that,
    # whatever the page declares itself to be.
    prose = sum(1 for p in paragraphs if len(p) >= 80 or p.rstrip().endswith(_SENTENCE_ENDS))
    if len(paragraphs) >= 8 and prose <= 0.1 * len(paragraphs):
        return True
    declared = bool(meta.page_types & LISTING_TYPES)
    article_declared = any(t.endswith(("article", "posting")) for t in meta.page_types)
    if declared and not article_declared:
        return teaser_shaped or long_ones == 0
    return teaser_shaped and not article_declared and meta.og_type != "article"
