"""`newsflow replay`: re-run the current stages over a range of `news.raw` (a backfill).

Why in-process: a replay reads exactly the range `[from, to)` of the log (a consumer group can only
be rewound, never told where to stop), runs the very step classes the agents run (`CleanStep`,
`TagStep`, `DedupStep` from `services.pipeline`), and publishes only what leaves the pipeline
(`news.enriched`, `news.duplicates`, `news.dlq` and the routing topics). The live worker and its
consumer group are never touched, and intermediate topics get no second copy.

Two targets:

* `--into live` (in place): the same output topics. Ids and keys are those of the first pass, so
  consumers upsert. Each id keeps the dedup verdict of its first pass (read back from
  `news.enriched`/`news.duplicates`), so no id moves between topics and nothing becomes a
  duplicate of its own first pass; ids without a first pass get a fresh verdict.
* `--into v2` (any version name): `<topic>.v2` for every output (`news.enriched.v2`,
  `news.topic.politics.v2`, ...). Live topics stay byte-identical. Verdicts are recomputed by
  the current dedup code over the range, in event order.

Order: partitions are merged by message timestamp (then partition, offset), the closest
deterministic stand-in for the order the live dedup stage saw. Event-time fields
(`published_at`, `fetched_at`, `ingested_at`) are carried unchanged; every record gets
`provenance.raw` (partition, offset) and `provenance.replay` ({run, into, at}).

Progress is committed to the consumer group `<app_id>-replay-<into>` (manual assignment, no
rebalancing), so `newsflow status` and Kafka's ConsumerGroupCommand can watch a long replay.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.dedup.core import Deduplicator
from services.downstream.log import consumer, partitions, read_ranges, read_to_end, timestamp_at
from services.downstream.ranges import Position, resolve
from services.kafka.clients import Publisher
from services.kafka.topics import CLEANED, DUPLICATES, ENRICHED, RAW, STORIES, TAGGED, TERMINAL_TOPICS
from services.outcomes import Outcome
from services.pipeline import CleanStep, DedupStep, TagStep
from services.records import DedupVerdict, now_iso
from services.settings import Settings
from services.sink.routing import TopicEnsurer, slugify

LIVE = "live"
KEEP, RECOMPUTE = "keep", "recompute"
SOURCE_TOPICS = (RAW, CLEANED, TAGGED)  # a replay may start at any stage's input
CHUNK = 256
# First-pass outputs are written after their raw record: read verdicts from this long before it.
VERDICT_SLACK_MS = 10 * 60 * 1000


def version_name(into: str) -> str:
    """`live`, or a version suffix safe in a topic name (`v2`, `2026-11-fix`)."""
    if into == LIVE:
        return LIVE
    name = slugify(into)
    if not name or name != into.lower():
        raise ValueError(f"--into {into!r}: use `live` or a version made of [a-z0-9_-], e.g. v2")
    return name


@dataclass(frozen=True, slots=True)
class PartitionRange:
    """Offsets `[start, stop)` of one partition; timestamps of its first and last record."""

    topic: str  # logical name (news.raw)
    partition: int
    start: int
    stop: int
    first_ms: int | None = None
    last_ms: int | None = None

    @property
    def count(self) -> int:
        return max(self.stop - self.start, 0)


@dataclass
class ReplayPlan:
    """What a replay will read and where it will write."""

    ranges: list[PartitionRange]
    into: str = LIVE
    verdicts: str = KEEP
    source: str = ""  # the --from/--to as given, for the dry-run print

    @property
    def total(self) -> int:
        return sum(r.count for r in self.ranges)

    @property
    def first_ms(self) -> int | None:
        times = [r.first_ms for r in self.ranges if r.count and r.first_ms is not None]
        return min(times) if times else None

    def output(self, topic: str) -> str:
        """Where a live topic's records go in this replay (`news.enriched` or `news.enriched.v2`)."""
        return topic if self.into == LIVE else f"{topic}.{self.into}"

    def describe(self) -> list[str]:
        """The dry-run print: per partition what would be read, then where it would go."""
        lines = [f"replay {self.source}: {self.total} record(s) into {self.into} (dedup verdicts: {self.verdicts})"]
        for r in self.ranges:
            span = ""
            if r.count and r.first_ms is not None and r.last_ms is not None:
                span = f"  written {_iso(r.first_ms)} … {_iso(r.last_ms)}"
            lines.append(f"  {r.topic}[{r.partition}] offsets {r.start}…{r.stop - 1 if r.count else r.start}"
                         f" ({r.count}){span}")
        outputs = ", ".join(self.output(t) for t in TERMINAL_TOPICS)
        routes = "news.topic.*, news.lang.*, news.user.*" + ("" if self.into == LIVE else f" with .{self.into}")
        lines.append(f"  outputs: {outputs}; routing topics {routes}")
        return lines


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


async def plan_replay(settings: Settings, start: Position, stop: Position | None = None,
                      topics: Iterable[str] = (RAW,), into: str = LIVE, verdicts: str | None = None) -> ReplayPlan:
    """Resolve `--from`/`--to` to offsets `[start, stop)` on each partition of the source topics.

    `to` defaults to the end of the log *now*, so a replay is bounded even while fetchers write.
    Offsets given per partition (`2:1200`) limit the replay to those partitions.
    """
    stop = stop or Position("end")
    into = version_name(into)
    verdicts = verdicts or (KEEP if into == LIVE else RECOMPUTE)
    if verdicts not in (KEEP, RECOMPUTE):
        raise ValueError(f"verdicts must be {KEEP} or {RECOMPUTE}, not {verdicts!r}")
    for topic in topics:
        if topic not in SOURCE_TOPICS:
            raise ValueError(f"cannot replay {topic!r}: choose from {', '.join(SOURCE_TOPICS)}")
    only = start.partitions or stop.partitions
    ranges: list[PartitionRange] = []
    client = consumer(settings)
    await client.start()
    try:
        for topic in topics:
            tps = [tp for tp in await partitions(client, settings.topic(topic)) if only is None or tp.partition in only]
            if not tps:
                continue
            beginnings = await client.beginning_offsets(tps)
            ends = await client.end_offsets(tps)
            starts = await resolve(client, tps, start, beginnings, ends)
            stops = await resolve(client, tps, stop, beginnings, ends)
            for tp in tps:
                first, last = starts[tp], max(stops[tp], starts[tp])
                first_ms = await timestamp_at(client, tp, first) if last > first else None
                last_ms = await timestamp_at(client, tp, last - 1) if last > first else None
                ranges.append(PartitionRange(topic, tp.partition, first, last, first_ms, last_ms))
    finally:
        await client.stop()
    source = f"--from {start.describe()} --to {stop.describe()} of {', '.join(topics)}"
    return ReplayPlan(ranges, into, verdicts, source)


class KeptVerdicts(Deduplicator):
    """A Deduplicator that answers an id seen before with its first-pass verdict.

    Why: consumers upsert by id, so an in-place replay must put every id back on the topic it was
    on (`news.enriched` or `news.duplicates`). Every article is still checked, so the index holds
    the replayed texts and ids *without* a first pass get real verdicts against them; those are
    pointed at the first pass's canonical article and story where the two disagree.
    """

    def __init__(self, prior: dict[str, DedupVerdict], near_dup_threshold: float = 0.5,
                 story_window_days: float = 3.0) -> None:
        super().__init__(near_dup_threshold=near_dup_threshold, story_window_days=story_window_days)
        self.prior = prior
        self.kept = 0
        self._story_alias: dict[str, str] = {}

    def check(self, article: dict[str, Any]) -> DedupVerdict:
        fresh = super().check(article)
        before = self.prior.get(article.get("id"))  # type: ignore[arg-type]
        if before is not None:
            self.kept += 1
            if fresh["story_id"] != before["story_id"]:
                self._story_alias.setdefault(fresh["story_id"], before["story_id"])
            return DedupVerdict(**before)
        verdict = DedupVerdict(**fresh)
        verdict["story_id"] = self._story_alias.get(fresh["story_id"], fresh["story_id"])
        root = self.prior.get(fresh["duplicate_of"]) if fresh["duplicate_of"] else None
        if root is not None and root["duplicate_of"]:
            verdict["duplicate_of"] = root["duplicate_of"]
        return verdict


async def read_verdicts(settings: Settings, since_ms: int | None) -> dict[str, DedupVerdict]:
    """The newest dedup verdict per id on the live `news.enriched` and `news.duplicates`."""
    newest: dict[str, tuple[int, DedupVerdict]] = {}
    async for _, record in read_to_end(settings, [settings.topic(ENRICHED), settings.topic(DUPLICATES)], since_ms):
        try:
            value = orjson.loads(record.value or b"null")
        except orjson.JSONDecodeError:
            continue
        if not isinstance(value, dict) or not isinstance(value.get("id"), str):
            continue
        verdict = value.get("dedup")
        if isinstance(verdict, dict) and {"status", "duplicate_of", "story_id", "similarity"} <= set(verdict):
            old = newest.get(value["id"])
            if old is None or record.timestamp >= old[0]:
                newest[value["id"]] = (record.timestamp, DedupVerdict(
                    status=verdict["status"], duplicate_of=verdict["duplicate_of"],
                    story_id=verdict["story_id"], similarity=verdict["similarity"]))
    return {article_id: verdict for article_id, (_, verdict) in newest.items()}


@dataclass
class ReplayReport:
    """What a replay did: records read, outcomes per output topic, and the ids per terminal topic."""

    run: str
    into: str
    read: int = 0
    published: Counter[str] = field(default_factory=Counter)
    ids: dict[str, set[str]] = field(default_factory=lambda: {t: set() for t in TERMINAL_TOPICS})
    kept_verdicts: int = 0
    elapsed_s: float = 0.0

    def summary(self) -> str:
        terminal = ", ".join(f"{self.published[t]} → {t}" for t in TERMINAL_TOPICS)
        routed = sum(n for t, n in self.published.items() if t not in (*TERMINAL_TOPICS, STORIES))
        rate = self.read / self.elapsed_s if self.elapsed_s else 0.0
        return (f"replayed {self.read} record(s) into {self.into} in {self.elapsed_s:.1f}s ({rate:.0f}/s): "
                f"{terminal}; {routed} routing cop{'y' if routed == 1 else 'ies'}; "
                f"{self.published[STORIES]} story event(s)"
                + (f"; {self.kept_verdicts} first-pass verdict(s) kept" if self.kept_verdicts else ""))


class Replayer:
    """Runs the stage steps over records read from the log and maps their outcomes to the target."""

    def __init__(self, settings: Settings, plan: ReplayPlan, prior: dict[str, DedupVerdict] | None = None,
                 run: str | None = None) -> None:
        self.settings, self.plan = settings, plan
        self.run = run or f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}"
        self.info = {"run": self.run, "into": plan.into, "at": now_iso()}
        self.clean, self.tag = CleanStep(settings), TagStep(settings)
        if plan.verdicts == KEEP:
            self.deduplicator: Deduplicator = KeptVerdicts(prior or {}, settings.near_dup_threshold,
                                                           settings.story_window_days)
        else:
            self.deduplicator = Deduplicator(near_dup_threshold=settings.near_dup_threshold,
                                             story_window_days=settings.story_window_days)
        self.dedup = DedupStep(settings, deduplicator=self.deduplicator)
        # One thread for the stage cores: trafilatura is not thread-safe, and a replay has no
        # latency to keep low (the worker runs clean on a thread of its own, services/stage_thread.py).
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsflow-replay")

    def process(self, chunk: list[tuple[str, ConsumerRecord]]) -> list[Outcome]:
        """Records (logical source topic, Kafka record) in order → outcomes for the target topics."""
        items: list[Outcome | tuple[str, bytes]] = []
        for topic, record in chunk:
            payload = record.value or b""
            if topic == RAW:
                context = {"raw": {"partition": record.partition, "offset": record.offset}, "replay": self.info}
                items += [(CLEANED, o.value()) if o.topic == CLEANED else o for o in self.clean(payload, context)]
            else:
                items.append((topic, self._stamp(payload)))
        to_tag = [item[1] for item in items if isinstance(item, tuple) and item[0] == CLEANED]
        tagged = iter(self.tag(to_tag) if to_tag else ())
        outcomes: list[Outcome] = []
        for item in items:
            if isinstance(item, Outcome):
                outcomes.append(item)
                continue
            topic, payload = item
            if topic == CLEANED:
                tag_outcome = next(tagged)
                if tag_outcome.topic != TAGGED:
                    outcomes.append(tag_outcome)
                    continue
                payload = tag_outcome.value()
            outcomes += self.dedup(payload)
        return [self._target(o) for o in outcomes]

    def _stamp(self, payload: bytes) -> bytes:
        """Replay provenance on a record entering after the clean stage (left alone if unreadable)."""
        try:
            record = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return payload
        if not isinstance(record, dict):
            return payload
        provenance = record.get("provenance")
        record["provenance"] = {**(provenance if isinstance(provenance, dict) else {}), "replay": self.info}
        return orjson.dumps(record)

    def _target(self, outcome: Outcome) -> Outcome:
        headers = {**outcome.headers, "replay": self.run.encode()}
        if self.plan.into != LIVE:
            headers["schema"] = dict(outcome.kafka_headers())["schema"]  # the suffixed name is not in the table
        return Outcome(self.plan.output(outcome.topic), outcome.key, outcome.record, headers)

    @property
    def kept(self) -> int:
        return self.deduplicator.kept if isinstance(self.deduplicator, KeptVerdicts) else 0


async def run_replay(settings: Settings, plan: ReplayPlan, show_progress: bool = True,
                     run: str | None = None) -> ReplayReport:
    """Read the plan's ranges in event order, run the stages, publish, commit progress; return counts."""
    started = time.monotonic()
    prior: dict[str, DedupVerdict] = {}
    if plan.verdicts == KEEP and plan.total:
        first = plan.first_ms
        prior = await read_verdicts(settings, None if first is None else first - VERDICT_SLACK_MS)
    replayer = Replayer(settings, plan, prior, run)
    report = ReplayReport(run=replayer.run, into=plan.into)
    todo = [r for r in plan.ranges if r.count]
    if not todo:
        report.elapsed_s = time.monotonic() - started
        return report
    ensurer = TopicEnsurer(settings)
    logical = {settings.topic(r.topic): r.topic for r in todo}
    stops = {TopicPartition(settings.topic(r.topic), r.partition): r.stop for r in todo}
    client = consumer(settings, group=f"{settings.app_id}-replay-{plan.into}")
    progress = Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=Console(stderr=True), disable=not show_progress, transient=False)
    await client.start()
    try:
        client.assign(list(stops))
        for r in todo:
            client.seek(TopicPartition(settings.topic(r.topic), r.partition), r.start)
        async with Publisher(settings) as publisher:
            with progress:
                bar = progress.add_task("replay", total=plan.total)
                chunk: list[tuple[str, ConsumerRecord]] = []
                positions: dict[TopicPartition, int] = {}
                async for tp, record in read_ranges(client, stops):
                    chunk.append((logical[tp.topic], record))
                    positions[tp] = record.offset + 1
                    if len(chunk) >= CHUNK:
                        await _flush(replayer, chunk, ensurer, publisher, report)
                        await client.commit(dict(positions))
                        progress.advance(bar, len(chunk))
                        chunk = []
                if chunk:
                    await _flush(replayer, chunk, ensurer, publisher, report)
                    progress.advance(bar, len(chunk))
                if positions:
                    await client.commit(dict(positions))
    finally:
        await client.stop()
        replayer.executor.shutdown(wait=False)
    report.kept_verdicts = replayer.kept
    report.elapsed_s = time.monotonic() - started
    return report


async def _flush(replayer: Replayer, chunk: list[tuple[str, ConsumerRecord]], ensurer: TopicEnsurer,
                 publisher: Publisher, report: ReplayReport) -> None:
    """Process one chunk off the event loop (on the replay's one stage thread), create the derived
    topics it needs (routing, versioned), publish, and count."""
    outcomes = await asyncio.get_running_loop().run_in_executor(replayer.executor, replayer.process, chunk)
    await ensurer.ensure({o.topic for o in outcomes} - ensurer.specs.keys())
    await publisher.publish(outcomes)
    report.read += len(chunk)
    suffix = "" if replayer.plan.into == LIVE else f".{replayer.plan.into}"
    for outcome in outcomes:
        topic = outcome.topic.removesuffix(suffix) if suffix else outcome.topic
        report.published[topic] += 1
        if topic in report.ids and outcome.key:
            report.ids[topic].add(outcome.key)
