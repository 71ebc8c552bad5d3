"""The fetcher's own topics, until ops/topics.yaml declares them (then the YAML wins).

Why here too: `newsflow fetch` must run against a cluster whose topics file predates the
fetcher; it creates the two topics it needs, with these specs, if the topics file lacks them.
"""

from __future__ import annotations

from services.fetcher.errors import FETCH_ERRORS
from services.fetcher.state import FETCH_STATE
from services.kafka.topics import RAW, TopicSpec, ensure_topics, load_topic_specs
from services.settings import Settings

FETCH_TOPIC_SPECS = {
    FETCH_ERRORS: TopicSpec(
        name=FETCH_ERRORS, partitions=1, replication_factor=1, retention_ms=2592000000,
        cleanup_policy="delete", max_message_bytes=16777216,
        description="Failed fetches: source, URL, class (dns, timeout, http_4xx, …), message.",
        key="source id",
    ),
    FETCH_STATE: TopicSpec(
        name=FETCH_STATE, partitions=1, replication_factor=1, retention_ms=-1,
        cleanup_policy="compact", max_message_bytes=16777216,
        description="Fetcher state: sources, validators, seen articles (compacted, one key per thing).",
        key="source:<id> | res:<url id> | doc:<article id> | alias:<url id> | file:<source>:<path>",
    ),
}


def fetch_topic_specs(settings: Settings) -> dict[str, TopicSpec]:
    """news.raw and the fetcher's topics, as the topics file declares them or with our defaults."""
    try:
        declared = load_topic_specs(settings.topics_file)
    except (OSError, KeyError):
        declared = {}
    specs = {name: declared.get(name, spec) for name, spec in FETCH_TOPIC_SPECS.items()}
    if RAW in declared:
        specs[RAW] = declared[RAW]
    max_bytes = settings.max_message_bytes
    return {name: spec if spec.max_message_bytes >= max_bytes else _with_size(spec, max_bytes)
            for name, spec in specs.items()}


def _with_size(spec: TopicSpec, max_bytes: int) -> TopicSpec:
    return TopicSpec(spec.name, spec.partitions, spec.replication_factor, spec.retention_ms,
                     spec.cleanup_policy, max_bytes, spec.description, spec.key)


async def ensure_fetch_topics(settings: Settings) -> None:
    await ensure_topics(settings, fetch_topic_specs(settings))
