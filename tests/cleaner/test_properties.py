"""Property tests: the cleaner never fails with anything but StageError, normalisation is stable."""

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.cleaner import ArticleCleaner
from services.cleaner.normalize import normalize_line, normalize_text, split_paragraphs
from services.records import StageError
from tests.cleaner.builders import make_raw

CLEANER = ArticleCleaner(min_text_chars=20)

# Text mixing the characters real documents trip on: controls, odd spaces, combining marks, emoji.
TRICKY = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("\r\n\t\u00a0\u200b\u2028\u0301\ufeff\x00\x85<>&;'\"↓↺−|[]{}—–.!?,:")),
    ),
    max_size=400,
)
WORDS = st.sampled_from(
    [
        "Read More",
        "Help us improve.",
        "16 px",
        "News.Az",
        "BRUSSELS, Jan 12 (Reuters) -",
        "Share",
        "Comments",
        "Job of the Week",
        "Photo of the Week",
        "The council voted on Tuesday.",
        "Storm Closes Schools",
        "https://example.com/x",
        "© 2026 Example",
        "By Jane Doe",
        "\n",
        "\n\n",
        " ",
    ]
)
DOCUMENT = st.lists(st.one_of(WORDS, TRICKY), max_size=30).map("".join)
TAGS = st.sampled_from(
    [
        "<p>",
        "</p>",
        "<div class='article-body'>",
        "</div>",
        "<h1>",
        "</h1>",
        "<script>",
        "</script>",
        "<noscript>enable JavaScript</noscript>",
        "<ul><li>",
        "</li></ul>",
        "<table><tr><td>",
        "</td></tr></table>",
        '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2999-01-01"}</script>',
        '<blockquote class="twitter-tweet">',
        "</blockquote>",
        "<html><body>",
        "</body></html>",
        "<br>",
        "<!--",
    ]
)
HTMLISH = st.lists(st.one_of(TAGS, WORDS, TRICKY), max_size=40).map("".join)


@given(TRICKY)
def test_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(TRICKY)
def test_normalize_line_is_idempotent_and_single_line(text: str) -> None:
    once = normalize_line(text)
    assert normalize_line(once) == once
    assert "\n" not in once


@given(DOCUMENT)
def test_paragraphs_are_normalised(text: str) -> None:
    for paragraph in split_paragraphs(normalize_text(text)):
        assert paragraph and normalize_line(paragraph) == paragraph


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENT)
def test_clean_text_only_raises_stage_error(text: str) -> None:
    try:
        records = CLEANER.clean(make_raw(text))
    except StageError:
        return
    for record in records:
        assert record["text"] and "body" not in record
        assert all(normalize_line(p) == p for p in record["paragraphs"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HTMLISH, st.sampled_from(["html", "text", "other"]))
def test_clean_html_only_raises_stage_error(page: str, kind: str) -> None:
    with contextlib.suppress(StageError):
        CLEANER.clean(make_raw(page, kind=kind))
