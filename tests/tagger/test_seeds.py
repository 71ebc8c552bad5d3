"""Real news texts from ../shared/data/seeds (skipped when ../shared is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.tagger.core import ArticleTagger

pytestmark = pytest.mark.shared

POLITICS = "medtop:11000000"
CONFLICT = "medtop:16000000"


def _seeds(shared: Path) -> list[Path]:
    seeds = sorted((shared / "data" / "seeds").glob("*.txt"))
    if not seeds:
        pytest.skip("no seed texts")
    return seeds


def _article(path: Path) -> dict:
    return {"id": path.stem, "title": None, "text": path.read_text(encoding="utf-8")}


def test_seeds_are_english_with_topics(tagger: ArticleTagger, shared: Path) -> None:
    for out in tagger.tag_many([_article(p) for p in _seeds(shared)]):
        assert out["lang"] == "en", out["id"]
        assert out["lang_confidence"] > 0.9
        assert out["topics"], out["id"]


@pytest.mark.parametrize("prefix", ["000", "001", "002"])
def test_security_seeds_get_politics_and_conflict(tagger: ArticleTagger, shared: Path, prefix: str) -> None:
    path = next((p for p in _seeds(shared) if p.name.startswith(prefix)), None)
    if path is None:
        pytest.skip(f"seed {prefix} absent")
    codes = [t["code"] for t in tagger.tag(_article(path))["topics"]]
    assert POLITICS in codes and CONFLICT in codes, codes
