"""Regression check over ../shared/data/fetch (real feeds, sitemaps, robots, pages, WARCs).

Skipped when ../shared is absent (a user's clone). The samples belong to their publishers and are
never copied into the project; this only reads them. Expected values were checked by hand
against the documents (titles, links, dates in UTC).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from services.fetcher.errors import FetchFailure
from services.fetcher.pages import build_page
from services.fetcher.retrieve import FetchResult
from services.fetcher.robots import RobotsRules
from services.fetcher.sitemaps import parse_listing
from services.fetcher.warc import WarcCounts, iter_warc
from tests.fetcher.conftest import SHARED, SHARED_FETCH

pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is not here (a user's clone)")]

URL = "https://example.org/feed"

# file: (format, entries, first link, first title starts with, first date (published or updated))
LISTINGS = {
    "feeds/atom/feedparser_large_atom_touchnokia_ru.xml": ("atom10", 15, "http://touchnokia.ru/2009/09/nevidimaja-bronja-dlja-vashego-nokia-5800.html", "Невидимая броня", "2009-09-09T14:19:45Z"),  # noqa: E501
    "feeds/atom/feedrs_atom_mediarss_newscred.xml": ("atom10", 1, "http://www.example.com/the-day-off-tampa",
                                                     "The Day Off", "2019-04-05T21:04:40Z"),
    # FeedBurner: the real article URL (feedburner:origLink), not the feedproxy redirect
    "feeds/atom/rssparser_feedburner.atom": ("atom10", 25, "http://googleadsdeveloper.blogspot.com/2016/06/adwords-and-dfp-java-client-library.html", "AdWords and DFP", "2016-06-03T14:38:00Z"),  # noqa: E501
    "feeds/atom/rssparser_heise.atom": ("atom10", 15, "http://www.heise.de/developer/meldung/Java-Anwendungsserver-Red-Hat-gibt-WildFly-10-frei-3088438.html?wt_mc=rss.developer.beitrag.atom", "Java-Anwendungsserver", "2016-02-01T16:22:00Z"),  # noqa: E501
    "feeds/atom/trafilatura_feed1.atom": ("atom10", 2, "http://example.org/2003/12/13/atom03",
                                          "Atom-Powered Robots", "2003-12-13T18:30:02Z"),
    # ISO-8859-1 bytes without any declaration: read by charset detection
    "feeds/broken/rssparser_uolNoticias.rss": ("rss", 15, "https://noticias.uol.com.br/politica/eleicoes/2018/noticias/2018/09/24/ibope-bolsonaro-perde-de-haddad-ciro-e-alckmin-em-simulacoes-de-2-turno.htm", "Ibope: Bolsonaro perde", "2018-09-24T22:42:40Z"),  # noqa: E501
    "feeds/content-encoded/rssparser_content-encoded.rss": ("rss20", 7, "https://medium.com/invironment/the-creative-forager-125af37d838f?source=rss----d12c403d4976--food", "THE CREATIVE FORAGER", "2018-04-09T18:55:38Z"),  # noqa: E501
    "feeds/content-encoded/rssparser_instant-article.rss": ("rss20", 1, "https://localhost:8000", "My first Instant Article", "2016-05-04T06:53:45Z"),  # noqa: E501
    "feeds/encoding/feedrs_rss_0.91_encoding_1.xml": ("rss091u", 1, "http://www.Dicas-L.com.br/dicas-l/20200406.php", "bash - Expansão de Parâmetros", None),  # noqa: E501
    "feeds/encoding/feedrs_rss_2.0_encoding_1.xml": ("rss20", 1, "https://www.inovacaotecnologica.com.br/noticias/noticia.php?artigo=revolucao-telas-pontos-quanticos-impressos-3d&id=010150200813", "Revolução nas telas", "2020-08-13T09:57:55Z"),  # noqa: E501
    "feeds/encoding/rssparser_encoding-gb2312.xml": ("rss20", 1, "http://tech.qq.com/a/20180919/009008.htm",
                                                     "拟298亿元重组盛大游戏后", "2018-09-19T05:11:22Z"),
    "feeds/encoding/rssparser_encoding_iso8859-1_jn.rss": ("rss20", 40, "https://www.jn.pt/nacional/interior/sonia-laig-e-a-nova-presidente-da-rarissimas-9021600.html", "Mãe de utente", "2018-01-03T13:47:00Z"),  # noqa: E501
    "feeds/encoding/rssparser_latin2.rss": ("rss20", 1, "http://www.example.pl/news/1", "ZAŻÓŁĆ GĘSLĄ JAŹŃ",
                                            "2019-10-18T15:27:37Z"),
    "feeds/jsonfeed/feedrs_jsonfeed_example_1.json": ("json1", 2, "https://daringfireball.net/linked/2020/01/24/bezos-iphone-x", "How Jeff Bezos’s iPhone X", "2020-01-24T23:46:57Z"),  # noqa: E501
    "feeds/jsonfeed/trafilatura_npr_technology_feed.json": ("json1", 25, "https://www.npr.org/2021/10/29/1050315385/keller-rinaudo-how-can-delivery-drones-save-lives?utm_medium=JSONFeed&utm_campaign=technology", "Keller Rinaudo", "2021-10-29T14:26:00Z"),  # noqa: E501
    # 'Thu,28 Jul 2022 4:35:5 GMT+9': feedparser gives up, the fallback reads it
    "feeds/quirky/mediacloud_real-korean-times.rss": ("rss20", 195, "https://www.koreatimes.co.kr/www/nation/2022/07/501_333483.html?fl", "France on course for", "2022-07-27T19:35:05Z"),  # noqa: E501
    "feeds/relative-links/feedrs_atom_relative.xml": ("atom10", 1, "https://example.org/blog/2003/12/13/atom03", "Atom-Powered Robots", "2003-12-13T18:30:02Z"),  # noqa: E501
    "feeds/relative-links/feedrs_atom_xml_base.xml": ("atom10", 1, "https://numi.st/post/2022/travel-uke", "my cool entry title", "2022-04-21T00:00:00Z"),  # noqa: E501
    "feeds/relative-links/feedrs_rss_2.0_relurl_1.xml": ("rss20", 2, "https://insanity.industries/post/pareto-optimal-compression/", "Pareto-optimal compression", "2021-03-02T22:39:15Z"),  # noqa: E501
    "feeds/relative-links/feedrs_rss_2.0_relurl_2.xml": ("rss20", 1, "https://kryogenix.org/nothing-here-really", "An item with a relative", "2021-03-17T18:14:23Z"),  # noqa: E501
    "feeds/rss1-rdf/feedrs_rss_1.0_biorxiv.xml": ("rss10", 1, "http://biorxiv.org/cgi/content/short/2023.12.16.571984v1?rss=1", "Complete genome of the", "2023-12-16T00:00:00Z"),  # noqa: E501
    "feeds/rss1-rdf/feedrs_rss_1.0_debian.xml": ("rss10", 1, "https://www.debian.org/News/2022/20221217",
                                                 "Updated Debian 11", "2022-12-17T00:00:00Z"),
    "feeds/rss1-rdf/feedrs_rss_1.0_iso8859.xml": ("rss10", 1, "https://www.golem.de/news/digitalministerium-neue-glasfaserfoerderung-mit-schnellkasse-2301-171451.html", "Digitalministerium: Neue Glasf", "2023-01-25T18:03:02Z"),  # noqa: E501
    "feeds/rss1-rdf/rssparser_science_rss-1.rdf": ("rss10", 69, "http://science.sciencemag.org/cgi/content/short/356/6343/1134-a?rss=1", "Food for fungi", "2017-06-15T17:29:47Z"),  # noqa: E501
    # a <guid isPermaLink="false"> that is a URL, an &amp; link and a CDATA link are all recovered
    "feeds/rss2/crawlercommons_feed.rss": ("rss20", 4, "https://www.example.com/blog/post/1",
                                           "Example entry", "2009-09-06T16:20:00Z"),
    "feeds/rss2/crawlercommons_xmlRss_pubDate.xml": ("rss20", 7, "http://www.example.com/article_1",
                                                     "News number 1", "2017-01-05T12:34:51Z"),
    "feeds/rss2/feedrs_rss_2.0_bbc.xml": ("rss20", 1, "http://www.bbc.co.uk/programmes/m000sjxt",
                                          "Marcus Aurelius", "2021-02-25T10:15:00Z"),
    "feeds/rss2/feedrs_rss_2.0_ilgiornale.xml": ("rss20", 1, "https://www.ilgiornale.it/news/cronaca-nera/caso-saman-abbas-arrestato-pakistan-padre-shabbar-2085649.html", "Arrestato in Pakistan", "2022-11-15T20:15:04Z"),  # noqa: E501
    "feeds/rss2/feedrs_rss_2.0_ilmessaggero.xml": ("rss20", 1, "https://www.ilmessaggero.it/mondo/missili_polonia_cosa_e_successo_davvero-7054869.html", "Missili Polonia", "2022-11-15T23:38:15Z"),  # noqa: E501
    # 'Sat, Dec 16 2023 02:02:33 PM': a 12-hour clock
    "feeds/rss2/feedrs_rss_2.0_nbcny.xml": ("rss20", 1, "https://www.nbcnewyork.com/news/local/nyc-cops-search-for-stabbing-suspect-after-leaving-18-year-old-to-bleed-out-on-sidewalk/4956764/", "NYC cops search", "2023-12-16T14:02:33Z"),  # noqa: E501
    "feeds/rss2/feedrs_rss_2.0_spiegel.xml": ("rss20", 1, "https://omny.fm/shows/spiegel-update-die-nachrichten/07-02-die-wochenvorschau-lockdown-verl-ngerung-kri", "07.02. – die Wochenvorschau", "2021-02-06T23:01:00Z"),  # noqa: E501
    "feeds/rss2/feedrs_rss_2.0_wirecutter.xml": ("rss20", 1, "https://www.nytimes.com/wirecutter/blog/how-to-teach-someone-a-board-game/?utm_source=rss&utm_medium=feed&utm_campaign=RSS%20Feed", "How to Teach Someone", "2022-09-20T11:00:17Z"),  # noqa: E501
    "feeds/rss2/mediacloud_real-cnn.rss": ("rss20", 69, "https://www.cnn.com/2022/07/26/politics/justice-department-pence-short-jacob-trump-grand-jury/index.html", "Any investigation of", "2022-07-27T03:27:09Z"),  # noqa: E501
    # declares the sitemap namespace, but is a feed
    "feeds/rss2/newscrawl_feed-with-sitemap-namespace.xml": ("rss20", 2, "https://example.com/lorem/123", "Lorem Ipsum Dolor", "2025-01-24T20:32:41Z"),  # noqa: E501
    "feeds/rss2/rssparser_guardian.rss": ("rss20", 55, "https://www.theguardian.com/us-news/2018/jan/31/donald-trump-state-of-the-union-address-unity-discord", "Trump State of the Union", "2018-01-31T07:26:05Z"),  # noqa: E501
    "feeds/rss2/rssparser_heraldsun_rss092.rss": ("rss092", 2, "http://www.oreilly.com/example/001.html",
                                                  "The First Item", None),
    "feeds/rss2/trafilatura_feed2.rss": ("rss20", 1, "http://www.example.com/blog/post/1", "Example entry",
                                         "2009-09-06T16:20:00Z"),
    # wrong (legacy Google) namespace: read by local names, the namespace is reported
    "sitemaps/broken/crawlercommons_sitemap.badns.xml": ("sitemap", 2, "http://www.example.com/1", None,
                                                         None),
    "sitemaps/news/crawlercommons_shinpaideshou-news-sitemap.xml": ("news-sitemap", 3, "https://shinpaideshou.wordpress.com/2017/04/25/job-opening-reischauer-policy-research-fellow/", "Job Opening: Reischauer", "2017-04-25T10:00:36Z"),  # noqa: E501
    "sitemaps/news/crawlercommons_sitemap-news.xml": ("news-sitemap", 2, "http://www.example.org/business/article55.html", "Companies A, B in Merger Talks", "2008-12-23T00:00:00Z"),  # noqa: E501
    "sitemaps/news/newscrawl_sitemap-news.xml": ("news-sitemap", 1, "http://www.example.com/business/article55.html", "Companies A, B in Merger Talks", "2008-12-23T00:00:00Z"),  # noqa: E501
    "sitemaps/txt/crawlercommons_sitemap-with-bom.txt": ("text-sitemap", 2, "http://www.domain.com/page1.html", None, None),  # noqa: E501
    "sitemaps/txt/crawlercommons_sitemap.txt": ("text-sitemap", 2, "http://www.domain.com/page1.html", None,
                                                None),
    "sitemaps/txt/crawlercommons_sitemap.txt.gz": ("text-sitemap", 5, "http://www.example.com/", None, None),
    "sitemaps/urlset/crawlercommons_atom-as-sitemap.xml": ("atom10", 1, "http://example.org/2003/12/13/atom03.html", "Atom-Powered Robots", "2003-12-13T18:30:02Z"),  # noqa: E501
    "sitemaps/urlset/crawlercommons_hebdenbridgetimes-articles-sitemap.xml": ("sitemap", 74, "http://www.hebdenbridgetimes.co.uk/news/local/video-tour-de-yorkshire-in-calderdale-1-7242580", None, "2015-05-03T17:51:50Z"),  # noqa: E501
    "sitemaps/urlset/crawlercommons_sitemap-images.xml": ("sitemap", 1, "http://www.example.com/images/some_image_landing_page.html", None, None),  # noqa: E501
    "sitemaps/urlset/crawlercommons_sitemap.ns.xml": ("sitemap", 2, "http://www.example.com/1", None, None),
    "sitemaps/urlset/crawlercommons_xmlSitemap.gz": ("sitemap", 5, "http://www.example.com/", None,
                                                     "2005-01-01T00:00:00Z"),
    "sitemaps/urlset/trafilatura_sitemap-hreflang.xml": ("sitemap", 3, "http://www.example.com/english/page.html", None, None),  # noqa: E501
    "sitemaps/urlset/trafilatura_sitemap.xml": ("sitemap", 84, "https://www.sitemaps.org/", None,
                                                "2016-11-21T00:00:00Z"),
    "sitemaps/urlset/trafilatura_sitemap.xml.gz": ("sitemap", 84, "https://www.sitemaps.org/", None,
                                                   "2016-11-21T00:00:00Z"),
}

# broken documents → the class of the error record (recovered: entries were still read)
BROKEN = {
    "feeds/broken/feedparser_rss_empty_document.xml": ("malformed_xml", 0),
    "feeds/broken/feedparser_rss_incomplete_cdata.xml": ("malformed_xml", 0),
    "feeds/broken/feedparser_rss_item_link_corrupted_ampersands.xml": ("malformed_xml", 1),
    "feeds/broken/feedparser_undeclared_namespace.xml": ("malformed_xml", 0),
    "feeds/broken/feedrs_rss_2.0_invalid_1.xml": ("malformed_xml", 0),
    "feeds/broken/rssparser_unrecognized_html.rss": ("not_a_feed", 0),
    "feeds/encoding/feedparser_bozo_invalid-bytes-with-bom.xml": ("bad_encoding", 0),
}

# undeclared or unusual encodings → the charset used (entries there have no links)
CHARSETS = {
    "feeds/encoding/feedparser_chardet_koi8r.xml": "koi8-r",
    "feeds/encoding/feedparser_chardet_big5.xml": "big5hkscs",
    "feeds/encoding/feedparser_chardet_shiftjis.xml": "cp932",
    "feeds/encoding/feedparser_chardet_windows1255.xml": "cp1255",
    "feeds/encoding/feedparser_utf-16le-bom.xml": "utf-16-le",
    "feeds/encoding/rssparser_encoding-gb2312.xml": "gb18030",
    "feeds/broken/rssparser_uolNoticias.rss": "cp1252",
    "feeds/rss1-rdf/feedrs_rss_1.0_iso8859.xml": "cp1252",
}


def read(name: str) -> bytes:
    return (SHARED_FETCH / name).read_bytes()


def test_every_sample_listing_is_covered() -> None:
    """New samples must get an expectation here (or in BROKEN / CHARSETS / the index test)."""
    on_disk = {str(p.relative_to(SHARED_FETCH)) for folder in ("feeds", "sitemaps")
               for p in (SHARED_FETCH / folder).rglob("*") if p.is_file()}
    covered = set(LISTINGS) | set(BROKEN) | set(CHARSETS) | {
        "sitemaps/index/crawlercommons_sitemap.index.xml", "sitemaps/index/trafilatura_sitemap2_index.xml",
        "feeds/encoding/feedparser_double-encoded-html.xml",
        "feeds/relative-links/feedparser_entry_content_xml_base_inherit.xml"}
    assert on_disk <= covered, sorted(on_disk - covered)


@pytest.mark.parametrize("name", sorted(LISTINGS))
def test_listing_entries(name: str) -> None:
    fmt, count, link, title, date = LISTINGS[name]
    listing = parse_listing(read(name), url=URL)
    assert (listing.format, len(listing.entries)) == (fmt, count)
    first = listing.entries[0]
    assert first.url == link
    if title is not None:
        assert (first.title or "").startswith(title)
    assert (first.published or first.updated) == date
    assert listing.problem is None
    assert all(e.url.startswith(("http://", "https://")) for e in listing.entries)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_listings_are_classified(name: str) -> None:
    kind, recovered = BROKEN[name]
    try:
        listing = parse_listing(read(name), url=URL)
    except FetchFailure as failure:
        assert (failure.kind, 0) == (kind, recovered)
        return
    assert listing.problem is not None and (listing.problem.kind, len(listing.entries)) == (kind, recovered)


@pytest.mark.parametrize("name", sorted(CHARSETS))
def test_charsets(name: str) -> None:
    assert parse_listing(read(name), url=URL).info["charset"] == CHARSETS[name]


def test_koi8r_text_is_decoded() -> None:
    from services.fetcher.decoding import decode_document

    text = decode_document(read("feeds/encoding/feedparser_chardet_koi8r.xml"), kind="xml").text
    assert "Как пережить новогоднюю ночь" in text


def test_feed_fields_are_kept() -> None:
    guardian = parse_listing(read("feeds/rss2/rssparser_guardian.rss"), url=URL).entries[0].meta["feed"]
    assert guardian["categories"][:2] and guardian["author"] and guardian["media"]
    medium = parse_listing(read("feeds/content-encoded/rssparser_content-encoded.rss"), url=URL).entries[0]
    assert len(medium.meta["feed"]["content"][0]["value"]) > 1000  # content:encoded, kept as given
    assert "<" in medium.meta["feed"]["content"][0]["value"]


def test_sitemap_indexes_and_news_fields() -> None:
    lenient = parse_listing(read("sitemaps/index/crawlercommons_sitemap.index.xml"), url=URL)
    assert len(lenient.children) == 15  # bare URLs without <loc>, as crawler-commons recovers them
    assert lenient.children[0].url == "https://example.com/sitemap.jss?portalCode=10260&lang=en"
    cdata = parse_listing(read("sitemaps/index/trafilatura_sitemap2_index.xml"), url=URL)
    assert [c.url for c in cdata.children] == ["http://www.example.com/sitemap1.xml.gz",
                                               "http://www.example.com/sitemap2.xml.gz"]
    news = parse_listing(read("sitemaps/news/newscrawl_sitemap-news.xml"), url=URL).entries[0].meta["sitemap"]
    assert news["news"]["publication_name"] and news["news"]["keyword_list"]
    assert news["news"]["publication_date"]
    badns = parse_listing(read("sitemaps/broken/crawlercommons_sitemap.badns.xml"), url=URL)
    assert badns.info["namespace"] == "http://www.google.com/schemas/sitemap/0.9"
    hreflang = parse_listing(read("sitemaps/urlset/trafilatura_sitemap-hreflang.xml"), url=URL)
    assert hreflang.entries[0].meta["sitemap"]["alternates"]


def robots(name: str) -> RobotsRules:
    from protego import Protego

    return RobotsRules("https://x.test",
                       parser=Protego.parse(read(f"robots/{name}").decode("utf-8").lstrip("\ufeff")))


def test_robots_samples() -> None:
    merged = robots("crawlercommons_crawl-delay-group-merging.txt")
    assert merged.crawl_delay("newsflow") == 30.0 and merged.allows("https://x.test/private/", "newsflow")
    assert merged.crawl_delay("mybot") == 10.0
    # RFC 9309 group merging across a Crawl-delay line (mybot + yourbot) is not done by Protego 0.7:
    # `Disallow: /private/` applies to yourbot only. Documented in docs/fetcher.md.
    assert not merged.allows("https://x.test/private/a", "yourbot")
    simple = robots("crawlercommons_rfc9309-example-rule-group-merging.txt")
    assert not simple.allows("https://x.test/foo/bar", "newsflow")
    bom = robots("crawlercommons_robots-with-utf8-bom.txt")
    assert list(bom.parser.sitemaps) == ["http://www.newsweek.com/sitemap_index.xml"]  # type: ignore[union-attr]


WARCS = {  # file: (documents, skipped by record type)
    "warcio_example.warc.gz": (1, {"warcinfo": 2, "request": 2, "revisit": 1}),
    "warcio_example-iana.org-chunked.warc": (1, {"warcinfo": 1, "request": 1}),
    "warcio_example-resource.warc.gz": (1, {"warcinfo": 2}),
    "warcio_example-digest.warc": (0, {"request": 4}),
    "warcio_example.arc.gz": (1, {"warcinfo": 1}),
}


@pytest.mark.parametrize("name", sorted(WARCS))
def test_warc_samples(name: str) -> None:
    counts = WarcCounts()
    items = list(iter_warc(SHARED_FETCH / "warc" / name, max_bytes=4_000_000, counts=counts))
    assert (counts.documents, counts.skipped) == WARCS[name]
    for item in items:
        assert item.result is not None
        page = build_page(item.result, source="warc")
        assert page.record["kind"] == "html" and page.record["body"] and page.record["fetched_at"]


def test_broken_warc_is_unreadable() -> None:
    with pytest.raises(FetchFailure) as caught:
        list(iter_warc(SHARED_FETCH / "warc" / "warcio_example-wrong-chunks.warc.gz", max_bytes=1_000_000))
    assert caught.value.kind == "unreadable"


PAGES = sorted(str(p.relative_to(SHARED_FETCH)) for p in (SHARED_FETCH / "pages").rglob("*.htm*"))


@pytest.mark.parametrize("name", PAGES)
def test_article_pages_become_records(name: str) -> None:
    """14 languages: decoded without loss, never mistaken for a challenge page, canonical found."""
    body = read(name)
    if name.endswith(".gz"):
        body = gzip.decompress(body)
    url = f"https://publisher.example/{Path(name).stem}"
    result = FetchResult(url, url, 200, {"content-type": "text/html"}, body, "2026-03-03T10:00:00Z", 0.0)
    page = build_page(result, source="pages")
    record = page.record
    assert record["kind"] == "html" and len(record["body"]) > (300 if "meta_refresh" in name else 1000)
    assert "\ufffd" not in record["body"][:20000]
    assert record["meta"]["fetch"]["charset"] in ("utf-8", "cp1252", "gb18030", "euc-jp", "cp949", "cp932")

