"""The stages as message transforms: payload bytes in, outcomes out, no Kafka.

Each step wraps one pure core (`ArticleCleaner`, `ArticleTagger`, `Deduplicator`,
`EnrichedSink`) with the decoding, validation and error handling that every message needs,
so a malformed payload becomes a dead letter instead of an exception. The Faust agents
(`services.app`), `newsflow process` and the benchmarks all run these same steps.

A record's path:  news.raw → CleanStep → news.cleaned → TagStep → news.tagged
                  → DedupStep (dedup + sink) → news.enriched | news.duplicates   (any step → news.dlq)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from services import __version__
from services.cleaner.core import ArticleCleaner
from services.dedup.core import Deduplicator
from services.kafka.topics import CLEANED, DLQ, RAW, TAGGED
from services.outcomes import Outcome, dead_letter
from services.records import StageError
from services.settings import Settings
from services.sink.core import EnrichedSink
from services.sink.schemas import validator
from services.tagger.core import ArticleTagger

log = logging.getLogger(__name__)


def _decode(stage: str, payload: bytes, schema: str | None = None) -> dict[str, Any] | Outcome:
    """Parse a message; a payload that is not a JSON object (or breaks its schema) is a dead letter."""
    try:
        record = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return dead_letter(stage=stage, reason="invalid_json", error="JSONDecodeError", message=str(exc),
                           payload=payload)
    if not isinstance(record, dict):
        return dead_letter(stage=stage, reason="schema_violation", error="TypeError",
                           message=f"expected a JSON object, got {type(record).__name__}", payload=payload)
    if schema:
        problems = validator(schema).errors(record)
        if problems:
            return dead_letter(
                stage=stage, reason="schema_violation", error="ValidationError", message="; ".join(problems),
                payload=payload, article_id=_str_or_none(record.get("id")),
                source=_str_or_none(record.get("source")), url=_str_or_none(record.get("url")),
            )
    return record


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _failure(stage: str, exc: BaseException, payload: bytes, record: dict[str, Any]) -> Outcome:
    """A dead letter for a record a core refused (StageError) or crashed on (anything else)."""
    if isinstance(exc, StageError):
        reason, error, message = exc.reason, "StageError", exc.message
    else:
        log.exception("%s failed on %s", stage, record.get("id"))
        reason, error, message = f"{stage}_error", type(exc).__name__, str(exc) or repr(exc)
    outcome = dead_letter(
        stage=stage, reason=reason, error=error, message=message, payload=payload,
        article_id=_str_or_none(record.get("id")), parent_id=_str_or_none(record.get("parent_id")),
        source=_str_or_none(record.get("source")), url=_str_or_none(record.get("url")),
    )
    if isinstance(record.get("part_count"), int):
        outcome.record["part_count"] = record["part_count"]
    return outcome


def _stamp(record: dict[str, Any], stage: str, context: dict[str, Any] | None = None) -> None:
    """Provenance: which stage versions produced the record and, when known, its raw offset."""
    provenance = record.setdefault("provenance", {})
    provenance.setdefault("stages", {})[stage] = __version__
    if context:
        provenance.update(context)


class CleanStep:
    """news.raw → news.cleaned: main text and metadata, one record per story."""

    stage = "clean"

    def __init__(self, settings: Settings) -> None:
        self.cleaner = ArticleCleaner(min_text_chars=settings.min_text_chars)

    def __call__(self, payload: bytes, context: dict[str, Any] | None = None) -> list[Outcome]:
        raw = _decode(self.stage, payload, schema="raw")
        if isinstance(raw, Outcome):
            return [raw]
        try:
            articles = self.cleaner.clean(raw)  # type: ignore[arg-type]
        except Exception as exc:
            return [_failure(self.stage, exc, payload, raw)]
        outcomes = []
        for article in articles:
            record = dict(article)
            record.pop("body", None)
            if len(articles) > 1:
                record["part_count"] = len(articles)
            _stamp(record, self.stage, context)
            outcomes.append(Outcome(CLEANED, record["id"], record))
        return outcomes


class TagStep:
    """news.cleaned → news.tagged: language and topics, micro-batched."""

    stage = "tag"

    def __init__(self, settings: Settings) -> None:
        self.tagger = ArticleTagger(languages=settings.language_set, user_topics_file=settings.user_topics_file)

    def __call__(self, payloads: list[bytes]) -> list[Outcome]:
        decoded = [_decode(self.stage, payload, schema="cleaned") for payload in payloads]
        good = [(i, rec) for i, rec in enumerate(decoded) if not isinstance(rec, Outcome)]
        results: dict[int, Outcome] = {i: rec for i, rec in enumerate(decoded) if isinstance(rec, Outcome)}
        try:
            tagged = self.tagger.tag_many([rec for _, rec in good])
        except Exception:  # one bad record must not sink the batch: retry one by one
            tagged = None
        for n, (i, record) in enumerate(good):
            try:
                out = tagged[n] if tagged is not None else self.tagger.tag(record)
            except Exception as exc:
                results[i] = _failure(self.stage, exc, payloads[i], record)
                continue
            _stamp(out, self.stage)
            results[i] = Outcome(TAGGED, out["id"], out)
        return [results[i] for i in range(len(payloads))]


class DedupStep:
    """news.tagged → news.enriched | news.duplicates, plus the story's event on news.stories.

    The dedup verdict, then the validating sink. The worker keeps one `Deduplicator` per input
    partition and passes it in; alone (in-process, benchmarks) the step uses its own.
    """

    stage = "dedup"

    def __init__(self, settings: Settings, deduplicator: Deduplicator | None = None) -> None:
        self.settings = settings
        self.deduplicator = deduplicator or self.new_deduplicator()
        self.sink = EnrichedSink.from_settings(settings)

    def new_deduplicator(self) -> Deduplicator:
        return Deduplicator(near_dup_threshold=self.settings.near_dup_threshold,
                            story_window_days=self.settings.story_window_days)

    def __call__(self, payload: bytes, deduplicator: Deduplicator | None = None) -> list[Outcome]:
        dedup = deduplicator or self.deduplicator
        record = _decode(self.stage, payload, schema="tagged")
        if isinstance(record, Outcome):
            return [record]
        try:
            record["dedup"] = dict(dedup.check(record))
            story = dedup.story_event(record["dedup"]["story_id"])
        except Exception as exc:
            return [_failure(self.stage, exc, payload, record)]
        _stamp(record, self.stage)
        outcomes = self.sink.route(record)
        if story is not None and outcomes[0].topic != DLQ:
            outcomes.append(self.sink.story(story))
        return outcomes

    def catch_up(self, payloads: Iterable[bytes], deduplicator: Deduplicator) -> int:
        """Re-check records already processed (restoring state after a restart); outputs discarded."""
        n = 0
        for payload in payloads:
            record = _decode(self.stage, payload, schema="tagged")
            if isinstance(record, Outcome):
                continue
            try:
                deduplicator.check(record)
            except Exception:  # it went to the DLQ the first time too; state is what matters here
                log.debug("catch-up: %s failed again", record.get("id"))
            n += 1
        return n


class Pipeline:
    """All stages in one process, no Kafka (`newsflow process`, benchmarks, tests).

    Records still pass between stages as JSON bytes, exactly as they do through Kafka.
    """

    def __init__(self, settings: Settings, batch_size: int = 64) -> None:
        self.clean = CleanStep(settings)
        self.tag = TagStep(settings)
        self.dedup = DedupStep(settings)
        self.batch_size = batch_size

    def run(self, outcomes: Iterable[Outcome]) -> Iterator[Outcome]:
        """Feed raw outcomes (as the fetcher makes them); yield every terminal outcome, in order."""
        batch: list[Outcome] = []
        for outcome in outcomes:
            batch.append(outcome)
            if len(batch) >= self.batch_size:
                yield from self._run_batch(batch)
                batch = []
        if batch:
            yield from self._run_batch(batch)

    def _run_batch(self, batch: list[Outcome]) -> Iterator[Outcome]:
        cleaned: list[Outcome] = []
        for outcome in batch:
            if outcome.topic == RAW:
                cleaned.extend(self.clean(outcome.value()))
            else:
                cleaned.append(outcome)
        to_tag = [o.value() for o in cleaned if o.topic == CLEANED]
        tagged = iter(self.tag(to_tag))
        for outcome in cleaned:
            if outcome.topic != CLEANED:
                yield outcome
                continue
            tag_outcome = next(tagged)
            if tag_outcome.topic == DLQ:
                yield tag_outcome
            else:
                yield from self.dedup(tag_outcome.value())
