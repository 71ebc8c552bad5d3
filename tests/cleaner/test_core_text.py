import json
from pathlib import Path

import jsonschema
import pytest

from services.cleaner import ArticleCleaner
from services.records import REJECT_REASONS, StageError, child_id
from tests.cleaner.builders import PARAGRAPHS, make_raw

SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "cleaned.schema.json").read_text())
ARTICLE = "\n".join(PARAGRAPHS)


def test_single_article_record(cleaner: ArticleCleaner) -> None:
    raw = make_raw(ARTICLE, published_at="2026-01-12T09:00:00Z", meta={"feed": "x"})
    [record] = cleaner.clean(raw)
    jsonschema.validate(record, SCHEMA)
    assert "body" not in record and "body" in raw  # the input is not mutated
    assert record["id"] == raw["id"] and record["url"] == raw["url"] and record["meta"] == {"feed": "x"}
    assert record["paragraphs"] == PARAGRAPHS
    assert record["text"] == "\n\n".join(PARAGRAPHS)
    assert record["lead"] == PARAGRAPHS[0]
    assert record["published_at"] == "2026-01-12T09:00:00Z"
    assert record["parent_id"] is None and record["position"] is None
    assert record["dateline"] is None
    quality = record["quality"]
    assert quality["extractor"] == "plaintext" and quality["problem"] is None
    assert quality["text_length"] == len(record["text"])


def test_raw_title_is_kept_and_not_repeated(cleaner: ArticleCleaner) -> None:
    title = "Council approves northern tram extension"
    [record] = cleaner.clean(make_raw(f"{title}\n{ARTICLE}", title=title))
    assert record["title"] == title
    assert record["paragraphs"] == PARAGRAPHS


def test_headline_and_summary_on_top(cleaner: ArticleCleaner) -> None:
    summary = "The council backed the tram plan; building starts next year and the line opens in 2028."
    body = f"{summary}\nCouncil Approves Northern Tram Extension\n\nBERLIN, Jan 12 (Reuters) - {ARTICLE}"
    [record] = cleaner.clean(make_raw(body))
    assert record["title"] == "Council Approves Northern Tram Extension"
    assert record["lead"] == summary
    assert record["paragraphs"][0].startswith("BERLIN, Jan 12 (Reuters) - ")
    assert record["dateline"] == {"place": "BERLIN", "agency": "Reuters", "date": "2026-01-12"}
    assert summary not in record["text"]


def test_furniture_removed(cleaner: ArticleCleaner) -> None:
    body = " date 2026-01-10 + ↺ − 16 px\n\n" + ARTICLE + "'[\n\nExample.com\nHelp us improve.\n"
    [record] = cleaner.clean(make_raw(body))
    assert record["paragraphs"] == PARAGRAPHS
    assert record["published_at"] == "2026-01-10"


def test_newsletter_split_into_children() -> None:
    body = "\n".join(f"{p}\nRead More" for p in PARAGRAPHS)
    records = ArticleCleaner(min_text_chars=100).clean(make_raw(body))
    assert len(records) == len(PARAGRAPHS)
    parent = "a1b2c3d4e5f6a7b8c9d0"
    for position, record in enumerate(records):
        jsonschema.validate(record, SCHEMA)
        assert record["id"] == child_id(parent, position)
        assert record["parent_id"] == parent and record["position"] == position
        assert record["url"] == "https://news.example.com/2026/01/12/trams"
        assert record["text"] == PARAGRAPHS[position]
        assert record["title"] and len(record["title"]) <= 111
        assert "Read More" not in record["text"]


def test_short_stories_are_dropped_not_the_page() -> None:
    body = "\n".join(f"{p}\nRead More" for p in [*PARAGRAPHS[:3], "Too short to keep."])
    records = ArticleCleaner(min_text_chars=100).clean(make_raw(body))
    assert len(records) == 3 and all(r["part_count"] == 3 for r in records)
    with pytest.raises(StageError) as err:
        ArticleCleaner(min_text_chars=1000).clean(make_raw(body))
    assert err.value.reason == "too_short"


def test_headlined_newsletter(cleaner: ArticleCleaner) -> None:
    heads = [
        "Tram Extension Approved By Council",
        "Museum Opens New Science Wing",
        "Harbour Reopens After Repairs",
    ]
    body = "\n".join(f"{h}\n{PARAGRAPHS[i]}\n{PARAGRAPHS[i + 1]}" for i, h in enumerate(heads))
    records = cleaner.clean(make_raw(body))
    assert [r["title"] for r in records] == heads


@pytest.mark.parametrize("body", ["", "   \n\t  ", "\u200b\n"])
def test_empty(cleaner: ArticleCleaner, body: str) -> None:
    with pytest.raises(StageError) as err:
        cleaner.clean(make_raw(body))
    assert err.value.reason in ("empty", "too_short")


def test_whitespace_is_empty(cleaner: ArticleCleaner) -> None:
    with pytest.raises(StageError) as err:
        cleaner.clean(make_raw("  \n \n"))
    assert err.value.reason == "empty"


def test_too_short(cleaner: ArticleCleaner) -> None:
    with pytest.raises(StageError) as err:
        cleaner.clean(make_raw("A short note.\nRead More\nShare this"))
    assert err.value.reason == "too_short"
    assert err.value.reason in REJECT_REASONS


def test_min_text_chars_setting() -> None:
    assert ArticleCleaner(min_text_chars=10).clean(make_raw("A short note, but long enough."))


def test_bytes_body_and_bad_input() -> None:
    cleaner = ArticleCleaner()
    [record] = cleaner.clean(make_raw(ARTICLE.encode()))  # type: ignore[arg-type]
    assert record["paragraphs"] == PARAGRAPHS
    with pytest.raises(StageError):
        cleaner.clean(None)  # type: ignore[arg-type]
    with pytest.raises(StageError):
        cleaner.clean(make_raw(12345))  # type: ignore[arg-type]


def test_future_published_at_is_not_trusted(cleaner: ArticleCleaner) -> None:
    undated = "https://news.example.com/trams"
    [record] = cleaner.clean(make_raw(ARTICLE, url=undated, published_at="2999-01-01T00:00:00Z"))
    assert record["published_at"] is None
    assert record["quality"]["future_date"] is True
    # The day in the URL (make_raw's default ".../2026/01/12/trams") is the next-best date.
    [record] = cleaner.clean(make_raw(ARTICLE, published_at="2999-01-01T00:00:00Z"))
    assert record["published_at"] == "2026-01-12"
    assert record["quality"]["future_date"] is True


def test_bench_skips_without_shared_data(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from services.cleaner import bench

    assert bench.main(["--data", str(tmp_path / "missing")]) == 0
    assert "SKIP" in capsys.readouterr().out


def test_article_with_subheadings_stays_whole(cleaner: ArticleCleaner) -> None:
    body = "\n".join(
        [
            "Storm Forces Closure Of Coastal Roads",
            *PARAGRAPHS[:3],
            "What Happens Next",
            *PARAGRAPHS[3:],
            "Reactions",
            PARAGRAPHS[0],
        ]
    )
    [record] = cleaner.clean(make_raw(body))
    assert record["title"] == "Storm Forces Closure Of Coastal Roads"
    assert "What Happens Next" in record["paragraphs"]


def test_related_list_and_comments_cut(cleaner: ArticleCleaner) -> None:
    related = ["Related Articles", "Harbour Reopens After Storm Repairs", "Museum Unveils New Science Wing"]
    comments = ["3 Comments", "Great article, thanks!", "I could not disagree more with the council. " * 4]
    [record] = cleaner.clean(make_raw("\n".join([*PARAGRAPHS, *related, *comments])))
    assert record["paragraphs"] == PARAGRAPHS


def test_kicker_and_byline_lifted(cleaner: ArticleCleaner) -> None:
    body = "\n".join(["ANALYSIS", "Why The Tram Vote Matters", "By Maria Lopez", *PARAGRAPHS])
    [record] = cleaner.clean(make_raw(body))
    assert record["title"] == "Why The Tram Vote Matters"
    assert record["authors"] == ["Maria Lopez"]
    assert record["paragraphs"] == PARAGRAPHS


def test_line_dumps_are_refused_quickly(cleaner: ArticleCleaner) -> None:
    with pytest.raises(StageError) as err:
        cleaner.clean(make_raw("a line\n" * 20000))
    assert err.value.reason == "not_an_article"
