"""Warnings (not errors) about a server config.

A literal secret-looking token in ``headers`` (write it as ``${VAR}``), and
credentials sent over plain ``http://`` to a host that is not loopback
(``urls.is_loopback_url``).
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


def lint(raw: dict[str, Any], server: ServerConfig) -> list[str]:
    """Warnings (not errors) about a server config: literal secrets, credentials over plain http."""
    out = []
    headers = raw.get("headers")
    raw_headers: dict[str, Any] = headers if isinstance(headers, dict) else {}
    for key, value in raw_headers.items():
        if (
            isinstance(value, str)
            and "${" not in value
            and (_SECRET_HEADER.search(key) or _SECRETISH.match(value.strip()))
            and len(value) >= 12
        ):
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
