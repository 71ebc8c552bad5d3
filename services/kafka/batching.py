"""Micro-batches from a Faust stream, lingering from a batch's first record.

faust's `Stream.take_events(max_, within)` starts its timer when the agent asks for the next
batch, so an idle agent still wakes every `within` seconds. With our three agents (waits of
5, 5 and 2 ms) an idle worker woke its event loop ~1,600 times a second and used 8 % of a core
doing nothing (measured: `strace -c` and /proc CPU ticks on a worker with no input).
`take_batches` sleeps until a record arrives and then waits at most `within` for the batch to
fill, as a Kafka producer's `linger.ms` does. Under load nothing changes: batches fill while the
previous one is processed.

The body follows faust-streaming 0.15.3's `take_events` (the same buffer hand-over) with two
differences: the waiting, and acknowledging. faust acknowledges a batch in a `finally`, so also
when the agent is cancelled in the middle of it (a shutdown while its outputs are still being
sent), and its offsets may then be committed; here a batch is acknowledged only when the agent
asks for the next one. `tests/kafka/test_batching.py` pins the behaviour.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import faust
from mode.utils.futures import notify


async def take_batches(stream: faust.StreamT, max_: int, within: float) -> AsyncIterator[list[Any]]:
    """Lists of at most `max_` events: full, or `within` seconds after the batch's first event."""
    buffer: list[Any] = []
    first = asyncio.Event()  # the buffer went from empty to one event
    full = asyncio.Event()
    consumed = asyncio.Event()
    consuming: asyncio.Future[Any] | None = None  # set while the agent works on a batch
    acks_enabled = stream.enable_acks

    async def add_to_buffer(value: Any) -> Any:
        nonlocal consuming
        try:
            if consuming is not None:  # the agent is busy with a batch: hold the next event back
                try:
                    await consuming
                finally:
                    consuming = None
            event = stream.current_event
            if event is None:
                raise RuntimeError("take_batches: the stream has no current event")
            buffer.append(event)
            first.set()
            if len(buffer) >= max_:
                full.set()
                consumed.clear()
                await stream.wait(consumed)  # type: ignore[arg-type]
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            stream.log.exception("take_batches: adding to the buffer failed: %r", exc)
            await stream.crash(exc)
        return value

    stream.enable_acks = False  # events are acknowledged here, after the agent's batch
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))  # type: ignore[attr-defined]
    try:
        while not stream.should_stop:
            # (mode's wait reports a timeout as "stopped" too, hence the checks of should_stop)
            await stream.wait_for_stopped(first)  # type: ignore[arg-type]  # no timeout: an idle agent sleeps
            if stream.should_stop:
                break
            if len(buffer) < max_:
                await stream.wait_for_stopped(full, timeout=within)  # type: ignore[arg-type]
                if stream.should_stop:
                    break  # unacknowledged: redelivered after the restart
            consuming = asyncio.get_running_loop().create_future()
            try:
                yield list(buffer)
            except GeneratorExit:  # the agent stopped inside the batch: leave it unacknowledged
                buffer.clear()
                notify(consuming)
                raise
            events = list(buffer)  # the agent asked for the next batch: it is done with this one
            buffer.clear()
            first.clear()
            for event in events:
                await stream.ack(event)
            notify(consuming)
            full.clear()
            consumed.set()
    finally:
        stream.enable_acks = acks_enabled
        stream._processors.remove(add_to_buffer)  # type: ignore[attr-defined]
