"""Property tests: check() never raises on arbitrary input, and verdicts are deterministic."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.dedup.core import Deduplicator
from services.dedup.fingerprint import normalize

text = st.text(max_size=400)
when = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.datetimes().map(lambda d: d.isoformat()),
    st.floats(allow_nan=True, allow_infinity=True),
)
article = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=20), st.integers()), "title": st.one_of(st.none(), text), "text": text},
    optional={"published_at": when, "ingested_at": when, "lang": st.text(max_size=5), "parent_id": text},
)


def _valid(v: dict[str, Any]) -> None:
    assert set(v) == {"status", "duplicate_of", "story_id", "similarity"}
    assert v["status"] in ("unique", "duplicate", "near_duplicate")
    assert isinstance(v["story_id"], str) and v["story_id"]
    if v["status"] == "unique":
        assert v["duplicate_of"] is None and v["similarity"] is None
    else:
        assert isinstance(v["duplicate_of"], str) and 0.0 <= v["similarity"] <= 1.0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(article, max_size=12))
def test_check_never_raises_and_is_deterministic(stream: list[dict[str, Any]]) -> None:
    a, b = Deduplicator(), Deduplicator()
    first = [a.check(dict(x)) for x in stream]
    assert first == [b.check(dict(x)) for x in stream]  # same stream, same ids and verdicts
    for x, v in zip(stream, first, strict=True):
        _valid(v)
        assert a.check(dict(x)) == a.check(dict(x))  # a replay gets a stable verdict
        assert v["duplicate_of"] != str(x["id"]) or v["status"] == "unique"


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1, max_size=300), st.text(max_size=300))
@example(body="\xad", title="")  # found by hypothesis in a full run: invisible-only text is blank
def test_same_text_twice_is_a_duplicate(body: str, title: str) -> None:
    d = Deduplicator()
    d.check({"id": "one", "title": title, "text": body, "ingested_at": "2026-01-01T00:00:00Z"})
    v = d.check({"id": "two", "title": title, "text": body, "ingested_at": "2026-01-01T00:00:00Z"})
    _valid(v)
    # blank as dedup sees it: nothing left after normalising (a lone soft hyphen "\xad" is not
    # whitespace to str.strip, but carries no text), which gets no exact key by design
    if normalize(body) or normalize(title):
        assert v["status"] == "duplicate" and v["duplicate_of"] == "one"
