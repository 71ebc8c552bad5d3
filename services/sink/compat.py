"""Schema compatibility: the current schemas must still accept every released version's records.

Why: records stay on topics for weeks (`news.raw` forever) and consumers replay them, so a schema
change that rejects an old record breaks replays and consumers silently. Each released version
keeps sample records in `schemas/samples/<schema>/<version>/*.json` (never edited afterwards);
`check_compatibility` proves the schema accepts them:

* a sample of the current major version must validate against the current schema
  (`schemas/<schema>.schema.json`): minor versions only add optional fields;
* a sample of an older major version must validate against the schema kept for that major
  (`schemas/<schema>.v<major>.schema.json`), and `docs/contract.md` must carry a migration note
  (a line `Migration `<schema>` <old> → <new>`);
* the current version must have samples of its own (releasing a version means adding them).

Used by `tests/test_contract_compat.py` and `newsflow schemas check`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator

from services.settings import PROJECT_ROOT
from services.sink.schemas import SCHEMA_DIR

SAMPLES_DIR = SCHEMA_DIR / "samples"
CONTRACT = PROJECT_ROOT / "docs" / "contract.md"
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One sample (or one missing piece) that breaks the contract, with the validator's words."""

    schema: str
    version: str
    path: Path | None
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        where = self.path.name if self.path else "-"
        return f"{self.schema} {self.version} {where}: {'; '.join(self.problems)}"


def parse_version(text: str) -> tuple[int, int, int]:
    match = _VERSION.match(text)
    if not match:
        raise ValueError(f"not a semantic version: {text!r}")
    return int(match[1]), int(match[2]), int(match[3])


def schema_version(schema: dict[str, Any]) -> str:
    """A schema's version: the last segment of its `$id` (`https://newsflow.dev/schemas/raw/1.0.0`)."""
    return str(schema.get("$id", "")).rstrip("/").rsplit("/", 1)[-1]


def schema_names(schema_dir: Path = SCHEMA_DIR) -> list[str]:
    """Current schemas (`raw`, `cleaned`, ...), not the kept older majors (`raw.v1`)."""
    names = (p.name.removesuffix(".schema.json") for p in schema_dir.glob("*.schema.json"))
    return sorted(n for n in names if "." not in n)


def _load(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = orjson.loads(path.read_bytes())
    Draft202012Validator.check_schema(schema)
    return schema


def _errors(schema: dict[str, Any], record: Any) -> list[str]:
    validator = Draft202012Validator(schema)
    return [
        f"{'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
        for err in sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))
    ][:10]


def check_compatibility(name: str, schema_dir: Path = SCHEMA_DIR, samples_dir: Path | None = None,
                        contract: Path | None = CONTRACT) -> list[Incompatibility]:
    """Every way schema `name` in `schema_dir` fails the samples; empty when compatible."""
    samples_dir = samples_dir or schema_dir / "samples"
    current = _load(schema_dir / f"{name}.schema.json")
    current_version = schema_version(current)
    current_major = parse_version(current_version)[0]
    notes = contract.read_text(encoding="utf-8") if contract and contract.is_file() else ""
    found: list[Incompatibility] = []
    versions = sorted((d for d in (samples_dir / name).glob("*") if d.is_dir()), key=lambda d: d.name)
    if not any(d.name == current_version for d in versions):
        found.append(Incompatibility(name, current_version, None, [
            f"no samples of the current version: add {samples_dir.name}/{name}/{current_version}/*.json"]))
    for version_dir in versions:
        version = version_dir.name
        try:
            major = parse_version(version)[0]
        except ValueError as exc:
            found.append(Incompatibility(name, version, version_dir, [str(exc)]))
            continue
        if parse_version(version) > parse_version(current_version):
            found.append(Incompatibility(name, version, version_dir, [f"newer than the schema ({current_version})"]))
            continue
        schema = current
        if major != current_major:
            kept = schema_dir / f"{name}.v{major}.schema.json"
            note = re.compile(rf"Migration\s+`?{re.escape(name)}`?\s+{major}\s*(→|->)\s*{current_major}\b")
            if not kept.is_file():
                found.append(Incompatibility(name, version, version_dir, [
                    f"major version {major} → {current_major} without the old schema kept as {kept.name}"]))
                continue
            if not note.search(notes):
                found.append(Incompatibility(name, version, version_dir, [
                    f"major version {major} → {current_major} without a migration note in the contract"]))
            schema = _load(kept)
        samples = sorted(version_dir.glob("*.json"))
        if not samples:
            found.append(Incompatibility(name, version, version_dir, ["no sample records"]))
        for path in samples:
            record = orjson.loads(path.read_bytes())
            problems = _errors(schema, record)
            if isinstance(record, dict) and record.get("schema_version") != version:
                problems.append(f"schema_version is {record.get('schema_version')!r}, its folder says {version}")
            if problems:
                found.append(Incompatibility(name, version, path, problems))
    return found


def check_all(schema_dir: Path = SCHEMA_DIR, samples_dir: Path | None = None,
              contract: Path | None = CONTRACT) -> list[Incompatibility]:
    """`check_compatibility` for every current schema in `schema_dir`."""
    return [problem for name in schema_names(schema_dir)
            for problem in check_compatibility(name, schema_dir, samples_dir, contract)]
