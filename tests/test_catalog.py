"""A catalog of thousands of tools in a real InteractiveShell: ``tests/servers/many_tools.py`` (5,002 tools, listed 100 a page).

The table renders a page (bounded in bytes) with the total and the ways to see
the rest; ``--page N``; a search over it; Tab completion from IPython's own
completer; ``mcp.tools.<server>`` making a callable only for the tool touched.
Timings are in ``bench/catalog.py``, not here.
"""

from __future__ import annotations

import re

import pytest
from conftest import HERE, PY, SERVER, usage_error
from IPython.core.completer import provisionalcompleter

from mcpomni_jupyter import get_manager
from mcpomni_jupyter.results import ToolList

MANY = str(HERE / "servers" / "many_tools.py")
TOOLS = 5_002


@pytest.fixture
def catalog(run):
    for line in (f"%mcp add big -- {PY} {MANY} {TOOLS}", f"%mcp add small -- {PY} {SERVER} stdio", "%mcp connect"):
        cell = run(line)
        assert cell.ok, cell.error
    return run


def rendered(shell, value) -> dict[str, str]:
    data, _ = shell.display_formatter.format(value)
    return data


def test_the_table_renders_a_page_with_the_total_and_the_way_on(catalog, shell):
    table = catalog("%mcp tools").value
    assert isinstance(table, ToolList) and len(table) > TOOLS  # the value holds every tool of both servers
    assert sum(t.server == "big" for t in table) == TOOLS and table.pages == -(-len(table) // 200)
    data = rendered(shell, table)
    html, text = data["text/html"], data["text/plain"]
    assert len(html.encode()) <= 256 * 1024 and len(text.encode()) <= 256 * 1024
    assert html.count("<tr>") == 1 + 200 + 1  # the header, a page, the footer
    footer = f"rows 1–200 of {len(table):,}; see more with %mcp tools --page 2"
    assert footer in html and footer in text and "%mcp tools --search TEXT" in text and f"a list of all {len(table):,}" in text

    last = catalog(f"%mcp tools big --page {table.pages}").value  # one server's: its own count of pages
    assert len(last) == TOOLS and last.page == -(-TOOLS // 200)
    text = rendered(shell, last)["text/plain"]
    assert "tool_5001" in text and "tool_0 " not in text
    assert f"rows 5,001–5,002 of {TOOLS:,}; see more with %mcp tools --search TEXT" in text  # no next page to offer

    second = catalog("%mcp tools big --page 2").value
    assert "see more with %mcp tools big --page 3" in rendered(shell, second)["text/html"]
    assert re.findall(r"tool_\d+", rendered(shell, second)["text/plain"])[0] == "tool_200"
    assert list(second) == list(last)  # the same records whatever the page shown

    assert "page 27 does not exist: there are 26 pages of up to 200 rows (5,002 in all)" in usage_error(catalog("%mcp tools big --page 27"))
    assert "does not exist" in usage_error(catalog("%mcp tools --page 0"))
    assert "takes a whole number" in usage_error(catalog("%mcp tools --page two"))


def test_a_small_table_has_no_footer(catalog, shell):
    data = rendered(shell, catalog("%mcp tools small").value)
    assert "rows " not in data["text/plain"] and "see more" not in data["text/html"]


def test_search_over_thousands(catalog, shell):
    found = catalog("%mcp tools --search 'tool_4321'").value
    assert (found[0].server, found[0].name) == ("big", "tool_4321")
    many = catalog("%mcp tools big --search 'invoice' --limit 500").value
    assert len(many) == 500 and {t.server for t in many} == {"big"}
    assert all("invoice" in (t.description or "") for t in many)
    assert "%mcp tools big --search invoice --limit 500 --page 2" in rendered(shell, many)["text/plain"]


def complete(shell, line: str) -> list[str]:
    with provisionalcompleter():
        return [c.text for c in shell.Completer.completions(line, len(line))]


def test_completion_over_thousands_of_tools(catalog, shell):
    assert complete(shell, "%mcp call big.tool_4999") == ["big.tool_4999"]
    assert complete(shell, "%mcp call big.tool_49") == sorted(
        ["big.tool_49", *(f"big.tool_49{i}" for i in range(10))] + [f"big.tool_49{i}{j}" for i in range(10) for j in range(10)]
    )
    assert complete(shell, "%mcp call tool_123") == sorted(["tool_123", *(f"tool_123{i}" for i in range(10))])  # bare: one server has them
    assert "x=" in complete(shell, "%mcp call big.tool_1 ")  # the tool's arguments, found through the index
    assert complete(shell, "%mcp call small.ech") == ["small.echo"]
    assert len(complete(shell, "%mcp call big.")) == 500  # at most what IPython shows

    catalog("%mcp remove small")
    assert complete(shell, "%mcp call small.ech") == []  # a catalog change is seen: the index is rebuilt


def test_callables_are_made_on_first_touch(catalog):
    from mcpomni_jupyter.core.callables import _listing

    mcp = get_manager()
    listed = _listing(mcp.connection("big"))
    names = dir(mcp.tools.big)
    assert len(names) == TOOLS and names[:3] == ["tool_0", "tool_1", "tool_10"]
    assert listed.callables == {}  # listing the names made no callable
    assert mcp.tools.big.tool_4321(x=7).text == "tool_4321 x=7"
    assert list(listed.callables) == ["tool_4321"] and mcp.tools.big.tool_4321 is listed.callables["tool_4321"]
    assert "x: int" in str(mcp.tools.big["tool_17"].__signature__) and len(listed.callables) == 2
    with pytest.raises(Exception, match=r"has no tool 'tool_x'; it has: tool_0, tool_1, .* and 4952 more"):
        mcp.tools.big.tool_x  # noqa: B018
