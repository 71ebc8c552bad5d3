"""The runbooks and docs/docker.md: every command they give exists, every link resolves.

A runbook that tells an operator to run `newsflow tail --from-start` at 3 a.m. is a bug; so is
`docker compose run worker topicz`. Commands are taken from fenced shell blocks.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from services.cli import main as cli_main
from tests.ops.compose import ROOT, effective, newsflow_argvs, runs_newsflow_image, simple_commands
from tests.ops.test_compose import LATE_COMMANDS, resolve

RUNBOOKS = ROOT / "ops" / "runbooks"
DOCS = [*sorted(RUNBOOKS.glob("*.md")), ROOT / "docs" / "docker.md", ROOT / "ops" / "compose" / "README.md"]
REQUIRED_RUNBOOKS = {
    "add-a-source.md", "replay-a-range.md", "reset-a-consumer-group.md", "redrive-the-dlq.md",
    "grow-partitions.md", "move-to-a-cluster.md",
}
# docker compose options that take a value (global ones, and those of the subcommands used here)
GLOBAL_OPTIONS_WITH_VALUE = {"-p", "--project-name", "-f", "--file", "--profile", "--env-file",
                             "--project-directory"}
OPTIONS_WITH_VALUE = {"-v", "--volume", "-e", "--env", "--name", "-w", "--workdir", "-u", "--user",
                      "-l", "--label", "-p", "--publish", "--cap-add", "--cap-drop", "--pull", "--index",
                      "--scale", "-t", "--timeout", "--entrypoint"}
ONE_SERVICE = {"run", "exec"}
SERVICES_LIST = {"up", "stop", "start", "restart", "logs", "build", "ps", "down", "pull", "rm", "kill"}


def shell_blocks(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return re.findall(r"```(?:bash|sh|shell|console)\n(.*?)```", text, flags=re.S)


def compose_call(words: list[str]) -> tuple[str, list[str], dict[str, str], list[str]] | None:
    """`docker compose [global opts] SUB [opts] [services / SERVICE ARGS…]` →
    (SUB, services, options, ARGS); None if the words are not a docker compose call."""
    if words[:2] != ["docker", "compose"]:
        return None
    rest = words[2:]
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in GLOBAL_OPTIONS_WITH_VALUE:
            rest.pop(0)
    if not rest:
        return None
    sub, rest = rest[0], rest[1:]
    options: dict[str, str] = {}
    services: list[str] = []
    args: list[str] = []
    while rest:
        word = rest.pop(0)
        if services and sub in ONE_SERVICE:
            args = [word, *rest]
            break
        if word.startswith("-"):
            name, _, value = word.partition("=")
            options[name] = value or (rest.pop(0) if name in OPTIONS_WITH_VALUE and rest else "")
        else:
            services.append(word)
    return sub, services, options, args


def documented_commands() -> list[tuple[str, list[str]]]:
    services = effective(cluster=True)["services"]
    found = []
    for path in DOCS:
        for block in shell_blocks(path):
            for words in simple_commands(block):
                if words[0] == "newsflow":
                    found.append((path.name, words[1:]))
                    continue
                call = compose_call(words)
                if call is None:
                    continue
                sub, names, options, args = call
                if sub == "run" and names and runs_newsflow_image(services.get(names[0], {})) \
                        and "--entrypoint" not in options:
                    # no ARGS: the service's own command
                    argvs = [args] if args else newsflow_argvs(services[names[0]])
                    found += [(path.name, argv) for argv in argvs]
                if sub == "exec" and args[:1] == ["newsflow"]:
                    found.append((path.name, args[1:]))
    return found


COMMANDS = documented_commands()


def test_docs_show_commands() -> None:
    files = {name for name, _ in COMMANDS}
    assert {"docker.md", "redrive-the-dlq.md", "grow-partitions.md"} <= files
    assert len(COMMANDS) >= 10


@pytest.mark.parametrize(("doc", "argv"), COMMANDS, ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_documented_newsflow_commands_exist(doc: str, argv: list[str]) -> None:
    assert argv, f"{doc}: bare `newsflow`"
    if argv[0] in LATE_COMMANDS and cli_main.get_command(click.Context(cli_main), argv[0]) is None:
        pytest.skip(f"`newsflow {argv[0]}` is not registered yet (services/fetcher/cli.py)")
    try:
        resolve(argv)
    except (LookupError, click.UsageError) as exc:
        pytest.fail(f"{doc}: `newsflow {' '.join(argv)}`: {exc}")


def test_compose_services_in_docs_exist() -> None:
    services = set(effective(cluster=True)["services"])
    calls = 0
    for path in DOCS:
        for block in shell_blocks(path):
            for words in simple_commands(block):
                call = compose_call(words)
                if call is None:
                    continue
                sub, names, _, _ = call
                if sub in ONE_SERVICE | SERVICES_LIST:
                    calls += 1
                    unknown = set(names) - services
                    assert not unknown, f"{path.name}: unknown service(s) {unknown} in {' '.join(words)!r}"
    assert calls >= 10


def test_required_runbooks_exist_and_are_indexed() -> None:
    present = {p.name for p in RUNBOOKS.glob("*.md")}
    assert present >= REQUIRED_RUNBOOKS | {"README.md"}
    index = (RUNBOOKS / "README.md").read_text(encoding="utf-8")
    for name in REQUIRED_RUNBOOKS:
        assert f"({name})" in index, f"{name} not linked from ops/runbooks/README.md"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        assert (path.parent / target).exists(), f"{path.name}: broken link {target}"


def test_docker_doc_matches_compose() -> None:
    """The ports and services docs/docker.md names are the compose defaults."""
    text = (ROOT / "docs" / "docker.md").read_text(encoding="utf-8")
    services = effective()["services"]
    for service, port in (("grafana", "3000"), ("prometheus", "9090"), ("kafka-ui", "8080")):
        assert f"http://localhost:{port}" in text
        assert any(str(p).startswith(f"{port}:") for p in services[service]["ports"]), service
    assert "localhost:29092" in text and any(str(p).startswith("29092:") for p in services["kafka"]["ports"])
    for name, argv in (("topic-init", "topics"), ("worker", "worker")):
        assert newsflow_argvs(services[name])[0][0] == argv
        assert f"newsflow {argv}" in text
