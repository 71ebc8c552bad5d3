"""`newsflow tail`: a topic's records as JSON lines on stdout."""

from __future__ import annotations

import sys

from services.kafka.clients import TopicReader
from services.settings import Settings


async def tail_topic(settings: Settings, topic: str, from_beginning: bool, group: str | None,
                     max_records: int | None, idle_timeout: float | None) -> int:
    """Print records of `topic` (a logical name like news.enriched); returns how many were printed."""
    physical = settings.topic(topic)
    printed = 0
    async with TopicReader(settings, group=group) as reader:
        if group:
            reader.subscribe([physical])
        else:
            start: dict = (
                dict.fromkeys(await reader.partitions(physical))
                if from_beginning
                else await reader.end_offsets([physical])
            )
            await reader.assign(start)
        out = sys.stdout.buffer
        async for message in reader.messages(idle_timeout=idle_timeout):
            out.write((message.value or b"null") + b"\n")
            out.flush()
            printed += 1
            if max_records is not None and printed >= max_records:
                break
    return printed
