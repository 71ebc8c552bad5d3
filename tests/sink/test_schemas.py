"""The fast validator never accepts what the reference (jsonschema, Draft 2020-12) rejects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from services.sink.compat import schema_names
from services.sink.schemas import SCHEMA_DIR, validator

ODD_VALUES: list[Any] = [None, "", "x", 0, -1, 1.5, True, [], ["x"], [1], {}, {"a": 1}, "2026-13-45", "zz"]


def mutations(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The record with one field dropped, or replaced by an odd value, at the top and one level down."""
    for key, value in record.items():
        yield {k: v for k, v in record.items() if k != key}
        for odd in ODD_VALUES:
            yield {**record, key: odd}
        if isinstance(value, dict):
            for sub in value:
                for odd in ODD_VALUES[:6]:
                    yield {**record, key: {**value, sub: odd}}
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for sub in value[0]:
                for odd in ODD_VALUES[:6]:
                    yield {**record, key: [{**value[0], sub: odd}, *value[1:]]}


@pytest.mark.parametrize("name", schema_names())
def test_fast_and_reference_validators_agree(name: str) -> None:
    fast = validator(name)
    reference = Draft202012Validator(fast.schema)
    samples = [orjson.loads(p.read_bytes()) for p in (SCHEMA_DIR / "samples" / name).glob("*/*.json")]
    assert samples
    checked = rejected = 0
    for sample in samples:
        assert fast.is_valid(sample) and fast.errors(sample) == []
        for record in mutations(sample):
            ok = reference.is_valid(record)
            assert fast.is_valid(record) == ok, (name, record)
            assert (fast.errors(record) == []) == ok, (name, record)
            assert fast._fast_ok(record) <= ok, ("fast path accepted a record jsonschema rejects", name, record)
            checked += 1
            rejected += not ok
    assert rejected > 10 and checked > rejected
