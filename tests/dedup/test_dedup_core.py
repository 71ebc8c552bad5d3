"""Unit tests of the dedup core on short synthetic texts (no /work/shared needed)."""

from __future__ import annotations

from typing import Any

import pytest

from services.dedup.core import Deduplicator, _pack, _unpack, event_time, parse_time

T0 = "2026-03-02T08:00:00Z"

ORIGINAL = """Harbour cranes halt at Port Tavira after cyber attack

Port Tavira suspended all container handling on Monday after a ransomware attack shut down the
terminal operating system, the port authority said.
Dockworkers were sent home and about 40 ships were waiting offshore by the afternoon, according
to the harbour master, Ines Coelho, who said manual operations would resume on Tuesday.
The authority said no customer data appeared to have been taken. Police in Faro opened an
investigation and asked the national cyber centre for help.
Freight companies warned that delays would ripple through supply chains for fruit and auto parts
across southern Europe for at least a week.
"""

UNRELATED = """Village choir wins national folk prize

A choir of twenty retired farmers from the hill village of Montemor took first place at the
national folk music festival in Braga on Saturday, beating forty groups from across the country.
The singers, whose average age is seventy-three, performed three songs about the olive harvest.
Their conductor, a former schoolteacher, said the prize money would repair the church organ.
"""


def art(doc_id: str, text: str, title: str = "", at: str = T0, **extra: Any) -> dict[str, Any]:
    return {
        "id": doc_id,
        "title": title,
        "text": text,
        "published_at": None,
        "ingested_at": at,
        "lang": "en",
        **extra,
    }


@pytest.fixture
def dedup() -> Deduplicator:
    return Deduplicator()


def test_first_article_is_unique_and_founds_a_story(dedup: Deduplicator) -> None:
    v = dedup.check(art("a1", ORIGINAL))
    assert v == {"status": "unique", "duplicate_of": None, "story_id": "st-a1", "similarity": None}


def test_exact_duplicate_ignores_case_quotes_and_whitespace(dedup: Deduplicator) -> None:
    first = dedup.check(art("a1", ORIGINAL))
    copy = ORIGINAL.upper().replace('"', "\u201c").replace("\n", "\n\n").replace(" ", "  ")
    v = dedup.check(art("a2", copy))
    assert v["status"] == "duplicate"
    assert v["duplicate_of"] == "a1"
    assert v["similarity"] == 1.0
    assert v["story_id"] == first["story_id"]


def test_near_duplicate_with_appended_headline_list(dedup: Deduplicator) -> None:
    dedup.check(art("a1", ORIGINAL))
    related = "\n".join(
        [
            "Related:",
            "Storm floods coastal road near Lagos",
            "Minister opens new rail bridge in Porto",
            "Olive harvest expected to fall by a third",
            "Tourist numbers hit record in the Algarve",
            "Football club sold to American investors",
            "Wildfire season starts early, experts warn",
            "Airline adds routes to North Africa",
            "Teachers strike over pay for second day",
        ]
    )
    v = dedup.check(art("a2", ORIGINAL + "\n" + related))
    assert v["status"] == "near_duplicate"
    assert v["duplicate_of"] == "a1"
    assert v["similarity"] is not None and v["similarity"] >= 0.7
    assert v["story_id"] == "st-a1"


def test_near_duplicate_with_new_headline(dedup: Deduplicator) -> None:
    dedup.check(art("a1", ORIGINAL))
    body = ORIGINAL.split("\n", 1)[1]
    v = dedup.check(art("a2", "BREAKING: Ransomware Stops Port Tavira, Ships Wait Offshore\n" + body))
    assert v["status"] == "near_duplicate"
    assert v["duplicate_of"] == "a1"


def test_near_duplicate_truncated_copy(dedup: Deduplicator) -> None:
    dedup.check(art("a1", ORIGINAL))
    cut = ORIGINAL[: int(len(ORIGINAL) * 0.8)].rsplit(" ", 1)[0] + "...\n\n[Continue reading]"
    v = dedup.check(art("a2", cut))
    assert v["status"] == "near_duplicate"
    assert v["duplicate_of"] == "a1"


def test_copy_of_a_copy_points_at_the_canonical_original(dedup: Deduplicator) -> None:
    dedup.check(art("a1", ORIGINAL))
    cut = ORIGINAL[: int(len(ORIGINAL) * 0.8)]
    assert dedup.check(art("a2", cut))["duplicate_of"] == "a1"
    v = dedup.check(art("a3", cut.replace("\n", " ")))  # exact copy (whitespace only) of a2
    assert v["status"] == "duplicate"
    assert v["duplicate_of"] == "a1"


def test_unrelated_texts_stay_unique_in_different_stories(dedup: Deduplicator) -> None:
    a = dedup.check(art("a1", ORIGINAL))
    b = dedup.check(art("b1", UNRELATED))
    assert b["status"] == "unique"
    assert b["duplicate_of"] is None
    assert a["story_id"] != b["story_id"]


def test_recheck_returns_the_same_verdict(dedup: Deduplicator) -> None:
    first = [
        dedup.check(art("a1", ORIGINAL)),
        dedup.check(art("a2", ORIGINAL.replace("Monday", "Monday morning"))),
        dedup.check(art("a3", ORIGINAL)),
        dedup.check(art("b1", UNRELATED)),
    ]
    again = [dedup.check(art(i, t)) for i, t in (("a1", ORIGINAL), ("a2", ORIGINAL), ("a3", ""), ("b1", ""))]
    assert again == first
    assert first[2]["status"] == "duplicate"


def test_never_a_duplicate_of_itself_after_its_verdict_expired(dedup: Deduplicator) -> None:
    dedup.check(art("a1", ORIGINAL, at="2026-03-01T00:00:00Z"))
    cut = ORIGINAL[: int(len(ORIGINAL) * 0.8)]
    dedup.check(art("a2", cut, at="2026-03-03T00:00:00Z"))  # indexed copy, younger than a1
    dedup.check(art("x", UNRELATED, at="2026-03-04T12:00:00Z"))  # watermark: a1 leaves the window
    v = dedup.check(art("a1", ORIGINAL, at="2026-03-01T00:00:00Z"))  # late redelivery of a1
    assert v["status"] == "unique"
    assert v["duplicate_of"] is None


def test_window_eviction_forgets_old_articles(dedup: Deduplicator) -> None:
    dedup.check(art("a1", ORIGINAL, at="2026-03-01T00:00:00Z"))
    dedup.check(art("b1", UNRELATED, at="2026-03-06T00:00:00Z"))
    v = dedup.check(art("a2", ORIGINAL, at="2026-03-06T00:00:00Z"))
    assert v["status"] == "unique"
    assert v["story_id"] == "st-a2"
    assert dedup.stats()["exact"]["rows"] == 2


STORY = [
    (
        "Ransomware halts Port Tavira container terminal",
        "Port Tavira stopped handling containers on Monday after a ransomware attack on its terminal "
        "software. Harbour master Ines Coelho said about 40 ships were anchored offshore and that "
        "manual operations would restart on Tuesday. Police in Faro are investigating the attack.",
    ),
    (
        "Cyberattack leaves dozens of ships waiting outside Tavira",
        "A cyberattack crippled the terminal system at Port Tavira, leaving dozens of cargo ships "
        "waiting at anchor, the port authority said. Ines Coelho, the harbour master, expects "
        "crews to move containers by hand from Tuesday while Faro police search for the ransomware "
        "gang.",
    ),
    (
        "Shippers brace for delays after Tavira port hack",
        "Freight firms warned of a week of delays for fruit and car parts after the ransomware "
        "attack on Port Tavira's terminal on Monday. The harbour master, Ines Coelho, said 40 ships "
        "were queuing and the national cyber centre was helping Faro police.",
    ),
]
OTHER_STORIES = [
    (
        "Montemor choir wins folk prize in Braga",
        "A choir of retired farmers from Montemor won the national folk music festival in Braga on "
        "Saturday with songs about the olive harvest; the prize will repair the church organ.",
    ),
    (
        "Lisbon council approves new tram line to Alcantara",
        "Lisbon city council voted on Thursday to build a tram line to Alcantara, costing 120 "
        "million euros, with construction starting next spring and the first trams due in 2029.",
    ),
]


def test_three_outlets_one_story_and_unrelated_stories_apart(dedup: Deduplicator) -> None:
    got = {}
    for i, (title, text) in enumerate(OTHER_STORIES[:1] + STORY + OTHER_STORIES[1:]):
        got[i] = dedup.check(art(f"d{i}", text, title=title, at=f"2026-03-02T0{i}:30:00Z"))
    story_ids = {got[i]["story_id"] for i in (1, 2, 3)}
    assert story_ids == {"st-d1"}, got
    assert got[0]["story_id"] == "st-d0"
    assert got[4]["story_id"] == "st-d4"
    assert all(v["status"] == "unique" for v in got.values())


def test_near_duplicate_takes_the_story_of_its_original(dedup: Deduplicator) -> None:
    for i, (title, text) in enumerate(STORY):
        dedup.check(art(f"d{i}", text, title=title))
    v = dedup.check(art("copy", STORY[2][1] + " Subscribe to our newsletter.", title="Tavira delays"))
    assert v["status"] in ("near_duplicate", "duplicate")
    assert v["duplicate_of"] == "d2"
    assert v["story_id"] == "st-d0"


def test_snapshot_restore_continues_identically(dedup: Deduplicator) -> None:
    stream = [art(f"d{i}", text, title=title) for i, (title, text) in enumerate(STORY + OTHER_STORIES)]
    stream += [art("c1", ORIGINAL), art("c2", ORIGINAL[:600]), art("c3", UNRELATED)]
    for a in stream[:4]:
        dedup.check(a)
    clone = Deduplicator.restore(dedup.snapshot())
    assert [dedup.check(a) for a in stream[4:]] == [clone.check(a) for a in stream[4:]]
    assert clone.check(stream[0]) == dedup.check(stream[0])


def test_restore_rejects_unknown_version(dedup: Deduplicator) -> None:
    state = _unpack(dedup.snapshot())
    state["version"] = 999
    with pytest.raises(ValueError, match="version"):
        Deduplicator.restore(_pack(state))


def test_event_time_prefers_published_at_unless_in_the_future() -> None:
    ing = "2026-03-02T08:00:00Z"
    assert event_time({"published_at": "2026-03-01", "ingested_at": ing}) == parse_time("2026-03-01T00:00:00Z")
    assert event_time({"published_at": None, "ingested_at": ing}) == parse_time(ing)
    assert event_time({"published_at": "2027-01-01", "ingested_at": ing}) == parse_time(ing)
    assert event_time({"published_at": "garbage", "ingested_at": "also garbage"}, default=5.0) == 5.0


def test_empty_and_missing_fields(dedup: Deduplicator) -> None:
    v = dedup.check({"id": "e1", "text": "", "title": None, "ingested_at": None})
    assert v["status"] == "unique" and v["story_id"] == "st-e1"
    assert dedup.check({"id": "e2", "text": "   ", "ingested_at": T0})["status"] == "unique"
    v = dedup.check({"text": ORIGINAL, "ingested_at": T0})  # no id: a stable content id is made
    assert v["story_id"].startswith("st-") and v == dedup.check({"text": ORIGINAL, "ingested_at": T0})
