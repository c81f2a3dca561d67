"""A sampling request mapped to a pydantic-ai model request, and the answer back (no server, no model)."""

from __future__ import annotations

import base64

from mcp_types import CreateMessageRequestParams, ImageContent, SamplingMessage, TextContent
from pydantic_ai.messages import BinaryContent, ModelRequest, ModelResponse, SystemPromptPart, TextPart, UserPromptPart

from mcpomni_jupyter.core.agents.sampling import message_result, model_messages, model_settings, request_view

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n-not-really").decode()


def params(**extra):
    messages = [
        SamplingMessage(role="assistant", content=TextContent(type="text", text="How can I help?")),
        SamplingMessage(
            role="user",
            content=[TextContent(type="text", text="what is this?"), ImageContent(type="image", data=PNG, mime_type="image/png")],
        ),
        SamplingMessage(role="user", content=ImageContent(type="image", data="not base64!", mime_type="image/png")),
    ]
    return CreateMessageRequestParams(messages=messages, max_tokens=200, **extra)


def test_messages_system_prompt_and_images():
    out = model_messages(params(system_prompt="be brief"))
    assert [type(m) for m in out] == [ModelRequest, ModelResponse, ModelRequest, ModelRequest]
    assert out[0].parts == [SystemPromptPart("be brief", timestamp=out[0].parts[0].timestamp)]  # before the assistant's turn
    assert out[1].parts == [TextPart("How can I help?")]
    [user] = out[2].parts
    assert isinstance(user, UserPromptPart) and user.content[0] == "what is this?"
    assert user.content[1] == BinaryContent(b"\x89PNG\r\n\x1a\n-not-really", media_type="image/png")
    assert out[3].parts[0].content == ["[image image/png: not valid base64, not passed on]"]


def test_settings_the_view_and_the_result():
    p = params(temperature=0.2, stop_sequences=["END"])
    assert model_settings(p) == {"max_tokens": 200, "temperature": 0.2, "stop_sequences": ["END"]}
    view = request_view(p)
    assert view["messages"][1] == {"role": "user", "content": f"what is this?\n[image image/png, {len(PNG)} base64 characters]"}
    assert view["maxTokens"] == 200 and view["systemPrompt"] is None and view["stopSequences"] == ["END"]
    result = message_result(ModelResponse(parts=[TextPart("cut")], model_name="m1", finish_reason="length"), "fallback")
    assert (result.content.text, result.model, result.stop_reason) == ("cut", "m1", "maxTokens")
    assert message_result(ModelResponse(parts=[]), "fallback").model == "fallback"
