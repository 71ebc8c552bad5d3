"""The readable end of `newsflow up --once`: one row per article, then totals."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import unquote, urlsplit

from rich.console import Console
from rich.table import Table

from services.ledger import Arrival, Ledger


def source_name(record: dict[str, Any]) -> str:
    url = record.get("url") or ""
    parts = urlsplit(url)
    name = unquote(parts.path.rsplit("/", 1)[-1]) if parts.scheme == "file" else (parts.netloc or url)
    if record.get("position") is not None:
        name += f" [{record['position'] + 1}/{record.get('part_count') or '?'}]"
    return name or "?"


def status_of(arrival: Arrival) -> str:
    if arrival.topic == "news.dlq":
        return f"[red]dlq: {arrival.record.get('reason')}[/]"
    dedup = arrival.record.get("dedup") or {}
    status = dedup.get("status", "?")
    return "[green]unique[/]" if status == "unique" else f"[yellow]{status}[/]"


def render_summary(ledger: Ledger, elapsed: float, console: Console) -> None:
    table = Table(title="newsflow: what happened to each document", show_lines=False)
    table.add_column("source", overflow="fold", max_width=30)
    table.add_column("title", no_wrap=True, overflow="ellipsis", max_width=48)
    table.add_column("lang", no_wrap=True)
    table.add_column("topics", overflow="fold", max_width=34)
    table.add_column("story", no_wrap=True)
    table.add_column("status", no_wrap=True)
    totals: Counter[str] = Counter()
    stories: set[str] = set()
    def first_url(article_id: str) -> str:
        arrivals = ledger.results(article_id)
        return (arrivals[0].record.get("url") or "") if arrivals else ""

    for article_id in sorted(ledger.expected, key=lambda i: (first_url(i), i)):
        arrivals = ledger.results(article_id)
        if not arrivals:
            table.add_row(article_id, "", "", "", "", "[red]pending[/]")
            totals["pending"] += 1
            continue
        for arrival in arrivals:
            record = arrival.record
            topics = ", ".join(t["label"] for t in (record.get("topics") or [])[:2])
            story = (record.get("dedup") or {}).get("story_id") or ""
            if story:
                stories.add(story)
            lang = record.get("lang") or ""
            if lang:
                lang = f"{lang} {record.get('lang_confidence', 0):.2f}"
            title = record.get("title") or ""
            if not title and record.get("text"):
                title = f"[dim]“{' '.join(record['text'].split()[:12])}…”[/]"
            table.add_row(source_name(record), title, lang, topics, story[:10], status_of(arrival))
            key = arrival.topic.removeprefix("news.") if arrival.topic != "news.dlq" else "dlq"
            totals[key] += 1
    console.print(table)
    parts = [f"{len(ledger.expected)} document(s) in {elapsed:.1f}s", f"enriched {totals['enriched']}",
             f"duplicates {totals['duplicates']}", f"dlq {totals['dlq']}", f"stories {len(stories)}"]
    if totals["pending"]:
        parts.append(f"[red]pending {totals['pending']}[/]")
    if ledger.redelivered:
        parts.append(f"redelivered {ledger.redelivered}")
    console.print(" · ".join(parts))
