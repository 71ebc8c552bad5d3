"""What a headline looks like, and how to make a short title from prose.

Plain text carries no markup, so headlines (of an article, of a story inside a newsletter, of
a "related stories" list) are recognised by shape: short, no sentence-final punctuation,
mostly capitalised words. Several rules (top-of-text title, trailing link lists, story
splitting) share these predicates, so they live here once.
"""

from __future__ import annotations

import re

from services.cleaner.normalize import match_key

MAX_HEADLINE_CHARS = 160
MAX_HEADLINE_WORDS = 24
# A line ending in one of these is a sentence (or a dangling clause), not a headline.
_SENTENCE_END = tuple(".,;:!…")
# Words that stay lower case in Title Case.
_MINOR_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "but",
        "by",
        "for",
        "from",
        "in",
        "into",
        "nor",
        "of",
        "on",
        "onto",
        "or",
        "over",
        "per",
        "the",
        "to",
        "up",
        "via",
        "vs",
        "with",
        "amid",
        "after",
        "before",
        "over",
        "than",
        "out",
        "off",
        "is",
        "are",
        "be",
    ]
)
_WORD = re.compile(r"[^\W\d_][\w'’\-.&]*")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def title_case_ratio(line: str) -> float:
    """Share of significant words that start with a capital letter (1.0 for Title Case)."""
    significant = [w for w in words(line) if w.casefold() not in _MINOR_WORDS]
    if not significant:
        return 0.0
    return sum(1 for w in significant if w[0].isupper()) / len(significant)


def is_headline_shape(line: str) -> bool:
    """Short, starts like a title and does not end like a sentence."""
    if not line or len(line) > MAX_HEADLINE_CHARS:
        return False
    if len(line.split()) > MAX_HEADLINE_WORDS or not any(ch.isalpha() for ch in line):
        return False
    first = line.lstrip("\"'“‘«(")[:1]
    if not (first.isupper() or first.isdigit()):
        return False
    return not line.rstrip("\"'”’»)").endswith(_SENTENCE_END)


def is_title_case_headline(line: str) -> bool:
    """Headline shape in Title Case, as link lists and section titles are written."""
    return is_headline_shape(line) and len(line.split()) >= 3 and title_case_ratio(line) >= 0.75


def is_sentence(line: str) -> bool:
    """Ends like prose (a period, question or exclamation mark, possibly inside a closing quote)."""
    return line.rstrip("\"'”’»)]").endswith((".", "!", "?", "…"))


# Abbreviations whose period does not end a sentence.
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "sr",
        "jr",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "gov",
        "sen",
        "rep",
        "rev",
        "inc",
        "ltd",
        "co",
        "corp",
        "no",
        "vs",
        "etc",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
        "u.n",
        "e.u",
        "a.m",
        "p.m",
    ]
)
_SENTENCE_BOUNDARY = re.compile(r"([.!?…])([\"'”’)]*)\s+(?=[\"'“‘(]?[A-Z0-9])")


def first_sentence(text: str) -> str:
    """The first sentence of a paragraph (abbreviation-aware, good enough for titles)."""
    for match in _SENTENCE_BOUNDARY.finditer(text):
        before = text[: match.start(1)]
        token = before.rsplit(None, 1)[-1].casefold() if before.strip() else ""
        token = token.lstrip("\"'“‘(")
        if match.group(1) == "." and (token in _ABBREVIATIONS or len(token) == 1):
            continue
        return text[: match.end(2)].strip()
    return text.strip()


def short_title(paragraph: str, limit: int = 110) -> str:
    """A sensible title for an untitled story: its first sentence, cut at a clause or word boundary."""
    sentence = first_sentence(paragraph).rstrip()
    if len(sentence) <= limit:
        return sentence.rstrip(".").rstrip()
    head = sentence[:limit]
    # Prefer ending at a clause boundary that leaves a meaningful title.
    for mark in (", ", " — ", " – ", " - ", "; ", ": "):
        cut = head.rfind(mark)
        if cut >= 40:
            return head[:cut].rstrip()
    return head.rsplit(" ", 1)[0].rstrip(",;:") + "…"


def same_text(a: str | None, b: str | None) -> bool:
    """Do two strings say the same words (ignoring case, spacing and punctuation)?"""
    if not a or not b:
        return False
    ka, kb = match_key(a), match_key(b)
    return bool(ka) and ka == kb


def repeats_title(line: str, title: str | None) -> bool:
    """The line is the headline again: equal, or one contains the other (site suffixes, kickers)."""
    if not title:
        return False
    kl, kt = match_key(line), match_key(title)
    if not kl or not kt:
        return False
    if kl == kt:
        return True
    shorter, longer = sorted((kl, kt), key=len)
    return len(shorter) >= 20 and shorter in longer and len(shorter) >= 0.6 * len(longer)
