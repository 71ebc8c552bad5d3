"""Page furniture: the lines a site wraps around every article that are not the article.

Rules are generic shapes, not site strings: calls to action ("Read More", "Share", arrows),
feedback widgets, toolbar junk ("16 px", "↺"), promo blocks ("Job of the Week"), section
labels ("Photo of the Week"), reprint and newsletter notices, reader-comment sections and
trailing lists of other headlines. They run on `Block`s, so plain text and the HTML
extractor's output get the same treatment.
"""

from __future__ import annotations

import re

from services.cleaner.document import Block
from services.cleaner.headlines import (
    is_headline_shape,
    is_sentence,
    is_title_case_headline,
    title_case_ratio,
)

_EDGE_JUNK = " \t.:!|•·*-–—>»›<«‹↓⬇→➡▶►⤵👇()[]"

# Links to the rest of a story: in a roundup they separate the stories, so they become breaks.
_READ_MORE = re.compile(
    r"(?i)(read|see|view) (the )?(more|full (story|article|report|post|text))( here)?|continue reading|"
    r"keep reading|read on|full story|more|learn more|(read|see) (the )?rest( of (the|this) (story|article))?"
)

# Widgets and buttons that render as a line of text.
_BUTTON_LINE = re.compile(
    r"(?i)(help us improve|(was|is) this (article|page|story|information|answer) (helpful|useful)\??|"
    r"(give|send|leave|share) (us )?(your )?feedback|feedback|report an? (error|typo|problem|correction)|"
    r"share( this| the)?( article| story| post| page| video)?( (on|via|with) .{1,30})?|shares?|"
    r"tweet( this)?|e-?mail( this)?( article| story| page)?|print( this)?( article| page| story)?|"
    r"save( article| story)?( for later)?|copy( the)? link|link copied|bookmark|"
    r"(view|show|hide|load|read) (\d+ )?comments?|(\d+ )?comments?( \(\d+\))?|"
    r"advertisement|advertising|ads?|sponsored( content| post| story)?|paid (content|post|partnership)|"
    r"promoted( content| story)?|skip (ad|advert|advertisement)|scroll (down )?to continue( with content)?|"
    r"subscribe( now| today| here)?|sign up( now| today| here)?|sign in|log ?in|register|"
    r"(sign up|subscribe|register)( now)? (for|to) .{1,60}|"
    r"follow us( on .{1,30})?|like us on facebook|close|menu|search|"
    r"(photo|image|picture|video|graphic)s?( credit| courtesy)?( ?: ?.{1,60})?|credit ?: ?.{1,60}|"
    r"listen( to)?( this)?( article| story)?|(watch|play)( the)?( video| now)?|"
    r"like this (story|article)\??.{0,40}|back to top|top of page|"
    r"next( article| story)?|previous( article| story)?|loading( [\w ]{1,30})?( ?\.{3}| ?…)?|"
    r"thanks?( you)?( for (reading|watching|listening|subscribing|signing up))?|about (the )?(author|us)|"
    r"(see|view|watch|read|listen|download|get) [^.!?]{0,40}:)"
)

# Lines that are a copyright notice, a reprint notice or a newsletter pitch, whatever their words.
_NOTICE = re.compile(
    r"(?i)(all rights reserved|^copyright\b|^©|\(c\) \d{4}|personal,? non-?commercial use|"
    r"order (presentation-ready copies|reprints)|^order reprints|^print article|"
    r"distribution and use of this material|may not be (re)?published, broadcast|"
    r"this article has been sent to|an error has occurred, please try again|"
    r"(sign up|subscribe|register) (for|to) (our|the|my) .{0,60}newsletter|"
    r"newsletters?\b.{0,60}\b(inbox|sign up|subscribe)|(get|delivered) .{0,60}(to|in) your inbox|"
    r"thanks? (you )?for (signing up|subscribing)|error processing your subscription|"
    r"keep an eye on your inbox|by (signing up|subscribing),? you agree|"
    r"^also on [\w.-]+\.[a-z]{2,}\b|^(read|see) also\b|^related ?:|"
    r"by clicking here|^click here\b|^tap here\b|"
    r"this (story|article) (was|has been) (originally |first )?(published|posted) (on|by|in)|"
    r"^(this|the) (story|article) (continues|is continued) (below|after)|"
    r"^(originally|first) (published|posted|appeared) (on|in|at|by)\b|\bclick here\b|"
    r"\bfollow (him|her|them|us|me) on (twitter|facebook|instagram)|"
    r"\buse (the )?(promo |coupon |discount )?code\b|"
    r"^follow\b.{0,80}\b(on|at) (facebook|twitter|instagram|youtube|linkedin|tiktok)\b|"
    r"^(reach|contact|e-?mail|follow) (the )?(reporters?|writers?|authors?|him|her|them)\b|"
    r"^(filed under|tags?|topics?|categor(y|ies)|keywords|posted in|more on|related topics)\s*:|"
    r"^(our|editorial) standards\b)"
)
_NOTICE_MAX_CHARS = 320
# No line rule below applies to anything longer (notices are the longest).
_LONGEST_FURNITURE_LINE = _NOTICE_MAX_CHARS
# Cheap gate: the notice regex only runs on lines that start with, or contain, one of these.
_NOTICE_PREFIXES = (
    "copyright", "©", "order reprints", "print article", "also on", "read also", "see also", "related",
    "click here", "tap here", "originally", "first", "follow", "reach", "contact", "e-mail", "email",
    "filed under", "tag", "topic", "categor", "keyword", "posted in", "more on", "our standards",
    "editorial standards", "this story", "this article", "the story", "the article",
)  # fmt: skip
_NOTICE_INFIXES = (
    "reserved", "(c) ", "commercial", "presentation-ready", "distribution and use", "may not be",
    "has been sent to", "error has occurred", "newsletter", "inbox", "thank", "subscription",
    "by signing", "by subscribing", "click here", "this story", "this article", " code",
    "follow him", "follow her", "follow them", "follow us", "follow me",
)  # fmt: skip

# A heading that opens the comments or the other-stories section: the article is over.
_SECTION_END = re.compile(
    r"(?i)((\d+ )?(reader )?comments?( \(\d+\))?|comments are closed|"
    r"(leave|post|add|write) a (comment|reply)|join the (conversation|discussion)|"
    r"(more|other|latest|top|related|recommended|popular|trending)( [\w'’]+){0,2} (stories|news|articles|"
    r"headlines|posts|reads|videos)( (from|on|in|about|for) .{1,40})?|"
    r"related (coverage|content|links|reading|articles|stories)|"
    r"(read|watch|up) next|you (may|might) (also )?(like|enjoy|be interested in)|recommended for you|"
    r"most (read|popular|viewed|shared|watched)( .{1,30})?|(from )?around the web|from across the web|"
    r"editor'?s picks)"
)
# Widget titles that can also sit mid-article ("Most read", "Don't miss"): only the line goes.
_SECTION_LABEL = re.compile(
    r"(?i)(what do you think\??|have your say|tell us what you think.*|trending( now)?|related|recommended|"
    r"more (from|in|on) .{1,40}|don'?t miss( this)?|also (read|see|in)( .{1,40})?)"
)

# Section labels of a newsletter that carry no content of their own.
_LABEL = re.compile(
    r"(?i)(photo|picture|image|video|quote|chart|number|tweet|story|stat|graphic|map|moment|fact|figure|"
    r"post|reel|clip)s? of the (day|week|month|year)|in (pictures|photos|numbers)|gallery|tags|topics|"
    r"(breaking|developing)( news)?|exclusive|just in|update[ds]?|live( updates)?|analysis|opinion|"
    r"commentary|editorial|explainer|interview|fact check"
)

# Headers of blocks that are advertising for something else; the block goes with them.
_PROMO_HEADER = re.compile(
    r"(?i)(jobs?|vacanc(y|ies)|careers?|opportunit(y|ies)|events?|webinars?|podcasts?|offers?|deals?) "
    r"of the (day|week|month)|jobs?( board)?|vacanc(y|ies)|we'?re hiring|careers?( at .{1,40})?|"
    r"sponsored( content| by .{1,40})?|partner (content|message)|paid (post|content)|"
    r".{0,40}\bnewsletters?|upcoming events?|events calendar"
)
_PROMO_MAX_LINES = 4

# Calls to action: a line that points at a button, a gallery or a video.
_ARROWS = frozenset("↓⬇→➡▶►⤵👇")
_CTA = re.compile(
    r"(?i)^(tap|click|scroll|swipe|press|watch|listen|see|view|read|download|get|follow|subscribe|"
    r"sign up|join|check out|find out|discover)\b.{0,100}\b(here|below|above|now|link|button)\W*$"
)
_ARROW_MAX_CHARS, _CTA_MAX_CHARS = 220, 120

# Toolbar junk: font-size controls, refresh arrows.
_UI_MARKERS = re.compile(r"\b\d{1,2} ?px\b|[↺↻⟳⟲]|\bA ?[+−-] ?A ?[+−-]|\bfont ?size\b", re.I)
_UI_CHARS = "pP↺↻⟳⟲+−"
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")

_DOMAIN_LINE = re.compile(r"(?i)(www\.)?[\w-]+(\.[\w-]+)*\.[a-z]{2,}/?")
_HAS_ALNUM = re.compile(r"[^\W_]")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_CONTACT = re.compile(
    r"(?i)\b(write to|e-?mail|reach(ed)?|contact(ed)?|tips?|follow (him|her|them|us)|reporting by)\b"
)


def _core(text: str) -> str:
    return text.strip(_EDGE_JUNK)


def is_read_more(text: str) -> bool:
    core = _core(text)
    return len(core) <= 40 and bool(_READ_MORE.fullmatch(core))


def is_button(text: str) -> bool:
    core = _core(text)
    return len(core) <= 80 and bool(_BUTTON_LINE.fullmatch(core))


def is_notice(text: str) -> bool:
    if len(text) > _NOTICE_MAX_CHARS:
        return False
    low = text.casefold()
    gated = low.startswith(_NOTICE_PREFIXES) or any(t in low for t in _NOTICE_INFIXES)
    return gated and bool(_NOTICE.search(text))


def is_section_end(text: str) -> bool:
    core = _core(text)
    return len(core) <= 80 and bool(_SECTION_END.fullmatch(core))


def is_section_label(text: str) -> bool:
    core = _core(text)
    return len(core) <= 80 and bool(_SECTION_END.fullmatch(core) or _SECTION_LABEL.fullmatch(core))


def is_label(text: str) -> bool:
    core = _core(text)
    return len(core) <= 40 and bool(_LABEL.fullmatch(core))


def is_promo_header(text: str) -> bool:
    core = _core(text)
    return len(core) <= 80 and bool(_PROMO_HEADER.fullmatch(core))


def is_call_to_action(text: str) -> bool:
    if len(text) <= _ARROW_MAX_CHARS and text.rstrip()[-1:] in _ARROWS:
        return True
    return len(text) <= _CTA_MAX_CHARS and bool(_CTA.search(text))


def is_ui_junk(text: str) -> bool:
    """A toolbar rendered as text: size controls or mostly symbols."""
    if len(text) > 100:
        return False
    if any(ch in text for ch in _UI_CHARS) and _UI_MARKERS.search(text):
        return True
    tokens = text.split()
    symbols = sum(1 for tok in tokens if not _HAS_ALNUM.search(tok))
    return len(tokens) >= 4 and symbols >= 3 and symbols >= len(tokens) / 2


def is_domain_line(text: str) -> bool:
    """Just a site's name spelt as a domain ("News.Az", "www.example.com")."""
    return len(text) <= 60 and bool(_DOMAIN_LINE.fullmatch(text.strip()))


def is_contact_line(text: str) -> bool:
    """'Write to the author at x@y.com', 'Have a tip? Reach her at ...': about the author, not the news."""
    return len(text) <= 300 and "@" in text and bool(_EMAIL.search(text)) and bool(_CONTACT.search(text))


_MONTH_DATE = re.compile(
    r"(?i)\b(\d{1,2}\.? )?(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
    r"( \d{1,2}(st|nd|rd|th)?)?,? \d{4}\b"
)
_TIME = re.compile(r"(?i)\b\d{1,2}[:.]\d{2}( ?[ap]\.?m\.?)?( [A-Z]{2,4})?\b")
_URL = re.compile(r"(https?://|www\.)\S+")
_SHORTCODE = re.compile(r"^\[\w+[^\]]*\].*\[/\w+\]$")


def is_timestamp_line(text: str) -> bool:
    """'Published 18 November 2019', 'UPDATED: Tue., Nov. 19, 2019 10:35 a.m.': a date with a label."""
    if len(text) > 80 or "@" in text:  # "— Name (@handle) November 18, 2019" closes a quoted post
        return False
    rest = _ISO_DATE.sub(" ", text)
    rest = _MONTH_DATE.sub(" ", rest)
    if rest == text:
        return False
    rest = _TIME.sub(" ", rest)
    return len(words_of(rest)) <= 3


def words_of(text: str) -> list[str]:
    return [w for w in re.split(r"[\W_]+", text) if w and not w.isdigit()]


def is_url_line(text: str) -> bool:
    """'Listen: http://...', 'iTunes: http://...': a labelled link, nothing to read once it is gone.

    A bare URL is kept: articles cite sources that way.
    """
    if len(text) > 200 or ("http" not in text and "www." not in text):
        return False
    rest = words_of(_URL.sub(" ", text))
    return 1 <= len(rest) <= 2


def is_shortcode(text: str) -> bool:
    """An unrendered CMS shortcode such as '[button link=...]Send us...[/button]'."""
    return bool(_SHORTCODE.match(text))


def is_keyword_list(text: str) -> bool:
    """'stock car 2018, stock car brasil, ...': a tag cloud flattened into a line."""
    parts = [p.strip() for p in text.split(",")]
    return len(parts) >= 4 and not is_sentence(text) and all(0 < len(p.split()) <= 5 for p in parts)


def iso_dates(text: str) -> list[str]:
    """ISO-looking dates in a furniture line (kept as a last-resort publication date)."""
    found = []
    for m in _ISO_DATE.finditer(text):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if 1990 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31:
            found.append(m.group(0).replace(" ", "T"))
    return found


_OPENERS = "[{(<|\\"
_QUOTE_MARK = re.compile(r"(?<![^\W\d_])'|'(?![^\W\d_])")


_WIDGET_SUFFIX = re.compile(r"(?i)\s*(click to tweet|tweet this|share this quote)$")


def tidy_paragraph(text: str) -> str:
    """Drop debris a scraper leaves at a paragraph's end ("troops.'[": an opener, an unmatched quote)."""
    if text.endswith(("eet", "ote", "EET")):
        text = _WIDGET_SUFFIX.sub("", text) or text
    cleaned = text.rstrip().rstrip(_OPENERS).rstrip() if text.rstrip()[-1:] in _OPENERS else text
    if cleaned != text and cleaned.endswith("'") and len(_QUOTE_MARK.findall(cleaned)) % 2 == 1:
        cleaned = cleaned[:-1]
    return cleaned.rstrip() or text


def _starts_story(blocks: list[Block], i: int) -> bool:
    """A headline followed by a body paragraph: the start of the next section, not promo text."""
    if not is_headline_shape(blocks[i].text) or i + 1 >= len(blocks):
        return False
    return len(blocks[i + 1].text) >= 150


def _section_end_index(blocks: list[Block]) -> int | None:
    """Where comments / other-stories sections begin, if they begin after most of the article."""
    total = sum(len(b.text) for b in blocks) or 1
    seen = 0
    for i, block in enumerate(blocks):
        if i >= 2 and seen >= 0.3 * total and block.kind != "item" and is_section_end(block.text):
            return i
        seen += len(block.text)
    return None


def _trailing_link_list_start(blocks: list[Block], after_label: set[int], min_run: int = 3) -> int | None:
    """Start of a run of Title Case headlines closing the text: links to other stories.

    Three or more make a list on their own; after a removed section label ("Related") one is enough.
    """
    i = len(blocks)
    while (
        i > 0
        and blocks[i - 1].kind in ("para", "heading", "break")
        and (blocks[i - 1].kind == "break" or is_title_case_headline(blocks[i - 1].text))
    ):
        i -= 1
    run = [b for b in blocks[i:] if b.kind != "break"]
    if len(run) >= min_run and i > 0:
        return i
    labelled = [j for j in after_label if 0 < i <= j < len(blocks)]
    return min(labelled) if labelled and run else None


# Teaser items link their headline and leave the blurb plain: a third of the text is links.
_TEASER_MIN_LINK_SHARE, _TEASER_MEAN_LINK_SHARE, _TEASER_MIN_ITEMS = 0.2, 0.3, 3


def _trailing_teasers_start(blocks: list[Block], after_gap: set[int]) -> int | None:
    """Start of a closing list of other stories: all links, or right after removed furniture."""
    i = len(blocks)
    while i > 0 and blocks[i - 1].kind == "item" and blocks[i - 1].link_share >= _TEASER_MIN_LINK_SHARE:
        i -= 1
    run = blocks[i:]
    if (
        i > 0
        and len(run) >= _TEASER_MIN_ITEMS
        and sum(b.link_share for b in run) / len(run) >= _TEASER_MEAN_LINK_SHARE
    ):
        return i
    i = len(blocks)
    while i > 0 and blocks[i - 1].kind == "item":
        i -= 1
    return i if 0 < i < len(blocks) and i in after_gap else None


def is_link_headline(block: Block) -> bool:
    """A standalone link to another story ("15 Amazing Images of Stars"), not prose."""
    text = block.text
    if block.link_share < 0.9 or len(text.split()) < 5 or not is_headline_shape(text) or is_sentence(text):
        return False
    return text.isupper() or title_case_ratio(text) >= 0.75


def remove_furniture(
    blocks: list[Block], site_name: str | None = None, whole_sections: bool = True
) -> tuple[list[Block], list[str]]:
    """Blocks without furniture, and any dates the removed toolbar lines carried.

    `whole_sections` also cuts comment sections and trailing headline lists. Plain text needs
    it; an HTML extractor has already removed those sections' content, and a widget title it
    left behind ("Most read") can sit in the middle of the article, so only the line goes.
    """
    dates: list[str] = []
    site_key = (site_name or "").casefold().strip()
    end = _section_end_index(blocks) if whole_sections else None
    if end is not None:
        blocks = blocks[:end]
    kept: list[Block] = []
    # Kept blocks that directly follow removed furniture (a list after a promo box is not the article's).
    after_gap: set[int] = set()
    # Kept blocks that directly follow a removed section label ("Related", "Trending").
    after_label: set[int] = set()
    gap = False
    skip_promo = 0
    for i, block in enumerate(blocks):
        text = block.text
        if block.kind == "break":
            kept.append(block)
            continue
        if gap:
            after_gap.add(len(kept))
        gap = True
        if skip_promo:
            if is_section_end(text) or _starts_story(blocks, i) or len(text) >= 160:
                skip_promo = 0
            else:
                skip_promo -= 1
                continue
        if len(text) > _LONGEST_FURNITURE_LINE and not is_keyword_list(text):
            kept.append(Block(tidy_paragraph(text), block.kind, block.link_share))  # prose: fast path
            gap = False
        elif is_read_more(text):
            kept.append(Block(text, "break"))
        elif is_ui_junk(text) or (block.kind != "quote" and is_timestamp_line(text)):
            dates.extend(iso_dates(text))
        elif not _HAS_ALNUM.search(text):
            continue
        elif is_promo_header(text) and not _starts_story(blocks, i):
            skip_promo = _PROMO_MAX_LINES
        elif is_section_label(text):
            after_label.add(len(kept))
        elif (
            is_button(text)
            or is_label(text)
            or is_call_to_action(text)
            or is_notice(text)
            or is_domain_line(text)
            or is_contact_line(text)
            or is_link_headline(block)
            or is_url_line(text)
            or is_shortcode(text)
            or (is_keyword_list(text) and (i + 1 == len(blocks) or (i > 0 and is_label(blocks[i - 1].text))))
            or (site_key and text.casefold().strip() == site_key)
        ):
            continue
        else:
            kept.append(Block(tidy_paragraph(text), block.kind, block.link_share))
            gap = False
    if whole_sections:
        start = _trailing_link_list_start(kept, after_label)
    else:
        start = _trailing_teasers_start(kept, after_gap)
        if start is None:
            start = _trailing_link_list_start(kept, after_label, min_run=len(kept) + 1)
    if start is not None:
        kept = kept[:start]
    while kept and kept[-1].kind in ("break", "heading"):
        kept.pop()
    while kept and kept[0].kind == "break":
        kept.pop(0)
    return kept, dates
