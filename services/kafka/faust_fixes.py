"""Fixes for faust-streaming 0.15.3 bugs that lose records, applied when the worker's app is made.

Skipped messages are acknowledged (faust #216, #221, #223). `Stream.__aiter__` skips an event that
was fetched under an older consumer generation, or that arrives while flow control is off (both
happen around a rebalance), and then acks it in its `finally` block, "so the lag does not grow".
The ack marks the offset safe to commit, and the next commit moves the group past a record that
no agent ever processed. Measured here: 13 of 300 documents lost in a two-worker start-up
(`python -m ops.soak --workers 2`), a contiguous run of one `news.raw` partition.

The fix: the consumer refuses to ack a message the stream never started processing. Such a
message is exactly one that was never *tracked*, because tracking happens after the skip test.
Its offset stays uncommitted, and if this worker still owns the partition the consumer is sent
back to the lowest skipped offset, so the record is fetched again and processed. (Not acking
alone is not enough: measured, a partition then stalled at the gap with its records never
re-fetched.) A partition that moved to another worker is read there from the committed offset,
which never passed the skipped record. At worst a redelivery (at-least-once, idempotent ids),
never a loss.

A second guard keeps commits behind a skipped record until it has been processed: Faust's
`Consumer._new_offset` commits the first consecutive run of acked offsets, and when the partition
has no committed offset yet it does not notice a gap at the head of that run (`if committed_offset:`
is false for None and 0), so the offsets after a skipped record could be committed past it. The
patched `_new_offset` never returns an offset beyond the lowest skipped, not yet processed one.
"""

from __future__ import annotations

import asyncio
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

    original_new_offset = Consumer._new_offset

    @functools.wraps(original)
    def ack(self: Consumer, message: Any) -> bool:
        if not getattr(message, "tracked", True):
            log.info("not acking %s[%s]@%s: skipped by the stream around a rebalance; re-reading it",
                     message.topic, message.partition, message.offset)
            _skipped(self).setdefault(message.tp, set()).add(message.offset)
            _rewind(self, message.tp, message.offset)
            return False
        done = original(self, message)
        pending = _skipped(self).get(message.tp)
        if pending:
            pending.discard(message.offset)  # re-read and processed now
        return done

    @functools.wraps(original_new_offset)
    def new_offset(self: Consumer, tp: Any) -> int | None:
        pending = _skipped(self).get(tp)
        committed = self._committed_offset[tp]
        if pending and committed is not None:
            pending.difference_update([o for o in pending if o < committed])  # processed elsewhere
        if not pending:
            return original_new_offset(self, tp)
        # Let faust see only the acked offsets below the lowest skipped one; keep the others (its
        # bookkeeping drops what it commits) for when the skipped record has been processed.
        low = min(pending)
        acked = self._acked[tp]
        above = [o for o in acked if o >= low]
        acked[:] = [o for o in acked if o < low]
        try:
            return original_new_offset(self, tp)
        finally:
            acked.extend(above)
            acked.sort()

    setattr(ack, _INSTALLED, True)
    Consumer.ack = ack  # type: ignore[method-assign]
    Consumer._new_offset = new_offset  # type: ignore[method-assign]


def _skipped(consumer: Consumer) -> dict[Any, set[int]]:
    """Offsets the stream skipped and that have not been processed since, per partition."""
    return consumer.__dict__.setdefault("_newsflow_skipped", {})  # type: ignore[no-any-return]


_TASKS: set[asyncio.Task[None]] = set()
REWIND_DELAY_S = 0.5  # collect the skipped run (they come in a burst) and let the rebalance settle


def _rewind(consumer: Consumer, tp: Any, offset: int) -> None:
    """Seek `tp` back to `offset` soon, once for a burst of skipped messages (the lowest offset wins)."""
    pending: dict[Any, int] = consumer.__dict__.setdefault("_newsflow_rewind", {})
    if tp in pending:
        pending[tp] = min(pending[tp], offset)
        return
    pending[tp] = offset
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not on the event loop (tests): the offset simply stays uncommitted
        pending.pop(tp, None)
        return
    task = loop.create_task(_seek_later(consumer, tp, pending))
    _TASKS.add(task)  # the loop keeps only a weak reference
    task.add_done_callback(_TASKS.discard)


async def _seek_later(consumer: Consumer, tp: Any, pending: dict[Any, int]) -> None:
    await asyncio.sleep(REWIND_DELAY_S)
    offset = pending.pop(tp, None)
    if offset is None:
        return
    try:
        if tp not in consumer.assignment():
            return  # its new owner reads it from the committed offset
        await consumer.seek(tp, offset)
        log.info("re-reading %s[%s] from offset %s (skipped around a rebalance)", tp.topic, tp.partition, offset)
    except Exception:
        log.exception("could not seek %s back to %s; it is re-read after the next rebalance", tp, offset)
