"""Tool names for models, the tool filter, and the approval rules' verdicts (no server needed)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mcpomni_jupyter.core.agents.approval import ApprovalPolicy, checked_rules
from mcpomni_jupyter.core.agents.naming import NAME_PATTERN, model_name, model_tools, wanted
from mcpomni_jupyter.errors import ArgumentError


def spec(name: str, read_only: bool | None = None, description: str = "", schema: dict | None = None):
    annotations = (
        None if read_only is None else SimpleNamespace(read_only_hint=read_only, model_dump=lambda **kw: {"readOnlyHint": read_only})
    )
    return SimpleNamespace(name=name, title=None, description=description, input_schema=schema, annotations=annotations)


@pytest.mark.parametrize(
    ("server", "tool", "expected"),
    [
        ("demo", "add", "demo_add"),
        ("my server", "get.sum", "my_server_get_sum"),
        ("fs", "ünïcode tool", "fs__n_code_tool"),
        ("a-b", "c_d", "a-b_c_d"),
    ],
)
def test_names_are_valid_for_every_provider(server, tool, expected):
    assert model_name(server, tool) == expected
    assert NAME_PATTERN.match(expected)


def test_long_and_clashing_names_get_a_stable_hash_suffix():
    long = model_name("server", "t" * 100)
    assert len(long) == 64 and NAME_PATTERN.match(long)
    assert long == model_name("server", "t" * 100)  # the same tool, the same name
    # "a_b" + "c" and "a" + "b_c" both sanitize to a_b_c: the second gets a suffix
    tools = model_tools([("a_b", spec("c")), ("a", spec("b_c"))])
    names = [t.name for t in tools]
    assert len(set(names)) == 2 and all(NAME_PATTERN.match(n) for n in names)
    assert {t.qualified for t in tools} == {"a_b.c", "a.b_c"}


def test_schema_is_kept_as_sent_and_description_bounded():
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": {"x": {"type": "string"}}, "type": "object", "x-odd": 1}
    (tool,) = model_tools([("s", spec("t", description="d" * 10_000, schema=schema))])
    assert tool.input_schema is schema
    assert len(tool.description) == 4_000
    (bare,) = model_tools([("s", spec("t"))])
    assert bare.input_schema == {"type": "object", "properties": {}}


def test_tool_filter_globs_and_functions():
    entries = [("fs", spec("read_file")), ("fs", spec("delete")), ("demo", spec("add"))]
    assert [t.qualified for t in model_tools(entries, "fs.*")] == ["fs.delete", "fs.read_file"]
    assert [t.qualified for t in model_tools(entries, ["demo.*", "fs.read_*"])] == ["demo.add", "fs.read_file"]
    assert [t.qualified for t in model_tools(entries, lambda q, s: s.name == "add")] == ["demo.add"]
    with pytest.raises(ArgumentError, match="globs"):
        wanted([""])


def test_rules_are_checked_in_one_line():
    with pytest.raises(ArgumentError, match="'maybe' is not one of allow, ask, deny"):
        checked_rules({"fs.*": "maybe"})
    with pytest.raises(ArgumentError, match="dict"):
        checked_rules(["fs.*"])  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="glob"):
        checked_rules({"": "allow"})


def test_verdicts_deny_wins_then_the_most_specific_rule_then_the_read_only_default():
    policy = ApprovalPolicy()
    policy.set_rules({"fs.read_*": "allow", "fs.*": "ask", "*.delete*": "deny"})
    assert policy.verdict("fs", "read_file", spec("read_file")).decision == "allow"
    assert policy.verdict("fs", "write_file", spec("write_file")).decision == "ask"
    assert policy.verdict("fs", "delete_file", spec("delete_file")).decision == "deny"
    assert policy.verdict("fs", "delete_file", spec("delete_file"), origin="person").decision == "deny"  # deny holds for everyone
    assert policy.verdict("fs", "write_file", spec("write_file"), origin="person").decision == "allow"  # a person is not asked
    assert policy.verdict("demo", "add", spec("add", read_only=True)).decision == "allow"
    assert policy.verdict("demo", "add", spec("add", read_only=False)).decision == "ask"
    assert policy.verdict("demo", "add", spec("add")).decision == "ask"  # unannotated: may be destructive
    policy.set_rules({"demo.add": "allow", "demo.*": "allow", "demo.a*": "ask"})
    assert policy.verdict("demo", "add", spec("add")).decision == "allow"  # the exact name is the most specific
    policy.set_rules({"demo.ad?": "allow", "demo.a*d": "ask"})  # the same specificity: ask wins the tie
    assert policy.verdict("demo", "add", spec("add")).decision == "ask"
