"""`take_batches`: full batches at once, a partial one `within` after its first event, nothing
while idle, and every event acknowledged only after the agent is done with its batch.

Faust's agent test context runs the agent on an in-memory channel: no broker is involved.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest

from services.kafka.batching import take_batches

WITHIN = 0.05


@pytest.fixture
def app() -> faust.App:
    return faust.App("newsflow-test-batching", broker="kafka://127.0.0.1:1", value_serializer="raw")


def collecting_agent(app: faust.App, batches: list[list[Any]], max_: int = 4,
                     acked_before: list[list[bool]] | None = None) -> Any:
    @app.agent()
    async def agent(stream: faust.StreamT) -> None:
        async for events in take_batches(stream, max_, within=WITHIN):
            batches.append([event.value for event in events])
            if acked_before is not None:
                acked_before.append([event.message.acked for event in events])

    return agent


async def until(condition: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


def test_full_batches_then_the_rest_after_the_wait(app: faust.App) -> None:
    batches: list[list[Any]] = []
    agent = collecting_agent(app, batches)

    async def scenario() -> None:
        async with agent.test_context() as running:
            for i in range(10):
                await running.put(i)
            await until(lambda: sum(map(len, batches)) == 10)

    asyncio.run(scenario())
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_a_lone_event_after_idleness_is_delivered_alone(app: faust.App) -> None:
    batches: list[list[Any]] = []
    agent = collecting_agent(app, batches)

    async def scenario() -> None:
        async with agent.test_context() as running:
            await asyncio.sleep(3 * WITHIN)  # idle for longer than the wait
            await running.put(b"late")
            await until(lambda: batches)

    asyncio.run(scenario())
    assert batches == [[b"late"]]


def test_an_idle_agent_does_not_wake_up(app: faust.App, monkeypatch: pytest.MonkeyPatch) -> None:
    """faust's take_events waits `within` in a loop; here no timer runs until a first event."""
    timers: list[float] = []
    original = asyncio.BaseEventLoop.call_later

    def counting(self: Any, delay: float, *args: Any, **kwargs: Any) -> Any:
        timers.append(delay)
        return original(self, delay, *args, **kwargs)

    monkeypatch.setattr(asyncio.BaseEventLoop, "call_later", counting)
    batches: list[list[Any]] = []
    agent = collecting_agent(app, batches)

    async def scenario() -> None:
        async with agent.test_context() as running:
            await asyncio.sleep(10 * WITHIN)
            assert WITHIN not in timers, timers
            await running.put(b"one")
            await until(lambda: batches)

    asyncio.run(scenario())
    assert batches == [[b"one"]]
    assert timers.count(WITHIN) == 1, timers  # one linger, for the one batch


def test_stopping_while_a_batch_lingers_ends_the_agent_and_acknowledges_nothing(app: faust.App) -> None:
    """The linger is cut short by the stop (not waited out), and its events are redelivered later."""
    messages: list[Any] = []
    batches: list[Any] = []

    @app.agent()
    async def agent(stream: faust.StreamT) -> None:
        async for events in take_batches(stream, 4, within=3600):
            batches.append(events)

    async def scenario() -> None:
        async with agent.test_context() as running:
            messages.append((await running.put(b"lingering")).message)
            await asyncio.sleep(WITHIN)

    asyncio.run(asyncio.wait_for(scenario(), 10))
    assert batches == []
    assert messages and not any(m.acked for m in messages)


def test_events_are_acknowledged_after_their_batch(app: faust.App) -> None:
    batches: list[list[Any]] = []
    acked_before: list[list[bool]] = []
    agent = collecting_agent(app, batches, max_=3, acked_before=acked_before)
    messages: list[Any] = []

    async def scenario() -> None:
        async with agent.test_context() as running:
            for i in range(5):
                event = await running.put(i)
                messages.append(event.message)
            await until(lambda: sum(map(len, batches)) == 5)
            await until(lambda: all(m.acked for m in messages))

    asyncio.run(scenario())
    assert batches == [[0, 1, 2], [3, 4]]
    assert acked_before == [[False] * 3, [False] * 2]  # none acknowledged while the agent held it


def test_a_batch_the_agent_does_not_finish_stays_unacknowledged(app: faust.App) -> None:
    """Stopped inside a batch (shutdown, cancellation): its events must be redelivered, not committed."""
    messages: list[Any] = []
    inside = asyncio.Event()

    @app.agent()
    async def agent(stream: faust.StreamT) -> None:
        async for _events in take_batches(stream, 2, within=WITHIN):
            inside.set()
            await asyncio.sleep(3600)  # e.g. waiting for Kafka's acknowledgement when the worker stops

    async def scenario() -> None:
        async with agent.test_context() as running:
            for i in range(2):
                messages.append((await running.put(i)).message)
            await asyncio.wait_for(inside.wait(), 5)
        # leaving the context stopped the agent in the middle of its batch

    asyncio.run(scenario())
    assert messages and not any(m.acked for m in messages)
