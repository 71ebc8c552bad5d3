from datetime import UTC, datetime

import pytest

from services.cleaner.authors import byline_authors, clean_authors, credit_authors
from services.cleaner.dates import choose_date, parse_date, text_date, url_date


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


def test_unspaced_korean_and_chinese_names() -> None:
    assert clean_authors("구현모") == ["구현모"]
    assert clean_authors("牛镛、岳弘彬") == ["牛镛", "岳弘彬"]
    assert clean_authors(["연합뉴스", "한국일보", "新华社", "人民网"]) == []  # agencies and papers


@pytest.mark.parametrize(
    ("url", "day"),
    [
        ("https://www.politifact.com/west-virginia/statements/2019/nov/18/david-mckinley/what/", "2019-11-18"),
        ("https://news.example.com/2026/01/12/trams", "2026-01-12"),
        ("https://elpais.com/internacional/2024-10-15/bruselas.html", "2024-10-15"),
        ("https://example.com/2019/sept/3/story", "2019-09-03"),
        ("https://example.com/2019/13/18/story", None),  # no 13th month
        ("https://example.com/archive/2019/", None),
        ("https://example.com/story-20191118", None),  # 8 digits are as often an id
        ("https://example.com/story?day=2019-11-18", None),  # the query is not the path
        (None, None),
    ],
)
def test_url_date(url: str | None, day: str | None) -> None:
    assert url_date(url) == day


@pytest.mark.parametrize(
    ("line", "day"),
    [
        ("publiziert am 25. September 2018", "2018-09-25"),
        ("Veröffentlicht: 12.03.2020, 10:15 Uhr", "2020-03-12"),
        ("Publié le 3 déc. 2020 à 10h15", "2020-12-03"),
        ("Publicado el 5 de marzo de 2020", "2020-03-05"),
        ("Published: Jan. 5, 2021", "2021-01-05"),
        ("Posted 2020-03-04", "2020-03-04"),
        ("Posted 03/04/2020", None),  # March 4th or April 3rd: not guessed
        ("Published 31 February 2020", None),
    ],
)
def test_text_date(line: str, day: str | None) -> None:
    assert text_date(line) == day
