"""Seed expectations and eval-set floors; need ../shared (skipped when absent).

The seed texts are read from the shared folder at test time, never copied into the project.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from services.dedup.core import Deduplicator

SHARED = Path(__file__).parents[2].parent / "shared"
SEEDS = SHARED / "data" / "seeds"

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not SEEDS.is_dir(), reason=f"{SHARED} not available"),
]

INGESTED = "2026-01-12T10:00:00Z"  # one ingestion batch; published_at unknown (None)


def _seeds() -> dict[str, str]:
    return {p.name[:3]: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


def _parts(newsletter: str) -> list[str]:
    """004 as the cleaner may split it: one short summary per "Read More"."""
    return [p.strip() for p in re.split(r"\n?Read More\n?", newsletter) if p.strip()]


def _check(d: Deduplicator, doc_id: str, text: str, **extra: Any) -> str:
    art = {"id": doc_id, "title": "", "text": text, "published_at": None, "ingested_at": INGESTED, **extra}
    return d.check(art)["story_id"]


@pytest.mark.parametrize("split", [True, False], ids=["004-split", "004-whole"])
def test_seed_event_shares_one_story_and_newsletter_stays_out(split: bool) -> None:
    seeds = _seeds()
    d = Deduplicator()
    got = {k: _check(d, k, seeds[k]) for k in ("000", "001", "002", "003")}
    if split:
        for i, part in enumerate(_parts(seeds["004"])):
            got[f"004-{i}"] = _check(d, f"004-{i}", part, parent_id="004")
    else:
        got["004"] = _check(d, "004", seeds["004"])
    assert got["000"] == got["001"] == got["002"] == "st-000", got
    newsletter = {k: v for k, v in got.items() if k.startswith("004")}
    assert all(v != got["000"] for v in newsletter.values()), newsletter


def test_seed_event_holds_when_the_newsletter_comes_first() -> None:
    seeds = _seeds()
    d = Deduplicator()
    got = {f"004-{i}": _check(d, f"004-{i}", p, parent_id="004") for i, p in enumerate(_parts(seeds["004"]))}
    for k in ("000", "001", "002"):
        got[k] = _check(d, k, seeds[k])
    assert got["000"] == got["001"] == got["002"], got
    assert all(got[k] != got["000"] for k in got if k.startswith("004")), got


def test_seed_redelivery_is_idempotent() -> None:
    seeds = _seeds()
    d = Deduplicator()
    arts = [{"id": k, "title": "", "text": t, "published_at": None, "ingested_at": INGESTED} for k, t in seeds.items()]
    first = [d.check(a) for a in arts]
    assert [d.check(a) for a in reversed(arts)] == list(reversed(first))


@pytest.mark.skipif(not (SHARED / "tools" / "eval_dedup.py").is_file(), reason="no shared eval tools")
def test_eval_sets_meet_their_floors() -> None:
    from services.dedup.bench import near_dup_groups, score_file, story_ids

    near = score_file("near_dups.jsonl", near_dup_groups)
    assert near["pair_p"] >= 0.99 and near["pair_f1"] >= 0.95, near
    stories = score_file("stories.jsonl", story_ids)
    assert stories["pair_f1"] >= 0.90 and stories["bcubed_f1"] >= 0.93, stories
