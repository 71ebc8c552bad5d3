"""ArticleTagger's new fields: user topics, places, keywords; isolation of failures; never raising."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.tagger.core import EXAMPLE_USER_TOPICS, ArticleTagger, _default_user_topics_file
from services.tagger.keywords import KeywordExtractor
from services.tagger.places import PlaceFinder
from services.tagger.user_topics import RuleSet, UserTopicMatcher, compile_rules

ARTICLE = {
    "id": "gl1",
    "title": "Greenland and Denmark reject US pressure",
    "text": (
        "Greenland's prime minister said on Monday that the island was not for sale, as NATO allies "
        "discussed Arctic security in Brussels.\n\nDanish officials said the United States should work "
        "with Denmark and Greenland inside NATO. Russian and Chinese ships are active in the Arctic."
    ),
}


def test_new_fields(tagger: ArticleTagger) -> None:
    out = tagger.tag(ARTICLE)
    assert out["lang"] == "en"
    labels = {t["label"] for t in out["user_topics"]}
    assert {"Arctic security", "Greenland"} <= labels  # the shipped example rules
    first = out["user_topics"][0]
    assert set(first) == {"id", "label", "matched_terms"} and first["matched_terms"]
    codes = {c["code"] for c in out["places"]["countries"]}
    assert {"GL", "DK", "US", "RU", "CN", "BE"} <= codes
    assert out["places"]["main"] in {"GL", "DK"}
    assert {"name": "Brussels", "country": "BE", "count": 1} in out["places"]["cities"]
    assert 1 <= len(out["keywords"]) <= 8 and all(isinstance(k, str) and k for k in out["keywords"])
    assert "Greenland" in out["keywords"] or "Arctic security" in out["keywords"]


def test_empty_and_odd_records_get_empty_values(tagger: ArticleTagger) -> None:
    for record in ({}, {"title": 5, "text": None}, {"text": ""}, None):
        out = tagger.tag(record)  # type: ignore[arg-type]
        assert out["user_topics"] == [] and out["keywords"] == []
        assert out["places"] == {"countries": [], "cities": [], "main": None}


def test_tag_many_matches_tag_for_new_fields(tagger: ArticleTagger) -> None:
    articles = [ARTICLE, {"text": "Le Danemark et le Groenland discutent avec les États-Unis à Copenhague."}]
    assert tagger.tag_many(articles) == [tagger.tag(a) for a in articles]


def test_other_languages_use_their_variants_and_names(tagger: ArticleTagger) -> None:
    out = tagger.tag({"title": "Grönland und Dänemark", "text": (
        "Die Regierung Grönlands sprach am Montag mit Dänemark über die Sicherheit in der Arktis. "
        "Die NATO will ihre Präsenz im hohen Norden verstärken, sagte ein Sprecher in Kopenhagen.")})
    assert out["lang"] == "de"
    assert {t["label"] for t in out["user_topics"]} >= {"Arctic security", "Greenland"}
    assert {"GL", "DK"} <= {c["code"] for c in out["places"]["countries"]}
    assert out["keywords"]


def _clone(tagger: ArticleTagger) -> ArticleTagger:
    """A tagger sharing the session tagger's models, whose parts a test may replace."""
    clone = object.__new__(ArticleTagger)
    clone.__dict__.update(tagger.__dict__)
    return clone


def test_a_failing_tagger_only_empties_its_field(tagger: ArticleTagger) -> None:
    tagger = _clone(tagger)

    class Broken(PlaceFinder):
        def __init__(self) -> None:
            pass

        def find(self, *args: object, **kwargs: object) -> dict:
            raise RuntimeError("boom")

    tagger.places = Broken()
    out = tagger.tag(ARTICLE)
    assert out["places"] == {"countries": [], "cities": [], "main": None}
    assert out["keywords"] and out["user_topics"] and out["topics"]


def test_user_topics_file_reload_from_tag(tagger: ArticleTagger, tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text("topics:\n  - {id: ice, label: Ice, query: '\"sea ice\"'}\n", encoding="utf-8")
    tagger = _clone(tagger)
    tagger.user_topics = UserTopicMatcher(path, check_interval=0.0)
    assert [t["id"] for t in tagger.tag(ARTICLE)["user_topics"]] == []
    out = tagger.tag({"text": "Melting sea ice opens new routes."})
    assert out["user_topics"] == [{"id": "ice", "label": "Ice", "matched_terms": ["sea ice"]}]
    path.write_text("topics:\n  - {id: nato, label: NATO, query: case:NATO}\n", encoding="utf-8")
    st_ = path.stat()
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 5_000_000_000))
    assert [t["id"] for t in tagger.tag(ARTICLE)["user_topics"]] == ["nato"]  # tag() re-read the file


def test_default_rules_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from services import settings as settings_module

    class Fake:
        user_topics_file = tmp_path / "mine.yaml"

    monkeypatch.setattr(settings_module, "get_settings", lambda: Fake())
    assert _default_user_topics_file() == tmp_path / "mine.yaml"
    Fake.user_topics_file = None  # type: ignore[assignment]
    assert _default_user_topics_file() == EXAMPLE_USER_TOPICS


# ---------------------------------------------------------------- never raise

_RULES: RuleSet = compile_rules({"topics": [
    {"id": "a", "query": '(arctic OR "sea ice" OR nato*) AND NOT sport'},
    {"id": "b", "query": "russia* NEAR/3 (attack OR drone*)", "queries": {"de": "russland NEAR/3 angriff"}},
    {"id": "c", "query": 'case:US OR 北极 OR "u.s."'},
]})

_LANGS = st.sampled_from(["en", "de", "ru", "zh", "ja", "ko", "fi", "ar", "und", "xx", None])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=st.one_of(st.none(), st.text()), text=st.text(), lang=_LANGS)
def test_new_taggers_never_raise(tagger: ArticleTagger, title: str | None, text: str, lang: str | None) -> None:
    matches = _RULES.match(title, text, lang)
    assert isinstance(matches, list) and all(set(m) == {"id", "label", "matched_terms"} for m in matches)
    found = tagger.places.find(title, text, lang)
    assert set(found) == {"countries", "cities", "main"}
    assert found["main"] is None or found["main"] in {c["code"] for c in found["countries"]}
    keywords = tagger.keywords.extract(title, text, lang)
    assert isinstance(keywords, list) and len(keywords) <= 8 and all(isinstance(k, str) and k for k in keywords)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("aAbB .,'’-\n\"(US)NATOÉé北极ü")), max_size=300))
def test_new_taggers_never_raise_on_punctuation_soup(tagger: ArticleTagger, text: str) -> None:
    _RULES.match(text, text, "en")
    tagger.places.find(text, text, "en")
    assert len(KeywordExtractor(top=3).extract(text, text, "en")) <= 3


@settings(max_examples=60, deadline=None)
@given(query=st.text(max_size=40))
def test_rule_compiler_never_raises_on_garbage(query: str) -> None:
    compiled = compile_rules({"topics": [{"id": "x", "query": query}]})
    assert len(compiled) + len(compiled.errors) == 1
    compiled.match(None, query, "en")


def test_constructor_takes_a_rules_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from services.tagger import core

    class Stub:
        def __init__(self, *args: object) -> None:
            self.languages = ["en"]

    for name in ("LanguageIdentifier", "TopicClassifier", "PlaceFinder"):
        monkeypatch.setattr(core, name, Stub)
    path = tmp_path / "rules.yaml"
    path.write_text("topics:\n  - {id: x, query: arctic}\n", encoding="utf-8")
    assert core.ArticleTagger(user_topics_file=path).user_topics.path == path
    assert core.ArticleTagger().user_topics.path == _default_user_topics_file()
