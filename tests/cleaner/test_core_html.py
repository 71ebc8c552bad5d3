import json
from pathlib import Path

import jsonschema
import pytest

from services.cleaner import ArticleCleaner
from services.records import StageError
from tests.cleaner.builders import PARAGRAPHS, make_page, make_raw

SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "cleaned.schema.json").read_text())
TITLE = "Council approves northern tram extension"
JSONLD = {
    "@context": "https://schema.org",
    "@type": "NewsArticle",
    "headline": TITLE,
    "datePublished": "2026-01-12T09:30:00Z",
    "dateModified": "2026-01-12T11:00:00Z",
    "author": [{"@type": "Person", "name": "Maria Lopez"}, {"@type": "Person", "name": "Tom Berg"}],
    "publisher": {"@type": "Organization", "name": "Example News"},
    "image": {"@type": "ImageObject", "url": "https://news.example.com/img/tram.jpg"},
    "keywords": "transport, city council",
}
CANONICAL = '<link rel="canonical" href="https://news.example.com/2026/01/12/trams">'


def clean_page(page: str, cleaner: ArticleCleaner | None = None, **extra: object) -> list[dict]:
    return (cleaner or ArticleCleaner()).clean(make_raw(page, kind="html", **extra))  # type: ignore[return-value]


def test_article_text_and_metadata() -> None:
    [record] = clean_page(make_page(jsonld=JSONLD, head=CANONICAL))
    jsonschema.validate(record, SCHEMA)
    assert "body" not in record
    assert record["paragraphs"] == PARAGRAPHS
    assert TITLE not in record["text"]  # the headline is the title, not body text
    assert record["title"] == TITLE
    assert record["authors"] == ["Maria Lopez", "Tom Berg"]
    assert record["published_at"] == "2026-01-12T09:30:00Z"
    assert record["modified_at"] == "2026-01-12T11:00:00Z"
    assert record["site_name"] == "Example News"
    assert record["canonical_url"] == "https://news.example.com/2026/01/12/trams"
    assert record["image"] == "https://news.example.com/img/tram.jpg"
    assert {"transport", "city council"} <= set(record["tags"])
    assert record["quality"]["extractor"].startswith("trafilatura")
    assert record["quality"]["problem"] is None


def test_raw_title_wins_and_dek_becomes_lead() -> None:
    dek = "The eleven-kilometre line will connect four suburbs to the centre by 2028."
    body = f"<h1>{TITLE}</h1><h2>{dek}</h2>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    [record] = clean_page(make_page(paragraphs=[], inside=body), title="Trams: council says yes")
    assert record["title"] == "Trams: council says yes"
    assert record["lead"] == dek
    assert record["paragraphs"] == PARAGRAPHS


def test_date_priority_and_future_dates() -> None:
    meta = '<meta property="article:published_time" content="2026-01-11T08:00:00Z">'
    future = {**JSONLD, "datePublished": "2999-01-01T00:00:00Z"}
    [record] = clean_page(make_page(jsonld=future, head=meta))
    assert record["published_at"] == "2026-01-11T08:00:00Z"
    assert record["quality"]["future_date"] is True
    [record] = clean_page(make_page(), published_at="2026-01-10T07:00:00Z")
    assert record["published_at"] == "2026-01-10T07:00:00Z"


def test_byline_cleaned_from_meta() -> None:
    head = '<meta name="author" content="By Maria Lopez, Senior Correspondent | Email the author">'
    [record] = clean_page(make_page(head=head))
    assert record["authors"] == ["Maria Lopez"]


def test_split_article_body_is_merged() -> None:
    first, second = (
        PARAGRAPHS[:3],
        [
            *PARAGRAPHS[3:],
            "A final paragraph closes the second part of the article with a statement from the mayor, "
            "who thanked residents for their patience during the long consultation.",
        ],
    )
    chunks = (
        '<div class="chunk"><div class="story-body">' + "".join(f"<p>{p}</p>" for p in first) + "</div></div>"
        '<div class="ad"><p>Advertisement</p></div>'
        '<div class="chunk"><div class="story-body">'
        + "".join(f"<p>{p}</p>" for p in second)
        + "</div></div>"
    )
    page = make_page(paragraphs=[], after=chunks)
    [record] = clean_page(page)
    assert record["paragraphs"] == first + second


def test_embedded_tweet_is_kept() -> None:
    tweet = (
        '<div class="social-media-embed"><blockquote class="twitter-tweet"><p>The new line will change '
        "how we travel across the whole northern half of the city</p>— Mayor Office (@mayoroffice) "
        '<a href="https://twitter.com/x/status/1">January 12, 2026</a></blockquote></div>'
    )
    page = make_page(
        inside=tweet + "<p>" + PARAGRAPHS[0].replace("city council", "regional assembly") + "</p>"
    )
    [record] = clean_page(page)
    assert any("change how we travel" in p for p in record["paragraphs"])


def test_newsletter_box_and_related_links_removed() -> None:
    box = (
        '<div class="promo"><h3>Morning Briefing Newsletter</h3>'
        "<p>Get the day's top stories in your inbox.</p>"
        "<p>Thanks for signing up!</p></div>"
    )
    related = (
        "<h3>More Stories</h3><ul>"
        + "".join(
            f'<li><a href="/story{i}">Other headline number {i} about the city</a> a short blurb</li>'
            for i in range(5)
        )
        + "</ul>"
    )
    [record] = clean_page(make_page(after=box + related))
    assert record["paragraphs"] == PARAGRAPHS


def test_paywalled_teaser() -> None:
    ld = {**JSONLD, "isAccessibleForFree": False}
    with pytest.raises(StageError) as err:
        clean_page(make_page(paragraphs=PARAGRAPHS[:2], jsonld=ld))
    assert err.value.reason == "paywalled"


def test_metered_full_article_is_accepted() -> None:
    ld = {**JSONLD, "isAccessibleForFree": "False"}
    [record] = clean_page(make_page(paragraphs=PARAGRAPHS * 3, jsonld=ld))
    assert len(record["text"]) > 1500


def test_javascript_shell() -> None:
    page = (
        "<html><head><title>App</title></head><body><noscript>You need to enable JavaScript to run this app."
        '</noscript><div id="root"></div><script src="/static/js/main.js"></script></body></html>'
    )
    with pytest.raises(StageError) as err:
        clean_page(page)
    assert err.value.reason == "needs_js"


def test_listing_page() -> None:
    teasers = "".join(
        f'<div class="teaser"><h3><a href="/news/{i}">Headline number {i} of the day in the city</a></h3>'
        f"<p>Short teaser text {i}.</p></div>"
        for i in range(14)
    )
    page = (
        '<html><head><title>News</title><script type="application/ld+json">'
        '{"@type": "CollectionPage", "name": "Latest news"}</script></head>'
        f"<body><main>{teasers}</main></body></html>"
    )
    with pytest.raises(StageError) as err:
        clean_page(page)
    assert err.value.reason == "not_an_article"


def test_page_without_text() -> None:
    with pytest.raises(StageError) as err:
        clean_page("<html><head><title>x</title></head><body><nav><a href='/'>Home</a></nav></body></html>")
    assert err.value.reason in ("not_an_article", "too_short")


def test_comments_off_by_default_and_on_when_asked() -> None:
    comments = (
        '<section id="comments" class="comments"><h3>12 Comments</h3><ol class="commentlist">'
        '<li class="comment"><p>I have waited twenty years for this tram line and I am delighted that '
        "the council finally found the courage to approve the extension to our neighbourhood.</p>"
        "</li></ol></section>"
    )
    page = make_page(body_extra=comments)
    [record] = clean_page(page)
    assert "twenty years" not in record["text"]
    [with_comments] = clean_page(page, ArticleCleaner(include_comments=True))
    assert "twenty years" in with_comments["text"]


def test_kind_html_without_markup_is_read_as_text() -> None:
    [record] = ArticleCleaner().clean(make_raw("\n".join(PARAGRAPHS), kind="html"))
    assert record["paragraphs"] == PARAGRAPHS


def test_not_fast_mode_runs() -> None:
    [record] = clean_page(make_page(jsonld=JSONLD), ArticleCleaner(fast=False))
    assert record["paragraphs"] == PARAGRAPHS


UNDATED_URL = "https://news.example.com/trams"


def test_modified_date_in_the_future_is_flagged() -> None:
    later = {**JSONLD, "dateModified": "2999-01-01T00:00:00Z"}
    [record] = clean_page(make_page(jsonld=later))
    assert record["published_at"] == "2026-01-12T09:30:00Z"
    assert record["modified_at"] is None
    assert record["quality"]["future_date"] is True


def test_url_date_comes_before_htmldate() -> None:
    # No declared date; an older date in the text must not win over the day in the URL.
    older = "<p class='statement__meta'>said on Sunday, October 13th, 2019 in a newspaper</p>"
    url = "https://www.example.com/statements/2019/nov/18/what-value-drugs/"
    [record] = clean_page(make_page(before=older), url=url)
    assert record["published_at"] == "2019-11-18"


def test_publication_line_in_another_language() -> None:
    line = '<span class="about__block">publiziert am 25. September 2018</span>'
    [record] = clean_page(make_page(before=line), url=UNDATED_URL)
    assert record["published_at"] == "2018-09-25"


def test_parsely_page_date() -> None:
    parsely = '{"title": "Trams", "pub_date": "2014-12-27T17:10:17Z", "type": "post"}'
    head = f"<meta name='parsely-page' content='{parsely}'>"
    [record] = clean_page(make_page(head=head), url=UNDATED_URL)
    assert record["published_at"] == "2014-12-27T17:10:17Z"


def test_dateline_year_comes_from_the_page_not_the_fetch() -> None:
    first = "SEOUL, Aug. 20 (Yonhap) -- " + PARAGRAPHS[0]
    ld = {**JSONLD, "datePublished": "2019-08-20T09:31:01+09:00"}
    [record] = clean_page(make_page(paragraphs=[first, *PARAGRAPHS[1:]], jsonld=ld), url=UNDATED_URL)
    assert record["dateline"] == {"place": "SEOUL", "agency": "Yonhap", "date": "2019-08-20"}


def test_site_name_suffix_leaves_the_title() -> None:
    title = "N. Korea slams S. Korea for joint military drill"
    head = '<meta property="og:site_name" content="Yonhap News Agency">'
    page = make_page(title=f"{title} | Yonhap News Agency", head=head)
    page = page.replace('<meta property="og:site_name" content="Example News">', "")
    [record] = clean_page(page)
    assert record["title"] == title
