"""Positions in a topic as people write them: `2h`, `2026-11-20T08:00Z`, `1200`, `2:1200,3:90`.

Why one parser: `replay --from/--to`, `tail --since` and `dlq redrive --since` accept the same
spellings, and each resolves them against the log the same way Kafka's own tools do (a time means
"the first offset whose timestamp is at or after it", like `kafka-consumer-groups --to-datetime`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)$", re.IGNORECASE)
_UNIT_S = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_PER_PARTITION = re.compile(r"^\d+:\d+(,\d+:\d+)*$")


@dataclass(frozen=True, slots=True)
class Position:
    """A point in a topic: the beginning, the end, a time (epoch ms) or offsets.

    `offsets` maps partition -> offset; `all_offset` is one offset for every partition.
    """

    kind: str  # "beginning" | "end" | "time" | "offset"
    time_ms: int | None = None
    all_offset: int | None = None
    offsets: tuple[tuple[int, int], ...] = ()

    def describe(self) -> str:
        if self.kind == "time" and self.time_ms is not None:
            return datetime.fromtimestamp(self.time_ms / 1000, UTC).isoformat(timespec="seconds")
        if self.kind == "offset":
            return str(self.all_offset) if self.all_offset is not None else \
                ",".join(f"{p}:{o}" for p, o in self.offsets)
        return self.kind

    @property
    def partitions(self) -> set[int] | None:
        """The partitions this position names (None: it applies to all)."""
        return {p for p, _ in self.offsets} if self.offsets else None


def parse_time(text: str, now_ms: int | None = None) -> int:
    """Epoch ms from a duration ago (`90s`, `30m`, `2h`, `7d`, `1w`) or an ISO 8601 date/time (naive = UTC)."""
    text = text.strip()
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    match = _DURATION.match(text)
    if match:
        return now_ms - int(float(match[1]) * _UNIT_S[match[2].lower()] * 1000)
    try:
        dt = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (try 2h, 30m, 7d or 2026-11-20T08:00:00Z)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def parse_position(text: str, now_ms: int | None = None) -> Position:
    """`beginning`|`end`, an offset (`1200`, `@1200`), offsets per partition (`0:10,2:1200`) or a time."""
    value = text.strip()
    lowered = value.lower()
    if lowered in ("beginning", "earliest", "start"):
        return Position("beginning")
    if lowered in ("end", "latest", "now"):
        return Position("end")
    if re.fullmatch(r"@?\d+", value):  # a bare number is an offset; write dates as 2026-11-20
        return Position("offset", all_offset=int(value.lstrip("@")))
    if _PER_PARTITION.match(value):
        pairs = tuple(sorted((int(p), int(o)) for p, o in (part.split(":") for part in value.split(","))))
        return Position("offset", offsets=pairs)
    return Position("time", time_ms=parse_time(value, now_ms))


async def resolve(consumer: AIOKafkaConsumer, tps: list[TopicPartition], position: Position,
                  beginnings: dict[TopicPartition, int], ends: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    """Offsets for `position` on each partition, clamped to what the log holds.

    A time past the last record resolves to the end offset (nothing to read), as in Kafka's tools.
    """
    out: dict[TopicPartition, int] = {}
    if position.kind == "time":
        found = await consumer.offsets_for_times({tp: position.time_ms for tp in tps})
        for tp in tps:
            hit = found.get(tp)
            out[tp] = hit.offset if hit is not None else ends[tp]
    for tp in tps:
        if position.kind == "beginning":
            out[tp] = beginnings[tp]
        elif position.kind == "end":
            out[tp] = ends[tp]
        elif position.kind == "offset":
            wanted = position.all_offset if position.all_offset is not None else dict(position.offsets).get(
                tp.partition, beginnings[tp])
            out[tp] = wanted
        out[tp] = min(max(out[tp], beginnings[tp]), ends[tp])
    return out
