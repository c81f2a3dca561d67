"""The ``auth`` keys of a server config: each method's settings, one-line errors naming the key, and secrets kept out of
reprs and registered for redaction."""

from __future__ import annotations

import os

import pytest

from mcpomni_jupyter.config import AUTH_KEYS, parse_config, parse_server
from mcpomni_jupyter.errors import ConfigError

URL = "https://mcp.example/mcp"
PEM = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0123456789abcdef\n-----END PRIVATE KEY-----"
ENV = {
    "KEY_PEM": PEM,
    "SECRET": "s3cret-value-123",
    "JAG": "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlLXZhbHVl",
    "ID_TOKEN": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJpZCJ9.aWQtdG9rZW4tc2ln",
}


def auth(**keys: object):
    return parse_server("s", {"url": URL, "auth": keys}, ENV).auth


def error(**keys: object) -> str:
    with pytest.raises(ConfigError) as info:
        parse_server("s", {"url": URL, "auth": keys}, ENV)
    message = str(info.value)
    assert "\n" not in message and message.startswith("server 's'"), message
    return message


def test_private_key_jwt_settings():
    a = auth(method="client_credentials", client_id="c", private_key="${KEY_PEM}", signing_algorithm="ES256", key_id="k1")
    assert (a.method, a.client_id, a.private_key, a.signing_algorithm, a.key_id) == ("client_credentials", "c", PEM, "ES256", "k1")
    assert a.uses_oauth and a.client_secret is None
    b = auth(method="client_credentials", client_id="c", private_key_file="~/keys/m2m.pem", issuer="https://as.example")
    assert b.private_key_file == "~/keys/m2m.pem" and b.issuer == "https://as.example"


def test_identity_assertion_settings():
    a = auth(
        method="identity_assertion", client_id="c", client_secret="${SECRET}", issuer="https://as.example", identity_assertion="${JAG}"
    )
    assert a.identity_assertion == ENV["JAG"] and a.uses_oauth
    b = auth(
        method="identity_assertion",
        client_id="c",
        client_secret="${SECRET}",
        issuer="https://as.example",
        id_token_file="/run/idp/id_token",
        idp_token_endpoint="https://idp.example/oauth2/token",
        idp_client_id="notebook",
        idp_client_secret="${SECRET}",
        scopes="mcp read",
    )
    assert (b.id_token_file, b.idp_client_id, b.scopes) == ("/run/idp/id_token", "notebook", ("mcp", "read"))


@pytest.mark.parametrize(
    "keys, expect",
    [
        ({"method": "oauth", "private_key": PEM}, "auth.private_key does not apply to method 'oauth'; it is for client_credentials"),
        ({"method": "oauth", "issuer": "https://as.example"}, "auth.issuer does not apply to method 'oauth'"),
        ({"method": "none", "scopes": ["a"]}, "auth.scopes does not apply to method 'none'"),
        ({"method": "client_credentials", "client_id": "c", "callback_port": 3001}, "auth.callback_port does not apply"),
        (
            {"method": "client_credentials", "client_id": "c", "id_token": "x"},
            "auth.id_token does not apply to method 'client_credentials'",
        ),
        ({"method": "client_credentials", "client_id": "c", "privat_key": PEM}, "unknown key 'privat_key' (did you mean 'private_key'?)"),
        ({"method": "client_credentials", "private_key": PEM}, "method client_credentials needs auth.client_id"),
        (
            {"method": "client_credentials", "client_id": "c"},
            "client_credentials needs a credential: set auth.client_secret, auth.private_key or",
        ),
        (
            {"method": "client_credentials", "client_id": "c", "client_secret": "x", "private_key": PEM},
            "auth.client_secret and auth.private_key both",
        ),
        ({"method": "client_credentials", "client_id": "c", "private_key": PEM, "private_key_file": "k.pem"}, "keep one"),
        ({"method": "client_credentials", "client_id": "c", "client_secret": "x", "key_id": "k"}, "auth.key_id goes with auth.private_key"),
        ({"method": "client_credentials", "client_id": "c", "private_key": "not a pem"}, "auth.private_key must be a PEM private key"),
        (
            {"method": "client_credentials", "client_id": "c", "private_key": PEM, "signing_algorithm": "HS256"},
            "'HS256' is not one of RS256",
        ),
        (
            {"method": "client_credentials", "client_id": "c", "private_key": PEM, "signing_algorithm": 256},
            "signing_algorithm must be a string",
        ),
        ({"method": "client_credentials", "client_id": "c", "client_secret": "x", "issuer": "http://as.example"}, "auth.issuer must be"),
        ({"method": "client_credentials", "client_id": "c", "client_secret": "x", "issuer": "as.example"}, "an https:// URL"),
        ({"method": "identity_assertion", "client_secret": "x", "issuer": "https://a", "identity_assertion": "j"}, "needs auth.client_id"),
        ({"method": "identity_assertion", "client_id": "c", "issuer": "https://a", "identity_assertion": "j"}, "needs auth.client_secret"),
        ({"method": "identity_assertion", "client_id": "c", "client_secret": "x", "identity_assertion": "j"}, "needs auth.issuer"),
        (
            {"method": "identity_assertion", "client_id": "c", "client_secret": "x", "issuer": "https://a"},
            "needs the assertion, or an ID token",
        ),
        (
            {"method": "identity_assertion", "client_id": "c", "client_secret": "x", "issuer": "https://a", "id_token": "t"},
            "with auth.id_token needs auth.idp_token_endpoint",
        ),
        (
            {
                "method": "identity_assertion",
                "client_id": "c",
                "client_secret": "x",
                "issuer": "https://a",
                "id_token_file": "t",
                "idp_token_endpoint": "https://idp/token",
            },
            "needs auth.idp_client_id",
        ),
        (
            {
                "method": "identity_assertion",
                "client_id": "c",
                "client_secret": "x",
                "issuer": "https://a",
                "id_token": "t",
                "idp_token_endpoint": "http://idp.example/token",
                "idp_client_id": "n",
            },
            "auth.idp_token_endpoint must be the identity provider's token endpoint: an https:// URL",
        ),
        (
            {
                "method": "identity_assertion",
                "client_id": "c",
                "client_secret": "x",
                "issuer": "https://a",
                "identity_assertion": "j",
                "idp_client_id": "n",
            },
            "auth.idp_client_id goes with auth.id_token",
        ),
        (
            {
                "method": "identity_assertion",
                "client_id": "c",
                "client_secret": "x",
                "issuer": "https://a",
                "identity_assertion": "j",
                "id_token": "t",
            },
            "auth.identity_assertion and auth.id_token both give the credential",
        ),
        (
            {"method": "oauth", "client_metadata_url": "http://client.example/meta.json"},
            "client_metadata_url must be an https:// URL with a path",
        ),
        ({"method": "oauth", "client_metadata_url": "https://client.example/"}, "client_metadata_url must be an https:// URL with a path"),
    ],
)
def test_errors_are_one_line_and_name_the_key(keys, expect):
    assert expect in error(**keys)


def test_an_empty_variable_is_a_missing_setting():
    assert "needs a credential" in error(method="client_credentials", client_id="c", client_secret="${EMPTY:-}")


def test_http_to_loopback_is_allowed_for_local_servers():
    a = auth(method="client_credentials", client_id="c", client_secret="x", issuer="http://127.0.0.1:8000")
    assert a.issuer == "http://127.0.0.1:8000"


def test_every_secret_is_kept_out_of_reprs_and_registered():
    config = {
        "m2m": {"url": URL, "auth": {"method": "client_credentials", "client_id": "c", "private_key": "${KEY_PEM}", "key_id": "kid-1"}},
        "xaa": {
            "url": URL,
            "auth": {
                "method": "identity_assertion",
                "client_id": "c",
                "client_secret": "${SECRET}",
                "issuer": "https://as.example",
                "id_token": "${ID_TOKEN}",
                "idp_token_endpoint": "https://idp.example/token",
                "idp_client_id": "n",
                "idp_client_secret": "idp-secret-literal",
            },
        },
        "jag": {
            "url": URL,
            "auth": {
                "method": "identity_assertion",
                "client_id": "c",
                "client_secret": "x-secret",
                "issuer": "https://a.example",
                "identity_assertion": "${JAG}",
            },
        },
    }
    servers = {s.name: s for s in parse_config(config, environ=ENV).servers}
    secrets = [PEM, ENV["SECRET"], ENV["ID_TOKEN"], ENV["JAG"], "idp-secret-literal", "x-secret"]
    shown = " ".join(repr(s) + repr(s.auth) for s in servers.values())
    for secret in secrets:
        assert secret not in shown
    assert "MIGHAgEAMBMGByqGSM49" not in shown
    assert "private_key=***" in repr(servers["m2m"].auth) and "key_id='kid-1'" in repr(servers["m2m"].auth)
    assert "idp_client_secret=***" in repr(servers["xaa"]) and "idp_token_endpoint='https://idp.example/token'" in repr(servers["xaa"])
    registered = set().union(*(s.secret_values() for s in servers.values()))
    assert set(secrets) <= registered


def test_auth_keys_are_the_known_ones():
    assert {"private_key", "private_key_file", "signing_algorithm", "key_id", "issuer", "identity_assertion"} <= AUTH_KEYS
    assert {"identity_assertion_file", "id_token", "id_token_file", "idp_token_endpoint", "idp_client_id", "idp_client_secret"} <= AUTH_KEYS


# ---------------------------------------------------------------------- jwt_bearer (workload identity) and the alias


def test_jwt_bearer_settings(tmp_path):
    token = tmp_path / "token"
    token.write_text(ENV["JAG"])
    a = auth(method="jwt_bearer", assertion_file=str(token))
    assert (a.method, a.assertion_file, a.assertion, a.client_id, a.uses_oauth) == ("jwt_bearer", str(token), None, None, True)
    b = auth(method="jwt_bearer", assertion="${JAG}", client_id="w", client_secret="${SECRET}", scopes="mcp", issuer="https://as.example")
    assert (b.assertion, b.client_secret, b.scopes, b.issuer) == (ENV["JAG"], ENV["SECRET"], ("mcp",), "https://as.example")
    assert "assertion=***" in repr(b) and ENV["JAG"] not in repr(b) and ENV["JAG"] in b.secret_values()


@pytest.mark.parametrize("name", ["enterprise_managed", "enterprise-managed", "enterprise_managed_authorization"])
def test_enterprise_managed_is_identity_assertion(name):
    a = auth(method=name, client_id="c", client_secret="x", issuer="https://as.example", identity_assertion="${JAG}")
    assert a.method == "identity_assertion" and a.identity_assertion == ENV["JAG"]
    assert "needs auth.issuer" in error(method=name, client_id="c", client_secret="x", identity_assertion="j")


def test_jwt_bearer_errors_are_one_line(tmp_path):
    missing, folder, locked = tmp_path / "nope", tmp_path / "dir", tmp_path / "locked"
    folder.mkdir()
    locked.write_text("x")
    locked.chmod(0)
    assert error(method="jwt_bearer") == "server 's'.auth: jwt_bearer needs the platform's JWT: set auth.assertion or auth.assertion_file"
    assert "auth.assertion and auth.assertion_file both give the credential; keep one" in error(
        method="jwt_bearer", assertion="j", assertion_file=str(folder)
    )
    assert error(method="jwt_bearer", assertion_file=str(missing)) == (
        f"server 's'.auth.assertion_file {str(missing)!r} does not exist; check the path (the tool that writes the token must run first)"
    )
    assert "is not a file; point it at the token file itself" in error(method="jwt_bearer", assertion_file=str(folder))
    if os.geteuid() != 0:  # root reads any file
        assert "cannot be read (Permission denied); check its permissions" in error(method="jwt_bearer", assertion_file=str(locked))
    assert "method jwt_bearer with auth.client_secret needs auth.client_id" in error(method="jwt_bearer", assertion="j", client_secret="x")
    assert "auth.assertion does not apply to method 'client_credentials'" in error(
        method="client_credentials", client_id="c", client_secret="x", assertion="j"
    )
    assert "auth.private_key does not apply to method 'jwt_bearer'" in error(method="jwt_bearer", assertion="j", private_key=PEM)
