"""The URL policy (``mcpomni_jupyter.urls``) against hostile inputs: one table of hosts, one of URLs."""

from __future__ import annotations

import pytest

from mcpomni_jupyter.urls import URL_CHARS, is_loopback_host, is_loopback_url, is_secure_url, why_not_secure

# host, is_loopback_host
HOSTS = [
    ("localhost", True),
    ("LocalHost", True),
    ("127.0.0.1", True),
    ("127.1.2.3", True),
    ("127.255.255.254", True),
    ("::1", True),
    ("[::1]", True),
    ("0:0:0:0:0:0:0:1", True),
    ("", False),
    (None, False),
    ("localhost.", False),  # the absolute name may go to DNS
    ("app.localhost", False),  # RFC 6761 says loopback; a resolver may not: see the module docstring
    ("localhost.evil.com", False),
    ("127.0.0.1.evil.com", False),
    ("0.0.0.0", False),
    ("::", False),
    ("::ffff:127.0.0.1", False),  # IPv4-mapped: not a loopback literal
    ("[127.0.0.1]", False),
    ("[localhost]", False),
    ("[::1", False),
    ("::1]", False),
    ("::1%lo", False),
    ("localhost:80", False),
    (" localhost", False),
    ("127.0.0.1 ", False),
    ("127.1", False),
    ("2130706433", False),
    ("0x7f.0.0.1", False),
    ("127.000.000.001", False),
    ("\u0661\u0662\u0667.0.0.1", False),  # Arabic-Indic digits
    ("128.0.0.1", False),
    ("10.0.0.1", False),
    ("l" * 300, False),
]


@pytest.mark.parametrize(("host", "loopback"), HOSTS)
def test_which_hosts_are_loopback(host, loopback):
    assert is_loopback_host(host) is loopback


# url, is_loopback_url, is_secure_url (https, or http to loopback; no user info)
URLS = [
    ("http://127.0.0.1:8000/mcp", True, True),
    ("http://127.9.9.9/", True, True),
    ("http://localhost/x", True, True),
    ("http://LOCALHOST:3000/callback", True, True),
    ("HTTP://localhost/", True, True),
    ("http://[::1]:8080/y", True, True),
    ("http://[0:0:0:0:0:0:0:1]/", True, True),
    ("https://localhost:8443/", True, True),
    ("http://localhost:/x", True, True),  # an empty port is the default port
    ("https://example.com/login?next=%2F#top", False, True),
    ("HTTPS://AS.EXAMPLE/authorize", False, True),
    ("https://bücher.example/", False, True),
    ("https://[2001:db8::1]:443/", False, True),
    # not loopback: plain http refused
    ("http://example.com/", False, False),
    ("http://10.0.0.5:8888/", False, False),
    ("http://0.0.0.0:8000/", False, False),
    ("http://[::]/", False, False),
    ("http://[::ffff:127.0.0.1]/", False, False),
    ("http://localhost./", False, False),
    ("http://app.localhost:8888/", False, False),
    ("http://127.0.0.1.evil.com/", False, False),
    ("http://localhost.evil.com/", False, False),
    ("http://127.1/", False, False),
    ("http://2130706433/", False, False),
    ("http://0x7f000001/", False, False),
    # user info: where it leads is the host after the @
    ("http://localhost@evil.com/", False, False),
    ("http://127.0.0.1:80@evil.com/", False, False),
    ("https://trusted.example@evil.example/", False, False),
    ("http://user:pw@localhost/", True, False),  # loopback, but never shown or used with user info
    ("http://evil.com#@localhost/", False, False),
    ("http://evil.com?@localhost/", False, False),
    # backslashes: a browser reads them as slashes, Python does not
    ("http://evil.com\\@localhost/", False, False),
    ("http://localhost\\@evil.com/", False, False),
    ("https://example.com\\path", False, False),
    # escapes and junk in the host
    ("http://local%68ost/", False, False),
    ("http://%31%32%37.0.0.1/", False, False),
    ("http://[::1%25lo]/", False, False),
    ("http://a[::1]/", False, False),
    ("http://[::1]x/", False, False),
    ("http://[127.0.0.1]/", False, False),
    ("http://[::1/", False, False),
    ("https://ex<ample.com/", False, False),
    ("https://exa|mple.com/", False, False),
    # whitespace and control or format characters anywhere
    ("http://localhost\n.evil.com/", False, False),
    ("http://local host/", False, False),
    ("http://localhost/\tx", False, False),
    (" http://localhost/", False, False),
    ("http://localhost/ ", False, False),
    ("https://example.com/\x00", False, False),
    ("https://example.com/\x7f", False, False),
    ("https://example.com/\r\nSet-Cookie: x=1", False, False),
    ("https://example.com/\x85", False, False),
    ("https://exa\u202emple.com/", False, False),  # a right-to-left override
    ("https://example.com/\u200b", False, False),  # a zero-width space
    ("https://example.com/\u3000", False, False),  # an ideographic space
    # no host, a bad port, no or another scheme
    ("http:///x", False, False),
    ("http://", False, False),
    ("https://:443/", False, False),
    ("http://localhost:99999/", False, False),
    ("http://localhost:abc/", False, False),
    ("http://localhost:-1/", False, False),
    ("//localhost/x", False, False),
    ("localhost:8000", False, False),
    ("", False, False),
    ("javascript:alert(1)", False, False),
    ("javascript://localhost/%0aalert(1)", False, False),
    ("file:///etc/passwd", False, False),
    ("file://localhost/etc/passwd", False, False),
    ("data:text/html,<script>alert(1)</script>", False, False),
    ("ftp://localhost/x", False, False),
    ("ws://localhost/x", False, False),
    ("vbscript:msgbox", False, False),
    # too long
    ("https://example.com/" + "a" * URL_CHARS, False, False),
    ("http://localhost/" + "a" * URL_CHARS, False, False),
    ("https://example.com/" + "a" * (URL_CHARS - 20), False, True),
    (None, False, False),
]


@pytest.mark.parametrize(("url", "loopback", "secure"), URLS)
def test_hostile_urls(url, loopback, secure):
    assert is_loopback_url(url) is loopback
    assert is_secure_url(url) is secure
    problem = why_not_secure(url)
    assert (problem is None) is secure
    if problem is not None:  # one short line, which never echoes a long or broken URL back
        assert "\n" not in problem and "\r" not in problem and len(problem) < 200


def test_the_reasons_say_what_is_wrong():
    assert why_not_secure("http://example.com/x") == (
        "it is plain http to 'example.com'; only https, or http to this machine (localhost), is allowed"
    )
    assert why_not_secure("javascript:alert(1)") == "only https URLs are allowed, and this one is 'javascript'"
    assert "user name or password" in str(why_not_secure("https://trusted.example@evil.example/"))
    assert "backslash" in str(why_not_secure("http://evil.com\\@localhost/"))
    assert "escapes" in str(why_not_secure("http://local%68ost/"))
    assert why_not_secure("https:///x") == "its URL has no host"
    assert why_not_secure("https://example.com/" + "a" * URL_CHARS) == f"its URL is longer than {URL_CHARS} characters"
