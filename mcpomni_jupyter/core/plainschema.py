"""The plain JSON Schemas most tools have, checked without ``jsonschema`` (whose import can take 1-2 s).

A plain schema uses only ``type`` (one JSON type or a list of them),
``properties`` (plain schemas), ``required``, ``additionalProperties`` (a
boolean), ``title``, ``description`` and ``default``, nested at most
``DEPTH`` deep, with no ``$schema`` (so the dialect is 2020-12).  Such a
schema is always valid against its metaschema, and ``plain_valid`` decides
what ``jsonschema``'s ``Draft202012Validator`` decides (the same type rules:
a bool is no number, ``1.0`` is an integer).  Only a verdict: an instance
that fails is checked again by ``jsonschema`` for its error message, so the
messages stay jsonschema's.  Pure: no imports beyond the standard library.
"""

from __future__ import annotations

import numbers
from typing import Any

DEPTH = 8
_KEYS = frozenset({"type", "properties", "required", "additionalProperties", "title", "description", "default"})
_TYPES = frozenset({"null", "boolean", "object", "array", "number", "integer", "string"})


def is_plain(schema: Any, depth: int = 0) -> bool:
    """Whether ``schema`` is a plain schema (see the module)."""
    if not isinstance(schema, dict) or depth > DEPTH or not _KEYS.issuperset(schema):
        return False
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if "type" in schema else []
    if not all(isinstance(k, str) and k in _TYPES for k in kinds) or len(set(kinds)) != len(kinds) or kind == []:
        return False
    for key in ("title", "description"):
        if key in schema and not isinstance(schema[key], str):
            return False
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required) or len(set(required)) != len(required):
        return False
    if not isinstance(schema.get("additionalProperties", True), bool):
        return False
    properties = schema.get("properties", {})
    return isinstance(properties, dict) and all(isinstance(k, str) and is_plain(v, depth + 1) for k, v in properties.items())


def _is_type(instance: Any, kind: str) -> bool:
    if kind == "null":
        return instance is None
    if kind == "boolean":
        return isinstance(instance, bool)
    if kind == "object":
        return isinstance(instance, dict)
    if kind == "array":
        return isinstance(instance, list)
    if kind == "string":
        return isinstance(instance, str)
    if isinstance(instance, bool):
        return False
    if kind == "integer":
        return instance.is_integer() if isinstance(instance, float) else isinstance(instance, int)
    return isinstance(instance, numbers.Number)  # "number"


def plain_valid(schema: dict[str, Any], instance: Any) -> bool:
    """Whether ``instance`` satisfies the plain schema ``schema`` (``is_plain(schema)`` must hold)."""
    if "type" in schema:
        kind = schema["type"]
        if not any(_is_type(instance, k) for k in (kind if isinstance(kind, list) else [kind])):
            return False
    if not isinstance(instance, dict):
        return True
    properties = schema.get("properties", {})
    if any(name not in instance for name in schema.get("required", ())):
        return False
    if schema.get("additionalProperties", True) is False and any(name not in properties for name in instance):
        return False
    return all(plain_valid(properties[name], value) for name, value in instance.items() if name in properties)
