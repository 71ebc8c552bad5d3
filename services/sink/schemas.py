"""The JSON Schemas in `schemas/`, compiled once per process."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator

from services.settings import PROJECT_ROOT

SCHEMA_DIR = PROJECT_ROOT / "schemas"


class RecordValidator:
    """Validates records of one topic family (`raw`, `cleaned`, `tagged`, `enriched`, `dlq`)."""

    def __init__(self, name: str, schema_dir: Path = SCHEMA_DIR) -> None:
        self.name = name
        self.schema: dict[str, Any] = orjson.loads((schema_dir / f"{name}.schema.json").read_bytes())
        Draft202012Validator.check_schema(self.schema)
        self._validator = Draft202012Validator(self.schema)

    def errors(self, record: Any) -> list[str]:
        """Human-readable violations, empty when the record is valid."""
        return [
            f"{'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
            for err in sorted(self._validator.iter_errors(record), key=lambda e: list(e.absolute_path))
        ][:10]

    def is_valid(self, record: Any) -> bool:
        return self._validator.is_valid(record)


@cache
def validator(name: str) -> RecordValidator:
    return RecordValidator(name)
