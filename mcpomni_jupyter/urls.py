"""One policy for URLs: which hosts are loopback, and which URLs are safe to send a person or a credential to.

- ``is_loopback_host(host)``: the exact name ``localhost`` (any case), an
  IPv4 address in ``127.0.0.0/8`` or the IPv6 address ``::1`` (bracketed or
  not).  Nothing else: not ``0.0.0.0`` or ``::`` (every interface), not an
  IPv4-mapped ``::ffff:127.0.0.1`` (the W3C secure-contexts rule leaves it
  out, and on an IPv6-only socket it reaches nothing), not ``localhost.``,
  and not ``*.localhost``.  RFC 6761 says ``*.localhost`` names resolve to
  loopback, but a name is only as good as the resolver that answers it: the
  kernel's resolver may send ``app.localhost`` to DNS, and the question this
  answers — may a credential go over plain http, may the page's own machine
  be trusted — is one where a wrong yes leaks and a wrong no costs only the
  safer path (https, or the relay).  So the rule is literal addresses and the
  one name every resolver keeps local; one rule for every caller.
- ``split_url(url)``: ``urlsplit`` with what makes a URL mean one thing to
  Python and another to a browser refused: whitespace, control and format
  characters (a bidi override, a zero-width space), a backslash (a browser
  reads it as ``/``, so ``http://evil.example\\@localhost/`` goes to
  ``evil.example``), junk around an IPv6 bracket (``http://a[::1]/``), a
  percent escape or a forbidden character in the host, a bad port, and a
  URL over ``URL_CHARS``.
- ``is_loopback_url(url)``: an http(s) URL that ``split_url`` accepts, to a
  loopback host.
- ``why_not_secure(url)`` / ``is_secure_url(url)``: https, or http to a
  loopback host; never a user name or password before the host
  (``https://trusted.example@evil.example/`` goes to ``evil.example``).

Only the standard library is imported here.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

URL_CHARS = 8_000  # a longer URL is refused (servers and proxies commonly cap a request line near 8 KB)
LOOPBACK_NAME = "localhost"
_IPV6_LOOPBACK = ipaddress.IPv6Address("::1")
_ADDRESS_CHARS = frozenset("0123456789abcdef.:")  # an IP literal: no scope id (``%eth0``), nothing else
_FORBIDDEN_HOST = frozenset("%<>^|\"'`{}")  # with what urlsplit keeps out already (WHATWG forbidden host code points)
_BRACKETED = re.compile(r"\[[0-9A-Fa-f:.]+\](?::[0-9]*)?")  # ``[v6]`` or ``[v6]:port``, and nothing around it


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` is ``localhost`` or a literal loopback address (``127.0.0.0/8``, ``::1``, ``[::1]``)."""
    if not isinstance(host, str) or not host or len(host) > 255:
        return False
    name = host.lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
        if ":" not in name:  # brackets are for IPv6 only
            return False
    if name == LOOPBACK_NAME:
        return True
    if not name or not set(name) <= _ADDRESS_CHARS:
        return False
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return address == _IPV6_LOOPBACK
    return address.is_loopback


def _unclean(url: str) -> bool:
    """Whitespace, a control or format character (``\\n``, ``\\x00``, ``\\u202e``) or a backslash anywhere."""
    return not url.isprintable() or any(ch.isspace() or ch == "\\" for ch in url)


def split_url(url: str) -> SplitResult:
    """``url`` split, with a ``hostname`` that means what a browser takes it to mean; ValueError (one line) if not."""
    if not isinstance(url, str):
        raise ValueError("its URL is not a string")
    if len(url) > URL_CHARS:
        raise ValueError(f"its URL is longer than {URL_CHARS} characters")
    if _unclean(url):
        raise ValueError("its URL contains spaces, control characters or a backslash")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise ValueError("its URL is not valid") from None
    where = parts.netloc.rpartition("@")[2]
    if ("[" in where or "]" in where) and not _BRACKETED.fullmatch(where):
        raise ValueError("its URL is not valid")
    if parts.hostname and not set(parts.hostname).isdisjoint(_FORBIDDEN_HOST):
        raise ValueError("its URL's host is written with escapes or characters no host name has")
    return parts


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` is an http(s) URL (one ``split_url`` accepts) to a loopback host."""
    try:
        parts = split_url(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and is_loopback_host(parts.hostname)


def why_not_secure(url: str) -> str | None:
    """Why ``url`` is not https (or http to a loopback host) without user info, in one line; None when it is."""
    try:
        parts = split_url(url)
    except ValueError as exc:
        return str(exc)
    scheme, host = parts.scheme, parts.hostname or ""
    if not scheme:
        return "its URL has no scheme: only https, or http to this machine (localhost), is allowed"
    if scheme not in ("https", "http"):
        return f"only https URLs are allowed, and this one is {scheme[:40]!r}"
    if not host:
        return "its URL has no host"
    if parts.username is not None or parts.password is not None:
        return "its URL carries a user name or password before the host (a way to disguise where it leads)"
    if scheme == "http" and not is_loopback_host(host):
        return f"it is plain http to {host[:100]!r}; only https, or http to this machine (localhost), is allowed"
    return None


def is_secure_url(url: str) -> bool:
    """Whether ``url`` is https, or http to a loopback host, and unambiguous (see ``why_not_secure``)."""
    return why_not_secure(url) is None
