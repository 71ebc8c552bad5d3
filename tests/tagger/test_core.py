"""ArticleTagger: the stage's public interface and its never-raise contract."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.tagger.core import ArticleTagger

ARTICLE = {
    "id": "a1",
    "title": "Government wins confidence vote",
    "text": (
        "The government survived a confidence vote in parliament on Wednesday by 312 votes to 290.\n\n"
        "The prime minister said the result showed the coalition was stable, while opposition leaders "
        "called for an early election."
    ),
}


def test_tag_adds_fields_on_a_copy(tagger: ArticleTagger) -> None:
    original = copy.deepcopy(ARTICLE)
    out = tagger.tag(ARTICLE)
    assert original == ARTICLE and out is not ARTICLE
    assert out["id"] == "a1" and out["text"] == ARTICLE["text"]
    assert out["lang"] == "en"
    assert 0.5 < out["lang_confidence"] <= 1.0
    assert out["mixed_language"] is False
    assert out["topics"] and out["topics"][0]["code"] == "medtop:11000000"
    assert set(out["topics"][0]) == {"code", "label", "score"}


def test_tag_many_matches_tag(tagger: ArticleTagger) -> None:
    articles = [ARTICLE, {"title": None, "text": ""}, {"text": "Le gouvernement a survécu au vote de confiance."}]
    assert tagger.tag_many(articles) == [tagger.tag(a) for a in articles]
    assert tagger.tag_many([]) == []


def test_empty_text_is_und_without_topics(tagger: ArticleTagger) -> None:
    out = tagger.tag({"title": None, "text": ""})
    assert out["lang"] == "und" and out["lang_confidence"] == 0.0 and out["topics"] == []


def test_non_english_gets_language_but_no_topics(tagger: ArticleTagger) -> None:
    out = tagger.tag({"title": "Regierung übersteht Vertrauensabstimmung",
                      "text": "Die Regierung hat am Mittwoch eine Vertrauensabstimmung im Parlament überstanden."})
    assert out["lang"] == "de" and out["topics"] == []


def test_odd_records_do_not_raise(tagger: ArticleTagger) -> None:
    odd = [{}, {"title": 5, "text": None}, {"text": ["a", "b"]}, {"text": "x" * 200_000},
           {"text": "\ud800 lone surrogate"}, {"text": "", "paragraphs": ["Ein Absatz.", None, 3]}]
    for record in odd:
        out = tagger.tag(record)
        assert {"lang", "lang_confidence", "mixed_language", "topics"} <= set(out)
    assert tagger.tag(None)["lang"] == "und"  # type: ignore[arg-type]


def test_paragraph_list_is_used_for_language(tagger: ArticleTagger) -> None:
    out = tagger.tag({"text": "short", "paragraphs": [
        "The regional government presented its plan for public transport on Monday morning.",
        "Officials said the new tram line would connect the northern suburbs with the centre."]})
    assert out["lang"] == "en"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=st.one_of(st.none(), st.text()), text=st.text())
def test_tag_never_raises(tagger: ArticleTagger, title: str | None, text: str) -> None:
    out = tagger.tag({"title": title, "text": text})
    assert isinstance(out["lang"], str) and 0.0 <= out["lang_confidence"] <= 1.0
    assert isinstance(out["topics"], list) and isinstance(out["mixed_language"], bool)
