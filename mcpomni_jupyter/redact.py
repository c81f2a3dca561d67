"""Redaction: secrets never reach an output, a log, a repr or an error message.

Header values, tokens, client secrets and codes are registered with
``add_secret`` when a config is loaded; ``redact`` replaces them, and anything
shaped like a credential, with ``***``.
"""

from __future__ import annotations

import re
import threading

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()

_PATTERNS = [
    # Authorization: Bearer xyz / Basic xyz
    (re.compile(r"\b([Bb]earer|[Bb]asic)\s+(?=[A-Za-z0-9\-._~+/]*[0-9\-._~+/])[A-Za-z0-9\-._~+/=]{8,}"), r"\1 " + MASK),
    # key=value in URLs, forms and reprs
    (
        re.compile(
            r"(?i)\b(access_token|refresh_token|id_token|client_secret|code|code_verifier|password|api[_-]?key|token)"
            r"(['\"]?\s*[=:]\s*['\"]?)([^&'\"\s,}]+)"
        ),
        r"\1\2" + MASK,
    ),
]


def add_secret(value: str | None) -> None:
    """Remember a value that must never be shown (ignored when too short to be a secret)."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)
            # the value after "Bearer " is the secret itself
            parts = value.split(None, 1)
            if len(parts) == 2 and parts[0].lower() in ("bearer", "basic", "token") and len(parts[1]) >= 6:
                _secrets.add(parts[1])


def redact(text: str | None) -> str:
    """``text`` with every known secret and credential-shaped value masked."""
    if not text:
        return text or ""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text

