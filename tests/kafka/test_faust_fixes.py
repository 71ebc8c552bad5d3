"""The ack guard: a message Faust skipped (never tracked, never processed) is never made committable."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from faust.transport.consumer import Consumer
from faust.types.tuples import ConsumerMessage

from services.kafka import faust_fixes


def message(offset: int) -> ConsumerMessage:
    return ConsumerMessage("news.raw", 0, offset, 0.0, 0, None, b"k", b"v", None)


def fake_consumer() -> SimpleNamespace:
    """Just what Consumer.ack touches."""
    return SimpleNamespace(
        app=SimpleNamespace(topics=SimpleNamespace(acks_enabled_for=lambda topic: True)),
        _committed_offset=defaultdict(lambda: None), _acked_index=defaultdict(set), _acked=defaultdict(list),
        _unacked_messages=set(), _n_acked=0, _waiting_for_ack=None,
    )


def test_only_processed_messages_become_committable() -> None:
    faust_fixes.install()
    faust_fixes.install()  # idempotent
    consumer = fake_consumer()
    skipped, processed = message(24), message(25)
    processed.tracked = True  # what Stream.__aiter__ does before it yields an event to the agent
    assert Consumer.ack(consumer, skipped) is False  # type: ignore[arg-type]
    assert Consumer.ack(consumer, processed) is True  # type: ignore[arg-type]
    assert consumer._acked[processed.tp] == [25]
    assert not skipped.acked


def test_commits_stay_behind_a_skipped_record_until_it_is_processed() -> None:
    faust_fixes.install()
    consumer = fake_consumer()
    consumer._gap = defaultdict(list)
    skipped = message(3)
    tp = skipped.tp
    assert Consumer.ack(consumer, skipped) is False  # skipped around a rebalance (no loop: no rewind)
    for offset in (4, 5, 6):
        m = message(offset)
        m.tracked = True
        Consumer.ack(consumer, m)
    # nothing committed yet on this partition: unpatched faust would commit 7, past the skipped 3
    assert Consumer._new_offset(consumer, tp) is None
    again = message(3)
    again.tracked = True  # fetched again and processed
    Consumer.ack(consumer, again)
    assert Consumer._new_offset(consumer, tp) == 7
    nxt = message(7)
    nxt.tracked = True
    Consumer.ack(consumer, nxt)
    consumer._committed_offset[tp] = 7
    assert Consumer._new_offset(consumer, tp) == 8
