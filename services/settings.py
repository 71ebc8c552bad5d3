"""One typed settings object, read from `NEWSFLOW_*` environment variables.

Every process (worker, fetcher, CLI) reads the same `Settings`; `.env.example` documents
each variable. Secrets (`kafka_sasl_password`) are `SecretStr` so they never print.
"""

from __future__ import annotations

import shlex
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_", extra="ignore")

    kafka: str = Field(
        default="127.0.0.1:9092",
        description="Kafka bootstrap servers (host:port[,host:port]). The local broker listens here.",
    )
    home: Path = Field(
        default=Path(".newsflow"),
        description="Where the local broker keeps its data and logs, and workers their state.",
    )
    topics_file: Path = Field(
        default=PROJECT_ROOT / "ops" / "topics.yaml",
        description="Topic declarations (partitions, retention, cleanup policy).",
    )
    app_id: str = Field(default="newsflow", description="Faust app id = consumer group id prefix.")
    topic_prefix: str = Field(
        default="", description="Prefix for every topic name (lets tests and tenants share a cluster)."
    )

    # Kafka client security (passed through to aiokafka / faust).
    kafka_security_protocol: str = Field(default="PLAINTEXT")
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(
        default=None, description="CA bundle (PEM) to verify the brokers with SSL / SASL_SSL; default: system CAs."
    )

    # Size limits: bodies larger than this are refused with reason `too_large`, never truncated.
    max_body_bytes: int = Field(default=4 * 1024 * 1024)
    # Producer / broker / topic message limit; must exceed max_body_bytes plus envelope.
    max_message_bytes: int = Field(default=16 * 1024 * 1024)

    # Cleaning
    min_text_chars: int = Field(default=200, description="Shorter bodies are rejected as too_short.")

    # Tagging
    languages: str = Field(
        default="ar,cs,da,de,el,en,es,fi,fr,hi,hu,it,ja,ko,nb,nl,pl,pt,ro,ru,sv,tr,uk,zh",
        description="Candidate language set for language identification (ISO 639-1, comma separated).",
    )

    user_topics_file: Path | None = Field(
        default=None,
        description="User-topic rules (YAML, docs/tagging.md), re-read when changed; "
        "default ops/user_topics.example.yaml.",
    )

    # Routing (docs/contract.md): extra copies of unique articles on news.topic.<slug>, news.lang.<code>,
    # news.user.<id>. Each: "none", "all", or a comma-separated list (slugs or IPTC codes; ISO codes; rule ids).
    route_topics: str = Field(default="none", description="IPTC topics to route to news.topic.<slug>.")
    route_languages: str = Field(default="none", description="Languages to route to news.lang.<code>.")
    route_user_topics: str = Field(default="none", description="User topics to route to news.user.<id>.")

    # Dedup
    near_dup_threshold: float = Field(default=0.5)
    story_window_days: float = Field(default=3.0)
    dedup_checkpoint_s: float = Field(
        default=60.0, gt=0,
        description="Seconds between checkpoints of the dedup state into news.dedup.state; after a restart "
        "at most this much of news.tagged is re-checked to catch up.",
    )

    # Fetcher (each also settable per sources file, in its `fetcher:` section; see docs/fetcher.md)
    fetch_user_agent: str | None = Field(
        default=None, description='Identifying User-Agent (default "newsflow/<version> (+url; news fetcher)").'
    )
    fetch_host_delay_s: float = Field(default=2.0, description="Minimum seconds between requests to one host.")
    fetch_host_concurrency: int = Field(default=2, description="Requests in flight per host.")
    fetch_max_crawl_delay_s: float = Field(default=30.0, description="Cap on a robots.txt Crawl-delay.")
    fetch_page_concurrency: int = Field(default=16, description="Article-page requests in flight, all hosts.")
    fetch_listing_concurrency: int = Field(default=4, description="Feed/sitemap requests in flight.")
    fetch_timeout_s: float = Field(default=30.0)
    fetch_max_attempts: int = Field(default=3)
    fetch_allow_networks: str = Field(
        default="", description="CIDRs reachable although private/loopback, e.g. 127.0.0.0/8 (SSRF guard)."
    )
    fetcher_id: str = Field(default="fetcher", description="Transactional id suffix of this fetcher.")

    # Worker
    web_port: int = Field(default=6066, description="Port of the worker's /metrics, /health, /ready.")
    store: str = Field(default="memory://", description="Faust table store (memory:// or rocksdb://).")
    processing_guarantee: str = Field(default="at_least_once")
    session_timeout_s: float = Field(
        default=15.0, description="A worker silent this long is dropped from the group and its partitions move."
    )
    shutdown_grace_s: float = Field(
        default=25.0, gt=0,
        description="How long a worker may take to stop after SIGTERM/SIGINT before it exits anyway (a stop "
        "can hang while the broker is unreachable). Records not yet committed are redelivered. A second "
        "signal exits at once. Under docker compose's stop_grace_period (30 s).",
    )
    worker_cpu: str = Field(
        default="",
        description="Pin each worker to one CPU: '' (no, the scheduler decides), 'auto' (a CPU no other worker "
        "with this NEWSFLOW_HOME holds) or a CPU number. Helps one worker beside the broker on a small machine "
        "(services/kafka/affinity.py).",
    )

    # Local broker
    broker_heap_mb: int = Field(default=512)
    broker_jvm_options: str = Field(
        default="",
        description="Extra JVM options for the local broker, after ours (so they win), e.g. "
        "'-XX:TieredStopAtLevel=4' for the C2 JIT compiler as well (ours stop at C1: less compiling).",
    )
    controller_port: int | None = Field(
        default=None, description="Local broker's KRaft controller port (default: a free port)."
    )

    @field_validator("kafka_security_protocol", "kafka_sasl_mechanism", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        """`sasl_plaintext` / `plain` as Kafka spells them (aiokafka and faust only accept upper case)."""
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("kafka_security_protocol")
    @classmethod
    def _known_protocol(cls, value: str) -> str:
        if value not in SECURITY_PROTOCOLS:
            raise ValueError(f"NEWSFLOW_KAFKA_SECURITY_PROTOCOL must be one of {', '.join(SECURITY_PROTOCOLS)}")
        return value

    @field_validator("broker_jvm_options")
    @classmethod
    def _shell_words(cls, value: str) -> str:
        """Split as a shell would when the broker starts; a quote left open is an error now, not then."""
        try:
            shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"NEWSFLOW_BROKER_JVM_OPTIONS is not valid shell words ({exc}): {value!r}") from None
        return value

    @field_validator("worker_cpu")
    @classmethod
    def _cpu_spec(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("", "auto") and not value.isdigit():
            raise ValueError(f"NEWSFLOW_WORKER_CPU must be empty, 'auto' or a CPU number, not {value!r}")
        return value

    @field_validator("fetch_user_agent", "user_topics_file", "kafka_sasl_mechanism", "kafka_sasl_username",
                     "kafka_sasl_password", "kafka_ssl_cafile", "controller_port", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`VAR=` (as docker compose passes an unset `${VAR:-}`) means "use the default"."""
        return None if value == "" else value

    def topic(self, name: str) -> str:
        """Physical topic name for a logical one (`news.raw` → `<prefix>news.raw`)."""
        return f"{self.topic_prefix}{name}"

    @property
    def language_set(self) -> list[str]:
        return [code.strip() for code in self.languages.split(",") if code.strip()]

    def as_env(self) -> dict[str, str]:
        """These settings as NEWSFLOW_* variables, for child processes (workers) to read back."""
        env = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"NEWSFLOW_{name.upper()}"] = str(value)
        return env

    @property
    def kafka_protocol(self) -> str:
        """The security protocol clients use: a SASL mechanism implies SASL_PLAINTEXT (SASL_SSL over SSL).

        Why: Faust's credentials always authenticate when a mechanism and user are set, whatever the
        protocol says; the aiokafka clients must agree, or a forgotten NEWSFLOW_KAFKA_SECURITY_PROTOCOL
        makes the CLI connect unauthenticated (and fail obscurely) while the worker authenticates.
        """
        protocol = self.kafka_security_protocol
        if self.kafka_sasl_mechanism and not protocol.startswith("SASL_"):
            return "SASL_SSL" if protocol == "SSL" else "SASL_PLAINTEXT"
        return protocol

    def kafka_ssl_context(self) -> Any:
        """A TLS context when the protocol is SSL or SASL_SSL (aiokafka and Faust require one), else None."""
        if "SSL" not in self.kafka_protocol:
            return None
        from aiokafka.helpers import create_ssl_context

        return create_ssl_context(cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None)

    def kafka_client_options(self) -> dict[str, object]:
        """Security options in aiokafka's spelling; only `security_protocol` for PLAINTEXT."""
        opts: dict[str, object] = {"security_protocol": self.kafka_protocol}
        ssl = self.kafka_ssl_context()
        if ssl is not None:
            opts["ssl_context"] = ssl
        if self.kafka_sasl_mechanism:
            opts["sasl_mechanism"] = self.kafka_sasl_mechanism
            opts["sasl_plain_username"] = self.kafka_sasl_username
            opts["sasl_plain_password"] = (
                self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
            )
        return opts


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
