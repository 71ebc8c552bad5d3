"""A progress bar and a closing summary for `newsflow ingest` of folders and WARC archives.

Why bytes for the bar: the number of records in a folder or a WARC is unknown until read, but
the bytes to read are known, so the ETA comes from bytes while the counters show records and
records/s.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from services.kafka.topics import DLQ
from services.outcomes import Outcome


class IngestProgress:
    """Use as `reader.progress = bar.bytes_read` and `publish(bar.track(reader.read(paths)))`."""

    def __init__(self, total_bytes: int, *, enabled: bool = True, console: Console | None = None,
                 description: str = "ingest") -> None:
        self.console = console or Console(stderr=True)
        self.enabled = enabled
        self.records = 0
        self.dead: Counter[str] = Counter()
        self.started = time.monotonic()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[records]} records · {task.fields[rate]:.0f}/s"), TimeRemainingColumn(),
            console=self.console, transient=True, disable=not enabled,
        )
        self._task = self._progress.add_task(description, total=max(total_bytes, 1), records=0, rate=0.0)

    def __enter__(self) -> IngestProgress:
        self.started = time.monotonic()
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.stop()

    def bytes_read(self, count: int) -> None:
        if count > 0:
            self._progress.advance(self._task, count)

    def track(self, outcomes: Iterable[Outcome]) -> Iterator[Outcome]:
        for outcome in outcomes:
            if outcome.topic == DLQ:
                self.dead[str(outcome.record.get("reason"))] += 1
            else:
                self.records += 1
            self._progress.update(self._task, records=self.records + sum(self.dead.values()),
                                  rate=self.rate)
            yield outcome

    @property
    def rate(self) -> float:
        return (self.records + sum(self.dead.values())) / max(time.monotonic() - self.started, 1e-6)

    def summary(self) -> Table:
        elapsed = time.monotonic() - self.started
        table = Table(title="ingest summary", show_header=False)
        table.add_row("published to news.raw", str(self.records))
        table.add_row("refused (news.dlq)", str(sum(self.dead.values())))
        for reason, count in sorted(self.dead.items()):
            table.add_row(f"  {reason}", str(count))
        table.add_row("elapsed", f"{elapsed:.1f}s")
        table.add_row("records/s", f"{self.rate:.1f}")
        return table

    def print_summary(self) -> None:
        self.console.print(self.summary())
