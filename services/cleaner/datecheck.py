"""Publication dates (and titles, authors) against the expected output shipped with shared pages.

    python -m services.cleaner.datecheck [--shared DIR] [-v]

Pages: ../shared/data/fetch/pages/fundus/<cc>/<Publisher>_<date>.html.gz with fundus's expected
parse <Publisher>.expected.json (keyed by parser version; the version whose title is on the page
is the one for this file), and the newspaper4k pages whose expected JSON has a publish date.
The pages of ../shared/data/extraction and pages/trafilatura have no expected dates: for them
the check counts the pages given a date at all, and whether it agrees (within a day: time
zones) with the day in the URL where the URL names one.
The expected values are what those libraries produced, not ground truth: a difference is a
lead to check on the page, not automatically our error (known ones are listed in KNOWN).

A date matches "exactly" when both name the same instant (a zone the expectation lacks is
ignored; a day-only or midnight expectation needs only the day), and "same day" when only the
calendar day agrees (e.g. we found the day, the expectation also has the time).
"""

from __future__ import annotations

import argparse
import ast
import gzip
import html as html_lib
import json
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from services.cleaner.core import ArticleCleaner
from services.cleaner.dates import parse_date, url_date
from services.records import SCHEMA_VERSION, CleanedArticle, RawArticle, StageError

SHARED = Path(__file__).resolve().parents[2].parent / "shared"

# Expected values checked on the page and found wrong: (page, field) -> why.
KNOWN = {
    ("fundus/tr/AnadoluAjansi_2025_04_05.html.gz", "published_at"): (
        "fundus expects 2025-05-04 (day and month swapped): the page says 05.04.2025 and was crawled 2025-04-05"
    ),
}


@dataclass
class Case:
    page: str  # path under pages/
    html: str
    url: str
    published: str | None
    title: str | None = None
    authors: list[str] | None = None


@dataclass
class Verdicts:
    page: str
    got: dict[str, Any]
    expected: dict[str, Any]
    results: dict[str, str] = field(default_factory=dict)  # field -> exact | same_day | differs | missing


def _literal(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{(":
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    return value


def _norm(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFKC", html_lib.unescape(text or "")).split()).casefold()


def _urls(manifest: Path) -> dict[str, str]:
    if not manifest.exists():
        return {}
    return dict(re.findall(r"\| `pages/(\S+?)` \| (https?://\S+) \|", manifest.read_text(encoding="utf-8")))


def _pick_version(versions: dict[str, dict[str, Any]], page_html: str, file_day: str) -> dict[str, Any]:
    """The expected parse for this file: its title is on the page (else the closest date)."""
    text = _norm(page_html)
    on_page = [v for v in versions.values() if v.get("title") and _norm(v["title"])[:40] in text]
    if len(on_page) == 1:
        return on_page[0]
    pool = on_page or list(versions.values())
    return min(pool, key=lambda v: abs((_day(v.get("publishing_date")) or date.min) - _day(file_day)).days
               if _day(file_day) else 0)  # fmt: skip


def _day(value: str | None) -> date | None:
    parsed = parse_date(value) if value else None
    if isinstance(parsed, datetime):
        return parsed.date()
    return parsed


def load_cases(shared: Path) -> list[Case]:
    pages = shared / "data" / "fetch" / "pages"
    urls = _urls(shared / "data" / "fetch" / "MANIFEST.md")
    cases = []
    for path in sorted((pages / "fundus").glob("*/*.html.gz")):
        publisher, _, file_day = path.name.removesuffix(".html.gz").partition("_")
        expected_path = path.with_name(f"{publisher}.expected.json")
        if not expected_path.exists():
            continue
        page_html = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        versions = json.loads(expected_path.read_text(encoding="utf-8"))
        expected = _pick_version(versions, page_html, file_day.replace("_", "-"))
        rel = str(path.relative_to(pages))
        authors = _literal(expected.get("authors"))
        cases.append(
            Case(
                page=rel,
                html=page_html,
                url=urls.get(rel, ""),
                published=expected.get("publishing_date"),
                title=expected.get("title"),
                authors=authors if isinstance(authors, list) else None,
            )
        )
    for path in sorted((pages / "newspaper4k").glob("*.html")):
        expected_path = path.with_name(path.name.removesuffix(".html") + ".expected.json")
        if not expected_path.exists():
            continue
        expected = json.loads(expected_path.read_text(encoding="utf-8"))
        published = expected.get("publish_date")
        if not published or published == "None":
            continue
        rel = str(path.relative_to(pages))
        cases.append(
            Case(
                page=rel,
                html=path.read_bytes().decode("utf-8", "replace"),
                url=expected.get("url") or urls.get(rel, ""),
                published=published,
                title=expected.get("title"),
            )
        )
    return cases


def _raw(html: str, url: str) -> RawArticle:
    return {
        "schema_version": SCHEMA_VERSION,
        "id": "datecheck",
        "url": url or "https://example.com/",
        "source": "datecheck",
        "kind": "html",
        "body": html,
        "ingested_at": "2026-07-01T00:00:00Z",
    }


def _published(cleaner: ArticleCleaner, raw: RawArticle) -> CleanedArticle:
    try:
        return cleaner.clean(raw)[0]
    except StageError:  # score what the page says even when clean() would refuse it
        return cleaner._build(raw, cleaner.draft(raw), enforce=False)[0]


def undated_pages(shared: Path) -> list[tuple[str, str, str]]:
    """(name, html, url) of the extraction benchmark's and trafilatura's pages."""
    pages = []
    data = shared / "data" / "extraction"
    if (data / "ground_truth.json").exists():
        gold = json.loads((data / "ground_truth.json").read_text(encoding="utf-8"))
        for pid in sorted(gold):
            path = data / "html" / f"{pid}.html.gz"
            if path.exists():
                html = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
                pages.append((f"extraction/{pid[:16]}", html, gold[pid].get("url", "")))
    urls = _urls(shared / "data" / "fetch" / "MANIFEST.md")
    for path in sorted((shared / "data" / "fetch" / "pages" / "trafilatura").glob("*.html")):
        rel = f"trafilatura/{path.name}"
        pages.append((rel, path.read_bytes().decode("utf-8", "replace"), urls.get(rel, "")))
    return pages


def url_agreement(shared: Path = SHARED) -> tuple[dict[str, int], list[str]]:
    """Coverage and agreement with URL days on the pages without expected output."""
    cleaner = ArticleCleaner()
    counts = {"pages": 0, "dated": 0, "url_dated": 0, "agree": 0}
    disagreements = []
    for name, html, url in undated_pages(shared):
        counts["pages"] += 1
        published = _published(cleaner, _raw(html, url))["published_at"]
        counts["dated"] += published is not None
        expected = url_date(url)
        if expected is None:
            continue
        counts["url_dated"] += 1
        got = _day(published)
        if got is not None and abs((got - date.fromisoformat(expected)).days) <= 1:
            counts["agree"] += 1
        else:
            disagreements.append(f"{name}: published_at {published!r}, URL says {expected} ({url})")
    return counts, disagreements


def compare_dates(got: str | None, expected: str | None) -> str:
    if not expected:
        return "no_expectation"
    if not got:
        return "missing"
    a, b = parse_date(got), parse_date(expected)
    if a is None or b is None:
        return "differs"
    day_a = a.date() if isinstance(a, datetime) else a
    day_b = b.date() if isinstance(b, datetime) else b
    if isinstance(a, datetime) and isinstance(b, datetime):
        if (a.tzinfo is None) == (b.tzinfo is None) and a == b:
            return "exact"
        if a.tzinfo is not None and b.tzinfo is None and a.replace(tzinfo=None) == b:
            return "exact"  # the expectation dropped the zone, the wall-clock time agrees
        if b.time() == datetime.min.time() and day_a == day_b:
            return "exact"  # midnight: the expectation only knew the day
        return "same_day" if day_a == day_b else "differs"
    if day_a != day_b:
        return "differs"
    # A day against a day (or against a midnight placeholder) is all there is to know.
    expected_day_only = not isinstance(b, datetime) or b.time() == datetime.min.time()
    return "exact" if expected_day_only else "same_day"


def run_case(cleaner: ArticleCleaner, case: Case) -> Verdicts:
    record = _published(cleaner, _raw(case.html, case.url))
    got = {"published_at": record["published_at"], "title": record["title"], "authors": record["authors"]}
    expected = {"published_at": case.published, "title": case.title, "authors": case.authors}
    verdicts = Verdicts(case.page, got, expected)
    verdicts.results["published_at"] = compare_dates(record["published_at"], case.published)
    if case.title:
        verdicts.results["title"] = "exact" if _norm(record["title"]) == _norm(case.title) else "differs"
    if case.authors:
        same = {_norm(a) for a in record["authors"]} == {_norm(a) for a in case.authors}
        verdicts.results["authors"] = "exact" if same else ("missing" if not record["authors"] else "differs")
    return verdicts


def run_all(shared: Path = SHARED) -> list[Verdicts]:
    cleaner = ArticleCleaner()
    return [run_case(cleaner, case) for case in load_cases(shared)]


def tally(verdicts: list[Verdicts], field_name: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in verdicts:
        result = v.results.get(field_name)
        if result and result != "no_expectation":
            counts[result] = counts.get(result, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("-v", "--verbose", action="store_true", help="show matching fields too")
    args = parser.parse_args(argv)
    if not (args.shared / "data" / "fetch" / "pages").is_dir():
        print(f"SKIP: {args.shared}/data/fetch/pages not found; ../shared is absent.")
        return 0
    verdicts = run_all(args.shared)
    for v in verdicts:
        for name, result in v.results.items():
            if result in ("exact", "no_expectation") and not args.verbose:
                continue
            note = KNOWN.get((v.page, name))
            print(f"{result:9s} {name:12s} {v.page}\n          got {v.got[name]!r}\n     expected {v.expected[name]!r}"
                  + (f"\n        known: {note}" if note else ""))  # fmt: skip
    print()
    for group in ("fundus", "newspaper4k"):
        subset = [v for v in verdicts if v.page.startswith(group)]
        for name in ("published_at", "title", "authors"):
            counts = tally(subset, name)
            total = sum(counts.values())
            if not total:
                continue
            matched = counts.get("exact", 0) + (counts.get("same_day", 0) if name == "published_at" else 0)
            detail = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
            print(f"{group:12s} {name:12s} {matched:2d}/{total:<2d} match  ({detail})")
    counts, disagreements = url_agreement(args.shared)
    for line in disagreements:
        print(f"  URL date disagrees: {line}")
    print(
        f"{'no expected':12s} {'published_at':12s} {counts['dated']:3d}/{counts['pages']:<3d} pages dated; "
        f"{counts['agree']}/{counts['url_dated']} of those with a day in the URL agree with it (+-1 day)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
