"""Pin a worker process to one CPU (`NEWSFLOW_WORKER_CPU`), so that its threads share one core.

A worker is one Python process whose stage threads, event loop and Kafka consumer thread take
turns holding the GIL, hundreds of times a second. Left to the scheduler, those threads, the broker
and the fetcher move between cores, and every hand-over can wake a thread on another core with cold
caches. Pinned, one worker on a 2-core machine cleaned 5-23 % more documents per second at max
throughput with 7-20 % less CPU per document (five alternating pairs), and at 30 documents/s its p99
fell from 410-415 ms to 180-333 ms (two pairs). Two pinned workers on the two cores were slower at
max in 3 of 5 pairs (by 8-25 %), faster in 1, equal in 1: a pinned worker cannot move away from the
broker. So a worker is not pinned unless asked; `newsflow up`, which runs one, asks for "auto".
Values: "" (the scheduler decides), "auto" (a CPU no other worker with the same NEWSFLOW_HOME holds,
highest first, claimed by a lock file for the life of the process), or a CPU number.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from pathlib import Path

_claim: int | None = None  # the lock file's descriptor: held (and the CPU claimed) until the process exits


class AffinityError(ValueError):
    """NEWSFLOW_WORKER_CPU names a CPU this process may not run on."""


def choose_cpu(spec: str, allowed: set[int], lock_dir: Path) -> tuple[int | None, int | None]:
    """(CPU, lock file descriptor) for a NEWSFLOW_WORKER_CPU value; (None, None) when not pinning.

    "auto" takes the highest-numbered allowed CPU whose lock file in `lock_dir` no live process
    holds (CPU 0 is where the kernel and most other work lands first); when all are taken it does
    not pin. A number must be one of the allowed CPUs.
    """
    spec = spec.strip().lower()
    if not spec:
        return None, None
    if spec != "auto":
        cpu = int(spec)
        if cpu not in allowed:
            raise AffinityError(f"NEWSFLOW_WORKER_CPU={spec}: this process may run on CPUs {sorted(allowed)} only; "
                                "pick one of them, 'auto', or leave it empty")
        return cpu, None
    if len(allowed) < 2:
        return None, None  # nothing to choose, nothing to gain
    lock_dir.mkdir(parents=True, exist_ok=True)
    for cpu in sorted(allowed, reverse=True):
        fd = os.open(lock_dir / f"cpu-{cpu}.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return cpu, fd
    return None, None


def pin_to(cpu: int) -> None:
    """Move every thread of this process to `cpu`; threads started later inherit it."""
    os.sched_setaffinity(0, {cpu})
    with contextlib.suppress(FileNotFoundError):
        for task in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError):  # a thread that ended meanwhile
                os.sched_setaffinity(int(task), {cpu})


def pin_worker(spec: str, home: Path) -> int | None:
    """Apply NEWSFLOW_WORKER_CPU to this process; the CPU it now runs on, or None."""
    global _claim
    if not spec.strip() or not hasattr(os, "sched_setaffinity"):
        return None
    cpu, fd = choose_cpu(spec, set(os.sched_getaffinity(0)), home / "cpus")
    if cpu is None:  # said before logging is set up, so on stderr (the worker's log file)
        print(f"newsflow worker: NEWSFLOW_WORKER_CPU={spec}: no CPU left to claim, not pinned", file=sys.stderr)
        return None
    pin_to(cpu)
    _claim = fd
    return cpu
