"""User topics, places and keywords on the real seed texts of ../shared (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.tagger.core import ArticleTagger

pytestmark = pytest.mark.shared

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SECURITY_SEEDS = ("000", "001", "002")


@pytest.fixture(scope="module")
def tagged(tagger: ArticleTagger) -> dict[str, dict]:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent")
    seeds = sorted((SHARED / "data" / "seeds").glob("*.txt"))
    if not seeds:
        pytest.skip("no seed texts")
    articles = [{"id": p.stem, "title": None, "text": p.read_text(encoding="utf-8")} for p in seeds]
    return {out["id"][:3]: out for out in tagger.tag_many(articles)}


def _seed(tagged: dict[str, dict], prefix: str) -> dict:
    if prefix not in tagged:
        pytest.skip(f"seed {prefix} absent")
    return tagged[prefix]


@pytest.mark.parametrize("prefix", SECURITY_SEEDS)
def test_security_seeds_match_arctic_security(tagged: dict[str, dict], prefix: str) -> None:
    out = _seed(tagged, prefix)
    found = {t["label"]: t for t in out["user_topics"]}
    assert "Arctic security" in found, out["user_topics"]
    assert {"arctic", "nato"} <= set(found["Arctic security"]["matched_terms"])
    assert "Greenland" in found


@pytest.mark.parametrize("prefix", SECURITY_SEEDS)
def test_security_seeds_places(tagged: dict[str, dict], prefix: str) -> None:
    codes = {c["code"] for c in _seed(tagged, prefix)["places"]["countries"]}
    assert {"GL", "DK", "US"} <= codes, codes
    if prefix != "002":  # 002 never mentions Russia or China
        assert {"RU", "CN"} <= codes, codes


def test_security_seeds_places_together(tagged: dict[str, dict]) -> None:
    codes = set().union(*({c["code"] for c in _seed(tagged, p)["places"]["countries"]} for p in SECURITY_SEEDS))
    assert {"GL", "DK", "US", "RU", "CN"} <= codes


def test_ukraine_seed_matches_ukraine_war(tagged: dict[str, dict]) -> None:
    out = _seed(tagged, "004")
    assert "Ukraine war" in {t["label"] for t in out["user_topics"]}
    assert out["places"]["main"] == "UA"


def test_seeds_have_keywords(tagged: dict[str, dict]) -> None:
    for prefix, out in tagged.items():
        assert 3 <= len(out["keywords"]) <= 8, prefix
    assert "NATO" in _seed(tagged, "000")["keywords"]
