"""Topic classifier: synthetic news snippets of our own, no shared data needed."""

from __future__ import annotations

import re

import numpy as np
import pytest

from services.tagger.topic_rules import LEXICONS, PHRASES
from services.tagger.topics import Tokenizer, TopicClassifier

ALL_CODES = [f"medtop:{k:02d}000000" for k in range(1, 18)]

SNIPPETS = {
    "medtop:15000000": (
        "United beat City 3-1 in the derby",
        "The striker scored twice in the second half and the goalkeeper saved a penalty as the "
        "league leaders extended their unbeaten run to twelve matches. The coach praised the players.",
    ),
    "medtop:11000000": (
        "Prime minister calls early election",
        "The prime minister announced on Monday that parliament will be dissolved and voters will go "
        "to the polls in June. Opposition parties said the government had lost its majority.",
    ),
    "medtop:04000000": (
        "Carmaker profits jump as sales rise",
        "The company reported quarterly profits of $2bn, up 30%, and raised its forecast for the year. "
        "Shares rose 5% as investors welcomed higher revenue and strong demand in China.",
    ),
    "medtop:17000000": (
        "Snow and ice warning for the weekend",
        "Forecasters at the Met Office expect heavy snowfall and freezing temperatures, with gusts of "
        "up to 70 mph on the coast. A weather warning is in place until Sunday; showers will follow.",
    ),
    "medtop:09000000": (
        "Rail workers vote to strike over pay",
        "Trade union members backed a walkout after talks on wages and working conditions collapsed. "
        "The union said employees had been offered a pay rise below inflation.",
    ),
    "medtop:03000000": (
        "Earthquake kills dozens",
        "A magnitude 6.8 earthquake struck the region overnight, collapsing buildings. Rescuers are "
        "searching for survivors and the death toll is expected to rise.",
    ),
    "medtop:05000000": (
        "Schools to hire more teachers",
        "Pupils in primary schools will have smaller classes next year after the education minister "
        "promised funding for 5,000 teachers. Universities welcomed the new curriculum.",
    ),
}


def test_tokenizer_joins_phrases_and_drops_possessives() -> None:
    tokenize = Tokenizer(["climate change", "semi final"])
    assert tokenize("Climate  Change's toll; the semi-final, the U.N.'s  £5bn") == [
        "climate_change", "toll", "the", "semi_final", "the", "£", "bn",
    ]
    assert tokenize("") == []


def test_lexicons_cover_all_17_classes() -> None:
    assert sorted(LEXICONS) == ALL_CODES
    assert all(len(terms) >= 20 for terms in LEXICONS.values())
    assert all(re.fullmatch(r"[a-zà-ÿñ' ]+", p) for p in PHRASES)


def test_model_shape(classifier: TopicClassifier) -> None:
    assert classifier.codes == ALL_CODES
    assert all(label for label in classifier.labels)
    assert 0.0 < classifier.threshold < 1.0


@pytest.mark.parametrize(("code", "doc"), sorted(SNIPPETS.items()))
def test_snippet_gets_its_topic(classifier: TopicClassifier, code: str, doc: tuple[str, str]) -> None:
    topics = classifier.classify(*doc)
    assert topics, "news-like text gets at least one topic"
    assert code in [t["code"] for t in topics[:2]]


def test_output_format(classifier: TopicClassifier) -> None:
    topics = classifier.classify(*SNIPPETS["medtop:11000000"])
    scores = [t["score"] for t in topics]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert len(topics) <= classifier.max_topics
    assert len({t["code"] for t in topics}) == len(topics)
    for t in topics:
        assert re.fullmatch(r"medtop:\d{8}", t["code"])
        assert t["label"] == classifier.labels[classifier.codes.index(t["code"])]
    assert all(t["score"] >= classifier.threshold for t in topics[1:])


NOT_NEWS = ["", "   ", "1234 5678", "ok", "Der Stadtrat hat den Haushalt beschlossen und die Schulen"]


@pytest.mark.parametrize("text", NOT_NEWS)
def test_not_news_like_gets_no_topics(classifier: TopicClassifier, text: str) -> None:
    assert classifier.classify(None, text) == []


def test_batch_equals_single(classifier: TopicClassifier) -> None:
    docs = [*SNIPPETS.values(), (None, ""), ("", "weather")]
    assert classifier.classify_many(docs) == [classifier.classify(*d) for d in docs]
    assert classifier.classify_many([]) == []


def test_scores_are_calibrated_probabilities(classifier: TopicClassifier) -> None:
    scores, news_like = classifier.scores_many(list(SNIPPETS.values()))
    assert scores.shape == (len(SNIPPETS), 17) and news_like.all()
    assert np.all((scores >= 0) & (scores <= 1))
    assert scores.max(axis=1).min() > 0.5 and np.median(scores) < 0.1
