"""Structural lint of the Dockerfile (no Docker engine here to build it).

Pinned slim base, dependencies installed from pyproject.toml in a layer before the code is
copied, no dev extras, no remote ADD, a non-root USER, the `newsflow` entry point; and a
.dockerignore that keeps local state out of the build context.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
import tomllib

import pytest

from tests.ops.compose import DOCKERFILE, ROOT, dockerfile_entrypoint, dockerfile_instructions

INSTRUCTIONS = dockerfile_instructions(DOCKERFILE)


def index_of(predicate) -> int:
    for i, (instruction, args) in enumerate(INSTRUCTIONS):
        if predicate(instruction, args):
            return i
    raise AssertionError("instruction not found")


def test_base_image_is_pinned_and_slim() -> None:
    froms = [args for instruction, args in INSTRUCTIONS if instruction == "FROM"]
    assert froms, "no FROM"
    for args in froms:
        image = args.split()[0]
        assert "$" not in image, f"FROM {image}: resolve build args to a pinned image"
        tag = image.partition(":")[2]
        assert "@sha256:" in image or (tag and tag != "latest"), f"FROM {image} is not pinned"
    final = froms[-1].split()[0]
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", final), final


def test_runs_as_a_non_root_user() -> None:
    users = [args for instruction, args in INSTRUCTIONS if instruction == "USER"]
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"USER {users[-1]}"
    # nothing runs as root after the switch
    last_user = max(i for i, (instruction, _) in enumerate(INSTRUCTIONS) if instruction == "USER")
    assert not [a for ins, a in INSTRUCTIONS[last_user:] if ins == "RUN"], "RUN after USER"


def test_state_directory_exists_for_the_user() -> None:
    """NEWSFLOW_HOME must exist and be writable by USER: Faust creates its datadir in it, without
    parents, and the fetcher's named volume copies the directory's ownership."""
    env = " ".join(args for ins, args in INSTRUCTIONS if ins == "ENV")
    home = re.search(r"NEWSFLOW_HOME=(\S+)", env).group(1)
    user = [args for ins, args in INSTRUCTIONS if ins == "USER"][-1].split(":")[0]
    created = [args for ins, args in INSTRUCTIONS if ins == "RUN" and home in args]
    assert created, f"{home} is not created"
    assert re.search(rf"install -d (-o \S+ -g \S+ (-m \d+ )?){re.escape(home)}", created[0])
    assert re.search(r"--uid " + re.escape(user) + r"\b", " ".join(a for i, a in INSTRUCTIONS if i == "RUN"))


def test_no_remote_add() -> None:
    for instruction, args in INSTRUCTIONS:
        if instruction == "ADD":
            assert not re.search(r"(https?|ftp|git)://|git@", args), f"ADD {args}: remote source"


def test_entrypoint_is_newsflow() -> None:
    assert dockerfile_entrypoint() == ["newsflow"]
    cmd = [args for instruction, args in INSTRUCTIONS if instruction == "CMD"]
    assert cmd and json.loads(cmd[-1])[0] == "worker"
    # exec form, so signals reach the process (Faust shuts down cleanly on SIGTERM)
    entry = [args for instruction, args in INSTRUCTIONS if instruction == "ENTRYPOINT"][-1]
    assert entry.startswith("[")


def test_dependency_layer_is_cached_before_the_code() -> None:
    copy_all = index_of(lambda ins, args: ins == "COPY" and bool(re.fullmatch(r"(--\S+\s+)*\.\s+\S+", args)))
    copy_pyproject = index_of(lambda ins, args: ins == "COPY" and "pyproject.toml" in args.split()[:-1])
    install_deps = index_of(lambda ins, args: ins == "RUN" and "pip install" in args and "tomllib" in args)
    assert copy_pyproject < install_deps < copy_all
    # only pyproject.toml is copied before the dependencies are installed
    early_copies = [args for ins, args in INSTRUCTIONS[:install_deps] if ins in ("COPY", "ADD")]
    assert all(args.split()[:-1] == ["pyproject.toml"] for args in early_copies), early_copies
    # the code layer installs the project itself without touching the dependencies
    after = [args for ins, args in INSTRUCTIONS[copy_all:] if ins == "RUN" and "pip install" in args]
    assert after and all("--no-deps" in args for args in after)


def test_dependencies_come_from_pyproject_without_dev_extras() -> None:
    run = next(args for ins, args in INSTRUCTIONS if ins == "RUN" and "tomllib" in args)
    assert "['project']['dependencies']" in run
    assert "optional-dependencies" not in run and "[test]" not in run and ".[" not in run
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for extra in project.get("optional-dependencies", {}):
        assert f"[{extra}]" not in " ".join(a for _, a in INSTRUCTIONS)


def test_dependency_extraction_runs() -> None:
    """The python -c of the dependency layer, run here on the real pyproject.toml."""
    run = next(args for ins, args in INSTRUCTIONS if ins == "RUN" and "tomllib" in args)
    code = re.search(r'python -c "(.*?)" >', run).group(1)  # no shell expansion inside: no $ or `
    assert "$" not in code and "`" not in code
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    lines = result.stdout.split()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert lines == [*project["build-system"]["requires"], *project["project"]["dependencies"]]
    assert all(re.search(r"==|>=", line) or line == "wheel" for line in lines)


def test_exposes_the_worker_web_port() -> None:
    exposed = " ".join(args for ins, args in INSTRUCTIONS if ins == "EXPOSE").split()
    assert "6066" in exposed


@pytest.mark.parametrize("path", [
    ".venv/bin/python", ".git/HEAD", ".newsflow/kafka/broker.log", "tests/ops/test_dockerfile.py", ".env",
    "services/__pycache__/cli.cpython-311.pyc", "ops/kafka/classpath.txt",
])
def test_dockerignore_keeps_local_state_out(path: str) -> None:
    assert ignored(path), f"{path} would be sent to the build context"


@pytest.mark.parametrize("path", [
    "pyproject.toml", "README.md", "services/cli.py", "schemas/enriched.schema.json", "ops/topics.yaml",
    "ops/samples/wire.jsonl",
])
def test_dockerignore_keeps_what_the_image_needs(path: str) -> None:
    assert (ROOT / path).exists()
    assert not ignored(path), f"{path} is needed in the image"


def ignored(path: str) -> bool:
    """Docker's .dockerignore matching (patterns, `**`, `!` exceptions; last match wins)."""
    result = False
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        regex = regex.replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, p) for p in prefixes) or fnmatch.fnmatch(path, pattern):
            result = not negate
    return result
