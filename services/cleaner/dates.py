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
