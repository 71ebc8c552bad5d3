#!/usr/bin/env python
"""Smoke test: do faust-streaming + aiokafka work against the broker version we run?

Why: aiokafka's CI stops at broker 2.8 and faust's broker CI is advisory, so we prove the pieces the
pipeline relies on against *our* broker before trusting it:

1. aiokafka admin creates topics (CreateTopics negotiated version);
2. an idempotent, zstd-compressed aiokafka producer writes keyed records;
3. an aiokafka consumer in a group reads them and commits; committed offsets are read back;
4. a faust worker (subprocess, like production) runs an agent that reads the source topic, updates a
   table and writes a sink topic; faust itself creates its leader topic and the table changelog;
   the sink gets every record and the faust group commits its offsets; SIGTERM stops it cleanly;
5. more records are produced, a second worker resumes from the committed offsets (no reprocessing)
   and recovers the table from its changelog (counts continue).

Usage:
    python ops/kafka/smoke_faust.py                      # against NEWSFLOW_KAFKA (default 127.0.0.1:9092)
    python ops/kafka/smoke_faust.py --bootstrap H:P
    python ops/kafka/smoke_faust.py --local-broker       # start a throw-away LocalBroker on free ports

Exit 0 and a summary on success; exit 1 with the reason (and the worker log tail) on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

PARTITIONS = 4
KEYS = 5


class SmokeFailure(Exception):
    """A step did not behave as the pipeline needs."""


# --------------------------------------------------------------------------------------------------
# faust worker (runs in a subprocess: `smoke_faust.py _worker ...`)


def run_worker(bootstrap: str, app_id: str, source: str, sink: str) -> None:
    """A tiny faust app: source → (table count) → sink. Blocks until SIGTERM."""
    import faust

    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        web_enabled=False,
        topic_partitions=PARTITIONS,
        topic_replication_factor=1,
        broker_commit_interval=1.0,
    )
    src = app.topic(source, key_type=bytes, value_serializer="json")
    dst = app.topic(sink, key_type=bytes, value_serializer="json")
    counts = app.Table("counts", default=int, key_type=str, value_type=int)

    @app.agent(src)
    async def relay(stream):  # type: ignore[no-untyped-def]
        async for event in stream.events():
            key = event.key.decode() if isinstance(event.key, bytes) else str(event.key)
            counts[key] += 1
            await dst.send(key=event.key, value={**event.value, "seen": counts[key], "by": "faust"})

    sys.argv = [sys.argv[0], "worker", "-l", "warn", "--without-web"]
    app.main()


# --------------------------------------------------------------------------------------------------
# checks (parent process)


class Timer:
    """Records how long each step took, for the summary."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        t0 = time.monotonic()
        print(f"  … {name}", flush=True)
        yield
        self.steps.append((name, time.monotonic() - t0))


async def produce(bootstrap: str, topic: str, first: int, count: int) -> None:
    """Keyed JSON records {"n": i} with an idempotent, zstd-compressed producer."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, compression_type="zstd", linger_ms=5
    )
    await producer.start()
    try:
        futures = [
            await producer.send(topic, key=f"k{i % KEYS}".encode(), value=json.dumps({"n": i}).encode())
            for i in range(first, first + count)
        ]
        await producer.flush()
        for f in futures:
            await f
    finally:
        await producer.stop()


async def aiokafka_checks(bootstrap: str, source: str, sink: str, n: int, timer: Timer) -> dict[str, object]:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        with timer.step("aiokafka admin: create topics"):
            await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in (source, sink)])
            meta = await admin.describe_topics([source])
            parts = len(meta[0]["partitions"])
            if parts != PARTITIONS:
                raise SmokeFailure(f"{source} has {parts} partitions, expected {PARTITIONS}")
    finally:
        await admin.close()

    with timer.step(f"aiokafka producer: {n} keyed records (idempotent, zstd)"):
        await produce(bootstrap, source, 0, n)

    group = f"{source}-check"
    with timer.step("aiokafka consumer group: read + commit"):
        consumer = AIOKafkaConsumer(
            source,
            bootstrap_servers=bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            got: list[int] = []
            deadline = time.monotonic() + 30
            while len(got) < n and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                got += [json.loads(m.value)["n"] for msgs in batch.values() for m in msgs]
            if sorted(got) != list(range(n)):
                raise SmokeFailure(f"consumer group read {len(got)} of {n} records")
            await consumer.commit()
            committed = 0
            for p in range(PARTITIONS):
                committed += await consumer.committed(TopicPartition(source, p)) or 0
            if committed != n:
                raise SmokeFailure(f"committed offsets sum to {committed}, expected {n}")
        finally:
            await consumer.stop()
    return {"group": group, "committed": committed}


async def read_sink(
    bootstrap: str, sink: str, n: int, timeout: float, worker: subprocess.Popen[bytes]
) -> list[dict[str, Any]]:
    """Read the sink from the beginning until `n` records arrived (fails fast if the worker died)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(sink, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            if worker.poll() is not None:
                raise SmokeFailure(f"faust worker exited early with code {worker.returncode}")
            batch = await consumer.getmany(timeout_ms=500)
            out += [json.loads(m.value) for msgs in batch.values() for m in msgs]
        if sorted(int(o["n"]) for o in out) != list(range(n)) or any(o.get("by") != "faust" for o in out):
            raise SmokeFailure(f"sink {sink} holds {len(out)} records, expected exactly n=0..{n - 1}")
        return out
    finally:
        await consumer.stop()


async def faust_group_committed(bootstrap: str, app_id: str, source: str, n: int) -> int:
    """Wait until the faust consumer group (= app id) has committed `n` offsets on `source`."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            offsets = await admin.list_consumer_group_offsets(app_id)
            committed = sum(om.offset for tp, om in offsets.items() if tp.topic == source)
            if committed >= n:
                break
            await asyncio.sleep(0.5)
        if committed != n:
            raise SmokeFailure(f"faust group {app_id} committed {committed} of {n} on {source}")
        return committed
    finally:
        await admin.close()


async def faust_internal_topics(bootstrap: str, app_id: str) -> list[str]:
    """Faust must have created its leader topic and the table changelog (PARTITIONS partitions)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = set(await admin.list_topics())
        leader, changelog = f"{app_id}-__assignor-__leader", f"{app_id}-counts-changelog"
        missing = {leader, changelog} - topics
        if missing:
            raise SmokeFailure(f"faust did not create {sorted(missing)}; topics: {sorted(topics)}")
        meta = await admin.describe_topics([changelog])
        if len(meta[0]["partitions"]) != PARTITIONS:
            raise SmokeFailure(f"{changelog} has {len(meta[0]['partitions'])} partitions")
        return sorted([leader, changelog])
    finally:
        await admin.close()


async def cleanup(bootstrap: str, prefix: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


@contextlib.contextmanager
def faust_worker(args: list[str], workdir: Path, run: int) -> Iterator[subprocess.Popen[bytes]]:
    """Run `smoke_faust.py _worker ...` as a subprocess; on failure attach its log tail."""
    worker_log = workdir / f"worker{run}.log"
    with worker_log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, __file__, "_worker", *args],
            cwd=workdir,  # faust writes <app_id>-data/ into the cwd
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        yield worker
    except BaseException as exc:
        tail = "\n".join(worker_log.read_text(errors="replace").splitlines()[-40:])
        raise SmokeFailure(f"{exc}\n--- faust worker {run} log (tail) ---\n{tail}") from exc
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    text = worker_log.read_text(errors="replace")
    if "Traceback" in text:
        raise SmokeFailure(f"faust worker {run} logged a traceback:\n{text[-4000:]}")


def stop_worker(worker: subprocess.Popen[bytes]) -> int:
    worker.send_signal(signal.SIGTERM)
    code = worker.wait(60)
    if code != 0:
        raise SmokeFailure(f"faust worker exited with {code} after SIGTERM")
    return code


def run_smoke(bootstrap: str, n: int) -> dict[str, object]:
    """All checks against `bootstrap`; raises SmokeFailure on the first problem."""
    from services.broker import probe
    from services.broker.local import parse_bootstrap

    app_id = f"smoke-{uuid.uuid4().hex[:8]}"
    source, sink = f"{app_id}-in", f"{app_id}-out"
    timer = Timer()
    host, port = parse_bootstrap(bootstrap)[0]
    api = probe(host, port).api_versions
    names = {"Produce": 0, "Fetch": 1, "Metadata": 3, "OffsetCommit": 8, "JoinGroup": 11, "CreateTopics": 19}
    summary: dict[str, object] = {
        "bootstrap": bootstrap,
        "broker_api_versions": {name: "v{}-v{}".format(*api[key]) for name, key in names.items()},
    }
    summary["aiokafka"] = asyncio.run(aiokafka_checks(bootstrap, source, sink, n, timer))
    worker_args = [bootstrap, app_id, source, sink]
    m = max(KEYS, n // 2)
    codes: list[int] = []
    try:
        with tempfile.TemporaryDirectory(prefix="smoke-faust-") as tmp:
            with faust_worker(worker_args, Path(tmp), 1) as worker:
                with timer.step("faust worker 1: agent source -> table -> sink"):
                    out = asyncio.run(read_sink(bootstrap, sink, n, 90, worker))
                with timer.step("faust worker 1: internal topics created by faust"):
                    internal = asyncio.run(faust_internal_topics(bootstrap, app_id))
                with timer.step("faust worker 1: group offsets committed"):
                    committed = asyncio.run(faust_group_committed(bootstrap, app_id, source, n))
                with timer.step("faust worker 1: SIGTERM shutdown"):
                    codes.append(stop_worker(worker))
            per_key = n // KEYS
            with timer.step(f"produce {m} more records while no worker runs"):
                asyncio.run(produce(bootstrap, source, n, m))
            with faust_worker(worker_args, Path(tmp), 2) as worker:
                with timer.step("faust worker 2: resume from committed offsets + table recovery"):
                    out = asyncio.run(read_sink(bootstrap, sink, n + m, 90, worker))
                    later = [o for o in out if int(o["n"]) >= n]
                    if min(int(o["seen"]) for o in later) <= per_key:
                        raise SmokeFailure("table was not recovered from its changelog after restart")
                    committed = asyncio.run(faust_group_committed(bootstrap, app_id, source, n + m))
                with timer.step("faust worker 2: SIGTERM shutdown"):
                    codes.append(stop_worker(worker))
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(cleanup(bootstrap, app_id))
    summary["faust"] = {
        "app_id": app_id,
        "sink_records": len(out),
        "table_count_per_key_after_restart": max(int(o["seen"]) for o in out),
        "internal_topics": internal,
        "group_committed": committed,
        "worker_exit_codes": codes,
    }
    summary["steps_s"] = {name: round(secs, 2) for name, secs in timer.steps}
    return summary


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_worker"]:
        run_worker(*argv[1:5])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--bootstrap", help="host:port (default: NEWSFLOW_KAFKA)")
    parser.add_argument("--local-broker", action="store_true", help="start a throw-away local broker")
    parser.add_argument("--messages", type=int, default=20)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="    [%(name)s] %(levelname)s %(message)s")

    from services.broker import BrokerError, LocalBroker, free_port, kafka_version
    from services.settings import Settings, get_settings

    broker = None
    tmp = None
    try:
        if args.local_broker:
            tmp = tempfile.TemporaryDirectory(prefix="smoke-broker-")
            settings = Settings(kafka=f"127.0.0.1:{free_port()}", home=Path(tmp.name), broker_heap_mb=256)
            broker = LocalBroker(settings)
            t0 = time.monotonic()
            broker.start()
            print(
                f"started local Kafka {kafka_version()} on {broker.bootstrap} in {time.monotonic() - t0:.1f}s"
            )
            bootstrap = broker.bootstrap
        else:
            bootstrap = args.bootstrap or get_settings().kafka
        import aiokafka
        import faust

        print(
            f"smoke test: faust-streaming {faust.__version__}, aiokafka {aiokafka.__version__} → {bootstrap}"
        )
        summary = run_smoke(bootstrap, args.messages)
        summary["kafka_version"] = kafka_version() if broker else "external (unknown)"
        summary["faust_version"] = faust.__version__
        summary["aiokafka_version"] = aiokafka.__version__
    except (SmokeFailure, BrokerError) as exc:
        print(f"SMOKE FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if broker is not None:
            broker.stop()
        if tmp is not None:
            tmp.cleanup()
    print("SMOKE OK")
    print(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
