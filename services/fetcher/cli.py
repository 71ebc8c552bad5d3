"""`newsflow fetch` and `newsflow sources` (registered in services/cli.py with `main.add_command`)."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from services.cli_support import CONTEXT
from services.cli_support import fail as _fail
from services.fetcher.report import FetchReport
from services.fetcher.sources import SourcesError, load_sources
from services.fetcher.state import FetchState
from services.settings import get_settings

console = Console(stderr=True)


@click.command(context_settings=CONTEXT)
@click.option("--sources", "sources_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Sources file (see ops/sources.example.yaml).")
@click.option("--once", is_flag=True,
              help="Poll every source once, fetch what it lists, print a summary, exit.")
@click.option("--dry-run", is_flag=True,
              help="No Kafka: print records and errors as JSON lines, keep no state.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def fetch(sources_file: str, once: bool, dry_run: bool, as_json: bool) -> None:
    """Fetch feeds, sitemaps, pages, files and WARC archives into news.raw.

    \b
    Politely: robots.txt, per-host pacing, conditional GET, adaptive polling.
    Incrementally: state lives in news.fetch.state, so a restart neither re-publishes
    seen articles nor loses pending ones. Failures go to news.fetch.errors with a class.
    Without --once it runs until Ctrl-C (or SIGTERM), polling each source when due.
    """
    from services.fetcher.runner import CommitFailed
    from services.fetcher.service import run_fetcher

    settings = get_settings()
    try:
        report = asyncio.run(run_fetcher(settings, sources_file, once, dry_run=dry_run))
    except SourcesError as exc:
        _fail(str(exc))
    except (CommitFailed, LookupError, OSError) as exc:
        _fail(f"{exc}\nIs the broker running (`newsflow broker status`) at {settings.kafka}?")
    except KeyboardInterrupt:
        sys.exit(130)
    if as_json:
        click.echo(orjson.dumps(report.as_dict()).decode())
    else:
        Console(stderr=dry_run).print(report_table(report))


@click.command(context_settings=CONTEXT)
@click.option("--sources", "sources_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Sources file (see ops/sources.example.yaml).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source on stdout.")
def sources(sources_file: str, as_json: bool) -> None:
    """List sources with their last fetch, status, items and errors (read from news.fetch.state)."""
    from services.fetcher.publish import load_state

    settings = get_settings()
    try:
        config = load_sources(sources_file)
    except SourcesError as exc:
        _fail(str(exc))
    try:
        state = asyncio.run(load_state(settings, timeout_s=60))
    except LookupError:
        state = FetchState()  # never fetched on this cluster
    except Exception as exc:  # connection problems deserve a hint, not a traceback
        _fail(f"could not read fetch state from {settings.kafka}: {exc}\n"
              "Is the broker running? Try `newsflow broker start` or set NEWSFLOW_KAFKA.")
    rows = [source_row(source, state) for source in config.sources]
    if as_json:
        for row in rows:
            click.echo(orjson.dumps(row).decode())
        return
    table = Table(title=f"sources in {Path(sources_file).name}")
    for column in ("id", "kind", "target", "last fetch", "status", "http", "items", "errors", "next poll"):
        table.add_column(column, overflow="fold")
    for row in rows:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(row["errors_by_class"].items())) or "0"
        table.add_row(row["id"], row["kind"], row["target"], row["last_poll_at"] or "never",
                      row["last_status"] or "-", str(row["last_http_status"] or "-"),
                      str(row["items_published"]),
                      errors, _when(row["next_poll_at"]))
    Console().print(table)


def source_row(source: Any, state: FetchState) -> dict[str, Any]:
    status = state.sources.get(source.id)
    return {
        "id": source.id, "kind": source.kind, "target": source.url or source.path, "enabled": source.enabled,
        "last_poll_at": status.last_poll_at if status else None,
        "last_status": status.last_status if status else None,
        "last_http_status": status.last_http_status if status else None,
        "items_published": status.items_published if status else 0,
        "revisions": status.revisions if status else 0,
        "errors": status.errors if status else 0,
        "errors_by_class": dict(status.errors_by_class) if status else {},
        "last_error": status.last_error if status else None,
        "polls": status.polls if status else 0,
        "interval_s": status.interval_s if status else None,
        "next_poll_at": status.next_poll_at if status else None,
        "pending": sum(1 for d in state.docs.values() if d.source == source.id and d.status == "pending"),
    }


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    delta = epoch - time.time()
    stamp = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return f"{stamp} (in {delta / 60:.0f} min)" if delta > 0 else f"{stamp} (due)"


def report_table(report: FetchReport) -> Table:
    table = Table(title=f"fetch summary ({report.elapsed_s:.1f}s)")
    for column in ("source", "polls", "published", "revisions", "unchanged", "pages", "errors", "status"):
        table.add_column(column)
    for source_id, row in sorted(report.sources.items()):
        errors = ", ".join(f"{k} {v}" for k, v in sorted(row.errors.items())) or "0"
        table.add_row(source_id, str(row.polls), str(row.published), str(row.revisions), str(row.unchanged),
                      str(row.pages), errors, row.last_status or "-")
    table.caption = (f"{report.published} published ({report.revisions} revisions), "
                     f"{report.requests} requests, "
                     f"{report.conditional_requests} conditional, {report.not_modified} not modified, "
                     f"{sum(report.errors.values())} errors")
    return table


@click.group(context_settings=CONTEXT)
def _standalone() -> None:
    """The fetcher's commands on their own (`python -m services.fetcher.cli fetch …`)."""


_standalone.add_command(fetch)
_standalone.add_command(sources)

if __name__ == "__main__":
    _standalone()
