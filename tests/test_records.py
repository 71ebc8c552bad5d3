from hypothesis import given
from hypothesis import strategies as st

from services.records import canonical_url, child_id, stable_id


def test_canonical_url_drops_tracking_fragment_default_port_and_case() -> None:
    url = "HTTPS://Example.COM:443/News/a?utm_source=x&id=3&fbclid=abc#comments"
    assert canonical_url(url) == "https://example.com/News/a?id=3"


def test_canonical_url_keeps_non_default_port_and_file_uris() -> None:
    assert canonical_url("http://example.com:8080/a") == "http://example.com:8080/a"
    assert canonical_url("file:///data/seeds/000.txt") == "file:///data/seeds/000.txt"


def test_stable_id_same_for_equivalent_urls_and_differs_otherwise() -> None:
    assert stable_id("https://example.com/a?utm_medium=rss") == stable_id("https://EXAMPLE.com/a")
    assert stable_id("https://example.com/a") != stable_id("https://example.com/b")
    assert stable_id(None, "some text") == stable_id(None, b"some text")
    assert stable_id(None, "some text") != stable_id(None, "other text")


def test_child_ids_are_stable_and_distinct() -> None:
    assert child_id("p", 0) == child_id("p", 0)
    assert child_id("p", 0) != child_id("p", 1)


@given(st.text())
def test_canonical_url_is_idempotent_and_ids_deterministic(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert stable_id(url) == stable_id(url)
