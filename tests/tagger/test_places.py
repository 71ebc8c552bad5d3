"""Places: countries, demonyms, cities, ambiguity rules, the main country (synthetic texts)."""

from __future__ import annotations

from typing import Any

import pytest

from services.tagger.core import ArticleTagger
from services.tagger.places import PlaceFinder


@pytest.fixture(scope="module")
def places(tagger: ArticleTagger) -> PlaceFinder:
    return tagger.places


def countries(out: dict[str, Any]) -> dict[str, int]:
    return {c["code"]: c["count"] for c in out["countries"]}


def cities(out: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(c["name"], c["country"]): c["count"] for c in out["cities"]}


def test_countries_demonyms_and_counts(places: PlaceFinder) -> None:
    out = places.find(None, "Denmark and Greenland met US officials. Danish and Greenlandic leaders said the "
                            "United States and the U.S. Congress should respect Denmark. Russia and China watched.",
                      "en")
    assert countries(out) == {"DK": 3, "GL": 2, "US": 3, "RU": 1, "CN": 1}
    assert out["countries"][0] == {"code": "DK", "name": "Denmark", "count": 3}
    assert out["main"] in {"DK", "US"}


def test_output_shape(places: PlaceFinder) -> None:
    out = places.find("Talks in Copenhagen", "Officials met in Copenhagen.", "en")
    assert set(out) == {"countries", "cities", "main"}
    assert out["cities"] == [{"name": "Copenhagen", "country": "DK", "count": 2}]
    assert out["countries"] == [{"code": "DK", "name": "Denmark", "count": 2}]
    assert out["main"] == "DK"
    assert places.find(None, "", "en") == {"countries": [], "cities": [], "main": None}


def test_title_weighs_more_for_main(places: PlaceFinder) -> None:
    body = "Officials from France and France's partners met. Germany sent observers."
    assert places.find("Germany hosts summit", body, "en")["main"] == "DE"
    assert places.find(None, body, "en")["main"] == "FR"


def test_lower_case_words_are_not_places(places: PlaceFinder) -> None:
    out = places.find(None, "We ate turkey from fine china and had a nice time reading in the bath.", "en")
    assert out["countries"] == [] and out["cities"] == []


def test_longest_match_and_regions(places: PlaceFinder) -> None:
    out = places.find(None, "Papua New Guinea and Latin America; New Mexico voters; the South China Sea.", "en")
    assert countries(out) == {"PG": 1, "US": 1}  # New Mexico is a US state; the rest are regions


def test_weak_city_names_need_their_country(places: PlaceFinder) -> None:
    assert places.find(None, "The weather in Nice was great, said Reading fans.", "en")["cities"] == []
    out = places.find(None, "Protesters gathered in Nice, the French Riviera city, on Monday, France said.", "en")
    assert cities(out) == {("Nice", "FR"): 1}


def test_person_names_are_not_places(places: PlaceFinder) -> None:
    out = places.find(None, "Michael Jordan and Chad Smith spoke. Nancy Pelosi and Florence Pugh too.", "en")
    assert out["countries"] == [] and out["cities"] == []
    out = places.find(None, "In Jordan, the king met the president of Chad.", "en")
    assert countries(out) == {"JO": 1, "TD": 1}


def test_georgia_state_or_country(places: PlaceFinder) -> None:
    assert countries(places.find(None, "Voters in Georgia and Ohio went to the polls.", "en")) == {"US": 2}
    assert countries(places.find(None, "Protests in Tbilisi, Georgia, continued.", "en")) == {"GE": 2}


def test_ambiguous_cities_use_context_or_size(places: PlaceFinder) -> None:
    assert cities(places.find(None, "Fans travelled to Birmingham.", "en")) == {("Birmingham", "GB"): 1}
    assert cities(places.find(None, "He moved to Valencia.", "en")) == {}  # Spain's or Venezuela's: unclear
    assert cities(places.find(None, "He moved to Valencia, Spain.", "en")) == {("Valencia", "ES"): 1}


def test_aliases_datelines_and_adjoining_punctuation(places: PlaceFinder) -> None:
    out = places.find(None, "KYIV, Ukraine (AP) — The UK and the US-led coalition; anti-American protests "
                            "in \"Britain\".", "en")
    assert countries(out) == {"UA": 2, "GB": 2, "US": 2}
    assert cities(out) == {("Kyiv", "UA"): 1}


def test_city_counts_towards_its_country(places: PlaceFinder) -> None:
    out = places.find(None, "Missiles hit Kyiv. Kyiv officials and Moscow traded blame.", "en")
    assert countries(out) == {"UA": 2, "RU": 1}
    assert cities(out) == {("Kyiv", "UA"): 2, ("Moscow", "RU"): 1}


def test_other_languages(places: PlaceFinder) -> None:
    out = places.find("Regierung in Kopenhagen", "Dänemark und Grönland verhandeln. Russlands Präsident", "de")
    assert countries(out) == {"DK": 2, "GL": 1, "RU": 1}
    assert countries(places.find(None, "Президент России прибыл в Москву. США", "ru")) == {"RU": 1, "US": 1}
    assert countries(places.find(None, "Venäjällä ja Ruotsissa", "fi")) == {"RU": 1, "SE": 1}
    out = places.find(None, "俄罗斯总统在北京会见了中国领导人。", "zh")
    assert countries(out) == {"RU": 1, "CN": 2}


def test_translated_names_only_count_in_their_language(places: PlaceFinder) -> None:
    assert places.find(None, "Dänemark", "en")["countries"] == []
    assert places.find(None, "Mosca e Roma", "en")["cities"] == []  # alternate city names: not for English
