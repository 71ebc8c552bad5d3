"""Run a single-node Apache Kafka broker (KRaft) from jars resolved by Maven, without Docker.

Why: developers and CI need a *real* broker (faust/aiokafka behaviour differs from mocks), and the
only prerequisites we want are `java` (17+) and `mvn`. `ops/kafka/pom.xml` pins the Kafka version;
`ensure_classpath()` resolves it once and caches the classpath in `ops/kafka/classpath.txt`.

Layout under `<home>/kafka/`: `server.properties` (rewritten on every start), `meta.json`
(cluster id, controller port, version), `data/` (log.dirs), `broker.log` (stdout+stderr of the JVM),
`broker.pid`, `broker.lock`; with SASL also `sasl.json` and `client.properties` (both 0600).

SASL: when the settings carry a PLAIN mechanism with a user name and password (or `sasl_users` is
given), the client listener is SASL_PLAINTEXT with the PLAIN mechanism and only those users (plus
the broker's own inter-broker user) can connect. The KRaft controller listener stays PLAINTEXT on
127.0.0.1. There is no authorizer: an authenticated user may do anything (dev broker, no ACLs).

Library code: no printing; everything is logged and failures raise `BrokerError` with a hint.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.settings import PROJECT_ROOT, Settings, get_settings

log = logging.getLogger(__name__)

OPS_DIR = PROJECT_ROOT / "ops" / "kafka"
INSTALL_HINT = "apt-get install openjdk-17-jre-headless maven"
MIN_JAVA = 17  # Kafka 4.x brokers and tools need Java 17+
MAX_HEAP_MB = 512
MIN_HEAP_MB = 256  # Kafka 4.1 OOMs during startup at 128 MB; 160 works, keep headroom
DEDUPE_BUFFER_BYTES = 32 * 1024 * 1024  # the log cleaner's offset map, taken from the heap
BROKER_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
NODE_ID = 1
STARTED_MESSAGE = "Kafka Server started"
SASL_LISTENER = "SASL_PLAINTEXT"
BROKER_USER = "newsflow-broker"  # the broker's own SASL user (inter-broker; Kafka CLI tools)
_SASL_USERNAME = re.compile(r"^[A-Za-z0-9._@-]+$")  # safe as a JAAS option name (`user_<name>`)
_LOG_ROTATE_BYTES = 10 * 1024 * 1024


class BrokerError(RuntimeError):
    """The local broker could not be prepared, started or reached; the message says what to do."""


@dataclass(frozen=True)
class BrokerStatus:
    """Snapshot of the local broker, as reported by `LocalBroker.status()`."""

    running: bool
    pid: int | None
    bootstrap: str
    controller_port: int | None
    kafka_version: str
    data_dir: Path
    log_file: Path
    answering: bool


@dataclass(frozen=True)
class ProbeResult:
    """What a broker said to an ApiVersions + Metadata round-trip (proof it serves clients)."""

    api_versions: dict[int, tuple[int, int]]
    brokers: list[tuple[int, str, int]] = field(default_factory=list)
    cluster_id: str | None = None
    controller_id: int = -1


# --------------------------------------------------------------------------------------------------
# Tool discovery


def find_java() -> str:
    """Path of a Java 17+ `java` on PATH, or BrokerError saying what to install."""
    java = shutil.which("java")
    if not java:
        raise BrokerError(
            "`java` was not found on PATH; the local Kafka broker needs Java 17+. "
            f"Install it with: {INSTALL_HINT}"
        )
    major = _java_major(java)
    if major is not None and major < MIN_JAVA:
        raise BrokerError(
            f"{java} is Java {major}; Kafka needs Java {MIN_JAVA}+. Install it with: {INSTALL_HINT} "
            "(and put it first on PATH)."
        )
    return java


def find_mvn() -> str:
    """Path of `mvn` on PATH, or BrokerError saying what to install."""
    mvn = shutil.which("mvn")
    if not mvn:
        raise BrokerError(
            "`mvn` (Apache Maven) was not found on PATH; it is needed once to download the Kafka jars "
            f"from Maven Central. Install it with: {INSTALL_HINT}"
        )
    return mvn


_java_major_cache: dict[str, int | None] = {}


def _java_major(java: str) -> int | None:
    """Major version from `java -version` (None when unparseable: let the JVM speak for itself)."""
    if java not in _java_major_cache:
        try:
            out = subprocess.run(
                [java, "-version"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
            )
            m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
            major = None
            if m:
                major = int(m.group(1))
                if major == 1 and m.group(2):  # "1.8.0_392" style
                    major = int(m.group(2))
        except (OSError, subprocess.TimeoutExpired):
            major = None
        _java_major_cache[java] = major
    return _java_major_cache[java]


def kafka_version(ops_dir: Path = OPS_DIR) -> str:
    """Kafka version pinned in `ops/kafka/pom.xml` (the jars we run)."""
    try:
        text = (ops_dir / "pom.xml").read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    m = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", text)
    return m.group(1) if m else "unknown"


def ensure_classpath(ops_dir: Path = OPS_DIR, *, force: bool = False, timeout: float = 900.0) -> str:
    """Resolve Kafka's jars with Maven once and return the cached classpath.

    Why cached: resolving takes seconds (minutes on a cold ~/.m2); the cache is reused while every jar
    still exists and the file is newer than pom.xml. A file lock makes parallel callers resolve once.
    """
    pom = ops_dir / "pom.xml"
    cp_file = ops_dir / "classpath.txt"
    if not force and (cp := _cached_classpath(pom, cp_file)):
        return cp
    target = ops_dir / "target"
    target.mkdir(parents=True, exist_ok=True)
    with _file_lock(target / "classpath.lock"):
        if not force and (cp := _cached_classpath(pom, cp_file)):
            return cp
        mvn = find_mvn()
        tmp = target / f"classpath.{os.getpid()}.tmp"
        cmd = [
            mvn, "-B", "-q", "-f", str(pom), "dependency:build-classpath",
            "-Dmdep.includeScope=runtime", f"-Dmdep.outputFile={tmp}",
        ]  # fmt: skip
        log.info("resolving Kafka %s jars with Maven (first run downloads ~45 MB)", kafka_version(ops_dir))
        started = time.monotonic()
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired as exc:
            raise BrokerError(f"`{' '.join(cmd)}` did not finish within {timeout:.0f}s") from exc
        if proc.returncode != 0 or not tmp.exists():
            tail = _tail_text(proc.stdout + proc.stderr, 30)
            raise BrokerError(
                f"Maven could not resolve the Kafka jars (exit {proc.returncode}). It needs access to "
                "Maven Central (or a mirror configured in ~/.m2/settings.xml).\n"
                f"command: {' '.join(cmd)}\n{tail}"
            )
        classpath = tmp.read_text(encoding="utf-8").strip()
        os.replace(tmp, cp_file)
        log.info("Kafka classpath resolved in %.1fs -> %s", time.monotonic() - started, cp_file)
        return classpath


def _cached_classpath(pom: Path, cp_file: Path) -> str | None:
    try:
        if cp_file.stat().st_mtime < pom.stat().st_mtime:
            return None
        classpath = cp_file.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    entries = [e for e in classpath.split(os.pathsep) if e]
    if not entries or not all(os.path.exists(e) for e in entries):
        return None
    return classpath


# --------------------------------------------------------------------------------------------------
# Kafka wire protocol probe (no client library: works from sync code, inside or outside event loops)


def parse_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    """`host:port[,host:port]` (optionally `PLAINTEXT://` prefixed, IPv6 in brackets) → pairs."""
    out: list[tuple[str, int]] = []
    for raw in bootstrap.split(","):
        item = raw.strip()
        if not item:
            continue
        if "://" in item:
            item = item.split("://", 1)[1]
        host, sep, port = item.rpartition(":")
        if not sep or not port.isdigit():
            raise BrokerError(f"bad Kafka bootstrap entry {raw!r}; expected host:port")
        out.append((host.strip("[]") or "127.0.0.1", int(port)))
    if not out:
        raise BrokerError("empty Kafka bootstrap string")
    return out


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buf += chunk
    return bytes(buf)


def _request(sock: socket.socket, api_key: int, version: int, corr: int, body: bytes) -> memoryview:
    client_id = b"newsflow-probe"
    header = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    msg = header + body
    sock.sendall(struct.pack(">i", len(msg)) + msg)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    payload = memoryview(_recv_exact(sock, size))
    (got,) = struct.unpack_from(">i", payload, 0)
    if got != corr:
        raise ConnectionError(f"correlation id mismatch ({got} != {corr})")
    return payload[4:]


class _Reader:
    def __init__(self, buf: memoryview) -> None:
        self.buf, self.pos = buf, 0

    def int8(self) -> int:
        (v,) = struct.unpack_from(">b", self.buf, self.pos)
        self.pos += 1
        return int(v)

    def int16(self) -> int:
        (v,) = struct.unpack_from(">h", self.buf, self.pos)
        self.pos += 2
        return int(v)

    def int32(self) -> int:
        (v,) = struct.unpack_from(">i", self.buf, self.pos)
        self.pos += 4
        return int(v)

    def string(self) -> str | None:
        n = self.int16()
        if n < 0:
            return None
        s = bytes(self.buf[self.pos : self.pos + n]).decode("utf-8")
        self.pos += n
        return s


class SaslAuthenticationError(ConnectionError):
    """The broker refused our SASL credentials (its message says why; the password is never in it)."""


def _string(value: str) -> bytes:
    data = value.encode("utf-8")
    return struct.pack(">h", len(data)) + data


def _non_flexible_version(versions: Mapping[int, tuple[int, int]], key: int, highest: int) -> int:
    """Highest version of API `key` we speak (≤ `highest`, non-flexible) that the broker supports."""
    lo, hi = versions.get(key, (0, -1))
    v = min(hi, highest)
    if v < lo:
        raise ConnectionError(f"broker supports API {key} only in versions {lo}-{hi}; the probe needs <= {highest}")
    return v


def _sasl_plain(sock: socket.socket, versions: Mapping[int, tuple[int, int]], username: str, password: str) -> None:
    """SaslHandshake (PLAIN) then SaslAuthenticate with `NUL user NUL password`, as KIP-152 clients do."""
    v = _non_flexible_version(versions, 17, 1)
    r = _Reader(_request(sock, 17, v, 3, _string("PLAIN")))
    error = r.int16()
    mechanisms = [r.string() for _ in range(r.int32())]
    if error != 0:
        raise SaslAuthenticationError(
            f"the broker does not accept SASL mechanism PLAIN (error {error}; it offers {mechanisms})"
        )
    v = _non_flexible_version(versions, 36, 1)
    token = b"\0" + username.encode("utf-8") + b"\0" + password.encode("utf-8")
    r = _Reader(_request(sock, 36, v, 4, struct.pack(">i", len(token)) + token))
    error = r.int16()
    message = r.string()
    if error != 0:
        raise SaslAuthenticationError(
            f"SASL/PLAIN authentication as {username!r} failed (error {error}): {message or 'no message'}"
        )


def probe(
    host: str, port: int, timeout: float = 2.0, *, sasl_plain: tuple[str, str] | None = None
) -> ProbeResult:
    """ApiVersions v0 then Metadata (v1–v8, no topics) on one connection; raises on any failure.

    Why raw: an open port is not readiness, and this works from sync code without an event loop.
    `sasl_plain=(username, password)`: authenticate with SASL/PLAIN between the two (a SASL_PLAINTEXT
    listener answers ApiVersions before authentication, and nothing else); a refusal raises
    `SaslAuthenticationError`.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        r = _Reader(_request(sock, 18, 0, 1, b""))
        error = r.int16()
        if error != 0:
            raise ConnectionError(f"ApiVersions error code {error}")
        versions: dict[int, tuple[int, int]] = {}
        for _ in range(r.int32()):
            key, lo, hi = r.int16(), r.int16(), r.int16()
            versions[key] = (lo, hi)
        if sasl_plain is not None:
            _sasl_plain(sock, versions, *sasl_plain)
        lo, hi = versions.get(3, (0, -1))
        v = min(hi, 8)
        if v < max(lo, 1):
            # No non-flexible Metadata version we can speak; ApiVersions answered, that is enough.
            return ProbeResult(api_versions=versions, brokers=[(NODE_ID, host, port)])
        body = struct.pack(">i", 0)  # topics: empty array = no topics
        if v >= 4:
            body += b"\x00"  # allow_auto_topic_creation
        if v >= 8:
            body += b"\x00\x00"  # include cluster / topic authorized operations
        r = _Reader(_request(sock, 3, v, 2, body))
        if v >= 3:
            r.int32()  # throttle_time_ms
        brokers = []
        for _ in range(r.int32()):
            node, bhost, bport = r.int32(), r.string() or "", r.int32()
            r.string()  # rack
            brokers.append((node, bhost, bport))
        cluster_id = r.string() if v >= 2 else None
        controller_id = r.int32()
        return ProbeResult(versions, brokers, cluster_id, controller_id)


def _probe_ok(host: str, port: int, timeout: float, sasl_plain: tuple[str, str] | None = None) -> bool:
    try:
        return bool(probe(host, port, timeout, sasl_plain=sasl_plain).brokers)
    except (OSError, ConnectionError, struct.error, UnicodeDecodeError):
        return False


def _kafka_answers(host: str, port: int, timeout: float) -> bool:
    """Does a Kafka broker (any security) answer ApiVersions here? Pre-authentication, so no credentials."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return _Reader(_request(sock, 18, 0, 1, b"")).int16() == 0
    except (OSError, ConnectionError, struct.error):
        return False


def is_reachable(
    bootstrap: str, timeout: float = 2.0, *, client_options: Mapping[str, Any] | None = None
) -> bool:
    """True when some bootstrap server answers a Kafka metadata request within `timeout`.

    The CLI uses this to decide whether `NEWSFLOW_KAFKA` already points to a running cluster.
    PLAINTEXT and SASL_PLAINTEXT with PLAIN are probed with raw protocol (authenticating with the
    credentials in `client_options`, from `Settings.kafka_client_options()`; wrong credentials mean
    False); other secured clusters (SSL, SCRAM) are probed with aiokafka in a helper thread.
    """
    opts = dict(client_options or {})
    protocol = str(opts.get("security_protocol", "PLAINTEXT")).upper()
    mechanism = str(opts.get("sasl_mechanism") or "").upper()
    sasl: tuple[str, str] | None = None
    if protocol == "SASL_PLAINTEXT" and mechanism == "PLAIN":
        sasl = (str(opts.get("sasl_plain_username") or ""), str(opts.get("sasl_plain_password") or ""))
    elif protocol != "PLAINTEXT":
        return _aiokafka_reachable(bootstrap, timeout, opts)
    try:
        servers = parse_bootstrap(bootstrap)
    except BrokerError:
        return False
    return any(_probe_ok(h, p, timeout, sasl) for h, p in servers)


def _aiokafka_reachable(bootstrap: str, timeout: float, opts: dict[str, Any]) -> bool:
    import asyncio

    from aiokafka import AIOKafkaClient
    from aiokafka.helpers import create_ssl_context

    if "SSL" in str(opts.get("security_protocol", "")).upper() and "ssl_context" not in opts:
        opts["ssl_context"] = create_ssl_context()

    async def check() -> bool:
        client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000), **opts)
        try:
            await asyncio.wait_for(client.bootstrap(), timeout)
            return True
        except Exception:  # any failure means "not reachable" here
            return False
        finally:
            await client.close()

    result: list[bool] = [False]

    def run() -> None:  # own thread: callers may already be inside an event loop
        result[0] = asyncio.run(check())

    t = threading.Thread(target=run, name="newsflow-kafka-probe", daemon=True)
    t.start()
    t.join(timeout + 5)
    return result[0]


# --------------------------------------------------------------------------------------------------
# Process helpers


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now (tests and the controller listener use it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # like Kafka: TIME_WAIT is fine
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _pid_alive(pid: int, marker: str | None = None) -> bool:
    """Is `pid` a live (non-zombie) process, and — when /proc tells — one whose cmdline has `marker`?"""
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)  # reap our own exited child so it is not a zombie
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    if proc.exists():
        try:
            stat = (proc / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                return False
            if marker is not None:
                return marker in (proc / "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            return False
    return True


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec_fn making Linux SIGTERM the child when the parent thread exits (None elsewhere).

    libc is looked up before fork, so the child only makes one plain C call.
    """
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def set_pdeathsig() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return set_pdeathsig


def _jaas_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _jaas_plain(username: str, password: str, users: Mapping[str, str] | None = None) -> str:
    """A PlainLoginModule JAAS line: our own identity, and (broker side) every `user_<name>=<password>`."""
    options = [f"username={_jaas_quote(username)}", f"password={_jaas_quote(password)}"]
    options += [f"user_{name}={_jaas_quote(pw)}" for name, pw in (users or {}).items()]
    return "org.apache.kafka.common.security.plain.PlainLoginModule required " + " ".join(options) + ";"


def _properties_escape(value: str) -> str:
    """A value as java.util.Properties reads it back verbatim (backslashes, line breaks, leading blanks)."""
    out = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return "\\" + out if out[:1] in (" ", "\f") else out


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it may hold passwords), atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _tail_text(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _new_cluster_id() -> str:
    """Kafka-style cluster id: base64url of 16 random bytes, 22 chars, never starting with '-'."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _hint(log_tail: str, host: str, port: int, cport: int) -> str:
    if "Address already in use" in log_tail or "BindException" in log_tail:
        return f"Hint: port {port} or controller port {cport} is already in use by another process."
    if "UnsupportedClassVersionError" in log_tail:
        return f"Hint: this `java` is too old; Kafka needs Java {MIN_JAVA}+ ({INSTALL_HINT})."
    if "OutOfMemoryError" in log_tail:
        return f"Hint: the JVM ran out of heap; raise NEWSFLOW_BROKER_HEAP_MB (max {MAX_HEAP_MB})."
    if "Invalid cluster.id" in log_tail or "meta.properties" in log_tail:
        return "Hint: the data dir was formatted for another cluster/node; delete it to start afresh."
    if "SaslAuthenticationException" in log_tail or "Authentication failed" in log_tail:
        return ("Hint: SASL authentication failed; a broker already running in this NEWSFLOW_HOME may have "
                "other users than NEWSFLOW_KAFKA_SASL_USERNAME/_PASSWORD (restart it: `newsflow broker stop`).")
    if "ClassNotFoundException" in log_tail or "NoClassDefFoundError" in log_tail:
        return "Hint: the cached classpath is broken; delete ops/kafka/classpath.txt and retry."
    return (
        f"Hint: is {host}:{port} or controller port {cport} in use, or is `java` the wrong version "
        f"(needs {MIN_JAVA}+)?"
    )


# --------------------------------------------------------------------------------------------------
# The broker


class LocalBroker:
    """Start/stop/inspect one local single-node KRaft broker, parameterised by `Settings`.

    Only `settings.kafka` (listener host:port, single entry), `settings.home`, `broker_heap_mb`,
    `controller_port`, `max_message_bytes` and the `kafka_sasl_*` fields are used, so tests can run
    it on free ports in a tmp dir.

    SASL/PLAIN: `sasl_users` (user name → password) makes the client listener SASL_PLAINTEXT with
    exactly these users; without it, settings with `kafka_sasl_mechanism=PLAIN` and a user name and
    password do the same for that one user. Other mechanisms and TLS are refused (BrokerError).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        ops_dir: Path = OPS_DIR,
        extra_properties: Mapping[str, str] | None = None,
        tie_to_parent: bool = False,
        sasl_users: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        # Tests: SIGTERM the broker if the starting thread/process dies (Linux prctl), so a killed
        # pytest leaves no JVM behind. The CLI leaves it False: the broker outlives `newsflow broker start`.
        self.tie_to_parent = tie_to_parent
        self.ops_dir = ops_dir
        self.extra_properties = dict(extra_properties or {})
        servers = parse_bootstrap(self.settings.kafka)
        if len(servers) != 1:
            raise BrokerError(
                f"the local broker listens on exactly one host:port, but NEWSFLOW_KAFKA is "
                f"{self.settings.kafka!r}"
            )
        host, self.port = servers[0]
        self.host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.bootstrap = f"{self.host}:{self.port}" if ":" not in self.host else f"[{self.host}]:{self.port}"
        self.home = Path(self.settings.home).expanduser().resolve()
        self.kafka_dir = self.home / "kafka"
        self.data_dir = self.kafka_dir / "data"
        self.log_file = self.kafka_dir / "broker.log"
        self.pid_file = self.kafka_dir / "broker.pid"
        self.meta_file = self.kafka_dir / "meta.json"
        self.properties_file = self.kafka_dir / "server.properties"
        self.log4j_file = self.ops_dir / "log4j2.properties"
        self.sasl_file = self.kafka_dir / "sasl.json"
        self.client_properties_file = self.kafka_dir / "client.properties"
        self._sasl_users = self._resolve_sasl_users(sasl_users)
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:  # never the passwords
        return f"<LocalBroker {self.bootstrap} home={self.home} sasl={self.sasl_enabled}>"

    # -- public API --------------------------------------------------------------------------------

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def sasl_enabled(self) -> bool:
        """Is the client listener SASL_PLAINTEXT (PLAIN) rather than PLAINTEXT?"""
        return self._sasl_users is not None

    @property
    def listener_name(self) -> str:
        return SASL_LISTENER if self.sasl_enabled else "PLAINTEXT"

    @property
    def heap_mb(self) -> int:
        """Broker heap: settings.broker_heap_mb clamped to [256, 512] MB (a dev broker needs no more)."""
        heap = self.settings.broker_heap_mb
        clamped = max(MIN_HEAP_MB, min(heap, MAX_HEAP_MB))
        if clamped != heap:
            log.warning(
                "broker_heap_mb=%d outside [%d, %d]; using %d MB", heap, MIN_HEAP_MB, MAX_HEAP_MB, clamped
            )
        return clamped

    def ensure_classpath(self, *, force: bool = False) -> str:
        """Resolve (once) and return the Kafka classpath; see module-level `ensure_classpath`."""
        return ensure_classpath(self.ops_dir, force=force)

    def start(self, timeout: float = 90.0) -> BrokerStatus:
        """Start the broker (formatting storage on first use) and return once it answers clients.

        Idempotent: when our broker is already running and answering, returns its status.
        Raises BrokerError (with the log tail and a hint) when it cannot be started in `timeout` s.
        """
        java = find_java()
        classpath = self.ensure_classpath()
        deadline = time.monotonic() + timeout
        self.kafka_dir.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.kafka_dir / "broker.lock"):
            pid = self._read_pid()
            if pid is not None and _pid_alive(pid, self._marker):
                log.info("local broker already running (pid %d), waiting for it to answer", pid)
                self._wait_ready(pid, deadline, log_offset=None)
                self._check_users()
                return self.status()
            self._remove_pid_file()
            if not _port_free(self.host, self.port):
                if _kafka_answers(self.host, self.port, 2.0):
                    raise BrokerError(
                        f"a Kafka broker not started by newsflow already answers at {self.bootstrap} "
                        f"(no live pid in {self.pid_file}); use it, or stop it before starting ours."
                    )
                raise BrokerError(
                    f"port {self.port} on {self.host} is already in use by another process; set "
                    "NEWSFLOW_KAFKA to a free host:port."
                )
            meta = self._read_meta()
            cport = self._choose_controller_port(meta)
            meta.update(controller_port=cport, kafka_version=kafka_version(self.ops_dir))
            meta.setdefault("cluster_id", _new_cluster_id())
            if self.sasl_enabled:
                self._write_sasl_files()
            self._write_properties(cport)
            self._write_meta(meta)
            if not (self.data_dir / "meta.properties").exists():
                self._format(java, classpath, str(meta["cluster_id"]), deadline)
            offset = self._rotate_log()
            self._launch(java, classpath)
            assert self._proc is not None
            try:
                self._wait_ready(self._proc.pid, deadline, log_offset=offset, cport=cport)
            except BrokerError:
                self._kill_quietly()
                raise
            return self.status()

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM (controlled shutdown), SIGKILL after `timeout`; True if a broker was stopped.

        Idempotent: no error when nothing runs; stale pid files are removed.
        """
        pid = self._read_pid()
        if pid is None or not _pid_alive(pid, self._marker):
            if pid is not None:
                log.info("removing stale pid file %s (pid %d is gone)", self.pid_file, pid)
            self._remove_pid_file()
            return False
        log.info("stopping local broker (pid %d)", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not self._wait_exit(pid, timeout):
            log.warning("broker pid %d ignored SIGTERM for %.0fs; sending SIGKILL", pid, timeout)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_exit(pid, 10.0)
        self._remove_pid_file()
        self._proc = None
        return True

    def status(self, timeout: float = 2.0) -> BrokerStatus:
        """Is our broker running (pid alive) and answering metadata requests right now?"""
        pid = self._read_pid()
        running = pid is not None and _pid_alive(pid, self._marker)
        meta = self._read_meta()
        cport = meta.get("controller_port")
        return BrokerStatus(
            running=running,
            pid=pid if running else None,
            bootstrap=self.bootstrap,
            controller_port=int(cport) if cport else None,
            kafka_version=str(meta.get("kafka_version") or kafka_version(self.ops_dir)),
            data_dir=self.data_dir,
            log_file=self.log_file,
            answering=running and _probe_ok(self.host, self.port, timeout, self._probe_credentials()),
        )

    def tool_command(self, main_class: str, args: Sequence[str] = (), *, heap_mb: int = 256) -> list[str]:
        """argv to run one of Kafka's CLI classes (small heap, WARN logging) from our classpath.

        Use this to stream output (e.g. a following console consumer); `run_tool` for one-shots.
        """
        java = find_java()
        classpath = self.ensure_classpath()
        return [
            java, f"-Xmx{heap_mb}m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={self.log4j_file}",
            "-cp", classpath, main_class, *args,
        ]  # fmt: skip

    def run_tool(
        self,
        main_class: str,
        args: Sequence[str] = (),
        *,
        timeout: float | None = 120.0,
        input: str | None = None,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run a Kafka CLI class (e.g. `org.apache.kafka.tools.consumer.group.ConsumerGroupCommand`).

        Output is captured as text; pass `--bootstrap-server`, typically `self.bootstrap`, yourself,
        and with SASL `--command-config` (or `--consumer.config`/`--producer.config`) with
        `self.client_properties_file`, which authenticates as the broker's own user.
        """
        cmd = self.tool_command(main_class, args)
        log.debug("running Kafka tool %s %s", main_class, " ".join(args))
        return subprocess.run(
            cmd,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    # -- internals ---------------------------------------------------------------------------------

    @property
    def _marker(self) -> str:
        """Text in our JVM's command line (guards against a recycled pid in a stale pid file)."""
        return str(self.properties_file)

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _remove_pid_file(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()

    def _read_meta(self) -> dict[str, Any]:
        try:
            data = json.loads(self.meta_file.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write_meta(self, meta: Mapping[str, Any]) -> None:
        tmp = self.meta_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(meta), indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.meta_file)

    def _choose_controller_port(self, meta: Mapping[str, Any]) -> int:
        """settings.controller_port, else the persisted one (restarts reuse it), else a free port."""
        if self.settings.controller_port:
            cport = int(self.settings.controller_port)
            if cport == self.port or not _port_free("127.0.0.1", cport):
                raise BrokerError(
                    f"controller port {cport} (NEWSFLOW_CONTROLLER_PORT) is in use or equals the "
                    f"client port; pick another or unset it to use a free port."
                )
            return cport
        saved = meta.get("controller_port")
        if saved and int(saved) != self.port:
            if _port_free("127.0.0.1", int(saved)):
                return int(saved)
            log.warning("saved controller port %s is busy; picking a new one", saved)
        while True:
            port = free_port("127.0.0.1")
            if port != self.port:
                return port

    def server_properties(self, controller_port: int) -> dict[str, str]:
        """The broker config (single-node KRaft, static voter); `extra_properties` win."""
        max_bytes = str(self.settings.max_message_bytes)
        name = self.listener_name
        props = {
            "process.roles": "broker,controller",
            "node.id": str(NODE_ID),
            "controller.quorum.voters": f"{NODE_ID}@127.0.0.1:{controller_port}",
            "listeners": f"{name}://{self.bootstrap},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"{name}://{self.bootstrap}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": name,
            "listener.security.protocol.map": f"{name}:{name},CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "message.max.bytes": max_bytes,
            "replica.fetch.max.bytes": max_bytes,
            "num.network.threads": "2",
            "num.io.threads": "4",
            # The log cleaner takes its whole dedupe buffer from the heap when it starts: 128 MB by
            # default, half of a 256 MB heap, and a broker restarted after a kill then ran out of
            # heap recovering its logs (CI). 32 MB still maps ~1.3M keys per cleaning pass.
            "log.cleaner.dedupe.buffer.size": str(DEDUPE_BUFFER_BYTES),
        }
        if self.sasl_enabled:
            props.update(self._sasl_properties())
        props.update(self.extra_properties)
        return props

    def _write_properties(self, controller_port: int) -> None:
        lines = ["# Written by services/broker/local.py on every start; edits are overwritten."]
        lines += [f"{k}={_properties_escape(v)}" for k, v in self.server_properties(controller_port).items()]
        _write_private(self.properties_file, "\n".join(lines) + "\n")  # may hold SASL passwords

    # -- SASL ----------------------------------------------------------------------------------------

    def _resolve_sasl_users(self, sasl_users: Mapping[str, str] | None) -> dict[str, str] | None:
        """The client users of a SASL broker (None: PLAINTEXT), checked so the JAAS config is sound."""
        s = self.settings
        if sasl_users is None:
            if not s.kafka_sasl_mechanism:
                return None
            if s.kafka_sasl_mechanism.upper() != "PLAIN":
                raise BrokerError(
                    f"the local broker supports SASL mechanism PLAIN only, not {s.kafka_sasl_mechanism!r}; "
                    "set NEWSFLOW_KAFKA_SASL_MECHANISM=PLAIN or use another cluster."
                )
            if "SSL" in s.kafka_security_protocol.upper():
                raise BrokerError(
                    f"the local broker does not do TLS (NEWSFLOW_KAFKA_SECURITY_PROTOCOL="
                    f"{s.kafka_security_protocol}); use SASL_PLAINTEXT with it."
                )
            password = s.kafka_sasl_password.get_secret_value() if s.kafka_sasl_password else ""
            if not s.kafka_sasl_username or not password:
                raise BrokerError(
                    "NEWSFLOW_KAFKA_SASL_MECHANISM=PLAIN needs NEWSFLOW_KAFKA_SASL_USERNAME and "
                    "NEWSFLOW_KAFKA_SASL_PASSWORD for the local broker's user."
                )
            sasl_users = {s.kafka_sasl_username: password}
        users = dict(sasl_users)
        for user, password in users.items():
            if not _SASL_USERNAME.match(user) or user == BROKER_USER:
                raise BrokerError(
                    f"SASL user name {user!r} is not allowed on the local broker: use letters, digits "
                    f"and . _ @ - (and not {BROKER_USER!r}, the broker's own user)."
                )
            if not password:
                raise BrokerError(f"SASL user {user!r} has an empty password.")
        return users

    def _check_users(self) -> None:
        """A broker already running must know our users: else clients would fail later, less clearly."""
        for user, password in (self._sasl_users or {}).items():
            try:
                probe(self.host, self.port, 5.0, sasl_plain=(user, password))
            except SaslAuthenticationError as exc:
                raise BrokerError(
                    f"the local broker already running at {self.bootstrap} refuses SASL user {user!r} ({exc}); "
                    "it was started with other credentials: `newsflow broker stop`, then start it again."
                ) from exc
            except (OSError, ConnectionError, struct.error) as exc:
                raise BrokerError(f"the local broker at {self.bootstrap} did not answer a SASL probe: {exc}") from exc

    def _broker_password(self) -> str | None:
        """The broker's own SASL password, kept in `sasl.json` (0600) so restarts and status reuse it."""
        try:
            data = json.loads(self.sasl_file.read_text(encoding="utf-8"))
            password = data.get("password") if isinstance(data, dict) else None
            return str(password) if password else None
        except (OSError, ValueError):
            return None

    def _probe_credentials(self) -> tuple[str, str] | None:
        if not self.sasl_enabled:
            return None
        password = self._broker_password()
        if password:
            return (BROKER_USER, password)
        user, password = next(iter((self._sasl_users or {}).items()), ("", ""))
        return (user, password)

    def _write_sasl_files(self) -> None:
        """`sasl.json` (the broker user's password, made once) and `client.properties` for Kafka's tools."""
        password = self._broker_password()
        if not password:
            password = secrets.token_urlsafe(24)
            _write_private(self.sasl_file, json.dumps({"username": BROKER_USER, "password": password}) + "\n")
        jaas = _jaas_plain(BROKER_USER, password)
        _write_private(
            self.client_properties_file,
            "# Written by services/broker/local.py: Kafka CLI tools as the broker's own SASL user.\n"
            f"security.protocol={SASL_LISTENER}\nsasl.mechanism=PLAIN\n"
            f"sasl.jaas.config={_properties_escape(jaas)}\n",
        )

    def _sasl_properties(self) -> dict[str, str]:
        """SASL/PLAIN on the client (and inter-broker) listener; the broker's own user plus ours."""
        password = self._broker_password() or ""
        users = {BROKER_USER: password, **(self._sasl_users or {})}
        jaas = _jaas_plain(BROKER_USER, password, users)
        prefix = f"listener.name.{SASL_LISTENER.lower()}"
        return {
            "sasl.enabled.mechanisms": "PLAIN",
            "sasl.mechanism.inter.broker.protocol": "PLAIN",
            f"{prefix}.sasl.enabled.mechanisms": "PLAIN",
            f"{prefix}.plain.sasl.jaas.config": jaas,
        }

    def _format(self, java: str, classpath: str, cluster_id: str, deadline: float) -> None:
        """Format log.dirs once (first start); `--ignore-formatted` makes a rerun harmless."""
        cmd = [
            java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={self.log4j_file}", "-cp", classpath, STORAGE_TOOL,
            "format", "-t", cluster_id, "-c", str(self.properties_file), "--ignore-formatted",
        ]  # fmt: skip
        log.info("formatting Kafka storage in %s (cluster id %s)", self.data_dir, cluster_id)
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=max(10.0, deadline - time.monotonic()),
            )
        except subprocess.TimeoutExpired as exc:
            raise BrokerError("formatting Kafka storage timed out") from exc
        if proc.returncode != 0:
            raise BrokerError(
                f"formatting Kafka storage failed (exit {proc.returncode}):\n"
                f"{_tail_text(proc.stdout + proc.stderr, 30)}\n"
                f"Hint: if {self.data_dir} holds data from another cluster, delete it."
            )

    def _rotate_log(self) -> int:
        """Keep broker.log bounded; return the offset where this run's output starts."""
        with contextlib.suppress(OSError):
            if self.log_file.stat().st_size > _LOG_ROTATE_BYTES:
                os.replace(self.log_file, self.log_file.with_suffix(".log.1"))
        try:
            return self.log_file.stat().st_size
        except OSError:
            return 0

    def launch_command(self, java: str, classpath: str) -> list[str]:
        """The broker's JVM command line: our options, then NEWSFLOW_BROKER_JVM_OPTIONS (later wins)."""
        heap = self.heap_mb
        return [
            java, f"-Xms{min(128, heap)}m", f"-Xmx{heap}m",
            "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
            # C1 only. With C2 as well, JIT compilation was 43 % of a fresh broker's CPU through
            # the benchmark; C1 alone halved the broker's CPU per document at one worker (7.9 ->
            # 3.7 ms) and cut its total by a third. NEWSFLOW_BROKER_JVM_OPTIONS can override this.
            "-XX:TieredStopAtLevel=1",
            "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_file}",
            *shlex.split(self.settings.broker_jvm_options),
            "-cp", classpath, BROKER_MAIN, str(self.properties_file),
        ]  # fmt: skip

    def _launch(self, java: str, classpath: str) -> None:
        cmd = self.launch_command(java, classpath)
        with self.log_file.open("ab") as out:
            out.write(f"=== newsflow: starting Kafka broker at {time.strftime('%F %T')} ===\n".encode())
            out.flush()
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.kafka_dir,
                start_new_session=True,  # survives the CLI; Ctrl-C in a terminal does not hit it
                close_fds=True,
                preexec_fn=_parent_death_signal() if self.tie_to_parent else None,
            )
        self.pid_file.write_text(f"{self._proc.pid}\n")
        log.info("launched Kafka broker pid %d on %s (log %s)", self._proc.pid, self.bootstrap, self.log_file)

    def _wait_ready(self, pid: int, deadline: float, *, log_offset: int | None, cport: int = 0) -> None:
        """Poll until a metadata request succeeds; fail fast if the JVM dies."""
        started = time.monotonic()
        while True:
            if not _pid_alive(pid):
                self._remove_pid_file()
                raise self._start_error(
                    f"the Kafka broker (pid {pid}) exited during startup", log_offset, cport
                )
            if _probe_ok(self.host, self.port, 1.0, self._probe_credentials()):
                log.info(
                    "Kafka broker answering on %s after %.1fs", self.bootstrap, time.monotonic() - started
                )
                return
            if time.monotonic() >= deadline:
                raise self._start_error(
                    f"the Kafka broker (pid {pid}) did not answer on {self.bootstrap} in time",
                    log_offset,
                    cport,
                )
            time.sleep(0.2)

    def _start_error(self, what: str, log_offset: int | None, cport: int) -> BrokerError:
        tail = self._log_tail(log_offset)
        return BrokerError(
            f"{what}.\n--- last lines of {self.log_file} ---\n{tail}\n---\n"
            f"{_hint(tail, self.host, self.port, cport)}"
        )

    def _log_tail(self, offset: int | None, lines: int = 40) -> str:
        try:
            with self.log_file.open("rb") as fh:
                if offset:
                    fh.seek(offset)
                return _tail_text(fh.read().decode("utf-8", "replace"), lines)
        except OSError:
            return "(no log)"

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            try:
                self._proc.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not _pid_alive(pid):
                return True
            time.sleep(0.1)
        return not _pid_alive(pid)

    def _kill_quietly(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._remove_pid_file()
        self._proc = None


__all__ = [
    "BrokerError",
    "BrokerStatus",
    "LocalBroker",
    "ProbeResult",
    "SaslAuthenticationError",
    "ensure_classpath",
    "find_java",
    "find_mvn",
    "free_port",
    "is_reachable",
    "kafka_version",
    "parse_bootstrap",
    "probe",
]
