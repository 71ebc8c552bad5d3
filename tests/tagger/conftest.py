"""Shared fixtures: the models take a few seconds to load, so load them once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.tagger.core import ArticleTagger
from services.tagger.language import LanguageIdentifier
from services.tagger.topics import TopicClassifier

# ../shared next to the project root (absent on machines without the shared data).
SHARED = Path(__file__).parents[2].parent / "shared"


@pytest.fixture(scope="session")
def tagger() -> ArticleTagger:
    return ArticleTagger()


@pytest.fixture(scope="session")
def identifier(tagger: ArticleTagger) -> LanguageIdentifier:
    return tagger.language


@pytest.fixture(scope="session")
def classifier(tagger: ArticleTagger) -> TopicClassifier:
    return tagger.topics


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent")
    return SHARED
