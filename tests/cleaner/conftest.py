"""Fixtures for the cleaner tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.cleaner import ArticleCleaner
from services.records import RawArticle
from tests.cleaner.builders import make_raw


@pytest.fixture
def cleaner() -> ArticleCleaner:
    return ArticleCleaner()


@pytest.fixture
def raw_factory() -> Callable[..., RawArticle]:
    return make_raw
