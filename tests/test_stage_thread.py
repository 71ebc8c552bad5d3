"""StageThread: one thread, later stages first, a long job letting waiting later stages in."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from services.stage_thread import StageThread


def test_runs_on_its_own_thread_and_returns_results() -> None:
    async def main() -> tuple[str, int]:
        stages = StageThread()
        name = await stages.run("clean", lambda: threading.current_thread().name)
        return name, await stages.run("tag", sum, [1, 2, 3])

    assert asyncio.run(main()) == ("newsflow-stage", 6)


def test_an_exception_reaches_the_caller() -> None:
    def boom() -> None:
        raise ValueError("bad page")

    async def main() -> None:
        await StageThread().run("clean", boom)

    with pytest.raises(ValueError, match="bad page"):
        asyncio.run(main())


def test_waiting_jobs_run_later_stage_first() -> None:
    order: list[str] = []
    gate = threading.Event()

    async def main() -> None:
        stages = StageThread()
        blocker = asyncio.ensure_future(stages.run("clean", gate.wait))
        await asyncio.sleep(0.05)  # the thread is busy: the next three queue up
        jobs = [asyncio.ensure_future(stages.run(stage, order.append, stage)) for stage in ("clean", "tag", "dedup")]
        await asyncio.sleep(0.05)
        gate.set()
        await asyncio.gather(blocker, *jobs)

    asyncio.run(main())
    assert order == ["dedup", "tag", "clean"]


def three_page_clean(stages: StageThread, order: list[str], started: threading.Event, go_on: threading.Event,
                     page_1_s: float = 0.0) -> Callable[[], None]:
    """A clean job of three pages that says when page 0 is on and waits there for `go_on`;
    page 1 takes `page_1_s`."""

    def pages() -> None:
        for page in range(3):
            stages.interleave()
            order.append(f"clean {page}")
            if page == 0:
                started.set()
                go_on.wait()
            if page == 1:
                time.sleep(page_1_s)

    return pages


def test_a_clean_batch_lets_tag_and_dedup_in_between_its_pages() -> None:
    order: list[str] = []
    started = threading.Event()
    go_on = threading.Event()

    async def main() -> None:
        stages = StageThread()

        batch = asyncio.ensure_future(stages.run("clean", three_page_clean(stages, order, started, go_on)))
        await asyncio.to_thread(started.wait)
        later = [asyncio.ensure_future(stages.run(s, order.append, s)) for s in ("clean", "tag", "dedup")]
        await asyncio.sleep(0.05)
        go_on.set()
        await asyncio.gather(batch, *later)

    asyncio.run(main())
    assert order == ["clean 0", "dedup", "tag", "clean 1", "clean 2", "clean"]


def test_cpu_is_counted_per_stage_without_the_jobs_run_inside() -> None:
    counted: dict[str, float] = {}

    def burn(seconds: float) -> None:
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    async def main() -> None:
        stages = StageThread(on_cpu=lambda stage, s: counted.__setitem__(stage, counted.get(stage, 0.0) + s))
        started, go_on = threading.Event(), threading.Event()

        def clean_batch() -> None:
            started.set()
            go_on.wait()
            burn(0.05)
            stages.interleave()  # the waiting tag job runs here, inside this one
            burn(0.05)

        batch = asyncio.ensure_future(stages.run("clean", clean_batch))
        await asyncio.to_thread(started.wait)
        tag = asyncio.ensure_future(stages.run("tag", burn, 0.2))
        await asyncio.sleep(0.05)
        go_on.set()
        await asyncio.gather(batch, tag)
        await stages.run("dedup", burn, 0.01, count_cpu=False)

    asyncio.run(main())
    assert set(counted) == {"clean", "tag"}
    assert counted["tag"] >= 0.2
    assert 0.1 <= counted["clean"] < 0.2  # its own 0.1 s, not the tag job's 0.2 s


def test_interleave_outside_a_job_does_nothing() -> None:
    assert StageThread().interleave() == 0


def test_a_long_job_lets_others_in_only_once_its_slice_is_over() -> None:
    order: list[str] = []
    started = threading.Event()
    go_on = threading.Event()

    async def main() -> None:
        stages = StageThread(slice_s=0.2)

        pages = three_page_clean(stages, order, started, go_on, page_1_s=0.25)  # the slice ends during page 1
        batch = asyncio.ensure_future(stages.run("clean", pages))
        await asyncio.to_thread(started.wait)
        tag = asyncio.ensure_future(stages.run("tag", order.append, "tag"))
        await asyncio.sleep(0.05)
        go_on.set()
        await asyncio.gather(batch, tag)

    asyncio.run(main())
    assert order == ["clean 0", "clean 1", "tag", "clean 2"]


def test_a_failing_metric_does_not_stop_the_thread() -> None:
    def on_cpu(stage: str, seconds: float) -> None:
        raise RuntimeError("registry gone")

    async def main() -> list[int]:
        stages = StageThread(on_cpu=on_cpu)
        return [await stages.run("tag", int, n) for n in range(3)]

    assert asyncio.run(main()) == [0, 1, 2]
