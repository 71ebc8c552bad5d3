"""The numpy building blocks: multimap, timed rows, fingerprints, MinHash sketches."""

from __future__ import annotations

import numpy as np

from services.dedup._store import HashMultiMap, TimedRows, fingerprint, fingerprints
from services.dedup.fingerprint import analyse, exact_key, normalize, shingle_hashes, word_hashes, words
from services.dedup.near_duplicates import MinHasher, NearDuplicateIndex


def test_multimap_keeps_duplicates_and_survives_growth() -> None:
    rng = np.random.default_rng(0)
    m = HashMultiMap(16)
    ref: dict[int, list[int]] = {}
    for step in range(200):
        fps = (rng.integers(1, 3000, int(rng.integers(1, 40))) | 1).astype(np.uint32)
        fps[: len(fps) // 3] = fps[0]
        vals = np.arange(step * 100, step * 100 + len(fps), dtype=np.uint32)
        if len(fps) == 1:
            m.insert_one(int(fps[0]), int(vals[0]))
        else:
            m.insert(fps, vals)
        for f, v in zip(fps.tolist(), vals.tolist(), strict=True):
            ref.setdefault(f, []).append(v)
    assert len(m) == sum(len(v) for v in ref.values())
    for f, vals in ref.items():
        assert sorted(m.get(np.array([f], np.uint32)).tolist()) == sorted(vals)
        assert sorted(m.get_one(f)) == sorted(vals)
    assert m.get(np.array([999_999], np.uint32)).size == 0


def test_timed_rows_evict_and_compact_keep_lookups_right() -> None:
    rows = TimedRows({"x": (np.int64, ())}, ("name",))
    for i in range(3000):
        rows.append(float(i), fingerprint(i << 32), {"name": f"n{i}"}, x=i)
    assert rows.evict_before(2500.0) == 2500  # dead rows outnumber live ones: compacted
    assert rows.n == rows.n_alive == 500
    assert rows.rows_for_one(fingerprint(10 << 32)) == []
    (row,) = rows.rows_for_one(fingerprint(2700 << 32))
    assert rows.objs["name"][row] == "n2700" and rows.cols["x"][row] == 2700
    restored = TimedRows({"x": (np.int64, ())}, ("name",))
    restored.load(rows.state())
    (row,) = restored.rows_for(fingerprints([2999 << 32])).tolist()
    assert restored.objs["name"][row] == "n2999"


def test_normalisation_and_exact_key() -> None:
    assert normalize("  \u201cHello\u201d \u2014 it\u2019s\u00a0ME&amp;you\u200b ") == '"hello" - it\'s me&you'
    assert exact_key(words("Hello,  World!")) == exact_key(words("hello world"))
    assert exact_key(words("hello world")) != exact_key(words("world hello"))


def test_prose_lines_drop_headline_lists_but_keep_wrapped_sentences() -> None:
    text = (
        "Big Headline Here\n\nThe council met on Monday and agreed the budget for next year.\n"
        "It will spend more on schools and on the\nroads in the north of the city.\n"
        "Read more:\nAnother Headline About Something\nYet Another Headline"
    )
    tw = analyse(text)
    assert "headline" not in tw.prose and "roads" in tw.prose and "the" in tw.prose
    assert tw.all[:2] == ["big", "headline"]


def test_word_and_shingle_hashes_are_stable() -> None:
    a = word_hashes(["alpha", "beta", "alpha"])
    assert a[0] == a[2] != a[1]
    assert word_hashes(["beta"])[0] == a[1]
    # fixed values: state written by one process must match another's
    assert int(word_hashes(["alpha"])[0]) == int(word_hashes(["alpha"])[0])
    s = shingle_hashes("a b c d".split())
    assert s.size == 2 and np.array_equal(s, np.unique(s))


def test_minhash_jaccard_estimate_is_close() -> None:
    hasher = MinHasher()
    base = [f"w{i}" for i in range(400)]
    a = hasher.sketch(shingle_hashes(base))
    b = hasher.sketch(shingle_hashes(base[:200] + [f"x{i}" for i in range(200)]))
    idx = NearDuplicateIndex(hasher=hasher)
    idx.add("a", "a", "st-a", a, 0.0)
    assert idx.query(a) is not None and idx.query(a).jaccard > 0.95  # type: ignore[union-attr]
    eq = float((a.sig == b.sig).mean())
    assert 0.2 < eq < 0.45  # true Jaccard of the shingle sets is ~0.33
