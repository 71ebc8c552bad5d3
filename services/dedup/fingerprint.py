"""Layer 1 of dedup: text normalisation, word shingles and the exact-duplicate key.

Why one module for all of these: the exact key, the MinHash shingles and the story terms must
see the *same* words, or a copy that differs only in quote style would be "exact" for one layer
and "different" for another. Everything here is a pure function of the text and deterministic
across processes (no `hash()`, whose seed changes per interpreter), so fingerprints computed on
one worker match fingerprints restored from another worker's snapshot.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from services.dedup._store import RowIndex, TimedRows, fingerprint

# Characters that are invisible or purely typographic; copies pasted through CMSes gain and
# lose them freely, so they must never make two texts differ.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_QUOTE_DASH = {
    **{ord(c): "'" for c in "\u2018\u2019\u201a\u201b\u2032\u02bc\u00b4"},
    **{ord(c): '"' for c in "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"},
    **{ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"},
    **{ord(c): None for c in _INVISIBLE},
}
_QUOTE_DASH_RE = re.compile("[" + "".join(re.escape(chr(c)) for c in _QUOTE_DASH) + "]")
_WORD = re.compile(r"\w+")
# A line "ends a sentence" if its last visible character is terminal punctuation, optionally
# followed by closing quotes / brackets.
_SENTENCE_END = re.compile(r"[.!?…。！？;:]['\"’”)\]»]*$")

SHINGLE_WORDS = 3  # word 3-grams: measured best trade-off between copy recall and same-story negatives

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)


def _prepare(text: str) -> str:
    """Unescape entities, NFKC, one quote/dash style, no zero-width characters (case kept)."""
    if "&" in text:
        text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    return _QUOTE_DASH_RE.sub(_swap, text)


def _swap(m: re.Match[str]) -> str:
    return _QUOTE_DASH.get(ord(m.group()), "") or ""


def normalize(text: str) -> str:
    """Canonical form used for exact matching: NFKC, casefold, one quote/dash style, no
    HTML entities or zero-width characters, single spaces.

    Why NFKC + casefold: syndicated copies routinely swap full-width / ligature forms and
    letter case in headlines; neither changes what the article says.
    """
    return " ".join(_prepare(text).casefold().split())


def words(text: str) -> list[str]:
    """Word tokens (`\\w+`) of the normalised text; punctuation is dropped on purpose so
    `--` vs `—` or `"` vs `“` cannot split a copy from its original."""
    return _WORD.findall(_prepare(text).casefold())


@dataclass(frozen=True, slots=True)
class TextWords:
    """All words of a text (for the exact key) and the words of its prose lines (for shingles)."""

    all: list[str]
    prose: list[str]
    prose_text: str  # the kept lines (normalised, case kept), for the story layer


def analyse(text: str, min_words: int = 5, long_words: int = 30, min_keep: int = 20) -> TextWords:
    """One normalisation pass giving both word lists.

    Why prose lines: scraped copies differ from the original mostly by lines that are *not*
    prose: a new or restyled headline, a byline, "Advertisement", a trailing "Read more" list of
    other headlines. Those lines are short and do not end a sentence, so shingling only the lines
    that do (or that are long) makes a copy and its original share nearly all shingles. A short
    unterminated line followed by a line starting in lower case is a hard-wrapped sentence and
    is kept. When too little prose is left (a bullet-list article, a bare headline), all words
    are used.
    """
    lines = [ln.strip() for ln in _prepare(text).splitlines()]
    lines = [ln for ln in lines if ln]
    kept: list[str] = []
    every: list[str] = []
    kept_lines: list[str] = []
    for i, line in enumerate(lines):
        w = _WORD.findall(line.casefold())
        if not w:
            continue
        every.extend(w)
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        wrapped = bool(nxt) and nxt[0].islower()
        if len(w) >= long_words or wrapped or (len(w) >= min_words and _SENTENCE_END.search(line)):
            kept.extend(w)
            kept_lines.append(line)
    if len(kept) < min_keep and len(kept) < len(every) // 2:
        return TextWords(every, every, "\n".join(lines))
    return TextWords(every, kept, "\n".join(kept_lines))


def prose_words(text: str) -> list[str]:
    """Words of the prose lines (see `analyse`)."""
    return analyse(text).prose


def exact_key(tokens: list[str]) -> int:
    """64-bit key of the word sequence: two bodies get the same key iff they have the same
    words in the same order after normalisation (quotes, dashes, whitespace, case ignored)."""
    data = "\x1f".join(tokens).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, person=b"nf-exact").digest(), "little")


def text_key(text: str) -> int:
    """64-bit stable hash of an arbitrary string (article ids); deterministic across processes."""
    data = text.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, person=b"nf-text").digest(), "little")


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, vectorised: turns structured uint64 inputs into well-spread ones
    (MinHash needs its inputs to look random for the min to be an unbiased sample)."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * _C1
        x = x ^ (x >> np.uint64(27))
        x = x * _C2
        return x ^ (x >> np.uint64(31))


def word_hashes(tokens: list[str]) -> np.ndarray:
    """64-bit hash per word, computed for all words at once.

    Why not one hash call per word: that Python loop was a third of the near-dup cost. The words
    are joined into one byte string and hashed with a polynomial prefix sum in numpy
    (h(word) = sum b_i P^i mod 2^64, P odd so P^-start exists), then mixed.
    """
    if not tokens:
        return np.zeros(0, dtype=np.uint64)
    data = ("\x00".join(tokens) + "\x00").encode("utf-8", "surrogatepass")
    b = np.frombuffer(data, dtype=np.uint8).astype(np.uint64) + np.uint64(1)
    n = b.size
    _ensure_powers(n + 1)
    ends = np.flatnonzero(b == np.uint64(1))  # separator positions (byte 0 -> 1)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    with np.errstate(over="ignore"):
        prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(b * _POW[:n], out=prefix[1:])
        raw = (prefix[ends] - prefix[starts]) * _INV[starts]
        return mix64(raw ^ (ends - starts).astype(np.uint64))


_P = 0x100000001B3  # FNV prime, odd
_POW = np.ones(1, dtype=np.uint64)
_INV = np.ones(1, dtype=np.uint64)


def _ensure_powers(n: int) -> None:
    global _POW, _INV
    if _POW.size >= n:
        return
    size = max(n, 2 * _POW.size, 4096)
    with np.errstate(over="ignore"):
        _POW = np.cumprod(np.full(size, np.uint64(_P), dtype=np.uint64))
        _POW = np.concatenate([np.ones(1, dtype=np.uint64), _POW[:-1]])
        _INV = np.cumprod(np.full(size, np.uint64(pow(_P, -1, 1 << 64)), dtype=np.uint64))
        _INV = np.concatenate([np.ones(1, dtype=np.uint64), _INV[:-1]])


def shingle_hashes(tokens: list[str], k: int = SHINGLE_WORDS, hashes: np.ndarray | None = None) -> np.ndarray:
    """Distinct 64-bit hashes of the word k-grams (a text shorter than k is one shingle);
    `hashes` = `word_hashes(tokens)` when the caller already has them."""
    w = word_hashes(tokens) if hashes is None else hashes
    if not w.size:
        return w
    if len(w) < k:
        k = len(w)
    n = len(w) - k + 1
    with np.errstate(over="ignore"):
        acc = np.full(n, np.uint64(k), dtype=np.uint64)
        for j in range(k):
            acc = (acc * _P1 + w[j : j + n]) * _P2 ^ np.uint64(j + 1)
    return np.unique(mix64(acc))


class ExactIndex(RowIndex):
    """Layer 1: exact-duplicate lookup, exact key -> (canonical id, story id), evicted by time.

    Costs ~40 bytes per indexed text (8-byte key column, 8-byte time, one 8-byte table slot at
    ~50% load, two shared string references).
    """

    def __init__(self) -> None:
        self._rows = TimedRows({"key": (np.uint64, ())}, ("root", "story"))

    def __len__(self) -> int:
        return self._rows.n_alive

    def get(self, key: int) -> tuple[str, str] | None:
        """(canonical id, story id) of the first live text with this key, or None."""
        keys = self._rows.cols["key"]
        for row in self._rows.rows_for_one(fingerprint(key)):
            if int(keys[row]) == key:
                return self._rows.objs["root"][row], self._rows.objs["story"][row]
        return None

    def add(self, key: int, root: str, story: str, t: float) -> None:
        self._rows.append(t, fingerprint(key), {"root": root, "story": story}, key=key)
