"""Integration tests for services.broker.local against a real JVM broker."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from services.broker import BrokerError, LocalBroker, free_port, is_reachable, kafka_version, probe
from services.broker.local import MIN_HEAP_MB
from services.settings import Settings

if TYPE_CHECKING:
    from tests.conftest import RunningBroker


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(timeout=30)


@pytest.mark.broker
def test_status_running_and_answering(kafka_broker: RunningBroker) -> None:
    st = kafka_broker.broker.status()
    assert st.running and st.answering
    assert st.pid is not None and st.pid > 0
    assert st.bootstrap == kafka_broker.bootstrap
    assert st.controller_port and str(st.controller_port) not in st.bootstrap
    assert st.kafka_version == kafka_version() != "unknown"
    assert st.data_dir.is_relative_to(Path(kafka_broker.settings.home))
    assert "Kafka Server started" in st.log_file.read_text()
    assert is_reachable(kafka_broker.bootstrap, timeout=2)
    host, port = kafka_broker.bootstrap.rsplit(":", 1)
    assert probe(host, int(port)).brokers == [(1, host, int(port))]


@pytest.mark.broker
def test_start_again_is_a_no_op(kafka_broker: RunningBroker) -> None:
    before = kafka_broker.broker.status()
    t0 = time.monotonic()
    again = LocalBroker(kafka_broker.settings).start(timeout=30)  # e.g. a second CLI invocation
    assert again.pid == before.pid
    assert time.monotonic() - t0 < 5


@pytest.mark.broker
def test_broker_config(kafka_broker: RunningBroker) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_broker.bootstrap})
    res = ConfigResource(ConfigResource.Type.BROKER, "1")
    configs = admin.describe_configs([res])[res].result(timeout=30)
    assert configs["auto.create.topics.enable"].value == "false"
    assert configs["message.max.bytes"].value == str(kafka_broker.settings.max_message_bytes)
    assert configs["group.initial.rebalance.delay.ms"].value == "0"
    # the cleaner's offset map comes out of the heap at start; Kafka's 128 MB is half our minimum heap
    assert int(configs["log.cleaner.dedupe.buffer.size"].value) * 4 <= MIN_HEAP_MB * 1024 * 1024


@pytest.mark.broker
def test_produce_consume_roundtrip_confluent(kafka_broker: RunningBroker) -> None:
    bootstrap = kafka_broker.bootstrap
    topic, group = _unique("t-roundtrip"), _unique("g-roundtrip")
    _create_topic(bootstrap, topic, 3)
    big = b"x" * (3 * 1024 * 1024)  # above Kafka's 1 MiB default: proves max_message_bytes applies
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "message.max.bytes": 8 * 1024 * 1024}
    )
    errors: list[object] = []
    for i in range(10):
        producer.produce(
            topic,
            key=f"k{i}".encode(),
            value=f"v{i}".encode(),
            on_delivery=lambda e, m: e and errors.append(e),
        )
    producer.produce(topic, key=b"big", value=big, on_delivery=lambda e, m: e and errors.append(e))
    assert producer.flush(30) == 0 and not errors

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_uncommitted",
        }
    )
    try:
        consumer.subscribe([topic])
        got: dict[bytes, bytes] = {}
        deadline = time.monotonic() + 60
        while len(got) < 11 and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            got[msg.key()] = msg.value()
        assert got == {**{f"k{i}".encode(): f"v{i}".encode() for i in range(10)}, b"big": big}
        consumer.commit(asynchronous=False)
        committed = consumer.committed([TopicPartition(topic, p) for p in range(3)], timeout=30)
        assert sum(tp.offset for tp in committed) == 11
    finally:
        consumer.close()


@pytest.mark.broker
def test_run_tool_topics_groups_console_consumer(kafka_broker: RunningBroker) -> None:
    topic = _unique("t-tool")
    _create_topic(kafka_broker.bootstrap, topic, 1)
    broker = kafka_broker.broker
    topics = broker.run_tool(
        "org.apache.kafka.tools.TopicCommand", ["--bootstrap-server", broker.bootstrap, "--list"]
    )
    assert topics.returncode == 0, topics.stderr
    assert topic in topics.stdout.split()
    groups = broker.run_tool(
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        ["--bootstrap-server", broker.bootstrap, "--list"],
    )
    assert groups.returncode == 0, groups.stderr
    assert "INFO" not in groups.stderr  # WARN-level logging for tools

    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(2):
        producer.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
    assert producer.flush(30) == 0
    console = broker.run_tool(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        ["--bootstrap-server", broker.bootstrap, "--topic", topic, "--from-beginning",
         "--max-messages", "2", "--timeout-ms", "30000", "--property", "print.key=true"],
    )  # fmt: skip
    assert console.returncode == 0, console.stderr
    assert console.stdout.splitlines() == ["k0\tv0", "k1\tv1"]


def test_stop_start_restart_idempotent(tmp_path: Path) -> None:
    """A second broker: stop when idle, stale pid cleanup, fresh start, double stop, warm restart."""
    settings = Settings(kafka=f"127.0.0.1:{free_port()}", home=tmp_path, broker_heap_mb=256)
    broker = LocalBroker(settings)
    assert broker.stop() is False  # nothing running: no error
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    broker.pid_file.parent.mkdir(parents=True, exist_ok=True)
    broker.pid_file.write_text(f"{dead.pid}\n")
    assert broker.stop() is False and not broker.pid_file.exists()  # stale pid file cleaned

    try:
        first = broker.start(timeout=120)
        assert first.running and first.answering
        cport = first.controller_port
        assert broker.stop() is True
        assert broker.stop() is False
        st = broker.status()
        assert not st.running and not st.answering and st.pid is None
        assert not is_reachable(broker.bootstrap, timeout=1)

        warm = LocalBroker(settings).start(timeout=120)  # fresh object: state comes from disk
        assert warm.running and warm.answering
        assert warm.controller_port == cport  # persisted controller port reused
        assert warm.pid != first.pid
    finally:
        LocalBroker(settings).stop()
    assert not LocalBroker(settings).status().running


def test_missing_java_gives_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    broker = LocalBroker(Settings(kafka=f"127.0.0.1:{free_port()}", home=tmp_path / "home"))
    with pytest.raises(BrokerError, match="openjdk-17-jre-headless maven") as err:
        broker.start(timeout=5)
    assert "java" in str(err.value)
    assert not broker.pid_file.exists()


def test_missing_mvn_gives_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ops = tmp_path / "ops"
    ops.mkdir()
    (ops / "pom.xml").write_text((Path(__file__).parents[2] / "ops/kafka/pom.xml").read_text())
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    broker = LocalBroker(Settings(kafka="127.0.0.1:1", home=tmp_path / "home"), ops_dir=ops)
    with pytest.raises(BrokerError, match=r"`mvn`.*openjdk-17-jre-headless maven"):
        broker.ensure_classpath()


def test_port_in_use_fails_fast(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        broker = LocalBroker(Settings(kafka=f"127.0.0.1:{port}", home=tmp_path))
        t0 = time.monotonic()
        with pytest.raises(BrokerError, match="already in use"):
            broker.start(timeout=60)
        assert time.monotonic() - t0 < 10
        assert not broker.status().running


def test_is_reachable_false_for_closed_port() -> None:
    t0 = time.monotonic()
    assert not is_reachable(f"127.0.0.1:{free_port()}", timeout=1)
    assert not is_reachable("not a bootstrap", timeout=1)
    assert time.monotonic() - t0 < 5


def test_jvm_options_come_after_ours(tmp_path: Path) -> None:
    """C1-only JIT by default; NEWSFLOW_BROKER_JVM_OPTIONS lands after it, so its flags win."""
    ours = LocalBroker(Settings(home=tmp_path)).launch_command("java", "cp")
    assert "-XX:TieredStopAtLevel=1" in ours
    assert ours[-4:-2] == ["-cp", "cp"]
    theirs = LocalBroker(Settings(home=tmp_path, broker_jvm_options="-XX:TieredStopAtLevel=4 -Dx='a b'"))
    cmd = theirs.launch_command("java", "cp")
    assert cmd.index("-XX:TieredStopAtLevel=4") > cmd.index("-XX:TieredStopAtLevel=1")
    assert "-Dx=a b" in cmd and cmd.index("-Dx=a b") < cmd.index("-cp")


@pytest.mark.broker
def test_running_broker_uses_our_jvm_options(kafka_broker: RunningBroker) -> None:
    pid = kafka_broker.broker.status().pid
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"-XX:TieredStopAtLevel=1" in cmdline


def test_unbalanced_jvm_options_are_refused_with_the_variable_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NEWSFLOW_BROKER_JVM_OPTIONS"):
        Settings(home=tmp_path, broker_jvm_options="-Dx='unclosed")
