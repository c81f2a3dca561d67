"""Redaction: what is secret, and how it is masked (no server, no subprocess)."""

from __future__ import annotations

import pytest

from mcpomni_jupyter.config import parse_server
from mcpomni_jupyter.redact import MASK, add_secret, redact, redact_args, redact_known, redact_url, secret_args


def test_registered_secrets_and_credential_shapes_are_masked():
    add_secret("registered-value-123")
    add_secret("Bearer bearer-secret-456")
    text = redact("a registered-value-123 b Authorization: Bearer bearer-secret-456 c token=abc123 d client_secret: s3cret")
    assert "registered-value-123" not in text and "bearer-secret-456" not in text
    assert "abc123" not in text and "s3cret" not in text and text.count(MASK) >= 4


def test_short_values_are_never_secrets():
    add_secret("abc")  # would mask ordinary words everywhere
    assert redact("abc def") == "abc def"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@host/path", "https://***@host/path"),
        ("https://host/mcp?key=k1&x=2", "https://host/mcp?key=***&x=***"),
        ("http://h/p?opaque", "http://h/p?***"),
        ("https://host/mcp", "https://host/mcp"),
    ],
)
def test_urls_lose_userinfo_and_query_values(url, shown):
    assert redact_url(url) == shown
    assert redact(f"see {url} now") == f"see {shown} now"


def test_jwts_are_masked_even_cut_after_the_payload():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
    assert redact(f"got {jwt}") == f"got {MASK}"
    assert redact("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4") == MASK
    assert redact_known(f"content {jwt}") == f"content {MASK}"


def test_known_only_redaction_keeps_ordinary_words():
    assert redact_known("code: 200, token=visible") == "code: 200, token=visible"


def test_secret_flags_in_arguments():
    args = ["--token", "t-value", "--api-key=k-value", "--name", "plain"]
    assert redact_args(args) == ["--token", MASK, f"--api-key={MASK}", "--name", "plain"]
    assert secret_args(args) == ["t-value", "k-value"]


def test_server_config_repr_and_secret_values():
    server = parse_server(
        "s",
        {"command": "run", "args": ["--password", "pw-123456", "${SECRET_ARG}"], "env": {"GITHUB_PAT": "ghp-abcdef", "MODE": "fast"}},
        environ={"SECRET_ARG": "from-env-value"},
    )
    assert {"pw-123456", "from-env-value", "ghp-abcdef"} <= server.secret_values()
    assert "fast" not in server.secret_values()
    shown = repr(server)
    for secret in ("pw-123456", "from-env-value", "ghp-abcdef"):
        assert secret not in shown
    assert "GITHUB_PAT" in shown and "MODE" in shown


def test_a_rows_error_line_is_redacted_before_it_is_cut():
    """A secret that straddles the cut is masked whole, not cut in half (which ``redact`` could no longer recognise)."""
    from mcpomni_jupyter.results.batch import one_line

    secret = "Zq7-row-error-secret-9XkP"
    add_secret(secret)
    for cut in range(1, len(secret)):
        line = one_line("x" * (40 - cut) + secret + " more\nsecond line", limit=40)
        assert len(line) <= 40 and not any(secret[:n] in line for n in range(4, len(secret) + 1)), line
    assert one_line("token=abcdefghijklmnop", limit=12) == "token=***"
    assert one_line("") == "error" and one_line("a\nb") == "a"
