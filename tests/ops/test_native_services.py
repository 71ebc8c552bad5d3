"""The compose services' own commands, run natively against the real local broker.

No Docker here, so instead of `docker compose up` this takes each service's command, environment
and healthcheck from docker-compose.yml (and the cluster override) and runs them as processes:
what the containers would run is exactly what is tested. Only what differs between a container
and this machine is replaced: the bootstrap servers, NEWSFLOW_HOME, the web port (6066 in every
container), and a topic prefix and app id so the test shares the session broker safely.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from services.broker import free_port
from tests.ops.compose import ROOT, effective, newsflow_argvs

pytestmark = pytest.mark.broker

CONTAINER_WEB_PORT = "6066"
SAMPLES = ROOT / "ops" / "samples"


def newsflow(*argv: str) -> list[str]:
    """The `newsflow` entry point of the image, as this interpreter runs it."""
    return [sys.executable, "-m", "services.cli", *argv]


def service_env(service: str, broker_bootstrap: str, home: Path, prefix: str, app_id: str,
                web_port: int, cluster: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in effective(cluster=cluster)["services"][service]["environment"].items()})
    env.update({
        "NEWSFLOW_KAFKA": broker_bootstrap,
        "NEWSFLOW_HOME": str(home),
        "NEWSFLOW_TOPIC_PREFIX": prefix,
        "NEWSFLOW_APP_ID": app_id,
        "NEWSFLOW_WEB_PORT": str(web_port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    return env


@pytest.fixture
def isolation(tmp_path: Path) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    home = tmp_path / "home"
    home.mkdir()  # the image creates NEWSFLOW_HOME (/var/lib/newsflow); Faust does not create parents
    return {"prefix": f"ops{tag}.", "app_id": f"newsflow-ops-{tag}", "home": str(home)}


def run_topic_init(kafka_broker, isolation) -> subprocess.CompletedProcess[str]:
    (argv,) = newsflow_argvs(effective()["services"]["topic-init"])
    env = service_env("topic-init", kafka_broker.bootstrap, Path(isolation["home"]), isolation["prefix"],
                      isolation["app_id"], free_port())
    return subprocess.run(newsflow(*argv), env=env, capture_output=True, text=True, timeout=120)


def test_topic_init_command_creates_the_topics_and_is_idempotent(kafka_broker, isolation) -> None:
    first = run_topic_init(kafka_broker, isolation)
    assert first.returncode == 0, first.stderr
    declared = yaml.safe_load((ROOT / "ops" / "topics.yaml").read_text(encoding="utf-8"))["topics"]
    created = dict(line.split(None, 1) for line in first.stdout.splitlines() if line.strip())
    assert set(created) == {isolation["prefix"] + name for name in declared}
    assert set(created.values()) == {"created"}
    again = run_topic_init(kafka_broker, isolation)  # a restarted topic-init container
    assert again.returncode == 0, again.stderr
    assert {line.split(None, 1)[1] for line in again.stdout.splitlines() if line.strip()} == {"unchanged"}


def cluster_topic_init_script(tmp_path: Path) -> tuple[list[str], Path]:
    service = effective(cluster=True)["services"]["topic-init"]
    argv = [*service["entrypoint"], *service["command"]]
    assert argv[:2] == ["sh", "-c"]
    generated = tmp_path / "topics.yaml"
    script = argv[2].replace("/app/ops/topics.yaml", str(ROOT / "ops" / "topics.yaml"))
    script = script.replace("/tmp/topics.yaml", str(generated))
    return ["sh", "-c", script], generated


def test_cluster_topic_init_raises_the_replication_factor(tmp_path: Path) -> None:
    argv, generated = cluster_topic_init_script(tmp_path)
    only_generate = [*argv[:2], argv[2].split("&&")[0]]
    env = {**os.environ, "TOPIC_REPLICATION_FACTOR": "3"}
    done = subprocess.run(only_generate, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    original = yaml.safe_load((ROOT / "ops" / "topics.yaml").read_text(encoding="utf-8"))
    derived = yaml.safe_load(generated.read_text(encoding="utf-8"))
    assert derived["defaults"]["replication_factor"] == 3
    assert derived["topics"] == original["topics"]
    assert {k: v for k, v in derived["defaults"].items() if k != "replication_factor"} == {
        k: v for k, v in original["defaults"].items() if k != "replication_factor"
    }


def test_cluster_topic_init_runs(kafka_broker, isolation, tmp_path: Path) -> None:
    """The whole cluster script (generate, then `exec newsflow topics`), with a factor of 1 because
    the local broker is a single node."""
    argv, generated = cluster_topic_init_script(tmp_path)
    env = service_env("topic-init", kafka_broker.bootstrap, Path(isolation["home"]), isolation["prefix"],
                      isolation["app_id"], free_port(), cluster=True)
    env["TOPIC_REPLICATION_FACTOR"] = "1"
    env["NEWSFLOW_TOPICS_FILE"] = str(generated)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "created" in done.stdout


# --- the worker ---------------------------------------------------------------------------------


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples, name: str, **labels: str) -> float:
    return sum(v for (n, lbl), v in samples.items()
               if n == name and all(dict(lbl).get(k) == want for k, want in labels.items()))


@pytest.fixture
def worker(kafka_broker, isolation, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, int, dict[str, str]]]:
    assert run_topic_init(kafka_broker, isolation).returncode == 0
    services = effective()["services"]
    (argv,) = newsflow_argvs(services["worker"])
    port = free_port()
    env = service_env("worker", kafka_broker.bootstrap, Path(isolation["home"]), isolation["prefix"],
                      isolation["app_id"], port)
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(newsflow(*argv), env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        yield process, port, env
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        log.close()


def healthcheck(port: int) -> list[str]:
    """The worker's compose healthcheck, pointed at this worker's port."""
    test = effective()["services"]["worker"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    return [sys.executable if word == "python" else word.replace(f":{CONTAINER_WEB_PORT}/", f":{port}/")
            for word in test[1:]]


def wait_for(predicate, timeout: float, what: str, process: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-4000:]
            pytest.fail(f"worker exited ({process.returncode}) while waiting for {what}:\n{tail}")
        result = predicate()
        if result:
            return result
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")


def test_worker_command_serves_health_ready_and_moving_metrics(worker, tmp_path: Path) -> None:
    process, port, env = worker
    log = tmp_path / "worker.log"
    check = healthcheck(port)
    assert any(f":{port}/health" in word for word in check)

    def healthy() -> bool:
        return subprocess.run(check, capture_output=True, timeout=10).returncode == 0

    wait_for(healthy, 180, "the compose healthcheck to pass", process, log)

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    wait_for(ready, 120, "/ready (partitions assigned)", process, log)

    before = scrape(port)
    assert total(before, "newsflow_records_in_total") == 0
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")  # what Prometheus expects

    ingest = subprocess.run(newsflow("ingest", str(SAMPLES)), env=env, capture_output=True, text=True,
                            timeout=120)
    assert ingest.returncode == 0, ingest.stderr
    published = int(re.search(r"published (\d+) record", ingest.stdout).group(1))
    assert published > 0

    def processed():
        samples = scrape(port)
        cleaned = total(samples, "newsflow_records_in_total", stage="clean")
        terminal = sum(total(samples, "newsflow_records_out_total", topic=t)
                       for t in ("news.enriched", "news.duplicates"))
        return samples if cleaned >= published and terminal > 0 else None

    samples = wait_for(processed, 240, "the counters to move", process, log)
    assert total(samples, "newsflow_records_in_total", stage="clean") == published
    for stage in ("clean", "tag", "dedup"):
        assert total(samples, "newsflow_stage_seconds_count", stage=stage) > 0, stage
        assert total(samples, "newsflow_stage_cpu_seconds_total", stage=stage) > 0, stage
    assert total(samples, "process_cpu_seconds_total") > 0
    assert total(samples, "newsflow_end_to_end_seconds_count") > 0
    assert total(samples, "newsflow_dedup_verdicts_total") > 0

    def caught_up():
        """news.raw partitions reported, and every one at lag 0 once the commits land."""
        lag = [(dict(lbl), v) for (n, lbl), v in scrape(port).items() if n == "newsflow_consumer_lag"]
        raw = [v for lbl, v in lag if lbl["topic"] == f"{env['NEWSFLOW_TOPIC_PREFIX']}news.raw"]
        return lag if raw and all(v == 0 for v in raw) else None

    lag = wait_for(caught_up, 60, "newsflow_consumer_lag of news.raw to reach 0", process, log)
    assert all(value >= 0 for _, value in lag)

    # `docker compose stop` sends SIGTERM and waits stop_grace_period (30 s) before killing.
    process.send_signal(signal.SIGTERM)
    grace = float(re.fullmatch(r"(\d+)s", effective()["services"]["worker"]["stop_grace_period"]).group(1))
    assert process.wait(timeout=grace) is not None
