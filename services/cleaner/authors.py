"""Author names from bylines and metadata, without the byline's decorations.

Bylines arrive as "By Jane Doe, Senior Correspondent | Updated Nov 18, 2019", "Jane Doe and
John Roe", "Email the author", "@janedoe": only the names are useful downstream.
"""

from __future__ import annotations

import re

_SPLIT = re.compile(r"\s*(?:;|\||,|、|，|&|\band\b|\bund\b|\bet\b|\by\b|\n|/)\s*", re.I)
_PREFIX = re.compile(
    r"(?i)^(?:(?:written|reported|posted|edited|story|photos?|text|words|analysis|opinion|commentary|review|"
    r"interview|column)\s+)?by[:\s]+"
)
_NOISE = re.compile(
    r"(?i)(e-?mail|follow|contact)( the)? (author|me|him|her|us)|view (all )?(posts|articles|stories)|"
    r"https?://\S+|www\.\S+|\S+@\S+|@\w+|\b(updated|published|posted)\b.*$|"
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b.*$|\b\d{1,2}[:/.]\d{2}\b.*$|"
    r"\b(19|20)\d{2}\b.*$|(?<=[a-z])(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b.*$|\s+for\s+\S.*$"
)
# A wire agency glued after a name ("Tom Davies Associated Press").
_AGENCY_SUFFIX = re.compile(
    r"(?i)\s+(the associated press|associated press|reuters|afp|ap|sputnik( international)?|"
    r"bloomberg|xinhua|dpa)$"
)
# Words that make a byline an organisation or a desk rather than a person.
_ORG_WORDS = frozenset(
    [
        "press",
        "news",
        "media",
        "magazine",
        "editorial",
        "editors",
        "business",
        "international",
        "network",
        "group",
        "staff",
        "team",
        "desk",
        "newsroom",
        "wire",
        "service",
        "services",
        "agency",
        "inc",
        "ltd",
        "llc",
        "sport",
        "sports",
        "daily",
        "weekly",
        "times",
        "post",
        "journal",
        "online",
        "digital",
        "tv",
        "radio",
        "channel",
        "letters",
    ]
)
# Job titles and desks that follow (or replace) a name in a byline.
_ROLE = re.compile(
    r"(?i)\b(senior|staff|chief|deputy|managing|executive|contributing|associate|special|political|"
    r"foreign|national|business|sports?|tech(nology)?|science|health|city|news|digital|freelance|"
    r"guest|wire|auto|travel|food|entertainment|music|arts|culture|opinion|markets|energy|legal|medical|"
    r"education|environment|climate|investigative|white house|congressional|courts?|the)?\s*"
    r"(writer|reporter|correspondent|editor|columnist|contributor|journalist|"
    r"producer|analyst|critic|photographer|anchor|host|intern|desk|staff|team|bureau|newsroom|"
    r"author|editors|reporters|agency|service)s?\b"
)
# A personal name in Hangul or Han characters, written without spaces (two to four syllables).
_UNSPACED_NAME = re.compile(r"[\uac00-\ud7a3]{2,4}|[\u4e00-\u9fff]{2,4}")
# ... unless it is a newspaper, an agency or a broadcaster ("연합뉴스", "한국일보", "新华社", "人民网").
_UNSPACED_ORG_ENDINGS = (
    "뉴스", "일보", "신문", "방송", "뉴시스", "社", "网", "網", "报", "報", "台", "刊", "新闻", "新聞",
)  # fmt: skip
_NAME_WORD = re.compile(r"^[^\W\d_][\w'’.\-]*$")
_AGENCIES = frozenset({"reuters", "ap", "afp", "associated press", "dpa", "bloomberg", "xinhua", "pa"})


def _clean_one(candidate: str) -> str | None:
    text = _PREFIX.sub("", candidate.strip())
    text = _NOISE.sub("", text)
    if _ROLE.search(text):
        without = _ROLE.sub("", text).strip(" .,:;-–—()[]|\"'")
        # "Chris Writer" is a name; "Jane Doe, Staff Writer" and "AP Auto Writer" are bylines.
        if len(without.split()) != 1 or without.casefold() in _AGENCIES:
            text = without
    text = text.strip(" .,:;-–—()[]|\"'")
    if text.casefold() not in _AGENCIES:
        text = _AGENCY_SUFFIX.sub("", text).strip(" .,:;-–—")
    if not text:
        return None
    tokens = text.split()
    if text.casefold() not in _AGENCIES and any(tok.casefold().strip(".") in _ORG_WORDS for tok in tokens):
        return None
    if any(".com" in tok.casefold() or ".co." in tok.casefold() for tok in tokens):
        return None
    if not 1 <= len(tokens) <= 5 or not all(_NAME_WORD.match(tok) for tok in tokens):
        return None
    if text.casefold() in _AGENCIES:
        return text
    if len(tokens) == 1 and _UNSPACED_NAME.fullmatch(text) and not text.endswith(_UNSPACED_ORG_ENDINGS):
        return text  # Korean and Chinese names are one word: "구현모", "牛镛"
    if len(tokens) == 1 or not any(tok[0].isupper() for tok in tokens):
        return None
    if text.isupper():
        text = text.title()
    return text


def clean_authors(raw: str | list[str] | None) -> list[str]:
    """Distinct person (or agency) names, in byline order."""
    if not raw:
        return []
    values = [raw] if isinstance(raw, str) else [v for v in raw if isinstance(v, str)]
    names: list[str] = []
    seen: set[str] = set()
    for value in values:
        for part in _SPLIT.split(_PREFIX.sub("", value.strip())):
            name = _clean_one(part) if part else None
            if name and name.casefold() not in seen:
                seen.add(name.casefold())
                names.append(name)
    return names


_BYLINE = re.compile(r"^(?:by|from)\s+(?P<names>[A-Z][^\n]{2,100})$", re.I)
_CREDIT = re.compile(r"\((?:reporting|writing|additional reporting) by (?P<names>[^;)]{3,200})", re.I)


def byline_authors(line: str) -> list[str]:
    """Names in a "By Jane Doe and John Roe" line (empty when the line is not a byline)."""
    m = _BYLINE.match(line.strip())
    return clean_authors(m.group("names")) if m and len(line) <= 120 else []


def credit_authors(paragraph: str) -> list[str]:
    """Names in a wire credit line "(Reporting by A, B and C; Editing by D)"."""
    m = _CREDIT.search(paragraph)
    return clean_authors(m.group("names")) if m else []
