"""The words of a %mcp line: tokens, k=v values, option values (no shell, no server)."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from mcpomni_jupyter.magics.parsing import json_object, parse_kv, parse_value, seconds, tokenize, unquote, variable, whole_number


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


def test_option_values():
    assert seconds("5", "--timeout") == 5.0 and seconds("0.25", "--timeout") == 0.25
    for bad in ("0", "-1", "inf", "nan", "soon", ""):
        with pytest.raises(UsageError, match="--timeout"):
            seconds(bad, "--timeout")
    assert whole_number("0", "--limit") == 0 and whole_number("16", "--limit") == 16
    for bad in ("-1", "1.5", "lots", "", "٣", "9" * 5000):
        with pytest.raises(UsageError, match="--limit takes a whole number"):
            whole_number(bad, "--limit")
    assert variable("rows_2", "--from") == "rows_2"
    for bad in ("a b", "1x", "x.y", ""):
        with pytest.raises(UsageError, match="give the name of a Python variable"):
            variable(bad, "--from")


def test_json_objects():
    assert json_object('{"a": 1}', "--json") == {"a": 1}
    with pytest.raises(UsageError, match="must be a JSON object"):
        json_object("[1]", "--json")
    with pytest.raises(UsageError, match="not valid JSON"):
        json_object("{nope", "--json")
    with pytest.raises(UsageError, match="nested too deeply"):
        json_object("[" * 100_000, "--json")
