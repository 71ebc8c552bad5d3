"""Does a clean worker's memory stay flat? Run the clean stage over many pages and watch RSS.

    python -m services.cleaner.memory_check --pages 100000 [--every 5000] [--compare]

Runs `CleanStep` (the same step, with the same `ArticleCleaner`, that the worker runs) on one
dedicated thread, as the worker does, over the pages of ../shared/data/extraction (cycled;
synthetic pages when ../shared is absent). Every page gets a new URL (host and path) and a
unique line and date, so the URL-, line- and date-keyed caches see new keys as in a real
stream instead of the same 107 pages again. Prints RSS every `--every` pages and the growth
from `--baseline` (default: page 5000, after warm-up) to the end.

`--compare` runs the same workload without cache resets in a second process at the same time
(two cores wanted); `--reset-every 0` runs only that variant.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from services.cleaner import caches
from services.kafka.topics import DLQ
from services.pipeline import CleanStep
from services.records import SCHEMA_VERSION
from services.settings import Settings

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
_MB = 1024 * 1024


def rss_reader() -> tuple[str, Callable[[], float]]:
    """Current resident set size in MB: psutil, else /proc, else the peak from getrusage."""
    try:
        import psutil

        process = psutil.Process()
        return "psutil", lambda: process.memory_info().rss / _MB
    except ImportError:
        pass
    statm = Path("/proc/self/statm")
    if statm.exists():
        page = os.sysconf("SC_PAGE_SIZE")
        return "/proc/self/statm", lambda: int(statm.read_text().split()[1]) * page / _MB
    import resource

    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return "getrusage (peak RSS)", lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / _MB


# -- pages --------------------------------------------------------------------------------


def _shared_pages(data: Path) -> list[tuple[str, str]]:
    gold = json.loads((data / "ground_truth.json").read_text(encoding="utf-8"))
    pages = []
    for pid in sorted(gold):
        path = data / "html" / f"{pid}.html.gz"
        raw = gzip.decompress(path.read_bytes()) if path.exists() else (data / "html" / f"{pid}.html").read_bytes()
        pages.append((raw.decode("utf-8", "replace"), gold[pid].get("url") or f"https://example.com/{pid}"))
    return pages


_WORDS = (
    "council budget river energy school museum station harbour election court market farmers "
    "report minister village weather festival tram bridge hospital library workers price water"
).split()


def _synthetic_pages(count: int = 50) -> list[tuple[str, str]]:
    """Article pages with navigation, JSON-LD and a few paragraphs of generated prose."""
    rng = random.Random(7)
    pages = []
    for n in range(count):

        def sentence() -> str:
            words = [rng.choice(_WORDS) for _ in range(rng.randint(12, 24))]
            return " ".join(words).capitalize() + "."

        paragraphs = "".join(f"<p>{' '.join(sentence() for _ in range(3))}</p>" for _ in range(rng.randint(4, 9)))
        title = sentence()[:70]
        ld = json.dumps({"@type": "NewsArticle", "headline": title, "datePublished": f"2025-03-{n % 28 + 1:02d}"})
        html = (
            f"<!DOCTYPE html><html><head><title>{title}</title><meta property='og:title' content='{title}'>"
            f"<script type='application/ld+json'>{ld}</script></head><body><nav><a href='/'>Home</a>"
            f"<a href='/world'>World</a></nav><article><h1>{title}</h1><p>By Jane Doe</p>{paragraphs}"
            f"</article><footer><p>Contact us</p></footer></body></html>"
        )
        pages.append((html, f"https://news{n}.example.com/2025/03/{n % 28 + 1:02d}/story-{n}"))
    return pages


def load_pages(data: Path) -> tuple[str, list[tuple[str, str]]]:
    if (data / "ground_truth.json").exists():
        return f"{data} (cycled)", _shared_pages(data)
    return "synthetic pages (../shared absent)", _synthetic_pages()


_MONTHS = "January February March April May June July August September October November December".split()


def payloads(pages: list[tuple[str, str]], count: int) -> Iterator[bytes]:
    """news.raw messages: the pages cycled, each with a new URL and a few unique lines and dates.

    Real traffic brings new lines, dates and URLs on every page, and the caches are keyed by
    them; replaying the same pages would only ever hit the entries of the first pass.
    """
    for i in range(count):
        html, url = pages[i % len(pages)]
        host = url.split("/")[2] if url.count("/") >= 2 else "example.com"
        day = i % 3650
        year, month, dom = 2016 + day // 365, day % 365 // 31 % 12 + 1, day % 28 + 1
        slug = f"{i}-{url.rstrip('/').rsplit('/', 1)[-1][:60]}"
        # A date in every fourth URL only: htmldate stops at a URL date and would skip the page.
        path = f"{year}/{month:02d}/{dom:02d}/{slug}" if i % 4 == 0 else f"news/{slug}"
        new_url = f"https://s{i % 9973}.{host}/{path}"
        stamp = f"{year}-{month:02d}-{dom:02d}T{i % 24:02d}:{i % 60:02d}:00Z"
        extra = (
            f'<div class="memcheck"><p>Correction {i}: an earlier version of this story misspelt {i:x}.</p>'
            f"<p>Reporting by desk {i % 997}, editing by shift {i // 997}.</p>"
            f'<span class="post-date">{_MONTHS[month - 1]} {dom}, {year} {i % 24}:{i % 60:02d}</span></div>'
        )
        marker = "</body>" if "</body>" in html else None
        body = html.replace(marker, extra + marker, 1) if marker else html + extra
        record = {
            "schema_version": SCHEMA_VERSION,
            "id": hashlib.sha256(new_url.encode()).hexdigest()[:20],
            "url": new_url,
            "source": host,
            "kind": "html",
            "body": body,
            "fetched_at": stamp,
            "ingested_at": stamp,
        }
        yield orjson.dumps(record)


# -- the run ------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    points: list[tuple[int, float]] = field(default_factory=list)
    resets: int = 0
    seconds: float = 0.0
    dead_letters: int = 0


def run(pages: list[tuple[str, str]], count: int, every: int, reset_every: int, label: str) -> Run:
    """Clean `count` pages on a dedicated thread, sampling RSS every `every` pages."""
    _, rss = rss_reader()
    step = CleanStep(Settings())
    step.cleaner.reset_caches_every = reset_every
    result = Run(label)
    result.points.append((0, rss()))
    print(f"[{label}] {0:>7d} pages  RSS {rss():7.1f} MB", flush=True)
    started = time.perf_counter()
    # The worker runs every stage core on one dedicated thread (services.app): so does this.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="memcheck-stage") as executor:
        last_done, last_time = 0, started
        for done, payload in enumerate(payloads(pages, count), start=1):
            outcomes = executor.submit(step, payload).result()
            result.dead_letters += sum(1 for o in outcomes if o.topic == DLQ)
            if done % every == 0 or done == count:
                now = time.perf_counter()
                rate = (done - last_done) / max(now - last_time, 1e-9)
                last_done, last_time = done, now
                mb = rss()
                result.points.append((done, mb))
                filled = sum(caches.cache_entries().values())
                print(
                    f"[{label}] {done:>7d} pages  RSS {mb:7.1f} MB  cache entries {filled:>6d}  "
                    f"{rate:5.1f} pages/s  resets {step.cleaner.cache_resets}",
                    flush=True,
                )
    result.seconds = time.perf_counter() - started
    result.resets = step.cleaner.cache_resets
    return result


def summarize(result: Run, baseline: int) -> dict[str, float]:
    """RSS at the baseline page and at the end, the growth, and the least-squares slope after it."""
    after = [(n, mb) for n, mb in result.points if n >= baseline] or result.points[-1:]
    start_n, start_mb = after[0]
    end_n, end_mb = result.points[-1]
    slope = 0.0
    if len(after) >= 3:
        mean_n = sum(n for n, _ in after) / len(after)
        mean_mb = sum(mb for _, mb in after) / len(after)
        var = sum((n - mean_n) ** 2 for n, _ in after)
        slope = sum((n - mean_n) * (mb - mean_mb) for n, mb in after) / var if var else 0.0
    return {
        "start_page": start_n,
        "start_mb": start_mb,
        "end_page": end_n,
        "end_mb": end_mb,
        "growth_mb": end_mb - start_mb,
        "slope_mb_per_10k": slope * 10_000,
        "peak_mb": max(mb for _, mb in result.points),
        "pages_per_s": end_n / result.seconds if result.seconds else 0.0,
        "resets": result.resets,
        "dead_letters": result.dead_letters,
    }


def _print_summary(label: str, s: dict[str, float]) -> None:
    print(
        f"[{label}] RSS {s['start_mb']:.1f} MB at page {s['start_page']:.0f} -> {s['end_mb']:.1f} MB at page "
        f"{s['end_page']:.0f}: growth {s['growth_mb']:+.1f} MB (trend {s['slope_mb_per_10k']:+.2f} MB / 10k pages), "
        f"peak {s['peak_mb']:.1f} MB, {s['pages_per_s']:.1f} pages/s, {s['resets']:.0f} cache resets, "
        f"{s['dead_letters']:.0f} dead letters",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=5000, help="print RSS every N pages")
    parser.add_argument("--baseline", type=int, default=5000, help="measure growth from this page on")
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "extraction")
    parser.add_argument(
        "--reset-every",
        type=int,
        default=caches.CACHE_RESET_EVERY,
        help=f"documents between cache resets (0: never; default {caches.CACHE_RESET_EVERY})",
    )
    parser.add_argument("--compare", action="store_true", help="also run without resets, in a second process")
    parser.add_argument("--json", type=Path, help="write the summary (and RSS points) here")
    args = parser.parse_args(argv)

    source, pages = load_pages(args.data)
    method, _ = rss_reader()
    label = f"reset every {args.reset_every}" if args.reset_every else "no resets"
    print(f"{args.pages} pages from {source}, {len(pages)} distinct; RSS via {method}; pid {os.getpid()}", flush=True)
    child = None
    if args.compare and args.reset_every:
        cmd = [sys.executable, "-m", "services.cleaner.memory_check", "--pages", str(args.pages),
               "--every", str(args.every), "--baseline", str(args.baseline), "--data", str(args.data),
               "--reset-every", "0"]  # fmt: skip
        if args.json:
            cmd += ["--json", str(args.json.with_suffix(".noreset.json"))]
        child = subprocess.Popen(cmd)  # our own module, our own arguments
    result = run(pages, args.pages, args.every, args.reset_every, label)
    summary = summarize(result, args.baseline)
    if child is not None:
        child.wait()
    _print_summary(label, summary)
    if args.json:
        args.json.write_text(json.dumps({"label": label, **summary, "points": result.points}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
