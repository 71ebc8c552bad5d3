"""The tag stage's pure core: language, IPTC topics, user topics, places and keywords.

No Kafka, and no I/O after construction except re-reading the user-topics rules file when it
changes: the worker builds one `ArticleTagger` per process (models and gazetteer load once,
≈3–4 s) and calls `tag_many` on micro-batches. Input records are never modified; each output
is a shallow copy with these fields added:

* `lang` (ISO 639-1 or "und"), `lang_confidence` (0..1), `mixed_language` (bool);
* `topics`: `[{code, label, score}]`, best first, multi-label; [] when the text is not
  news-like for the topic model (empty, too short, or not English: the topic model is
  English-only, see services/tagger/topics.py);
* `user_topics`: `[{id, label, matched_terms}]`, the rules of the user-topics file the
  article satisfies (services/tagger/user_topics.py);
* `places`: `{countries: [{code, name, count}], cities: [{name, country, count}], main}`
  (services/tagger/places.py);
* `keywords`: up to 8 key phrases, best first (services/tagger/keywords.py).

`tag` / `tag_many` never raise on odd input: a record whose fields are missing or of the
wrong type is tagged as an empty text ("und", no topics, empty user topics / places /
keywords); a failure in one of the last three taggers empties only its own field.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from services.tagger.keywords import KeywordExtractor
from services.tagger.language import UND, LanguageGuess, LanguageIdentifier
from services.tagger.places import PlaceFinder
from services.tagger.topics import TopicClassifier
from services.tagger.user_topics import UserTopicMatcher

log = logging.getLogger(__name__)

# Languages the topic model can read (its training text is English).
TOPIC_LANGUAGES = frozenset({"en"})
PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_USER_TOPICS = PROJECT_ROOT / "ops" / "user_topics.example.yaml"


def _empty_places() -> dict[str, Any]:
    return {"countries": [], "cities": [], "main": None}


class ArticleTagger:
    """Adds language, topics, user topics, places and keywords to article records."""

    def __init__(self, languages: list[str] | None = None, user_topics_file: Path | None = None) -> None:
        """Load the models once.

        `languages`: candidate set (default: settings.languages). `user_topics_file`: rules
        file (default: settings.user_topics_file, else ops/user_topics.example.yaml when present).
        """
        self.language = LanguageIdentifier(languages)
        self.topics = TopicClassifier()
        self.user_topics = UserTopicMatcher(user_topics_file or _default_user_topics_file())
        self.places = PlaceFinder(self.language.languages)
        self.keywords = KeywordExtractor()
        self.keywords.warm(["en"])

    def tag(self, article: dict) -> dict:
        """One record; see `tag_many`."""
        return self.tag_many([article])[0]

    def tag_many(self, articles: list[dict]) -> list[dict]:
        """Tag a micro-batch: one vectorised pass for languages, one for topics, then per record."""
        self.user_topics.maybe_reload()
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
        out = []
        for i, (record, guess) in enumerate(zip(records, guesses, strict=True)):
            title, text, _ = fields[i]
            lang = guess.lang
            _with_tags(record, guess, topics_for.get(i, []))
            record["user_topics"] = _safely(self.user_topics.match, title, text, lang, default=list)
            record["places"] = _safely(self.places.find, title, text, lang, default=_empty_places)
            record["keywords"] = _safely(self.keywords.extract, title, text, lang, default=list)
            out.append(record)
        return out


def _safely(fn: Callable[..., Any], title: str | None, text: str, lang: str, default: Callable[[], Any]) -> Any:
    """One tagger's result, or its empty value when it fails (logged): the other fields still count."""
    try:
        return fn(title, text, lang)
    except Exception:
        log.exception("%s failed", getattr(fn, "__qualname__", fn))
        return default()


def _default_user_topics_file() -> Path | None:
    """settings.user_topics_file (NEWSFLOW_USER_TOPICS_FILE) when set, else the shipped example."""
    try:
        from services.settings import get_settings

        configured = getattr(get_settings(), "user_topics_file", None)
    except Exception:  # settings unreadable here: fall back to the example
        configured = None
    if configured:
        return Path(configured)
    return EXAMPLE_USER_TOPICS if EXAMPLE_USER_TOPICS.is_file() else None


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
    record["user_topics"] = []
    record["places"] = _empty_places()
    record["keywords"] = []
    return record
