"""Reading compose files the way Docker Compose does, without Docker: load, interpolate, merge.

Only what the checks in this folder need: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
`${VAR:?message}`, `$VAR` and `$$` interpolation; the merge rules of `-f base -f override`
(mappings merge, `command`/`entrypoint`/`healthcheck.test` replace, `volumes` merge by target,
other sequences append); and the `newsflow` argv a service runs.
"""

from __future__ import annotations

import copy
import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
CLUSTER_FILE = ROOT / "docker-compose.cluster.yml"
COMPOSE_FILES = (COMPOSE_FILE, CLUSTER_FILE)
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
SCHEMA_FILE = ROOT / "ops" / "compose" / "compose-spec.json"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?err}, ${NAME?err}, ${NAME:+alt}, $NAME; $$ escapes.
_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def load(path: Path) -> dict[str, Any]:
    """The YAML document as compose sees it before interpolation (anchors and `<<` resolved)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def strings(node: Any) -> Iterator[str]:
    """Every string value and mapping key in a document."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if isinstance(key, str):
                yield key
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def variables(node: Any) -> dict[str, set[str | None]]:
    """Variables referenced by interpolation → the defaults given for them (None: no default)."""
    found: dict[str, set[str | None]] = {}
    for text in strings(node):
        for m in _VAR.finditer(text):
            if m.group("escaped"):
                continue
            name = m.group("braced") or m.group("bare")
            op = m.group("op")
            default = m.group("arg") if op in (":-", "-") else None
            found.setdefault(name, set()).add(default)
    return found


def interpolate_text(text: str, env: Mapping[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group("escaped"):
            return "$"
        name = m.group("braced") or m.group("bare")
        op, arg = m.group("op"), m.group("arg") or ""
        value = env.get(name)
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        if op in (":?", "?"):
            if (op == ":?" and not value) or value is None:
                raise KeyError(f"{name}: {arg}")
            return value
        if op == ":+":
            return arg if value else ""
        if op == "+":
            return arg if value is not None else ""
        return value or ""

    return _VAR.sub(sub, text)


def interpolate(node: Any, env: Mapping[str, str] | None = None) -> Any:
    """The document with every string interpolated (an empty environment: all defaults)."""
    env = env or {}
    if isinstance(node, str):
        return interpolate_text(node, env)
    if isinstance(node, Mapping):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    return node


def _volume_target(entry: Any) -> str:
    if isinstance(entry, Mapping):
        return str(entry.get("target"))
    parts = str(entry).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _merge(base: Any, over: Any, key: str | None = None, parent: str | None = None) -> Any:
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        merged = dict(base)
        for k, v in over.items():
            merged[k] = _merge(base[k], v, k, key) if k in base else copy.deepcopy(v)
        return merged
    if isinstance(base, list) and isinstance(over, list):
        if key in ("command", "entrypoint") or (key == "test" and parent == "healthcheck"):
            return copy.deepcopy(over)
        if key == "volumes":
            by_target = {_volume_target(v): v for v in base}
            by_target.update({_volume_target(v): v for v in over})
            return list(by_target.values())
        return list(base) + [v for v in over if v not in base]
    return copy.deepcopy(over)


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`docker compose -f base -f override` (the subset of the merge rules these files use)."""
    return _merge(base, override)


def effective(cluster: bool = False, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The interpolated configuration compose would run: single node, or with the cluster override."""
    doc = interpolate(load(COMPOSE_FILE), env)
    if cluster:
        doc = merge(doc, interpolate(load(CLUSTER_FILE), env))
    return doc


# --- the newsflow image ------------------------------------------------------------------------


def dockerfile_entrypoint(dockerfile: Path = DOCKERFILE) -> list[str]:
    """ENTRYPOINT of a Dockerfile in exec form (`[]` when absent)."""
    entry: list[str] = []
    for instruction, args in dockerfile_instructions(dockerfile):
        if instruction == "ENTRYPOINT":
            entry = yaml.safe_load(args) if args.startswith("[") else shlex.split(args)
    return entry


def dockerfile_instructions(dockerfile: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    lines: list[str] = []
    current = ""
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        lines.append(current)
        current = ""
    if current:
        lines.append(current)
    result = []
    for line in lines:
        instruction, _, args = line.partition(" ")
        result.append((instruction.upper(), args.strip()))
    return result


def runs_newsflow_image(service: Mapping[str, Any]) -> bool:
    """Built from this repository's Dockerfile (so its entry point is `newsflow`)."""
    build = service.get("build")
    if build is None:
        return False
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    return (ROOT / context / dockerfile).resolve() == DOCKERFILE


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(v) for v in value]


_SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")"}
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")


def logical_lines(script: str) -> list[str]:
    """Shell lines with `\\` continuations joined, and lines joined while a quote is open."""
    lines, buffer = [], ""
    for line in script.replace("\\\n", " ").splitlines():
        buffer = f"{buffer}\n{line}" if buffer else line
        try:
            shlex.split(buffer, comments=True)
        except ValueError:  # an open quote continues on the next line
            continue
        lines.append(buffer)
        buffer = ""
    if buffer:
        raise ValueError(f"unbalanced quotes in: {buffer!r}")
    return lines


def simple_commands(script: str) -> list[list[str]]:
    """The words of each simple command of a POSIX shell script, without leading variable
    assignments, `exec`/`env`, and redirections (`> file`, `2>&1`, `< file`)."""
    commands: list[list[str]] = []
    for line in logical_lines(script):
        line = re.sub(r"(^|\s)\d+(?=[<>])", r"\1", line)  # `2>file` → `>file`: fd numbers are not words
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        current: list[str] = []
        commands.append(current)
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok in _SEPARATORS:
                current = []
                commands.append(current)
            elif set(tok) <= set(";&|()<>") and ("<" in tok or ">" in tok):
                i += 1  # a redirection: skip its target too
            else:
                current.append(tok)
            i += 1
    result = []
    for words in commands:
        while words and (_ASSIGNMENT.fullmatch(words[0]) or words[0] in ("exec", "env")):
            words = words[1:]
        if words:
            result.append(words)
    return result


def shell_invocations(script: str, program: str = "newsflow") -> list[list[str]]:
    """argv (without the program) of each `program …` simple command in a POSIX shell script."""
    return [words[1:] for words in simple_commands(script) if words[0] == program]


def newsflow_argvs(service: Mapping[str, Any]) -> list[list[str]]:
    """The `newsflow` argument vectors a service runs (its command, or `newsflow …` in a shell)."""
    entrypoint = _as_list(service.get("entrypoint")) if "entrypoint" in service else None
    command = _as_list(service.get("command"))
    if entrypoint is None and runs_newsflow_image(service):
        entrypoint = dockerfile_entrypoint()
    argv = [*(entrypoint or []), *command]
    if not argv:
        return []
    if Path(argv[0]).name == "newsflow":
        return [argv[1:]]
    if Path(argv[0]).name in ("sh", "bash") and "-c" in argv:
        script = argv[argv.index("-c") + 1]
        return shell_invocations(script)
    return []
