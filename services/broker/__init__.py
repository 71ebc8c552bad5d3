"""Local single-node Kafka broker for development and tests (Java + Maven, no Docker)."""

from services.broker.local import (
    BrokerError,
    BrokerStatus,
    LocalBroker,
    ProbeResult,
    SaslAuthenticationError,
    ensure_classpath,
    find_java,
    find_mvn,
    free_port,
    is_reachable,
    kafka_version,
    parse_bootstrap,
    probe,
)

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
