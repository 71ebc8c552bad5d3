"""docker-compose.yml and docker-compose.cluster.yml, checked without Docker.

Schema: the vendored Compose Specification JSON Schema (ops/compose/). Consistency: images are
pinned or built from this repository, every variable is documented in .env.example with its
real default, host ports do not clash, every `newsflow …` a service runs is a real subcommand,
the broker matches the topics and the local broker, and the worker can be scaled.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
import yaml

from services.cli import main as cli_main
from services.settings import Settings
from tests.ops.compose import (
    CLUSTER_FILE,
    COMPOSE_FILE,
    COMPOSE_FILES,
    ENV_EXAMPLE,
    ROOT,
    SCHEMA_FILE,
    effective,
    interpolate,
    load,
    newsflow_argvs,
    runs_newsflow_image,
    variables,
)

# Registered by services/fetcher/cli.py, which may land after this file; only these two are
# skipped (not failed) while absent.
LATE_COMMANDS = {"fetch", "sources"}
KAFKA_IMAGE = "apache/kafka"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def env_example() -> dict[str, str | None]:
    """Variables in .env.example → value (None when only mentioned commented out, `# NAME=`)."""
    found: dict[str, str | None] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if m:
            commented, name, value = m.groups()
            if commented:
                found.setdefault(name, None)
            else:
                found[name] = value
    return found


def setting_defaults() -> dict[str, Any]:
    return {f"NEWSFLOW_{name.upper()}": field.default for name, field in Settings.model_fields.items()}


def same_value(text: str, default: Any) -> bool:
    """Does the string `text` (from an env file or a compose default) mean the setting's default?"""
    if default is None:
        return text == ""
    if isinstance(default, bool):
        return text.lower() == str(default).lower()
    if isinstance(default, int | float):
        try:
            return float(text) == float(default)
        except ValueError:
            return False
    if isinstance(default, Path):
        return Path(text) == default or (ROOT / text).resolve() == Path(default).resolve()
    return text == str(default)


def all_services(cluster: bool) -> dict[str, dict[str, Any]]:
    return effective(cluster=cluster)["services"]


def host_port(entry: Any) -> str | None:
    """The published host port of a `ports` entry (None when only the container port is given)."""
    if isinstance(entry, dict):
        published = entry.get("published")
        return str(published) if published is not None else None
    parts = str(entry).split(":")
    if len(parts) == 1:
        return None
    return parts[-2]


# --- schema ------------------------------------------------------------------------------------


def test_vendored_schema_is_the_compose_spec(schema: dict[str, Any]) -> None:
    assert schema["title"] == "Compose Specification"
    assert "draft-07" in schema["$schema"]
    assert (SCHEMA_FILE.parent / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")
    shared = ROOT.parent / "shared" / "data" / "compose" / "compose-spec.json"
    if shared.exists():  # the copy must stay identical to its origin
        assert json.loads(shared.read_text(encoding="utf-8")) == schema


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("interpolated", [False, True], ids=["raw", "interpolated"])
def test_compose_file_matches_the_schema(path: Path, interpolated: bool, schema: dict[str, Any]) -> None:
    doc = load(path)
    if interpolated:
        doc = interpolate(doc)
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


@pytest.mark.parametrize("cluster", [False, True], ids=["single", "cluster"])
def test_merged_configuration_matches_the_schema(cluster: bool, schema: dict[str, Any]) -> None:
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(effective(cluster=cluster)))
    assert not errors, [e.message for e in errors]


def test_the_schema_catches_mistakes(schema: dict[str, Any]) -> None:
    """Guard against a vacuous validation: a broken file must fail."""
    doc = effective()
    doc["services"]["worker"]["depends_on"]["topic-init"]["condition"] = "service_done"
    doc["services"]["worker"]["restart_policy"] = "always"
    assert len(list(jsonschema.Draft7Validator(schema).iter_errors(doc))) >= 2


# --- images and builds -------------------------------------------------------------------------


@pytest.mark.parametrize("cluster", [False, True], ids=["single", "cluster"])
def test_every_image_is_pinned_or_built_here(cluster: bool) -> None:
    for name, service in all_services(cluster).items():
        if "build" in service:
            build = service["build"]
            context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            assert context.is_dir(), f"{name}: build context {context} missing"
            assert (context / dockerfile).is_file(), f"{name}: {dockerfile} missing in {context}"
            continue
        image = service.get("image")
        assert image, f"{name}: neither image nor build"
        if "@sha256:" in image:
            continue  # pinned by digest
        last = image.split("/")[-1]
        tag = last.split(":", 1)[1] if ":" in last else ""
        assert tag and tag != "latest", f"{name}: image {image!r} is not pinned"
        assert not re.fullmatch(r"\d+|v?\d+\.\d+|main|master|edge|stable|nightly", tag), (
            f"{name}: {image!r} is a moving tag; pin a release"
        )


def test_kafka_image_is_the_local_broker_version() -> None:
    pom = (ROOT / "ops" / "kafka" / "pom.xml").read_text(encoding="utf-8")
    version = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", pom).group(1)
    for cluster in (False, True):
        images = {s.get("image") for s in all_services(cluster).values()}
        kafkas = {i for i in images if str(i).startswith(KAFKA_IMAGE)}
        assert kafkas == {f"{KAFKA_IMAGE}:{version}"}


# --- environment ---------------------------------------------------------------------------------


def test_every_compose_variable_is_documented() -> None:
    documented = env_example()
    for path in COMPOSE_FILES:
        missing = sorted(set(variables(load(path))) - set(documented))
        assert not missing, f"{path.name} uses variables not in .env.example: {missing}"


def test_every_setting_is_documented() -> None:
    documented = env_example()
    missing = sorted(set(setting_defaults()) - set(documented))
    assert not missing, f"NEWSFLOW_* settings not documented in .env.example: {missing}"


def test_env_example_defaults_are_the_real_defaults() -> None:
    defaults = setting_defaults()
    documented = env_example()
    for name, value in documented.items():
        if name in defaults and value is not None:
            assert same_value(value, defaults[name]), f".env.example: {name}={value!r} ≠ {defaults[name]!r}"
    # Compose variables: the value in .env.example is the default the compose files fall back to.
    for path in COMPOSE_FILES:
        for name, fallbacks in variables(load(path)).items():
            fallbacks.discard(None)
            if documented.get(name) is not None:
                assert fallbacks <= {documented[name]}, (
                    f"{path.name}: {name} defaults {fallbacks}, .env.example says {documented[name]!r}"
                )


def test_compose_defaults_of_settings_are_the_real_defaults() -> None:
    defaults = setting_defaults()
    for path in COMPOSE_FILES:
        for name, fallbacks in variables(load(path)).items():
            if name in defaults:
                for fallback in fallbacks - {None}:
                    assert same_value(fallback, defaults[name]), f"{path.name}: ${{{name}:-{fallback}}}"


def test_every_env_example_line_is_explained() -> None:
    """Each variable has a comment right above it (or shares the one above its group)."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            j = i - 1
            while j >= 0 and re.match(r"^[A-Z][A-Z0-9_]*=", lines[j]):
                j -= 1
            assert j >= 0 and lines[j].startswith("#") and len(lines[j]) > 3, f"no explanation above {line!r}"


def test_settings_reach_the_containers() -> None:
    """Every NEWSFLOW_* setting that applies in a container is passed to the newsflow services."""
    local_only = {"NEWSFLOW_TOPICS_FILE", "NEWSFLOW_BROKER_HEAP_MB", "NEWSFLOW_BROKER_JVM_OPTIONS",
                  "NEWSFLOW_CONTROLLER_PORT"}
    for name, service in all_services(False).items():
        if runs_newsflow_image(service):
            env = service["environment"]
            missing = sorted(set(setting_defaults()) - local_only - set(env))
            assert not missing, f"{name}: settings not passed: {missing}"
            Settings(**{k.removeprefix("NEWSFLOW_").lower(): v for k, v in env.items()
                        if k.startswith("NEWSFLOW_")})  # every value parses


# --- ports, volumes, dependencies -------------------------------------------------------------------


@pytest.mark.parametrize("cluster", [False, True], ids=["single", "cluster"])
def test_host_ports_do_not_clash(cluster: bool) -> None:
    seen: dict[str, str] = {}
    for name, service in all_services(cluster).items():
        for entry in service.get("ports", []):
            port = host_port(entry)
            if port is None:
                continue
            assert port not in seen, f"host port {port} used by {seen[port]} and {name}"
            seen[port] = name
    assert "9092" not in seen, "host port 9092 is the local broker's (newsflow broker start)"


def test_worker_can_be_scaled() -> None:
    worker = all_services(False)["worker"]
    assert "container_name" not in worker
    assert all(host_port(p) is None for p in worker.get("ports", []))
    assert "hostname" not in worker
    for volume in worker.get("volumes", []):
        source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":")[0]
        assert not source or source.startswith((".", "/")), f"replicas would share the named volume {source}"


@pytest.mark.parametrize("cluster", [False, True], ids=["single", "cluster"])
def test_dependencies_exist_and_conditions_hold(cluster: bool) -> None:
    services = all_services(cluster)
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on without conditions"
        for dep, spec in depends.items():
            assert dep in services, f"{name} depends on unknown {dep}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy: no healthcheck"
            if condition == "service_completed_successfully":
                assert services[dep].get("restart") == "no", f"{dep} is one-shot; it must not restart"
            own, theirs = set(service.get("profiles", [])), set(services[dep].get("profiles", []))
            assert not theirs or theirs & own, f"{name} depends on {dep} of profile {theirs}"


def test_startup_order() -> None:
    services = all_services(False)
    assert services["topic-init"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("worker", "fetcher"):
        assert services[name]["depends_on"]["topic-init"]["condition"] == "service_completed_successfully"
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    for name in ("kafka", "worker", "prometheus", "grafana"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


@pytest.mark.parametrize("cluster", [False, True], ids=["single", "cluster"])
def test_volumes_are_declared_and_bind_sources_exist(cluster: bool) -> None:
    doc = effective(cluster=cluster)
    declared = set(doc.get("volumes") or {})
    for name, service in doc["services"].items():
        for volume in service.get("volumes", []):
            source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":")[0]
            if source.startswith((".", "/")):
                if source.endswith("sources.example.yaml") and not (ROOT / source).exists():
                    pytest.skip("ops/sources.example.yaml comes with the fetcher (services/fetcher/cli.py)")
                assert (ROOT / source).exists(), f"{name}: bind mount source {source} missing"
            else:
                assert source in declared, f"{name}: named volume {source} not declared"


def test_profiles() -> None:
    services = all_services(False)
    assert services["prometheus"]["profiles"] == ["monitoring"]
    assert services["grafana"]["profiles"] == ["monitoring"]
    assert services["kafka-ui"]["profiles"] == ["ui"]
    for name in ("kafka", "topic-init", "fetcher", "worker"):
        assert "profiles" not in services[name], f"{name} must start with a plain `docker compose up`"


# --- the brokers ----------------------------------------------------------------------------------


def kafka_nodes(cluster: bool) -> dict[str, dict[str, str]]:
    return {
        name: {k: str(v) for k, v in s["environment"].items()}
        for name, s in all_services(cluster).items()
        if str(s.get("image", "")).startswith(KAFKA_IMAGE)
    }


def test_single_broker_configuration() -> None:
    nodes = kafka_nodes(False)
    assert list(nodes) == ["kafka"]
    env = nodes["kafka"]
    topics = yaml.safe_load((ROOT / "ops" / "topics.yaml").read_text(encoding="utf-8"))
    max_bytes = str(Settings.model_fields["max_message_bytes"].default)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_MESSAGE_MAX_BYTES"] == max_bytes == str(topics["defaults"]["max_message_bytes"])
    assert int(env["KAFKA_REPLICA_FETCH_MAX_BYTES"]) >= int(max_bytes)
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    service = all_services(False)["kafka"]
    assert any(str(v).endswith(":/var/lib/kafka/data") for v in service["volumes"])
    assert env["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"


def test_cluster_configuration() -> None:
    nodes = kafka_nodes(True)
    assert len(nodes) == 3
    ids = sorted(env["KAFKA_NODE_ID"] for env in nodes.values())
    assert ids == ["1", "2", "3"]
    voters = {env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for env in nodes.values()}
    assert voters == {",".join(f"{env['KAFKA_NODE_ID']}@{name}:9093" for name, env in
                               sorted(nodes.items(), key=lambda kv: kv[1]["KAFKA_NODE_ID"]))}
    assert len({env["CLUSTER_ID"] for env in nodes.values()}) == 1
    advertised = [env["KAFKA_ADVERTISED_LISTENERS"] for env in nodes.values()]
    assert len(set(advertised)) == 3
    for env in nodes.values():
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        assert env["KAFKA_MESSAGE_MAX_BYTES"] == str(Settings.model_fields["max_message_bytes"].default)
    services = all_services(True)
    for name in ("topic-init", "fetcher", "worker"):
        bootstrap = services[name]["environment"]["NEWSFLOW_KAFKA"].split(",")
        assert sorted(h.split(":")[0] for h in bootstrap) == sorted(nodes), name
    assert services["worker"]["environment"]["TOPIC_REPLICATION_FACTOR"] == "3"
    assert set(services["topic-init"]["depends_on"]) == set(nodes)


def test_cluster_override_only_extends() -> None:
    """The override adds brokers and changes settings; it does not redefine the base services."""
    base, override = load(COMPOSE_FILE)["services"], load(CLUSTER_FILE)["services"]
    for name, service in override.items():
        if name in base:
            assert "image" not in service and "build" not in service, f"{name}: image redefined"


# --- commands ---------------------------------------------------------------------------------


def resolve(argv: list[str]) -> click.Command:
    """Parse argv like `newsflow` would (without running it); return the leaf command."""
    ctx = click.Context(cli_main, info_name="newsflow")
    group: click.Group = cli_main
    args = list(argv)
    while True:
        name = args.pop(0)
        command = group.get_command(ctx, name)
        if command is None:
            raise LookupError(f"`newsflow {' '.join(argv)}`: no subcommand {name!r}")
        try:
            sub = command.make_context(name, list(args), parent=ctx, resilient_parsing=False)
        except click.BadParameter as exc:  # a path that exists only inside the container
            if not isinstance(getattr(exc.param, "type", None), click.Path | click.File):
                raise
            return command
        if isinstance(command, click.Group):
            rest = getattr(sub, "_protected_args", None)
            ctx, group, args = sub, command, [*(sub.protected_args if rest is None else rest), *sub.args]
            continue
        return command


def compose_commands() -> list[tuple[str, str, list[str]]]:
    cases = []
    for label, cluster in (("single", False), ("cluster", True)):
        for name, service in all_services(cluster).items():
            for argv in newsflow_argvs(service):
                cases.append((label, name, argv))
    return cases


@pytest.mark.parametrize(("variant", "service", "argv"), compose_commands(),
                         ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_compose_runs_real_newsflow_commands(variant: str, service: str, argv: list[str]) -> None:
    assert argv, f"{service}: bare `newsflow`"
    if argv[0] in LATE_COMMANDS and cli_main.get_command(click.Context(cli_main), argv[0]) is None:
        pytest.skip(f"`newsflow {argv[0]}` is not registered yet (services/fetcher/cli.py)")
    resolve(argv)


def test_every_newsflow_service_runs_a_command() -> None:
    services = all_services(False)
    expected = {"topic-init": "topics", "fetcher": "fetch", "worker": "worker"}
    for name, subcommand in expected.items():
        argvs = newsflow_argvs(services[name])
        assert [a[0] for a in argvs] == [subcommand], name
    cluster_init = newsflow_argvs(all_services(True)["topic-init"])
    assert [a[0] for a in cluster_init] == ["topics"]


def test_command_check_rejects_nonsense() -> None:
    with pytest.raises(LookupError):
        resolve(["no-such-command"])
    with pytest.raises(click.UsageError):
        resolve(["worker", "--no-such-option"])
    with pytest.raises(LookupError):
        resolve(["broker", "restart"])
    with pytest.raises(click.UsageError):
        resolve(["tail"])  # TOPIC missing
