"""Builders for the cleaner tests: raw records and small but realistic HTML pages (all text synthetic)."""

from __future__ import annotations

import html as html_lib
import json
from typing import Any

from services.records import RawArticle

# Synthetic copy, written for these tests.
PARAGRAPHS = [
    "The city council voted on Tuesday to expand the tram network to the northern suburbs, "
    "ending a debate that has divided residents for almost a decade.",
    "The plan adds eleven kilometres of track and fourteen stops, and the first trams are "
    "expected to run on the new line in the spring of 2028, officials said after the vote.",
    "Supporters say the extension will cut commuting times in half for thousands of people "
    "who now depend on crowded buses, while opponents worry about the cost and the noise.",
    "The project is budgeted at 420 million euros, two thirds of which will come from the "
    "regional government, according to documents presented to the council last month.",
    "Construction is due to start next year, once the last planning objections have been "
    "heard, and the council promised regular public meetings while the works go on.",
]


def make_raw(body: str, kind: str = "text", **extra: Any) -> RawArticle:
    raw: dict[str, Any] = {
        "schema_version": "1.0.0",
        "id": "a1b2c3d4e5f6a7b8c9d0",
        "url": "https://news.example.com/2026/01/12/trams",
        "source": "example",
        "kind": kind,
        "body": body,
        "ingested_at": "2026-01-13T10:00:00.000Z",
    }
    raw.update(extra)
    return raw  # type: ignore[return-value]


def make_page(
    paragraphs: list[str] | None = None,
    title: str = "Council approves northern tram extension",
    head: str = "",
    before: str = "",
    after: str = "",
    jsonld: dict[str, Any] | None = None,
    body_extra: str = "",
    inside: str = "",
) -> str:
    """A news page: header, navigation, an article with h1 and paragraphs, a footer."""
    paragraphs = PARAGRAPHS if paragraphs is None else paragraphs
    ld = f'<script type="application/ld+json">{json.dumps(jsonld)}</script>' if jsonld else ""
    body = "".join(f"<p>{html_lib.escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{html_lib.escape(title)} | Example News</title>
<meta property="og:title" content="{html_lib.escape(title)}">
<meta property="og:site_name" content="Example News">
{head}{ld}</head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/sport">Sport</a></li></ul></nav></header>
<main><article><h1>{html_lib.escape(title)}</h1>{before}
<div class="article-body">{body}{inside}</div>{after}</article></main>
{body_extra}
<footer><p>Contact us</p><p>Privacy policy</p></footer></body></html>"""
