"""Topic declarations (`ops/topics.yaml`) and their idempotent creation on a cluster."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.settings import Settings

# Logical topic names used in code; physical names add Settings.topic_prefix.
RAW = "news.raw"
CLEANED = "news.cleaned"
TAGGED = "news.tagged"
ENRICHED = "news.enriched"
DUPLICATES = "news.duplicates"
DLQ = "news.dlq"
STORIES = "news.stories"
DEDUP_STATE = "news.dedup.state"

# Where each record can end: an ingested id is accounted for once it reached one of these.
TERMINAL_TOPICS = (ENRICHED, DUPLICATES, DLQ)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    retention_ms: int
    cleanup_policy: str
    max_message_bytes: int
    description: str = ""
    key: str = ""

    def configs(self) -> dict[str, str]:
        return {
            "retention.ms": str(self.retention_ms),
            "cleanup.policy": self.cleanup_policy,
            "max.message.bytes": str(self.max_message_bytes),
        }


def load_topic_specs(path: Path) -> dict[str, TopicSpec]:
    """Read `ops/topics.yaml` into specs keyed by logical name."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    defaults = doc.get("defaults", {})
    specs: dict[str, TopicSpec] = {}
    for name, spec in doc["topics"].items():
        merged = {**defaults, **spec}
        specs[name] = TopicSpec(
            name=name,
            partitions=int(merged.get("partitions", 1)),
            replication_factor=int(merged.get("replication_factor", 1)),
            retention_ms=int(merged.get("retention_ms", 604800000)),
            cleanup_policy=str(merged.get("cleanup_policy", "delete")),
            max_message_bytes=int(merged.get("max_message_bytes", 1048588)),
            description=str(merged.get("description", "")),
            key=str(merged.get("key", "")),
        )
    return specs


@dataclass(frozen=True, slots=True)
class TopicChange:
    topic: str
    action: str  # "created" | "updated" | "unchanged" | "partitions increased"
    partitions: int


async def ensure_topics(settings: Settings, specs: dict[str, TopicSpec] | None = None) -> list[TopicChange]:
    """Create missing topics and bring existing ones in line with their spec.

    Idempotent: running it twice changes nothing the second time. Partitions only grow
    (Kafka cannot shrink them); configs are set to what the spec says.
    """
    specs = specs if specs is not None else load_topic_specs(settings.topics_file)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka, request_timeout_ms=30000, **settings.kafka_client_options()
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        changes: list[TopicChange] = []
        to_create = [
            NewTopic(
                name=settings.topic(spec.name),
                num_partitions=spec.partitions,
                replication_factor=spec.replication_factor,
                topic_configs=spec.configs(),
            )
            for spec in specs.values()
            if settings.topic(spec.name) not in existing
        ]
        if to_create:
            await admin.create_topics(to_create, timeout_ms=30000)
            changes += [TopicChange(t.name, "created", t.num_partitions) for t in to_create]
        present = [spec for spec in specs.values() if settings.topic(spec.name) in existing]
        if present:
            described = {d["topic"]: d for d in await admin.describe_topics([settings.topic(s.name) for s in present])}
            grow = {}
            for spec in present:
                physical = settings.topic(spec.name)
                current = len(described.get(physical, {}).get("partitions", []))
                if current < spec.partitions:
                    grow[physical] = NewPartitions(total_count=spec.partitions)
            if grow:
                await admin.create_partitions(grow)
            current_configs = await _describe_configs(admin, [settings.topic(s.name) for s in present])
            to_alter = [
                spec for spec in present if current_configs.get(settings.topic(spec.name)) != spec.configs()
            ]
            if to_alter:
                await admin.alter_configs(
                    [ConfigResource(ConfigResourceType.TOPIC, settings.topic(s.name), s.configs()) for s in to_alter]
                )
            for spec in present:
                physical = settings.topic(spec.name)
                if physical in grow:
                    action = "partitions increased"
                elif spec in to_alter:
                    action = "updated"
                else:
                    action = "unchanged"
                changes.append(TopicChange(physical, action, max(spec.partitions, 0)))
        return changes
    finally:
        await admin.close()


async def _describe_configs(admin: AIOKafkaAdminClient, topics: list[str]) -> dict[str, dict[str, str]]:
    """Current values of the configs we manage, per topic."""
    wanted = {"retention.ms", "cleanup.policy", "max.message.bytes"}
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic) for topic in topics]
    )
    result: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.resources:
            # (error_code, error_message, resource_type, resource_name, config_entries)
            name, entries = resource[3], resource[4]
            result[name] = {entry[0]: entry[1] for entry in entries if entry[0] in wanted}
    return result
