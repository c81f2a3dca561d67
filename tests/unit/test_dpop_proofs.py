"""DPoP pieces: the proofs a key signs, the key and the bound tokens in the token store, ``auth.dpop``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import stat
import time

import jwt
import pytest
from mcp.shared.auth import OAuthToken

from mcpomni_jupyter.auth.dpop import Prover, checked_key, new_key, offered, thumbprint
from mcpomni_jupyter.auth.tokens import FileTokenStorage
from mcpomni_jupyter.authconfig import parse_auth
from mcpomni_jupyter.errors import ConfigError
from mcpomni_jupyter.redact import redact

URL = "https://mcp.example.com/mcp"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_proof_is_a_signed_dpop_jwt_with_the_public_key_in_its_header():
    jwk = new_key()
    prover = Prover(jwk)
    proof = prover.proof("POST", "https://as.example/token", nonce="n-1", access_token="at-123")
    header = jwt.get_unverified_header(proof)
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert header["jwk"] == {"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]}  # public only
    claims = jwt.decode(proof, jwt.PyJWK(header["jwk"], "ES256").key, algorithms=["ES256"])
    assert claims["htm"] == "POST" and claims["htu"] == "https://as.example/token" and claims["nonce"] == "n-1"
    assert abs(claims["iat"] - time.time()) < 5 and len(claims["jti"]) >= 16
    assert claims["ath"] == b64(hashlib.sha256(b"at-123").digest())
    other = jwt.decode(prover.proof("GET", URL), jwt.PyJWK(header["jwk"], "ES256").key, algorithms=["ES256"])
    assert other["jti"] != claims["jti"] and "ath" not in other and "nonce" not in other


def test_the_thumbprint_is_rfc_7638():
    jwk = new_key()
    canonical = json.dumps({"crv": "P-256", "kty": "EC", "x": jwk["x"], "y": jwk["y"]}, separators=(",", ":")).encode()
    assert thumbprint(jwk) == Prover(jwk).jkt == b64(hashlib.sha256(canonical).digest())


def test_the_private_key_never_shows():
    jwk = new_key()
    prover = Prover(jwk)
    assert jwk["d"] not in repr(prover) and repr(prover) == f"Prover(jkt={prover.jkt!r})"
    assert redact(f"d={jwk['d']}") == "d=***"
    assert redact(f"DPoP {prover.proof('GET', URL)}") == "DPoP ***"
    assert redact("Authorization: DPoP at-0123456789") == "Authorization: DPoP ***"


def test_a_stored_key_must_be_a_matching_p256_pair():
    good = new_key()
    assert checked_key(good) == good
    other = new_key()
    assert checked_key({**good, "x": other["x"]}) is None  # a public half of another key
    assert checked_key({**good, "crv": "P-384"}) is None
    assert checked_key({**good, "d": "not base64!"}) is None
    assert checked_key("a string") is None


def test_offered_needs_es256_among_the_algorithms():
    assert offered({"dpop_signing_alg_values_supported": ["RS256", "ES256"]})
    assert not offered({"dpop_signing_alg_values_supported": ["RS256"]})
    assert not offered({"dpop_signing_alg_values_supported": "ES256"}) and not offered({}) and not offered(None)


# --------------------------------------------------------------------------- the token store


def storage(tmp_path, warnings: list[str] | None = None) -> FileTokenStorage:
    return FileTokenStorage(tmp_path / "tokens", URL, on_warning=warnings.append if warnings is not None else None)


def test_the_key_is_made_once_and_kept_with_the_tokens_it_binds(tmp_path):
    store = storage(tmp_path)
    key = asyncio.run(store.dpop_key())
    assert asyncio.run(storage(tmp_path).dpop_key()) == key  # another kernel reads the same key
    store.dpop_bound.add("at-bound")
    asyncio.run(store.set_tokens(OAuthToken(access_token="at-bound", expires_in=60)))
    data = json.loads(store.path.read_text())
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert data["tokens"]["token_type"] == "DPoP" and data["dpop_key"] == key
    again = storage(tmp_path)
    loaded = again.load()
    assert loaded.dpop_bound and loaded.tokens.access_token == "at-bound" and "at-bound" in again.dpop_bound
    assert key["d"] not in repr(loaded)
    asyncio.run(store.set_tokens(OAuthToken(access_token="at-plain", expires_in=60)))  # a bearer token
    assert json.loads(store.path.read_text())["tokens"]["token_type"] == "Bearer"


def test_a_bound_token_without_its_key_is_reported_and_not_used(tmp_path):
    store = storage(tmp_path)
    store.path.parent.mkdir(mode=0o700)
    store.path.write_text(json.dumps({"tokens": {"access_token": "at-orphan", "token_type": "DPoP"}, "expires_at": time.time() + 60}))
    warnings: list[str] = []
    loaded = storage(tmp_path, warnings).load()
    assert loaded.tokens is None and not loaded.dpop_bound
    assert warnings and "its DPoP-bound tokens have no key" in warnings[0]
    store.path.write_text(json.dumps({"tokens": {"access_token": "at-orphan", "token_type": "DPoP"}, "dpop_key": {"kty": "EC"}}))
    warnings.clear()
    assert storage(tmp_path, warnings).load().tokens is None
    assert "its DPoP key is not a P-256 key pair" in warnings[0]


# --------------------------------------------------------------------------- auth.dpop


def test_auth_dpop_is_true_or_false():
    assert parse_auth({"method": "oauth"}, "servers.m.auth").dpop is True
    off = parse_auth({"method": "client_credentials", "client_id": "c", "client_secret": "s", "dpop": False}, "servers.m.auth")
    assert off.dpop is False and "dpop=False" in repr(off)
    assert "dpop" not in repr(parse_auth({"method": "oauth"}, "servers.m.auth"))
    with pytest.raises(ConfigError, match=r"servers\.m\.auth\.dpop must be true or false"):
        parse_auth({"method": "oauth", "dpop": "no"}, "servers.m.auth")
    with pytest.raises(ConfigError, match="does not apply to method 'none'"):
        parse_auth({"method": "none", "dpop": False}, "servers.m.auth")
