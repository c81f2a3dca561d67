"""JSON Schema as the server sent it (core/schemas.py), and a result without resultType (SEP-2322): no server."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mcpomni_jupyter.core.callables import check_arguments
from mcpomni_jupyter.core.schemas import SchemaCheck
from mcpomni_jupyter.core.session.transports import Wire, completed
from mcpomni_jupyter.errors import ArgumentError

REMOTE = "https://schemas.example/profile.json"
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {"n": {"type": "integer"}},
    "type": "object",
    "properties": {"a": {"$ref": REMOTE}, "b": {"$ref": "#/$defs/n"}, "c": {"$ref": "other.json#/x"}},
}


def test_a_ref_to_another_document_skips_that_part_only_and_is_told_once():
    told: list[str] = []
    check = SchemaCheck(SCHEMA, told.append)
    assert check.first_error({"a": "anything at all", "b": 1, "c": [1]}) is None
    assert check.first_error({"a": 1, "b": "not an integer"}).message == "'not an integer' is not of type 'integer'"
    assert check.first_error({"a": 2, "c": 3}) is None
    assert told == [REMOTE, "other.json"]  # each once, whatever the number of checks


def test_a_pointer_to_nowhere_skips_the_check_and_says_so():
    told: list[str] = []
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}
    assert SchemaCheck(schema, told.append).first_error({"a": 1}) is None
    assert told and "missing" in told[0]


def test_the_dialect_is_the_schemas_own():
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "integer"}]}  # tuple form: draft 7
    assert SchemaCheck(draft7).first_error(["x"]) is not None
    assert SchemaCheck({"prefixItems": [{"type": "integer"}]}).first_error(["x"]) is not None  # no $schema: 2020-12


def test_argument_checks_say_where_a_reference_was_not_followed():
    told: list[str] = []
    check_arguments("t", SCHEMA, {"a": {"x": 1}}, told.append)
    assert told == [REMOTE]
    with pytest.raises(ArgumentError, match="b: 'x' is not of type 'integer'"):
        check_arguments("t", SCHEMA, {"a": {"x": 1}, "b": "x"}, told.append)  # the rest is still checked


def response(result: object) -> SimpleNamespace:
    return SimpleNamespace(message=SimpleNamespace(result=result))


def test_a_result_without_result_type_is_complete_once_the_session_is_modern():
    modern, older = Wire(modern=True), Wire()
    assert completed(response({"content": []}), modern).message.result == {"content": [], "resultType": "complete"}
    assert completed(response({"resultType": "input_required"}), modern).message.result == {"resultType": "input_required"}
    assert completed(response({"content": []}), older).message.result == {"content": []}  # before 2026-07-28: left as sent
    error = SimpleNamespace(message=SimpleNamespace(error={"code": 1}))
    assert completed(error, modern) is error and not hasattr(error.message, "result")
    assert completed(ValueError("a transport error"), modern).args == ("a transport error",)


def test_a_schema_that_is_not_one_is_left_to_the_server():
    check_arguments("t", {"type": "object", "properties": {"a": {"type": 12}}}, {"a": 1})  # a type that is a number
    check_arguments("t", {"type": "object", "properties": {"a": {"pattern": "("}}}, {"a": "x"})  # a pattern that is not one
