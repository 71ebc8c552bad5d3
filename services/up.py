"""`newsflow up`: the whole service on one machine, from nothing to enriched articles.

Broker (the local one, unless NEWSFLOW_KAFKA already answers) → topics → a worker process
→ ingest → wait until every ingested id reached a terminal topic → summary.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.console import Console

from services.ingest import ingest_paths
from services.kafka.clients import TopicReader
from services.kafka.topics import TERMINAL_TOPICS, ensure_topics
from services.ledger import Ledger
from services.settings import PROJECT_ROOT, Settings
from services.summary import render_summary

SAMPLES = PROJECT_ROOT / "ops" / "samples"

console = Console(stderr=True)


def run_up(settings: Settings, paths: list[Path], once: bool, timeout: float,
           sources_file: Path | None = None) -> int:
    from services.broker import BrokerError, LocalBroker, is_reachable

    started = time.monotonic()
    if is_reachable(settings.kafka, timeout=3.0, client_options=settings.kafka_client_options()):
        console.print(f"[green]✓[/] Kafka answers at {settings.kafka}")
    else:
        console.print(f"… starting the local broker at {settings.kafka} (first run resolves the jars)")
        try:
            info = LocalBroker(settings).start()
        except BrokerError as exc:
            console.print(f"[red]error:[/] {exc}")
            return 1
        console.print(f"[green]✓[/] local broker running (Kafka {info.kafka_version}, pid {info.pid})")
    changes = asyncio.run(ensure_topics(settings))
    created = [c.topic for c in changes if c.action != "unchanged"]
    console.print(f"[green]✓[/] topics ready{' (' + ', '.join(created) + ')' if created else ''}")

    sources = paths or ([] if sources_file else [SAMPLES])
    worker = start_worker(settings)
    console.print(f"[green]✓[/] worker started (pid {worker.pid}, log {worker_log(settings)})")
    fetcher: subprocess.Popen[bytes] | None = None
    try:
        if sources_file and not once:
            fetcher = start_child(settings, ["fetch", "--sources", str(sources_file)], "fetcher.log")
            console.print(f"[green]✓[/] fetcher started (pid {fetcher.pid}, log {settings.home / 'fetcher.log'})")
        publish = (lambda: fetch_once(settings, sources_file)) if sources_file and once else \
            (lambda: ingest_files(settings, sources))
        ledger, elapsed = asyncio.run(publish_and_wait(settings, publish, timeout, worker))
        render_summary(ledger, elapsed, Console(width=None if sys.stdout.isatty() else 160))
        if ledger.pending:
            console.print(f"[red]error:[/] {len(ledger.pending)} document(s) not accounted for after "
                          f"{timeout:.0f}s; see {worker_log(settings)}")
            return 2
        console.print(f"done in {time.monotonic() - started:.1f}s. Read the results: "
                      "[bold]newsflow tail news.enriched --from-beginning[/]")
        if once:
            return 0
        console.print("worker keeps running; Ctrl-C stops it (the broker stays up: `newsflow broker stop`).")
        worker.wait()
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        if fetcher is not None:
            stop_worker(fetcher)
        stop_worker(worker)


def worker_log(settings: Settings) -> Path:
    return settings.home / "worker.log"


def start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    """`newsflow worker` as a child process, with the same settings, logging to NEWSFLOW_HOME.

    `up` runs one worker beside the broker and the fetcher, so unless NEWSFLOW_WORKER_CPU says
    otherwise the worker gets a CPU of its own ("auto", services/kafka/affinity.py): measured, one
    pinned worker took 7-20 % less CPU per document and had a lower latency tail.
    """
    if "NEWSFLOW_WORKER_CPU" not in os.environ:
        settings = settings.model_copy(update={"worker_cpu": "auto"})
    return start_child(settings, ["worker", "--loglevel", "info"], worker_log(settings).name)


def start_child(settings: Settings, args: list[str], log_name: str) -> subprocess.Popen[bytes]:
    """A `newsflow` subcommand as a child process with the same settings, logging to NEWSFLOW_HOME."""
    settings.home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **settings.as_env()}
    log = (settings.home / log_name).open("ab")
    return subprocess.Popen([sys.executable, "-m", "services.cli", *args],
                            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop_worker(worker: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    if worker.poll() is not None:
        return
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(grace)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


async def ingest_files(settings: Settings, sources: list[Path]) -> list[str]:
    report = await ingest_paths(settings, [str(s) for s in sources])
    console.print(f"[green]✓[/] ingested {report.raw} document(s)"
                  + (f", {report.dead} refused at ingest" if report.dead else ""))
    return report.ids


async def fetch_once(settings: Settings, sources_file: Path | None) -> list[str]:
    from services.fetcher.service import run_fetcher

    report = await run_fetcher(settings, sources_file or "", once=True)
    console.print(f"[green]✓[/] fetched: {len(report.published_ids)} article(s) published")
    return list(report.published_ids)


async def ingest_and_wait(settings: Settings, sources: list[Path], timeout: float,
                          worker: subprocess.Popen[bytes] | None = None) -> tuple[Ledger, float]:
    """Ingest files, then wait until every id is accounted for (see `publish_and_wait`)."""
    return await publish_and_wait(settings, lambda: ingest_files(settings, sources), timeout, worker)


async def publish_and_wait(settings: Settings, publish: Callable[[], Awaitable[list[str]]], timeout: float,
                           worker: subprocess.Popen[bytes] | None = None) -> tuple[Ledger, float]:
    """Publish, then read the terminal topics from where they stood until all ids are accounted for."""
    terminal = [settings.topic(t) for t in TERMINAL_TOPICS]
    logical = {settings.topic(t): t for t in TERMINAL_TOPICS}
    start = time.monotonic()
    async with TopicReader(settings) as reader:
        await reader.assign(dict(await reader.end_offsets(terminal)))
        ids = await publish()
        ledger = Ledger.of(ids)
        deadline = start + timeout
        with console.status("processing…") as status:
            while ledger.pending and time.monotonic() < deadline:
                if worker is not None and worker.poll() is not None:
                    console.print(f"[red]worker exited with code {worker.returncode}[/]")
                    break
                async for message in reader.messages(idle_timeout=1.0):
                    ledger.observe(logical[message.topic], message.record())
                    done = len(ledger.expected) - len(ledger.pending)
                    status.update(f"processing… {done}/{len(ledger.expected)} done")
                    if not ledger.pending:
                        break
    return ledger, time.monotonic() - start
