"""Decoding, dates, gzip limits, XML safety, address policy, sources files and options."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from services.fetcher.addresses import AddressPolicy
from services.fetcher.compression import gunzip_capped
from services.fetcher.dates import parse_date
from services.fetcher.decoding import decode_document
from services.fetcher.entries import sniff
from services.fetcher.errors import FetchFailure
from services.fetcher.feeds import parse_feed
from services.fetcher.options import FetchOptions, duration
from services.fetcher.pages import canonical_link, content_hash, same_site
from services.fetcher.sources import SourcesError, load_sources, parse_sources
from services.settings import PROJECT_ROOT, Settings


def test_decoding_order_and_mismatch() -> None:
    text = "Grüße aus Köln"
    assert decode_document(text.encode("utf-8"), http="iso-8859-1").text == text  # valid UTF-8 beats Latin-1
    latin = decode_document(text.encode("cp1252"), http="utf-8")
    assert latin.text == text and latin.mismatch and latin.declared == "utf-8"
    meta = decode_document(b'<meta charset="windows-1251">' + "Привет".encode("cp1251"), kind="html")
    assert meta.text.endswith("Привет") and meta.source == "meta" and not meta.mismatch
    declared = b'<?xml version="1.0" encoding="ISO-8859-2"?><a>'
    xml = decode_document(declared + "Łódź".encode("iso-8859-2") + b"</a>", kind="xml")
    assert "Łódź" in xml.text and xml.source == "xml"
    assert decode_document("\ufeffhi".encode("utf-16-le")).source == "bom"
    with pytest.raises(FetchFailure) as caught:
        decode_document(b"\xef\xbb\xbf\xff\xfe\xfa")
    assert caught.value.kind == "bad_encoding"


def test_dates() -> None:
    assert parse_date("Thu,28 Jul 2022 4:35:5 GMT+9") == "2022-07-27T19:35:05Z"
    assert parse_date("Mon, 01 Jan 2024 10:00:00 EST") == "2024-01-01T15:00:00Z"
    assert parse_date("2024-03-01T12:00:00+02:00") == "2024-03-01T10:00:00Z"
    assert parse_date("2024-03-01") == "2024-03-01T00:00:00Z"
    assert parse_date("Seg, 24 Set 2018 19:42:40 -0300") == "2018-09-24T22:42:40Z"
    assert parse_date("Sat, Dec 16 2023 02:02:33 PM") == "2023-12-16T14:02:33Z"
    assert parse_date("soon") is None and parse_date("") is None


def test_gzip_ceiling() -> None:
    data = gzip.compress(b"x" * 10_000)
    assert gunzip_capped(data, 10_000) == b"x" * 10_000
    assert gunzip_capped(data + gzip.compress(b"y"), 10_001).endswith(b"y")  # multi-member
    with pytest.raises(FetchFailure) as caught:
        gunzip_capped(data, 9_999)
    assert caught.value.kind == "too_large"
    with pytest.raises(FetchFailure):
        gunzip_capped(data[:20], 10_000)


def test_entity_expansion_is_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "xxxxxxxxxx"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b"<rss><channel><title>&b;</title><item><link>https://a.test/x</link></item></channel></rss>")
    with pytest.raises(FetchFailure) as caught:
        parse_feed(bomb, url="https://a.test/feed")
    assert caught.value.kind == "malformed_xml" and "entity" in caught.value.message
    external = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                b"<rss><channel><title>&e;</title></channel></rss>")
    with pytest.raises(FetchFailure):
        parse_feed(external, url="https://a.test/feed")


def test_sniffing() -> None:
    assert sniff('<?xml version="1.0"?><!-- c --><rss/>') == "feed"
    assert sniff("<rdf:RDF xmlns:rdf='x'/>") == "feed"
    assert sniff("<urlset/>") == "sitemap"
    assert sniff("<!DOCTYPE html><html>") == "html"
    assert sniff("  ") == "empty" and sniff('{"a": 1}') == "json" and sniff("https://a.test/1") == "text"


def test_address_policy() -> None:
    closed = AddressPolicy.of("")
    for address in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.169.254", "::1", "fe80::1", "0.0.0.0",
                    "::ffff:127.0.0.1", "100.64.0.1", "224.0.0.1"):
        assert not closed.permits(address), address
    assert closed.permits("93.184.216.34") and closed.permits("2606:2800:220:1::1")
    assert AddressPolicy.of("127.0.0.0/8").permits("127.0.0.5")
    assert not AddressPolicy.of("127.0.0.0/8").permits("10.0.0.1")


def test_canonical_link_and_content_hash() -> None:
    html = b'<html><head><link href="/a?b=1&amp;c=2" rel="canonical"/></head><body></body></html>'
    assert canonical_link(html, "https://x.test/page") == "https://x.test/a?b=1&c=2"
    assert canonical_link(b"<body><link rel=canonical href=/late></body>", "https://x.test/") is None
    assert same_site("https://www.x.test/a", "https://x.test/b") and same_site("https://m.x.test/",
                                                                               "https://x.test/")
    assert not same_site("https://x.test/", "https://y.test/")
    a = "<html><script>var t=1</script><p>Same  text</p></html>"
    b = "<html><script>var t=2</script><p>Same text</p><!-- cache 42 --></html>"
    assert content_hash(a, "html") == content_hash(b, "html") != content_hash("<p>Other</p>", "html")


def test_example_sources_file_is_valid() -> None:
    example = load_sources(PROJECT_ROOT / "ops" / "sources.example.yaml")
    kinds = {s.kind for s in example.sources}
    assert kinds == {"feed", "sitemap", "page", "files", "warc"}


def test_sources_errors_say_where(tmp_path: Path) -> None:
    cases = [
        ({"sources": [{"id": "a", "kind": "rss", "url": "https://a.test/"}]}, "`kind` must be one of"),
        ({"sources": [{"id": "a", "kind": "feed", "url": "ftp://a.test/"}]}, "needs an http(s) `url`"),
        ({"sources": [{"id": "a b", "kind": "feed", "url": "https://a.test/"}]}, "`id` must be"),
        ({"sources": [{"id": "a", "kind": "feed", "url": "https://a.test/", "intervall": "1m"}]},
         "unknown key"),
        ({"sources": [{"id": "a", "kind": "feed", "url": "https://a.test/"}] * 2}, "duplicate id"),
        ({"sources": [{"id": "a", "kind": "files"}]}, "needs a `path`"),
        ({"sources": [{"id": "a", "kind": "feed", "url": "https://a.test/", "interval": "soon"}]},
         "not a duration"),
    ]
    for doc, message in cases:
        with pytest.raises(SourcesError, match="source #"):
            parse_sources(doc)
        with pytest.raises(SourcesError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_sources(doc)


def test_defaults_overrides_and_durations(tmp_path: Path) -> None:
    doc = {"defaults": {"interval": "10m", "max_age": "2d"}, "fetcher": {"host_delay": "500ms",
                                                                         "timeout": 12},
           "hosts": {"Slow.Example": {"delay": "10s"}},
           "sources": [{"id": "a", "kind": "feed", "url": "https://a.test/f"},
                       {"id": "b", "kind": "warc", "path": "cc/*.warc.gz", "interval": "1h"}]}
    parsed = parse_sources(doc, tmp_path / "sources.yaml")
    a, b = parsed.sources
    assert a.interval_s == 600 and a.max_age_s == 172800 and b.interval_s == 3600
    assert b.path == str(tmp_path / "cc/*.warc.gz")
    assert parsed.hosts == {"slow.example": {"delay_s": 10.0}}
    options = FetchOptions.from_settings(Settings(), parsed.fetcher)
    assert options.host_delay_s == 0.5 and options.timeout_s == 12
    assert options.max_body_bytes == Settings().max_body_bytes
    assert duration("90") == 90 and duration("1w") == 604800
    assert options.robots_token == "newsflow"
