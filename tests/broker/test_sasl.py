"""SASL/PLAIN end to end: a local broker of its own with a SASL_PLAINTEXT listener, every client path.

With the right credentials `newsflow topics`, the Publisher/TopicReader clients, a `newsflow worker`
(Faust), `newsflow ingest`/`tail`/`status` and the reachability probe all work; with a wrong
password each fails promptly with an authentication error (never a hang); and the password shows
in no log, help text or repr. Never touches the shared session broker: own port, own tmp home.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from aiokafka.errors import KafkaConnectionError
from pydantic import SecretStr

from services.broker import BrokerError, LocalBroker, SaslAuthenticationError, free_port, is_reachable, probe
from services.kafka.clients import Publisher, TopicReader
from services.kafka.topics import TopicSpec, ensure_topics
from services.outcomes import Outcome
from services.settings import PROJECT_ROOT, Settings
from services.up import start_worker, stop_worker
from tests.local_broker import own_broker

SAMPLES = PROJECT_ROOT / "ops" / "samples"
DOCS = [SAMPLES / "bahnstreik-de.txt", SAMPLES / "harbourton-flood-wall-gazette.txt"]  # both unique articles
USER = "newsflow-client"
CLI_TIMEOUT = 180  # generous (2 shared cores); a hang fails the test through TimeoutExpired
WORKER_EXIT_TIMEOUT = 120


@dataclass(frozen=True)
class SaslBroker:
    broker: LocalBroker
    settings: Settings
    password: str
    marker: str  # the distinctive part of the password: searched for in logs and output

    def env(self, settings: Settings | None = None) -> dict[str, str]:
        """A child's environment: no NEWSFLOW_* from outside (the session may point elsewhere) + ours."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")}
        return {**base, **(settings or self.settings).as_env()}

    def bad(self, **update: object) -> Settings:
        return self.settings.model_copy(update={"kafka_sasl_password": SecretStr(f"wrong-{self.marker[::-1]}"),
                                                **update})

    def hidden_in(self, text: str) -> bool:
        return self.marker not in text and self.password not in text


def cli(args: list[str], env: dict[str, str], timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, cwd=PROJECT_ROOT)


@pytest.fixture(scope="module")
def sasl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaslBroker]:
    marker = secrets.token_hex(12)
    password = f'pw-{marker}-"q\\ x'  # a quote, a backslash and a blank: JAAS and .properties escaping
    settings = Settings(
        kafka=f"127.0.0.1:{free_port()}", home=tmp_path_factory.mktemp("sasl-home"), broker_heap_mb=256,
        controller_port=None, kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username=USER, kafka_sasl_password=password, app_id="newsflow-sasl", web_port=free_port(),
        session_timeout_s=8.0,
    )
    with own_broker(settings, "the SASL broker") as broker:  # SASL from the settings
        assert broker.sasl_enabled
        yield SaslBroker(broker, settings, password, marker)


# --- configuration (no broker) -----------------------------------------------------------------


def test_unsupported_sasl_configurations_are_refused(tmp_path: Path) -> None:
    base = {"kafka": f"127.0.0.1:{free_port()}", "home": tmp_path, "kafka_sasl_username": "u"}
    secret = "do-not-print-me"
    cases = [
        ({"kafka_sasl_mechanism": "SCRAM-SHA-256", "kafka_sasl_password": secret}, "PLAIN only"),
        ({"kafka_sasl_mechanism": "PLAIN", "kafka_sasl_password": secret, "kafka_security_protocol": "SASL_SSL"},
         "TLS"),
        ({"kafka_sasl_mechanism": "PLAIN"}, "NEWSFLOW_KAFKA_SASL_PASSWORD"),
        ({"kafka_sasl_mechanism": "PLAIN", "kafka_sasl_password": secret, "kafka_sasl_username": "bad name"},
         "not allowed"),
    ]
    for update, expected in cases:
        with pytest.raises(BrokerError, match=expected) as info:
            LocalBroker(Settings(**{**base, **update}))
        assert secret not in str(info.value)
    assert not LocalBroker(Settings(kafka=base["kafka"], home=tmp_path)).sasl_enabled  # default stays PLAINTEXT
    explicit = LocalBroker(Settings(kafka=base["kafka"], home=tmp_path), sasl_users={"alice": secret})
    assert explicit.sasl_enabled and secret not in repr(explicit)


def test_settings_spelling_and_mechanism_implies_sasl() -> None:
    settings = Settings(kafka_security_protocol="sasl_plaintext", kafka_sasl_mechanism="plain",
                        kafka_sasl_username="u", kafka_sasl_password="p")
    assert settings.kafka_client_options()["security_protocol"] == "SASL_PLAINTEXT"
    assert settings.kafka_client_options()["sasl_mechanism"] == "PLAIN"
    # a mechanism without the protocol: clients authenticate anyway, as Faust's credentials do
    forgot = Settings(kafka_sasl_mechanism="PLAIN", kafka_sasl_username="u", kafka_sasl_password="p")
    assert forgot.kafka_protocol == "SASL_PLAINTEXT"
    assert Settings().kafka_client_options() == {"security_protocol": "PLAINTEXT"}
    with pytest.raises(ValueError, match="must be one of"):
        Settings(kafka_security_protocol="SASL-PLAINTEXT")


# --- the broker itself ---------------------------------------------------------------------------


@pytest.mark.broker
def test_listener_requires_authentication(sasl: SaslBroker) -> None:
    broker = sasl.broker
    host, port = broker.host, broker.port
    st = broker.status()
    assert st.running and st.answering
    assert probe(host, port, sasl_plain=(USER, sasl.password)).brokers == [(1, host, port)]
    with pytest.raises(SaslAuthenticationError, match="Invalid username or password"):
        probe(host, port, sasl_plain=(USER, "wrong"))
    with pytest.raises(ConnectionError):  # metadata before authentication: the broker hangs up
        probe(host, port)
    assert is_reachable(broker.bootstrap, timeout=5, client_options=sasl.settings.kafka_client_options())
    assert not is_reachable(broker.bootstrap, timeout=5, client_options=sasl.bad().kafka_client_options())
    assert not is_reachable(broker.bootstrap, timeout=5)  # PLAINTEXT client

    props = broker.properties_file.read_text()
    assert "listeners=SASL_PLAINTEXT://" in props and "CONTROLLER:PLAINTEXT" in props
    for secret_file in (broker.properties_file, broker.sasl_file, broker.client_properties_file):
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600, secret_file
    # Kafka's own tools authenticate with the broker user's client.properties
    listed = broker.run_tool("org.apache.kafka.tools.TopicCommand", [
        "--bootstrap-server", broker.bootstrap, "--list", "--command-config", str(broker.client_properties_file)])
    assert listed.returncode == 0, listed.stderr
    # a second LocalBroker object (e.g. `newsflow broker status` in another shell) sees it answering,
    # starting again is a no-op, and starting it with another password says the running one differs
    assert LocalBroker(sasl.settings).status().answering
    assert LocalBroker(sasl.settings).start(timeout=60).pid == st.pid
    with pytest.raises(BrokerError, match="refuses SASL user") as info:
        LocalBroker(sasl.bad()).start(timeout=60)
    assert sasl.hidden_in(str(info.value))
    assert broker.status().pid == st.pid


# --- clients with the right credentials -------------------------------------------------------------


@pytest.mark.broker
def test_topics_command_and_broker_status(sasl: SaslBroker) -> None:
    topics = cli(["topics"], sasl.env())
    assert topics.returncode == 0, topics.stderr
    assert "news.raw" in topics.stdout and "news.enriched" in topics.stdout
    again = cli(["topics"], sasl.env())  # idempotent, and describe/alter configs work over SASL too
    assert again.returncode == 0 and "unchanged" in again.stdout, again.stderr
    status = cli(["broker", "status"], sasl.env())
    assert status.returncode == 0 and "answering: True" in status.stdout, status.stdout + status.stderr
    for out in (topics, again, status):
        assert sasl.hidden_in(out.stdout + out.stderr)


@pytest.mark.broker
def test_publisher_and_topic_reader(sasl: SaslBroker) -> None:
    spec = TopicSpec("sasl.roundtrip", 2, 1, 3_600_000, "delete", sasl.settings.max_message_bytes)

    async def roundtrip() -> list[dict]:
        await ensure_topics(sasl.settings, {spec.name: spec})
        async with Publisher(sasl.settings) as publisher:
            sent = await publisher.publish(Outcome(spec.name, f"k{i}", {"n": i}) for i in range(5))
        assert sent == 5
        async with TopicReader(sasl.settings) as reader:
            await reader.assign(dict.fromkeys(await reader.partitions(spec.name)))
            got = [m.record() async for m in reader.messages(idle_timeout=5.0)]
        return got

    got = asyncio.run(asyncio.wait_for(roundtrip(), 120))
    assert sorted(r["n"] for r in got) == list(range(5))


@pytest.mark.broker
def test_worker_end_to_end(sasl: SaslBroker, caplog: pytest.LogCaptureFixture) -> None:
    """`newsflow worker` (Faust) + `newsflow ingest` + `newsflow tail` + `newsflow status`, all over SASL."""
    assert cli(["topics"], sasl.env()).returncode == 0
    caplog.set_level(logging.DEBUG)
    worker = start_worker(sasl.settings)  # env from Settings.as_env(), as `newsflow up` does it
    try:
        ingest = cli(["ingest", *map(str, DOCS)], sasl.env())
        assert ingest.returncode == 0, ingest.stderr
        assert "published 2 record(s) to news.raw" in ingest.stdout
        tail = cli(["tail", "news.enriched", "--from-beginning", "-n", "2", "--idle-timeout", "150"], sasl.env())
        assert tail.returncode == 0, tail.stderr
        records = [orjson.loads(line) for line in tail.stdout.splitlines() if line.strip()]
        assert sorted(r["url"].rsplit("/", 1)[-1] for r in records) == sorted(p.name for p in DOCS), tail.stdout
        assert all(r.get("lang") and r.get("text") for r in records)
        assert worker.poll() is None, "worker died"
        status = cli(["status"], sasl.env())  # admin client: groups, committed offsets, DLQ
        assert status.returncode == 0, status.stderr
        assert f"group {sasl.settings.app_id}" in status.stdout
        outputs = ingest.stdout + ingest.stderr + tail.stdout + tail.stderr + status.stdout + status.stderr
        assert sasl.hidden_in(outputs)
    finally:
        stop_worker(worker)
    log = (sasl.settings.home / "worker.log").read_text(errors="replace")
    assert "SaslAuthenticationFailed" not in log
    assert sasl.hidden_in(log), "password in the worker log"
    assert sasl.hidden_in(caplog.text), "password logged while starting the worker"


# --- a wrong password: a prompt, clear failure ---------------------------------------------------------


@pytest.mark.broker
def test_wrong_password_fails_fast_and_clearly(sasl: SaslBroker, tmp_path: Path) -> None:
    bad = sasl.bad(home=tmp_path, web_port=free_port(), app_id="newsflow-sasl-bad")
    wrong = bad.kafka_sasl_password.get_secret_value()

    topics = cli(["topics"], sasl.env(bad))  # TimeoutExpired here would mean a hang
    assert topics.returncode != 0
    assert "Authentication failed" in topics.stderr and "could not manage topics" in topics.stderr, topics.stderr
    assert wrong not in topics.stdout + topics.stderr

    async def publish() -> None:
        async with Publisher(bad):
            pass

    with pytest.raises(KafkaConnectionError):
        asyncio.run(asyncio.wait_for(publish(), 60))

    worker = start_worker(bad)
    try:
        code = worker.wait(WORKER_EXIT_TIMEOUT)  # the worker gives up by itself
    except subprocess.TimeoutExpired:
        pytest.fail(f"a worker with a wrong password still runs after {WORKER_EXIT_TIMEOUT}s")
    finally:
        stop_worker(worker)
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert code != 0
    assert "SaslAuthenticationFailed" in log and "Invalid username or password" in log, log[-3000:]
    assert wrong not in log and sasl.hidden_in(log)


# --- secret hygiene ------------------------------------------------------------------------------------


@pytest.mark.broker
def test_password_never_printed(sasl: SaslBroker) -> None:
    env = sasl.env()
    for args in (["--help"], ["worker", "--help"], ["topics", "--help"], ["broker", "start", "--help"]):
        out = cli(args, env, timeout=60)
        assert out.returncode == 0, out.stderr
        assert sasl.hidden_in(out.stdout + out.stderr), args
    settings = sasl.settings
    for text in (repr(settings), str(settings), settings.model_dump_json(), repr(sasl.broker)):
        assert sasl.hidden_in(text)
    from services.app import _credentials  # what the worker hands Faust

    assert sasl.hidden_in(repr(_credentials(settings)))
    # as_env() carries the secret to child processes, under its own name only
    env_vars = settings.as_env()
    assert [k for k, v in env_vars.items() if sasl.marker in v] == ["NEWSFLOW_KAFKA_SASL_PASSWORD"]
    assert sasl.hidden_in(sasl.broker.log_file.read_text(errors="replace"))
