"""StageThread: stage cores off the event loop, later stages first on each thread."""

from __future__ import annotations

import asyncio
import threading
import time

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


def test_cpu_is_counted_per_stage_and_only_when_asked() -> None:
    counted: dict[str, float] = {}

    def burn(seconds: float) -> None:
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    async def main() -> None:
        stages = StageThread(on_cpu=lambda stage, s: counted.__setitem__(stage, counted.get(stage, 0.0) + s))
        await stages.run("clean", burn, 0.1)
        await stages.run("tag", burn, 0.05)
        await stages.run("dedup", burn, 0.01, count_cpu=False)  # state work (restore, snapshot)

    asyncio.run(main())
    assert set(counted) == {"clean", "tag"}
    assert 0.1 <= counted["clean"] < 0.2
    assert 0.05 <= counted["tag"] < 0.15


def test_a_busy_clean_thread_does_not_hold_up_tag_on_its_own_thread() -> None:
    """The worker's layout: a tag job is done while a page is still being cleaned."""
    page_done = threading.Event()

    async def main() -> list[str]:
        cleaning, finishing = StageThread(name="clean"), StageThread(name="tag-dedup")
        order: list[str] = []

        def clean_a_long_page() -> None:
            page_done.wait(5)
            order.append("clean")

        page = asyncio.ensure_future(cleaning.run("clean", clean_a_long_page))
        await finishing.run("tag", order.append, "tag")
        page_done.set()
        await page
        return order

    assert asyncio.run(main()) == ["tag", "clean"]


def test_a_failing_metric_does_not_stop_the_thread() -> None:
    def on_cpu(stage: str, seconds: float) -> None:
        raise RuntimeError("registry gone")

    async def main() -> list[int]:
        stages = StageThread(on_cpu=on_cpu)
        return [await stages.run("tag", int, n) for n in range(3)]

    assert asyncio.run(main()) == [0, 1, 2]
