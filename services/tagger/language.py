"""Language identification for the tag stage: py3langid's model, scored in bulk with numpy.

Why not just call `py3langid.classify`? Its feature extraction walks a byte-level DFA in a
pure-Python loop (about 1 MB/s), far below what the tag stage needs. This module loads the
*same* model through py3langid (`LanguageIdentifier.from_model_file(..., norm_probs=True)`,
restricted with `set_languages`) and reproduces its feature extraction exactly, but for all
byte positions at once: the DFA is an Aho-Corasick automaton over a prefix-closed trie of at
most 6 bytes deep, so the state after byte `i` is the trie node of the longest suffix of
`text[:i+1]` that is in the trie. We find, for every start position, how deep the trie
walk goes (≤ 6 vectorised steps), and for every end position keep the longest match. The
emitted feature counts, the naive-Bayes scores and the `sqrt(bytes)` temperature of
`norm_probs` are then py3langid's own (tests check the equivalence).

On top of the model:
* only a bounded sample of each document is read (`max_bytes`, default 1,000 UTF-8 bytes
  taken paragraph by paragraph across the article), which is plenty for a language and keeps
  the cost per article flat;
* a few orthographic facts the byte n-grams under-use on short inputs (letters only one of
  two close languages writes, and function words of close languages) break ties, see
  `LanguageIdentifier._orthography`;
* input with too few letters, or whose best guess is too unsure, is "und";
* sampled paragraphs are also scored one by one, and an article whose paragraphs
  confidently disagree with the article's language for a substantial share of the text is
  flagged `mixed`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from py3langid.langid import MODEL_FILE
from py3langid.langid import LanguageIdentifier as _LangidModel

UND = "und"

# Our ISO 639-1 code -> py3langid's label, where they differ (py3langid calls Bokmål "no").
TO_LANGID = {"nb": "no", "iw": "he", "in": "id", "ji": "yi", "jw": "jv"}

# Orthographic tie-breakers for confusable languages: letters one side writes and the other
# never does. When only side A's letters occur, side B's languages are ruled out (and vice
# versa); when both occur (quotes, names, mixed text) neither rule applies.
_CONTRASTS: tuple[tuple[str, tuple[str, ...], str, tuple[str, ...]], ...] = (
    ("іїєґІЇЄҐ", ("uk",), "ыэъёЫЭЪЁ", ("ru",)),
    ("æøÆØ", ("da", "nb"), "äöÄÖ", ("sv", "fi")),
    ("ãõÃÕ", ("pt",), "ñ¿¡Ñ", ("es",)),
)

_EAST_SLAVIC = ("uk", "ru")
_UK_LETTERS = frozenset("іїєґІЇЄҐ")
_RU_LETTERS = frozenset("ыэъёЫЭЪЁ")

# Clusters of close languages and frequent function words that only some members use
# (written from grammar knowledge, not from any data set). Only consulted when the two best
# candidates are both in the cluster.
_FUNCTION_WORDS: dict[tuple[str, ...], dict[str, str]] = {
    ("da", "nb", "sv"): {
        "nb": "av hva noe noen mye etter enn meg deg seg gjennom mellom ble blitt nå uten ut opp "
        "tilbake alltid dere vår våre hennes hadde ikke jeg til være ved mot bare alle andre mange "
        "kommune det et at",
        "da": "af hvad noget nogen meget efter end mig dig sig gennem mellem blev blevet nu uden ud op "
        "tilbage altid jer jeres vores hendes havde ikke jeg til være ved mod bare alle andre mange "
        "kommune det et at",
        "sv": "och inte är att jag för till ett hon också utan efter kommun hade vid mot mycket bara "
        "alla andra många sedan genom mellan nu sig av var det hur vad något några",
    },
    ("ru", "uk"): {
        "uk": "і й та що як це від він вона воно вони ми ви ти був була було були буде може цей ця "
        "який яка яке які коли також але або чи ще вже дуже треба саме його її їх усі всі сьогодні "
        "із зі є",
        "ru": "и что это как он она оно они мы вы ты был была было были будет может этот эта который "
        "которая когда тоже также но или ли ещё еще уже очень надо нужно его её ее их все сегодня "
        "мне меня тебя себя только где здесь нет",
    },
    ("es", "pt"): {
        "es": "el los las del y en con una un es pero muy más también lo su sus al hay sin cuando "
        "donde bien ya él le les",
        "pt": "os as do da dos das na nas em um uma com não é mas muito mais também ao aos à seu sua "
        "sem quando onde já bem isso isto ele ela eles elas pelo pela foi são e ou",
    },
}

_WORD = re.compile(r"\w+")
_MARKER = re.compile("[" + "".join(a + b for a, _, b, _ in _CONTRASTS) + "]")
_CYRILLIC_LOWER = re.compile("[а-яёіїєґ]")
_PARA_SPLIT = re.compile(r"\n\s*\n|\n")
_SEPARATOR_BYTE = b"\xff"  # never occurs in UTF-8, so no n-gram feature spans two segments
_LOG2 = math.log(2.0)
# A lead (in nats of naive-Bayes log-likelihood) beyond anything `_orthography` can move.
_DECIDED_MARGIN = 60.0


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """The answer for one text; `lang` is ISO 639-1 or "und"."""

    lang: str
    confidence: float
    mixed: bool = False


@dataclass(slots=True)
class _Sample:
    """The part of one document that is read: UTF-8 segments plus cheap character facts."""

    segments: list[bytes] = field(default_factory=list)
    is_paragraph: list[bool] = field(default_factory=list)
    text: str = ""  # the sampled text, decoded again (for the letter and word checks)
    markers: frozenset[str] = frozenset()  # contrast letters present (see _CONTRASTS)

    def add(self, data: bytes, is_paragraph: bool) -> int:
        """Append one segment; returns its size in bytes."""
        if data:
            self.segments.append(data)
            self.is_paragraph.append(is_paragraph)
        return len(data)

    def finish(self) -> _Sample:
        self.text = b"\n".join(self.segments).decode("utf-8", "ignore")
        self.markers = frozenset(_MARKER.findall(self.text))
        return self


class LanguageIdentifier:
    """py3langid restricted to a candidate set, batched, with "und" and a mixed-language flag.

    Load once (≈1.5 s, ~100 MB) and reuse: the model is large and immutable, and all
    methods are thread-safe reads.
    """

    def __init__(
        self,
        languages: Iterable[str] | None = None,
        *,
        max_bytes: int = 1000,
        segment_bytes: int = 250,
        min_letters: int = 3,
        min_confidence: float = 0.1,
        mixed_min_share: float = 0.2,
        mixed_min_confidence: float = 0.9,
        function_word_weight: float = 2.0,
    ) -> None:
        """Load py3langid's model and derive the vectorised tables (≈1.5 s; do it once).

        `max_bytes`: UTF-8 bytes read per document; `segment_bytes`: least bytes read per
        sampled paragraph; `min_letters`: fewer letters is "und" with confidence 0;
        `min_confidence`: a lower top probability is "und"; a document is `mixed` when
        paragraphs holding ≥ `mixed_min_share` of the sampled paragraph bytes are, with
        probability ≥ `mixed_min_confidence`, in another language than the document;
        `function_word_weight`: log-score penalty per function word a close language lacks.
        Raises ValueError for a code py3langid has no model for.
        """
        if languages is None:
            from services.settings import get_settings

            languages = get_settings().language_set
        self.languages: list[str] = list(dict.fromkeys(code.strip().lower() for code in languages))
        if not self.languages:
            raise ValueError("empty candidate language set")
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.min_letters = min_letters
        # Matches `min_letters` letters (anywhere): a C-speed "enough letters?" test.
        self._enough_letters = re.compile(r"[^\W\d_]" + r"(?:[\W\d_]*[^\W\d_])" * max(min_letters - 1, 0))
        self.min_confidence = min_confidence
        self.mixed_min_share = mixed_min_share
        self.mixed_min_confidence = mixed_min_confidence
        self.function_word_weight = function_word_weight

        model = _LangidModel.from_model_file(MODEL_FILE, norm_probs=True)
        wanted = [TO_LANGID.get(code, code) for code in self.languages]
        unknown = sorted(set(wanted) - set(model.nb_classes))
        if unknown:
            raise ValueError(f"py3langid has no model for: {', '.join(unknown)}")
        model.set_languages(wanted)
        back = {TO_LANGID.get(code, code): code for code in self.languages}
        self._labels: list[str] = [back[label] for label in model.nb_classes]
        self._ptc = np.ascontiguousarray(model.nb_ptc, dtype=np.float32)  # features × langs
        self._pc = np.asarray(model.nb_pc, dtype=np.float32)
        self._build_automaton(model)
        self._exclusions = self._build_exclusions()
        index = {code: i for i, code in enumerate(self._labels)}
        self._cyr = (index["uk"], index["ru"]) if "uk" in index and "ru" in index else None
        self._clusters: list[tuple[frozenset[str], dict[str, int], dict[str, frozenset[str]]]] = []
        for members, lexicons in _FUNCTION_WORDS.items():
            present = [code for code in members if code in index]
            if len(present) < 2:
                continue
            users: dict[str, set[str]] = {}
            for code in present:
                for word in lexicons[code].split():
                    users.setdefault(word, set()).add(code)
            exclusive = {word: frozenset(c) for word, c in users.items() if len(c) < len(present)}
            self._clusters.append((frozenset(present), {c: index[c] for c in present}, exclusive))
        # Top-two pairs that call for `_orthography` even without contrast letters.
        self._pair_checks: set[frozenset[str]] = set()
        for members, _, _ in self._clusters:
            self._pair_checks.update(frozenset((a, b)) for a in members for b in members if a != b)

    # ------------------------------------------------------------------ model tables
    def _build_automaton(self, model: _LangidModel) -> None:
        """Derive the tables the vectorised walk needs from py3langid's DFA."""
        rows = np.frombuffer(model.tk_nextmove, dtype=np.uint32 if model.tk_nextmove.itemsize == 4 else
                             np.uint16).astype(np.int32)
        row_of = np.frombuffer(model.tk_row, dtype=np.uint16 if model.tk_row.itemsize == 2 else
                               np.uint32).astype(np.int32)
        rowbase = row_of << 8
        out = np.asarray(model.tk_output, dtype=np.int32)
        n_states = len(out)
        # Depth of each trie node: breadth-first, level by level. From a node at depth d a
        # transition reaches depth ≤ d + 1, and an unseen target is necessarily a child.
        depth = np.full(n_states, -1, dtype=np.int8)
        depth[0] = 0
        frontier = np.zeros(1, dtype=np.int32)
        level = 0
        byte_range = np.arange(256, dtype=np.int32)
        while len(frontier):
            targets = np.unique(rows[(rowbase[frontier][:, None] + byte_range[None, :]).ravel()])
            frontier = targets[depth[targets] < 0]
            level += 1
            depth[frontier] = level
        self._max_depth = int(depth.max())
        self._rows = rows
        self._rowbase = rowbase
        self._depth = depth
        self._out = out
        root_children = rows[rowbase[0] + byte_range]
        self._t1 = np.where(depth[root_children] == 1, root_children, 0).astype(np.int32)
        pairs = rows[(rowbase[self._t1][:, None] + byte_range[None, :]).ravel()]
        has_first = np.repeat(self._t1 > 0, 256)
        # Trie node of every 2-byte string (0 when not in the trie): one lookup for two steps.
        self._t2 = np.where(has_first & (depth[pairs] == 2), pairs, 0).astype(np.int32)

    def _build_exclusions(self) -> list[tuple[frozenset[str], frozenset[str], list[int]]]:
        """(letters present, letters absent, score columns ruled out) for each contrast side."""
        index = {code: i for i, code in enumerate(self._labels)}
        built = []
        for chars_a, langs_a, chars_b, langs_b in _CONTRASTS:
            for present, absent, ruled_out in ((chars_a, chars_b, langs_b), (chars_b, chars_a, langs_a)):
                cols = [index[code] for code in ruled_out if code in index]
                if cols:
                    built.append((frozenset(present), frozenset(absent), cols))
        return built

    # ------------------------------------------------------------------ public API
    @property
    def labels(self) -> list[str]:
        """Candidate languages in score-column order (our codes, e.g. "nb")."""
        return list(self._labels)

    def __call__(self, text: str) -> str | None:
        """Adapter for the shared scorer: ISO 639-1 code, or None for "und"."""
        guess = self.identify(text)
        return None if guess.lang == UND else guess.lang

    def identify(self, text: str | None, title: str | None = None) -> LanguageGuess:
        """Language of one text (optionally with its title)."""
        return self.identify_many([(title, text)])[0]

    def identify_many(self, docs: Sequence[tuple[str | None, str | None]]) -> list[LanguageGuess]:
        """Languages of many (title, text) pairs in one vectorised pass."""
        samples = [self._sample(title, text) for title, text in docs]
        seg_bytes = [data for sample in samples for data in sample.segments]
        n_docs = len(docs)
        if not seg_bytes:
            return [LanguageGuess(UND, 0.0) for _ in range(n_docs)]
        seg_doc = np.repeat(np.arange(n_docs), [len(sample.segments) for sample in samples])
        seg_len = np.fromiter((len(b) for b in seg_bytes), dtype=np.float64, count=len(seg_bytes))
        seg_raw = self._segment_scores(seg_bytes)  # segments × langs, without the prior
        doc_raw = np.zeros((n_docs, len(self._labels)), dtype=np.float64)
        has_segments = np.flatnonzero(np.bincount(seg_doc, minlength=n_docs))
        doc_starts = np.searchsorted(seg_doc, has_segments)
        doc_raw[has_segments] = np.add.reduceat(seg_raw, doc_starts, axis=0)
        doc_raw += self._pc
        doc_len = np.bincount(seg_doc, weights=seg_len, minlength=n_docs)
        # Spelling evidence only matters where the n-gram scores are close (short texts):
        # skip the per-document Python work when the best language leads by a wide margin.
        if len(self._labels) > 1:
            top2 = np.argsort(-doc_raw, axis=1)[:, :2]
            margin = doc_raw[np.arange(n_docs), top2[:, 0]] - doc_raw[np.arange(n_docs), top2[:, 1]]
            close = np.flatnonzero(margin[has_segments] < _DECIDED_MARGIN)
        else:
            top2, close = None, np.zeros(0, dtype=np.intp)
        for d in has_segments[close].tolist():
            sample = samples[d]
            pair = frozenset(self._labels[i] for i in top2[d])
            if sample.markers or pair in self._pair_checks:
                self._orthography(doc_raw[d], sample)
        doc_prob = self._normalise(doc_raw, doc_len)
        best = doc_prob.argmax(axis=1)
        best_p = doc_prob[np.arange(n_docs), best]

        # Paragraph-level verdicts for the mixed-language flag (the title is not a paragraph).
        seg_prob = self._normalise(seg_raw + self._pc, seg_len)
        seg_best = seg_prob.argmax(axis=1)
        seg_sure = seg_prob.max(axis=1) >= self.mixed_min_confidence
        is_para = np.fromiter((flag for sample in samples for flag in sample.is_paragraph), dtype=bool,
                              count=len(seg_bytes))
        para_bytes = np.bincount(seg_doc, weights=seg_len * is_para, minlength=n_docs)
        other = is_para & seg_sure & (seg_best != best[seg_doc])
        other_bytes = np.bincount(seg_doc, weights=seg_len * other, minlength=n_docs)

        results = []
        for d, sample in enumerate(samples):
            conf = float(best_p[d])
            if not sample.segments or not self._enough_letters.search(sample.text):
                results.append(LanguageGuess(UND, 0.0))
            elif conf < self.min_confidence:
                results.append(LanguageGuess(UND, round(conf, 4)))
            else:
                mixed = bool(para_bytes[d] > 0 and other_bytes[d] >= self.mixed_min_share * para_bytes[d])
                results.append(LanguageGuess(self._labels[best[d]], round(conf, 4), mixed))
        return results

    # ------------------------------------------------------------------ internals
    def _sample(self, title: str | None, text: str | None) -> _Sample:
        """Pick the bytes to read: the title, then paragraphs spread over the article.

        Paragraphs are visited first, last, middle, … (bisection), each cut to its share of
        the budget (at least `segment_bytes`), until `max_bytes` are collected: a long article
        costs the same as a short one, and a foreign-language block at its end is still seen.
        """
        sample = _Sample()
        budget = self.max_bytes
        title_s = title.strip() if isinstance(title, str) else ""
        if title_s:
            budget -= sample.add(_encode(title_s, min(budget, self.segment_bytes)), False)
        text_s = text if isinstance(text, str) else ""
        paragraphs = [p for p in (q.strip() for q in _PARA_SPLIT.split(text_s[:200_000])) if p]
        if paragraphs:
            share = max(self.segment_bytes, budget // len(paragraphs))
            for i in _spread_order(len(paragraphs)):
                if budget <= 0:
                    break
                budget -= sample.add(_encode(paragraphs[i], min(budget, share)), True) + 1
        return sample.finish()

    def _orthography(self, raw: np.ndarray, sample: _Sample) -> None:
        """Adjust one document's raw scores with spelling facts the n-gram model under-uses.

        * hard contrasts (`_CONTRASTS`): a letter only one side of a pair writes;
        * for Cyrillic text with neither side's letters, the chance of that absence under
          each language (letter frequencies: Ukrainian і/ї/є/ґ ≈ 7 %, Russian ы/э/ъ/ё ≈ 2.3 %);
        * when the two best candidates belong to one cluster of close languages, function
          words only some members use (`_FUNCTION_WORDS`) count against the others.
        These matter on sentence-length input; on article-length input the n-gram evidence
        (which grows with the text) dominates them.
        """
        chars = sample.markers
        for present, absent, cols in self._exclusions:
            if not present.isdisjoint(chars) and absent.isdisjoint(chars):
                raw[cols] = -np.inf
        uk_or_ru = self._cyr is not None and self._labels[int(raw.argmax())] in _EAST_SLAVIC
        if uk_or_ru and _UK_LETTERS.isdisjoint(chars) and _RU_LETTERS.isdisjoint(chars):
            n_cyr = len(_CYRILLIC_LOWER.findall(sample.text.lower()))
            if n_cyr:
                uk, ru = self._cyr
                raw[uk] += n_cyr * math.log(1 - 0.07)
                raw[ru] += n_cyr * math.log(1 - 0.023)
        top2 = np.argpartition(-raw, 1)[:2] if len(raw) > 1 else np.argsort(-raw)
        pair = {self._labels[i] for i in top2}
        for members, cols, word_users in self._clusters:
            if pair <= members:
                for word in _WORD.findall(sample.text.lower()):
                    users = word_users.get(word)
                    if users is not None:
                        for code, col in cols.items():
                            if code not in users:
                                raw[col] -= self.function_word_weight

    def _segment_scores(self, segments: list[bytes]) -> np.ndarray:
        """Naive-Bayes feature sums per segment: py3langid's `_sparse_score` without the prior.

        Each segment's score is Σ_f log1p(count_f)·ptc[f]. We sum ptc over all feature
        occurrences in position order (no sort needed: segments are contiguous), scale by
        log 2 (the weight of a feature seen once), and correct the few features seen more
        than once with (log1p(c) − c·log 2)·ptc[f].
        """
        n_segs = len(segments)
        scores = np.zeros((n_segs, len(self._labels)), dtype=np.float64)
        data = _SEPARATOR_BYTE.join(segments) + _SEPARATOR_BYTE * self._max_depth
        a = np.frombuffer(data, dtype=np.uint8).astype(np.int32)
        n = len(a) - self._max_depth  # the padding lets every walk step read ahead safely
        take = np.take
        best = take(self._t1, a[:n])  # trie node of the longest suffix ending at each byte
        state = take(self._t2, (a[:n] << 8) | a[1 : n + 1])  # 2-byte node starting at each byte
        pos = np.flatnonzero(state)
        state = take(state, pos)
        np.put(best, pos + 1, state)
        for length in range(3, self._max_depth + 1):
            nxt = take(self._rows, take(self._rowbase, state) + take(a, pos + (length - 1)))
            alive = np.flatnonzero(take(self._depth, nxt) == length)
            if not len(alive):
                break
            pos = take(pos, alive)
            state = take(nxt, alive)
            np.put(best, pos + (length - 1), state)
        feats = take(self._out, best)
        where = np.flatnonzero(feats >= 0)
        if not len(where):
            return scores
        feats = take(feats, where)
        ends = np.cumsum(np.fromiter((len(s) + 1 for s in segments), dtype=np.int64, count=n_segs))
        seg = np.searchsorted(ends, where, side="right")
        starts = np.flatnonzero(np.concatenate(([True], seg[1:] != seg[:-1])))
        summed = np.add.reduceat(take(self._ptc, feats, axis=0), starts, axis=0)
        scores[take(seg, starts)] = summed * _LOG2
        # Correction for features that occur more than once in a segment.
        n_feats = self._ptc.shape[0]
        key_type = np.int32 if n_segs * n_feats < 2**31 else np.int64
        key = np.sort(seg.astype(key_type) * key_type(n_feats) + feats)
        group_starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        counts = np.diff(np.append(group_starts, len(key)))
        repeated = np.flatnonzero(counts > 1)
        if len(repeated):
            rkey = take(key, take(group_starts, repeated)).astype(np.int64)
            c = take(counts, repeated).astype(np.float32)
            fix = take(self._ptc, rkey % n_feats, axis=0) * (np.log1p(c) - c * np.float32(_LOG2))[:, None]
            rseg = rkey // n_feats  # sorted, since the keys are
            rstarts = np.flatnonzero(np.concatenate(([True], rseg[1:] != rseg[:-1])))
            scores[take(rseg, rstarts)] += np.add.reduceat(fix, rstarts, axis=0)
        return scores

    @staticmethod
    def _normalise(raw: np.ndarray, n_bytes: np.ndarray) -> np.ndarray:
        """py3langid's norm_probs: softmax of the scores at temperature sqrt(bytes)."""
        scaled = raw / np.sqrt(np.maximum(n_bytes, 1.0))[:, None]
        scaled -= scaled.max(axis=1, keepdims=True)
        np.exp(scaled, out=scaled)
        scaled /= scaled.sum(axis=1, keepdims=True)
        return scaled


def _encode(text: str, limit: int) -> bytes:
    """py3langid's input normalisation (all-caps lowered, NFC, UTF-8), cut to `limit` bytes."""
    piece = text[: limit + 8]
    if piece.isupper():
        piece = piece.lower()
    data = unicodedata.normalize("NFC", piece).encode("utf-8", "replace")
    if len(data) > limit:  # cut, dropping a multi-byte character split at the end
        data = data[:limit].decode("utf-8", "ignore").encode("utf-8")
    return data


def _spread_order(n: int) -> Iterator[int]:
    """0, n-1, then midpoints of the gaps: a coarse-to-fine walk over n paragraphs."""
    if n <= 2:
        yield from range(n)
        return
    yield 0
    yield n - 1
    gaps = [(0, n - 1)]
    while gaps:
        nxt = []
        for lo, hi in gaps:
            if hi - lo >= 2:
                mid = (lo + hi) // 2
                yield mid
                nxt.extend(((lo, mid), (mid, hi)))
        gaps = nxt


_default: LanguageIdentifier | None = None


def detect(text: str) -> str | None:
    """`text -> ISO 639-1 | None` with the default candidate set (the shared scorer's adapter)."""
    global _default
    if _default is None:
        _default = LanguageIdentifier()
    return _default(text)
