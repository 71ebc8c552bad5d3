"""`newsflow ingest`: read documents and publish them, with a progress bar and a summary."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from services.fetcher.files import DocumentReader, total_bytes
from services.fetcher.progress import IngestProgress
from services.kafka.clients import Publisher
from services.kafka.topics import DLQ
from services.outcomes import Outcome
from services.settings import Settings


@dataclass
class IngestReport:
    raw: int = 0
    dead: int = 0
    ids: list[str] = field(default_factory=list)


def reader_for(settings: Settings) -> DocumentReader:
    # A dead letter must fit in one message with its envelope.
    return DocumentReader(settings.max_body_bytes, settings.max_message_bytes - 65536)


async def ingest_paths(settings: Settings, paths: list[str | Path], show_progress: bool = True,
                       show_summary: bool = False) -> IngestReport:
    """Publish every document under `paths`; return counts and the ids to wait for."""
    report = IngestReport()

    def counted(outcomes: Iterator[Outcome]) -> Iterator[Outcome]:
        for outcome in outcomes:
            if outcome.topic == DLQ:
                report.dead += 1
            else:
                report.raw += 1
            if outcome.key:
                report.ids.append(outcome.key)
            yield outcome

    bar = IngestProgress(total_bytes(paths), enabled=show_progress)
    reader = reader_for(settings)
    reader.progress = bar.bytes_read
    async with Publisher(settings) as publisher:
        with bar:
            await publisher.publish(counted(bar.track(reader.read(paths))))
    if show_progress and show_summary:
        bar.print_summary()
    return report
