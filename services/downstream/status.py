"""`newsflow status`: consumer lag per group, topic and partition, and the DLQ by reason.

Why: lag is the one number that says whether the workers keep up (and whether a stopped worker has
work waiting); the DLQ by reason says what to fix before a re-drive. Lag is computed as Kafka's
`kafka-consumer-groups --describe` does: log end offset minus the group's committed offset. A
partition of a topic the group reads but has never committed on counts everything still retained
(the group starts there: `auto.offset.reset=earliest`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient

from services.downstream.log import consumer, partitions, read_to_end
from services.kafka.topics import DLQ
from services.settings import Settings


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str  # physical name
    partition: int
    committed: int | None  # None: the group never committed here
    end: int
    lag: int


@dataclass
class GroupStatus:
    group: str
    state: str = "unknown"
    members: int = 0
    partitions: list[PartitionLag] = field(default_factory=list)

    @property
    def lag(self) -> int:
        return sum(p.lag for p in self.partitions)

    def lag_by_topic(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for p in self.partitions:
            out[p.topic] += p.lag
        return dict(out)


@dataclass
class Status:
    groups: list[GroupStatus] = field(default_factory=list)
    dlq: Counter[tuple[str, str]] = field(default_factory=Counter)  # (stage, reason) -> letters
    dlq_read: bool = False

    def group(self, name: str) -> GroupStatus | None:
        return next((g for g in self.groups if g.group == name), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "groups": [
                {"group": g.group, "state": g.state, "members": g.members, "lag": g.lag,
                 "partitions": [vars_of(p) for p in g.partitions]}
                for g in self.groups
            ],
            "dlq": [{"stage": s, "reason": r, "count": n} for (s, r), n in sorted(self.dlq.items())],
        }


def vars_of(p: PartitionLag) -> dict[str, Any]:
    return {"topic": p.topic, "partition": p.partition, "committed": p.committed, "end": p.end, "lag": p.lag}


async def collect_status(settings: Settings, groups: list[str] | None = None, all_topics: bool = False,
                         with_dlq: bool = True) -> Status:
    """Lag of `groups` (default: every group with offsets on this deployment's topics) and DLQ counts.

    "This deployment's topics" are those named `<topic_prefix>news.*`; `all_topics` shows any.
    """
    prefix = settings.topic("news.")
    status = Status()
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, request_timeout_ms=30000,
                                **settings.kafka_client_options())
    client = consumer(settings)
    await admin.start()
    await client.start()
    try:
        names = groups or sorted({str(g[0]) for g in await admin.list_consumer_groups()})
        described = await _describe(admin, names)
        for name in names:
            offsets = await admin.list_consumer_group_offsets(name)
            mine = {tp: meta.offset for tp, meta in offsets.items() if all_topics or tp.topic.startswith(prefix)}
            if not mine and not groups:
                continue
            tps = [tp for topic in sorted({tp.topic for tp in mine}) for tp in await partitions(client, topic)]
            ends = await client.end_offsets(tps) if tps else {}
            beginnings = await client.beginning_offsets(tps) if tps else {}
            state, members = described.get(name, ("unknown", 0))
            group = GroupStatus(name, state, members)
            for tp in tps:
                committed = mine.get(tp)
                committed = committed if committed is not None and committed >= 0 else None
                base = committed if committed is not None else beginnings[tp]
                group.partitions.append(PartitionLag(tp.topic, tp.partition, committed, ends[tp],
                                                     max(ends[tp] - base, 0)))
            status.groups.append(group)
        if with_dlq:
            status.dlq = await count_dead_letters(settings)
            status.dlq_read = True
    finally:
        await client.stop()
        await admin.close()
    return status


async def _describe(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, tuple[str, int]]:
    """Group state (Stable, Empty, ...) and member count; best effort.

    One group per request: aiokafka 0.14 fails to decode a DescribeGroups response for several
    groups from Kafka 4.1 ("Buffer underrun decoding string", seen with 5+ groups).
    """
    out: dict[str, tuple[str, int]] = {}
    for name in names:
        try:
            responses = await admin.describe_consumer_groups([name])
        except Exception:  # state is a nicety; lag is what matters
            continue
        for response in responses:
            for group in getattr(response, "groups", ()):
                # (error_code, group_id, group_state, protocol_type, protocol, members, ...)
                out[str(group[1])] = (str(group[2]), len(group[5]))
    return out


async def count_dead_letters(settings: Settings, topic: str = DLQ) -> Counter[tuple[str, str]]:
    """Letters on the DLQ by (stage, reason), from the oldest retained to the current end."""
    counts: Counter[tuple[str, str]] = Counter()
    async for _, record in read_to_end(settings, [settings.topic(topic)]):
        counts[letter_class(record.value)] += 1
    return counts


def letter_class(value: bytes | None) -> tuple[str, str]:
    try:
        letter = orjson.loads(value or b"null")
    except orjson.JSONDecodeError:
        return ("?", "unreadable letter")
    if not isinstance(letter, dict):
        return ("?", "unreadable letter")
    return (str(letter.get("stage", "?")), str(letter.get("reason", "?")))


def render(status: Status, settings: Settings) -> list[str]:
    """Plain-text tables (they also read well in logs and CI output)."""
    lines: list[str] = []
    if not status.groups:
        lines.append("no consumer group has offsets on these topics yet")
    for group in status.groups:
        # a replay's group keeps its last position: afterwards its lag counts records written since it ran
        kind = "  (replay progress)" if group.group.startswith(f"{settings.app_id}-replay-") else ""
        lines.append(f"group {group.group}{kind}  state {group.state}  members {group.members}  total lag {group.lag}")
        lines.append(f"  {'topic':<40} {'part':>4} {'committed':>10} {'end':>10} {'lag':>8}")
        for p in group.partitions:
            committed = "-" if p.committed is None else str(p.committed)
            lines.append(f"  {p.topic:<40} {p.partition:>4} {committed:>10} {p.end:>10} {p.lag:>8}")
    if status.dlq_read:
        total = sum(status.dlq.values())
        lines.append(f"dead letters on {settings.topic(DLQ)}: {total}")
        for (stage, reason), count in sorted(status.dlq.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {count:>8}  {stage:<8} {reason}")
    return lines
