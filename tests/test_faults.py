"""Repeated kill -9 of a worker with restarts, bounded (the long version: `python -m ops.faults.kill_loop`)."""

from __future__ import annotations

from typing import Any

import pytest

from ops.faults.kill_loop import run_kill_loop

pytestmark = pytest.mark.broker


def test_repeated_kills_lose_nothing(kafka_broker: Any, tmp_path: Any) -> None:
    settings = kafka_broker.settings.model_copy(update={"home": tmp_path})
    report = run_kill_loop(settings, kills=3, docs=80, rate=10.0, interval=3.0, guarantee="at_least_once",
                           settle_timeout=180.0)
    print(f"\n{report}")
    assert report.records_in == 80
    assert report.lost == 0 and report.accounted_for == 80
