"""What mcp.toolset() hands pydantic-ai for each outcome, and the agents extra: imported on use only, named when missing."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest
from mcp_types import CallToolResult, ImageContent, TextContent

from mcpomni_jupyter.core.agents.calls import MODEL_TEXT_CHARS, ToolOutcome, model_parts
from mcpomni_jupyter.core.agents.naming import ModelTool
from mcpomni_jupyter.errors import ArgumentError, MissingExtra
from mcpomni_jupyter.redact import add_secret
from mcpomni_jupyter.results import CallResult

pytest.importorskip("pydantic_ai")
from pydantic_ai.exceptions import ModelRetry, ToolFailed
from pydantic_ai.messages import BinaryImage

from mcpomni_jupyter.core.agents.toolset import model_return

TOOL = ModelTool("s_t", "s", "t", "", {"type": "object"}, None)
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nrest").decode()


def outcome(*blocks, structured=None, error=False) -> ToolOutcome:
    result = CallResult(CallToolResult(content=list(blocks), structured_content=structured, is_error=error), server="s", tool="t")
    return ToolOutcome(TOOL, {}, result=result, parts=model_parts(result))


def text(value: str) -> TextContent:
    return TextContent(type="text", text=value)


def test_structured_content_text_and_images_as_pydantic_ai_expects_them():
    assert model_return(outcome(text('{"result": 3}'), structured={"result": 3}), 0, 3) == 3  # unwrapped, as pydantic-ai's MCP toolset
    assert model_return(outcome(text("{}"), structured={"a": [1]}), 0, 3) == {"a": [1]}
    assert model_return(outcome(text("plain")), 0, 3) == "plain"
    assert model_return(outcome(), 0, 3) == ""
    caption, image = model_return(
        outcome(text("look"), ImageContent(type="image", data=PNG, mime_type="image/png"), structured={"x": 1}), 0, 3
    )
    assert caption == "look" and isinstance(image, BinaryImage) and image.data.startswith(b"\x89PNG")  # an image: content, not structure
    broken = model_return(outcome(ImageContent(type="image", data="not base64!", mime_type="image/png")), 0, 3)
    assert broken == "[image image/png: not valid base64, not passed on]"


def test_what_the_model_reads_is_redacted_and_bounded():
    add_secret("sk-toolset-secret-123")
    value = model_return(outcome(text("x"), structured={"key sk-toolset-secret-123": ["sk-toolset-secret-123", {"n": 1}]}), 0, 3)
    assert "sk-toolset-secret-123" not in json.dumps(value) and value == {"key ***": ["***", {"n": 1}]}
    big = "y" * (MODEL_TEXT_CHARS + 10)
    cut = model_return(outcome(text(big), structured={"big": big}), 0, 3)  # too big as structure: the bounded text instead
    assert isinstance(cut, str) and cut.endswith("[cut: 10 more characters]")


def test_errors_are_retry_prompts_while_the_budget_lasts_and_denials_are_failures_at_once():
    failing = outcome(text("it broke"), error=True)
    with pytest.raises(ModelRetry, match="it broke"):
        model_return(failing, 1, 2)
    with pytest.raises(ToolFailed, match="it broke"):
        model_return(failing, 2, 2)
    with pytest.raises(ModelRetry, match="bad arguments"):
        model_return(ToolOutcome(TOOL, {}, error="bad arguments"), 0, 3)
    with pytest.raises(ToolFailed, match="the person denied this call"):
        model_return(ToolOutcome(TOOL, {}, error="the person denied this call", denied=True), 0, 3)


def test_bad_options_are_one_line_errors(manager):
    with pytest.raises(ArgumentError, match="servers= takes server names"):
        manager.toolset([1])
    with pytest.raises(ArgumentError, match="tools= takes SERVER.TOOL globs"):
        manager.toolset(tools=[""])
    with pytest.raises(ArgumentError, match="max_retries= is a number of retries"):
        manager.toolset(max_retries=-1)
    with pytest.raises(ArgumentError, match="on_call= takes a function"):
        manager.toolset(on_call="print")
    assert manager.toolset("a, b").servers == ["a", "b"]


def test_a_missing_pydantic_ai_names_the_extra(manager, monkeypatch):
    monkeypatch.setitem(sys.modules, "pydantic_ai", None)
    with pytest.raises(MissingExtra) as caught:
        manager.toolset()
    assert str(caught.value) == "mcp.toolset() needs pydantic-ai, which is not installed: pip install 'mcpomni-jupyter[agents]'"
    assert isinstance(caught.value, ImportError)


def test_pydantic_ai_is_imported_on_use_only():
    code = (
        "import sys\n"
        "from mcpomni_jupyter.core.manager import MCPManager\n"
        "m = MCPManager()\n"
        "before = 'pydantic_ai' in sys.modules\n"
        "m.toolset()\n"
        "print(before, 'pydantic_ai' in sys.modules)\n"
        "m.shutdown()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False", "True"]
