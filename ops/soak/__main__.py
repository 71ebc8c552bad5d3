"""Soak test: push documents at a fixed rate through the real broker and worker(s), and watch.

    python -m ops.soak --docs 5000 --rate 20 --minutes 5 --out /tmp/soak
    python -m ops.soak --docs 600 --rate 10 --minutes 1 --workers 2 --out /tmp/soak-2w

Uses the cluster at NEWSFLOW_KAFKA when it answers (with the NEWSFLOW_KAFKA_SASL_* credentials),
else starts a local broker of its own on a free port in a temporary directory (--own-broker: always).
Fresh topics under a unique prefix, `--workers` `newsflow worker` processes. Every --interval
seconds: lag per stage, documents published / accounted for, RSS and CPU of each worker, the
broker JVM and this driver. At the end the terminal topics are read and the report says what was
lost (must be 0) and delivered twice. Writes <out>/soak.json and <out>/soak.png; exit code 0 only
when nothing was lost and no worker died.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import orjson


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ops.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=5000, help="documents to publish (default 5000)")
    parser.add_argument("--rate", type=float, default=20.0, help="documents per second offered (default 20)")
    parser.add_argument("--minutes", type=float, default=5.0,
                        help="run at least this long; publishing also stops here (default 5)")
    parser.add_argument("--workers", type=int, default=1, help="`newsflow worker` processes (default 1)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples (default 5)")
    parser.add_argument("--settle", type=float, default=300.0,
                        help="give up this many seconds after the last publish if documents are still "
                             "unaccounted for (default 300)")
    parser.add_argument("--out", type=Path, default=Path("soak-out"), help="output folder (default ./soak-out)")
    parser.add_argument("--own-broker", action="store_true",
                        help="start a local broker even if NEWSFLOW_KAFKA answers")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG (no matplotlib needed)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated documents")
    args = parser.parse_args(argv)
    if args.docs < 1 or args.rate <= 0 or args.minutes <= 0 or args.workers < 1 or args.interval <= 0:
        parser.error("--docs, --rate, --minutes, --workers and --interval must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    from rich.console import Console

    from ops.soak.run import Soak, SoakConfig, listening_pid
    from ops.soak.summary import render
    from services.broker import BrokerError, LocalBroker, free_port, is_reachable
    from services.settings import get_settings

    console = Console(stderr=True, soft_wrap=True)
    settings = get_settings()
    broker: LocalBroker | None = None
    broker_home: Path | None = None
    if not args.own_broker and is_reachable(settings.kafka, timeout=2.0,
                                            client_options=settings.kafka_client_options()):
        broker_pid = listening_pid(settings.kafka)
        console.print(f"using the cluster at {settings.kafka}"
                      + (f" (broker pid {broker_pid})" if broker_pid else " (broker RSS not sampled)"))
    else:
        broker_home = Path(tempfile.mkdtemp(prefix="newsflow-soak-"))
        settings = settings.model_copy(update={"kafka": f"127.0.0.1:{free_port()}", "home": broker_home,
                                               "controller_port": None})
        broker = LocalBroker(settings, tie_to_parent=True)
        console.print(f"starting a local broker at {settings.kafka} (data in {broker_home})")
        try:
            broker_pid = broker.start(timeout=180).pid
        except BrokerError as exc:
            console.print(f"[red]error:[/] {exc}")
            broker.stop()
            shutil.rmtree(broker_home, ignore_errors=True)
            return 2
    config = SoakConfig(docs=args.docs, rate=args.rate, minutes=args.minutes, workers=args.workers,
                        interval=args.interval, settle=args.settle, seed=args.seed)
    out: Path = args.out.resolve()
    try:
        soak = Soak(settings, config, out, broker_pid=broker_pid, own_broker=broker is not None,
                    log=lambda line: console.print(line, highlight=False))
        report = soak.execute()
    finally:
        if broker is not None:
            broker.stop()
        if broker_home is not None:
            shutil.rmtree(broker_home, ignore_errors=True)
    data = report.as_json()
    json_path = out / "soak.json"
    data["files"] = {"json": str(json_path), "worker_logs": [str(h / "worker.log") for h in soak.worker_homes]}
    if not args.no_plot:
        try:
            from ops.soak.plot import plot

            data["files"]["png"] = str(plot(data, out / "soak.png"))
        except ImportError as exc:
            console.print(f"[yellow]no chart:[/] {exc} (pip install -e '.[bench]')")
    json_path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    render(data, Console())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
