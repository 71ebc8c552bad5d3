"""The benchmark corpus: N raw records, exactly as `newsflow ingest` / the fetcher make them.

    python -m bench.corpus --docs 2000 [--shared ../shared] [--html-share 0.5] [--write corpus.jsonl]

Sources, when ../shared is there (or $NEWSFLOW_SHARED / --shared):
  * HTML pages: ../shared/data/extraction/html/<id>.html.gz, with the page URL from
    ground_truth.json (the same 107 DEV pages `tools/eval_extraction.py` scores);
  * texts: ../shared/data/dedup/stories.jsonl (real articles, title and date) and the
    syndication copies in near_dups.jsonl (boilerplate, headline change, truncation, …).

Without ../shared the corpus is synthetic (generated English news pages and texts), and
`Corpus.note` says so; the numbers are then only comparable with other synthetic runs.

Every record goes through `services.fetcher.files.DocumentReader`, the reader behind
`newsflow ingest` and `newsflow process`: HTML pages as `.html` files (with the page's URL),
texts as JSON objects `{url, title, text, published_at}`. The first use of a source item is the
original; further uses (the corpus is repeated up to N) get a new URL (hence a new id) and a
variation: `exact` (same bytes: an exact duplicate), `edit` (one sentence changed: a near
duplicate) or `rewrite` (several sentences changed, one paragraph added: near duplicate or
unique). The order is shuffled with a fixed seed, so a run is reproducible.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from services.fetcher.files import DocumentReader
from services.kafka.topics import RAW
from services.outcomes import Outcome
from services.records import now_iso
from services.settings import PROJECT_ROOT

DEFAULT_SHARED = Path(os.environ.get("NEWSFLOW_SHARED", PROJECT_ROOT.parent / "shared"))
# Shares of the variations given to repeated source items.
VARIATIONS = (("exact", 0.25), ("edit", 0.5), ("rewrite", 0.25))
TEXT_HOST = "https://bench.newsflow.invalid"


@dataclass(frozen=True)
class CorpusDoc:
    kind: str  # "html" | "text"
    origin: str  # where the content comes from, e.g. "extraction:<id>", "stories:<id>", "synthetic:html:3"
    variation: str  # "original" | "exact" | "edit" | "rewrite" (| "near_dups:<variant>" for shared copies)
    outcome: Outcome  # the raw record (topic news.raw), as DocumentReader produced it

    @property
    def id(self) -> str:
        return str(self.outcome.key)


@dataclass
class Corpus:
    source: str  # "shared" | "synthetic"
    note: str
    docs: list[CorpusDoc] = field(default_factory=list)
    refused_at_ingest: int = 0

    def outcomes(self, kind: str | None = None) -> list[Outcome]:
        return [d.outcome for d in self.docs if kind is None or d.kind == kind]

    @property
    def ids(self) -> list[str]:
        return [d.id for d in self.docs]

    def stats(self) -> dict[str, Any]:
        bodies = [len(d.outcome.record["body"]) for d in self.docs]
        return {
            "source": self.source,
            "note": self.note,
            "docs": len(self.docs),
            "by_kind": dict(Counter(d.kind for d in self.docs)),
            "by_variation": dict(Counter(d.variation.split(":")[0] for d in self.docs)),
            "distinct_sources": len({d.origin for d in self.docs}),
            "distinct_bodies": len({hash(d.outcome.record["body"]) for d in self.docs}),
            "mean_body_chars": round(sum(bodies) / len(bodies)) if bodies else 0,
            "total_body_mb": round(sum(bodies) / 1e6, 2),
            "refused_at_ingest": self.refused_at_ingest,
        }


@dataclass(frozen=True)
class _Item:
    """One source document before it becomes a raw record."""

    kind: str
    origin: str
    url: str
    body: str  # HTML or plain text
    title: str | None = None
    published_at: str | None = None
    variation: str = "original"


# -- public entry points ----------------------------------------------------------------------


def build_corpus(docs: int, seed: int = 20260112, shared: Path | None = DEFAULT_SHARED,
                 html_share: float = 0.5, synthetic: bool = False) -> Corpus:
    """`docs` raw records from ../shared (or synthetic ones when it is absent or `synthetic`)."""
    rng = random.Random(seed)
    reader = _reader()
    if not synthetic and shared is not None and _shared_ok(shared):
        html_items, text_items = _shared_items(shared)
        corpus = Corpus("shared", f"HTML pages from {shared / 'data' / 'extraction'}, texts from "
                                  f"{shared / 'data' / 'dedup'}")
    else:
        why = "synthetic corpus requested" if synthetic else (
            f"{shared} not found (set NEWSFLOW_SHARED or --shared): ../shared is absent, "
            "so the corpus is SYNTHETIC (generated pages and texts)")
        html_items, text_items = synthetic_items(seed)
        corpus = Corpus("synthetic", why)
    n_html = round(docs * html_share) if html_items else 0
    n_text = docs - n_html if text_items else 0
    n_html = docs - n_text
    items = _expand(html_items, n_html, rng) + _expand(text_items, n_text, rng)
    rng.shuffle(items)
    for item in items:
        for outcome in _to_outcomes(reader, item):
            if outcome.topic != RAW:
                corpus.refused_at_ingest += 1
                continue
            corpus.docs.append(CorpusDoc(item.kind, item.origin, item.variation, outcome))
    return corpus


def restamp(outcome: Outcome, ingested_at: str | None = None) -> Outcome:
    """The same raw record, ingested now (what a fetcher publishing it at this moment would write)."""
    record = dict(outcome.record, ingested_at=ingested_at or now_iso())
    return Outcome(outcome.topic, outcome.key, record, dict(outcome.headers))


def warmup_outcomes(count: int, tag: str = "warmup") -> list[Outcome]:
    """Synthetic raw records under their own host (ids that never collide with a corpus): they
    bring a worker or a stage to steady state before the clock starts."""
    html_items, text_items = synthetic_items(seed=len(tag) + 97, html=count // 2 + 1, text=count // 2 + 1,
                                             host=f"{tag}.bench.invalid")
    reader = _reader()
    items = [x for pair in zip(html_items, text_items, strict=False) for x in pair][:count]
    return [o for item in items for o in _to_outcomes(reader, item) if o.topic == RAW]


# -- ../shared ---------------------------------------------------------------------------------


def _shared_ok(shared: Path) -> bool:
    return (shared / "data" / "extraction" / "ground_truth.json").is_file() and any(
        (shared / "data" / "dedup").glob("*.jsonl")
    )


def _shared_items(shared: Path) -> tuple[list[_Item], list[_Item]]:
    extraction = shared / "data" / "extraction"
    gold = orjson.loads((extraction / "ground_truth.json").read_bytes())
    html_items = []
    for pid in sorted(gold):
        path = extraction / "html" / f"{pid}.html.gz"
        raw = (gzip.decompress(path.read_bytes()) if path.exists()
               else (extraction / "html" / f"{pid}.html").read_bytes())
        url = gold[pid].get("url") or f"https://extraction.invalid/{pid}"
        html_items.append(_Item("html", f"extraction:{pid[:12]}", url, raw.decode("utf-8", "replace")))
    text_items = []
    for path in sorted((shared / "data" / "dedup").glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            if not line.strip():
                continue
            rec = orjson.loads(line)
            variant = rec.get("variant")
            if variant == "original":  # near_dups repeats every stories.jsonl article as an original
                continue
            text = rec.get("text") or ""
            if not text.strip():
                continue
            rid = str(rec["id"])
            text_items.append(_Item(
                "text", f"{path.stem}:{rid}", f"{TEXT_HOST}/{path.stem}/{rid}", text,
                title=rec.get("title") or None, published_at=rec.get("date") or None,
                variation=f"near_dups:{variant}" if variant else "original",
            ))
    return html_items, text_items


# -- repetition and variation --------------------------------------------------------------------


def _expand(items: list[_Item], count: int, rng: random.Random) -> list[_Item]:
    """`count` items: every source item once (in random order), then varied repeats."""
    if count <= 0 or not items:
        return []
    pool = list(items)
    rng.shuffle(pool)
    out = pool[:count]
    names, weights = zip(*VARIATIONS, strict=True)
    copy = 0
    while len(out) < count:
        copy += 1
        order = list(items)
        rng.shuffle(order)
        for item in order[: count - len(out)]:
            variation = rng.choices(names, weights)[0]
            out.append(_vary(item, variation, copy, rng))
    return out


def _vary(item: _Item, variation: str, copy: int, rng: random.Random) -> _Item:
    sep = "&" if "?" in item.url else "?"
    url = f"{item.url}{sep}copy={copy}"
    body = item.body
    if variation == "edit":
        body = _edit_html(body, rng, 1) if item.kind == "html" else _edit_text(body, rng, 1)
    elif variation == "rewrite":
        body = _edit_html(body, rng, 3, add=True) if item.kind == "html" else _edit_text(body, rng, 3, add=True)
    return _Item(item.kind, item.origin, url, body, item.title, item.published_at, variation)


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“‘(])")
_NUMBER = re.compile(r"\b\d{1,4}\b")
_INSERTS = ("reportedly", "according to officials", "as expected", "on Tuesday", "late on Monday",
            "for the first time", "in a statement", "once again")
_ADDED = ("Officials said further details would be released later in the week.",
          "The figures have not been independently verified.",
          "A spokesperson declined to comment on the matter when contacted on Wednesday.",
          "Additional reporting by the regional desk.",
          "This article has been updated with new information since it was first published.")


def _perturb(sentence: str, rng: random.Random) -> str:
    """One small edit of a sentence: a number changed, a phrase inserted, or a clause appended."""
    numbers = list(_NUMBER.finditer(sentence))
    choice = rng.random()
    if numbers and choice < 0.3:
        m = rng.choice(numbers)
        return f"{sentence[: m.start()]}{int(m.group()) + rng.randint(1, 9)}{sentence[m.end():]}"
    words = sentence.split(" ")
    if len(words) > 3 and choice < 0.7:
        at = rng.randint(1, len(words) - 1)
        return " ".join([*words[:at], rng.choice(_INSERTS), *words[at:]])
    end = sentence.rstrip()
    stop = end[-1] if end and end[-1] in ".!?" else ""
    return f"{end.rstrip('.!?')}, {rng.choice(_INSERTS)}{stop or '.'}"


def _edit_text(text: str, rng: random.Random, edits: int, add: bool = False) -> str:
    paragraphs = text.split("\n")
    candidates = [i for i, p in enumerate(paragraphs) if len(p) > 40]
    for _ in range(edits):
        if not candidates:
            break
        i = rng.choice(candidates)
        sentences = _SENTENCE.split(paragraphs[i])
        j = rng.randrange(len(sentences))
        sentences[j] = _perturb(sentences[j], rng)
        paragraphs[i] = " ".join(sentences)
    if add:
        at = rng.randint(min(1, len(paragraphs)), len(paragraphs))
        paragraphs.insert(at, rng.choice(_ADDED))
    return "\n".join(paragraphs)


_PARAGRAPH = re.compile(r"(<p\b[^>]*>)([^<]{60,}?)(</p>)", re.IGNORECASE)
# Pages whose paragraphs all hold inline markup: edit the text before the first inner tag.
_PARAGRAPH_START = re.compile(r"(<p\b[^>]*>)([^<]{20,}?)(<)", re.IGNORECASE)


def _edit_html(html: str, rng: random.Random, edits: int, add: bool = False) -> str:
    """Edit sentences inside text-only <p> elements (leaving the markup as it is)."""
    matches = list(_PARAGRAPH.finditer(html)) or list(_PARAGRAPH_START.finditer(html))
    if not matches:
        return html
    chosen = sorted(rng.sample(matches, min(edits, len(matches))), key=lambda m: m.start(), reverse=True)
    for m in chosen:
        sentences = _SENTENCE.split(m.group(2))
        j = rng.randrange(len(sentences))
        sentences[j] = _perturb(sentences[j], rng)
        new = m.group(1) + " ".join(sentences) + m.group(3)
        if add and m is chosen[0]:
            new += f"\n{m.group(1)}{rng.choice(_ADDED)}{m.group(3)}"
        html = html[: m.start()] + new + html[m.end():]
    return html


# -- raw records -------------------------------------------------------------------------------


def _reader() -> DocumentReader:
    from services.ingest import reader_for
    from services.settings import get_settings

    return reader_for(get_settings())  # the reader `newsflow ingest` uses, with the same limits


def _to_outcomes(reader: DocumentReader, item: _Item) -> Iterator[Outcome]:
    if item.kind == "html":  # an .html file whose address is the page's URL
        yield from reader.read_bytes(item.body.encode("utf-8"), url=item.url, suffix=".html")
    else:  # one JSON(L) record, as `newsflow ingest wire.jsonl` reads it
        obj = {"url": item.url, "title": item.title, "text": item.body, "published_at": item.published_at}
        yield from reader.read_bytes(orjson.dumps(obj), url=None, suffix=".json")


# -- synthetic corpus --------------------------------------------------------------------------

_PLACES = ("Harbourton", "Millbrook", "Eastvale", "Port Ardent", "Kingsford", "Redwater", "Ashcombe",
           "Northfield", "Lakemont", "Stonebridge")
_ACTORS = ("the city council", "the regional government", "the harbour authority", "union leaders",
           "the health ministry", "local residents", "the central bank", "the football club",
           "the school board", "police", "the transport agency", "farmers", "the university")
_VERBS = ("approved", "rejected", "announced", "postponed", "criticised", "welcomed", "funded", "reviewed",
          "delayed", "defended", "proposed", "investigated")
_OBJECTS = ("a new flood wall", "the budget for next year", "plans for a tram line", "a wage agreement",
            "the hospital expansion", "an interest rate decision", "the stadium renovation",
            "a vaccination campaign", "new housing targets", "the ferry timetable", "a drought emergency plan",
            "the election results", "a research programme on batteries", "tariffs on imported steel")
_TAILS = ("after months of debate", "despite strong opposition", "following a public consultation",
          "ahead of the winter season", "in a vote on Tuesday", "at a press conference on Monday",
          "citing rising costs", "to the surprise of many observers", "after a long night of talks",
          "with support from several parties")
_QUOTES = ("We have listened carefully and this is the right decision for the community",
           "The numbers simply do not add up",
           "This is a historic day for everyone who lives and works here",
           "We will keep fighting until the plan is changed",
           "Nobody should be surprised by this outcome")
_SPEAKERS = ("the mayor", "a spokesperson", "the minister", "an opposition leader", "the chief executive",
             "a local shop owner", "the head of the union")


def _synthetic_sentence(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"\u201c{rng.choice(_QUOTES)},\u201d said {rng.choice(_SPEAKERS)}."
    sentence = f"{rng.choice(_ACTORS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}"
    if rng.random() < 0.4:
        sentence += f", a decision affecting about {rng.randint(2, 95) * 100} people in {rng.choice(_PLACES)}"
    return sentence[0].upper() + sentence[1:] + "."


def _synthetic_article(rng: random.Random) -> tuple[str, list[str]]:
    place = rng.choice(_PLACES)
    title = f"{place}: {rng.choice(_ACTORS).capitalize()} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}"
    paragraphs = [" ".join(_synthetic_sentence(rng) for _ in range(rng.randint(2, 4)))
                  for _ in range(rng.randint(4, 9))]
    paragraphs[0] = f"{place.upper()} \u2014 {paragraphs[0]}"
    return title, paragraphs


def _synthetic_html(n: int, title: str, paragraphs: list[str], date: str, rng: random.Random) -> str:
    nav = "".join(f'<li><a href="/section/{s}">{s.title()}</a></li>'
                  for s in ("news", "politics", "business", "sport", "culture", "weather"))
    related = "".join(f'<li><a href="/story/{rng.randint(1000, 9999)}">{rng.choice(_OBJECTS).capitalize()}'
                      "</a></li>" for _ in range(5))
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | The Synthetic Courier</title>
<meta property="og:type" content="article"><meta property="og:title" content="{title}">
<meta property="og:site_name" content="The Synthetic Courier">
<meta name="description" content="{paragraphs[0][:150]}">
<meta property="article:published_time" content="{date}T08:{n % 60:02d}:00Z">
</head><body>
<header><div class="logo">The Synthetic Courier</div><nav><ul>{nav}</ul></nav></header>
<main><article><h1>{title}</h1>
<p class="byline">By Staff Reporter {n % 17} &middot; <time datetime="{date}">{date}</time></p>
{body}
</article>
<aside><h2>Related</h2><ul>{related}</ul></aside></main>
<footer><p>&copy; 2026 The Synthetic Courier. All rights reserved.</p>
<p><a href="/privacy">Privacy</a> <a href="/terms">Terms</a> <a href="/subscribe">Subscribe</a></p></footer>
</body></html>
"""


def synthetic_items(seed: int = 20260112, html: int = 120, text: int = 300,
                    host: str = "example") -> tuple[list[_Item], list[_Item]]:
    """Generated English news: `html` article pages with site furniture, `text` plain-text articles."""
    rng = random.Random(seed)
    html_items, text_items = [], []
    for n in range(html + text):
        title, paragraphs = _synthetic_article(rng)
        date = f"2026-03-{1 + n % 28:02d}"
        if n < html:
            url = f"https://courier.{host}/{date.replace('-', '/')}/story-{n}"
            html_items.append(_Item("html", f"synthetic:html:{n}", url,
                                    _synthetic_html(n, title, paragraphs, date, rng)))
        else:
            url = f"https://wire.{host}/{date.replace('-', '/')}/item-{n}"
            text_items.append(_Item("text", f"synthetic:text:{n}", url, "\n\n".join(paragraphs), title=title,
                                    published_at=f"{date}T12:00:00Z"))
    return html_items, text_items


# -- command line ------------------------------------------------------------------------------


def _ingest_line(outcome: Outcome) -> bytes:
    rec = outcome.record
    field = "html" if rec["kind"] == "html" else "text"
    return orjson.dumps({"url": rec["url"], "title": rec.get("title"), field: rec["body"],
                         "published_at": rec.get("published_at")})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20260112)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--html-share", type=float, default=0.5)
    parser.add_argument("--synthetic", action="store_true", help="ignore ../shared, generate the corpus")
    parser.add_argument("--write", type=Path, default=None,
                        help="write it as JSON lines that `newsflow ingest` / `newsflow process` accept")
    args = parser.parse_args(argv)
    corpus = build_corpus(args.docs, args.seed, args.shared, args.html_share, args.synthetic)
    if corpus.source == "synthetic":
        print(f"NOTE: {corpus.note}", file=sys.stderr)
    print(orjson.dumps(corpus.stats(), option=orjson.OPT_INDENT_2).decode())
    if args.write:
        with args.write.open("wb") as out:
            for outcome in corpus.outcomes():
                out.write(_ingest_line(outcome) + b"\n")
        print(f"wrote {len(corpus.docs)} records to {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
