"""Click commands for the downstream tools: `replay`, `status`, `dlq redrive`, `schemas check`.

Registered on the main group by `services.cli` (`main.add_command(...)`); each is a thin shell over
its module so tests can call the functions directly.
"""

from __future__ import annotations

import asyncio
import sys

import click
import orjson

from services.cli_support import CONTEXT
from services.cli_support import fail as _fail
from services.cli_support import load_settings as _settings


def _split(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@click.command(context_settings=CONTEXT)
@click.option("--from", "start", required=True, metavar="TIME|OFFSET",
              help="Where to start: 2h, 2026-11-20T08:00Z, beginning, an offset (1200) or per partition (2:1200).")
@click.option("--to", "stop", default=None, metavar="TIME|OFFSET",
              help="Where to stop (exclusive), same forms. Default: the end of the log when the replay starts.")
@click.option("--topics", "topics", multiple=True, default=("news.raw",), show_default=True,
              help="Source topic(s): news.raw (all stages), news.cleaned (tag on), news.tagged (dedup on).")
@click.option("--into", default="live", show_default=True, metavar="live|VERSION",
              help="live: the usual output topics (consumers upsert by id); VERSION (e.g. v2): <topic>.VERSION.")
@click.option("--verdicts", type=click.Choice(["keep", "recompute"]), default=None,
              help="Dedup verdicts: keep each id's first-pass verdict (default for live) or recompute "
                   "(default for a version).")
@click.option("--dry-run", is_flag=True, help="Print what would be replayed, and where to; change nothing.")
@click.option("--no-progress", is_flag=True, help="No progress bar (logs, CI).")
def replay(start: str, stop: str | None, topics: tuple[str, ...], into: str, verdicts: str | None, dry_run: bool,
           no_progress: bool) -> None:
    """Re-run the current stages over a range of news.raw (a backfill after a fix).

    \b
    newsflow replay --from 2h --dry-run                       what the last two hours hold
    newsflow replay --from 2026-11-20T08:00Z --to 2026-11-20T12:00Z
    newsflow replay --from beginning --into v2                a full re-run beside the live topics
    newsflow replay --from 2:1200 --to 2:1300                 offsets 1200..1299 of partition 2

    Runs in this process with its own consumer group (<app_id>-replay-<into>); the workers and their
    offsets are not touched. Event times, ids and keys are kept; provenance.replay names the run.
    """
    from services.downstream.ranges import parse_position
    from services.downstream.replay import plan_replay, run_replay

    settings = _settings()
    try:
        start_pos = parse_position(start)
        stop_pos = parse_position(stop) if stop else None
        plan = asyncio.run(plan_replay(settings, start_pos, stop_pos, _split(topics), into, verdicts))
    except (ValueError, LookupError) as exc:
        _fail(str(exc))
    for line in plan.describe():
        click.echo(line, err=not dry_run)
    if dry_run:
        return
    report = asyncio.run(run_replay(settings, plan, show_progress=not no_progress and sys.stderr.isatty()))
    click.echo(report.summary())


@click.command(context_settings=CONTEXT)
@click.option("--group", "groups", multiple=True, help="Only this consumer group (repeatable). Default: all "
              "groups with offsets on this deployment's topics.")
@click.option("--all-topics", is_flag=True, help="Also topics outside <prefix>news.* (e.g. Faust's own).")
@click.option("--no-dlq", is_flag=True, help="Skip counting the DLQ (it reads the whole topic).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
def status(groups: tuple[str, ...], all_topics: bool, no_dlq: bool, as_json: bool) -> None:
    """Consumer lag per group, topic and partition, and dead letters by stage and reason.

    Exit code 0; lag is information, not failure. Kafka's own view of the same numbers:
    kafka-consumer-groups --describe --group <app_id>.
    """
    from services.downstream.status import collect_status, render

    settings = _settings()
    try:
        result = asyncio.run(collect_status(settings, list(groups) or None, all_topics, not no_dlq))
    except Exception as exc:
        _fail(f"could not read status from {settings.kafka}: {exc}")
    if as_json:
        click.echo(orjson.dumps(result.as_json()).decode())
    else:
        for line in render(result, settings):
            click.echo(line)


@click.group(context_settings=CONTEXT)
def dlq() -> None:
    """The dead-letter topic: counts and re-drive."""


@dlq.command("redrive", context_settings=CONTEXT)
@click.option("--reason", "reasons", multiple=True, help="Only letters with this reason (repeatable, or a,b).")
@click.option("--stage", "stages", multiple=True, type=click.Choice(["clean", "tag", "dedup", "sink"]),
              help="Only letters of this failed stage (repeatable).")
@click.option("--since", default=None, metavar="TIME", help="Only letters written since (2h, 2026-11-20T08:00Z).")
@click.option("--dry-run", is_flag=True, help="Count what would be re-driven; send nothing.")
def dlq_redrive(reasons: tuple[str, ...], stages: tuple[str, ...], since: str | None, dry_run: bool) -> None:
    """Send dead letters back to the input topic of the stage that failed, after a fix.

    clean → news.raw, tag → news.cleaned, dedup/sink → news.tagged; keyed by article id. Content
    rejections (empty, too_short, paywalled, needs_js, not_an_article) only when named by --reason.
    """
    from services.downstream.dlq import redrive
    from services.downstream.ranges import parse_time

    settings = _settings()
    try:
        since_ms = parse_time(since) if since else None
        report = asyncio.run(redrive(settings, _split(reasons), stages, since_ms, dry_run))
    except (ValueError, LookupError) as exc:
        _fail(str(exc))
    for line in report.lines(dry_run):
        click.echo(line)


@dlq.command("stats", context_settings=CONTEXT)
def dlq_stats() -> None:
    """Dead letters by stage and reason."""
    from services.downstream.status import count_dead_letters

    settings = _settings()
    counts = asyncio.run(count_dead_letters(settings))
    click.echo(f"{sum(counts.values())} dead letter(s)")
    for (stage, reason), count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        click.echo(f"  {count:>8}  {stage:<8} {reason}")


@click.group(context_settings=CONTEXT)
def schemas() -> None:
    """The record schemas in schemas/ (the downstream contract)."""


@schemas.command("check", context_settings=CONTEXT)
def schemas_check() -> None:
    """Prove every schema still accepts the sample records of every released version (CI gate)."""
    from services.sink.compat import check_all, schema_names

    problems = check_all()
    for problem in problems:
        click.echo(str(problem))
    if problems:
        _fail(f"{len(problems)} incompatibilit{'y' if len(problems) == 1 else 'ies'}; see docs/contract.md")
    click.echo(f"ok: {', '.join(schema_names())} accept every released version's samples")


COMMANDS = (replay, status, dlq, schemas)
