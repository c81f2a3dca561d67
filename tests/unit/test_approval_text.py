"""The Approve / Deny row's text forms: annotations, arguments and sampling messages made safe, and what was decided."""

from __future__ import annotations

from mcpomni_jupyter.core.agents.approval import ApprovalRequest
from mcpomni_jupyter.ui.approval import ApprovalRow, annotations_text


def test_annotations_are_bounded_and_printable_and_their_absence_is_said():
    hostile = {"title": "\x1b[2J<b>" + "t" * 500, "readOnlyHint": False, "destructiveHint": True, "other": "ignored"}
    text = annotations_text(hostile)
    assert text.startswith('title: "\\u001b[2J<b>ttt') and "other" not in text and "\x1b" not in text
    assert " · readOnlyHint: false · destructiveHint: true" in text and len(text) < 200
    assert annotations_text({}).startswith("none (so, by the spec's defaults: may be destructive")


def test_the_row_says_what_was_decided_and_its_html_is_escaped():
    answers: list[str] = []
    row = ApprovalRow(ApprovalRequest("fs", "rm<x>", {"path": "</pre><script>x</script>"}), answers.append)
    assert repr(row).splitlines()[0] == "mcp approval: a model asks to call fs.rm<x>" and repr(row).endswith("waiting for your answer")
    assert "<script>" not in row._repr_mimebundle_()["text/html"] and "<x>" not in row.children[0].value
    row.always.click()
    row.deny.click()  # a second click changes nothing
    assert answers == ["always"] and row.deny.disabled
    assert repr(row).endswith("approved; this tool is always allowed from now on")


def test_a_sampling_request_shows_its_system_prompt_messages_and_max_tokens():
    view = {"messages": [{"role": "user", "content": "hello\nthere"}], "systemPrompt": "be brief", "maxTokens": 50}
    row = ApprovalRow(ApprovalRequest("demo", "sampling/createMessage", view, {}, "sampling"), lambda d: None)
    assert repr(row) == (
        "mcp approval: demo asks a model to answer (sampling)\n  system prompt: be brief\n  user: hello\n  there\n"
        "  max tokens: 50\n  waiting for your answer"
    )
    assert row.always.description == "Always allow this server's sampling"
    row.settle("timeout", "2.0 s")
    assert repr(row).endswith("denied: no answer within 2.0 s") and row.approve.disabled
