"""Benchmark of the dedup core on the shared evaluation sets (`python -m services.dedup.bench`).

Scores with the shared scorer (`/work/shared/tools/eval_dedup.py`, stdlib only) so the
numbers are the ones the dashboards quote, in its checked-online mode (the functions below are
generators: prediction i is yielded before record i+1 is pulled). Also reports docs/s, and
index memory per document from a synthetic stream (tracemalloc and numpy sizes).

The same functions plug straight into the scorer (run from the project root):

    python /work/shared/tools/eval_dedup.py --data /work/shared/data/dedup/near_dups.jsonl \\
        --python services.dedup.bench:near_dup_groups
    python /work/shared/tools/eval_dedup.py --data /work/shared/data/dedup/stories.jsonl \\
        --python services.dedup.bench:story_ids

Without /work/shared (or $NEWSFLOW_SHARED) the scoring part is skipped with a message.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import itertools
import os
import random
import sys
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from services.dedup.core import Deduplicator

SHARED = Path(os.environ.get("NEWSFLOW_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
# Records without a date (near_dups.jsonl) all get this ingestion time: one window.
UNDATED = "2026-01-12T00:00:00+00:00"


def as_article(rec: dict[str, Any]) -> dict[str, Any]:
    """An eval record as the dedup stage sees an article (date -> published_at)."""
    date = rec.get("date") or None
    return {
        "id": str(rec["id"]),
        "title": rec.get("title") or "",
        "text": rec.get("text") or "",
        "published_at": date,
        "ingested_at": date or UNDATED,
        "lang": rec.get("lang"),
    }


def near_dup_groups(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Online: near-duplicate group per record = `duplicate_of or id`."""
    dedup = Deduplicator()
    for rec in records:
        verdict = dedup.check(as_article(rec))
        yield verdict["duplicate_of"] or str(rec["id"])


def story_ids(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Online: story id per record."""
    dedup = Deduplicator()
    for rec in records:
        yield dedup.check(as_article(rec))["story_id"]


def _load_scorer() -> ModuleType:
    path = SHARED / "tools" / "eval_dedup.py"
    spec = importlib.util.spec_from_file_location("eval_dedup", path)
    if spec is None or spec.loader is None:
        raise ImportError(path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def score_file(name: str, func: Any) -> dict[str, Any]:
    ev = _load_scorer()
    recs = ev.load_records(str(SHARED / "data" / "dedup" / name))
    gold = [ev.gold_of(r) for r in recs]
    inputs = [{k: v for k, v in r.items() if k not in ev.GOLD_FIELDS} for r in recs]
    t0, c0 = time.perf_counter(), time.process_time()
    pred = ev.run_checked(func, inputs)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    res = ev.score(gold, pred)
    res["records_per_s"] = len(recs) / dt
    res["records_per_cpu_s"] = len(recs) / dc if dc > 0 else float("inf")
    return res


def synthetic_articles(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """A stream of distinct ~250-word articles (Zipf-ish vocabulary), 10 % near-copies, spread
    over two days: for memory and throughput at a size the eval files do not reach."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(30000)]
    cum = list(itertools.accumulate(1.0 / (i + 10) for i in range(len(vocab))))
    recent: list[str] = []
    for i in range(n):
        if recent and rng.random() < 0.1:
            text = rng.choice(recent) + "\nRead more: something else entirely"
        else:
            sents = [" ".join(rng.choices(vocab, cum_weights=cum, k=25)).capitalize() + "." for _ in range(10)]
            text = "\n".join(sents)
            recent = [*recent, text][-50:]
        ts = 1767225600 + int(i * 172800 / n)
        yield {
            "id": f"syn-{i}",
            "title": "",
            "text": text,
            "published_at": None,
            "ingested_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)),
        }


def memory_probe(n: int) -> dict[str, float]:
    """Bytes per article held by the dedup state after `n` synthetic articles (all in window)."""
    arts = list(synthetic_articles(n))
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    dedup = Deduplicator()
    t0 = time.perf_counter()
    for a in arts:
        dedup.check(a)
    dt = time.perf_counter() - t0
    gc.collect()
    total = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    st = dedup.stats()
    near_rows = max(1, st["near"]["rows"])
    return {
        "docs": n,
        "docs_per_s": n / dt,
        "traced_bytes_per_doc": total / n,
        "near_rows": st["near"]["rows"],
        "near_numpy_bytes_per_row": st["near"]["bytes"] / near_rows,
        "exact_numpy_bytes_per_row": st["exact"]["bytes"] / max(1, st["exact"]["rows"]),
        "verdict_numpy_bytes_per_row": st["verdicts"]["bytes"] / max(1, st["verdicts"]["rows"]),
        "stories": st["stories"]["rows"],
        "story_numpy_bytes_per_story": st["stories"]["bytes"] / max(1, st["stories"]["rows"]),
    }


def near_index_probe(n: int, shingles: int = 300, seed: int = 11) -> dict[str, float]:
    """Bytes per indexed document of the near-duplicate index alone, on `n` random documents
    (numpy sizes and tracemalloc), the figure to extrapolate to 1M documents."""
    from services.dedup.near_duplicates import NearDuplicateIndex

    rng = np.random.default_rng(seed)
    idx = NearDuplicateIndex()
    sketches = [idx.hasher.sketch(np.unique(rng.integers(0, 2**63, shingles, dtype=np.uint64))) for _ in range(n)]
    ids = [f"doc-{i:08d}" for i in range(n)]
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    for i, sk in enumerate(sketches):
        idx.query(sk)
        idx.add(ids[i], ids[i], ids[i], sk, float(i))
    dt = time.perf_counter() - t0
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return {
        "docs": n,
        "numpy_bytes_per_doc": idx.nbytes() / n,
        "traced_bytes_per_doc": traced / n,
        "docs_per_s": n / dt,
    }


def _fmt(name: str, res: dict[str, Any]) -> str:
    return (
        f"{name:16s} n={res['n']:5d} clusters={res['pred_clusters']:5d}/{res['gold_clusters']:5d}  "
        f"pairwise P={res['pair_p']:.4f} R={res['pair_r']:.4f} F1={res['pair_f1']:.4f}  "
        f"BCubed P={res['bcubed_p']:.4f} R={res['bcubed_r']:.4f} F1={res['bcubed_f1']:.4f}  "
        f"{res['records_per_s']:.0f} docs/s ({res['records_per_cpu_s']:.0f}/CPU-s)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synthetic", type=int, default=3000, help="synthetic articles, whole stage (0: skip)")
    ap.add_argument("--index-docs", type=int, default=50000, help="random docs for the near-dup index probe")
    args = ap.parse_args(argv)

    if (SHARED / "tools" / "eval_dedup.py").is_file() and (SHARED / "data" / "dedup").is_dir():
        print(_fmt("near_dups", score_file("near_dups.jsonl", near_dup_groups)))
        print(_fmt("stories", score_file("stories.jsonl", story_ids)))
    else:
        print(f"skip: {SHARED} not found (set NEWSFLOW_SHARED); no eval data, scoring skipped")

    if args.index_docs:
        m = near_index_probe(args.index_docs)
        print(
            f"near-dup index ({m['docs']} docs): {m['numpy_bytes_per_doc']:.0f} B/doc numpy arrays, "
            f"{m['traced_bytes_per_doc']:.0f} B/doc traced (incl. id strings); "
            f"~{m['traced_bytes_per_doc'] * 1e6 / 2**30:.2f} GiB per 1M docs in the window"
        )
    if args.synthetic:
        m = memory_probe(args.synthetic)
        print(
            f"memory ({m['docs']} synthetic docs, one window): {m['traced_bytes_per_doc']:.0f} B/doc total "
            f"(tracemalloc, all layers incl. id strings); near-dup index "
            f"{m['near_numpy_bytes_per_row']:.0f} B/indexed doc (numpy), exact "
            f"{m['exact_numpy_bytes_per_row']:.0f} B, verdict log {m['verdict_numpy_bytes_per_row']:.0f} B, "
            f"stories {m['story_numpy_bytes_per_story']:.0f} B/story ({m['stories']} stories); "
            f"{m['docs_per_s']:.0f} docs/s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
