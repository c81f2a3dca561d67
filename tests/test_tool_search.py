"""``%mcp tools --search`` and ``mcp.tools(search=...)`` in a real InteractiveShell, against two real stdio test servers."""

from __future__ import annotations

from conftest import PY, SERVER, usage_error

from mcpomni_jupyter import get_manager
from mcpomni_jupyter.results import ToolList


def connect_two(run) -> None:
    for name in ("beta", "alpha"):
        cell = run(f"%mcp add {name} -- {PY} {SERVER} stdio")
        assert cell.ok, cell.error
    cell = run("%mcp connect")
    assert cell.ok, cell.error


def rows(table: ToolList) -> list[str]:
    return [f"{t.server}.{t.name}" for t in table]


def test_search_through_the_magic_and_the_api(run):
    connect_two(run)

    found = run("%mcp tools --search 'add numbers'").value
    assert isinstance(found, ToolList)
    # the same tool on two servers scores the same: server order breaks the tie; add_tool's name starts with "add"
    assert rows(found)[:4] == ["alpha.add", "beta.add", "alpha.add_tool", "beta.add_tool"]
    assert "<table" in found._repr_html_() and "a: number" in repr(found)  # the same table as %mcp tools

    assert rows(run("%mcp tools --search beta.echo").value)[0] == "beta.echo"  # SERVER. narrows
    assert {t.server for t in run("%mcp tools --search beta.echo").value} == {"beta"}
    assert {t.server for t in run("%mcp ls alpha --search progress").value} == {"alpha"}  # so does the argument
    assert rows(run("%mcp tools --search progress --limit 1").value) == ["alpha.count"]  # a description's word
    assert rows(run("%mcp tools --search=askUser").value)[:2] == ["alpha.ask_user", "beta.ask_user"]  # camelCase meets snake_case

    nothing = run("%mcp tools --search 'zebra quantum'").value
    assert isinstance(nothing, ToolList) and len(nothing) == 0 and "no tool matches" in repr(nothing)

    mcp = get_manager()  # the manager behind %mcp
    assert rows(mcp.tools(search="sleep", limit=2)) == ["alpha.sleep", "beta.sleep"]
    assert rows(mcp.list_tools("beta", search="sleep")) == ["beta.sleep"]
    assert len(mcp.tools()) == len(run("%mcp tools").value) > 20  # without a search: every tool, as before


def test_search_mistakes_are_one_line(run):
    connect_two(run)
    assert "the search text is empty" in usage_error(run("%mcp tools --search ''"))
    assert "has no words to look for" in usage_error(run("%mcp tools --search '???'"))
    assert "--limit goes with --search" in usage_error(run("%mcp tools --limit 3"))
    assert "at least 1" in usage_error(run("%mcp tools --search echo --limit 0"))
    assert "needs a value" in usage_error(run("%mcp tools --search"))
