from datetime import date

import pytest

from services.cleaner.dateline import parse_dateline


@pytest.mark.parametrize(
    ("text", "place", "agency", "when"),
    [
        ("BRUSSELS, Jan 12 (Reuters) - NATO member states are moving", "BRUSSELS", "Reuters", "2026-01-12"),
        ("WASHINGTON (AP) — The Senate voted on Tuesday", "WASHINGTON", "AP", None),
        ("KYIV, Ukraine, March 3 (AFP) - Air raid sirens sounded", "KYIV, Ukraine", "AFP", "2026-03-03"),
        ("COLUMBIA, S.C. (AP) — Deval Patrick said", "COLUMBIA, S.C.", "AP", None),
        ("London (CNN) -- The prime minister said", "London", "CNN", None),
        ("PARIS — Protesters gathered on Saturday", "PARIS", None, None),
        (
            "NEW YORK, 12 January 2026 /PRNewswire/ -- Acme Corp announced",
            "NEW YORK",
            "PRNewswire",
            "2026-01-12",
        ),
    ],
)
def test_datelines(text: str, place: str, agency: str | None, when: str | None) -> None:
    parsed = parse_dateline(text, reference=date(2026, 3, 10))
    assert parsed is not None
    assert parsed["place"] == place
    assert parsed["agency"] == agency
    assert parsed["date"] == when


@pytest.mark.parametrize(
    "text",
    [
        "NATO member countries are actively discussing the next steps",
        "U.S. - China trade talks resumed on Monday",
        "EXCLUSIVE - The company plans to cut jobs",
        "The mayor said: we will rebuild",
        "",
    ],
)
def test_not_datelines(text: str) -> None:
    assert parse_dateline(text) is None


def test_year_inferred_around_new_year() -> None:
    parsed = parse_dateline("BERLIN, Dec 30 (Reuters) - Markets closed", reference=date(2026, 1, 2))
    assert parsed is not None and parsed["date"] == "2025-12-30"
