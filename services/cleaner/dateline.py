"""Wire-style datelines: "BRUSSELS, Jan 12 (Reuters) -", "KYIV, Ukraine (AP) —", "London (CNN) --".

The dateline says where a story was filed and which agency wrote it; dedup and the topic
stage use both. The paragraph text is left as written (the dateline is part of the copy).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from services.records import Dateline

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_CAPS_PLACE = r"[A-Z][A-Z.'’\-]+(?: [A-Z][A-Z.'’\-]+){0,3}"
_TITLE_PLACE = r"[A-Z][a-z.'’\-]+(?: [A-Z][a-z.'’\-]+){0,2}"
_REGION = r"(?:,\s*(?!" + _MONTH + r"\s*\d)[A-Z][A-Za-z.'’\-]+(?: [A-Z][A-Za-z.'’\-]+){0,2}){0,2}"
_DATE = (
    rf"(?P<date>{_MONTH}\s+\d{{1,2}}(?:,?\s+\d{{4}})?|\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?"
    rf"|\d{{4}}-\d{{2}}-\d{{2}})"
)
_AGENCY = r"(?:\((?P<agency>[A-Za-z][\w .&’'/-]{0,30})\)|/(?P<agency2>[A-Za-z][\w .&-]{1,30})/)"
_SEP = r"\s*(?:-{1,2}|–|—)\s+"
# Capitalised kickers that look like a place but are not one.
_KICKERS = frozenset(
    [
        "BREAKING",
        "EXCLUSIVE",
        "UPDATE",
        "UPDATED",
        "WATCH",
        "LIVE",
        "OPINION",
        "ANALYSIS",
        "EDITORIAL",
        "NOTE",
        "VIDEO",
    ]
)

_CAPS_DATELINE = re.compile(
    rf"^(?P<place>{_CAPS_PLACE}{_REGION})(?:,\s*{_DATE})?\s*{_AGENCY}?{_SEP}(?=[\"“‘'A-Z0-9])"
)
_TITLE_DATELINE = re.compile(rf"^(?P<place>{_TITLE_PLACE}{_REGION})(?:,\s*{_DATE})?\s*{_AGENCY}{_SEP}")
_AGENCY_ONLY = re.compile(rf"^{_AGENCY}{_SEP}")


def _resolve(raw: str, reference: date | None) -> str:
    """ISO date for "Jan 12" / "12 January 2026", taking the year from the reference date."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", raw)
    if m:
        return raw
    m = re.fullmatch(r"([A-Za-z]+)\.?\s+(\d{1,2})(?:,?\s+(\d{4}))?", raw) or None
    if m:
        month_name, day, year = m.group(1), int(m.group(2)), m.group(3)
    else:
        m2 = re.fullmatch(r"(\d{1,2})\s+([A-Za-z]+)\.?(?:\s+(\d{4}))?", raw)
        if not m2:
            return raw
        day, month_name, year = int(m2.group(1)), m2.group(2), m2.group(3)
    month = _MONTHS.get(month_name[:3].casefold())
    if month is None:
        return raw
    if year is None:
        if reference is None:
            return raw
        # The filing date is on or shortly before the reference date: pick the nearest year.
        candidates = []
        for y in (reference.year - 1, reference.year, reference.year + 1):
            try:
                candidates.append(date(y, month, day))
            except ValueError:
                continue
        if not candidates:
            return raw
        return min(candidates, key=lambda d: abs((d - reference).days)).isoformat()
    try:
        return date(int(year), month, day).isoformat()
    except ValueError:
        return raw


def parse_dateline(paragraph: str, reference: date | None = None) -> Dateline | None:
    """The dateline opening a paragraph, or None. `reference` supplies the year for "Jan 12"."""
    head = paragraph[:160]
    m = _CAPS_DATELINE.match(head)
    if m and not (m.group("agency") or m.group("agency2") or m.group("date")):
        place = m.group("place")
        # "U.S. - China talks", "EXCLUSIVE - ..." are headline patterns, not datelines.
        if len(place.replace(" ", "").replace(".", "")) < 3 or place.strip() in _KICKERS:
            m = None
    m = m or _TITLE_DATELINE.match(head)
    if m:
        raw_date = m.group("date")
        return Dateline(
            place=m.group("place").strip(),
            agency=(m.group("agency") or m.group("agency2") or "").strip() or None,
            date=_resolve(raw_date, reference) if raw_date else None,
        )
    m = _AGENCY_ONLY.match(head)
    if m:
        return Dateline(place=None, agency=(m.group("agency") or m.group("agency2")).strip(), date=None)
    return None


def reference_date(*values: str | None) -> date | None:
    """The first parseable ISO date among the record's timestamps."""
    for value in values:
        if not value:
            continue
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError:
            continue
    return None
