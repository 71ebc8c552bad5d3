"""Publication dates: parse what sources write, normalise to ISO 8601, distrust the future.

Sources disagree on formats (ISO with or without zone, RFC 2822, "2019-11-18 10:00"), and a
few publish dates in the future (scheduled posts, broken CMS clocks). A future date would
sort an article ahead of today's news and skew dedup windows, so it is flagged and skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

# Clock skew and time zones: a date up to a day ahead is still "now".
FUTURE_TOLERANCE = timedelta(days=1)

_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
# /2019/11/18/, /2019-11-18-slug, _2019_11_18, /2019/nov/18/ (politifact), /2019/november/18/.
_URL_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})([/_-])(\d{1,2}|[a-z]{3,9})\2(\d{1,2})(?!\d)", re.I)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T?(\d{2})(\d{2})(\d{2})?)?Z?")
_SLASHED = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")


def parse_date(value: str | None) -> datetime | date | None:
    """A datetime (aware if the source said so) or a date; None when unparseable."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    candidate = text.replace("Z", "+00:00") if text.endswith("Z") else text
    if len(candidate) >= 11 and candidate[10] == " ":
        candidate = candidate[:10] + "T" + candidate[11:]
    try:
        if len(candidate) == 10:
            return date.fromisoformat(candidate)
        return datetime.fromisoformat(candidate)
    except ValueError:
        pass
    m = _COMPACT.fullmatch(text)
    if m and m.group(4) is None:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    m = _SLASHED.fullmatch(text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def url_date(url: str | None) -> str | None:
    """The day a URL's path names ("/2019/nov/18/slug"), as an ISO date; None when it names none.

    Only full dates with separators count: a bare "/2019/" or an 8-digit number is too often
    an archive page or an id.
    """
    if not url or not isinstance(url, str):
        return None
    path = url.split("://", 1)[-1].partition("/")[2].split("?", 1)[0].split("#", 1)[0]
    for m in _URL_DATE.finditer(path):
        month = _month_number(m.group(3))
        try:
            return date(int(m.group(1)), month, int(m.group(4))).isoformat()
        except ValueError:  # month 0 (not a month name) or no such day
            continue
    return None


def _month_number(text: str) -> int:
    """12 for "12", "dec", "Dec" or "december"; 0 when the text is no month."""
    if text.isdigit():
        return int(text)
    text = text.casefold()
    return next((n for n, name in enumerate(_MONTH_NAMES, 1) if len(text) >= 3 and name.startswith(text)), 0)


# Month names of the languages whose pages htmldate's fast mode cannot read (English included
# for "Published on March 3, 2020" lines it missed), casefolded, accents kept.
_TEXT_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january januar jänner janvier enero gennaio janeiro januari",
        "february februar février fevrier febrero febbraio fevereiro februari",
        "march märz maerz mars marzo março maart",
        "april avril abril aprile",
        "may mai mayo maggio maio mei",
        "june juni juin junio giugno junho",
        "july juli juillet julio luglio julho",
        "august août aout agosto augustus",
        "september septembre septiembre setiembre settembre setembro",
        "october oktober octobre octubre ottobre outubro",
        "november novembre noviembre novembro",
        "december dezember décembre decembre diciembre dicembre dezembro",
    ),
    start=1,
):
    for _name in _names.split():
        _TEXT_MONTHS[_name] = _number
_MONTH_WORD = r"([^\W\d_]{3,10})\.?"
_TEXT_DATE_FORMS = (
    # 25. September 2018, 3 mars 2020, 5 de marzo de 2020, 3rd March 2020
    re.compile(
        rf"(?<!\d)(\d{{1,2}})(?:\.|st|nd|rd|th|er|º)?\s+(?:de\s+)?{_MONTH_WORD}\s+(?:de\s+)?(\d{{4}})(?!\d)", re.I
    ),
    # March 3, 2020 / March 3rd 2020
    re.compile(rf"{_MONTH_WORD}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)", re.I),
    # 25.09.2018 (day first, as written wherever dots separate the parts)
    re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{4})(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"),
)
# "Published", "publiziert am", "Veröffentlicht:", "publié le", "publicado el", "pubblicato il"...
PUBLISHED_LABEL = re.compile(
    r"(?i)\b(published|posted|publiziert|veröffentlicht|erschienen|publié|publiée|mis en ligne|publicado|"
    r"publicada|pubblicato|pubblicata|publicat|gepubliceerd|geplaatst|publicerad|publiceret|publisert|"
    r"opublikowano|julkaistu)\b"
)


def _text_month(word: str) -> int:
    """The month a name or an unambiguous abbreviation of one ("Sept", "déc", "Okt") stands for; 0 if none."""
    word = word.casefold()
    if word in _TEXT_MONTHS:
        return _TEXT_MONTHS[word]
    if len(word) < 3:
        return 0
    months = {number for name, number in _TEXT_MONTHS.items() if name.startswith(word)}
    return months.pop() if len(months) == 1 else 0


def text_date(text: str) -> str | None:
    """The date a publication line writes out ("publiziert am 25. September 2018"), ISO; or None.

    Numeric dates are read day first (25.09.2018) and only with dots or as ISO: "03/04/2020"
    means different days on either side of the Atlantic.
    """
    for number, form in enumerate(_TEXT_DATE_FORMS):
        for m in form.finditer(text):
            if number == 0:
                day, month, year = int(m.group(1)), _text_month(m.group(2)), int(m.group(3))
            elif number == 1:
                month, day, year = _text_month(m.group(1)), int(m.group(2)), int(m.group(3))
            elif number == 2:
                day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
            else:
                year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
            try:
                return date(year, month, day).isoformat()
            except ValueError:  # no such month or day
                continue
    return None


def to_iso(value: datetime | date) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() == timedelta(0):
            return value.replace(tzinfo=None).isoformat() + "Z"
        return value.isoformat()
    return value.isoformat()


def is_future(value: datetime | date, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return moment > now + FUTURE_TOLERANCE


def is_plausible(value: datetime | date) -> bool:
    return value.year >= 1990


def choose_date(candidates: Iterable[str | None], now: datetime | None = None) -> tuple[str | None, bool]:
    """First trustworthy date in priority order, and whether a future date was seen (and skipped)."""
    saw_future = False
    for raw in candidates:
        parsed = parse_date(raw)
        if parsed is None or not is_plausible(parsed):
            continue
        if is_future(parsed, now):
            saw_future = True
            continue
        return to_iso(parsed), saw_future
    return None, saw_future
