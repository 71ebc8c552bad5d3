"""`newsflow tail`: a topic's records as JSON lines on stdout."""

from __future__ import annotations

import sys

import orjson

from services.downstream.filters import RecordFilter
from services.kafka.clients import TopicReader
from services.settings import Settings


async def tail_topic(settings: Settings, topic: str, from_beginning: bool, group: str | None,
                     max_records: int | None, idle_timeout: float | None,
                     record_filter: RecordFilter | None = None) -> int:
    """Print records of `topic` (a logical name like news.enriched); returns how many were printed.

    Starts at the end (new records only), at the oldest record (`from_beginning`), or at the
    filter's `since` time; records the filter rejects are skipped.
    """
    record_filter = record_filter if record_filter is not None and record_filter.active else None
    physical = settings.topic(topic)
    printed = 0
    async with TopicReader(settings, group=group) as reader:
        if group:
            reader.subscribe([physical])
        else:
            if from_beginning:
                start: dict = dict.fromkeys(await reader.partitions(physical))
            elif record_filter is not None and record_filter.since_ms is not None:
                start = await reader.offsets_for_time([physical], record_filter.since_ms)
            else:
                start = await reader.end_offsets([physical])
            await reader.assign(start)
        out = sys.stdout.buffer
        async for message in reader.messages(idle_timeout=idle_timeout):
            if record_filter is not None:
                try:
                    record = orjson.loads(message.value) if message.value else None
                except orjson.JSONDecodeError:
                    record = None
                if not record_filter.matches(record, message.timestamp_ms):
                    continue
            out.write((message.value or b"null") + b"\n")
            out.flush()
            printed += 1
            if max_records is not None and printed >= max_records:
                break
    return printed
