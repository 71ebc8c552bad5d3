import base64
from pathlib import Path

import orjson

from services.fetcher.files import DocumentReader
from services.kafka.topics import DLQ, RAW
from services.records import stable_id

ARTICLE = "The council voted on Tuesday to build a new flood wall along the waterfront. " * 5


def reader(max_body: int = 1_000_000) -> DocumentReader:
    return DocumentReader(max_body_bytes=max_body, max_payload_bytes=max_body)


def test_text_file_becomes_raw_record_with_file_uri_and_stable_id(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    [outcome] = list(reader().read([path]))
    assert outcome.topic == RAW
    record = outcome.record
    assert record["url"] == path.resolve().as_uri()
    assert record["id"] == stable_id(path.resolve().as_uri()) == outcome.key
    assert record["kind"] == "text" and record["body"] == ARTICLE
    # the same file read again gives the same id
    assert next(iter(reader().read([path]))).record["id"] == record["id"]


def test_html_file_uses_declared_charset(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_bytes('<html><head><meta charset="iso-8859-1"></head><body><p>Café crème</p></body></html>'
                     .encode("iso-8859-1"))
    [outcome] = list(reader().read([path]))
    assert outcome.topic == RAW and outcome.record["kind"] == "html"
    assert "Café crème" in outcome.record["body"]


def test_jsonl_records_and_folders(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    lines = [
        {"url": "https://example.com/a?utm_source=rss", "title": "A", "text": ARTICLE, "published_at": "2026-01-01"},
        {"title": "no url", "html": "<p>" + ARTICLE + "</p>"},
    ]
    (tmp_path / "sub" / "records.jsonl").write_bytes(b"\n".join(orjson.dumps(x) for x in lines))
    (tmp_path / "ignored.bin").write_bytes(b"\x00\x01")
    outcomes = list(reader().read([tmp_path]))
    assert [o.topic for o in outcomes] == [RAW, RAW]
    first, second = (o.record for o in outcomes)
    assert first["id"] == stable_id("https://example.com/a") and first["title"] == "A"
    assert first["published_at"] == "2026-01-01" and first["kind"] == "text"
    assert second["kind"] == "html" and second["url"].startswith("urn:newsflow:content:")


def test_bad_inputs_become_dead_letters_with_original_bytes(tmp_path: Path) -> None:
    cases = {
        "binary.txt": (bytes(range(256)) * 4, "binary"),
        "latin1.txt": ("Grüße aus Köln".encode("latin-1") * 20, "bad_encoding"),
        "broken.json": (b'{"url": "x", "text": ', "invalid_json"),
        "notext.json": (b'{"url": "https://example.com/x", "title": "t"}', "schema_violation"),
    }
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
    for name, (data, reason) in cases.items():
        [outcome] = list(reader().read([tmp_path / name]))
        assert outcome.topic == DLQ, name
        record = outcome.record
        assert record["reason"] == reason and record["stage"] == "ingest"
        original = (base64.b64decode(record["payload"]) if record["payload_encoding"] == "base64"
                    else record["payload"].encode())
        assert original == data
        assert record["id"] and record["url"]


def test_too_large_is_refused_not_truncated_silently(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"word " * 1000)
    [outcome] = list(DocumentReader(max_body_bytes=1000, max_payload_bytes=100).read([path]))
    assert outcome.topic == DLQ and outcome.record["reason"] == "too_large"
    assert outcome.record["payload_truncated"] is True and outcome.record["payload_bytes"] == 5000
    assert len(outcome.record["payload_sha256"]) == 64


def test_missing_file_is_a_dead_letter(tmp_path: Path) -> None:
    [outcome] = list(reader().read([tmp_path / "nope.txt"]))
    assert outcome.topic == DLQ and outcome.record["reason"] == "unreadable"


def test_warc_archives_yield_one_record_per_html_capture(tmp_path: Path) -> None:
    from tests.fetcher.site import article_html, warc_bytes

    archive = tmp_path / "crawl" / "news.warc.gz"
    archive.parent.mkdir()
    archive.write_bytes(warc_bytes([("https://news.example/a?utm_source=x", article_html("A")),
                                    ("https://news.example/b", article_html("B"))]))
    consumed: list[int] = []
    outcomes = list(DocumentReader(1_000_000, 1_000_000, progress=consumed.append).read([tmp_path]))
    assert [o.topic for o in outcomes] == [RAW, RAW]
    first = outcomes[0].record
    assert first["url"] == "https://news.example/a" and first["id"] == stable_id("https://news.example/a")
    assert first["kind"] == "html" and "<h1>A</h1>" in first["body"] and first["source"] == "file"
    assert first["meta"]["warc"]["record_type"] == "response" and first["fetched_at"]
    assert sum(consumed) == archive.stat().st_size  # the progress bar reaches 100 %


def test_oversized_warc_capture_is_a_dead_letter(tmp_path: Path) -> None:
    from tests.fetcher.site import article_html, warc_bytes

    (tmp_path / "big.warc").write_bytes(warc_bytes([("https://news.example/big", article_html("Big", 500))],
                                                   gzipped=False))
    [outcome] = list(reader(max_body=10_000).read([tmp_path / "big.warc"]))
    assert outcome.topic == DLQ and outcome.record["reason"] == "too_large"
    assert outcome.record["url"] == "https://news.example/big"
