"""Shared pieces of the downstream broker tests: settings with routing on, an independent raw reader,
distinct synthetic articles, and a worker per test module."""

from __future__ import annotations

import asyncio
import random
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from services.kafka.topics import ensure_topics
from services.settings import Settings
from services.up import start_worker, stop_worker
from tests.kafka_verify import read_messages


class RoutedSettings(Settings):
    """Settings with the routing switches on (until `Settings` has them itself, child processes get
    them as NEWSFLOW_ROUTE_* through `as_env`)."""

    route_topics: str = "all"
    route_languages: str = "all"
    route_user_topics: str = "all"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_settings(bootstrap: str, home: Path, name: str, **extra: Any) -> RoutedSettings:
    run = uuid.uuid4().hex[:8]
    return RoutedSettings(kafka=bootstrap, home=home, topic_prefix=f"{name}{run}.", app_id=f"newsflow-{name}-{run}",
                          web_port=free_port(), **extra)


@contextmanager
def running_worker(settings: Settings) -> Iterator[Any]:
    """`newsflow worker` as a child process; fails the test with its log if it died meanwhile."""
    worker = start_worker(settings)
    try:
        yield worker
    finally:
        alive = worker.poll() is None
        stop_worker(worker)
        assert alive, (settings.home / "worker.log").read_text(errors="replace")[-5000:]


def ensure(settings: Settings) -> None:
    asyncio.run(ensure_topics(settings))


def read_raw(bootstrap: str, topic: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Every message of `topic` up to its current end, bytes untouched (confluent-kafka, not our code)."""
    messages = read_messages(bootstrap, topic, timeout, missing_ok=True)
    return sorted(messages, key=lambda m: (m["partition"], m["offset"]))


_WORDS = (
    "council minister harbour river bridge railway school hospital budget election court police farmers "
    "workers union factory market prices energy water storm flood drought festival museum library stadium "
    "team coach match season league airport port ship cargo bank loan tax mayor governor village town city "
    "region province coast valley mountain forest park road tunnel station bus tram ferry plan vote report "
    "inquiry study survey data results growth jobs wages rent housing homes families children students "
    "teachers doctors nurses patients clinic vaccine research scientists engineers project contract company "
    "investors shares profits losses exports imports fuel power grid solar wind turbines network signal"
).split()
_VERBS = ("approved rejected announced delayed opened closed expanded reduced reviewed criticised welcomed "
          "funded questioned confirmed promised postponed measured reported").split()


def synthetic_article(seed: int) -> str:
    """A distinct English news-like text (> 600 characters), the same for the same seed."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(9):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(9, 14))]
        words.insert(rng.randint(2, 5), rng.choice(_VERBS))
        words.insert(rng.randint(1, 3), "the")
        sentences.append(" ".join(words).capitalize() + ".")
    title = " ".join(rng.choice(_WORDS) for _ in range(6)).title()
    return title + "\n\n" + "\n\n".join(" ".join(sentences[i:i + 3]) for i in range(0, 9, 3)) + "\n"


def write_articles(folder: Path, seeds: range) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in seeds:
        path = folder / f"article-{seed:03d}.txt"
        path.write_text(synthetic_article(seed), encoding="utf-8")
        paths.append(path)
    return paths
