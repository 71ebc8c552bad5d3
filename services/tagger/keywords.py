"""Key phrases of an article: a small statistical extractor (RAKE-style candidates, YAKE-like cues).

Why not YAKE itself: `yake` 0.7.3 extracted 22 docs/s on the 3 KB seed articles here, ~50x
too slow for the tag stage. This extractor keeps YAKE's idea (no training, one document at
a time, cues from the text itself) and adds a word-rarity prior:

1. Sample: the title plus the first `max_chars` (1,000) characters of the body: the lead
   carries the key phrases, and the cost stays flat however long the article.
2. Tokens: punctuation split off, apostrophes split ("NATO's" -> NATO ' s), hyphenated
   words kept. Boundaries: punctuation, numbers, one-letter tokens, function words, and
   common words unless capitalised inside a sentence (so "United States" and "New York"
   survive while "new" and "states" are boundaries), two-letter words unless upper case
   inside a sentence ("EU", "UN"). English function words are listed
   below; for other languages they are the 120 most frequent words of wordfreq's list.
   Common words: the next most frequent up to rank 250 (English: the 250 most frequent
   that are not function words).
3. Word weight: rarity (7 - Zipf frequency from wordfreq, clamped to 0.5..6, so "arctic"
   outweighs "government"; words outside the list count as rare) x 1.4 for words never
   written in lower case in the body (names; the title's case says nothing) x 1.3 for words
   in the title or the first 60 words.
4. Scores: a word, (1 + ln frequency) x weight; a phrase of 2-3 consecutive words, all among
   the 30 best-scoring words, (1 + ln phrase frequency) x sum of weights / length^0.3, and
   x 0.7 instead of 1 for a phrase seen once. So "Arctic security" (4 times) beats "Arctic"
   (5 times); a phrase seen once rarely beats its best word.
5. The `top` (8) best, skipping any that repeats one already chosen (see `_clash`: not
   both "Arctic security" and "Arctic"). Surface form: as written inside a sentence
   ("NATO", "Arctic security"), else as first written.

Language-aware through the stopwords and rarity of the article's language (wordfreq has
lists for all 24 default languages). Chinese and Japanese (no word spaces; this tokeniser
cannot segment them), "und" and languages wordfreq lacks get no keywords.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress, repeat
from operator import and_, gt, mul

MAX_CHARS = 1000
NO_KEYWORDS = frozenset({"zh", "ja", "und"})
# Tokenising = str.replace per punctuation mark + str.split (about half the cost of a
# regex): punctuation becomes a separate token, "." for sentence ends, '"' for quotes and
# brackets, "," and "|" for other breaks; apostrophes split ("NATO's" -> NATO " s), hyphens
# stay inside words.
_PUNCT: tuple[tuple[str, str], ...] = (  # each mark costs a scan: the frequent ones only
    *((c, " . ") for c in ".!?;:।؟"),
    *((c, " , ") for c in ",،"),
    *((c, ' " ') for c in "\"“”„«»‘’'()[]"),
    *((c, " | ") for c in "/|—–…•*#@&$%_"),
)
_STARTERS = frozenset('."')  # a capitalised word after these may just be a sentence's first word
_BREAKS = frozenset('.,"|-')  # punctuation tokens
_LENGTH = (0.0, 1.0, 2.0**-0.3, 3.0**-0.3)  # phrase score divisor: len**0.3
_LOG1 = [1.0] + [1.0 + math.log(i) for i in range(1, 32)]  # 1 + ln n, n < 32
_PHRASE_FREQ = [0.0, 0.7, *_LOG1[2:]]  # a phrase seen once is weak evidence
_CASE_FACTOR = {False: 1.0, True: 1.4}  # keyed by "in the body, and never in lower case there"
_EARLY_FACTOR = {True: 1.3, False: 1.0}  # keyed by "in the title or the first 60 words"

# English function words (closed classes), reporting verbs and dates: always phrase boundaries.
ENGLISH_FUNCTION_WORDS = frozenset("""
a about above across after afterwards again against ago all almost alone along already also although always am
among amongst an and another any anybody anyone anything anyway anywhere are aren't around as at be became
because become becomes been before beforehand behind being below beside besides between beyond both but by
can cannot can't could couldn't did didn't do does doesn't doing don't done down during each either else
elsewhere enough etc even ever every everybody everyone everything everywhere except few for former formerly
from further had hadn't has hasn't have haven't having he he'd he'll he's hence her here hereby herein hers
herself him himself his how however i i'd i'll i'm i've ie if in indeed instead into is isn't it it's its
itself just last latter least less let let's like likely many may maybe me meanwhile might mine more moreover
most mostly much must my myself namely neither never nevertheless next no nobody none nor not nothing now
nowhere of off often on once one only onto or other others otherwise our ours ourselves out over own per
perhaps please quite rather really same several she she'd she'll she's should shouldn't since so some
somebody someone something sometimes somewhat somewhere still such than that that's the their theirs them
themselves then thence there thereafter thereby therefore therein there's these they they'd they'll they're
they've this those though through throughout thus to together too toward towards under unless unlike until
up upon us very via was wasn't we we'd we'll we're we've were weren't what whatever what's when whence
whenever where whereas whereby wherever whether which while whither who whoever whole whom whose why will
with within without won't would wouldn't yet you you'd you'll you're you've your yours yourself yourselves
said says say saying told tell tells added adding according reported reportedly stated noted asked
including include includes included also amid despite via around nearly approximately
mr mrs ms dr st don isn doesn won didn couldn wouldn shouldn aren wasn weren hasn haven hadn ll ve re
monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow week weeks weekend
january february march april june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec
""".split())


BOUNDARY, CONTENT, COMMON = 0, 1, 2
MEMO_LIMIT = 20_000  # token classes remembered per language (then the memo starts over)
RARITY_WORDS = 20_000  # most frequent words whose rarity is kept per language
FUNCTION_RANK, COMMON_RANK = 120, 250
STRONG_WORDS = 30  # phrases are built from this many best words only


@dataclass
class _Lang:
    stop: frozenset[str]  # function words and punctuation: always boundaries
    common: frozenset[str]  # boundaries unless capitalised inside a sentence
    rarity: dict[str, float]  # 7 - Zipf frequency, clamped to 0.5..6, for the most frequent words
    unknown: float  # rarity of the other words
    memo: dict[str, int] = field(default_factory=dict)  # lower-case token -> class

    def learn(self, words: set[str]) -> None:
        """Make sure every word of `words` is in the memo (classify the new ones)."""
        missing = words.difference(self.memo)
        if not missing:
            return
        if len(self.memo) + len(missing) > MEMO_LIMIT:  # start over, keeping this article's words
            self.memo.clear()
            missing = words
        for low in missing:
            if low in self.stop or low.isdigit() or len(low) < 2:
                self.memo[low] = BOUNDARY
            elif low in self.common or len(low) == 2:
                self.memo[low] = COMMON
            else:
                self.memo[low] = CONTENT


@lru_cache(maxsize=64)
def _lang_data(lang: str) -> _Lang | None:
    """Stopwords and word rarity of a language, from wordfreq's "small" list (≈20 ms, ~2 MB).

    Read with `read_cBpack` rather than `get_frequency_dict`, which would keep every full
    list in wordfreq's unbounded cache. The list is bucketed by frequency: bucket i holds the
    words of Zipf frequency 9 - i/100.
    """
    import wordfreq  # imported lazily: ~0.2 s

    if lang in NO_KEYWORDS:
        return None
    path = wordfreq.available_languages("small").get(lang)
    if path is None:
        return None
    buckets = wordfreq.read_cBpack(path)
    ranked: list[str] = []
    rarity: dict[str, float] = {}
    for index, bucket in enumerate(buckets):
        value = min(6.0, max(0.5, 7.0 - (9.0 - index / 100.0)))
        for word in bucket:
            if len(ranked) < RARITY_WORDS:
                ranked.append(word)
                rarity[word] = value
    if lang == "en":
        function = ENGLISH_FUNCTION_WORDS
        common = frozenset(ranked[:COMMON_RANK]) - function
    else:
        function = frozenset(ranked[:FUNCTION_RANK])
        common = frozenset(ranked[FUNCTION_RANK:COMMON_RANK])
    default = min(6.0, rarity[ranked[-1]] + 0.5) if ranked else 6.0
    return _Lang(function | _BREAKS, common, rarity, default)


class KeywordExtractor:
    """Top key phrases of one article; stateless apart from the per-language tables."""

    def __init__(self, top: int = 8, max_chars: int = MAX_CHARS) -> None:
        self.top = top
        self.max_chars = max_chars

    def warm(self, languages: list[str]) -> None:
        """Load the tables of these languages now rather than on their first article."""
        for lang in languages:
            _lang_data(lang)

    def extract(self, title: str | None, text: str, lang: str | None) -> list[str]:
        """Top phrases, best first.

        Written with C-level builtins (map, compress, Counter, list.index) over the token list:
        a plain per-token Python loop cost several times more.
        """
        data = _lang_data(lang) if lang else None
        if data is None:
            return []
        body = text
        if len(text) > self.max_chars:  # cut at a space, not inside a word
            body = text[: self.max_chars]
            body = body[: max(body.rfind(" "), self.max_chars // 2)]
        tokens = _tokenize(body)
        n_title = 0
        if title:
            head = _tokenize(title)
            n_title = len(head) + 1
            tokens = [*head, ".", *tokens]
        n = len(tokens)
        if n == 0:
            return []
        lows = "\x00".join(tokens).lower().split("\x00")  # one C call instead of one per token
        if len(lows) != n:
            lows = [t.lower() for t in tokens]

        # token classes: 0 boundary, 1 content, 2 common word (content only when capitalised
        # inside a sentence: "United States"; case means nothing in the title / at sentence starts)
        data.learn(set(lows))
        keep = list(map(data.memo.__getitem__, lows))
        i = n_title - 1
        while True:  # settle the common words: C-level search, Python only at their positions
            try:
                i = keep.index(COMMON, i + 1)
            except ValueError:
                break
            tok = tokens[i]
            upper = tok.isupper() if len(tok) == 2 else tok[0].isupper()  # two letters: acronyms only
            keep[i] = CONTENT if i and upper and lows[i - 1] not in _STARTERS else BOUNDARY
        if n_title:
            keep[:n_title] = [BOUNDARY if k == COMMON else k for k in keep[:n_title]]
        if not any(keep):
            return []
        tf = Counter(compress(lows, keep))
        body_forms = set(tokens[n_title:])  # "arctic" in it: written in lower case in the body
        body_words = set(lows[n_title:])
        early = set(compress(lows[: 60 + n_title], keep[: 60 + n_title]))
        # word weights (rarity x case x position), computed with C-level map/mul, not a loop per word
        words = list(tf)
        counts = list(map(min, tf.values(), repeat(31)))
        wvals = list(map(
            mul,
            map(mul, map(data.rarity.get, words, repeat(data.unknown)),
                map(_CASE_FACTOR.__getitem__,  # in the body and not in lower case there: True > False
                    map(gt, map(body_words.__contains__, words), map(body_forms.__contains__, words)))),
            map(_EARLY_FACTOR.__getitem__, map(early.__contains__, words)),
        ))
        weight = dict(zip(words, wvals, strict=True))

        # candidates: the words, and 2-3 consecutive words among the STRONG_WORDS best words
        # (phrases of weak words never make the top); score = (1 + ln freq) * sum(weights) / len**0.3
        uni = list(map(mul, map(_LOG1.__getitem__, counts), wvals))
        scores: dict[tuple[str, ...], float] = dict(zip(zip(words), uni, strict=True))
        if len(uni) > STRONG_WORDS:
            cut = sorted(uni, reverse=True)[STRONG_WORDS - 1]
            strong = set(compress(words, map(cut.__le__, uni)))
        else:
            strong = set(words)
        at = list(compress(range(n), map(and_, keep, map(strong.__contains__, lows))))
        strong_at = set(at)
        pairs: Counter[tuple[str, ...]] = Counter()
        for i in at:
            if i + 1 in strong_at:
                pairs[(lows[i], lows[i + 1])] += 1
                if i + 2 in strong_at:
                    pairs[(lows[i], lows[i + 1], lows[i + 2])] += 1
        for key, c in pairs.items():
            scores[key] = _PHRASE_FREQ[c if c < 32 else 31] * sum(map(weight.__getitem__, key)) * _LENGTH[len(key)]
        chosen: list[tuple[str, ...]] = []
        used: set[str] = set()  # words of the chosen phrases (most candidates share none: fast path)
        for key in sorted(scores, key=scores.__getitem__, reverse=True)[: 4 * self.top]:
            if used.isdisjoint(key) or not any(_clash(key, other) for other in chosen):
                chosen.append(key)
                used.update(key)
                if len(chosen) >= self.top:
                    break
        return [_surface(key, tokens, lows, n_title) for key in chosen]


def _clash(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Two phrases that say the same thing: one contains the other, they share two words, or
    they overlap end to start ("Dutch Prime Minister" / "Prime Minister Mark"). "United
    States" and "United Kingdom" do not clash."""
    shared = set(a).intersection(b)
    return bool(shared) and (len(shared) > 1 or len(a) == 1 or len(b) == 1 or a[0] == b[-1] or a[-1] == b[0])


def _tokenize(text: str) -> list[str]:
    for mark, replacement in _PUNCT:
        if mark in text:
            text = text.replace(mark, replacement)
    return text.split()


def _surface(key: tuple[str, ...], tokens: list[str], lows: list[str], n_title: int) -> str:
    """The phrase as written inside a sentence ("NATO", "Arctic security"), else as first written
    in the body (a sentence start), else as in the title."""
    n = len(key)
    body_form = title_form = None
    i = -1
    while True:
        try:
            i = lows.index(key[0], i + 1)
        except ValueError:
            break
        if tuple(lows[i:i + n]) != key:
            continue
        form = " ".join(tokens[i:i + n])
        if i < n_title:
            title_form = title_form or form
        elif i and lows[i - 1] not in _STARTERS:
            return form
        else:
            body_form = body_form or form
    return body_form or title_form or " ".join(key)
