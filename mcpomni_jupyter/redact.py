"""Redaction: secrets never reach an output, a log, a repr or an error message.

What is secret (the rule): every value that came from a ``${VAR}`` reference,
every header value, every token we hold (access, refresh, id tokens, client
secrets, codes), and the query string and userinfo of every URL.  Values are
registered with ``add_secret`` when a config is added or a token is obtained;
``redact`` replaces them, and anything shaped like a credential (``Bearer x``,
``token=x``, a JWT, ``user:pass@`` and ``?query`` of a URL), with ``***``.
"""

from __future__ import annotations

import re
import threading

MASK = "***"
MIN_SECRET = 6  # shorter values would mask ordinary words everywhere
_lock = threading.Lock()
_secrets: set[str] = set()
_ordered: list[str] = []  # longest first, rebuilt when a secret is added

_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@'\"<>]+@")
_URL_QUERY = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s?#'\"<>]*\?)([^\s#'\"<>]+)")
_QUERY_PAIR = re.compile(r"([^&=;]+)=([^&;]*)")
_PATTERNS = [
    # Authorization: Bearer xyz / Basic xyz / DPoP xyz
    (re.compile(r"\b([Bb]earer|[Bb]asic|DPoP)\s+(?=[A-Za-z0-9\-._~+/]*[0-9\-._~+/])[A-Za-z0-9\-._~+/=]{8,}"), r"\1 " + MASK),
    # a JSON Web Token anywhere (an access token a server echoes back in an error), even cut after its payload
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}(?:\.[A-Za-z0-9_\-]*)?"), MASK),
    # key=value in forms, JSON and reprs
    (
        re.compile(
            r"(?i)\b(access_token|refresh_token|id_token|client_secret|code|code_verifier|password|passwd|"
            r"api[_-]?key|apikey|secret|token)"
            r"(['\"]?\s*[=:]\s*['\"]?)([^&'\"\s,}]+)"
        ),
        r"\1\2" + MASK,
    ),
]
# environment variable names and command-line flags that carry credentials
SECRET_NAME = re.compile(r"(?i)(token|secret|key|passw|pwd|pat\b|auth|credential|cookie|session|dsn|private)")


def add_secret(value: str | None) -> None:
    """Remember a value that must never be shown (ignored when too short to be a secret)."""
    if not value or len(value) < MIN_SECRET:
        return
    new = {value}
    parts = value.split(None, 1)  # the value after "Bearer " is the secret itself
    if len(parts) == 2 and parts[0].lower() in ("bearer", "basic", "token") and len(parts[1]) >= MIN_SECRET:
        new.add(parts[1])
    global _ordered
    with _lock:
        if new <= _secrets:
            return
        _secrets.update(new)
        _ordered = sorted(_secrets, key=len, reverse=True)


def _mask_query(match: re.Match[str]) -> str:
    query = _QUERY_PAIR.sub(lambda m: f"{m.group(1)}={MASK}", match.group(2))
    return match.group(1) + (query if "=" in match.group(2) else MASK)


def redact_url(url: str) -> str:
    """A URL with its userinfo and query values masked (``https://***@host/p?k=***``)."""
    url = _URL_USERINFO.sub(r"\1" + MASK + "@", url)
    return _URL_QUERY.sub(_mask_query, url)


def redact(text: str | None) -> str:
    """``text`` with every known secret and credential-shaped value masked."""
    if not text:
        return text or ""
    with _lock:
        secrets = _ordered
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    if "://" in text:
        text = redact_url(text)
    return text


_JWT = _PATTERNS[1][0]


def redact_known(text: str) -> str:
    """Only the secrets we know and JWTs masked: for a server's content, whose ordinary words must stay."""
    with _lock:
        secrets = _ordered
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _JWT.sub(MASK, text) if "eyJ" in text else text


def redact_args(args: tuple[str, ...] | list[str]) -> list[str]:
    """Command-line arguments with secret values masked: known secrets, and the value of a secret-named flag."""
    out: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        flag, eq, _ = arg.partition("=")
        if arg.startswith("-") and SECRET_NAME.search(flag):
            if eq:
                out.append(f"{flag}={MASK}")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(redact(arg))
    return out


def secret_args(args: tuple[str, ...] | list[str]) -> list[str]:
    """The values of secret-named flags (``--token X``, ``--api-key=X``), to register as secrets."""
    found: list[str] = []
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if arg.startswith("-") and SECRET_NAME.search(flag):
            if eq:
                found.append(value)
            elif i + 1 < len(args):
                found.append(args[i + 1])
    return found
