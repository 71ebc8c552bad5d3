"""`newsflow ingest`: read documents and publish them, with a progress bar on long runs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from services.fetcher.files import DocumentReader
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


async def ingest_paths(settings: Settings, paths: list[str | Path], show_progress: bool = True) -> IngestReport:
    """Publish every document under `paths`; return counts and the ids to wait for."""
    report = IngestReport()

    def counted(outcomes: Iterator[Outcome], progress: Progress | None) -> Iterator[Outcome]:
        task = progress.add_task("ingest", total=None) if progress else None
        for outcome in outcomes:
            if outcome.topic == DLQ:
                report.dead += 1
            else:
                report.raw += 1
            if outcome.key:
                report.ids.append(outcome.key)
            if progress is not None and task is not None:
                progress.advance(task)
            yield outcome

    outcomes = reader_for(settings).read(paths)
    async with Publisher(settings) as publisher:
        if show_progress:
            columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed} docs"),
                       TimeElapsedColumn())
            with Progress(*columns, transient=True) as progress:
                await publisher.publish(counted(outcomes, progress))
        else:
            await publisher.publish(counted(outcomes, None))
    return report
