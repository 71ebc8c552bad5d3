"""Routing topics (news.topic.*, news.lang.*, news.user.*) and where cleaner rejections go."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from services.fetcher.files import DocumentReader
from services.kafka.topics import DLQ, DUPLICATES, ENRICHED, TopicSpec
from services.outcomes import Outcome
from services.pipeline import CleanStep
from services.records import SCHEMA_VERSION
from services.settings import Settings
from services.sink.core import EnrichedSink
from services.sink.routing import (
    IPTC_SLUGS,
    Routing,
    TopicEnsurer,
    is_route,
    topic_matches,
    topic_slug,
    with_routing_topics,
)
from services.sink.schemas import validator
from tests.sink.rejections import REJECTED
from tests.sink.test_sink import enriched

POLITICS = {"code": "medtop:11000000", "label": "politics", "score": 0.8}
CONFLICT = {"code": "medtop:16000000", "label": "conflict, war and peace", "score": 0.6}
ARCTIC = {"id": "arctic-security", "label": "Arctic security", "matched_terms": ["Arctic", "NATO"]}


def routed(record: dict[str, Any], routing: Routing) -> list[Outcome]:
    return EnrichedSink(routing).route(record)


def test_unique_article_is_copied_to_its_routing_topics_keyed_by_id() -> None:
    record = enriched(topics=[POLITICS, CONFLICT], lang="en", user_topics=[ARCTIC])
    outcomes = routed(record, Routing.everything())
    assert [o.topic for o in outcomes] == [
        ENRICHED, "news.topic.politics", "news.topic.conflict", "news.lang.en", "news.user.arctic-security",
    ]
    assert {o.key for o in outcomes} == {"abc123"}
    for outcome in outcomes:
        headers = dict(outcome.kafka_headers())
        assert headers["schema"] == b"enriched" and headers["schema-version"] == SCHEMA_VERSION.encode()
        assert headers["content-type"] == b"application/json"
        assert outcome.value() == outcomes[0].value()  # one record, byte-identical on every route


def test_duplicates_and_invalid_records_are_never_routed() -> None:
    everything = Routing.everything()
    assert [o.topic for o in routed(enriched("near_duplicate", topics=[POLITICS]), everything)] == [DUPLICATES]
    assert [o.topic for o in routed(enriched(topics=[POLITICS], lang_confidence=3), everything)] == [DLQ]


def test_selection_by_list_and_by_code_and_und_only_when_listed() -> None:
    only = Routing(topics=frozenset({"politics"}), languages=frozenset({"de", "und"}), user_topics=frozenset())
    assert only.routes(enriched(topics=[POLITICS, CONFLICT], lang="de")) == ["news.topic.politics", "news.lang.de"]
    assert only.routes(enriched(topics=[CONFLICT], lang="en")) == []
    assert only.routes(enriched(lang="und", topics=[])) == ["news.lang.und"]
    assert Routing.everything().routes(enriched(lang="und", topics=[])) == []
    assert Routing().routes(enriched(topics=[POLITICS], user_topics=[ARCTIC])) == []
    assert not Routing().enabled and Routing.everything().enabled


def test_settings_select_routes_and_absent_settings_route_nothing() -> None:
    assert Routing.from_settings(SimpleNamespace()) == Routing()  # type: ignore[arg-type]
    assert Routing.from_settings(SimpleNamespace(route_topics="none", route_languages="",  # type: ignore[arg-type]
                                                 route_user_topics="None")) == Routing()
    configured = SimpleNamespace(route_topics="medtop:11000000, sport", route_languages="all",
                                 route_user_topics="Arctic Security")
    routing = Routing.from_settings(configured)  # type: ignore[arg-type]
    assert routing.topics == {"politics", "sport"} and routing.languages is None
    assert routing.user_topics == {"arctic-security"}
    assert routing.routes(enriched(topics=[POLITICS], user_topics=[ARCTIC], lang="fr")) == [
        "news.topic.politics", "news.lang.fr", "news.user.arctic-security"]


def test_slugs_are_topic_safe_and_filters_accept_slug_code_or_label() -> None:
    assert len(set(IPTC_SLUGS.values())) == 17
    assert topic_slug({"code": "medtop:20000123", "label": "Elections / Voting"}) == "elections-voting"
    odd = Routing.everything().routes(enriched(user_topics=[{"id": "Grønland (DK)!", "label": "x"}], topics=[]))
    assert odd == ["news.lang.en", "news.user.gr-nland-dk"]
    assert topic_matches(POLITICS, "politics") and topic_matches(POLITICS, "medtop:11000000")
    assert topic_matches(CONFLICT, "Conflict, war and peace") and not topic_matches(CONFLICT, "politics")
    assert is_route("news.topic.politics") and not is_route(ENRICHED)


def test_route_is_idempotent() -> None:
    record = enriched(topics=[POLITICS], user_topics=[ARCTIC], processed_at="2026-01-01T00:00:00Z")
    first, second = routed(dict(record), Routing.everything()), routed(dict(record), Routing.everything())
    assert [(o.topic, o.key, o.value()) for o in first] == [(o.topic, o.key, o.value()) for o in second]


def test_topic_specs_for_routing_and_versioned_topics_inherit_their_base() -> None:
    base = TopicSpec("news.enriched", 4, 1, 2592000000, "delete", 16777216)
    dlq = TopicSpec("news.dlq", 1, 1, 2592000000, "delete", 16777216)
    ensurer = TopicEnsurer(Settings(), {"news.enriched": base, "news.dlq": dlq})
    for name in ("news.topic.politics", "news.lang.en.v2", "news.user.x", "news.enriched.v2"):
        spec = ensurer.spec_for(name)
        assert (spec.name, spec.partitions, spec.retention_ms) == (name, 4, 2592000000)
    assert ensurer.spec_for("news.dlq.v2").partitions == 1


def test_newsflow_topics_can_create_the_configured_routing_topics_up_front() -> None:
    base = {"news.enriched": TopicSpec("news.enriched", 4, 1, 2592000000, "delete", 16777216)}
    configured = SimpleNamespace(route_topics="politics,sport", route_languages="all", route_user_topics="all",
                                 language_set=["en", "de"])
    specs = with_routing_topics(configured, base)  # type: ignore[arg-type]
    assert sorted(specs) == ["news.enriched", "news.lang.de", "news.lang.en", "news.topic.politics",
                             "news.topic.sport"]
    assert specs["news.lang.de"].partitions == 4
    nothing = SimpleNamespace(language_set=["en"])
    assert with_routing_topics(nothing, base) == base  # type: ignore[arg-type]


def test_cleaner_rejections_go_to_the_dlq_with_reason_and_source(tmp_path: Path) -> None:
    settings = Settings()
    step = CleanStep(settings)
    reader = DocumentReader(settings.max_body_bytes, settings.max_message_bytes)
    for name, (content, reason) in REJECTED.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        [raw] = list(reader.read([tmp_path / name]))
        [outcome] = step(raw.value())
        assert outcome.topic == DLQ, (name, outcome.topic)
        letter = outcome.record
        assert (letter["stage"], letter["reason"]) == ("clean", reason), (name, letter["message"])
        assert letter["url"] == (tmp_path / name).as_uri() and letter["source"] == "file"
        assert letter["id"] == raw.key and validator("dlq").is_valid(letter)
