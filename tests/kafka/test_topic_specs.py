from services.kafka.topics import TERMINAL_TOPICS, load_topic_specs
from services.settings import PROJECT_ROOT, Settings


def test_topics_yaml_declares_every_pipeline_topic() -> None:
    specs = load_topic_specs(PROJECT_ROOT / "ops" / "topics.yaml")
    for name in ("news.raw", "news.cleaned", "news.tagged", *TERMINAL_TOPICS):
        assert name in specs
    assert specs["news.raw"].retention_ms == -1  # the replay log is kept
    assert specs["news.tagged"].partitions == 1  # dedup's global view
    assert all(s.max_message_bytes >= Settings().max_message_bytes for s in specs.values())


def test_topic_prefix() -> None:
    assert Settings(topic_prefix="t1.").topic("news.raw") == "t1.news.raw"
