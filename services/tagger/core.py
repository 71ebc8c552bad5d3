"""The tag stage's pure core: language and IPTC topics for cleaned articles.

No Kafka, no I/O after construction: the worker builds one `ArticleTagger` per process
(models load once, ≈2–3 s) and calls `tag_many` on micro-batches. Input records are never
modified; each output is a shallow copy with these fields added:

* `lang` (ISO 639-1 or "und"), `lang_confidence` (0..1), `mixed_language` (bool);
* `topics`: `[{code, label, score}]`, best first, multi-label; [] when the text is not
  news-like for the topic model (empty, too short, or not English: the topic model is
  English-only, see services/tagger/topics.py).

`tag` / `tag_many` never raise on odd input: a record whose fields are missing or of the
wrong type is tagged as an empty text ("und", no topics).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from services.tagger.language import UND, LanguageGuess, LanguageIdentifier
from services.tagger.topics import TopicClassifier

log = logging.getLogger(__name__)

# Languages the topic model can read (its training text is English).
TOPIC_LANGUAGES = frozenset({"en"})


class ArticleTagger:
    """Adds `lang`, `lang_confidence`, `mixed_language` and `topics` to article records."""

    def __init__(self, languages: list[str] | None = None) -> None:
        """Load both models once. `languages`: candidate set (default: settings.languages)."""
        self.language = LanguageIdentifier(languages)
        self.topics = TopicClassifier()

    def tag(self, article: dict) -> dict:
        """One record; see `tag_many`."""
        return self.tag_many([article])[0]

    def tag_many(self, articles: list[dict]) -> list[dict]:
        """Tag a micro-batch: one vectorised pass for languages, one for topics."""
        records = [dict(a) if isinstance(a, Mapping) else {} for a in articles]
        try:
            return self._tag_batch(records)
        except Exception:  # never let one odd record fail the batch: retry one by one
            log.exception("batch tagging failed; tagging %d records one by one", len(records))
            out = []
            for record in records:
                try:
                    out.extend(self._tag_batch([record]))
                except Exception:
                    log.exception("tagging failed for record %r", record.get("id"))
                    out.append(_with_tags(record, LanguageGuess(UND, 0.0), []))
            return out

    def _tag_batch(self, records: list[dict[str, Any]]) -> list[dict]:
        fields = [_fields(r) for r in records]
        guesses = self.language.identify_many([(title, lang_text) for title, _, lang_text in fields])
        wanted = [i for i, g in enumerate(guesses) if g.lang in TOPIC_LANGUAGES or g.lang == UND]
        topics_for: dict[int, list] = {}
        if wanted:
            found = self.topics.classify_many([(fields[i][0], fields[i][1]) for i in wanted])
            topics_for = dict(zip(wanted, found, strict=True))
        return [_with_tags(r, g, topics_for.get(i, [])) for i, (r, g) in enumerate(zip(records, guesses, strict=True))]


def _fields(record: Mapping[str, Any]) -> tuple[str | None, str, str]:
    """(title, text, text for language id): tolerant of missing or mistyped fields.

    The language identifier samples paragraphs; when the cleaner's `text` has no line
    breaks but its `paragraphs` list does, we hand it the paragraphs.
    """
    title = record.get("title")
    title = title if isinstance(title, str) else None
    text = record.get("text")
    text = text if isinstance(text, str) else ""
    lang_text = text
    paragraphs = record.get("paragraphs")
    if "\n" not in text and isinstance(paragraphs, Iterable) and not isinstance(paragraphs, str | bytes):
        parts = [p for p in paragraphs if isinstance(p, str) and p.strip()]
        if len(parts) > 1:
            lang_text = "\n\n".join(parts)
    return title, text, lang_text


def _with_tags(record: dict[str, Any], guess: LanguageGuess, topics: list) -> dict:
    record["lang"] = guess.lang
    record["lang_confidence"] = guess.confidence
    record["mixed_language"] = guess.mixed
    record["topics"] = topics
    return record
