"""The fetcher as a service on Kafka: what `newsflow fetch` and `newsflow up --sources` run.

Why one entry point: the CLI, `newsflow up` and the tests all start the fetcher the same way —
topics ensured, state read back from `news.fetch.state`, a transactional sink, the run, a report.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

from services.fetcher.options import FetchOptions
from services.fetcher.publish import KafkaSink, MemorySink, load_state, print_outcome
from services.fetcher.report import FetchReport
from services.fetcher.runner import Fetcher
from services.fetcher.sources import SourcesFile, load_sources
from services.fetcher.topics import ensure_fetch_topics
from services.settings import Settings


def fetch_options(settings: Settings, sources: SourcesFile,
                  overrides: dict[str, Any] | None = None) -> FetchOptions:
    """Settings (NEWSFLOW_FETCH_*), then the sources file's `fetcher:` section, then `overrides`."""
    return FetchOptions.from_settings(settings, {**sources.fetcher, **(overrides or {})})


def transactional_id(settings: Settings, options: FetchOptions) -> str:
    return f"{settings.app_id}.{settings.topic_prefix}{options.fetcher_id}"


async def run_fetcher(
    settings: Settings,
    sources_file: str | Path,
    once: bool,
    *,
    stop: asyncio.Event | None = None,
    overrides: dict[str, Any] | None = None,
    dry_run: bool = False,
) -> FetchReport:
    """Fetch every source in `sources_file` (once, or until `stop` / SIGINT / SIGTERM).

    With `dry_run` nothing touches Kafka: records are printed as JSON lines and state is kept
    in memory for this run only.
    """
    sources = load_sources(sources_file)
    options = fetch_options(settings, sources, overrides)
    stop = stop or asyncio.Event()
    with _stop_on_signals(stop):
        if dry_run:
            sink = MemorySink(echo=print_outcome)
            return await Fetcher(sources, options, sink).run(once=once, stop=stop)
        await ensure_fetch_topics(settings)
        # Start (and so fence) the transactional producer before reading state: a predecessor's
        # open transaction is aborted first, and a zombie predecessor can no longer commit.
        sink = KafkaSink(settings, transactional_id=transactional_id(settings, options),
                         commit_interval_s=options.commit_interval_s, commit_batch=options.commit_batch)
        async with sink:
            state = await load_state(settings)
            return await Fetcher(sources, options, sink, state).run(once=once, stop=stop)


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Any:
    """SIGINT/SIGTERM finish the current commits and stop; pending pages stay pending for next time."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
