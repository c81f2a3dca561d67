"""DPoP (RFC 9449, SEP-1932): a server's key pair and the proofs it signs.

The key is ES256 (P-256), one per server, created the first time the
authorization server is asked for a DPoP-bound token and kept in the token
store beside the tokens it binds (``tokens``: its JSON Web Key, the private
``d`` registered with ``redact.add_secret``).  A ``Prover`` signs one proof
per request; what is the same for every proof is computed once: the public
JWK, its thumbprint (``jkt``, RFC 7638) and the encoded JOSE header.  The
SHA-256 of the access token (``ath``) is kept for as long as the token is.

Nothing here prints the key: a ``Prover``'s repr names only its thumbprint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

from mcpomni_jupyter.redact import add_secret

ALGORITHM = "ES256"
_COORDINATE = 32  # bytes of a P-256 coordinate, and of each half of an ES256 signature


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def offered(metadata: Any) -> bool:
    """Whether authorization server metadata (its JSON) offers DPoP with ES256 (``dpop_signing_alg_values_supported``)."""
    algorithms = metadata.get("dpop_signing_alg_values_supported") if isinstance(metadata, dict) else None
    return isinstance(algorithms, list) and ALGORITHM in algorithms


def new_key() -> dict[str, str]:
    """A fresh P-256 key pair as a private JWK (its ``d`` registered as a secret)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.private_numbers()
    public = numbers.public_numbers
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(public.x.to_bytes(_COORDINATE, "big")),
        "y": b64url(public.y.to_bytes(_COORDINATE, "big")),
        "d": b64url(numbers.private_value.to_bytes(_COORDINATE, "big")),
    }
    add_secret(jwk["d"])
    return jwk


def checked_key(raw: Any) -> dict[str, str] | None:
    """A stored private JWK if it is a P-256 key pair whose public half matches; None otherwise."""
    if not isinstance(raw, dict) or raw.get("kty") != "EC" or raw.get("crv") != "P-256":
        return None
    if not all(isinstance(raw.get(part), str) and len(raw[part]) <= 64 for part in ("x", "y", "d")):
        return None
    add_secret(raw["d"])
    try:
        key = _private_key(raw)
        public = key.public_key().public_numbers()
        if (public.x, public.y) != (int.from_bytes(_unb64url(raw["x"]), "big"), int.from_bytes(_unb64url(raw["y"]), "big")):
            return None
    except (ValueError, TypeError):
        return None
    return {part: raw[part] for part in ("kty", "crv", "x", "y", "d")}


def _private_key(jwk: dict[str, str]) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.derive_private_key(int.from_bytes(_unb64url(jwk["d"]), "big"), ec.SECP256R1())


def thumbprint(jwk: dict[str, str]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a P-256 JWK (its required members, in lexical order)."""
    return b64url(hashlib.sha256(_compact({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"], "y": jwk["y"]})).digest())


def token_hash(access_token: str) -> str:
    """``ath``: base64url of the SHA-256 of the access token (RFC 9449 4.2)."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


class Prover:
    """Signs DPoP proofs with one key: a JWT with ``typ`` dpop+jwt and the public ``jwk`` in its header."""

    def __init__(self, jwk: dict[str, str]) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        self._key = _private_key(jwk)
        self._ecdsa = ec.ECDSA(hashes.SHA256())
        self.public_jwk = {"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]}
        self.jkt = thumbprint(jwk)
        self._header = b64url(_compact({"typ": "dpop+jwt", "alg": ALGORITHM, "jwk": self.public_jwk}))
        self._ath: tuple[str, str] = ("", "")  # (access token, its hash): the same token for many requests

    def __repr__(self) -> str:
        return f"Prover(jkt={self.jkt!r})"

    def _ath_of(self, access_token: str) -> str:
        token, digest = self._ath
        if token != access_token:
            digest = token_hash(access_token)
            self._ath = (access_token, digest)
        return digest

    def proof(self, method: str, url: str, nonce: str | None = None, access_token: str | None = None) -> str:
        """A fresh proof for one request: ``htm``, ``htu`` (``url`` without query or fragment), ``iat``, ``jti``,
        the server's ``nonce`` if it gave one, and ``ath`` when an access token goes with the request."""
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        claims: dict[str, Any] = {"jti": secrets.token_urlsafe(18), "htm": method, "htu": url, "iat": int(time.time())}
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            claims["ath"] = self._ath_of(access_token)
        signing_input = f"{self._header}.{b64url(json.dumps(claims, separators=(',', ':')).encode())}"
        r, s = decode_dss_signature(self._key.sign(signing_input.encode("ascii"), self._ecdsa))
        return f"{signing_input}.{b64url(r.to_bytes(_COORDINATE, 'big') + s.to_bytes(_COORDINATE, 'big'))}"
