"""The soak run: publish at a fixed rate, sample lag / progress / memory, account for every document.

Phases, all in one event loop of the driver:

1. publish `docs` documents at `rate` per second (stopping early if `minutes` run out first);
2. meanwhile, every `interval` seconds, take a `Sample`: consumer-group lag per stage (committed
   offsets of the workers' group against the log end, as `newsflow status` computes it), documents
   published and accounted for (their id reached news.enriched, news.duplicates or news.dlq), and
   the RSS and CPU of each worker, the broker JVM and the driver itself;
3. keep sampling until `minutes` have passed *and* every published document is accounted for (or
   `settle` seconds after the last publish, whichever first);
4. stop the workers, read the terminal topics from the beginning to their end and count what was
   lost (must be 0) and delivered twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

import orjson
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.downstream.log import consumer, partitions, read_to_end
from services.fetcher.files import DocumentReader
from services.kafka.clients import Publisher, TopicReader
from services.kafka.topics import CLEANED, RAW, TAGGED, TERMINAL_TOPICS, ensure_topics
from services.ledger import Ledger
from services.outcomes import Outcome
from services.settings import Settings
from services.sink.routing import wait_for_leaders
from services.up import start_child, stop_worker

# The topic each stage's agent consumes: its lag is that stage's backlog.
STAGE_INPUTS = {"clean": RAW, "tag": CLEANED, "dedup": TAGGED}
MB = 1024 * 1024

WORDS = """
harbour council river bridge school hospital museum railway election budget festival market factory airport
library stadium court police garden tram ferry vineyard orchestra mayor union drought storm research satellite
vaccine tariff pension housing energy transport climate minister parliament verdict strike glacier quarry
cathedral brewery lighthouse observatory monastery orchard fishermen shipyard reservoir aqueduct canal tunnel
highway motorway cyclists pedestrians commuters students teachers nurses farmers miners engineers architects
""".split()


@dataclass
class SoakConfig:
    docs: int = 5000
    rate: float = 20.0
    minutes: float = 5.0
    workers: int = 1
    interval: float = 5.0
    settle: float = 300.0
    seed: int = 7


@dataclass
class Sample:
    t: float  # seconds since the run started
    published: int
    accounted: int
    lag: dict[str, int | None]  # stage -> records waiting (None: could not be read this time)
    rss_mb: dict[str, float | None]  # process label -> resident set size
    cpu_pct: dict[str, float | None]  # process label -> CPU % since the previous sample
    workers_alive: int


@dataclass
class SoakReport:
    run: str
    config: dict[str, Any]
    environment: dict[str, Any]
    bootstrap: str
    own_broker: bool
    docs_requested: int
    published: int
    accounted_for: int
    lost: int
    delivered_twice: int
    redelivered_messages: int
    by_topic: dict[str, int]
    publish_seconds: float
    achieved_rate: float
    drain_seconds: float | None  # last publish → everything accounted for (None: never)
    total_seconds: float
    max_lag: dict[str, int]
    rss_mb: dict[str, dict[str, float | None]]  # label -> {start, end, max, slope_mb_per_min}
    worker_exits: list[dict[str, Any]]
    publish_error: str | None = None
    stopped_early: str | None = None  # why sampling ended before everything was accounted for
    samples: list[Sample] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and not self.worker_exits and self.published > 0 and self.publish_error is None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


# --------------------------------------------------------------------------------------------------
# Documents


def make_document(n: int, rng: random.Random) -> str:
    """A plausible, unique text article of varying length (5–40 sentences, ~0.4–3 KB)."""
    sentences = []
    for _ in range(rng.randint(5, 40)):
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
        sentences.append(" ".join(words).capitalize() + ".")
    return f"Dispatch {n} from the soak desk. " + " ".join(sentences)


# --------------------------------------------------------------------------------------------------
# Sampling


class LagSampler:
    """Lag of one consumer group per stage, on long-lived clients (cheap enough to poll every second)."""

    def __init__(self, settings: Settings, group: str) -> None:
        self.settings, self.group = settings, group
        self.admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, request_timeout_ms=30000,
                                         **settings.kafka_client_options())
        self.client = consumer(settings)
        self.tps: dict[str, list[TopicPartition]] = {}

    async def __aenter__(self) -> LagSampler:
        await self.admin.start()
        await self.client.start()
        for stage, topic in STAGE_INPUTS.items():
            self.tps[stage] = await partitions(self.client, self.settings.topic(topic))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.stop()
        await self.admin.close()

    async def sample(self) -> dict[str, int | None]:
        """Records waiting per stage: log end minus committed offset (minus the log start if never committed)."""
        try:
            committed = await self.admin.list_consumer_group_offsets(self.group)
            every = [tp for tps in self.tps.values() for tp in tps]
            ends = await self.client.end_offsets(every)
            starts = await self.client.beginning_offsets(every)
        except Exception:  # a hiccup costs one data point, not the run
            return dict.fromkeys(self.tps)
        lag: dict[str, int | None] = {}
        for stage, tps in self.tps.items():
            total = 0
            for tp in tps:
                meta = committed.get(tp)
                base = meta.offset if meta is not None and meta.offset >= 0 else starts[tp]
                total += max(ends[tp] - base, 0)
            lag[stage] = total
        return lag


class ProcessSampler:
    """RSS and CPU of labelled processes (psutil; imported here so `--help` works without it)."""

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._procs: dict[str, Any] = {}

    def watch(self, label: str, pid: int | None) -> None:
        if pid is None:
            return
        with contextlib.suppress(self._psutil.Error):
            proc = self._psutil.Process(pid)
            proc.cpu_percent(None)  # first call primes the counter
            self._procs[label] = proc

    @property
    def labels(self) -> list[str]:
        return list(self._procs)

    def sample(self) -> tuple[dict[str, float | None], dict[str, float | None]]:
        rss: dict[str, float | None] = {}
        cpu: dict[str, float | None] = {}
        for label, proc in self._procs.items():
            try:  # the process alone: the driver's children (workers, broker) have their own rows
                with proc.oneshot():
                    rss[label] = round(proc.memory_info().rss / MB, 1)
                    cpu[label] = round(proc.cpu_percent(None), 1)
            except self._psutil.Error:
                rss[label] = cpu[label] = None
        return rss, cpu


def listening_pid(bootstrap: str) -> int | None:
    """The local process listening on the bootstrap port (an external broker's JVM), best effort."""
    try:
        import psutil

        port = int(bootstrap.split(",")[0].rsplit(":", 1)[1])
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return int(conn.pid)
    except Exception:  # AccessDenied, remote host, odd bootstrap: no broker RSS then
        return None
    return None


def slope_per_minute(points: list[tuple[float, float]], min_span: float = 30.0) -> float | None:
    """Least-squares slope (units per minute) of (seconds, value) points; None for < 3 points or < `min_span` s."""
    if len(points) < 3 or points[-1][0] - points[0][0] < min_span:
        return None
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    if var == 0:
        return None
    return round(60.0 * sum((t - mx) * (v - my) for t, v in points) / var, 2)


# --------------------------------------------------------------------------------------------------
# The run


class Soak:
    def __init__(self, base: Settings, config: SoakConfig, out: Path, *, broker_pid: int | None,
                 own_broker: bool, log: Callable[[str], None] = print) -> None:
        self.config, self.out, self.log = config, out, log
        self.run = uuid.uuid4().hex[:8]
        self.settings = base.model_copy(update={
            "topic_prefix": f"soak{self.run}.", "app_id": f"newsflow-soak-{self.run}",
        })
        self.own_broker, self.broker_pid = own_broker, broker_pid
        self.workers: list[Popen[bytes]] = []
        self.worker_homes: list[Path] = []
        self.published_ids: list[str] = []
        self.seen: Counter[str] = Counter()
        self.samples: list[Sample] = []
        self.worker_exits: list[dict[str, Any]] = []
        self.started = time.monotonic()
        self.publish_done: float | None = None
        self.publish_error: BaseException | None = None
        self.all_accounted_at: float | None = None
        self.stopped_early: str | None = None

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 2)

    def accounted(self) -> int:
        return sum(1 for i in self.published_ids if i in self.seen)

    # -- children ---------------------------------------------------------------------------------

    def start_workers(self, procs: ProcessSampler) -> None:
        from services.broker import free_port

        for n in range(1, self.config.workers + 1):
            home = self.out / f"worker-{n}"
            settings = self.settings.model_copy(update={"home": home, "web_port": free_port()})
            worker = start_child(settings, ["worker", "--loglevel", "info"], "worker.log")
            self.workers.append(worker)
            self.worker_homes.append(home)
            procs.watch(f"worker-{n}", worker.pid)
            self.log(f"worker-{n} started (pid {worker.pid}, log {home / 'worker.log'})")

    def check_workers(self) -> int:
        alive = 0
        for n, worker in enumerate(self.workers, start=1):
            code = worker.poll()
            if code is None:
                alive += 1
            elif not any(e["worker"] == n for e in self.worker_exits):
                self.worker_exits.append({"worker": n, "code": code, "t": self.elapsed()})
                self.log(f"worker-{n} exited with code {code} at t={self.elapsed():.0f}s; "
                         f"see {self.worker_homes[n - 1] / 'worker.log'}")
        return alive

    # -- tasks ------------------------------------------------------------------------------------

    async def create_topics(self) -> None:
        """Fresh topics, and wait until their leaders serve (else the first sends log NotLeader retries)."""
        changes = await ensure_topics(self.settings)
        await wait_for_leaders(self.settings, [c.topic for c in changes if c.action == "created"])

    async def publish(self) -> None:
        cfg = self.config
        reader = DocumentReader(self.settings.max_body_bytes, self.settings.max_message_bytes - 65536)
        rng = random.Random(cfg.seed)
        try:
            async with Publisher(self.settings) as publisher:
                start = time.monotonic()
                deadline = start + cfg.minutes * 60.0 + 1.0 / cfg.rate  # N docs at N/60 per second all go out
                for n in range(cfg.docs):
                    if time.monotonic() >= deadline:
                        self.log(f"--minutes reached after {n} of {cfg.docs} documents; publishing stops")
                        break
                    text = make_document(n, rng).encode()
                    outcomes: list[Outcome] = list(
                        reader.read_bytes(text, url=f"soak://{self.run}/doc-{n:06d}", suffix=".txt"))
                    await publisher.publish(outcomes)
                    self.published_ids += [o.key for o in outcomes if o.key]
                    await asyncio.sleep(max(0.0, start + (n + 1) / cfg.rate - time.monotonic()))
        except Exception as exc:  # reported, and the run stops at the next sample
            self.publish_error = exc
            self.log(f"publishing failed after {len(self.published_ids)} documents: {exc!r}")
        finally:
            self.publish_done = time.monotonic()

    async def follow_terminal_topics(self) -> None:
        """Count ids as they reach a terminal topic (progress only; the final count re-reads)."""
        topics = [self.settings.topic(t) for t in TERMINAL_TOPICS]
        async with TopicReader(self.settings) as reader:
            await reader.assign(dict.fromkeys([tp for t in topics for tp in await reader.partitions(t)]))
            async for message in reader.messages(idle_timeout=None):
                for article_id in ids_of(message.record()):
                    self.seen[article_id] += 1

    async def sample_loop(self, lag: LagSampler, procs: ProcessSampler) -> None:
        cfg = self.config
        end_at = self.started + cfg.minutes * 60.0
        caught_up_since: float | None = None  # every stage at lag 0 and no progress since then
        while True:
            alive = self.check_workers()
            rss, cpu = procs.sample()
            sample = Sample(self.elapsed(), len(self.published_ids), self.accounted(), await lag.sample(), rss, cpu,
                            alive)
            self.samples.append(sample)
            self.log(f"t={sample.t:6.0f}s published {sample.published:>6} accounted {sample.accounted:>6} "
                     f"lag {fmt_map(sample.lag)} rss {fmt_map(sample.rss_mb, 'MB')}")
            now = time.monotonic()
            done = self.publish_done is not None and sample.accounted >= sample.published
            if done and self.all_accounted_at is None:
                self.all_accounted_at = now
            previous = self.samples[-2] if len(self.samples) > 1 else None
            idle = (not done and self.publish_done is not None and previous is not None
                    and all(v == 0 for v in sample.lag.values()) and sample.accounted == previous.accounted)
            caught_up_since = (caught_up_since or now) if idle else None
            if caught_up_since is not None and now - caught_up_since >= max(30.0, 3 * cfg.interval):
                self.stopped_early = (f"every stage caught up (lag 0) for {now - caught_up_since:.0f}s with "
                                      f"{sample.published - sample.accounted} document(s) unaccounted: lost")
                self.log(f"{self.stopped_early}; stopping")
                return
            if self.publish_done is not None:
                if done and now >= end_at:
                    return
                if now - self.publish_done > cfg.settle:
                    self.stopped_early = f"not everything accounted for {cfg.settle:.0f}s after the last publish"
                    self.log(f"{self.stopped_early}; stopping")
                    return
            if alive == 0:
                self.stopped_early = "no worker left (unaccounted documents were never processed)"
                self.log(f"{self.stopped_early}; stopping")
                return
            if self.publish_error is not None:
                self.stopped_early = "publishing failed"
                return
            await asyncio.sleep(cfg.interval)

    async def drive(self, procs: ProcessSampler) -> None:
        async with LagSampler(self.settings, self.settings.app_id) as lag:
            follower = asyncio.create_task(self.follow_terminal_topics())
            publisher = asyncio.create_task(self.publish())
            try:
                await self.sample_loop(lag, procs)
            finally:
                for task in (publisher, follower):
                    task.cancel()
                await asyncio.gather(publisher, follower, return_exceptions=True)

    async def final_count(self) -> list[tuple[str, Any]]:
        """Every terminal record of this run, from the oldest to the end *now*: (logical topic, record)."""
        out: list[tuple[str, Any]] = []
        logical = {self.settings.topic(t): t for t in TERMINAL_TOPICS}
        async for tp, record in read_to_end(self.settings, list(logical)):
            try:
                value = orjson.loads(record.value) if record.value else None
            except orjson.JSONDecodeError:
                value = None
            out.append((logical[tp.topic], value))
        return out

    def execute(self) -> SoakReport:
        cfg = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        asyncio.run(self.create_topics())
        procs = ProcessSampler()
        procs.watch("broker", self.broker_pid)
        procs.watch("driver", os.getpid())
        self.log(f"run {self.run}: {cfg.docs} docs at {cfg.rate}/s for up to {cfg.minutes} min, "
                 f"{cfg.workers} worker(s), topics {self.settings.topic_prefix}*, broker {self.settings.kafka}")
        self.started = time.monotonic()
        self.start_workers(procs)
        try:
            asyncio.run(self.drive(procs))
        finally:
            for worker in self.workers:
                stop_worker(worker)
        return self.report(asyncio.run(self.final_count()))

    def report(self, terminal: list[tuple[str, Any]]) -> SoakReport:
        """Account with the project's `Ledger` (multi-story pages count when all their parts arrived)."""
        cfg = self.config
        expected = set(self.published_ids)
        ledger = Ledger.of(expected)
        copies: Counter[tuple[str, str]] = Counter()  # (document id, record id) -> copies received
        by_topic: Counter[str] = Counter()
        for topic, record in terminal:
            by_topic[topic] += 1
            if ledger.observe(topic, record):
                parent = record.get("parent_id")
                owner = parent if parent in expected and parent != record.get("id") else record.get("id")
                copies[(owner, record.get("id"))] += 1
        twice = {owner for (owner, _), n in copies.items() if n > 1}
        accounted = len(expected) - len(ledger.pending)
        publish_seconds = round((self.publish_done or time.monotonic()) - self.started, 1)
        max_lag: dict[str, int] = {}
        for s in self.samples:
            for stage, value in s.lag.items():
                if value is not None:
                    max_lag[stage] = max(max_lag.get(stage, 0), value)
        rss: dict[str, dict[str, float | None]] = {}
        for label in dict.fromkeys(label for s in self.samples for label in s.rss_mb):
            points = [(s.t, v) for s in self.samples if (v := s.rss_mb.get(label)) is not None]
            warm = [p for p in points if p[0] >= points[-1][0] * 0.25] if points else []  # skip start-up
            rss[label] = {
                "start": points[0][1] if points else None,
                "end": points[-1][1] if points else None,
                "max": max(v for _, v in points) if points else None,
                "slope_mb_per_min": slope_per_minute(warm),
            }
        drain = None
        if self.all_accounted_at is not None and self.publish_done is not None:
            drain = round(max(self.all_accounted_at - self.publish_done, 0.0), 1)
        return SoakReport(
            run=self.run, config=asdict(cfg), environment=environment(), bootstrap=self.settings.kafka,
            own_broker=self.own_broker, docs_requested=cfg.docs, published=len(expected), accounted_for=accounted,
            lost=len(expected) - accounted, delivered_twice=len(twice),
            redelivered_messages=sum(n - 1 for n in copies.values() if n > 1), by_topic=dict(by_topic),
            publish_seconds=publish_seconds,
            achieved_rate=round(len(expected) / publish_seconds, 2) if publish_seconds else 0.0,
            drain_seconds=drain, total_seconds=round(time.monotonic() - self.started, 1), max_lag=max_lag,
            rss_mb=rss, worker_exits=self.worker_exits,
            publish_error=repr(self.publish_error) if self.publish_error else None,
            stopped_early=self.stopped_early, samples=self.samples,
        )


def ids_of(record: Any) -> list[str]:
    """Ids a terminal record stands for: its own, and its page's (progress only: the report uses Ledger)."""
    if not isinstance(record, dict):
        return []
    out = [record["id"]] if isinstance(record.get("id"), str) else []
    if isinstance(record.get("parent_id"), str) and record["parent_id"] not in out:
        out.append(record["parent_id"])
    return out


def fmt_map(values: dict[str, Any], unit: str = "") -> str:
    return " ".join(f"{k}={'?' if v is None else v}{unit}" for k, v in values.items())


def environment() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    from services.broker import kafka_version

    versions = {}
    for package in ("faust-streaming", "aiokafka", "newsflow"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "kafka": kafka_version(), **versions}
