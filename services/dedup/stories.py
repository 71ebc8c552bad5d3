"""Layer 3 of dedup: online story clustering ("same event, different outlets").

Why not shingles: two outlets covering one event share almost no word 3-grams (mean Jaccard
0.01 on the story set); what they share are the *names and specific words* of the event
(Greenland, Rutte, "Baltic Sentry", 559,000 jobs). So each article becomes a weighted term
vector and joins the most similar recent story:

* terms: prose words minus stop words, cut to their first 7 letters (a cheap stemmer that also
  joins Afghan/Afghanistan, vaccine/vaccinated), British spellings folded, numbers kept; title
  terms count 3x because a headline names the event; generic news words count 0.3x;
* weights: sublinear tf x IDF, the IDF learnt online from the stream itself (hashed document
  frequencies), no shipped model;
* stories: the term mass of their members (top 64 terms), IDF-weighted *when scored* so early
  guesses about rarity are not frozen in; an article is scored against the live stories that
  share a key term with it: cosine x exp(-gap / decay), gap = event-time distance to the
  story's span; it joins the best one scoring >= `threshold` (plus a small margin while the
  stream is young), or founds a new story;
* time: a story that has had no article for `window_days` of event time is closed and evicted;
  decay defaults to window/3 (1 day for the 3-day window), so a next-day article needs a clearly
  stronger match than a same-day one, as measured on the story set (stories rarely span days).

The founding article's id gives the story id ("st-<id>"), so ids are deterministic and never
change once given (a story is never merged or renamed later; that is the price of being online).
Design notes and measurements: docs/dedup.md.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from typing import Any

import numpy as np

from services.dedup._store import TimedRows, fingerprints
from services.dedup.fingerprint import analyse, mix64, words

DAY = 86400.0


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# English function words plus reporting verbs; other languages rely on the online IDF alone.
STOP_WORDS = _wordset(
    """
    a about above across after afterwards again against all almost alone along already also although
    always am among an and another any anyhow anyone anything anyway anywhere are around as at back
    be became because become becomes been before beforehand behind being below beside besides
    between beyond both but by can cannot could did do does doing done down during each either else
    elsewhere enough etc even ever every everyone everything everywhere except few for former
    formerly from further had has have having he hence her here hereafter hereby herein hers herself
    him himself his how however i ie if in indeed into is it its itself just last latter latterly
    least less let like made make many may me meanwhile might more moreover most mostly much must my
    myself namely neither never nevertheless next no nobody none noone nor not nothing now nowhere
    of off often on once one only onto or other others otherwise our ours ourselves out over own per
    perhaps please put rather re really said same say says see seem seemed seeming seems several she
    should since so some somehow someone something sometime sometimes somewhere still such than that
    the their theirs them themselves then thence there thereafter thereby therefore therein
    thereupon these they this those though through throughout thru thus to together told too toward
    towards under until up upon us very via was we well were what whatever when whence whenever
    where whereafter whereas whereby wherein whereupon wherever whether which while whither who
    whoever whole whom whose why will with within without would yet you your yours yourself
    yourselves mr mrs ms
    """
)

# Words every kind of news story uses (roles, reporting, time, quantities, generic politics):
# a hand-made prior for what the online IDF cannot know yet on a cold stream. They still
# count, at GENERIC_WEIGHT, so a story made only of them can still cluster.
GENERIC_WORDS = _wordset(
    """
    today yesterday tomorrow week weeks weekend month months year years day days daily
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december morning afternoon evening night time
    times ago recent recently early earlier later late former current new next first second
    third past future ongoing
    people person official officials spokesperson spokesman spokeswoman leader leaders
    president minister ministers secretary general government governments administration state
    states country countries nation nations national international world global public group
    groups member members party parties chief head director authorities agency
    according added announced asked called claimed comment comments confirmed expressed
    noted reported reports report reporting statement statements stated stressed emphasized
    emphasised highlighted urged warned acknowledged suggested believes believe think
    make makes making take takes taking taken took give gives gave given include includes
    including included continue continues continued continuing work works worked working
    plan plans planned planning move moves moved support supports supported effort efforts
    help helps helped need needs needed want wants wanted expect expects expected likely
    possible possibly potential potentially issue issues concern concerns concerned question
    questions decision decisions decide decided step steps part number numbers percent
    million millions billion billions thousand thousands hundreds dozens
    major key important importance significant strong large big small high low long short
    little various different several whole entire amid despite across around toward further
    ensure ensuring address addressing approach aimed aims aim focus focused focusing
    broader broad increase increased increasing increasingly growing grow continued remains
    remain remained
    policy policies political politics issue situation crisis talks meeting meetings
    discussion discussions discuss discussed conference agreement deal measures measure action
    actions response respond process role area areas region regional level levels
    security military defense defence war peace forces force power powers threat threats
    """
)
GENERIC_WEIGHT = 0.3

# British -> American spelling, so "defence" and "defense" are one term (outlets differ).
_SPELLING = {
    "defence": "defense",
    "offence": "offense",
    "licence": "license",
    "pretence": "pretense",
    "centre": "center",
    "centres": "centers",
    "theatre": "theater",
    "metre": "meter",
    "metres": "meters",
    "programme": "program",
    "programmes": "programs",
    "catalogue": "catalog",
    "cancelled": "canceled",
    "travelled": "traveled",
    "labelled": "labeled",
    "modelled": "modeled",
    "counsellor": "counselor",
    "jewellery": "jewelry",
    "tyre": "tire",
    "grey": "gray",
}
_OUR = re.compile(r"^(fav|hon|lab|neighb|behavi|col|harb|rum|hum|vig|endeav|arm|sav|flav|parl)our")
_ISE = re.compile(r"(?<=\w{3})is(e|ed|es|ing|ation|ations)$")


def american(word: str) -> str:
    """Fold common British spellings onto American ones (lower-case input)."""
    word = _SPELLING.get(word, word)
    if "our" in word:
        word = _OUR.sub(r"\1or", word)
    if "is" in word:
        word = _ISE.sub(r"iz\1", word)
    return word


PREFIX = 7  # terms are words cut to 7 letters: a cheap stemmer (vaccine/vaccinated, Afghan/-istan)


def word_term(word: str, prefix: int = PREFIX) -> tuple[str, bool] | None:
    """A normalised word's term and whether it is a generic news word; None for a stop word."""
    if word[0].isdigit():
        return "#" + word, False
    if len(word) < 2 or word in STOP_WORDS:
        return None
    return american(word)[:prefix], word in GENERIC_WORDS


# word -> term id * 2 + generic flag, or -1 for a stop word. Why: the mapping is per word and
# words repeat, so after warm-up an article costs one dict lookup per distinct word, not the
# string work above. Cleared when large (the values are cheap to recompute).
_PACKED: dict[str, int] = {}


def story_vector(
    parts: list[tuple[list[str], float]], generic_weight: float = GENERIC_WEIGHT
) -> tuple[np.ndarray, np.ndarray]:
    """(term ids sorted, weighted counts) of an article from (words, boost) parts: the title
    with its boost, the body with 1. (A numpy version over word hashes was tried: slower for
    news-length texts, where the per-call overhead dominates.)"""
    cache = _PACKED
    if len(cache) > 1 << 20:
        cache.clear()
    out: dict[int, float] = {}
    get = out.get
    for ws, boost in parts:
        for word, c in Counter(ws).items():
            p = cache.get(word)
            if p is None:
                hit = word_term(word)
                p = cache[word] = -1 if hit is None else term_id(hit[0]) * 2 + hit[1]
            if p >= 0:
                k = p >> 1
                out[k] = get(k, 0.0) + (boost * generic_weight * c if p & 1 else boost * c)
    if not out:
        return np.zeros(0, np.uint32), np.zeros(0)
    ids = np.fromiter(out.keys(), np.uint32, len(out))
    weights = np.fromiter(out.values(), np.float64, len(out))
    order = np.argsort(ids)
    return ids[order], weights[order]


def story_terms(
    title_words: list[str],
    body_words: list[str],
    title_boost: float = 3.0,
    generic_weight: float = GENERIC_WEIGHT,
) -> dict[str, float]:
    """Term -> weighted count from an article's words (`fingerprint.words`: normalised,
    case-folded); title terms count x `title_boost`, generic news words x `generic_weight`.
    Readable twin of `story_vector` (which works on term ids), for inspection and tests.

    (A capitalised-word "entity" boost was tried and dropped: neutral to negative on the story
    set, and it needs a second, case-keeping tokenisation.)
    """
    out: dict[str, float] = {}
    for part, boost in ((title_words, title_boost), (body_words, 1.0)):
        for word, c in Counter(part).items():
            hit = word_term(word)
            if hit is not None:
                out[hit[0]] = out.get(hit[0], 0.0) + boost * c * (generic_weight if hit[1] else 1.0)
    return out


def term_id(term: str) -> int:
    """Stable 32-bit term id (crc32; 0 is reserved for padding)."""
    return zlib.crc32(term.encode("utf-8", "surrogatepass")) or 1


def _key_fps(ids: np.ndarray) -> np.ndarray:
    return fingerprints(mix64(ids.astype(np.uint64)))


class StoryIndex:
    """Online story clusterer over a sliding event-time window (times in epoch seconds).

    A story keeps the *term mass* of its members (sum of their unit sublinear-tf vectors, top
    `centroid_terms` terms), not IDF-weighted vectors: IDF is applied when a story is scored,
    with the document frequencies known *then*. Why: early in a stream every IDF is a guess (a
    term seen in all of the first three articles looks as rare as one seen once); freezing those
    guesses into the centroids made e.g. "NATO" the top term of a NATO-and-Greenland story, so
    any NATO item joined it. Re-weighting at query time lets the story's own distinctive terms
    take over as soon as the stream shows which words are everywhere.
    """

    def __init__(
        self,
        window_days: float = 3.0,
        threshold: float = 0.13,
        decay_days: float | None = None,
        title_boost: float = 3.0,
        generic_weight: float = GENERIC_WEIGHT,
        idf_offset: float = 1.0,
        doc_terms: int | None = None,
        centroid_terms: int = 64,
        key_terms: int = 16,
        max_candidates: int = 128,
        idf_bits: int = 20,
        idf_half_life_docs: float = 1_000_000,
        cold_margin: float = 0.06,
        cold_docs: float = 15.0,
        body_words: int | None = 800,
        query_terms: int = 32,
        max_postings: int = 64,
    ) -> None:
        """`threshold`: minimum time-decayed cosine to join a story (tuned on the story set:
        F1 is flat from 0.12 to 0.14). `cold_margin`: extra threshold while the stream has
        seen fewer than `cold_docs` articles, falling linearly to 0 (see `_cold`).
        `doc_terms`: cap on an article's terms (None = all; capping at 64 dropped exactly the
        mid-frequency words two outlets share). `idf_half_life_docs`: document frequencies are
        halved when this many articles have been counted twice over (counted in articles, not
        days, so a sparse stream does not forget its IDF)."""
        self.window = window_days * DAY
        self.threshold = threshold
        self.decay = (decay_days if decay_days is not None else window_days / 3.0) * DAY
        self.title_boost = title_boost
        self.generic_weight = generic_weight
        self.idf_offset = idf_offset
        self.doc_terms = doc_terms
        self.centroid_terms = centroid_terms
        self.key_terms = key_terms
        self.max_candidates = max_candidates
        self.idf_half_life = idf_half_life_docs
        self.body_words = body_words
        self.query_terms = query_terms
        self.max_postings = max_postings
        self._key_count: dict[int, int] = {}
        self.cold_margin = cold_margin
        self.cold_docs = cold_docs
        self._df = np.zeros(1 << idf_bits, dtype=np.float32)
        self._n_docs = 0.0
        m = centroid_terms
        self._rows = TimedRows(
            {
                "terms": (np.uint32, (m,)),
                "mass": (np.float32, (m,)),
                "first": (np.float64, ()),
                "size": (np.uint32, ()),
                "dated": (np.uint8, ()),  # 0: every member undated, so the story's times are ingestion times
            },
            ("story",),
        )

    def __len__(self) -> int:
        return self._rows.n_alive

    # -- vectors -----------------------------------------------------------------------------

    def idf(self, ids: np.ndarray, extra: float = 0.0) -> np.ndarray:
        """Current IDF of term ids (any shape); `extra` counts one more, unseen-yet document."""
        bucket = (ids & np.uint32(self._df.size - 1)).astype(np.int64)
        df = self._df[bucket].astype(np.float64)
        idf = np.log((self._n_docs + extra + 1.0) / (df + extra + 1.0)) + self.idf_offset
        return idf

    def terms(self, title: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Term ids (sorted) and unit sublinear-tf vector of an article (no IDF yet); the body
        contributes its prose lines only (`fingerprint.analyse`)."""
        return self.terms_from_words(words(title), analyse(text).prose if text else [])

    def terms_from_words(self, title_words: list[str], body_words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """`terms` from already tokenised text (the core passes the near-dup layer's prose
        words). The body is cut to `body_words` words: the lede names the event, the tail mostly
        adds cost (no loss measured at 800)."""
        if self.body_words is not None:
            body_words = body_words[: self.body_words]
        ids, c = story_vector([(title_words, self.title_boost), (body_words, 1.0)], self.generic_weight)
        if not ids.size:
            return ids, c
        tf = np.where(c > 1.0, 1.0 + np.log(np.maximum(c, 1.0)), c)  # sublinear, and never < 0
        return ids, tf / np.sqrt((tf * tf).sum())

    def _learn(self, ids: np.ndarray) -> None:
        if self._n_docs >= 2 * self.idf_half_life:  # keep roughly the last 2 half-lives of articles
            self._df *= np.float32(0.5)
            self._n_docs *= 0.5
        # (a bucket shared by two terms of the article is incremented once: fancy += semantics)
        self._df[(ids & np.uint32(self._df.size - 1)).astype(np.int64)] += 1.0
        self._n_docs += 1.0

    def _weigh(self, ids: np.ndarray, tf: np.ndarray, extra: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Unit TF-IDF vector (ids sorted; top `doc_terms` terms if capped)."""
        w = tf * self.idf(ids, extra)
        if self.doc_terms is not None and w.size > self.doc_terms:
            top = np.sort(np.argpartition(-w, self.doc_terms)[: self.doc_terms])
            ids, w = ids[top], w[top]
        return ids, w / (np.sqrt((w * w).sum()) or 1.0)

    # -- clustering --------------------------------------------------------------------------

    def assign(self, doc_id: str, title: str, text: str, t: float) -> str:
        """Story id for a canonical article (call once per near-duplicate group)."""
        return self.assign_terms(doc_id, *self.terms(title, text), t)

    def assign_terms(self, doc_id: str, ids: np.ndarray, tf: np.ndarray, t: float, dated: bool = True) -> str:
        """`assign` for the output of `terms` / `terms_from_words`.

        `dated=False`: the article's own date is unknown (`t` is only when it was ingested, e.g. an
        undated file). Then time neither helps nor hurts: no decay against a story, and joining
        does not stretch the story's span to the ingestion time.
        """
        if not ids.size:
            return f"st-{doc_id}"
        self._learn(ids)
        wids, w = self._weigh(ids, tf)
        rows, scores = self._scores(wids, w, t, dated)
        if rows.size:
            i = int(np.argmax(scores))
            if scores[i] >= self.threshold + self._cold():
                return self._join(int(rows[i]), ids, tf, t, dated)
        return self._found(doc_id, ids, tf, t, dated)

    def _cold(self) -> float:
        """Extra threshold on a young stream. Why: with a handful of articles seen, IDF cannot
        tell a topic word ("NATO" in every article so far) from an event word ("Greenland"),
        and cosines between same-topic articles run high; a small margin that vanishes after
        `cold_docs` articles keeps the first decisions (which are never revised) cautious."""
        return self.cold_margin * max(0.0, 1.0 - self._n_docs / self.cold_docs)

    def score(self, title: str, text: str, t: float) -> list[tuple[str, float]]:
        """What `assign` would see, without changing anything: (story id, score), best first."""
        ids, tf = self.terms(title, text)
        if not ids.size:
            return []
        wids, w = self._weigh(ids, tf, extra=1.0)
        rows, scores = self._scores(wids, w, t)
        story = self._rows.objs["story"]
        pairs = [(story[int(r)], float(sc)) for r, sc in zip(rows, scores, strict=True)]
        return sorted(pairs, key=lambda x: -x[1])

    def _scores(self, ids: np.ndarray, w: np.ndarray, t: float, dated: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Live stories in the window with a key term among the article's `query_terms`
        heaviest terms, and their time-decayed cosines (at most `max_candidates`, those
        sharing the most key terms)."""
        query = ids if ids.size <= self.query_terms else ids[np.argpartition(-w, self.query_terms)[: self.query_terms]]
        rows, hits = self._rows.rows_for(_key_fps(query), counts=True)
        if not rows.size:
            return rows, np.zeros(0)
        cols = self._rows.cols
        gap = np.maximum(0.0, np.maximum(cols["first"][rows] - t, t - self._rows.time[rows]))
        # time only counts between two real dates: an undated article or story is neither near nor far
        gap = gap if dated else np.zeros_like(gap)
        gap[cols["dated"][rows] == 0] = 0.0
        near = gap <= self.window
        rows, gap, hits = rows[near], gap[near], hits[near]
        if rows.size > self.max_candidates:
            keep = np.argpartition(-hits, self.max_candidates)[: self.max_candidates]
            rows, gap = rows[keep], gap[keep]
        if not rows.size:
            return rows, np.zeros(0)
        ct = cols["terms"][rows]
        cw = cols["mass"][rows] * self.idf(ct)
        cw[ct == 0] = 0.0
        cnorm = np.sqrt((cw * cw).sum(axis=1))
        pos = np.minimum(np.searchsorted(ids, ct), ids.size - 1)
        hit = ids[pos] == ct
        cos = np.where(hit, w[pos] * cw, 0.0).sum(axis=1) / np.maximum(cnorm, 1e-12)
        return rows, cos * np.exp(-gap / self.decay)

    def _found(self, doc_id: str, ids: np.ndarray, tf: np.ndarray, t: float, dated: bool = True) -> str:
        story = f"st-{doc_id}"
        terms, mass = self._prune(ids, tf)
        self._rows.append(
            t,
            self._admit(_key_fps(self._key_terms(terms, mass))),
            {"story": story},
            terms=_pad(terms, self.centroid_terms, np.uint32),
            mass=_pad(mass, self.centroid_terms, np.float32),
            first=t,
            size=1,
            dated=int(dated),
        )
        return story

    def _join(self, row: int, ids: np.ndarray, tf: np.ndarray, t: float, dated: bool = True) -> str:
        cols = self._rows.cols
        ct, cm = cols["terms"][row], cols["mass"][row]
        live = ct != 0
        old_key = set(self._key_terms(ct[live], cm[live]).tolist())
        terms, inv = np.unique(np.concatenate([ct[live], ids]), return_inverse=True)
        mass = np.bincount(inv, weights=np.concatenate([cm[live].astype(np.float64), tf]))
        terms, mass = self._prune(terms, mass)
        ct[:] = _pad(terms, self.centroid_terms, np.uint32)
        cm[:] = _pad(mass, self.centroid_terms, np.float32)
        cols["size"][row] += 1
        if dated and not cols["dated"][row]:  # the first real date replaces the ingestion times
            cols["first"][row] = t
            self._rows.time[row] = t
            cols["dated"][row] = 1
        elif dated:
            cols["first"][row] = min(float(cols["first"][row]), t)
            self._rows.time[row] = max(float(self._rows.time[row]), t)
        new_key = [k for k in self._key_terms(terms, mass).tolist() if k not in old_key]
        if new_key:
            self._rows.add_keys(row, self._admit(_key_fps(np.array(new_key, dtype=np.uint32))))
        return self._rows.objs["story"][row]

    def _prune(self, terms: np.ndarray, mass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keep the `centroid_terms` terms with the most TF-IDF weight (ids sorted)."""
        m = self.centroid_terms
        if terms.size > m:
            top = np.sort(np.argpartition(-(mass * self.idf(terms)), m)[:m])
            terms, mass = terms[top], mass[top]
        return terms, mass

    def _key_terms(self, terms: np.ndarray, mass: np.ndarray) -> np.ndarray:
        return terms[np.argsort(-(mass * self.idf(terms)))[: self.key_terms]]

    # -- housekeeping ------------------------------------------------------------------------

    def _admit(self, fps: np.ndarray) -> np.ndarray:
        """The key fingerprints that still have room: at most `max_postings` live stories are
        indexed under one key term. Why: a term that is a key of thousands of stories ("trump"
        in an election week) finds nothing specific, and its long run of equal keys in the
        linear-probing table would slow every lookup that lands near it."""
        count = self._key_count
        keep = [fp for fp in fps.tolist() if count.get(fp, 0) < self.max_postings]
        for fp in keep:
            count[fp] = count.get(fp, 0) + 1
        return np.array(keep, dtype=np.uint32)

    def _recount(self) -> None:
        fps, rows = self._rows.table.items()
        live = rows.astype(np.int64) < self._rows.n
        live[live] = self._rows.alive[rows[live].astype(np.int64)]
        u, c = np.unique(fps[live], return_counts=True)
        self._key_count = dict(zip(u.tolist(), c.tolist(), strict=True))

    def evict_before(self, cutoff: float) -> int:
        """Close stories whose last article is older than `cutoff`."""
        before = self._rows.n
        k = self._rows.evict_before(cutoff)
        if self._rows.n < before:  # compacted: dead postings are gone, recount the live ones
            self._recount()
        return k

    def nbytes(self) -> int:
        return self._rows.nbytes() + self._df.nbytes

    def state(self) -> dict[str, Any]:
        return {
            "rows": self._rows.state(),
            "df": self._df.copy(),
            "n_docs": self._n_docs,
        }

    def load(self, state: dict[str, Any]) -> None:
        self._rows.load(state["rows"])
        self._recount()
        self._df = np.asarray(state["df"], dtype=np.float32).copy()
        self._n_docs = float(state["n_docs"])


def _pad(a: np.ndarray, m: int, dtype: Any) -> np.ndarray:
    out = np.zeros(m, dtype=dtype)
    out[: a.size] = a[:m]
    return out
