"""Dates, titles and authors on the shared article pages (../shared), as `python -m services.cleaner.datecheck`.

The expected values are other libraries' output (fundus, newspaper4k): the floors below are what
the cleaner reaches today, and differences we checked on the page and found to be theirs are
listed in `datecheck.KNOWN`.
"""

from __future__ import annotations

import pytest

from services.cleaner import datecheck

PAGES = datecheck.SHARED / "data" / "fetch" / "pages"

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not (PAGES / "fundus").is_dir(), reason="../shared is not here (a user's clone)"),
]


@pytest.fixture(scope="module")
def verdicts() -> list[datecheck.Verdicts]:
    return datecheck.run_all()


def _matched(verdicts: list[datecheck.Verdicts], group: str, field: str) -> tuple[int, int]:
    counts = datecheck.tally([v for v in verdicts if v.page.startswith(group)], field)
    return counts.get("exact", 0) + (counts.get("same_day", 0) if field == "published_at" else 0), sum(counts.values())


def test_publication_dates_match_except_known_errors(verdicts: list[datecheck.Verdicts]) -> None:
    misses = [
        f"{v.page}: got {v.got['published_at']!r}, expected {v.expected['published_at']!r}"
        for v in verdicts
        if v.results["published_at"] in ("differs", "missing") and (v.page, "published_at") not in datecheck.KNOWN
    ]
    assert misses == []
    fundus, total = _matched(verdicts, "fundus", "published_at")
    assert total >= 14 and fundus >= total - 1
    assert _matched(verdicts, "newspaper4k", "published_at") == (4, 4)


def test_title_and_author_floors(verdicts: list[datecheck.Verdicts]) -> None:
    assert _matched(verdicts, "fundus", "title")[0] >= 11
    assert _matched(verdicts, "fundus", "authors")[0] >= 7
    assert _matched(verdicts, "newspaper4k", "title")[0] >= 3


def test_pages_without_expectations_are_dated_like_their_urls() -> None:
    counts, disagreements = datecheck.url_agreement()
    assert disagreements == []
    assert counts["url_dated"] >= 30
    assert counts["dated"] >= counts["pages"] - 1  # one page is a JavaScript shell with no date at all
