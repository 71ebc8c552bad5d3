"""Keywords: phrases, stopwords, surface forms, languages, bounded cost (synthetic texts)."""

from __future__ import annotations

import time

import pytest

from services.tagger.keywords import KeywordExtractor

TITLE = "Greenland rejects sale as Arctic security talks continue"
TEXT = (
    "Greenland's government said on Monday that the island was not for sale. NATO allies are discussing "
    "Arctic security, and the United States wants a larger military presence on Greenland. "
    "Danish officials said Arctic security should be handled within NATO. The Arctic security talks will "
    "continue in Copenhagen next week, officials said. Melting sea ice opens new shipping routes in the Arctic."
)


def test_top_phrases_best_first() -> None:
    kws = KeywordExtractor().extract(TITLE, TEXT, "en")
    assert 1 <= len(kws) <= 8
    assert kws[0] in {"Arctic security", "Greenland"}
    assert "Arctic security" in kws and "Greenland" in kws and "NATO" in kws
    assert "Arctic" not in kws  # contained in a chosen phrase
    assert len({k.lower() for k in kws}) == len(kws)


def test_stopwords_and_common_words_are_not_keywords() -> None:
    lowered = [k.lower() for k in KeywordExtractor().extract(TITLE, TEXT, "en")]
    for word in ("said", "the", "on", "monday's", "was", "new", "week"):
        assert word not in lowered


def test_capitalised_common_words_form_names() -> None:
    text = ("The United States and the United Kingdom signed the deal in New York. The United States "
            "said the deal with the United Kingdom would be reviewed in New York next year.")
    kws = KeywordExtractor().extract(None, text, "en")
    assert "United States" in kws and "United Kingdom" in kws and "New York" in kws


def test_surface_form_comes_from_inside_a_sentence() -> None:
    text = "Nato said. The alliance, NATO, met. Security matters: the alliance said security was key."
    kws = KeywordExtractor().extract(None, text, "en")
    assert "NATO" in kws and "security" in kws


def test_top_is_configurable() -> None:
    assert len(KeywordExtractor(top=3).extract(TITLE, TEXT, "en")) == 3


def test_language_aware() -> None:
    german = ("Die Bundesregierung hat am Mittwoch ein neues Klimaschutzgesetz beschlossen. Das "
              "Klimaschutzgesetz soll die Emissionen bis 2030 senken. Die Opposition kritisierte das "
              "Klimaschutzgesetz als unzureichend.")
    kws = KeywordExtractor().extract("Kabinett beschließt Klimaschutzgesetz", german, "de")
    assert kws and kws[0] == "Klimaschutzgesetz"
    assert not {"die", "das", "hat", "am"} & {k.lower() for k in kws}


def test_no_keywords_without_a_usable_language_or_text() -> None:
    extractor = KeywordExtractor()
    assert extractor.extract(None, "北极地区的安全问题日益突出。", "zh") == []
    assert extractor.extract(None, "日本の首相が発表した。", "ja") == []
    assert extractor.extract(TITLE, TEXT, "und") == []
    assert extractor.extract(TITLE, TEXT, None) == []
    assert extractor.extract(TITLE, TEXT, "xx") == []
    assert extractor.extract(None, "", "en") == []
    assert extractor.extract(None, "the of and 2024 , .", "en") == []


def test_cost_is_bounded_for_huge_texts() -> None:
    extractor = KeywordExtractor()
    huge = TEXT * 5000  # ~2 MB
    extractor.extract(TITLE, huge, "en")
    start = time.perf_counter()
    kws = extractor.extract(TITLE, huge, "en")
    assert time.perf_counter() - start < 0.05  # only the first `max_chars` characters are read
    assert "Arctic security" in kws


def test_token_memo_starts_over_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.tagger import keywords

    monkeypatch.setattr(keywords, "MEMO_LIMIT", 30)
    extractor = KeywordExtractor()
    first = extractor.extract(TITLE, TEXT, "en")
    for i in range(20):
        extractor.extract(None, f"Word{i} appears with other{i} and more{i} words in sentence number {i}.", "en")
    assert extractor.extract(TITLE, TEXT, "en") == first
