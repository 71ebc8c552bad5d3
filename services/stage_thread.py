"""Threads for the stage cores, off the event loop: clean on one, tag and dedup on another.

Why threads: the event loop must stay free for fetches, commits and heartbeats. Why not more:
trafilatura is not thread-safe (clean keeps to one thread), and the GIL serialises Python work
anyway. Scale out with processes.

Why two: on one shared thread a cleaned record waited for the thread twice more, for tag and for
dedup, behind a page being cleaned (a page cannot be cut: ~13 ms on average, several hundred for
heavy ones). The one thread ran later stages first and let them in between a batch's pages after
a 50 ms slice, and still, at half load with 1 pinned worker, tag's ~3 ms of work took 43-58 ms at
p95 from news.cleaned to news.tagged, and dedup's 47-63 ms to news.enriched. On their own thread
they wait for the GIL instead, which a busy thread must hand over every `sys.getswitchinterval()`
(5 ms). Three alternating pairs (bench `--hops`, 1 and 2 pinned workers, at 09b9d05): both hops
22-28 ms at p95 with 1 worker, p99 ingest -> news.enriched 169/199/243 ms against 334/212/277 ms,
and no more CPU per document at max throughput (15.5-18.4 ms against 17.4-18.5 ms).

On each thread later stages go first (dedup before tag): a record further along needs less to
finish, and nothing starves, since tag and dedup only have work that clean made.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

STAGE_ORDER = ("clean", "tag", "dedup")  # a later stage is more urgent


@dataclass(order=True)
class _Job:
    urgency: int  # lower runs first
    seq: int
    stage: str = field(compare=False)
    count_cpu: bool = field(compare=False)
    fn: Callable[..., Any] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False)
    loop: asyncio.AbstractEventLoop = field(compare=False)
    future: asyncio.Future[Any] = field(compare=False)


class StageThread:
    """Runs stage-core calls on one thread, the latest stage's first; results come back as awaitables.

    `on_cpu(stage, seconds)` is told the thread CPU time of every counted job.
    """

    def __init__(self, on_cpu: Callable[[str, float], None] | None = None, name: str = "newsflow-stage") -> None:
        self._on_cpu = on_cpu
        self._heap: list[_Job] = []
        self._ready = threading.Condition()
        self._seq = itertools.count()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def run(self, stage: str, fn: Callable[..., T], *args: Any, count_cpu: bool = True) -> T:
        """`fn(*args)` on this thread, queued by `stage`'s place in STAGE_ORDER."""
        loop = asyncio.get_running_loop()
        job = _Job(-STAGE_ORDER.index(stage), next(self._seq), stage, count_cpu, fn, args, loop, loop.create_future())
        with self._ready:
            heapq.heappush(self._heap, job)
            self._ready.notify()
        return await job.future  # type: ignore[no-any-return]

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._heap:
                    self._ready.wait()
                job = heapq.heappop(self._heap)
            self._execute(job)

    def _execute(self, job: _Job) -> None:
        started = time.thread_time()
        try:
            result, error = job.fn(*job.args), None
        except BaseException as exc:  # handed to the awaiting coroutine
            result, error = None, exc
        if job.count_cpu and self._on_cpu is not None:
            try:
                self._on_cpu(job.stage, time.thread_time() - started)
            except Exception:  # a metric must not stop the thread every stage waits on
                log.exception("stage thread: counting %s's CPU failed", job.stage)
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            job.loop.call_soon_threadsafe(_settle, job.future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
