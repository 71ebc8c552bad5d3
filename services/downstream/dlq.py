"""`newsflow dlq redrive`: send dead letters back through the pipeline once the cause is fixed.

Each letter's original payload goes to the input topic of the stage that failed (clean → news.raw,
tag → news.cleaned, dedup and sink → news.tagged), keyed by its article id, so the running workers
process it like any other record and the ids stay those of the first attempt.

Not re-driven: `ingest` letters (the input never became a record: fix it and ingest again),
payloads that are not a JSON object, and — unless `--reason` names them — the cleaner's content
rejections (`empty`, `too_short`, ...), which would only be rejected again. The DLQ is a log:
re-driven letters stay on it; use `--since` to skip letters an earlier re-drive already sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from services.downstream.log import read_to_end
from services.kafka.clients import Publisher
from services.kafka.topics import CLEANED, DLQ, RAW, TAGGED
from services.outcomes import Outcome, original_payload
from services.records import REJECT_REASONS
from services.settings import Settings

INPUT_TOPIC = {"clean": RAW, "tag": CLEANED, "dedup": TAGGED, "sink": TAGGED}
# A sink letter holds the enriched record; dedup's input is that record without what dedup and sink add.
_ADDED_BY_SINK = ("dedup", "processed_at")


@dataclass
class RedriveReport:
    sent: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (stage, reason, topic)
    skipped: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (stage, reason, why)
    ids: list[str] = field(default_factory=list)

    def lines(self, dry_run: bool = False) -> list[str]:
        verb = "would re-drive" if dry_run else "re-driven"
        out = [f"{verb}: {sum(self.sent.values())}, skipped: {sum(self.skipped.values())}"]
        out += [f"  {n:>7}  {stage}/{reason} → {topic}" for (stage, reason, topic), n in sorted(self.sent.items())]
        out += [f"  {n:>7}  {stage}/{reason} skipped: {why}" for (stage, reason, why), n in
                sorted(self.skipped.items())]
        return out


def redrive_outcome(letter: dict[str, Any]) -> Outcome | str:
    """The message that re-drives one letter, or why it cannot be re-driven."""
    stage = letter.get("stage")
    topic = INPUT_TOPIC.get(stage) if isinstance(stage, str) else None
    if topic is None:
        return "ingest letters cannot be re-driven: fix the input and ingest it again" if stage == "ingest" \
            else f"unknown stage {stage!r}"
    try:
        record = orjson.loads(original_payload(letter))
    except (orjson.JSONDecodeError, ValueError):
        return "payload is not JSON"
    if not isinstance(record, dict):
        return "payload is not a JSON object"
    if stage == "sink":
        record = {k: v for k, v in record.items() if k not in _ADDED_BY_SINK}
    key = record.get("id") if isinstance(record.get("id"), str) else letter.get("id")
    return Outcome(topic, key if isinstance(key, str) else None, record, {"redriven-from": b"news.dlq"})


def selected(letter: dict[str, Any], reasons: set[str], stages: set[str]) -> bool:
    """Does this letter match `--reason`/`--stage`? Content rejections only when asked for by name."""
    reason, stage = letter.get("reason"), letter.get("stage")
    if stages and stage not in stages:
        return False
    if reasons:
        return reason in reasons
    return reason not in REJECT_REASONS


async def redrive(settings: Settings, reasons: Iterable[str] = (), stages: Iterable[str] = (),
                  since_ms: int | None = None, dry_run: bool = False) -> RedriveReport:
    """Read the DLQ (from `since_ms`, default the oldest kept) to its end now, and re-drive the selection."""
    reasons, stages = set(reasons), set(stages)
    report = RedriveReport()
    pending: list[Outcome] = []
    publisher = None if dry_run else Publisher(settings)
    if publisher is not None:
        await publisher.__aenter__()
    try:
        async for _, message in read_to_end(settings, [settings.topic(DLQ)], since_ms):
            try:
                letter = orjson.loads(message.value or b"null")
            except orjson.JSONDecodeError:
                continue
            if not isinstance(letter, dict) or not selected(letter, reasons, stages):
                continue
            stage, reason = str(letter.get("stage")), str(letter.get("reason"))
            outcome = redrive_outcome(letter)
            if isinstance(outcome, str):
                report.skipped[(stage, reason, outcome)] += 1
                continue
            report.sent[(stage, reason, outcome.topic)] += 1
            if outcome.key:
                report.ids.append(outcome.key)
            pending.append(outcome)
            if publisher is not None and len(pending) >= 500:
                await publisher.publish(pending)
                pending = []
        if publisher is not None and pending:
            await publisher.publish(pending)
    finally:
        if publisher is not None:
            await publisher.__aexit__(None, None, None)
    return report
