"""The notebook bridge's answer to the relay page when the kernel cannot take a code (no kernel, no browser)."""

from __future__ import annotations

from mcpomni_jupyter.ui.bridge import Bridge


class RefusingPort:
    def relay_deliver(self, content):
        raise ValueError("state unknown; code=abc123secret and Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig")


class Refusing:
    closed = False
    ui = RefusingPort()


def test_a_refusal_reaches_the_page_redacted_and_bounded(monkeypatch):
    manager = Refusing()
    bridge = Bridge(manager)
    sent = []
    monkeypatch.setattr(bridge, "send", sent.append)
    bridge._received(bridge, {"type": "callback", "id": "x" * 500, "code": "abc123secret", "state": "s"}, [])
    (ack,) = sent
    assert ack["type"] == "ack" and ack["status"] == "refused" and len(ack["id"]) == 128
    assert "state unknown" in ack["message"]
    assert "abc123secret" not in ack["message"] and "eyJhbGci" not in ack["message"]
