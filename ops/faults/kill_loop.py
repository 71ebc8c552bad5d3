"""Kill a worker again and again while documents stream in; then count what was lost or doubled.

    python -m ops.faults.kill_loop --kills 20 --docs 600 --guarantee at_least_once
    python -m ops.faults.kill_loop --kills 20 --docs 600 --guarantee exactly_once

Starts its own local broker (or uses NEWSFLOW_KAFKA if it answers), fresh topics under a unique
prefix, one `newsflow worker` child process. Documents are published at a fixed rate; every
`--interval` seconds the worker gets SIGKILL and is restarted. At the end the terminal topics are
read (read_committed) and the report says: kills survived, records in, accounted for, lost (must
be 0) and delivered twice.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from services.broker import LocalBroker, free_port, is_reachable
from services.fetcher.files import DocumentReader
from services.kafka.clients import Publisher, TopicReader
from services.kafka.topics import TERMINAL_TOPICS, ensure_topics
from services.settings import Settings, get_settings
from services.up import start_child, stop_worker

WORDS = """
harbour council river bridge school hospital museum railway election budget festival market factory airport
library stadium court police garden tram ferry vineyard orchestra mayor union drought storm research satellite
vaccine tariff pension housing energy transport climate minister parliament court verdict strike
""".split()


@dataclass
class KillReport:
    guarantee: str
    kills: int
    records_in: int
    accounted_for: int
    lost: int
    delivered_twice: int
    seconds: float


def write_documents(folder: Path, count: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    for n in range(count):
        text = " ".join(" ".join(rng.choice(WORDS) for _ in range(14)).capitalize() + "." for _ in range(8))
        path = folder / f"doc-{n:05d}.txt"
        path.write_text(f"Dispatch {n}. {text}", encoding="utf-8")
        paths.append(path)
    return paths


async def publish_at_rate(settings: Settings, paths: list[Path], rate: float) -> list[str]:
    reader = DocumentReader(settings.max_body_bytes, settings.max_message_bytes - 65536)
    ids: list[str] = []
    async with Publisher(settings) as publisher:
        start = time.monotonic()
        for n, path in enumerate(paths):
            outcomes = list(reader.read([path]))
            await publisher.publish(outcomes)
            ids += [o.key for o in outcomes if o.key]
            await asyncio.sleep(max(0.0, start + (n + 1) / rate - time.monotonic()))
    return ids


async def terminal_ids(settings: Settings, read_committed: bool) -> Counter[str]:
    seen: Counter[str] = Counter()
    topics = [settings.topic(t) for t in TERMINAL_TOPICS]
    async with TopicReader(settings, read_committed=read_committed) as reader:
        await reader.assign(dict.fromkeys([tp for t in topics for tp in await reader.partitions(t)]))
        async for message in reader.messages(idle_timeout=3.0):
            record = orjson.loads(message.value) if message.value else {}
            if isinstance(record, dict) and record.get("id"):
                seen[record["id"]] += 1
    return seen


def run_kill_loop(base: Settings, kills: int, docs: int, rate: float, interval: float, guarantee: str,
                  settle_timeout: float = 300.0, log=print) -> KillReport:
    run = uuid.uuid4().hex[:8]
    settings = base.model_copy(update={
        "topic_prefix": f"kill{run}.", "app_id": f"newsflow-kill-{run}", "processing_guarantee": guarantee,
        "web_port": free_port(), "session_timeout_s": 6.0,
    })
    asyncio.run(ensure_topics(settings))
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_documents(Path(tmp), docs, seed=len(run))

        async def drive() -> list[str]:
            publishing = asyncio.create_task(publish_at_rate(settings, paths, rate))
            worker = start_child(settings, ["worker"], "worker.log")
            for kill in range(kills):
                await asyncio.sleep(interval * random.uniform(0.6, 1.4))
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                log(f"kill {kill + 1}/{kills}")
                worker = start_child(settings, ["worker"], "worker.log")
            ids = await publishing
            deadline = time.monotonic() + settle_timeout
            while time.monotonic() < deadline:  # let the last worker finish the stream
                seen = await terminal_ids(settings, read_committed=True)
                if all(i in seen for i in ids):
                    break
                await asyncio.sleep(2)
            stop_worker(worker)
            return ids

        ids = asyncio.run(drive())
    seen = asyncio.run(terminal_ids(settings, read_committed=True))
    expected = set(ids)
    accounted = sum(1 for i in expected if i in seen)
    return KillReport(guarantee, kills, len(expected), accounted, len(expected) - accounted,
                      sum(1 for i in expected if seen[i] > 1), round(time.monotonic() - started, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--rate", type=float, default=10.0, help="documents per second offered")
    parser.add_argument("--interval", type=float, default=3.0, help="mean seconds between kills")
    parser.add_argument("--guarantee", choices=["at_least_once", "exactly_once"], default="at_least_once")
    args = parser.parse_args()
    settings = get_settings()
    broker = None
    if not is_reachable(settings.kafka, timeout=2.0, client_options=settings.kafka_client_options()):
        home = Path(tempfile.mkdtemp(prefix="newsflow-kill-"))
        settings = settings.model_copy(update={"kafka": f"127.0.0.1:{free_port()}", "home": home})
        broker = LocalBroker(settings)
        broker.start()
    try:
        report = run_kill_loop(settings, args.kills, args.docs, args.rate, args.interval, args.guarantee)
    finally:
        if broker is not None:
            broker.stop()
    print(orjson.dumps(asdict(report), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
