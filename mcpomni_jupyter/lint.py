"""Warnings (not errors) about a server config.

A literal secret-looking token in ``headers`` (write it as ``${VAR}``), and
credentials sent over plain ``http://`` to a host that is not loopback
(``urls.is_loopback_url``).  A header is secret by its name (``Authorization``,
``X-Api-Key``, ``Cookie``...) or by the look of its value (a long run of
token characters, ``Bearer ...``); a value that is a media type
(``application/vnd.github.v3+json``) or a product token (``MyApp/1.2.3``, a
User-Agent) is not secret by its look, though a header named as a secret
still is.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from mcpomni_jupyter.urls import is_loopback_url

if TYPE_CHECKING:
    from mcpomni_jupyter.config import ServerConfig

_SECRETISH = re.compile(r"^(?:(?:bearer|token|basic)\s+)?[A-Za-z0-9_\-\.=+/]{20,}$", re.I)
_SECRET_HEADER = re.compile(r"(authorization|token|key|secret|password|cookie)", re.I)
# values that look like tokens but say what they are (RFC 9110): a media type (``Accept``) and a product (``User-Agent``)
_MEDIA_TYPE = re.compile(
    r"(?:application|audio|example|font|haptics|image|message|model|multipart|text|video)/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*", re.I
)
# a product's name is words (no digits: a random token's first 20 characters almost never are), its version numbers
_PRODUCT = re.compile(r"[A-Za-z]{1,40}(?:[._-][A-Za-z]{1,40}){0,8}/v?[0-9]{1,9}(?:\.[0-9]{1,9}){0,5}(?:[-+][A-Za-z0-9.]{1,40})?")


def looks_secret(name: str, value: str) -> bool:
    """Whether header ``name: value`` looks like a literal credential (by its name, or by the look of its value)."""
    if "${" in value or len(value) < 12:
        return False
    if _SECRET_HEADER.search(name):
        return True
    text = value.strip()
    return bool(_SECRETISH.match(text)) and not (_MEDIA_TYPE.fullmatch(text) or _PRODUCT.fullmatch(text))


def lint(raw: dict[str, Any], server: ServerConfig) -> list[str]:
    """Warnings (not errors) about a server config: literal secrets, credentials over plain http."""
    out = []
    headers = raw.get("headers")
    raw_headers: dict[str, Any] = headers if isinstance(headers, dict) else {}
    for key, value in raw_headers.items():
        if isinstance(value, str) and looks_secret(str(key), value):
            out.append(
                f"server {server.name!r}: header {key!r} holds a literal secret; "
                f"write it as ${{VAR}} and keep the value in .env or the environment"
            )
    if server.transport != "stdio" and server.url:
        parsed = urlparse(server.url)
        sends_credentials = bool(server.headers) or server.auth.method != "none"
        if parsed.scheme == "http" and sends_credentials and not is_loopback_url(server.url):
            out.append(f"server {server.name!r}: credentials would be sent over plain http:// to {parsed.hostname}; use https://")
    return out
