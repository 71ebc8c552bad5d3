"""NEWSFLOW_WORKER_CPU: which CPU a worker takes, and that every thread follows (services/kafka/affinity.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.kafka.affinity import AffinityError, choose_cpu
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_empty_means_the_scheduler_decides(tmp_path: Path) -> None:
    assert choose_cpu("", {0, 1}, tmp_path) == (None, None)
    assert not (tmp_path / "cpu-1.lock").exists()


def test_auto_gives_each_worker_of_one_home_its_own_cpu_highest_first(tmp_path: Path) -> None:
    first, fd1 = choose_cpu("auto", {0, 1, 2}, tmp_path)
    second, fd2 = choose_cpu("auto", {0, 1, 2}, tmp_path)
    try:
        assert (first, second) == (2, 1)
        os.close(fd1)  # that worker exited: its CPU is free again
        again, fd3 = choose_cpu("auto", {0, 1, 2}, tmp_path)
        assert again == 2
        assert choose_cpu("auto", {0, 1, 2}, tmp_path)[0] == 0
        assert choose_cpu("auto", {0, 1, 2}, tmp_path) == (None, None)  # all taken: no pinning
    finally:
        for fd in (fd2, fd3):
            os.close(fd)


def test_auto_on_one_cpu_does_not_pin(tmp_path: Path) -> None:
    assert choose_cpu("auto", {3}, tmp_path) == (None, None)


def test_a_number_must_be_an_allowed_cpu(tmp_path: Path) -> None:
    assert choose_cpu("1", {0, 1}, tmp_path) == (1, None)
    with pytest.raises(AffinityError, match="CPUs \\[0, 1\\] only"):
        choose_cpu("5", {0, 1}, tmp_path)


def test_setting_accepts_empty_auto_or_a_number() -> None:
    assert Settings(worker_cpu=" Auto ").worker_cpu == "auto"
    assert Settings(worker_cpu="3").worker_cpu == "3"
    with pytest.raises(ValidationError, match="NEWSFLOW_WORKER_CPU"):
        Settings(worker_cpu="fast")


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux affinity and at least 2 CPUs")
def test_pinning_moves_threads_already_running_and_later_ones(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import os, sys, threading
        from pathlib import Path
        from services.kafka.affinity import pin_worker
        ready, stop = threading.Event(), threading.Event()
        early = threading.Thread(target=lambda: (ready.set(), stop.wait()))
        early.start(); ready.wait()
        cpu = pin_worker("auto", Path(sys.argv[1]))
        seen = {}
        late = threading.Thread(target=lambda: seen.update(late=os.sched_getaffinity(0)))
        late.start(); late.join()
        print(cpu, sorted(os.sched_getaffinity(early.native_id)), sorted(seen["late"]), sorted(os.sched_getaffinity(0)))
        stop.set(); early.join()
    """)
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True).stdout.split(maxsplit=1)
    cpu = int(out[0])
    assert cpu == max(os.sched_getaffinity(0))
    assert out[1].strip() == f"[{cpu}] [{cpu}] [{cpu}]"
