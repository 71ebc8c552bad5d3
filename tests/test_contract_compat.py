"""Schemas as a contract: every released version's sample records stay valid; breaking changes fail."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.outcomes import SCHEMA_BY_TOPIC
from services.records import SCHEMA_VERSION
from services.sink.compat import CONTRACT, check_all, check_compatibility, schema_names, schema_version
from services.sink.schemas import SCHEMA_DIR

# Released versions, and the schemas each one had (story: news.stories appeared in 1.1.0).
RELEASED = {"1.0.0": {"raw", "cleaned", "tagged", "enriched", "dlq"},
            "1.1.0": {"raw", "cleaned", "tagged", "enriched", "dlq", "story"}}
NEXT_MINOR = "1.2.0"


def test_every_schema_accepts_the_samples_of_every_released_version() -> None:
    names = schema_names()
    assert set(names) >= {s.decode() for s in SCHEMA_BY_TOPIC.values()}
    assert SCHEMA_VERSION in RELEASED
    for version, released in RELEASED.items():
        for name in released:
            assert len(list((SCHEMA_DIR / "samples" / name / version).glob("*.json"))) >= 2, (name, version)
    assert check_all() == []


def test_records_carry_the_version_the_schemas_declare() -> None:
    for name in schema_names():
        schema = orjson.loads((SCHEMA_DIR / f"{name}.schema.json").read_bytes())
        assert schema_version(schema) == SCHEMA_VERSION, name


@pytest.fixture
def schemas(tmp_path: Path) -> Path:
    """A copy of schemas/ (with samples) that a test may change."""
    target = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, target)
    return target


def edit(schemas: Path, name: str, change: Any) -> None:
    path = schemas / f"{name}.schema.json"
    schema = orjson.loads(path.read_bytes())
    change(schema)
    path.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2))


def test_a_new_required_field_breaks_old_records(schemas: Path) -> None:
    def require_region(schema: dict[str, Any]) -> None:
        schema["required"].append("region")
        schema["properties"]["region"] = {"type": "string"}

    edit(schemas, "enriched", require_region)
    problems = check_compatibility("enriched", schemas)
    broken = {p.path.name for p in problems if p.path}
    assert broken == {p.name for p in (schemas / "samples" / "enriched").glob("*/*.json")}
    assert all("'region' is a required property" in " ".join(p.problems) for p in problems)
    assert check_all(schemas) == problems  # the other schemas are untouched


def test_narrowing_a_type_or_an_enum_breaks_old_records(schemas: Path) -> None:
    def narrow(schema: dict[str, Any]) -> None:
        schema["properties"]["published_at"]["type"] = "string"  # null no longer allowed
        schema["properties"]["dedup"]["properties"]["status"]["enum"] = ["unique", "duplicate"]

    edit(schemas, "enriched", narrow)
    problems = {p.path.name: " ".join(p.problems) for p in check_compatibility("enriched", schemas) if p.path}
    assert "published_at" in problems["minimal.json"]
    assert "near_duplicate" in problems["near-duplicate.json"]


def test_an_optional_field_is_a_compatible_minor_change(schemas: Path) -> None:
    def add_regions(schema: dict[str, Any]) -> None:
        schema["properties"]["regions"] = {"type": "array", "items": {"type": "string"}}
        schema["$id"] = schema["$id"].replace(SCHEMA_VERSION, NEXT_MINOR)

    edit(schemas, "enriched", add_regions)
    problems = check_compatibility("enriched", schemas)
    # compatible, but releasing the next minor version means adding its own samples
    assert [(p.version, p.path) for p in problems] == [(NEXT_MINOR, None)]
    (schemas / "samples" / "enriched" / NEXT_MINOR).mkdir()
    record = orjson.loads((schemas / "samples" / "enriched" / "1.0.0" / "unique.json").read_bytes())
    record.update(schema_version=NEXT_MINOR, regions=["GB-LND"])
    (schemas / "samples" / "enriched" / NEXT_MINOR / "unique.json").write_bytes(orjson.dumps(record))
    assert check_compatibility("enriched", schemas) == []


def test_a_major_version_needs_the_old_schema_kept_and_a_migration_note(schemas: Path, tmp_path: Path) -> None:
    old = (schemas / "enriched.schema.json").read_bytes()

    def major(schema: dict[str, Any]) -> None:
        schema["$id"] = schema["$id"].replace(SCHEMA_VERSION, "2.0.0")
        schema["properties"]["schema_version"]["pattern"] = "^2\\.\\d+\\.\\d+$"
        schema["required"].append("region")

    edit(schemas, "enriched", major)
    v2 = schemas / "samples" / "enriched" / "2.0.0"
    v2.mkdir()
    record = orjson.loads((schemas / "samples" / "enriched" / "1.0.0" / "unique.json").read_bytes())
    record.update(schema_version="2.0.0", region="GB")
    (v2 / "unique.json").write_bytes(orjson.dumps(record))
    contract = tmp_path / "contract.md"
    contract.write_text(CONTRACT.read_text(encoding="utf-8"), encoding="utf-8")

    problems = check_compatibility("enriched", schemas, contract=contract)
    assert problems and all(p.version.startswith("1.") for p in problems)
    assert "without the old schema kept as enriched.v1.schema.json" in str(problems[0])

    (schemas / "enriched.v1.schema.json").write_bytes(old)
    assert "migration note" in str(check_compatibility("enriched", schemas, contract=contract)[0])
    with contract.open("a", encoding="utf-8") as out:
        out.write("\n### Migration `enriched` 1 → 2\n\n`region` is required; 1.x records lack it.\n")
    assert check_compatibility("enriched", schemas, contract=contract) == []
    assert "enriched" in schema_names(schemas) and "enriched.v1" not in schema_names(schemas)
