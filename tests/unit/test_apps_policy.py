"""MCP Apps, the pure parts: which tools have an app, who may call them, the policy and permissions of an app."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mcpomni_jupyter.core.apps.app import csp, for_model, permissions, resource_uri, visibility


def tool(meta):
    return SimpleNamespace(name="t", meta=meta)


def test_the_resource_uri_and_its_deprecated_flat_form():
    assert resource_uri(tool({"ui": {"resourceUri": "ui://a/b.html"}})) == "ui://a/b.html"
    assert resource_uri(tool({"ui/resourceUri": "ui://a/old.html"})) == "ui://a/old.html"
    assert resource_uri(tool({"ui": {"resourceUri": "https://evil.example/app.html"}})) is None  # only ui://
    assert resource_uri(tool({"ui": "nonsense"})) is None
    assert resource_uri(tool(None)) is None


@pytest.mark.parametrize(
    ("meta", "seen", "listed"),
    [
        (None, ["model", "app"], True),
        ({"ui": {"visibility": ["app"]}}, ["app"], False),
        ({"ui": {"visibility": ["model"]}}, ["model"], True),
        ({"ui": {"visibility": "app"}}, ["model", "app"], True),  # malformed: the default
    ],
)
def test_visibility(meta, seen, listed):
    assert visibility(tool(meta)) == seen
    assert for_model(tool(meta)) is listed


def test_the_default_policy_is_the_extensions_restrictive_one():
    policy = csp({})
    assert policy.startswith("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; ")
    assert "connect-src 'none'" in policy and "frame-src 'none'" in policy and "object-src 'none'" in policy
    assert "base-uri 'none'" in policy and "img-src data:;" in policy and "font-src data:;" in policy
    assert "'self'" not in policy  # in the app's srcdoc frame it would mean the Jupyter server's origin


def test_declared_domains_are_added_and_malformed_ones_dropped():
    policy = csp(
        {
            "csp": {
                "connectDomains": ["https://api.example.com", "wss://live.example.com", "https://a.com; script-src *", "*", "data:"],
                "resourceDomains": ["https://*.cdn.example.com", "javascript:alert(1)", "https://x.com/path"],
                "frameDomains": ["https://www.youtube.com"],
            }
        }
    )
    assert "connect-src https://api.example.com wss://live.example.com;" in policy
    assert "script-src 'unsafe-inline' https://*.cdn.example.com;" in policy
    assert "'self'" not in policy
    assert "frame-src https://www.youtube.com;" in policy
    assert "script-src *" not in policy and "javascript:" not in policy and "/path" not in policy
    assert policy.count(";") == csp({}).count(";")  # nothing injected a directive


def test_permissions_asked():
    assert permissions({"permissions": {"camera": {}, "clipboardWrite": {}, "teleport": {}}}) == ["camera", "clipboard-write"]
    assert permissions({}) == [] and permissions(None) == []
