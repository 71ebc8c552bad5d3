from datetime import UTC, datetime

import pytest

from services.cleaner.authors import byline_authors, clean_authors, credit_authors
from services.cleaner.dates import choose_date, parse_date


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ("By Jane Doe and John Roe, Staff Writers", ["Jane Doe", "John Roe"]),
        ("Jane Doe | Updated Nov 18, 2019 10:35 AM", ["Jane Doe"]),
        ("Email the author", []),
        ("Analysis by Chris Writer", ["Chris Writer"]),
        ("Tom Davies Associated Press", ["Tom Davies"]),
        ("Example Media for Example.com", []),
        ("BBC News", []),
        ("Reuters", ["Reuters"]),
        (["Jane Doe", "jane doe", "@janedoe"], ["Jane Doe"]),
    ],
)
def test_clean_authors(raw: str | list[str], names: list[str]) -> None:
    assert clean_authors(raw) == names


def test_byline_and_credit_lines() -> None:
    assert byline_authors("By Maria Lopez") == ["Maria Lopez"]
    assert byline_authors("By the way, prices rose again this week and nobody noticed it") == []
    credit = "(Reporting by Ann Lee, Bo Chan and Cy Dorn; Editing by Dee Eve)"
    assert credit_authors(credit) == ["Ann Lee", "Bo Chan", "Cy Dorn"]


def test_parse_date_formats() -> None:
    assert parse_date("2019-11-18T10:00:00Z") == datetime(2019, 11, 18, 10, tzinfo=UTC)
    assert str(parse_date("2019-11-18")) == "2019-11-18"
    assert parse_date("Mon, 18 Nov 2019 10:00:00 +0000") is not None
    assert parse_date("yesterday") is None


def test_future_dates_are_skipped_and_flagged() -> None:
    now = datetime(2026, 1, 13, tzinfo=UTC)
    assert choose_date(["2030-01-01T00:00:00Z", "2026-01-12"], now) == ("2026-01-12", True)
    assert choose_date([None, "garbage", "2026-01-12T08:00:00+01:00"], now) == (
        "2026-01-12T08:00:00+01:00",
        False,
    )
    assert choose_date(["1900-01-01"], now) == (None, False)
