"""HTML pages: parse once, extract the main text with trafilatura, return a `Draft`.

trafilatura finds the article body well but (a) keeps only the first of several sibling
body containers, (b) discards embedded posts (tweets) that news copy quotes, and (c) leaves
the headline, dek and some furniture in the text. (a) and (b) are fixed on the tree before
extraction, (c) afterwards on blocks, by rules shared with plain text.

trafilatura is not thread-safe (module-level caches); a reader must stay on one thread.
"""

from __future__ import annotations

import logging
import re

import trafilatura
from htmldate import find_date as htmldate_find
from lxml import etree
from lxml import html as lxml_html
from lxml.html import HtmlElement
from trafilatura import bare_extraction
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from services.cleaner.dates import PUBLISHED_LABEL, text_date
from services.cleaner.document import MAX_PARAGRAPHS, TOO_MANY_PARAGRAPHS, Block, BlockKind, Draft
from services.cleaner.furniture import remove_furniture
from services.cleaner.metadata import ARTICLE_TYPES, PageMeta, read_metadata
from services.cleaner.normalize import normalize_line
from services.cleaner.pagetype import is_listing, is_paywalled, needs_javascript
from services.cleaner.treefix import repair_tree

LOGGER = logging.getLogger(__name__)

EXTRACTOR = f"trafilatura {trafilatura.__version__}"

_TEMPLATE = re.compile(r"\{\{|\{%|\}\}")
_KIND_BY_TAG: dict[str, BlockKind] = {"head": "heading", "list": "item", "quote": "quote"}
_LIST_MARKERS = ("- ", "* ", "• ")


UNPARSEABLE = ("not_an_article", "the document is not a readable HTML page")


def parse_html(html: str) -> HtmlElement | None:
    """The one parse of the page; everything else works on this tree.

    trafilatura's loader refuses fragments and script-only documents it deems "dubious";
    lxml is asked directly before giving up, so a redirect stub still yields a tree to judge.
    """
    tree = load_html(html)
    if tree is None:
        try:
            tree = lxml_html.document_fromstring(html)
        except (etree.ParserError, ValueError):
            return None
    return tree


def _blocks_from_body(body: etree._Element) -> list[Block]:
    """trafilatura's output tree as blocks: headings, paragraphs, list items, quotes."""
    blocks: list[Block] = []
    for child in body:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "table":
            blocks.extend(_table_rows(child))
            continue
        kind = _KIND_BY_TAG.get(child.tag, "para")
        if kind == "item":
            for item in (c for c in child if c.tag == "item"):
                blocks.extend(_blocks_of(item, kind))
        else:
            blocks.extend(_blocks_of(child, kind))
    return blocks


def _blocks_of(elem: etree._Element, kind: BlockKind) -> list[Block]:
    blocks = []
    for line in xmltotxt(elem, False).split("\n"):
        line = normalize_line(line)
        if kind == "item" and line.startswith(_LIST_MARKERS):
            line = line[2:].lstrip()
        if line:
            blocks.append(Block(line, kind))
    return blocks


_MIN_ANCHOR_CHARS = 12
_MAX_LINKED_BLOCK_CHARS = 250
_MAX_MEASURED_ITEMS = 100  # partial-link measurement is anchors x items: bound it


def mark_links(tree: HtmlElement, blocks: list[Block]) -> None:
    """Measure how much of short blocks was link text on the page.

    Asking trafilatura to keep links changes what it extracts, so link text is looked up in
    the page instead. Related-story teasers and promo links are links; prose rarely is.
    In-page anchors (tables of contents) are ignored: their targets are the article's own headings.
    Whole-block links are found for every short block, partial ones only in a closing list.
    """
    short = [b for b in blocks if len(b.text) <= _MAX_LINKED_BLOCK_CHARS]
    if not short:
        return
    anchors = set()
    for a in tree.iter("a"):
        if a.get("href", "").startswith("#"):
            continue
        text = a.text_content()
        if len(text) >= _MIN_ANCHOR_CHARS:
            anchors.add(" ".join(text.split()))
    if not anchors:
        return
    for block in short:
        if block.text in anchors:
            block.link_share = 1.0
    start = len(blocks)
    while start > max(0, len(blocks) - _MAX_MEASURED_ITEMS) and blocks[start - 1].kind == "item":
        start -= 1
    for block in blocks[start:]:
        if block.link_share < 1.0 and len(block.text) <= _MAX_LINKED_BLOCK_CHARS:
            best = max((len(a) for a in anchors if a in block.text), default=0)
            block.link_share = best / len(block.text)


def _table_rows(table: etree._Element) -> list[Block]:
    """One block per table row, cells separated by spaces (no "|" markup to mistake for junk)."""
    rows = []
    for row in table.iter("row"):
        cells = [normalize_line(" ".join(cell.itertext())) for cell in row if cell.tag == "cell"]
        text = " ".join(c for c in cells if c)
        if text:
            rows.append(Block(text, "item"))
    return rows


class HtmlExtractor:
    """trafilatura with our settings; `fast` skips its readability/jusText fallbacks."""

    def __init__(self, include_comments: bool = False, fast: bool = True) -> None:
        self.include_comments = include_comments
        self.fast = fast

    def extract(self, tree: HtmlElement, url: str | None = None) -> list[Block]:
        """Main-text blocks of the page ([] when trafilatura finds no main text)."""
        # bare_extraction works on its own copy of the tree, so `tree` stays usable afterwards.
        document = bare_extraction(
            tree,
            url=url,
            fast=self.fast,
            include_comments=self.include_comments,
            include_tables=True,
            with_metadata=False,
        )
        if document is None or document.body is None:
            return []
        blocks = _blocks_from_body(document.body)
        if self.include_comments and document.commentsbody is not None and len(document.commentsbody):
            blocks.extend(_blocks_from_body(document.commentsbody))
        return blocks


_BODY_TEXT = etree.XPath("//body//text()[not(ancestor::script or ancestor::style)]")
_PUBLICATION_LINE_CHARS = 120


def labelled_date(tree: HtmlElement) -> str | None:
    """The day a short publication line names ("publiziert am 25. September 2018", "Publié le 3 mars").

    A last resort after htmldate, whose fast mode reads month names in English only. The date
    may sit in the label's element or next to it, so the label's parent is read when short.
    """
    for text in _BODY_TEXT(tree):
        if len(text) > _PUBLICATION_LINE_CHARS or not PUBLISHED_LABEL.search(text):
            continue
        line = " ".join(text.split())
        parent = text.getparent()
        if parent is not None:
            whole = " ".join(parent.text_content().split())
            if len(whole) <= _PUBLICATION_LINE_CHARS:
                line = whole
        label = PUBLISHED_LABEL.search(line)
        found = text_date(line[label.start() :]) if label else None
        if found:
            return found
    return None


def _page_text(tree: HtmlElement) -> str:  # only for pages whose extraction came out short
    """Visible text of the page body (for marker phrases), bounded to keep it cheap."""
    body = tree.find(".//body")
    if body is None:
        return ""
    return " ".join(t.strip() for t in body.itertext() if t.strip())[:20000]


class HtmlReader:
    """One HTML page to a `Draft`, or a refusal (paywalled, needs_js, not_an_article)."""

    def __init__(self, include_comments: bool = False, fast: bool = True) -> None:
        self.extractor = HtmlExtractor(include_comments=include_comments, fast=fast)
        self.fast = fast

    def read(self, tree: HtmlElement, url: str | None, min_chars: int) -> Draft:
        meta = read_metadata(tree, url)
        repair_tree(tree)
        blocks = self.extractor.extract(tree, url)
        if len(blocks) > MAX_PARAGRAPHS:
            return Draft(blocks=[], extractor=EXTRACTOR, title=meta.title, refusal=TOO_MANY_PARAGRAPHS)
        # Unrendered template syntax ("{{ item.title }}"): the real text comes from JavaScript.
        templated = [b for b in blocks if _TEMPLATE.search(b.text)]
        if templated:
            blocks = [b for b in blocks if not _TEMPLATE.search(b.text)]
        mark_links(tree, blocks)
        # The extractor already dropped comment sections and link lists: only lines go here.
        blocks, dates = remove_furniture(blocks, site_name=meta.site_name, whole_sections=False)
        refusal = self._refusal(tree, meta, blocks, min_chars, bool(templated))

        def find_date() -> str | None:
            try:
                found = htmldate_find(tree, url=url, extensive_search=not self.fast, original_date=True)
                return found or labelled_date(tree)
            except Exception as err:  # a date is optional; never fail the article over it
                LOGGER.debug("date search failed: %s", err)
                return None

        single = bool(meta.page_types & ARTICLE_TYPES) or meta.og_type == "article"
        return Draft(
            blocks=blocks,
            extractor=EXTRACTOR,
            title=meta.title,
            authors=meta.authors,
            date_candidates=[*meta.jsonld_published, *meta.meta_published],
            modified_candidates=[*meta.jsonld_modified, *meta.meta_modified],
            find_date=find_date,
            site_name=meta.site_name,
            canonical_url=meta.canonical_url,
            image=meta.image,
            tags=meta.tags,
            description=meta.description,
            single_article=single,
            fallback_dates=dates,
            refusal=refusal,
        )

    @staticmethod
    def _refusal(
        tree: HtmlElement, meta: PageMeta, blocks: list[Block], min_chars: int, templated: bool
    ) -> tuple[str, str] | None:
        if is_paywalled(tree, meta, blocks, lambda: _page_text(tree)):
            return ("paywalled", "only a teaser is readable without a subscription")
        if needs_javascript(tree, blocks, min_chars, templated):
            return ("needs_js", "the page renders its text with JavaScript")
        if not blocks:
            return ("not_an_article", "no main text found on the page")
        if is_listing(meta, blocks):
            return ("not_an_article", "the page is a listing of other articles")
        return None
