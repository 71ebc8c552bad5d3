"""Fixes for faust-streaming 0.15.3 bugs that lose records, applied when the worker's app is made.

Skipped messages are acknowledged (faust #216, #221, #223). `Stream.__aiter__` skips an event that
was fetched under an older consumer generation, or that arrives while flow control is off (both
happen around a rebalance), and then acks it in its `finally` block, "so the lag does not grow".
The ack marks the offset safe to commit, and the next commit moves the group past a record that
no agent ever processed. Measured here: 13 of 300 documents lost in a two-worker start-up
(`python -m ops.soak --workers 2`), a contiguous run of one `news.raw` partition.

The fix: the consumer refuses to ack a message the stream never started processing. Such a
message is exactly one that was never *tracked*, because tracking happens after the skip test.
Its offset stays uncommitted; after the rebalance Faust seeks every assigned partition back to its
committed offset, so the record is fetched again and processed by whoever owns the partition.
At worst that is a redelivery (at-least-once, idempotent ids), never a loss.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from faust.transport.consumer import Consumer

log = logging.getLogger(__name__)

_INSTALLED = "_newsflow_ack_guard"


def install() -> None:
    """Patch `faust.transport.consumer.Consumer.ack` once per process (idempotent)."""
    if getattr(Consumer.ack, _INSTALLED, False):
        return
    original = Consumer.ack

    @functools.wraps(original)
    def ack(self: Consumer, message: Any) -> bool:
        if not getattr(message, "tracked", True):
            log.debug("not acking %s[%s]@%s: skipped by the stream, never processed",
                      message.topic, message.partition, message.offset)
            return False
        return original(self, message)

    setattr(ack, _INSTALLED, True)
    Consumer.ack = ack  # type: ignore[method-assign]
