"""The tool search's ranking (``core/agents/search.py``): pure, over SDK ``Tool`` objects and dicts."""

from __future__ import annotations

import random

import pytest
from mcp.types import Tool, ToolAnnotations

from mcpomni_jupyter.core.agents import search
from mcpomni_jupyter.core.agents.search import ToolIndex, index_for, joined_words, search_tools, words
from mcpomni_jupyter.errors import ArgumentError, McpJupyterError


def tool(name: str, description: str | None = None, title: str | None = None, annotated: str | None = None) -> Tool:
    annotations = ToolAnnotations(title=annotated) if annotated else None
    return Tool(name=name, description=description, title=title, annotations=annotations, input_schema={"type": "object"})


def names(hits: list[search.ToolHit]) -> list[str]:
    return [f"{h.server}.{h.name}" for h in hits]


CATALOG = [
    ("fs", tool("read_file", "Return the bytes of a file.")),
    ("fs", tool("write_file", "Write text to a file; you can read it back with read_file.")),
    ("fs", tool("list_directory", "The entries of a folder.")),
    ("web", tool("fetch", "Read a web page and return its text, or read a file over HTTP.")),
    ("web", tool("readFileSync", "Deprecated.")),
    ("calc", tool("calculate", "Evaluate an arithmetic expression.", title="Calculator")),
    ("calc", tool("add", "Add two numbers.")),
    ("calc", tool("add_tool", "Register a new tool.")),
    ("git", tool("HTTPServerStatus", "Is the server up?")),
    ("git", tool("open-pr", "Open a pull request.", annotated="Open Pull Request")),
]


def test_a_name_match_beats_a_description_match():
    hits = search_tools(CATALOG, "read file")
    assert names(hits)[0] == "fs.read_file"
    # fetch says "read" and "file" twice in its description; readFileSync has them in its name
    assert names(hits).index("web.readFileSync") < names(hits).index("web.fetch")
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_the_name_weighs_more_than_the_title_more_than_the_description():
    tools = [
        ("s", tool("export", "Export the summary of a long table of numbers as text.")),
        ("s", tool("export_table", "Export it.", title="Summary")),
        ("s", tool("export_summary", "Export it.")),
    ]
    assert names(search_tools(tools, "summary")) == ["s.export_summary", "s.export_table", "s.export"]


def test_camel_case_kebab_and_acronyms_are_split():
    assert words("HTTPServerStatus") == ["http", "server", "status"]
    assert words("readFileSync v2") == ["read", "file", "sync", "v", "2"]
    assert joined_words("get_readFile-v2") == ["readfile", "v2", "getreadfilev2"]
    assert names(search_tools(CATALOG, "sync"))[:1] == ["web.readFileSync"]
    assert names(search_tools(CATALOG, "http status"))[:1] == ["git.HTTPServerStatus"]
    assert names(search_tools(CATALOG, "pr"))[:1] == ["git.open-pr"]
    assert names(search_tools(CATALOG, "readfile"))[0] == "fs.read_file"  # the joined name, and the exact-name bonus


def test_titles_annotation_titles_plurals_and_prefixes_count():
    assert names(search_tools(CATALOG, "calculator"))[:1] == ["calc.calculate"]  # the title
    assert names(search_tools(CATALOG, "pull request"))[:1] == ["git.open-pr"]  # annotations.title (and description)
    assert set(names(search_tools(CATALOG, "files"))[:2]) == {"fs.read_file", "fs.write_file"}  # plural -> singular
    assert names(search_tools(CATALOG, "calc"))[:1] == ["calc.calculate"]  # a word's beginning
    assert names(search_tools(CATALOG, "director"))[:1] == ["fs.list_directory"]


def test_an_exact_name_beats_a_longer_one():
    hits = search_tools(CATALOG, "add")
    assert names(hits)[:2] == ["calc.add", "calc.add_tool"]
    assert hits[0].score - hits[1].score > 5


def test_a_server_prefix_narrows_the_search():
    assert {h.server for h in search_tools(CATALOG, "fs.read")} == {"fs"}
    assert names(search_tools(CATALOG, "web.read"))[:2] == ["web.readFileSync", "web.fetch"]
    assert names(search_tools(CATALOG, "FS.read file"))[0] == "fs.read_file"  # server names ignore case
    # "SERVER." alone: that server's tools, by name
    assert names(search_tools(CATALOG, "calc.")) == ["calc.add", "calc.add_tool", "calc.calculate"]
    # not a server: the words are searched everywhere
    assert names(search_tools(CATALOG, "nosuch.read"))[0] == "fs.read_file"
    # a dotted server name: the longest that names a server wins
    dotted = [("a", tool("b_thing")), ("a.b", tool("thing"))]
    assert names(search_tools(dotted, "a.b.thing")) == ["a.b.thing"]


def test_ties_are_ordered_by_server_then_name_whatever_the_input_order():
    same = [(server, tool(name, "Sends a message.")) for server in ("zeta", "alpha", "mid") for name in ("send_b", "send_a")]
    expected = ["alpha.send_a", "alpha.send_b", "mid.send_a", "mid.send_b", "zeta.send_a", "zeta.send_b"]
    for seed in range(5):
        shuffled = same[:]
        random.Random(seed).shuffle(shuffled)
        hits = search_tools(shuffled, "send message")
        assert names(hits) == expected
        assert len({h.score for h in hits}) == 1


def test_limit_and_no_match():
    assert len(search_tools(CATALOG, "a", limit=3)) <= 3
    assert search_tools(CATALOG, "zebra quantum") == []
    assert len(search_tools(CATALOG, "file", limit=1)) == 1


@pytest.mark.parametrize(
    ("query", "limit", "says"),
    [
        ("", 20, "the search text is empty"),
        ("   \n\t", 20, "the search text is empty"),
        (None, 20, "the search text is empty"),
        ("!!! ???", 20, "has no words to look for"),
        ("read", 0, "limit must be a whole number of at least 1"),
        ("read", True, "limit must be a whole number of at least 1"),
        ("read", "5", "limit must be a whole number of at least 1"),
    ],
)
def test_a_bad_query_or_limit_is_one_line(query, limit, says):
    with pytest.raises(ArgumentError) as caught:
        search_tools(CATALOG, query, limit)
    assert isinstance(caught.value, McpJupyterError)
    message = str(caught.value)
    assert says in message and "\n" not in message and len(message) < 200


def test_hostile_text_is_bounded_and_harmless():
    secret_word = "needle"
    huge = "padding " * 500_000 + secret_word  # 4 MB: the word lies past what is indexed
    hostile = [
        ("evil", tool("huge", huge)),
        ("evil", tool("x" * 100_000 + "_tail", "long name")),  # only the first NAME_CHARS of a name are read
        ("evil", tool("ctrl\x00\x1b[31m\u202e", "\x00\x07 <script>alert(1)</script> \ud800")),
        ("evil", {"name": 42, "description": ["not", "text"], "title": {"x": 1}, "annotations": {"title": 7}}),
        ("evil", {"name": "dict_tool", "description": "A tool given as a dict.", "annotations": {"title": "Dict Title"}}),
        ("ok", tool("needle_finder", "Finds needles.")),
    ]
    index = ToolIndex(hostile)
    assert names(index.search(secret_word)) == ["ok.needle_finder"]
    assert names(index.search("tail")) == []
    assert names(index.search("script alert")) == ["evil.ctrl\x00\x1b[31m\u202e"]
    assert names(index.search("dict title")) == ["evil.dict_tool"]
    assert names(index.search("needle " + "x" * 5_000)) == ["ok.needle_finder"]  # a huge query is cut, not an error
    assert index.search("x" * 5_000 + " needle") == []  # (so what lies past QUERY_CHARS is not searched)
    many = " ".join(["needle", *(f"zz{i}" for i in range(10_000))])  # only the first QUERY_WORDS words count
    assert names(index.search(many))[0] == "ok.needle_finder"
    assert max(len(w) for w in index._vocabulary) <= search.NAME_CHARS


def test_the_index_is_built_once_per_catalog():
    entries = [(s, t) for s, t in CATALOG]
    first = index_for(entries)
    assert index_for(list(entries)) is first  # a new list of the same tools: the same index
    relisted = [*entries[:-1], ("git", tool("open-pr", "Open a pull request."))]  # a re-listing makes new tool objects
    assert index_for(relisted) is not first
    renamed = [("other" if s == "fs" else s, t) for s, t in entries]
    assert index_for(renamed) is not first
    for i in range(search.CACHED_INDEXES + 1):  # the cache is bounded
        index_for([("s", tool(f"t{i}"))])
    assert len(search._cache) == search.CACHED_INDEXES


def test_an_empty_catalog_finds_nothing():
    assert search_tools([], "read") == []
