"""Result objects and tables: values, text and HTML renderings, previews (no server)."""

from __future__ import annotations

from types import SimpleNamespace

from mcp_types import CallToolResult, GetPromptResult, ImageContent, PromptMessage, ReadResourceResult, TextContent, TextResourceContents

from mcpomni_jupyter.config import parse_server
from mcpomni_jupyter.results import CallResult, PromptResult, ReadResult, StatusTable, ToolList
from mcpomni_jupyter.results.content import PREVIEW_CHARS, data_uri


def call(*blocks, structured=None, error=False):
    return CallResult(CallToolResult(content=list(blocks), structured_content=structured, is_error=error), server="s", tool="t")


def test_call_result_value_text_and_html():
    r = call(TextContent(type="text", text='{"a": 1}'))
    assert r.text == '{"a": 1}' and r.value == {"a": 1} and not r.is_error
    assert call(TextContent(type="text", text="x"), structured={"result": 5}).value == 5
    error = call(TextContent(type="text", text="<b>bad</b>"), error=True)
    assert "returned an error" in error._repr_html_() and "&lt;b&gt;bad&lt;/b&gt;" in error._repr_html_()
    assert repr(error).startswith("ERROR")


def test_data_uris_only_for_plain_base64_and_real_mime_types():
    assert data_uri("image/png", "iVBORw0KGgo=", ("image",)) == "data:image/png;base64,iVBORw0KGgo="
    assert data_uri("image/png' onerror='x", "AAAA", ("image",)) is None
    assert data_uri("image/png", "AAAA' onerror='x", ("image",)) is None
    assert data_uri("text/html", "AAAA", ("image",)) is None
    bad = call(ImageContent(type="image", data="x' onerror='alert(1)", mime_type="image/png"))
    assert "onerror" not in bad._repr_html_().replace("&#x27;", "") or "<img" not in bad._repr_html_()


def test_previews_are_bounded_and_say_what_they_left_out():
    big = call(TextContent(type="text", text="x" * (5 * PREVIEW_CHARS)))
    assert len(big.text) == 5 * PREVIEW_CHARS
    assert len(big._repr_html_()) < PREVIEW_CHARS + 2_000 and "preview only" in big._repr_html_()
    assert len(repr(big)) < PREVIEW_CHARS + 500 and "not shown" in repr(big)


def test_read_and_prompt_results():
    read = ReadResult(
        ReadResourceResult(contents=[TextResourceContents(uri="x://a", text="hello", mime_type="text/plain")]), server="s", uri="x://a"
    )
    assert read.text == "hello" and "hello" in read._repr_html_()
    prompt = PromptResult(
        GetPromptResult(messages=[PromptMessage(role="user", content=TextContent(type="text", text="hi"))]), server="s", name="p"
    )
    assert prompt.to_messages() == [{"role": "user", "content": "hi"}] and "[user] hi" in repr(prompt)


def test_tables_escape_cut_and_index():
    tool = SimpleNamespace(
        name="<b>x</b>", description="d" * 10_000, input_schema={"properties": {"a": {"type": "string"}}, "required": ["a"]}
    )
    tools = ToolList([(SimpleNamespace(name="s"), tool)])
    html = tools._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "d" * 3_000 not in html and tools[0].arguments == "a: string"
    connection = SimpleNamespace(
        name="web",
        config=parse_server("web", {"url": "https://h/mcp?key=k-1234567"}),
        state=SimpleNamespace(value="failed"),
        tools=[],
        resources=[],
        prompts=[],
        error="<script>x</script>",
        protocol_version=None,
    )
    table = StatusTable([connection])
    assert table["web"].state == "failed" and "key=***" in table["web"].target
    assert "&lt;script&gt;" in table._repr_html_() and "<script>" not in table._repr_html_()
