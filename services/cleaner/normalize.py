"""Unicode and whitespace normalisation, and the split of a text into paragraphs.

Every later rule (furniture patterns, headline shapes, story splitting) compares strings, so
they must all see one canonical spelling: NFC, no invisible or control characters, single
spaces, no blank-line runs. `normalize_text` is idempotent, which the property tests check.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import pairwise

# Line and paragraph separators that are not "\n" (Unicode and old ASCII ones).
_LINE_BREAKS = re.compile("[\r\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x85]")
# Invisible characters that only break matching. ZWJ/ZWNJ stay: emoji and some scripts need them.
_INVISIBLE = re.compile("[\u200b\u2060\ufeff\u00ad\u180e]")
# C0/C1 controls except tab and newline.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")

# Lines of a hard-wrapped block (e-mail, wire copy) are rejoined into one paragraph.
_WRAP_MIN, _WRAP_MAX = 35, 100


def normalize_text(text: str) -> str:
    """NFC, one kind of newline, single spaces, at most one blank line between blocks."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n")
    text = _LINE_BREAKS.sub("\n", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROLS.sub("", text)
    # str.split() knows every Unicode space; it is also much faster than a regex here.
    lines: list[str] = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        if line or (lines and lines[-1]):
            lines.append(line)
    text = "\n".join(lines).strip()
    # Removing characters can expose new compositions (e.g. "e<ZWSP><acute>").
    return unicodedata.normalize("NFC", text)


def normalize_line(text: str) -> str:
    """One paragraph on one line (HTML blocks may carry stray newlines)."""
    text = _CONTROLS.sub("", _INVISIBLE.sub("", unicodedata.normalize("NFC", text)))
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _is_hard_wrapped(lines: list[str]) -> bool:
    """A block whose lines (but the last) all have similar, mid-range lengths was wrapped by a tool."""
    if len(lines) < 3:
        return False
    body = lines[:-1]
    if any(not _WRAP_MIN <= len(line) <= _WRAP_MAX for line in body):
        return False
    if max(len(line) for line in body) - min(len(line) for line in body) > 30:
        return False
    # Wrapped prose continues mid-sentence; a list of titles starts every line with a capital.
    continued = sum(1 for prev, line in pairwise(lines) if _continues(prev, line))
    return continued >= 0.4 * (len(lines) - 1)


def _continues(prev: str, line: str) -> bool:
    return line[0].islower() or prev[-1] in ",;-–(" or prev.endswith(("and", "the", "of", "a", "to"))


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of a normalised text: one per line, or one per block when a block is hard-wrapped."""
    paragraphs: list[str] = []
    for block in text.split("\n\n"):
        lines = [line for line in block.split("\n") if line]
        if not lines:
            continue
        if _is_hard_wrapped(lines):
            paragraphs.append(" ".join(lines))
        else:
            paragraphs.extend(lines)
    return paragraphs


_KEY_STRIP = re.compile(r"[\W_]+")


def match_key(text: str) -> str:
    """Case- and punctuation-blind key, to tell whether two strings say the same words."""
    return _KEY_STRIP.sub("", text.casefold())
