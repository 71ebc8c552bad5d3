"""Fixtures for fetcher tests: a loopback news site and fetcher options that may reach it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.fetcher.options import FetchOptions
from tests.fetcher.site import Site

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SHARED_FETCH = SHARED / "data" / "fetch"


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    site = await Site().start()
    try:
        yield site
    finally:
        await site.stop()


def fast_options(**changes: object) -> FetchOptions:
    """Fast, loopback-allowed options: no pacing, short timeouts, quick retries."""
    base = FetchOptions(
        user_agent="newsflow-test/1.0 (+https://example.invalid/bot)", allow_networks="127.0.0.0/8",
        host_delay_s=0.0, host_concurrency=4, timeout_s=2.0, connect_timeout_s=2.0, retry_base_s=0.05,
        page_concurrency=4, commit_interval_s=0.02, interval_s=60, max_retry_after_s=5,
    )
    return base.replace(**changes)  # type: ignore[arg-type]


@pytest.fixture
def options() -> FetchOptions:
    return fast_options()
