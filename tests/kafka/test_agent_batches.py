"""How the dedup agent splits a batch of events: runs of one partition, order kept."""

from __future__ import annotations

from types import SimpleNamespace

from services.app import _runs_by_partition


def event(partition: int, offset: int) -> SimpleNamespace:
    return SimpleNamespace(message=SimpleNamespace(partition=partition, offset=offset))


def test_runs_keep_partition_order_and_never_merge_across_a_switch() -> None:
    events = [event(0, 5), event(0, 6), event(1, 2), event(0, 7), event(1, 3), event(1, 4)]
    runs = [(p, [e.message.offset for e in run]) for p, run in _runs_by_partition(events)]
    assert runs == [(0, [5, 6]), (1, [2]), (0, [7]), (1, [3, 4])]


def test_empty_batch_has_no_runs() -> None:
    assert _runs_by_partition([]) == []
