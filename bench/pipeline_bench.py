"""Pipeline benchmark (issue #10): every layer of newsflow, side by side, on ONE corpus in ONE run.

    python -m bench.pipeline_bench --docs 2000 --out bench/results
    python -m bench.pipeline_bench --quick                       # smoke run, ~2 minutes
    python -m bench.pipeline_bench --docs 1000 --profile         # + pyinstrument profile of the chain
    python -m bench.pipeline_bench --kafka 127.0.0.1:9092        # use a running broker

Measures, on the same raw records (bench/corpus.py):
  1. bare trafilatura.extract on the HTML documents: defaults, and the cleaner's options;
  2. each stage core alone: CleanStep, TagStep (micro-batches as the tag agent takes them), DedupStep;
  3. the whole in-process chain (`Pipeline`, what `newsflow process` runs);
  4. end to end through a local Kafka broker with 1 and 2 worker processes: max throughput (all
     published at once, clock stopped when the Ledger has accounted for every id) in --rounds rounds,
     each with its own chain run and the worker counts in alternating order (ratios are taken within
     a round, the median over rounds reported), then latency ingest -> news.enriched at a fixed offered
     rate of 50 % of the median maximum;
  5. peak RSS of every process (driver, each worker, broker JVM), CPU seconds, load average, and
     each worker's CPU per document split into the stage cores and the rest (from its /metrics).

Writes <out>/pipeline_bench.json, <out>/pipeline_bench.md (tables, ratios, targets),
<out>/latency.png, and with --profile <out>/profile.html and <out>/profile.txt. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson

from bench.corpus import DEFAULT_SHARED, Corpus, build_corpus, restamp, warmup_outcomes

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
TARGETS = {
    "chain_vs_bare": 0.7,  # in-process chain >= 0.7 x bare trafilatura
    "e2e_vs_chain": 0.9,  # end to end (1 worker) >= 0.9 x in-process chain
    "p99_half_load_ms": 300.0,  # p99 ingest -> news.enriched at 50 % of max throughput
    "two_vs_one_worker": 1.7,  # 2 workers >= 1.7 x 1 worker
}
MB = 1024 * 1024
EVENT_LOOP = "event_loop"  # a worker's main thread, in `worker_cpu` / `cpu_split`


# ------------------------------------------------------------------------------------------------
# machine and processes


def _cpu_s(pid: int) -> float | None:
    import psutil

    try:
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _machine_times() -> tuple[float, float]:
    """CPU seconds the machine has been busy, and seconds its hypervisor gave to other guests
    (steal: time this machine wanted a CPU and had none; not counted as busy)."""
    import psutil

    t = psutil.cpu_times()
    steal = getattr(t, "steal", 0.0)
    guest = getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)  # already in user and nice
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - steal - guest, steal


class RssSampler(threading.Thread):
    """Samples the RSS of tracked processes every `interval` seconds; keeps the peak per label."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.interval = interval
        self.pids: dict[str, int] = {}
        self.peaks: dict[str, float] = {}
        self.last_cpu: dict[str, float] = {}
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def track(self, label: str, pid: int) -> None:
        with self._lock:
            self.pids[label] = pid
        self.sample()

    def untrack(self, label: str) -> None:
        self.sample()
        with self._lock:
            self.pids.pop(label, None)

    def sample(self) -> None:
        import psutil

        with self._lock:
            items = list(self.pids.items())
        for label, pid in items:
            try:
                proc = psutil.Process(pid)
                rss = proc.memory_info().rss / MB
                cpu = proc.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            self.peaks[label] = max(self.peaks.get(label, 0.0), rss)
            self.last_cpu[label] = cpu.user + cpu.system

    def peak(self, label: str) -> float | None:
        value = self.peaks.get(label)
        return round(value, 1) if value is not None else None

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._halt.set()
        self.join(2)


@dataclass
class Meter:
    """Wall time, CPU seconds of given processes, machine-wide busy CPU and load over one phase."""

    pids: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)

    def __enter__(self) -> Meter:
        self._load0 = os.getloadavg()
        self._busy0, self._steal0 = _machine_times()
        self._cpu0 = {label: _cpu_s(pid) for label, pid in self.pids.items()}
        self._driver0 = time.process_time()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self._t0
        driver_cpu = time.process_time() - self._driver0
        busy, steal = _machine_times()
        busy, steal = busy - self._busy0, steal - self._steal0
        self.cpu_s = {"driver": driver_cpu}
        for label, pid in self.pids.items():
            now, then = _cpu_s(pid), self._cpu0.get(label)
            if now is not None and then is not None:
                self.cpu_s[label] = now - then
        ours = sum(self.cpu_s.values())
        cores = os.cpu_count() or 1
        self.result = {
            "wall_s": round(self.wall_s, 3),
            "cpu_s": {k: round(v, 2) for k, v in self.cpu_s.items()},
            "machine_busy_cpu_s": round(busy, 2),
            "others_cpu_s": round(max(0.0, busy - ours), 2),  # other engineers' work on the machine
            "machine_utilisation": round(busy / (self.wall_s * cores), 3) if self.wall_s else None,
            "steal_share": round(steal / (self.wall_s * cores), 3) if self.wall_s else None,
            "load_avg_start": [round(x, 2) for x in self._load0],
            "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        }


def machine_info() -> dict[str, Any]:
    import psutil
    import trafilatura

    info: dict[str, Any] = {
        "logical_cpus": os.cpu_count(),
        "physical_cpus": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "trafilatura": trafilatura.__version__,
    }
    with contextlib.suppress(Exception):
        import faust

        info["faust"] = faust.__version__
    with contextlib.suppress(Exception):  # read-only: which code was measured
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "services"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.splitlines()
        info["git_commit"] = commit
        info["services_files_changed_vs_commit"] = len(dirty)
    return info


# ------------------------------------------------------------------------------------------------
# in-process measurements


def _speed(n: int, wall: float, cpu: float) -> dict[str, Any]:
    return {
        "docs": n,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "docs_per_s": round(n / wall, 2) if wall > 0 else None,
        "docs_per_cpu_s": round(n / cpu, 2) if cpu > 0 else None,
    }


@contextlib.contextmanager
def _clock() -> Iterator[dict[str, float]]:
    box: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        yield box
    finally:
        box["wall"] = time.perf_counter() - t0
        box["cpu"] = time.process_time() - c0


class Progress:
    """A thin wrapper over rich's progress bar (stderr), or nothing when `enabled` is False."""

    def __init__(self, enabled: bool = True) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.enabled = enabled
        self._columns = (TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
                         TimeElapsedColumn())

    @contextlib.contextmanager
    def task(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        if not self.enabled:
            yield lambda _n=1: None
            return
        from rich.progress import Progress as RichProgress

        with RichProgress(*self._columns, console=self.console, transient=False) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n=1: bar.advance(task, n)

    def log(self, message: str) -> None:
        self.console.print(message)


def bench_extraction_vs_chain(settings: Any, corpus: Corpus, progress: Progress, chunk: int = 25) -> dict[str, Any]:
    """Bare trafilatura (defaults; the cleaner's options) and the in-process chain on the HTML documents.

    Interleaved: the documents go in chunks, each chunk through every method in turn (the order
    rotates), so a burst of load from other work on the machine hits all three alike. trafilatura's
    and htmldate's module caches are reset (untimed) before each method's pass over a chunk, so no
    method profits from lines another one just extracted from the same pages.
    """
    import trafilatura
    from trafilatura.meta import reset_caches

    html = corpus.outcomes("html")
    if not html:
        return {}
    pipeline = ready_pipeline(settings)
    empty: Counter[str] = Counter()
    chain_topics: Counter[str] = Counter()

    def bare(label: str, with_url: bool, **options: Any) -> Callable[[list[Any]], None]:
        def run(part: list[Any]) -> None:
            for o in part:
                url = {"url": o.record["url"]} if with_url else {}
                try:
                    text = trafilatura.extract(o.record["body"], **url, **options)
                except Exception:
                    text = None
                if not text:
                    empty[label] += 1
        return run

    # services/cleaner/html.py HtmlExtractor: fast=True, include_comments=False, include_tables=True,
    # with_metadata=False, with the page URL (it calls bare_extraction on its own parsed tree).
    methods: dict[str, Callable[[list[Any]], None]] = {
        "defaults": bare("defaults", with_url=False),
        "cleaner_options": bare("cleaner_options", with_url=True, fast=True, include_comments=False,
                                include_tables=True, with_metadata=False),
        "chain": lambda part: chain_topics.update(run_chain(pipeline, part, lambda _n: None)),
    }
    for fn in methods.values():
        fn(warmup_outcomes(2, "bare-warm")[:1] if fn is methods["chain"] else html[:1])
    empty.clear()
    chain_topics.clear()
    wall: Counter[str] = Counter()
    cpu: Counter[str] = Counter()
    names = list(methods)
    with progress.task("bare trafilatura ×2 + chain (HTML)", len(html) * len(names)) as advance:
        for k, first in enumerate(range(0, len(html), chunk)):
            part = html[first:first + chunk]
            for name in names[k % len(names):] + names[:k % len(names)]:
                reset_caches()
                with _clock() as c:
                    methods[name](part)
                wall[name] += c["wall"]
                cpu[name] += c["cpu"]
                advance(len(part))
    n = len(html)
    return {
        "bare_trafilatura": {name: {**_speed(n, wall[name], cpu[name]), "no_text": empty[name]}
                             for name in ("defaults", "cleaner_options")},
        "chain_html": {**_speed(n, wall["chain"], cpu["chain"]), "outputs": dict(chain_topics),
                       "interleaved_chunk": chunk},
    }


def _encode_all(outcomes: Iterable[Any]) -> list[Any]:
    """Encode every outcome once, as the agents do when they send (and `newsflow process` when it prints)."""
    done = []
    for outcome in outcomes:
        outcome.value()
        done.append(outcome)
    return done


def bench_stages(settings: Any, corpus: Corpus, progress: Progress) -> dict[str, Any]:
    """Each stage core alone, fed what the previous stage produced (computed by the previous step)."""
    from services.app import TAG_BATCH
    from services.kafka.topics import CLEANED, TAGGED
    from services.pipeline import CleanStep, DedupStep, TagStep

    n_docs = len(corpus.docs)
    clean, tag, dedup = CleanStep(settings), TagStep(settings), DedupStep(settings)
    warm = warmup_outcomes(8, "stagewarm")
    warm_clean = [o for w in warm for o in clean(w.value()) if o.topic == CLEANED]  # warm-up, untimed
    warm_tag = [o for o in tag([o.value() for o in warm_clean]) if o.topic == TAGGED]
    for o in warm_tag:
        dedup(o.value())

    raw_payloads = [o.value() for o in corpus.outcomes()]  # what the clean agent receives from Kafka
    cleaned: list[bytes] = []
    topics: Counter[str] = Counter()
    with progress.task("CleanStep", len(raw_payloads)) as advance, _clock() as c:
        for n, payload in enumerate(raw_payloads):
            for outcome in clean(payload, {"raw": {"partition": 0, "offset": n}}):
                value = outcome.value()
                if outcome.topic == CLEANED:
                    cleaned.append(value)
                else:
                    topics[outcome.topic] += 1
            advance(1)
    result = {"clean": {**_speed(n_docs, c["wall"], c["cpu"]), "records_in": len(raw_payloads),
                        "records_out": len(cleaned), "dead_letters": topics["news.dlq"]}}

    tagged: list[bytes] = []
    with progress.task(f"TagStep (batches of {TAG_BATCH})", len(cleaned)) as advance, _clock() as c:
        for start in range(0, len(cleaned), TAG_BATCH):
            batch = cleaned[start:start + TAG_BATCH]
            for outcome in tag(batch):
                value = outcome.value()
                if outcome.topic == TAGGED:
                    tagged.append(value)
            advance(len(batch))
    result["tag"] = {**_speed(n_docs, c["wall"], c["cpu"]), "records_in": len(cleaned),
                     "records_out": len(tagged), "batch": TAG_BATCH,
                     "records_per_s": round(len(cleaned) / c["wall"], 2) if c["wall"] else None}

    verdicts: Counter[str] = Counter()
    with progress.task("DedupStep", len(tagged)) as advance, _clock() as c:
        for payload in tagged:
            for outcome in _encode_all(dedup(payload)):
                verdicts[outcome.topic] += 1
            advance(1)
    result["dedup"] = {**_speed(n_docs, c["wall"], c["cpu"]), "records_in": len(tagged),
                       "records_out": dict(verdicts),
                       "records_per_s": round(len(tagged) / c["wall"], 2) if c["wall"] else None}
    result["clean"]["records_per_s"] = result["clean"]["docs_per_s"]
    result["note"] = ("docs_per_s = corpus documents / seconds spent in the stage (comparable with the chain); "
                      "records_per_s = the stage's own input records / s (stories after splitting)")
    return result


def ready_pipeline(settings: Any) -> Any:
    """A `Pipeline` with its models loaded and caches warm (construction is not what we time)."""
    from services.pipeline import Pipeline

    pipeline = Pipeline(settings)
    for outcome in pipeline.run(warmup_outcomes(8, "chainwarm")):
        outcome.value()
    return pipeline


def run_chain(pipeline: Any, outcomes: list[Any], advance: Callable[[int], None]) -> Counter[str]:
    """`Pipeline.run` over raw outcomes, every terminal outcome encoded (as `newsflow process` does)."""
    from services.kafka.topics import TERMINAL_TOPICS

    topics: Counter[str] = Counter()
    seen: set[str] = set()
    for outcome in pipeline.run(iter(outcomes)):
        outcome.value()
        topics[outcome.topic] += 1
        if outcome.topic not in TERMINAL_TOPICS:  # e.g. story updates: not a document's result
            continue
        doc = outcome.record.get("parent_id") or outcome.key  # progress: documents with a first result
        if doc not in seen:
            seen.add(doc)
            advance(1)
    return topics


def bench_chain(settings: Any, corpus: Corpus, progress: Progress) -> dict[str, Any]:
    out: dict[str, Any] = {}
    parts = {"whole_corpus": corpus.outcomes()}
    for name, outcomes in parts.items():
        if not outcomes:
            continue
        pipeline = ready_pipeline(settings)  # a fresh one per part: dedup starts empty
        description = f"Pipeline chain ({name.replace('_', ' ')})"
        with progress.task(description, len(outcomes)) as advance, _clock() as c:
            topics = run_chain(pipeline, outcomes, advance)
        out[name] = {**_speed(len(outcomes), c["wall"], c["cpu"]), "outputs": dict(topics)}
    return out


def profile_chain(settings: Any, corpus: Corpus, docs: int, out_dir: Path, progress: Progress) -> dict[str, Any]:
    """pyinstrument over the in-process chain (a separate pass: the timed runs are not profiled)."""
    from pyinstrument import Profiler

    outcomes = corpus.outcomes()[:docs]
    pipeline = ready_pipeline(settings)
    profiler = Profiler(interval=0.001)
    with progress.task("profiling the chain (pyinstrument)", len(outcomes)) as advance:
        profiler.start()
        run_chain(pipeline, outcomes, advance)
        profiler.stop()
    html_path, txt_path = out_dir / "profile.html", out_dir / "profile.txt"
    html_path.write_text(profiler.output_html(), encoding="utf-8")
    tree = profiler.output_text(unicode=True, color=False, show_all=False)
    flat = profiler.output_text(unicode=True, color=False, flat=True, flat_time="self")
    txt_path.write_text(f"# in-process chain over {len(outcomes)} documents\n\n## call tree\n\n{tree}\n\n"
                        f"## flat, by self time\n\n{flat}\n", encoding="utf-8")
    return {"docs": len(outcomes), "html": str(html_path), "text": str(txt_path),
            "hot_spots": hot_spots(profiler, 25)}


def hot_spots(profiler: Any, limit: int) -> dict[str, list[dict[str, Any]]]:
    """Self time per function (built-ins named with their caller), and inclusive time of our own code."""
    root = profiler.last_session.root_frame()
    total = root.time if root is not None else 0.0
    selfs: Counter[tuple[str, str]] = Counter()
    inclusive: Counter[tuple[str, str]] = Counter()

    def where(frame: Any) -> str:
        return f"{frame.file_path_short or '?'}:{frame.line_no or 0}"

    def walk(frame: Any, parent: Any, ancestors: frozenset[tuple[str, str]]) -> None:
        if frame.is_synthetic:
            return
        own = frame.time - sum(c.time for c in frame.children if not c.is_synthetic)
        key = (frame.function, where(frame))
        if key[1].startswith("<built-in>") and parent is not None:
            key = (f"{frame.function} (called from {parent.function})", where(parent))
        if own > 0:
            selfs[key] += own
        path = frame.file_path or ""
        if "/services/" in path and key not in ancestors:  # recursion counted once
            inclusive[key] += frame.time
        for child in frame.children:
            walk(child, frame, ancestors | {key})

    if root is not None:
        walk(root, None, frozenset())

    def rows(counter: Counter[tuple[str, str]]) -> list[dict[str, Any]]:
        return [{"function": fn, "where": at, "seconds": round(t, 3), "share": round(t / total, 4) if total else None}
                for (fn, at), t in counter.most_common(limit)]

    return {"self": rows(selfs), "inclusive_services": rows(inclusive)}


# ------------------------------------------------------------------------------------------------
# end to end through Kafka


@dataclass
class Drive:
    """What one end-to-end run observed."""

    docs: int
    accounted: int
    pending: int
    elapsed_s: float  # first publish -> last document accounted for
    publish_s: float  # first publish -> last publish acknowledged
    steady_docs_per_s: float | None  # between 10 % and 90 % accounted
    terminal: dict[str, int]
    redelivered: int
    latencies: list[tuple[float, float]]  # (publish time since start, ingest -> news.enriched ms)
    delivery_ms: list[float]  # worker's send (Kafka CreateTime) -> driver's arrival, news.enriched
    failure: str | None = None
    hops: list[tuple[float, list[float]]] | None = None  # with `hops`: (publish time since start, HOPS in ms)


# A document's path, cut where a record is written: the driver's publish, then each stage's output
# (Kafka CreateTime, stamped by the worker's producer when the stage sends), then the driver's read.
# A hop is the record's wait for the stage plus the stage's own work plus Kafka on the way there.
HOPS = ("ingest → news.cleaned", "news.cleaned → news.tagged", "news.tagged → news.enriched",
        "news.enriched → driver")


def hop_times(published_ms: float, cleaned_ms: int | None, tagged_ms: int | None, enriched_ms: int,
              arrival_ms: float) -> list[float] | None:
    """The four hops of one document in ms (None when a stamp is missing: a record not seen)."""
    if cleaned_ms is None or tagged_ms is None:
        return None
    stamps = [published_ms, cleaned_ms, tagged_ms, enriched_ms, arrival_ms]
    return [b - a for a, b in itertools.pairwise(stamps)]


async def _publish(publisher: Any, outcomes: list[Any], rate: float | None, published: dict[str, float]) -> float:
    """Publish every record (re-stamped `ingested_at`); open loop at `rate` docs/s, or all at once."""
    t0 = time.perf_counter()

    def stamped(outcome: Any) -> Any:
        published[outcome.key] = time.perf_counter()
        return restamp(outcome)

    if rate is None:
        await publisher.publish(stamped(o) for o in outcomes)
        return time.perf_counter() - t0
    sends = []
    for n, outcome in enumerate(outcomes):
        delay = t0 + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sends.append(asyncio.create_task(publisher.publish([stamped(outcome)])))
    await asyncio.gather(*sends)
    return time.perf_counter() - t0


async def drive(settings: Any, outcomes: list[Any], rate: float | None, workers: list[Any], timeout: float,
                advance: Callable[[int], None], hops: bool = False) -> Drive:
    """Publish `outcomes`, read the terminal topics until the Ledger has accounted for every id.

    With `hops`, also read news.cleaned and news.tagged (their timestamps only) to split each
    document's latency into HOPS; that makes the broker and this process do a little more.
    """
    from services.kafka.clients import Publisher, TopicReader
    from services.kafka.topics import CLEANED, ENRICHED, TAGGED, TERMINAL_TOPICS
    from services.ledger import Ledger

    terminal = [settings.topic(t) for t in TERMINAL_TOPICS]
    logical = {settings.topic(t): t for t in TERMINAL_TOPICS}
    stamps: dict[str, dict[bytes, int]] = {settings.topic(CLEANED): {}, settings.topic(TAGGED): {}} if hops else {}
    wall_minus_perf_ms = time.time() * 1000 - time.perf_counter() * 1000  # publish times on Kafka's clock
    arrivals: list[tuple[str, bytes, int, float]] = []  # with hops, news.enriched: (doc, key, CreateTime, arrival)
    ledger = Ledger.of(o.key for o in outcomes)
    published: dict[str, float] = {}
    latencies: list[tuple[float, float]] = []
    delivery: list[float] = []
    done_at: list[float] = []
    topics: Counter[str] = Counter()
    failure = None
    async with TopicReader(settings) as reader:
        await reader.assign(dict(await reader.end_offsets([*terminal, *stamps])))
        async with Publisher(settings) as publisher:
            t0 = time.perf_counter()
            publishing = asyncio.create_task(_publish(publisher, outcomes, rate, published))
            deadline = t0 + timeout
            while ledger.pending and failure is None:
                if publishing.done() and publishing.exception() is not None:
                    raise publishing.exception()  # type: ignore[misc]
                async for message in reader.messages(idle_timeout=1.0):
                    now, wall = time.perf_counter(), time.time()
                    if message.topic in stamps:
                        stamps[message.topic].setdefault(message.key or b"", message.timestamp_ms)
                        continue
                    record = message.record()
                    topic = logical[message.topic]
                    before = len(ledger.pending)
                    if ledger.observe(topic, record):
                        topics[topic] += 1
                        if topic == ENRICHED:
                            doc = record.get("parent_id") if record.get("parent_id") in published else record["id"]
                            if doc in published:
                                latencies.append((published[doc] - t0, (now - published[doc]) * 1000))
                                delivery.append(wall * 1000 - message.timestamp_ms)
                                if hops:
                                    arrivals.append((doc, message.key or b"", message.timestamp_ms, wall * 1000))
                    if len(ledger.pending) < before:
                        done_at.extend([now - t0] * (before - len(ledger.pending)))
                        advance(before - len(ledger.pending))
                    if not ledger.pending or now > deadline:
                        break
                if time.perf_counter() > deadline:
                    failure = f"timeout after {timeout:.0f}s"
                dead = [w.pid for w in workers if w.poll() is not None]
                if dead:
                    failure = f"worker(s) {dead} exited"
            if failure:
                publishing.cancel()
                with contextlib.suppress(BaseException):
                    await publishing
                publish_s = float("nan")
            else:
                publish_s = await publishing
    n = len(ledger.expected)
    elapsed = done_at[-1] if done_at and not ledger.pending else time.perf_counter() - t0
    steady = None
    if not ledger.pending and n >= 10:  # documents per second between 10 % and 90 % accounted for
        lo, hi = int(0.1 * (n - 1)), int(0.9 * (n - 1))
        if done_at[hi] > done_at[lo]:
            steady = round((hi - lo) / (done_at[hi] - done_at[lo]), 2)
    hop_rows = None
    if hops:
        cleaned, tagged = (stamps[settings.topic(t)] for t in (CLEANED, TAGGED))
        hop_rows = [(published[doc] - t0, split) for doc, key, created, arrival in arrivals
                    if (split := hop_times(published[doc] * 1000 + wall_minus_perf_ms, cleaned.get(key),
                                           tagged.get(key), created, arrival)) is not None]
    return Drive(docs=n, accounted=n - len(ledger.pending), pending=len(ledger.pending), elapsed_s=elapsed,
                 publish_s=publish_s, steady_docs_per_s=steady, terminal=dict(topics),
                 redelivered=ledger.redelivered, latencies=latencies, delivery_ms=delivery, failure=failure,
                 hops=hop_rows)


def _ready(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
            return orjson.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def main_thread_cpu_s(pid: int) -> float | None:
    """CPU seconds of a process's main thread, where a worker runs its event loop; None where a
    thread id is not the pid (on Linux the main thread's is)."""
    import psutil

    try:
        threads = psutil.Process(pid).threads()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return next((t.user_time + t.system_time for t in threads if t.id == pid), None)


def worker_cpu(port: int, pid: int | None = None) -> dict[str, float]:
    """A worker's CPU seconds from its /metrics: the whole process, and the stage threads per stage;
    with its `pid`, also its event loop's (`event_loop`, the main thread's)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except (urllib.error.URLError, OSError):
        return {}
    cpu: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "process_cpu_seconds_total":
                cpu["process"] = sample.value
            elif sample.name == "newsflow_stage_cpu_seconds_total":
                cpu[sample.labels["stage"]] = sample.value
    loop = main_thread_cpu_s(pid) if pid is not None and cpu else None
    if loop is not None:
        cpu[EVENT_LOOP] = loop
    return cpu


def cpu_split(before: list[dict[str, float]], after: list[dict[str, float]], docs: int) -> dict[str, Any]:
    """Milliseconds of worker CPU per document: per stage core, and the rest (Kafka, Faust, serving),
    with the event loop's share of the rest when every worker's was read (the remainder is mostly
    faust's Kafka consumer thread)."""
    if not all(before) or not all(after):  # a worker did not answer: a partial sum would mislead
        return {}
    total: Counter[str] = Counter()
    for b, a in zip(before, after, strict=True):
        for key, value in a.items():
            total[key] += value - b.get(key, 0.0)
    if not docs or "process" not in total:
        return {}
    stages = {k: v for k, v in total.items() if k not in ("process", EVENT_LOOP)}
    split = {f"{k}_ms_per_doc": round(1000 * v / docs, 2) for k, v in sorted(stages.items())}
    split["stages_ms_per_doc"] = round(1000 * sum(stages.values()) / docs, 2)
    split["process_ms_per_doc"] = round(1000 * total["process"] / docs, 2)
    split["outside_stages_ms_per_doc"] = round(split["process_ms_per_doc"] - split["stages_ms_per_doc"], 2)
    if all(EVENT_LOOP in cpu for cpu in (*before, *after)):
        split["event_loop_ms_per_doc"] = round(1000 * total[EVENT_LOOP] / docs, 2)
    return split


def wait_workers_ready(settings: Any, workers: list[Any], ports: list[int], timeout: float = 180.0) -> float:
    """Until every worker says ready and together they hold every partition of the topics they read."""
    from services.kafka.topics import CLEANED, RAW, TAGGED, load_topic_specs

    specs = load_topic_specs(settings.topics_file)
    needed = {f"{settings.topic(t)}:{p}" for t in (RAW, CLEANED, TAGGED) for p in range(specs[t].partitions)}
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if any(w.poll() is not None for w in workers):
            raise RuntimeError(f"a worker exited during startup; see the logs in {settings.home}")
        states = [_ready(port) for port in ports]
        if all(s and s.get("ready") for s in states):
            # every input partition owned by exactly one worker (state/changelog topics may be shared)
            owners = Counter(tp for s in states if s for tp in s["assignment"] if tp in needed)
            if set(owners) == needed and all(n == 1 for n in owners.values()):
                return time.monotonic() - t0
        time.sleep(0.5)
    raise RuntimeError(f"workers not ready (all partitions assigned) after {timeout:.0f}s; logs in {settings.home}")


def _percentiles(values: list[float]) -> dict[str, float | None]:
    import numpy as np

    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    arr = np.asarray(values)
    return {"p50": round(float(np.percentile(arr, 50)), 1), "p95": round(float(np.percentile(arr, 95)), 1),
            "p99": round(float(np.percentile(arr, 99)), 1), "max": round(float(arr.max()), 1),
            "mean": round(float(arr.mean()), 1)}


def hop_summary(rows: list[tuple[float, list[float]]], skip: float = 0.1) -> dict[str, Any]:
    """Percentiles of each hop; each hop's median over the slowest 5 % of documents (whole path);
    and its median over the documents published in the first `skip` of the run, and after."""
    if not rows:
        return {"samples": 0}
    slowest = sorted((split for _, split in rows), key=sum, reverse=True)[:max(1, round(0.05 * len(rows)))]
    start, after = split_at_start(rows, skip)

    def medians(splits: list[list[float]]) -> dict[str, Any]:
        return {"docs": len(splits), "total_ms_p50": _percentiles([sum(s) for s in splits])["p50"],
                **{name: _percentiles([s[i] for s in splits])["p50"] for i, name in enumerate(HOPS)}}

    return {
        "samples": len(rows),
        "percentiles": {name: _percentiles([split[i] for _, split in rows]) for i, name in enumerate(HOPS)},
        "slowest_5pct": medians(slowest),
        "start_p50": medians(start),
        "after_start_p50": medians(after),
    }


def steady_latencies(latencies: list[tuple[float, float]], skip: float = 0.1) -> list[float]:
    """Latencies (ms) of the documents published after the first `skip` of the publishing span.

    Why: in every run the tail came from the first one or two seconds after fresh workers took
    load; this separates that start-up from steady state (as `steady_docs_per_s` does for
    throughput). The target is still judged on every sample.
    """
    return split_at_start(latencies, skip)[1]


def split_at_start(series: list[tuple[float, T]], skip: float) -> tuple[list[T], list[T]]:
    """The values of (publish time, value) pairs published in the first `skip` of the span, and after."""
    if not series:
        return [], []
    cutoff = skip * max(t for t, _ in series)
    return [v for t, v in series if t < cutoff], [v for t, v in series if t >= cutoff]


def steady_p99(run: dict[str, Any] | None) -> float | None:
    """A half-load run's p99 without its start-up (from its series when an older result lacks it)."""
    if not run:
        return None
    if "latency_steady_ms" in run:
        return run["latency_steady_ms"].get("p99")
    return _percentiles(steady_latencies([(t, ms) for t, ms in run.get("series", [])]))["p99"]


class E2E:
    """Fresh topics, consumer group and worker processes per run, on one broker."""

    def __init__(self, base: Any, home: Path, sampler: RssSampler, broker_pid: int | None,
                 progress: Progress, timeout: float, log_dir: Path | None = None,
                 worker_loglevel: str = "warning", hops: bool = False) -> None:
        self.base = base
        self.hops = hops
        self.log_dir = log_dir
        self.worker_loglevel = worker_loglevel
        self.home = home
        self.sampler = sampler
        self.broker_pid = broker_pid
        self.progress = progress
        self.timeout = timeout
        self.run_id = uuid.uuid4().hex[:6]
        self.prefixes: list[str] = []

    def run(self, label: str, n_workers: int, outcomes: list[Any], rate: float | None) -> dict[str, Any]:
        from services.broker import free_port
        from services.kafka.topics import ensure_topics
        from services.up import start_child, stop_worker

        prefix = f"bench{self.run_id}-{label}."
        self.prefixes.append(prefix)
        settings = self.base.model_copy(update={
            "topic_prefix": prefix, "app_id": f"newsflow-bench-{self.run_id}-{label}", "home": self.home / label,
        })
        asyncio.run(ensure_topics(settings))
        ports = [free_port() for _ in range(n_workers)]
        workers = [start_child(settings.model_copy(update={"web_port": port}),
                               ["worker", "--loglevel", self.worker_loglevel], f"worker-{i}.log")
                   for i, port in enumerate(ports)]
        labels = [f"{label}/worker-{i + 1}" for i in range(n_workers)]
        for name, worker in zip(labels, workers, strict=True):
            self.sampler.track(name, worker.pid)
        result: dict[str, Any] = {"workers": n_workers, "offered_rate": round(rate, 2) if rate else None}
        try:
            self._measure(settings, result, label, labels, workers, ports, outcomes, rate)
        except Exception as exc:
            result["failure"] = f"{type(exc).__name__}: {exc}"
        finally:
            for name in labels:
                self.sampler.untrack(name)
            for worker in workers:
                stop_worker(worker)
        result["peak_rss_mb"] = {name: self.sampler.peak(name) for name in labels}
        if self.log_dir is not None:  # keep the worker logs next to the results
            self.log_dir.mkdir(parents=True, exist_ok=True)
            for log_file in sorted(settings.home.glob("worker-*.log")):
                shutil.copyfile(log_file, self.log_dir / f"{label}-{log_file.name}")
        if result.get("failure"):
            logs = sorted((settings.home).glob("worker-*.log"))
            result["worker_log_tail"] = {p.name: p.read_text(errors="replace")[-3000:] for p in logs}
        return result

    def _measure(self, settings: Any, result: dict[str, Any], label: str, labels: list[str], workers: list[Any],
                 ports: list[int], outcomes: list[Any], rate: float | None) -> None:
        result["startup_s"] = round(wait_workers_ready(settings, workers, ports), 1)
        warm = warmup_outcomes(16, f"warm-{label}")  # models loaded, connections and metadata warm
        warm_run = asyncio.run(drive(settings, warm, None, workers, 180.0, lambda _n: None))
        if warm_run.pending:
            raise RuntimeError(f"warm-up documents not processed ({warm_run.failure}); logs in {settings.home}")
        pids = {"broker": self.broker_pid} if self.broker_pid else {}
        pids.update({name: w.pid for name, w in zip(labels, workers, strict=True)})
        what = f"e2e {label}: " + (f"{rate:.1f} docs/s offered" if rate else "max throughput")
        cpu_before = [worker_cpu(port, w.pid) for port, w in zip(ports, workers, strict=True)]
        with self.progress.task(what, len(outcomes)) as advance, Meter(pids) as meter:
            observed = asyncio.run(drive(settings, outcomes, rate, workers, self.timeout, advance,
                                         hops=self.hops and rate is not None))
        result.update(self._summarise(observed, meter, labels))
        cpu_after = [worker_cpu(port, w.pid) for port, w in zip(ports, workers, strict=True)]
        result["worker_cpu_split"] = cpu_split(cpu_before, cpu_after, observed.accounted)

    @staticmethod
    def _summarise(d: Drive, meter: Meter, labels: list[str]) -> dict[str, Any]:
        worker_cpu = sum(meter.cpu_s.get(name, 0.0) for name in labels)
        lat = [ms for _, ms in d.latencies]
        return {
            "docs": d.docs,
            "accounted": d.accounted,
            "pending": d.pending,
            "failure": d.failure,
            "elapsed_s": round(d.elapsed_s, 2),
            "publish_s": round(d.publish_s, 2) if not math.isnan(d.publish_s) else None,
            "docs_per_s": round(d.accounted / d.elapsed_s, 2) if d.elapsed_s > 0 else None,
            "steady_docs_per_s": d.steady_docs_per_s,
            "docs_per_worker_cpu_s": round(d.accounted / worker_cpu, 2) if worker_cpu > 0 else None,
            "terminal": d.terminal,
            "redelivered": d.redelivered,
            "latency_ms": {**_percentiles(lat), "samples": len(lat)},
            "latency_steady_ms": {**_percentiles(steady := steady_latencies(d.latencies)), "samples": len(steady)},
            "delivery_ms_p50": _percentiles(d.delivery_ms)["p50"],
            "hops": hop_summary(d.hops) if d.hops else None,
            "hops_series": [[round(t, 3), *(round(ms, 1) for ms in split)] for t, split in d.hops or []] or None,
            "meter": meter.result,
            "series": [[round(t, 3), round(ms, 1)] for t, ms in d.latencies],
        }

    def cleanup(self) -> None:
        """Delete this run's topics (only needed on a broker we did not start)."""
        from aiokafka.admin import AIOKafkaAdminClient

        async def delete() -> None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.base.kafka, **self.base.kafka_client_options())
            await admin.start()
            try:
                ours = [t for t in await admin.list_topics() if any(t.startswith(p) for p in self.prefixes)]
                if ours:
                    await admin.delete_topics(ours)
            finally:
                await admin.close()

        with contextlib.suppress(Exception):
            asyncio.run(delete())


def _listening_pid(bootstrap: str) -> int | None:
    """Best effort: the pid listening on a bootstrap's port (for an external local broker)."""
    import psutil

    with contextlib.suppress(Exception):
        port = int(bootstrap.split(",")[0].rsplit(":", 1)[1])
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return int(conn.pid)
    return None


def max_throughput_rounds(settings: Any, e2e: E2E, corpus: Corpus, args: argparse.Namespace,
                          progress: Progress) -> list[dict[str, Any]]:
    """Max-throughput runs in rounds: each worker count, order reversed every other round (1w 2w,
    2w 1w, …), and the in-process chain just before and just after the 1-worker run.

    Why: this machine's speed drifts by up to 1.5x between minutes, more than the ratios we judge.
    Ratios are taken within a round, between runs a minute apart, and the median over rounds is
    reported; alternating the order cancels a steady drift across a round, and the chain on both
    sides of the 1-worker run cancels it within the round (one chain run before the workers let
    a fast minute for the chain read as 0.75x, the next chain run being 22 % slower).
    """
    rounds: list[dict[str, Any]] = []
    outcomes = corpus.outcomes()

    def chain() -> list[dict[str, Any]]:
        run = bench_chain(settings, corpus, progress).get("whole_corpus")
        return [run] if run else []

    for r in range(args.rounds):
        order = list(args.workers) if r % 2 == 0 else list(reversed(args.workers))
        entry: dict[str, Any] = {"round": r + 1, "order": order, "runs": {}}
        chains: list[dict[str, Any]] = []
        for n in order:
            if n == 1:
                chains += chain()
            progress.log(f"[bold]round {r + 1}/{args.rounds}, end to end, {n} worker(s)[/]: "
                         f"max throughput over {len(outcomes)} documents")
            entry["runs"][f"{n}w"] = e2e.run(f"w{n}-max-r{r + 1}", n, outcomes, None)
            if n == 1:
                chains += chain()
        if 1 not in order:  # no 1-worker run to bracket
            chains += chain()
        entry["chain_runs"] = chains
        entry["chain"] = bracketed(chains)
        rounds.append(entry)
    return rounds


def bracketed(chains: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The chain runs around a worker run as one: the mean of their costs per document (for a
    machine drifting steadily, the cost at the midpoint), i.e. the harmonic mean of their rates."""
    if not chains:
        return None

    def harmonic(key: str) -> float | None:
        rates = [c.get(key) for c in chains]
        if any(not rate for rate in rates):
            return None
        return round(len(rates) / sum(1.0 / rate for rate in rates), 2)  # type: ignore[operator]

    return {**chains[0], "docs_per_s": harmonic("docs_per_s"), "docs_per_cpu_s": harmonic("docs_per_cpu_s"),
            "runs": len(chains)}


def median_run(rounds: list[dict[str, Any]], workers: int) -> dict[str, Any] | None:
    """The max-throughput run with `workers` whose docs/s is the median over the rounds (a failed run
    if any failed), so the tables show one real run."""
    runs = [r["runs"][f"{workers}w"] for r in rounds if f"{workers}w" in r["runs"]]
    if not runs:
        return None
    failed = [run for run in runs if run.get("failure") or not run.get("docs_per_s")]
    if failed:
        return failed[0]
    return sorted(runs, key=lambda run: run["docs_per_s"])[len(runs) // 2]


def round_ratios(rounds: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per-round ratios: 1-worker end to end / chain (wall and per CPU-s), 2 workers / 1 worker
    (wall, per worker CPU-s, and cores the workers got)."""
    out: dict[str, list[float]] = {"e2e_vs_chain": [], "e2e_vs_chain_cpu": [], "two_vs_one": [],
                                   "two_vs_one_cpu": [], "two_vs_one_cores": []}

    def add(key: str, value: float | None) -> None:
        if value is not None:
            out[key].append(value)

    for entry in rounds:
        runs, chain = entry["runs"], entry.get("chain") or {}
        one, two = runs.get("1w") or {}, runs.get("2w") or {}
        if one.get("failure") or two.get("failure"):
            continue
        add("e2e_vs_chain", _ratio(one.get("docs_per_s"), chain.get("docs_per_s")))
        add("e2e_vs_chain_cpu", _ratio(one.get("docs_per_worker_cpu_s"), chain.get("docs_per_cpu_s")))
        add("two_vs_one", _ratio(two.get("docs_per_s"), one.get("docs_per_s")))
        add("two_vs_one_cpu", _ratio(two.get("docs_per_worker_cpu_s"), one.get("docs_per_worker_cpu_s")))
        add("two_vs_one_cores", _ratio(_workers_cores(two), _workers_cores(one)))
    return out


def _workers_cores(run: dict[str, Any]) -> float | None:
    cores = [v for k, v in cores_by_process(run.get("meter") or {}).items() if "worker" in k]
    return sum(cores) if cores else None


def bench_e2e(base: Any, corpus: Corpus, args: argparse.Namespace, sampler: RssSampler,
              progress: Progress) -> dict[str, Any]:
    from services.broker import LocalBroker, free_port, is_reachable

    tmp = Path(tempfile.mkdtemp(prefix="newsflow-bench-"))
    broker = None
    if args.worker_cpu is not None:
        base = base.model_copy(update={"worker_cpu": args.worker_cpu})
    result: dict[str, Any] = {"runs": {}, "worker_cpu": base.worker_cpu}
    try:
        if args.kafka:
            if not is_reachable(args.kafka, timeout=5.0):
                raise RuntimeError(f"no Kafka broker answers at {args.kafka}")
            settings = base.model_copy(update={"kafka": args.kafka})
            broker_pid = _listening_pid(args.kafka)
            result["broker"] = {"bootstrap": args.kafka, "started_by_bench": False, "pid": broker_pid}
        else:
            settings = base.model_copy(update={"kafka": f"127.0.0.1:{free_port()}", "home": tmp / "broker",
                                               "controller_port": None})
            broker = LocalBroker(settings, tie_to_parent=True)  # dies with us, whatever happens
            progress.log(f"starting a local Kafka broker at {settings.kafka} (home {tmp / 'broker'}) …")
            t0 = time.perf_counter()
            status = broker.start(timeout=180)
            broker_pid = status.pid
            result["broker"] = {"bootstrap": settings.kafka, "started_by_bench": True, "pid": broker_pid,
                                "kafka_version": status.kafka_version, "heap_mb": broker.heap_mb,
                                "startup_s": round(time.perf_counter() - t0, 1)}
        if broker_pid:
            sampler.track("broker", broker_pid)
            cpu_at_start = _cpu_s(broker_pid)
        e2e = E2E(settings, tmp, sampler, broker_pid, progress, args.timeout, log_dir=args.out / "logs",
                  worker_loglevel=args.worker_loglevel, hops=args.hops)
        outcomes = corpus.outcomes()
        result["rounds"] = max_throughput_rounds(settings, e2e, corpus, args, progress)
        for n in args.workers:
            max_run = median_run(result["rounds"], n)
            if max_run is None:
                continue
            result["runs"][f"{n}w_max"] = max_run
            if max_run.get("failure") or not max_run.get("docs_per_s"):
                progress.log(f"[red]max-throughput run with {n} worker(s) failed: {max_run.get('failure')}[/]")
                continue
            rate = max_run["docs_per_s"] * args.load
            count = min(len(outcomes), max(20, math.ceil(rate * args.latency_seconds)))
            progress.log(f"end to end, {n} worker(s): latency at {rate:.1f} docs/s "
                         f"({args.load:.0%} of max) over {count} documents")
            result["runs"][f"{n}w_half"] = e2e.run(f"w{n}-half", n, outcomes[:count], rate)
        for entry in result["rounds"]:  # the median runs are in "runs" whole; the rest need no series
            entry["runs"] = {k: {**v, "series": None} for k, v in entry["runs"].items()}
        if broker_pid:
            now = _cpu_s(broker_pid)
            result["broker"]["cpu_s_total"] = round(now - cpu_at_start, 1) if now and cpu_at_start else None
            result["broker"]["peak_rss_mb"] = sampler.peak("broker")
        if args.kafka:
            e2e.cleanup()
    finally:
        if broker is not None:
            broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return result


# ------------------------------------------------------------------------------------------------
# report


def _get(d: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _ratio(a: Any, b: Any) -> float | None:
    return round(a / b, 3) if isinstance(a, int | float) and isinstance(b, int | float) and b else None


def ratios(result: dict[str, Any]) -> list[dict[str, Any]]:
    ip, e2e = result.get("inprocess", {}), _get(result, "e2e", "runs") or {}
    bare_opts = _get(ip, "bare_trafilatura", "cleaner_options")
    bare_def = _get(ip, "bare_trafilatura", "defaults")
    chain_html, chain = _get(ip, "chain", "html_only"), _get(ip, "chain", "whole_corpus")
    rows = []

    def row(name: str, value: float | None, note: str = "", target: float | None = None, unit: str = "x",
            lower_is_better: bool = False) -> None:
        met = None
        if value is not None and target is not None:
            met = value <= target if lower_is_better else value >= target
        rows.append({"ratio": name, "value": value, "target": target, "unit": unit, "met": met,
                     "lower_is_better": lower_is_better, "note": note})

    # The reference is trafilatura as it comes (~62 pages per CPU-s there); the cleaner's
    # own options (fast mode, no comments) make bare trafilatura ~1.5x faster, so that line is stricter.
    row("chain / bare trafilatura (defaults), HTML docs, docs/s",
        _ratio(_get(chain_html or {}, "docs_per_s"), _get(bare_def or {}, "docs_per_s")),
        "the target's ratio: trafilatura.extract as it comes", target=TARGETS["chain_vs_bare"])
    row("chain / bare trafilatura (defaults), HTML docs, docs per CPU-s",
        _ratio(_get(chain_html or {}, "docs_per_cpu_s"), _get(bare_def or {}, "docs_per_cpu_s")),
        "robust to machine load", target=TARGETS["chain_vs_bare"])
    row("chain / bare trafilatura (the cleaner's options), HTML docs, docs per CPU-s",
        _ratio(_get(chain_html or {}, "docs_per_cpu_s"), _get(bare_opts or {}, "docs_per_cpu_s")),
        "stricter: trafilatura in fast mode too, without the cleaner's own work")
    per_round = round_ratios(_get(result, "e2e", "rounds") or [])

    def over_rounds(key: str, single: float | None, note: str = "") -> tuple[float | None, str]:
        """The median of the per-round ratios when there are rounds (older results: the single run's)."""
        values = per_round.get(key)
        if not values:
            return single, note
        rounds = "; ".join(f"{v:.2f}" for v in values)
        text = f"median of {len(values)} round(s): {rounds}"
        return round(statistics.median(values), 3), f"{note}; {text}" if note else text

    row("end to end (1 worker, max) / chain, whole corpus",
        *over_rounds("e2e_vs_chain", _ratio(_get(e2e, "1w_max", "docs_per_s"), _get(chain or {}, "docs_per_s"))),
        target=TARGETS["e2e_vs_chain"])
    row("end to end (1 worker, max) / chain, docs per CPU-s (worker CPU vs chain CPU)",
        *over_rounds("e2e_vs_chain_cpu", _ratio(_get(e2e, "1w_max", "docs_per_worker_cpu_s"),
                                                _get(chain or {}, "docs_per_cpu_s")),
                     "robust to machine load; broker CPU not counted"), target=TARGETS["e2e_vs_chain"])
    row("2 workers / 1 worker (max throughput)",
        *over_rounds("two_vs_one", _ratio(_get(e2e, "2w_max", "docs_per_s"), _get(e2e, "1w_max", "docs_per_s"))),
        target=TARGETS["two_vs_one_worker"])
    row("2 workers / 1 worker, steady state (10-90 % accounted)",
        _ratio(_get(e2e, "2w_max", "steady_docs_per_s"), _get(e2e, "1w_max", "steady_docs_per_s")),
        "without start-up and tail")
    row("2 workers / 1 worker, docs per worker CPU-s",
        *over_rounds("two_vs_one_cpu", _ratio(_get(e2e, "2w_max", "docs_per_worker_cpu_s"),
                                              _get(e2e, "1w_max", "docs_per_worker_cpu_s")),
                     "1.0: a second worker adds no work per document; what the cores allow is the rest"))
    meter = _get(e2e, "1w_max", "meter") or {}
    wall, cpu = meter.get("wall_s"), meter.get("cpu_s") or {}
    worker = next((name for name in cpu if name.endswith("/worker-1")), None)
    for name, label in (("broker", "broker JVM"), (worker, "the worker")):
        if wall and name in cpu:
            row(f"cores used by {label} at 1-worker max throughput (CPU s / wall s)",
                round(cpu[name] / wall, 2), "out of the machine's logical CPUs", unit=" cores")
    cores = cores_by_process(_get(e2e, "2w_max", "meter") or {})
    if cores:
        row("cores used at 2-worker max throughput: broker JVM, driver, each worker",
            None, " / ".join(f"{name} {value:.2f}" for name, value in cores.items()), unit="")
        row("cores the workers got, 2 workers / 1 worker",
            *over_rounds("two_vs_one_cores", _ratio(_workers_cores(_get(e2e, "2w_max") or {}),
                                                    _workers_cores(_get(e2e, "1w_max") or {})),
                         "the throughput ratio is this times the ratio per worker CPU-s"))
        busy = [v for k, v in cores.items() if "worker" in k]
        row("busiest worker / mean of the 2 workers, CPU", _ratio(max(busy), sum(busy) / len(busy)),
            "1.0: the partitions split the work evenly; services/kafka/assignor.py")
    for n in (1, 2):
        p99 = _get(e2e, f"{n}w_half", "latency_ms", "p99")
        if _get(e2e, f"{n}w_half") is not None:
            row(f"p99 ingest -> news.enriched at 50 % load, {n} worker(s)", p99,
                target=TARGETS["p99_half_load_ms"], unit="ms", lower_is_better=True)
            row(f"p99 at 50 % load, {n} worker(s), without the first 10 % of the run",
                steady_p99(_get(e2e, f"{n}w_half")), "start-up excluded, as for steady throughput", unit="ms")
    return rows


def cores_by_process(meter: dict[str, Any]) -> dict[str, float]:
    """Cores (CPU s / wall s) each metered process used in a run: broker, driver and workers."""
    wall, cpu = meter.get("wall_s"), meter.get("cpu_s") or {}
    if not wall:
        return {}
    return {name.rsplit("/", 1)[-1]: round(value / wall, 2) for name, value in cpu.items()}


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def rounds_table(rounds: list[dict[str, Any]]) -> list[str]:
    """Each max-throughput round: the chain and the end-to-end runs a minute apart, and their ratios."""
    if not rounds:
        return []
    lines = ["", "## Max throughput in rounds", "",
             "Each round runs 1 and 2 workers, in alternating order, and the in-process chain just before and "
             "just after the 1-worker run (*chain* is the two as one: the mean of their CPU per document; "
             "*before / after* shows each, docs per CPU-s). The ratios are taken within a round, and the ratio "
             "table reports their median. Above, the end-to-end rows show the median round's run. docs/s "
             "(docs per CPU-s of the chain, or of the workers).", "",
             "| round | order | chain | before / after | 1 worker | 2 workers | 1 worker / chain | per CPU-s | "
             "2 / 1 workers | per worker CPU-s | cores the workers got, 2 / 1 |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for entry in rounds:
        per = {key: _fmt(values[0], 2) + "×" if values else "–" for key, values in round_ratios([entry]).items()}
        runs = entry["runs"]
        sides = " / ".join(_fmt(c.get("docs_per_cpu_s")) for c in entry.get("chain_runs") or []) or "–"
        lines.append(
            f"| {entry['round']} | {' → '.join(f'{n}w' for n in entry['order'])} | "
            f"{_run_speed(entry.get('chain') or {}, 'docs_per_cpu_s')} | {sides} | "
            f"{_run_speed(runs.get('1w') or {}, 'docs_per_worker_cpu_s')} | "
            f"{_run_speed(runs.get('2w') or {}, 'docs_per_worker_cpu_s')} | {per['e2e_vs_chain']} | "
            f"{per['e2e_vs_chain_cpu']} | {per['two_vs_one']} | {per['two_vs_one_cpu']} | {per['two_vs_one_cores']} |")
    return lines


def _run_speed(run: dict[str, Any], per_cpu: str) -> str:
    if not run:
        return "–"
    return "failed" if run.get("failure") else f"{_fmt(run.get('docs_per_s'))} ({_fmt(run.get(per_cpu))})"


def _ms_per_doc(d: dict[str, Any] | None) -> float | None:
    rate = (d or {}).get("docs_per_cpu_s")
    return 1000.0 / rate if rate else None


def hops_table(e2e: dict[str, Any]) -> list[str]:
    """Where the latency goes, hop by hop (runs with --hops only)."""
    runs = [(n, e2e[f"{n}w_half"]["hops"]) for n in (1, 2) if (e2e.get(f"{n}w_half") or {}).get("hops")]
    if not runs:
        return []
    lines = ["", "### Hop by hop (`--hops`)", "",
             "Each hop ends when a record is written: a stage's output by its Kafka timestamp (the worker's "
             "producer stamps it when the stage sends), the last on the driver's arrival. A hop is the wait for "
             "the stage, the stage's work and Kafka on the way. *Slowest 5 %*: each hop's median over the "
             "documents whose whole path was in the slowest 5 %. *First 10 %* / *after*: its median over the "
             "documents published in the first tenth of the run, and after.", "",
             "| workers | hop | p50 ms | p95 ms | p99 ms | slowest 5 %, median | first 10 %, median | after, median |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for n, hops in runs:
        slow, start, after = (hops.get(k, {}) for k in ("slowest_5pct", "start_p50", "after_start_p50"))
        for name, pct in hops.get("percentiles", {}).items():
            lines.append(f"| {n} | {name} | {_fmt(pct.get('p50'))} | {_fmt(pct.get('p95'))} | {_fmt(pct.get('p99'))} | "
                         f"{_fmt(slow.get(name))} | {_fmt(start.get(name))} | {_fmt(after.get(name))} |")
        lines.append(f"| {n} | whole path ({hops.get('samples')} docs) | | | | {_fmt(slow.get('total_ms_p50'))} | "
                     f"{_fmt(start.get('total_ms_p50'))} | {_fmt(after.get('total_ms_p50'))} |")
    return lines


def cpu_table(stages: dict[str, Any], chain: dict[str, Any] | None, e2e: dict[str, Any]) -> list[str]:
    """CPU milliseconds per document, in-process against inside a worker (from its /metrics)."""
    rows = []
    if stages:
        parts = [_ms_per_doc(stages.get(k)) for k in ("clean", "tag", "dedup")]
        known = [x for x in parts if x is not None]
        rows.append(["each stage core alone, in-process", *parts, sum(known) if known else None, None, None,
                     _ms_per_doc(chain), None])
    for key, run in e2e.items():
        split = run.get("worker_cpu_split") or {}
        if not split:
            continue
        broker = _get(run, "meter", "cpu_s", "broker")
        docs = run.get("accounted") or 0
        rows.append([f"end to end, {key.replace('w_', ' worker(s), ')} (all workers)",
                     *(split.get(f"{k}_ms_per_doc") for k in ("clean", "tag", "dedup")),
                     split.get("stages_ms_per_doc"), split.get("outside_stages_ms_per_doc"),
                     split.get("event_loop_ms_per_doc"), split.get("process_ms_per_doc"),
                     1000.0 * broker / docs if broker is not None and docs else None])
    if not rows:
        return []
    lines = ["", "## Where the CPU goes (ms of CPU per document)", "",
             "In a worker, the stage threads' CPU time per stage core comes from `newsflow_stage_cpu_seconds_total` "
             "and the whole process from `process_cpu_seconds_total` (its /metrics, before and after the run); "
             "*outside the cores* is Kafka clients, Faust, serialisation and serving. Of that, *event loop* is "
             "the worker's main thread, which runs Faust, the producer and the encoding of outputs; "
             "the rest is mostly Faust's Kafka consumer thread (fetching, decompressing and parsing records). "
             "The in-process "
             "row's *process* column is the chain.", "",
             "| where | clean | tag | dedup | stage cores | outside the cores | of which event loop | process "
             "| broker JVM |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += ["| " + " | ".join([row[0], *(_fmt(x, 2) for x in row[1:])]) + " |" for row in rows]
    return lines


def render_markdown(result: dict[str, Any]) -> str:
    m, c = result["machine"], result["corpus"]
    ip, e2e = result.get("inprocess", {}), _get(result, "e2e", "runs") or {}
    lines = [
        f"# newsflow pipeline benchmark — {result['started_at']}",
        "",
        f"Corpus: **{c['docs']} documents** ({c['source']}; {_fmt(c['by_kind'])}; variations "
        f"{_fmt(c['by_variation'])}; mean body {c['mean_body_chars']:,} chars). {c['note']}.",
        f"Machine: {m['logical_cpus']} logical CPUs ({m['physical_cpus']} physical), {m['memory_gb']} GB; "
        f"load average at start {m['load_avg_at_start']}, at end {result.get('load_avg_at_end')} "
        "(shared machine: other work competes for the same cores). "
        f"Python {m['python']}, trafilatura {m['trafilatura']}, commit {m.get('git_commit', '?')}"
        + (f" (+{m['services_files_changed_vs_commit']} changed files under services/)"
           if m.get("services_files_changed_vs_commit") else "") + "."
        + (f" Workers pinned: `NEWSFLOW_WORKER_CPU={pin}`." if (pin := _get(result, "e2e", "worker_cpu")) else ""),
        "",
        "## Throughput",
        "",
        "| layer | docs | docs/s | docs per CPU-s | notes |",
        "|---|---:|---:|---:|---|",
    ]

    def tp(name: str, d: dict[str, Any] | None, note: str = "") -> None:
        if d:
            lines.append(f"| {name} | {d.get('docs', '–')} | {_fmt(d.get('docs_per_s'))} | "
                         f"{_fmt(d.get('docs_per_cpu_s'))} | {note} |")

    bare = ip.get("bare_trafilatura", {})
    tp("bare `trafilatura.extract` (defaults)", bare.get("defaults"), "HTML docs only")
    tp("bare `trafilatura.extract` (cleaner's options)", bare.get("cleaner_options"),
       "HTML docs; fast, no comments, tables, no metadata")
    st = ip.get("stages", {})
    if st:
        tp("CleanStep alone", st.get("clean"),
           f"{st['clean']['records_out']} cleaned records, {st['clean']['dead_letters']} dead letters")
        tp(f"TagStep alone (batches of {st['tag']['batch']})", st.get("tag"),
           f"{st['tag']['records_in']} records, {_fmt(st['tag']['records_per_s'])} records/s")
        tp("DedupStep alone (dedup + sink)", st.get("dedup"),
           f"{st['dedup']['records_in']} records, {_fmt(st['dedup']['records_per_s'])} records/s")
    ch = ip.get("chain", {})
    tp("in-process chain (`Pipeline`), HTML docs", ch.get("html_only"), "measured interleaved with the two above")
    tp("in-process chain (`Pipeline`), whole corpus", ch.get("whole_corpus"), "what `newsflow process` runs")
    for n in (1, 2):
        run = e2e.get(f"{n}w_max")
        if run:
            lines.append(
                f"| end to end, {n} worker(s), max | {run.get('accounted')}/{run.get('docs')} | "
                f"{_fmt(run.get('docs_per_s'))} | {_fmt(run.get('docs_per_worker_cpu_s'))} (worker CPU) | "
                f"steady (10–90 %) {_fmt(run.get('steady_docs_per_s'))}/s; "
                f"{_fmt(run.get('terminal'))}{'; FAILED: ' + run['failure'] if run.get('failure') else ''} |")
    lines += rounds_table(_get(result, "e2e", "rounds") or [])
    lines += ["", "## Latency at 50 % of max throughput (ingest → arrival on news.enriched)", "",
              "| workers | offered docs/s | docs | samples | p50 ms | p95 ms | p99 ms | max ms | "
              "p99 ms without the first 10 % | worker send → arrival p50 ms |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in (1, 2):
        run = e2e.get(f"{n}w_half")
        if run:
            lat = run.get("latency_ms", {})
            lines.append(f"| {n} | {_fmt(run.get('offered_rate'))} | {run.get('accounted')}/{run.get('docs')} | "
                         f"{lat.get('samples')} | {_fmt(lat.get('p50'))} | {_fmt(lat.get('p95'))} | "
                         f"{_fmt(lat.get('p99'))} | {_fmt(lat.get('max'))} | "
                         f"{_fmt(steady_p99(run))} | {_fmt(run.get('delivery_ms_p50'))} |")
    lines += hops_table(e2e)
    lines += cpu_table(st, ch.get("whole_corpus"), e2e)
    lines += ["", "## Ratios and targets", "", "| ratio | value | target | met |", "|---|---:|---:|:---:|"]
    for r in result.get("ratios", []):
        unit = {"ms": " ms", "x": "×"}.get(r["unit"], r["unit"])
        target = "–" if r["target"] is None else (("≤ " if r["lower_is_better"] else "≥ ") + f"{r['target']:g}{unit}")
        value = "–" if r["value"] is None else f"{r['value']:.{0 if r['unit'] == 'ms' else 2}f}{unit}"
        met = {True: "✅", False: "❌", None: "–"}[r["met"]]
        lines.append(f"| {r['ratio']}{' (' + r['note'] + ')' if r['note'] else ''} | {value} | {target} | {met} |")
    lines += ["", "## Processes (peak RSS, CPU)", "", "| process | peak RSS MB | CPU s | during |",
              "|---|---:|---:|---|"]
    drv = result.get("driver", {})
    lines.append(f"| driver (this script) | {_fmt(drv.get('peak_rss_mb'))} | {_fmt(drv.get('cpu_s'))} | whole run |")
    broker = _get(result, "e2e", "broker") or {}
    if broker:
        lines.append(f"| broker JVM (pid {broker.get('pid')}) | {_fmt(broker.get('peak_rss_mb'))} | "
                     f"{_fmt(broker.get('cpu_s_total'))} | all end-to-end runs |")
    for key, run in e2e.items():
        for name, rss in (run.get("peak_rss_mb") or {}).items():
            cpu = _get(run, "meter", "cpu_s", name)
            lines.append(f"| {name} | {_fmt(rss)} | {_fmt(cpu)} | {key} (measured part) |")
        b = _get(run, "meter", "cpu_s", "broker")
        if b is not None:
            lines.append(f"| broker JVM | – | {_fmt(b)} | {key} (measured part) |")
    lines += ["", "Machine load during each phase (`others` = CPU seconds used by processes not ours; "
              "*stolen* = time this virtual machine wanted a CPU and its hypervisor ran another guest):", "",
              "| phase | wall s | our CPU s | others' CPU s | cores left for us | machine busy | stolen | "
              "load avg (1 min) start → end |",
              "|---|---:|---:|---:|---:|---:|---:|---|"]
    phases = dict(result.get("phases", {}))
    for key, run in e2e.items():
        if run.get("meter"):
            phases[f"e2e {key}"] = run["meter"]
    for name, ph in phases.items():
        ours = sum(ph.get("cpu_s", {}).values())
        util = ph.get("machine_utilisation")
        left = m["logical_cpus"] - ph["others_cpu_s"] / ph["wall_s"] if ph.get("wall_s") else None
        lines.append(f"| {name} | {_fmt(ph['wall_s'])} | {_fmt(ours)} | {_fmt(ph['others_cpu_s'])} | "
                     f"{_fmt(left, 2)} of {m['logical_cpus']} | "
                     f"{_fmt(util * 100 if util is not None else None, 0)} % | "
                     f"{_fmt(steal * 100, 1) + ' %' if (steal := ph.get('steal_share')) is not None else '–'} | "
                     f"{ph['load_avg_start'][0]} → {ph['load_avg_end'][0]} |")
    if result.get("profile"):
        spots = result["profile"]["hot_spots"]
        lines += ["", f"## Hot spots (pyinstrument, {result['profile']['docs']} docs through the chain; "
                      f"{result['profile']['text']})", "", "Self time:", "",
                  "| self s | share | function | where |", "|---:|---:|---|---|"]
        for h in spots["self"][:15]:
            lines.append(f"| {h['seconds']:.2f} | {h['share'] * 100:.1f} % | `{h['function']}` | `{h['where']}` |")
        lines += ["", "Inclusive time in services/ (what our code spends, callees included):", "",
                  "| total s | share | function | where |", "|---:|---:|---|---|"]
        for h in spots["inclusive_services"][:20]:
            lines.append(f"| {h['seconds']:.2f} | {h['share'] * 100:.1f} % | `{h['function']}` | `{h['where']}` |")
    return "\n".join(lines) + "\n"


def plot_latency(result: dict[str, Any], path: Path) -> bool:
    runs = {k: v for k, v in (_get(result, "e2e", "runs") or {}).items() if k.endswith("_half") and v.get("series")}
    if not runs:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(11, 5.5))
    colours = {"1w_half": "tab:blue", "2w_half": "tab:orange"}
    for key, run in runs.items():
        series = np.asarray(run["series"])
        order = np.argsort(series[:, 0])
        t, ms = series[order, 0], series[order, 1]
        n = run["workers"]
        ax.scatter(t, ms, s=6, alpha=0.35, color=colours.get(key), label=f"{n} worker(s), each article")
        span = max(2.0, float(t[-1] - t[0]) / 15) if len(t) else 2.0  # a rolling window in seconds
        starts = np.searchsorted(t, t - span, side="right")
        p95 = [np.percentile(ms[lo:i + 1], 95) for i, lo in enumerate(starts)]
        ax.plot(t, p95, color=colours.get(key), linewidth=1.8,
                label=f"{n} worker(s), p95 over the last {span:.0f} s; overall p99 "
                      f"{run['latency_ms']['p99']:.0f} ms at {run['offered_rate']:.1f} docs/s")
    ax.axhline(TARGETS["p99_half_load_ms"], color="red", linestyle="--", linewidth=1, label="target p99 300 ms")
    ax.set_yscale("log")
    ax.set_xlabel("seconds since the first document was published")
    ax.set_ylabel("ingest → news.enriched (ms, log scale)")
    ax.set_title("newsflow end-to-end latency at 50 % of max throughput")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


# ------------------------------------------------------------------------------------------------
# command line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=None, help="documents in the corpus (default 2000; --quick 60)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default bench/results)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 60 documents, 10 s latency runs, short timeouts")
    parser.add_argument("--seed", type=int, default=20260112, help="corpus seed")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the ../shared folder")
    parser.add_argument("--synthetic", action="store_true", help="use the synthetic corpus even if ../shared exists")
    parser.add_argument("--html-share", type=float, default=0.5, help="share of HTML pages in the corpus")
    parser.add_argument("--kafka", default=None,
                        help="bootstrap of a running broker (default: start a local one on a free port)")
    parser.add_argument("--workers", default="1,2", help="worker counts for the end-to-end runs (default 1,2)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="max-throughput rounds (each worker count, order alternating, the chain just "
                             "before and after the 1-worker run); "
                             "ratios are medians over rounds (default 5; --quick 1)")
    parser.add_argument("--load", type=float, default=0.5, help="offered rate for latency, share of max (0.5)")
    parser.add_argument("--latency-seconds", type=float, default=90.0,
                        help="at most this long per latency run: the first rate x seconds documents (default 90)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="give up on an end-to-end run after this")
    parser.add_argument("--worker-cpu", default=None, metavar="SPEC",
                        help="NEWSFLOW_WORKER_CPU for the workers: '' (not pinned), 'auto' (each its own CPU) or a "
                             "number (default: the environment's, else not pinned)")
    parser.add_argument("--worker-loglevel", default="warning", choices=["debug", "info", "warning", "error"],
                        help="log level of the worker processes (logs are kept in <out>/logs/)")
    parser.add_argument("--hops", action="store_true",
                        help="in the latency runs, also read news.cleaned and news.tagged to split each document's "
                             "latency into its hops (a little more work for the broker and the driver)")
    parser.add_argument("--skip", action="append", default=[], choices=["bare", "stages", "chain", "e2e"],
                        help="skip a part (repeatable)")
    parser.add_argument("--profile", action="store_true", help="profile the in-process chain with pyinstrument")
    parser.add_argument("--profile-docs", type=int, default=300, help="documents for the profile (default 300)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--render", type=Path, default=None, metavar="JSON",
                        help="measure nothing: rewrite the Markdown and the plot from a saved pipeline_bench.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.latency_seconds = min(args.latency_seconds, 10.0)
        args.timeout = min(args.timeout, 300.0)
        args.profile_docs = min(args.profile_docs, 40)
        args.rounds = 1
    args.docs = args.docs or (60 if args.quick else 2000)
    if args.out is None and args.render is None:
        args.out = ROOT / "bench" / "results"
    args.workers = [int(w) for w in str(args.workers).split(",") if w.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    progress = Progress(enabled=not args.no_progress)
    if args.render:
        saved = orjson.loads(args.render.read_bytes())
        saved["ratios"] = ratios(saved)
        write_outputs(saved, args.out or args.render.parent, progress)
        return 0
    from services.settings import get_settings

    args.out.mkdir(parents=True, exist_ok=True)
    settings = get_settings()
    sampler = RssSampler()
    sampler.track("driver", os.getpid())
    sampler.start()
    driver_cpu0 = time.process_time()
    result: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine_info(),
        "targets": TARGETS,
        "phases": {},
    }
    corpus = build_corpus(args.docs, args.seed, args.shared, args.html_share, args.synthetic)
    # The corpus is a big long-lived heap: a full collection of it (~100 ms) would stop the
    # driver's publishing and reading and show up as pipeline latency. Workers freeze theirs too.
    gc.collect()
    gc.freeze()
    result["corpus"] = corpus.stats()
    if corpus.source == "synthetic":
        progress.log(f"[yellow]NOTE:[/] {corpus.note}")
    progress.log(f"corpus: {len(corpus.docs)} documents ({corpus.source}): {corpus.stats()['by_kind']}; "
                 f"{result['machine']['logical_cpus']} CPUs, load average {result['machine']['load_avg_at_start']}")

    ip: dict[str, Any] = {}
    result["inprocess"] = ip
    try:
        if "bare" not in args.skip:
            with Meter() as meter:
                both = bench_extraction_vs_chain(settings, corpus, progress)
            ip["bare_trafilatura"] = both.get("bare_trafilatura", {})
            ip.setdefault("chain", {})["html_only"] = both.get("chain_html")
            result["phases"]["bare + chain, HTML (interleaved)"] = meter.result
        for name, fn in (("stages", lambda: bench_stages(settings, corpus, progress)),
                         ("chain", lambda: bench_chain(settings, corpus, progress))):
            if name in args.skip:
                continue
            with Meter() as meter:
                measured = fn()
            ip[name] = {**ip.get(name, {}), **measured}
            result["phases"][name] = meter.result
        if args.profile:
            result["profile"] = profile_chain(settings, corpus, args.profile_docs, args.out, progress)
        if "e2e" not in args.skip:
            result["e2e"] = bench_e2e(settings, corpus, args, sampler, progress)
    except KeyboardInterrupt:
        result["interrupted"] = True
        progress.log("[red]interrupted; writing what was measured[/]")
    finally:
        sampler.stop()
        result["driver"] = {"peak_rss_mb": sampler.peak("driver"), "cpu_s": round(time.process_time() - driver_cpu0, 1)}
        result["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        result["ratios"] = ratios(result)
        write_outputs(result, args.out, progress)
    failed = [k for k, v in (_get(result, "e2e", "runs") or {}).items() if v.get("failure")]
    return 1 if failed or result.get("interrupted") else 0


def write_outputs(result: dict[str, Any], out: Path, progress: Progress) -> None:
    json_path, md_path, png_path = out / "pipeline_bench.json", out / "pipeline_bench.md", out / "latency.png"
    out.mkdir(parents=True, exist_ok=True)
    if plot_latency(result, png_path):
        result["plot"] = str(png_path)
    json_path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    markdown = render_markdown(result)
    md_path.write_text(markdown, encoding="utf-8")
    from rich.markdown import Markdown

    progress.console.print(Markdown(markdown))
    progress.log(f"wrote {json_path}, {md_path}" + (f", {png_path}" if result.get("plot") else ""))


if __name__ == "__main__":
    sys.exit(main())
