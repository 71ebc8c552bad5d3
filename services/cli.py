"""`newsflow` — the command line. Each command is a thin shell over a module that does the work."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
from pathlib import Path

import click
import orjson

from services import __version__
from services.cli_support import CONTEXT
from services.cli_support import fail as _fail
from services.cli_support import load_settings as _settings


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="newsflow")
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
def main(verbose: bool) -> None:
    """newsflow: news ingestion on Kafka — fetch, clean, tag, dedup, sink.

    \b
    Quick start (local broker, bundled samples):   newsflow up
    Process files without Kafka:                   newsflow process article.html
    Configuration comes from NEWSFLOW_* environment variables (see .env.example).
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format='{"ts":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s","msg":"%(message)s"}',
    )


# --- broker -----------------------------------------------------------------------------------


@main.group(context_settings=CONTEXT)
def broker() -> None:
    """Run a local single-node Apache Kafka (KRaft) from Kafka's own jars, no Docker.

    It listens on NEWSFLOW_KAFKA (default 127.0.0.1:9092) and keeps its data and log under
    NEWSFLOW_HOME (default ./.newsflow). The jars are resolved once from Maven Central.
    """


@broker.command("start", context_settings=CONTEXT)
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait until the broker answers.")
def broker_start(timeout: float) -> None:
    """Start the broker (formats storage on first start); returns when it answers."""
    from services.broker import BrokerError, LocalBroker

    try:
        info = LocalBroker(_settings()).start(timeout=timeout)
    except BrokerError as exc:
        _fail(str(exc))
    click.echo(f"broker running: {info.bootstrap} (pid {info.pid}, Kafka {info.kafka_version})")


@broker.command("stop", context_settings=CONTEXT)
def broker_stop() -> None:
    """Stop the broker cleanly (controlled shutdown). Safe to run when it is not running."""
    from services.broker import LocalBroker

    stopped = LocalBroker(_settings()).stop()
    click.echo("broker stopped" if stopped else "broker was not running")


@broker.command("status", context_settings=CONTEXT)
def broker_status() -> None:
    """Say whether the local broker runs, where, and where its data and log are."""
    from services.broker import LocalBroker

    status = LocalBroker(_settings()).status()
    for key, value in dataclasses.asdict(status).items():
        click.echo(f"{key:>16}: {value}")
    sys.exit(0 if status.running else 3)


@broker.command("setup", context_settings=CONTEXT)
def broker_setup() -> None:
    """Resolve the Kafka jars from Maven Central now (start does it on first use)."""
    from services.broker import BrokerError, ensure_classpath, kafka_version

    try:
        classpath = ensure_classpath()
    except BrokerError as exc:
        _fail(str(exc))
    click.echo(f"Kafka {kafka_version()} ready: {len(classpath.split(':'))} jars on the classpath")


# --- topics, worker ---------------------------------------------------------------------------


@main.command(context_settings=CONTEXT)
def topics() -> None:
    """Create or update every topic in ops/topics.yaml (idempotent)."""
    from services.kafka.topics import ensure_topics, load_topic_specs
    from services.sink.routing import with_routing_topics

    settings = _settings()
    try:
        specs = with_routing_topics(settings, load_topic_specs(settings.topics_file))  # + news.topic.*, news.lang.*
        changes = asyncio.run(ensure_topics(settings, specs))
    except Exception as exc:  # connection problems deserve a hint, not a traceback
        _fail(f"could not manage topics on {settings.kafka}: {exc}\n"
              "Is the broker running? Try `newsflow broker start` or set NEWSFLOW_KAFKA.")
    for change in changes:
        click.echo(f"{change.topic:<24} {change.action}")


@main.command(context_settings=CONTEXT)
@click.option("--loglevel", default="warning", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
def worker(loglevel: str) -> None:
    """Run the stream workers: clean, tag, dedup and sink agents in one process.

    Start several to share the partitions (one consumer group). Serves /metrics, /health
    and /ready on NEWSFLOW_WEB_PORT. SIGTERM or Ctrl-C stops it; a second one, or
    NEWSFLOW_SHUTDOWN_GRACE_S (25 s) without the stop finishing, ends it at once (records
    not yet committed are redelivered).
    """
    from services.app import create_app
    from services.kafka.affinity import AffinityError, pin_worker
    from services.kafka.worker import Worker

    settings = _settings()
    try:
        cpu = pin_worker(settings.worker_cpu, settings.home)  # before any thread starts: they inherit it
    except AffinityError as exc:
        _fail(str(exc))
    app = create_app(settings)
    Worker(app, loglevel=loglevel, quiet=True, pinned_cpu=cpu,
           shutdown_grace_s=settings.shutdown_grace_s).execute_from_commandline()


# --- ingest, process, tail ---------------------------------------------------------------------


@main.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True)
def ingest(paths: tuple[str, ...]) -> None:
    """Publish files to news.raw: .txt, .html, .json/.jsonl records, folders, or - for stdin.

    A file that cannot become a record (binary, bad encoding, too large, invalid JSON) goes
    to news.dlq with the reason and its original bytes.
    """
    from services.ingest import ingest_paths

    settings = _settings()
    try:
        report = asyncio.run(ingest_paths(settings, list(paths), show_summary=True))
    except Exception as exc:
        _fail(f"ingest failed: {exc}\nIs the broker running (`newsflow broker status`) and are the "
              "topics created (`newsflow topics`)?")
    click.echo(f"published {report.raw} record(s) to news.raw, {report.dead} to news.dlq")


@main.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True)
@click.option("--envelope", is_flag=True, help="Wrap each line as {topic, key, value}.")
def process(paths: tuple[str, ...], envelope: bool) -> None:
    """Run every stage in-process, without Kafka; print results as JSON lines.

    PATHS are files, folders or - (stdin). Output: enriched, duplicate and dead-letter
    records, one per line, in input order; with --envelope also the news.stories events.
    """
    from services.fetcher.files import DocumentReader
    from services.kafka.topics import STORIES
    from services.pipeline import Pipeline
    from services.sink.routing import is_route

    settings = _settings()
    reader = DocumentReader(settings.max_body_bytes, settings.max_message_bytes - 65536)
    out = sys.stdout.buffer
    for outcome in Pipeline(settings).run(reader.read(paths)):
        if is_route(outcome.topic):  # routing copies (NEWSFLOW_ROUTE_*) repeat a news.enriched record
            continue
        if outcome.topic == STORIES and not envelope:  # a story event is not an article record
            continue
        if envelope:
            out.write(orjson.dumps({"topic": outcome.topic, "key": outcome.key, "value": outcome.record}))
        else:
            out.write(outcome.value())
        out.write(b"\n")
    out.flush()


@main.command(context_settings=CONTEXT)
@click.argument("topic")
@click.option("--from-beginning", is_flag=True, help="Start at the oldest record instead of new ones.")
@click.option("--group", default=None, help="Consume within this consumer group (commits offsets).")
@click.option("-n", "--max", "max_records", type=int, default=None, help="Stop after N records.")
@click.option("--idle-timeout", type=float, default=None, help="Stop after S seconds without a record.")
@click.option("--lang", "langs", multiple=True, help="Only these languages (repeat, or en,de).")
@click.option("--topic", "topics", multiple=True,
              help="Only records with this IPTC topic (slug, code or label) or user topic id (repeat, or a,b).")
@click.option("--since", default=None, metavar="TIME",
              help="Only records written since TIME (2h, 30m, or ISO 8601); starts reading there.")
def tail(topic: str, from_beginning: bool, group: str | None, max_records: int | None,
         idle_timeout: float | None, langs: tuple[str, ...], topics: tuple[str, ...], since: str | None) -> None:
    """Print a topic's records as JSON lines (a downstream consumer)."""
    from services.downstream.filters import RecordFilter
    from services.tail import tail_topic

    try:
        record_filter = RecordFilter.of(langs, topics, since)
        asyncio.run(tail_topic(_settings(), topic, from_beginning, group, max_records, idle_timeout,
                               record_filter))
    except LookupError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        pass


# --- up -----------------------------------------------------------------------------------------


@main.command(context_settings=CONTEXT)
@click.option("--once", "once", is_flag=True,
              help="Ingest PATHS, wait until every record is accounted for, print a summary and exit.")
@click.option("--timeout", default=600.0, show_default=True, help="With --once: give up after S seconds.")
@click.option("--sources", "sources_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Fetch the sources in this YAML file (see ops/sources.example.yaml).")
@click.argument("paths", nargs=-1)
def up(once: bool, timeout: float, sources_file: Path | None, paths: tuple[str, ...]) -> None:
    """Run the whole service: broker (unless NEWSFLOW_KAFKA answers), topics, worker, ingest.

    \b
    newsflow up                 bundled sample articles, then keep running (Ctrl-C stops)
    newsflow up --once FILES    ingest FILES, print a summary table when all are done, exit
    newsflow up --sources FILE  fetch the sources in FILE continuously (with --once: one round)
    """
    from services.up import run_up

    sources = [Path(p) for p in paths]
    code = run_up(_settings(), sources, once=once, timeout=timeout, sources_file=sources_file)
    sys.exit(code)


def _register_commands() -> None:
    from services.downstream.cli import dlq, replay, schemas, status
    from services.fetcher.cli import fetch, sources

    for command in (fetch, sources, replay, status, dlq, schemas):
        main.add_command(command)


_register_commands()

if __name__ == "__main__":
    main()
