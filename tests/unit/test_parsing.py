"""Parsing a %mcp line: tokens, k=v values, options (no shell, no server)."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from mcpomni_jupyter.magics.parsing import json_object, names_only, parse_kv, parse_value, seconds, split_options, tokenize, unquote


def test_tokens_keep_quotes_and_brackets():
    assert tokenize('call s.t text="two words" tags=["a", "b"] obj={"k": [1, 2]}') == [
        "call",
        "s.t",
        'text="two words"',
        'tags=["a", "b"]',
        'obj={"k": [1, 2]}',
    ]
    with pytest.raises(UsageError, match="unbalanced"):
        tokenize('x="open')


def test_values_are_json_when_they_parse():
    assert parse_kv(tokenize('n=3 flag=true s=hello q="3" sp="a b" none=null')) == {
        "n": 3,
        "flag": True,
        "s": "hello",
        "q": "3",
        "sp": "a b",
        "none": None,
    }
    assert parse_value("'single'") == "single"
    assert parse_value("[" * 10_000) == "[" * 10_000  # too deep to be JSON: a string, not a crash
    with pytest.raises(UsageError, match="bad argument"):
        parse_kv(["novalue"])


def test_unquote_keeps_backslashes():
    assert unquote(r"'C:\path'") == r"C:\path"
    assert unquote('"say \\"hi\\""') == 'say "hi"'


def test_options():
    rest, found = split_options(["t", "--out", "r", "--timeout=5", "k=v"], ("--out", "--timeout"))
    assert rest == ["t", "k=v"] and found == {"--out": "r", "--timeout": "5"}
    assert seconds(found) == 5.0
    with pytest.raises(UsageError, match="unknown option --nope"):
        split_options(["--nope"], ("--out",))
    with pytest.raises(UsageError, match="needs a value"):
        split_options(["--out"], ("--out",))
    for bad in ("0", "-1", "inf", "nan", "soon"):
        with pytest.raises(UsageError):
            seconds({"--timeout": bad})
    with pytest.raises(UsageError, match="unknown option"):
        names_only("connect", ["a", "-x"])


def test_json_objects():
    assert json_object('{"a": 1}', "--json") == {"a": 1}
    with pytest.raises(UsageError, match="must be a JSON object"):
        json_object("[1]", "--json")
    with pytest.raises(UsageError, match="not valid JSON"):
        json_object("{nope", "--json")
    with pytest.raises(UsageError, match="nested too deeply"):
        json_object("[" * 100_000, "--json")
