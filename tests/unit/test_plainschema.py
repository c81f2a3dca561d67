"""``plainschema``: the plain schemas most tools have, decided as ``jsonschema``'s Draft 2020-12 validator decides."""

from __future__ import annotations

import random

import jsonschema
import pytest

from mcpomni_jupyter.core.plainschema import is_plain, plain_valid
from mcpomni_jupyter.core.schemas import SchemaCheck

TYPES = ["null", "boolean", "object", "array", "number", "integer", "string"]
VALUES = [None, True, False, 0, 1, -3, 1.0, 2.5, float("inf"), "", "x", [], [1], {}, {"a": 1}, {"a": "s", "b": 2}, {"c": None}]


def schema(rng: random.Random, depth: int = 0) -> dict:
    out: dict = {}
    if rng.random() < 0.8:
        out["type"] = rng.choice(TYPES) if rng.random() < 0.7 else rng.sample(TYPES, rng.randint(1, 3))
    if depth < 2 and rng.random() < 0.6:
        out["properties"] = {name: schema(rng, depth + 1) for name in rng.sample(["a", "b", "c"], rng.randint(0, 3))}
    if rng.random() < 0.4:
        out["required"] = rng.sample(["a", "b", "c"], rng.randint(0, 2))
    if rng.random() < 0.3:
        out["additionalProperties"] = rng.random() < 0.5
    if rng.random() < 0.3:
        out["title"], out["description"], out["default"] = "T", "d", 3
    return out


def test_the_same_verdict_as_jsonschema():
    rng = random.Random(20)
    checked = 0
    for _ in range(400):
        s = schema(rng)
        assert is_plain(s), s
        validator = jsonschema.Draft202012Validator(s)
        instances = VALUES + [{k: rng.choice(VALUES) for k in rng.sample(["a", "b", "c", "d"], rng.randint(0, 4))} for _ in range(10)]
        for instance in instances:
            assert plain_valid(s, instance) == validator.is_valid(instance), (s, instance)
            checked += 1
    assert checked > 10_000


@pytest.mark.parametrize(
    "s",
    [
        {"$schema": "http://json-schema.org/draft-07/schema#"},
        {"type": "string", "format": "email"},
        {"type": "string", "minLength": 3},
        {"properties": {"a": {"$ref": "#/$defs/a"}}},
        {"type": []},
        {"type": ["string", "string"]},
        {"type": "text"},
        {"required": "a"},
        {"additionalProperties": {"type": "string"}},
        {"properties": {"a": True}},
        {"title": 3},
    ],
)
def test_anything_else_is_left_to_jsonschema(s):
    assert not is_plain(s)


def test_a_failure_gets_jsonschemas_message():
    check = SchemaCheck({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]})
    assert check.first_error({"n": 3}) is None and check._validator is None  # valid: jsonschema not even compiled
    assert check.first_error({"n": "3"}).message == "'3' is not of type 'integer'"
    assert check.first_error({}).message == "'n' is a required property"
