"""A tool's JSON Schema applied as the server sent it, and never a fetch (SEP-2106).

A tool's ``inputSchema`` and ``outputSchema`` are kept exactly as listed
(``$schema``, ``$defs``, every keyword we do not know: the SDK's ``Tool``
keeps them as plain dicts, and so do we).  Checking arguments or a result
against one never dereferences a ``$ref`` to another document (a network URI,
a file): the registry answers each such reference with the empty schema, so
that part is not checked here, and the check says so through ``skipped``
(once per reference; the callers write it to ``%mcp log``).  A ``$ref`` that
points nowhere inside the document cannot be applied at all: the check is
skipped, and said the same way.  The dialect is the schema's ``$schema``,
JSON Schema 2020-12 when it names none (the MCP default).

``install_output_check`` puts this check in place of the SDK's own output-schema
check (``ClientSession.validate_tool_result``), which refuses a result whose
schema has such a ``$ref`` ("Invalid schema for tool ..."; python-sdk PR #3394
made that its documented behaviour), for the SDK's ``call_tool`` and our task
path alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.plainschema import is_plain, plain_valid

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection

Skipped = Callable[[str], None]  # told, once, each reference that is not followed
REF_CHARS = 200  # of a reference named in the log


class _Anything(dict[str, Any]):
    """The empty schema (it accepts anything), whose every JSON pointer leads to the empty schema again:
    what another document's ``$ref`` (``other.json#/$defs/x``) reads as."""

    def __missing__(self, key: object) -> _Anything:
        return _Anything()


class SchemaCheck:
    """One schema, compiled once: ``first_error(instance)`` is the best-matching error, or None.

    A plain schema (``core/plainschema.py``: types, properties, required, the
    way most tools' are) is checked without ``jsonschema`` until an instance
    fails it, which is then checked by ``jsonschema`` for the message: a fresh
    kernel's first call does not wait for ``jsonschema`` to import (1-2 s where
    its format checkers' extras are installed, as in a Jupyter environment).
    """

    def __init__(self, schema: dict[str, Any], skipped: Skipped | None = None, *, checked: bool = False) -> None:
        """``checked``: the schema is checked against its metaschema first (a ``SchemaError`` if it is not one; a plain
        schema always is one); else (an argument check, built per call) a schema that cannot be applied is found while
        checking, and skipped."""
        self.schema = schema
        self._told: set[str] = set()
        self._skipped = skipped
        self._plain = is_plain(schema)
        self._validator: Any = None
        if checked and not self._plain:
            self._compiled(checked=True)

    def _compiled(self, checked: bool = False) -> Any:
        if self._validator is None:
            import jsonschema
            import referencing
            import referencing.jsonschema

            empty = referencing.Resource.from_contents(_Anything(), default_specification=referencing.jsonschema.DRAFT202012)

            def retrieve(uri: str) -> Any:
                self._tell(uri)
                return empty  # accepts anything: the part behind the reference is not checked

            cls = jsonschema.validators.validator_for(self.schema, default=jsonschema.Draft202012Validator)
            if checked:
                cls.check_schema(self.schema)
            self._validator = cls(self.schema, registry=referencing.Registry(retrieve=retrieve))  # type: ignore[call-arg]
        return self._validator

    def _tell(self, ref: str) -> None:
        shown = ref if len(ref) <= REF_CHARS else ref[:REF_CHARS] + "…"
        if shown not in self._told and self._skipped is not None:
            self._told.add(shown)
            self._skipped(shown)

    def first_error(self, instance: Any) -> Any:
        if self._plain and plain_valid(self.schema, instance):
            return None
        import jsonschema
        import referencing.exceptions

        try:
            return jsonschema.exceptions.best_match(self._compiled().iter_errors(instance))
        except referencing.exceptions.Unresolvable as exc:  # a pointer to nowhere inside the document
            self._tell(str(getattr(exc, "ref", exc)))
            return None
        except RecursionError:
            self._tell("(a reference cycle)")
            return None
        except Exception:  # noqa: BLE001 - a server's schema that is not one (a SchemaError, a type that is a number...)
            return None  # cannot be applied here: the server checks what it receives


def skip_logger(connection: Connection, tool: str, part: str) -> Skipped:
    """Write to ``%mcp log``: the ``$ref`` in ``tool``'s schema that is not followed, and what goes unchecked (``part``)."""

    def note(ref: str) -> None:
        connection.record(
            "schema",
            f"{connection.name}.{tool}: $ref {ref!r} is not followed (never fetched: SEP-2106), so {part} is not checked here",
            "info",
        )

    return note


def install_output_check(connection: Connection, session: Any) -> None:
    """Check results against the tool's output schema with ``SchemaCheck`` in place of the SDK's own check.

    The errors keep the SDK's wording (``errormap.SCHEMA_PHRASES`` tells them apart).
    """
    checks: dict[str, SchemaCheck] = {}

    async def validate_tool_result(name: str, result: Any) -> None:
        tool = next((t for t in connection.catalog.tools if t.name == name), None)
        schema = getattr(tool, "output_schema", None)
        if not isinstance(schema, dict):
            return  # no schema, or a tool not listed (the SDK would only warn)
        if result.structured_content is None and "structured_content" not in result.model_fields_set:
            raise RuntimeError(f"Tool {name} has an output schema but did not return structured content")
        check = checks.get(name)
        if check is None or check.schema is not schema:
            try:
                check = checks[name] = SchemaCheck(schema, skip_logger(connection, name, "that part of its result"), checked=True)
            except Exception as exc:
                import jsonschema  # a SchemaError comes from it: it was imported for a schema that is not plain

                if not isinstance(exc, jsonschema.SchemaError):
                    raise
                raise RuntimeError(f"Invalid schema for tool {name}: {exc.message}") from None
        error = check.first_error(result.structured_content)
        if error is not None:
            raise RuntimeError(f"Invalid structured content returned by tool {name}: {error.message}")

    session.validate_tool_result = validate_tool_result
