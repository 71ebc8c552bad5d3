"""Extraction benchmark: bare trafilatura vs. the clean stage, same pages, same metric, same run.

    python -m services.cleaner.bench [--data DIR] [--repeat N] [--full]

Scores with the shared scorer's own metric functions (../shared/tools/eval_extraction.py:
4-word shingles, P/R averaged per page, F1 of the means) on the DEV pages in
../shared/data/extraction, and times every extractor in interleaved passes so that machine
load hits them alike. Our cleaner is scored with its refusal policy off (the text it
extracts); how many pages `clean()` would refuse, and why, is printed separately.

The official scorer can also be pointed at `services.cleaner.bench:extract` directly:

    python ../shared/tools/eval_extraction.py --data ../shared/data/extraction \\
        --python services.cleaner.bench:extract --path .
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib.util
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import trafilatura

from services.cleaner.core import ArticleCleaner
from services.records import SCHEMA_VERSION, RawArticle, StageError

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
_CLEANERS: dict[bool, ArticleCleaner] = {}


def _raw(html: str, url: str = "") -> RawArticle:
    return {
        "schema_version": SCHEMA_VERSION,
        "id": "bench",
        "url": url,
        "source": "bench",
        "kind": "html",
        "body": html,
        "ingested_at": "2026-01-01T00:00:00Z",
    }


def extract(html: str, fast: bool = True) -> str:
    """html -> main text, as the clean stage extracts it (refusal policy off). For the scorer."""
    if fast not in _CLEANERS:
        _CLEANERS[fast] = ArticleCleaner(fast=fast)
    return _CLEANERS[fast].extract_text(_raw(html))


def _load_scorer(shared: Path) -> ModuleType:
    path = shared / "tools" / "eval_extraction.py"
    spec = importlib.util.spec_from_file_location("eval_extraction", path)
    if spec is None or spec.loader is None:
        raise ImportError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_pages(data: Path) -> tuple[list[str], dict[str, Any], dict[str, str]]:
    gold = json.loads((data / "ground_truth.json").read_text(encoding="utf-8"))
    ids = sorted(gold)
    html = {}
    for pid in ids:
        path = data / "html" / f"{pid}.html.gz"
        raw = (
            gzip.decompress(path.read_bytes())
            if path.exists()
            else (data / "html" / f"{pid}.html").read_bytes()
        )
        html[pid] = raw.decode("utf-8", "replace")
    return ids, gold, html


def _extractors(full: bool) -> dict[str, Callable[[str], str | None]]:
    extractors: dict[str, Callable[[str], str | None]] = {
        "trafilatura (defaults)": trafilatura.extract,
        "trafilatura (comments off)": lambda h: trafilatura.extract(h, include_comments=False),
        "trafilatura (comments off, fast)": lambda h: trafilatura.extract(
            h, include_comments=False, fast=True
        ),
        "newsflow cleaner (fast)": lambda h: extract(h, fast=True),
    }
    if full:
        extractors["newsflow cleaner (fast=False)"] = lambda h: extract(h, fast=False)
    return extractors


def _time_pass(fn: Callable[[str], str | None], ids: list[str], html: dict[str, str]) -> tuple[float, float]:
    cpu0, t0 = time.process_time(), time.perf_counter()
    for pid in ids:
        with contextlib.suppress(Exception):  # failures are scored in pass 1; this is timing only
            fn(html[pid])
    return time.perf_counter() - t0, time.process_time() - cpu0


def _refusals(ids: list[str], gold: dict[str, Any], html: dict[str, str]) -> Counter[str]:
    cleaner = ArticleCleaner()
    reasons: Counter[str] = Counter()
    for pid in ids:
        try:
            cleaner.clean(_raw(html[pid], gold[pid].get("url", "")))
        except StageError as err:
            reasons[err.reason] += 1
    return reasons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "extraction")
    parser.add_argument("--repeat", type=int, default=3, help="timing passes per extractor (median)")
    parser.add_argument("--full", action="store_true", help="also run the cleaner with fast=False")
    parser.add_argument("--lose-margin", type=float, default=0.01, help="page F1 drop to list as a loss")
    args = parser.parse_args(argv)

    scorer_path = args.data.parent.parent / "tools" / "eval_extraction.py"
    if not args.data.is_dir() or not scorer_path.exists():
        print(f"SKIP: benchmark data or scorer not found ({args.data}, {scorer_path}); ../shared is absent.")
        return 0
    scorer = _load_scorer(args.data.parent.parent)
    ids, gold, html = _load_pages(args.data)
    extractors = _extractors(args.full)
    print(f"{len(ids)} pages from {args.data}; trafilatura {trafilatura.__version__}; {os.cpu_count()} CPUs")

    # Pass 1 scores (and warms caches); timing passes are interleaved across extractors.
    scores: dict[str, dict[str, dict[str, Any]]] = {}
    for name, fn in extractors.items():
        fn(html[ids[0]])
        pages = {}
        for pid in ids:
            try:
                pred = fn(html[pid])
            except Exception:
                pred = None
            pages[pid] = scorer.page_counts(gold[pid].get("articleBody") or "", pred)
        scores[name] = pages
    walls: dict[str, list[float]] = {name: [] for name in extractors}
    cpus: dict[str, list[float]] = {name: [] for name in extractors}
    for _ in range(max(1, args.repeat)):
        for name, fn in extractors.items():
            wall, cpu = _time_pass(fn, ids, html)
            walls[name].append(wall)
            cpus[name].append(cpu)

    base_speed = len(ids) / statistics.median(walls["trafilatura (defaults)"])
    print(
        f"\n{'extractor':34s} {'F1':>6s} {'P':>6s} {'R':>6s} {'pages/s':>8s} {'CPU p/s':>8s} {'vs bare':>7s}"
    )
    for name in extractors:
        agg = scorer.aggregate(list(scores[name].values()))
        speed = len(ids) / statistics.median(walls[name])
        cpu_speed = len(ids) / max(statistics.median(cpus[name]), 1e-9)
        print(
            f"{name:34s} {agg['f1']:6.3f} {agg['precision']:6.3f} {agg['recall']:6.3f} "
            f"{speed:8.1f} {cpu_speed:8.1f} {speed / base_speed:6.2f}x"
        )

    ours, ref = scores["newsflow cleaner (fast)"], scores["trafilatura (comments off)"]
    losses = sorted(
        (ours[pid]["f1"] - ref[pid]["f1"], pid)
        for pid in ids
        if ours[pid]["f1"] is not None
        and ref[pid]["f1"] is not None
        and ours[pid]["f1"] < ref[pid]["f1"] - args.lose_margin
    )
    print(
        f"\npages where the cleaner loses to trafilatura (comments off) by > {args.lose_margin}: "
        f"{len(losses)}"
    )
    for delta, pid in losses:
        url = gold[pid].get("url", "")
        page = ours[pid]
        print(f"  {delta:+.3f}  {pid[:16]}  P {page['precision'] or 0:.3f} R {page['recall']:.3f}  {url}")
    reasons = _refusals(ids, gold, html)
    print(f"\nclean() would refuse {sum(reasons.values())} of {len(ids)} pages: {dict(reasons) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
