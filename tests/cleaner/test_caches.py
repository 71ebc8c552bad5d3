"""The cleaner empties the extraction stack's caches every N documents (no timing or memory asserted)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from services.cleaner import ArticleCleaner, caches
from services.cleaner import core as cleaner_core
from services.records import StageError
from tests.cleaner.builders import make_page, make_raw

TEXT = "The council voted on Tuesday to extend the tram network to the northern suburbs. " * 5


@pytest.fixture
def resets(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record reset calls instead of clearing the real caches."""
    calls: list[int] = []
    monkeypatch.setattr(cleaner_core.caches, "reset_caches", lambda: calls.append(1))
    return calls


def test_resets_every_n_documents(resets: list[int]) -> None:
    cleaner = ArticleCleaner(reset_caches_every=3)
    for _ in range(3):
        cleaner.clean(make_raw(TEXT))
    assert resets == []  # the first N documents run on the caches as they are
    cleaner.clean(make_raw(TEXT))
    assert len(resets) == 1  # before the (N+1)-th
    for _ in range(6):
        cleaner.clean(make_raw(TEXT))
    assert len(resets) == cleaner.cache_resets == 3


def test_refused_documents_and_benchmark_extraction_count_too(resets: list[int]) -> None:
    cleaner = ArticleCleaner(reset_caches_every=2)
    with pytest.raises(StageError):
        cleaner.clean(make_raw("   "))  # refused as empty: it still went through the reader
    cleaner.extract_text(make_raw(make_page(), kind="html"))
    cleaner.clean(make_raw(make_page(), kind="html"))
    assert len(resets) == 1


def test_default_interval_and_switching_off(resets: list[int]) -> None:
    assert ArticleCleaner().reset_caches_every == caches.CACHE_RESET_EVERY > 0
    for every in (0, None):
        cleaner = ArticleCleaner(reset_caches_every=every)
        for _ in range(5):
            cleaner.clean(make_raw(TEXT))
        assert cleaner.cache_resets == 0
    assert resets == []


def test_failing_reset_does_not_cost_the_document(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("cache API changed")

    monkeypatch.setattr(cleaner_core.caches, "reset_caches", broken)
    cleaner = ArticleCleaner(reset_caches_every=1)
    cleaner.clean(make_raw(TEXT))
    [record] = cleaner.clean(make_raw(TEXT))
    assert record["text"]
    assert cleaner.cache_resets == 1


def test_real_reset_empties_the_caches_quietly(caplog: pytest.LogCaptureFixture) -> None:
    ArticleCleaner(reset_caches_every=0).clean(make_raw(make_page(), kind="html"))
    assert sum(caches.cache_entries().values()) > 0
    with caplog.at_level(logging.DEBUG):
        caches.reset_caches()
    assert sum(caches.cache_entries().values()) == 0
    # htmldate's reset logs an ERROR about a charset_normalizer function that lost its cache.
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_memory_check_runs_on_synthetic_pages(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from services.cleaner import memory_check

    args = ["--pages", "24", "--every", "8", "--baseline", "8", "--reset-every", "10", "--data", f"{tmp_path}/none"]
    assert memory_check.main(args) == 0
    out = capsys.readouterr().out
    assert "synthetic pages" in out
    assert "growth" in out and "2 cache resets" in out and "0 dead letters" in out
