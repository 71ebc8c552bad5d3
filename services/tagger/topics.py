"""IPTC top-level topic scoring with a small linear model, numpy only at run time.

The shipped model (`models/topics.npz` + `models/topics_vocab.json`, built by
`ops/train_topics/train.py`) is a TF-IDF bag of words with one-vs-rest logistic-regression
weights. Scoring a document:

1. `tokenize`: lower-case words, known multi-word terms joined with "_" (the phrases are
   the vocabulary entries that contain "_", so the model file alone defines them);
2. x = sublinear TF (1 + ln tf) × IDF, L2-normalised (exactly as in training);
3. z_k = x · (W_k + Λ_k) + o_k, where W are the learned weights, Λ the hand-written
   lexicons of `topic_rules` (a weight per lexicon term of class k: a modest prior for
   classes the data covers well, the stronger "rule" weight for thin classes, uncovered
   sub-areas and classes without data) and o_k a per-class offset (0 for learned classes).
   Classes with no training data (labour, weather) have W_k = 0 and live on the lexicon
   alone. The learned intercepts are *not*
   used: they encode the training mix (29 % politics, 0.04 % education, one-sentence
   texts), not the prior of a news stream, and dropping them ranks topics better on
   article-length text (see ops/train_topics/README.md);
4. calibrated score p_k = σ(a·z_k + b): one Platt scaling shared by all classes (so it
   keeps the ranking), fitted on out-of-fold logits of the training data.

Topics returned: every class with p ≥ `threshold`, and the best class even below it when
the text is "news-like" for the model (enough known words, mostly in the model's
vocabulary: the model is English-only), best first, at most `max_topics`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from services.records import TopicScore

MODEL_DIR = Path(__file__).resolve().parent / "models"
MODEL_FILE = "topics.npz"
VOCAB_FILE = "topics_vocab.json"

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})
_TOKEN = re.compile(r"[^\W\d_]+(?:['_][^\W\d_]+)*|[$£€¥%]")
_POSSESSIVE = re.compile(r"'s\b")


class Tokenizer:
    """Text -> tokens, shared by training and run time so both see the same features."""

    def __init__(self, phrases: Sequence[str] = ()) -> None:
        words = sorted({" ".join(p.lower().split()) for p in phrases if p.strip()}, key=len, reverse=True)
        if words:
            alternatives = "|".join(r"[\s-]+".join(map(re.escape, w.split())) for w in words)
            self._phrase = re.compile(rf"(?<![\w'])(?:{alternatives})(?!\w)")
        else:
            self._phrase = None

    def __call__(self, text: str) -> list[str]:
        text = text.lower().translate(_APOSTROPHES)
        if self._phrase is not None:
            text = self._phrase.sub(lambda m: "_".join(m.group(0).replace("-", " ").split()), text)
        text = _POSSESSIVE.sub("", text)
        return [tok for tok in _TOKEN.findall(text) if len(tok) > 1 or not tok.isalpha()]


def document_text(title: str | None, text: str | None, max_chars: int) -> str:
    """Title and body as one string, body cut at `max_chars` (topic evidence is up front)."""
    title_s = title if isinstance(title, str) else ""
    text_s = text if isinstance(text, str) else ""
    return f"{title_s}\n{text_s[:max_chars]}" if title_s else text_s[:max_chars]


class TopicClassifier:
    """The shipped topic model; load once, then score batches (read-only, thread-safe)."""

    def __init__(
        self,
        model_dir: Path | str | None = None,
        *,
        threshold: float | None = None,
        max_topics: int = 4,
        max_chars: int = 10_000,
        min_known_tokens: int = 5,
        min_coverage: float = 0.5,
    ) -> None:
        """`threshold`: least calibrated score for a topic besides the best one (default:
        the value stored in the model); `min_known_tokens` / `min_coverage`: how many, and
        what share, of a text's tokens the vocabulary must know for the text to count as
        news-like (and get at least one topic)."""
        folder = Path(model_dir) if model_dir is not None else MODEL_DIR
        with np.load(folder / MODEL_FILE, allow_pickle=False) as model:
            self.codes: list[str] = [str(c) for c in model["codes"]]
            self.labels: list[str] = [str(c) for c in model["labels"]]
            idf = model["idf"].astype(np.float32)
            weights = model["weights"].astype(np.float32)  # vocabulary × classes
            lex_rows, lex_cols = model["lexicon_rows"], model["lexicon_cols"]
            lex_values = model["lexicon_values"].astype(np.float32)
            self._offset = model["offset"].astype(np.float32)
            self._platt_a = float(model["platt_a"])
            self._platt_b = float(model["platt_b"])
            params = json.loads(str(model["params"]))
        with open(folder / VOCAB_FILE, encoding="utf-8") as fh:
            terms: list[str] = json.load(fh)
        if len(terms) != len(idf) or weights.shape != (len(terms), len(self.codes)):
            raise ValueError(f"{folder}: vocabulary and weights do not match")
        self.params = params
        self.threshold = float(params.get("threshold", 0.5)) if threshold is None else threshold
        self.max_topics = max_topics
        self.max_chars = max_chars
        self.min_known_tokens = min_known_tokens
        self.min_coverage = min_coverage
        self._vocab: dict[str, int] = {term: i for i, term in enumerate(terms)}
        self._idf = idf
        # Fold the lexicon prior into the weights once: scoring is then a single gather-sum.
        effective = weights.copy()
        np.add.at(effective, (lex_rows, lex_cols), lex_values)
        self._weights = effective
        self.tokenize = Tokenizer([t.replace("_", " ") for t in terms if "_" in t])

    # ------------------------------------------------------------------ scoring
    def logits_many(self, docs: Sequence[tuple[str | None, str | None]]) -> tuple[np.ndarray, np.ndarray]:
        """Uncalibrated z (docs × classes) and a news-like flag per document."""
        n_docs = len(docs)
        n_terms = len(self._idf)
        vocab_get = self._vocab.get
        ids: list[int] = []
        lengths = np.zeros(n_docs, dtype=np.int64)
        news_like = np.zeros(n_docs, dtype=bool)
        for d, (title, text) in enumerate(docs):
            tokens = self.tokenize(document_text(title, text, self.max_chars))
            known = [i for i in map(vocab_get, tokens) if i is not None]
            ids.extend(known)
            lengths[d] = len(known)
            news_like[d] = len(known) >= self.min_known_tokens and len(known) >= self.min_coverage * len(tokens)
        z = np.tile(self._offset, (n_docs, 1))
        if not ids:
            return z, news_like
        doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        key = np.sort(doc_of * n_terms + np.asarray(ids, dtype=np.int64))
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        counts = np.diff(np.append(starts, len(key))).astype(np.float32)
        uniq = key[starts]
        doc = uniq // n_terms
        term = uniq % n_terms
        value = (1.0 + np.log(counts)) * self._idf[term]
        norm = np.sqrt(np.bincount(doc, weights=value * value, minlength=n_docs))
        value /= norm[doc]
        contrib = np.take(self._weights, term, axis=0) * value[:, None]
        doc_starts = np.flatnonzero(np.concatenate(([True], doc[1:] != doc[:-1])))
        z[doc[doc_starts]] += np.add.reduceat(contrib, doc_starts, axis=0)
        return z, news_like

    def calibrate(self, z: np.ndarray) -> np.ndarray:
        """Platt scaling shared by all classes: σ(a·z + b)."""
        return 1.0 / (1.0 + np.exp(-(self._platt_a * z.astype(np.float64) + self._platt_b)))

    def scores_many(self, docs: Sequence[tuple[str | None, str | None]]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated scores (docs × classes, in `codes` order) and the news-like flags."""
        z, news_like = self.logits_many(docs)
        return self.calibrate(z), news_like

    def classify_many(self, docs: Sequence[tuple[str | None, str | None]]) -> list[list[TopicScore]]:
        """Topics per (title, text): best first, multi-label, [] for non-news-like text."""
        if not docs:
            return []
        scores, news_like = self.scores_many(docs)
        order = np.argsort(-scores, axis=1)[:, : self.max_topics]
        out: list[list[TopicScore]] = []
        for d in range(len(docs)):
            topics: list[TopicScore] = []
            if news_like[d]:
                for rank, k in enumerate(order[d].tolist()):
                    score = float(scores[d, k])
                    if rank > 0 and score < self.threshold:
                        break
                    if math.isfinite(score):
                        topics.append({"code": self.codes[k], "label": self.labels[k], "score": round(score, 4)})
            out.append(topics)
        return out

    def classify(self, title: str | None, text: str | None) -> list[TopicScore]:
        return self.classify_many([(title, text)])[0]


_default: TopicClassifier | None = None


def eval_topics(title: str, text: str) -> list[str]:
    """`(title, text) -> IPTC codes, best first`: the shared scorer's adapter (default model)."""
    global _default
    if _default is None:
        _default = TopicClassifier()
    return [topic["code"] for topic in _default.classify(title, text)]
