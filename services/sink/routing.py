"""Routing topics: per-subject, per-language and per-user-topic views of `news.enriched`.

Why: a consumer that wants only English politics should subscribe to one topic, not filter the
firehose. Routing is a pure function of the record (its `topics`, `lang` and `user_topics`), so a
redelivered or replayed record lands on the same routing topics with the same key.

Names (logical; the physical name adds `Settings.topic_prefix`):

* `news.topic.<slug>`  one per IPTC top-level subject, slug from `IPTC_SLUGS` (e.g. `politics`);
* `news.lang.<code>`   one per ISO 639-1 code (`und` only when listed explicitly);
* `news.user.<id>`     one per user-defined topic (`user_topics[].id`, made topic-safe).

Only unique articles are routed (copies stay on `news.duplicates`). Which routes are produced is
configured by three settings, each `all`, `none` (or empty) or a comma-separated list:
`NEWSFLOW_ROUTE_TOPICS`, `NEWSFLOW_ROUTE_LANGUAGES`, `NEWSFLOW_ROUTE_USER_TOPICS`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from services.kafka.topics import ENRICHED, TopicSpec, ensure_topics, load_topic_specs
from services.settings import Settings

TOPIC_PREFIX = "news.topic."
LANG_PREFIX = "news.lang."
USER_PREFIX = "news.user."
ROUTE_PREFIXES = (TOPIC_PREFIX, LANG_PREFIX, USER_PREFIX)

# IPTC Media Topics, top level: code -> slug used in topic names and `--topic` filters.
# Stable on purpose: a slug is part of a topic name consumers subscribe to.
IPTC_SLUGS: dict[str, str] = {
    "medtop:01000000": "arts",
    "medtop:02000000": "crime",
    "medtop:03000000": "disaster",
    "medtop:04000000": "economy",
    "medtop:05000000": "education",
    "medtop:06000000": "environment",
    "medtop:07000000": "health",
    "medtop:08000000": "human-interest",
    "medtop:09000000": "labour",
    "medtop:10000000": "lifestyle",
    "medtop:11000000": "politics",
    "medtop:12000000": "religion",
    "medtop:13000000": "science",
    "medtop:14000000": "society",
    "medtop:15000000": "sport",
    "medtop:16000000": "conflict",
    "medtop:17000000": "weather",
}
SLUG_CODES = {slug: code for code, slug in IPTC_SLUGS.items()}

_UNSAFE = re.compile(r"[^a-z0-9_-]+")
ALL = "all"


def slugify(text: str) -> str:
    """Lower-case, runs of anything but [a-z0-9_-] become one '-' (Kafka topic-name safe)."""
    return _UNSAFE.sub("-", text.strip().lower()).strip("-")[:100]


def topic_slug(topic: dict[str, Any]) -> str | None:
    """Slug of one `topics[]` entry: the IPTC table for known codes, else a slug of its label.

    Level-2 codes (`medtop:20000xxx`) have no slug of their own unless listed; their label is used.
    """
    code = topic.get("code")
    if isinstance(code, str) and code in IPTC_SLUGS:
        return IPTC_SLUGS[code]
    label = topic.get("label")
    slug = slugify(label) if isinstance(label, str) else ""
    if not slug and isinstance(code, str):
        slug = slugify(code.replace("medtop:", "medtop-"))
    return slug or None


def topic_matches(topic: dict[str, Any], wanted: str) -> bool:
    """Does a `topics[]` entry match a user's `--topic` value (slug, IPTC code or label)?"""
    wanted = wanted.strip().lower()
    code, label = str(topic.get("code", "")).lower(), str(topic.get("label", "")).lower()
    return wanted in (topic_slug(topic), code, label) or SLUG_CODES.get(wanted, "\0") == code


def _selection(value: str | None) -> frozenset[str] | None:
    """`all` -> None (everything); `none`/empty -> empty set; else the listed names, normalised."""
    text = (value or "").strip()
    if text.lower() == ALL:
        return None
    if text.lower() in ("", "none"):
        return frozenset()
    return frozenset(slugify(part) for part in text.split(",") if slugify(part))


@dataclass(frozen=True, slots=True)
class Routing:
    """Which routing topics the sink writes. `None` means all, an empty set means none."""

    topics: frozenset[str] | None = frozenset()
    languages: frozenset[str] | None = frozenset()
    user_topics: frozenset[str] | None = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> Routing:
        """Read `route_topics`, `route_languages`, `route_user_topics` (all off when a setting is absent)."""
        topics = _selection(getattr(settings, "route_topics", "none"))
        if topics:  # accept IPTC codes as well as slugs
            topics = frozenset(IPTC_SLUGS.get(t.replace("medtop-", "medtop:"), t) for t in topics)
        return cls(
            topics=topics,
            languages=_selection(getattr(settings, "route_languages", "none")),
            user_topics=_selection(getattr(settings, "route_user_topics", "none")),
        )

    @classmethod
    def everything(cls) -> Routing:
        return cls(topics=None, languages=None, user_topics=None)

    @property
    def enabled(self) -> bool:
        return any(s is None or s for s in (self.topics, self.languages, self.user_topics))

    def routes(self, record: dict[str, Any]) -> list[str]:
        """Logical routing topics for a unique article, in a stable order, without repeats."""
        out: list[str] = []
        for topic in record.get("topics") or ():
            slug = topic_slug(topic) if isinstance(topic, dict) else None
            if slug and (self.topics is None or slug in self.topics):
                out.append(TOPIC_PREFIX + slug)
        lang = record.get("lang")
        if isinstance(lang, str) and lang:
            code = slugify(lang)
            if (self.languages is None and code != "und") or (self.languages and code in self.languages):
                out.append(LANG_PREFIX + code)
        for user_topic in record.get("user_topics") or ():
            raw_id = user_topic.get("id") if isinstance(user_topic, dict) else None
            uid = slugify(raw_id) if isinstance(raw_id, str) else ""
            if uid and (self.user_topics is None or uid in self.user_topics):
                out.append(USER_PREFIX + uid)
        return list(dict.fromkeys(out))

    def declared_topics(self, languages: Iterable[str] = ()) -> list[str]:
        """Routing topics known before any record arrives (to create them up front).

        All configured subjects; the configured languages (for `all`: the candidate set passed in);
        listed user topics. User topics under `all` are only known from records.
        """
        names = [TOPIC_PREFIX + s for s in IPTC_SLUGS.values() if self.topics is None or s in self.topics]
        names += [TOPIC_PREFIX + s for s in sorted(self.topics or ()) if s not in SLUG_CODES]
        langs = sorted(set(languages)) if self.languages is None else sorted(self.languages)
        names += [LANG_PREFIX + slugify(code) for code in langs if slugify(code)]
        names += [USER_PREFIX + u for u in sorted(self.user_topics or ())]
        return names


def is_route(topic: str) -> bool:
    """True for a routing topic (a derived view), False for the terminal and stage topics."""
    return topic.startswith(ROUTE_PREFIXES)


def derived_spec(name: str, template: TopicSpec) -> TopicSpec:
    """A routing or versioned topic's spec: the template's settings under a new name."""
    return replace(template, name=name, description=f"derived from {template.name}")


class TopicEnsurer:
    """Creates topics the first time they are needed (routing, versioned replay outputs).

    Why: the broker refuses automatic topic creation (`auto.create.topics.enable=false`), and an
    unknown topic would block a producer until it times out. Known topics cost a set lookup.
    A name without a spec in `ops/topics.yaml` inherits the spec of its base topic (`news.enriched`
    for routing topics, `news.X` for `news.X.<version>`).
    """

    def __init__(self, settings: Settings, specs: dict[str, TopicSpec] | None = None) -> None:
        self.settings = settings
        self.specs = specs if specs is not None else load_topic_specs(settings.topics_file)
        self._known: set[str] = set()
        self._lock = asyncio.Lock()

    def assume_exist(self, names: Iterable[str]) -> None:
        """Topics known to exist already (declared in ops/topics.yaml, created by `newsflow topics`)."""
        self._known.update(names)

    def spec_for(self, name: str) -> TopicSpec:
        if name in self.specs:
            return self.specs[name]
        if is_route(name):  # also `news.topic.politics.v2`
            return derived_spec(name, self.specs[ENRICHED])
        base_name = name.rsplit(".", 1)[0]
        if base_name != name:
            return derived_spec(name, self.spec_for(base_name))
        raise LookupError(f"no spec for topic {name!r} in {self.settings.topics_file}")

    async def ensure(self, names: Iterable[str], producer: AIOKafkaProducer | None = None) -> list[str]:
        """Make sure these logical topics exist; returns the ones created or updated now.

        `producer`: a long-lived producer that will send to them; see `track_topics` for why.
        """
        missing = sorted(set(names) - self._known)
        if not missing:
            return []
        async with self._lock:
            missing = sorted(set(missing) - self._known)
            if not missing:
                return []
            changes = await ensure_topics(self.settings, {n: self.spec_for(n) for n in missing})
            created = [c.topic for c in changes if c.action == "created"]
            if created:
                await wait_for_leaders(self.settings, created)
            if producer is not None:
                await track_topics(producer, [self.settings.topic(n) for n in missing])
            self._known.update(missing)
            return [c.topic for c in changes if c.action != "unchanged"]


async def track_topics(producer: AIOKafkaProducer, topics: Iterable[str]) -> None:
    """Add physical topics to what a running producer keeps metadata for, keeping the ones it knows.

    Why: an aiokafka client whose metadata was filled for *all* topics while it tracked none (faust
    does this to its producer at startup) drops every untracked topic from its metadata on the first
    send to a topic it did not know; a batch already queued for such a topic (`news.enriched`) then
    waits forever for a leader. Measured with aiokafka 0.14 / faust 0.15.3: a worker's first send to
    a just-created routing topic stalled the dedup agent. Tracking the full set first avoids it.
    A plain `AIOKafkaProducer` (`Publisher`) tracks each topic it sends to and is not affected.
    """
    client = producer.client
    await client.set_topics(set(client.cluster.topics()) | set(topics))


async def wait_for_leaders(settings: Settings, topics: list[str], timeout: float = 30.0) -> None:
    """Wait until new topics answer on every partition (a ListOffsets round trip succeeds).

    Why: a producer that sends to a topic created a moment ago gets "not found in cluster
    metadata" and NotLeaderForPartition errors until the leaders serve; it retries, but the logs
    fill with errors. Waiting here costs a few hundred milliseconds once per new topic.
    """
    client = AIOKafkaConsumer(bootstrap_servers=settings.kafka, request_timeout_ms=30000,
                              **settings.kafka_client_options())
    await client.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                cluster = await client._client.fetch_all_metadata()
                tps = [TopicPartition(t, p) for t in topics for p in sorted(cluster.partitions_for_topic(t) or ())]
                if tps and len({tp.topic for tp in tps}) == len(set(topics)):
                    await client.end_offsets(tps)
                    return
            except KafkaError:
                pass
            if time.monotonic() > deadline:
                return  # the producer will retry on its own
            await asyncio.sleep(0.2)
    finally:
        await client.stop()


def with_routing_topics(settings: Settings, specs: dict[str, TopicSpec]) -> dict[str, TopicSpec]:
    """`specs` plus the routing topics the settings declare, each with `news.enriched`'s settings.

    For `newsflow topics`: creates the configured subject and language topics up front (for `all`
    languages: the candidate set `NEWSFLOW_LANGUAGES`). User topics under `all` appear on first use.
    """
    routing = Routing.from_settings(settings)
    names = routing.declared_topics(settings.language_set) if routing.enabled else []
    return {**specs, **{n: derived_spec(n, specs[ENRICHED]) for n in names if n not in specs}}
