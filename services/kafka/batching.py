"""Micro-batches from a Faust stream, lingering from a batch's first record.

faust's `Stream.take_events(max_, within)` starts its timer when the agent asks for the next
batch, so an idle agent still wakes every `within` seconds. With our three agents (waits of
5, 5 and 2 ms) an idle worker woke its event loop ~1,600 times a second and used 8 % of a core
doing nothing (measured: `strace -c` and /proc CPU ticks on a worker with no input).
`take_batches` sleeps until a record arrives and then waits at most `within` for the batch to
fill, as a Kafka producer's `linger.ms` does. Under load nothing changes: batches fill while the
previous one is processed.

The waits are plain `asyncio.Event`s and a timer, and one watcher task wakes them when the stream
stops. mode's `Service.wait_for_stopped`, which `take_events` uses, creates and cancels three
tasks per wait, two waits per batch: at half load, one record per batch, that was 1.4 and 18 more
main-loop steps per document in two A/B pairs (1 worker, 24 docs/s), the worker's CPU per
document the same within the host's noise.

The body follows faust-streaming 0.15.3's `take_events` (the same buffer hand-over) with two
differences besides the waits: when the timer starts, and acknowledging. faust acknowledges a
batch in a `finally`, so also when the agent is cancelled in the middle of it (a shutdown while
its outputs are still being sent), and its offsets may then be committed; here a batch is
acknowledged only when the agent asks for the next one. `tests/kafka/test_batching.py` pins the
behaviour.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import faust
from mode.utils.futures import notify


async def take_batches(stream: faust.StreamT, max_: int, within: float) -> AsyncIterator[list[Any]]:
    """Lists of at most `max_` events: full, or `within` seconds after the batch's first event."""
    loop = asyncio.get_running_loop()
    buffer: list[Any] = []
    first = asyncio.Event()  # the buffer went from empty to one event
    due = asyncio.Event()  # the buffer is full, or the batch has waited `within`
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
                due.set()
                consumed.clear()
                await consumed.wait()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            stream.log.exception("take_batches: adding to the buffer failed: %r", exc)
            await stream.crash(exc)
        return value

    stopped = False  # kept here: a stream resets its own flags soon after stopping

    async def wake_all_when_stopped() -> None:
        nonlocal stopped
        await stream.wait_until_stopped()
        stopped = True
        for event in (first, due, consumed):
            event.set()

    stream.enable_acks = False  # events are acknowledged here, after the agent's batch
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))  # type: ignore[attr-defined]
    watcher = asyncio.ensure_future(wake_all_when_stopped())
    try:
        while not stopped:
            await first.wait()  # no timeout: an idle agent sleeps
            if stopped:
                break
            if len(buffer) < max_:
                timer = loop.call_later(within, due.set)
                try:
                    await due.wait()
                finally:  # also when the agent is cancelled during the wait
                    timer.cancel()
                if stopped:
                    break  # unacknowledged: redelivered after the restart
            consuming = loop.create_future()
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
            due.clear()
            consumed.set()
    finally:
        watcher.cancel()
        stream.enable_acks = acks_enabled
        stream._processors.remove(add_to_buffer)  # type: ignore[attr-defined]
