"""The worker's one thread for the stage cores, later stages first.

Why one thread: trafilatura is not thread-safe, the GIL would serialise the cores anyway, and
the event loop must stay free for fetches, commits and heartbeats. Scale out with processes.

Why later stages first: the three agents share the thread, so a record that has been cleaned
waits for the thread twice more, for tag and for dedup, and with a first-come order each wait
can be a whole clean batch (8 pages, ~100 ms, several hundred with heavy pages). Measured (1
pinned worker, 36 docs/s, Kafka CreateTimes per hop): tag's ~3 ms of work took 70 ms at the
median from news.cleaned to news.tagged, dedup's ~2 ms 78 ms from news.tagged to news.enriched.
So the thread takes dedup before tag before clean, and a long clean batch lets waiting tag and
dedup jobs run between its pages (`interleave`), at most once per `slice_s`: a record that is
further along needs less to finish, but every switch leaves the clean core's caches cold (at max
throughput, letting them in after every page cost ~10 % more CPU per document). Nothing starves:
tag and dedup only have work that clean made.
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

    `on_cpu(stage, seconds)` is told the thread CPU time of every counted job, without the time of
    jobs that ran inside it (`interleave`).
    """

    def __init__(self, on_cpu: Callable[[str, float], None] | None = None, name: str = "newsflow-stage",
                 slice_s: float = 0.0) -> None:
        self._on_cpu = on_cpu
        self._slice_s = slice_s  # a long job lets others in at most this often
        self._slice_started = 0.0
        self._heap: list[_Job] = []
        self._ready = threading.Condition()
        self._seq = itertools.count()
        self._current: list[_Job] = []  # the job running, and the jobs it let in (stage thread only)
        self._nested_cpu = 0.0  # CPU of the jobs run inside the current one (stage thread only)
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def run(self, stage: str, fn: Callable[..., T], *args: Any, count_cpu: bool = True) -> T:
        """`fn(*args)` on the stage thread, queued by `stage`'s place in STAGE_ORDER."""
        loop = asyncio.get_running_loop()
        job = _Job(-STAGE_ORDER.index(stage), next(self._seq), stage, count_cpu, fn, args, loop, loop.create_future())
        with self._ready:
            heapq.heappush(self._heap, job)
            self._ready.notify()
        return await job.future  # type: ignore[no-any-return]

    def interleave(self) -> int:
        """Run the waiting jobs of later stages than the running one, if the running one has had
        its slice; call between the items of a long job. Returns how many ran."""
        if not self._current or threading.current_thread() is not self._thread:
            return 0
        if time.perf_counter() - self._slice_started < self._slice_s:
            return 0
        urgency = self._current[-1].urgency
        ran = 0
        while True:
            with self._ready:
                if not self._heap or self._heap[0].urgency >= urgency:
                    if ran:
                        self._slice_started = time.perf_counter()
                    return ran
                job = heapq.heappop(self._heap)
            self._execute(job)
            ran += 1

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._heap:
                    self._ready.wait()
                job = heapq.heappop(self._heap)
            self._slice_started = time.perf_counter()
            self._execute(job)

    def _execute(self, job: _Job) -> None:
        outer_nested, self._nested_cpu = self._nested_cpu, 0.0
        self._current.append(job)
        started = time.thread_time()
        try:
            result, error = job.fn(*job.args), None
        except BaseException as exc:  # handed to the awaiting coroutine
            result, error = None, exc
        finally:
            self._current.pop()
            spent = time.thread_time() - started
            own, self._nested_cpu = spent - self._nested_cpu, outer_nested + spent
        if job.count_cpu and self._on_cpu is not None:
            try:
                self._on_cpu(job.stage, own)
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
