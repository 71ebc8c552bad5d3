"""The page frontier: one queue per host, worked by at most `host_concurrency` tasks per host.

Why per host: with one shared FIFO, all workers pick up the 40 pages of the first feed and wait
on that host's gate while every other host idles (head-of-line blocking). Here each host with
work gets its own few workers, so hosts proceed in parallel and each at its own pace; a global
cap on requests in flight lives in the retriever. `wait_idle` also counts delayed retries,
which sit in no queue until their time comes (so `--once` does not exit before them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Frontier(Generic[T]):
    def __init__(self, work: Callable[[T], Awaitable[None]], workers_per_host: Callable[[str], int]) -> None:
        self._work = work
        self._workers_per_host = workers_per_host
        self._queues: dict[str, deque[T]] = {}
        self._workers: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        self._outstanding = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    def put(self, item: T, host: str, delay_s: float = 0.0) -> None:
        """Add work for `host` now or after `delay_s`; it counts as outstanding from now on."""
        if self._closed:
            return
        self._outstanding += 1
        self._idle.clear()
        if delay_s <= 0:
            self._enqueue(item, host)
            return

        def release() -> None:
            self._timers.discard(handle)
            self._enqueue(item, host)

        handle = asyncio.get_running_loop().call_later(delay_s, release)
        self._timers.add(handle)

    def _enqueue(self, item: T, host: str) -> None:
        if self._closed:
            self._finished()
            return
        self._queues.setdefault(host, deque()).append(item)
        if self._workers.get(host, 0) < max(1, self._workers_per_host(host)):
            self._workers[host] = self._workers.get(host, 0) + 1
            task = asyncio.get_running_loop().create_task(self._drain(host), name=f"frontier-{host}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, host: str) -> None:
        queue = self._queues[host]
        try:
            while queue:
                item = queue.popleft()
                try:
                    await self._work(item)
                finally:
                    self._finished()
        finally:
            self._workers[host] -= 1
            if not self._workers[host] and not queue:
                self._queues.pop(host, None)
                self._workers.pop(host, None)

    def _finished(self) -> None:
        self._outstanding -= 1
        if self._outstanding <= 0:
            self._outstanding = 0
            self._idle.set()

    @property
    def outstanding(self) -> int:
        return self._outstanding

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def close(self) -> None:
        """Stop: cancel timers and workers; unfinished items stay pending in the fetch state."""
        self._closed = True
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
