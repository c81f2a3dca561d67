"""DPoP (RFC 9449) for the test authorization server and its MCP server: one ASGI middleware.

At the token endpoint, a request with a ``DPoP`` header must carry a valid
proof (signature by the ``jwk`` of its header, ``typ`` dpop+jwt, ``htm``
POST, ``htu`` the token endpoint, ``iat`` within a minute, a ``jti`` never
seen before, and the nonce when one is demanded); the token it gets is
``token_type: DPoP``, bound to the proof key's thumbprint (``cnf.jkt``,
kept here as an introspection would return it).  An authorization code
asked for with ``dpop_jkt`` is bound to that key too.  A request without a
proof gets a bearer token, as before.

At the MCP server (``/mcp``, ``/sse``, ``/messages``), a bound token must
come as ``Authorization: DPoP`` with a valid proof of the same key, whose
``ath`` is the token's hash; replayed as ``Bearer``, without a proof, or
with another key's proof, it is refused (401).  Accepted requests reach the
SDK's bearer check as ``Bearer``.

``--dpop-nonce`` demands a server nonce at both (RFC 9449 8, 9): a proof
without the current one gets ``use_dpop_nonce`` with a ``DPoP-Nonce``
header (400 at the token endpoint, 401 at the resource).

Test-only routes:
    GET /test/dpop        -> {"events": [...], "bound": number of bound tokens, "proofs": [every proof]}
    POST /test/dpop-nonce -> a new nonce (the client's next proofs carry the old one)
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from urllib.parse import parse_qs

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

ALGORITHMS = ["ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA"]
RESOURCE_PATHS = ("/mcp", "/sse", "/messages")
IAT_WINDOW = 60


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def thumbprint(jwk: dict) -> str:
    """RFC 7638 for EC, RSA and OKP keys."""
    members = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    return b64url(hashlib.sha256(json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True).encode()).digest())


class ProofError(Exception):
    pass


class DPoPGuard:
    def __init__(self, app, provider, nonce: bool) -> None:
        self.app, self.provider = app, provider
        self.nonce = f"nonce-{secrets.token_urlsafe(8)}" if nonce else None
        self.jtis: set[str] = set()
        self.bound: dict[str, str] = {}  # access token -> cnf.jkt
        self.code_jkt: dict[str, str] = {}  # code_challenge -> the dpop_jkt of its authorization request
        self.events: list[dict] = []
        self.keys: dict[str, tuple] = {}  # encoded proof header -> (alg, public key, thumbprint)
        self.proofs: list[str] = []  # every proof received (a test checks none shows on the client's side)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method = scope["path"], scope["method"]
        if path == "/test/dpop":
            return await self._json(send, 200, {"events": self.events, "bound": len(self.bound), "proofs": self.proofs})
        if path == "/test/dpop-nonce" and method == "POST":
            self.nonce = f"nonce-{secrets.token_urlsafe(8)}"
            return await self._json(send, 200, {"rotated": True})
        if path == "/authorize":
            query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
            if query.get("dpop_jkt") and query.get("code_challenge"):
                self.code_jkt[query["code_challenge"]] = query["dpop_jkt"]
                self.events.append({"where": "authorize", "dpop_jkt": query["dpop_jkt"]})
        if path == "/token" and method == "POST":
            return await self._token(scope, receive, send)
        if path.startswith(RESOURCE_PATHS):
            return await self._resource(scope, receive, send)
        return await self.app(scope, receive, send)

    # ------------------------------------------------------------------ proofs

    def verify(self, proof: str, scope, access_token: str | None = None) -> str:
        """The thumbprint of the proof's key; ProofError saying what is wrong."""
        self.proofs.append(proof)
        headers = dict(scope["headers"])
        url = f"http://{headers.get(b'host', b'').decode()}{scope['path']}"
        try:
            alg, key, jkt = self._key_of(proof.partition(".")[0])
            claims = _es256(proof, key) if alg == "ES256" else jwt.decode(proof, key, algorithms=[alg])
        except (jwt.PyJWTError, InvalidSignature, ValueError) as exc:
            raise ProofError(f"bad proof: {exc or type(exc).__name__}") from None
        if not isinstance(claims, dict) or not isinstance(claims.get("jti"), str) or not isinstance(claims.get("iat"), int):
            raise ProofError("jti and iat are required")
        if claims.get("htm") != scope["method"] or claims.get("htu") != url:
            raise ProofError(f"htm/htu {claims.get('htm')} {claims.get('htu')} do not match {scope['method']} {url}")
        if abs(time.time() - claims["iat"]) > IAT_WINDOW:
            raise ProofError("iat outside the window")
        if claims["jti"] in self.jtis:
            raise ProofError("jti replayed")
        self.jtis.add(claims["jti"])
        if access_token is not None and claims.get("ath") != b64url(hashlib.sha256(access_token.encode()).digest()):
            raise ProofError("ath does not match the access token")
        if self.nonce is not None and claims.get("nonce") != self.nonce:
            raise NonceNeeded()
        return jkt

    def _key_of(self, encoded_header: str) -> tuple[str, object, str]:
        """The alg, public key and thumbprint of a proof's header (checked once per header, as a server caches them)."""
        known = self.keys.get(encoded_header)
        if known is None:
            header = jwt.get_unverified_header(f"{encoded_header}.e30.")
            if header.get("typ") != "dpop+jwt" or header.get("alg") not in ALGORITHMS:
                raise ProofError("typ must be dpop+jwt with an asymmetric alg")
            jwk = header.get("jwk")
            if not isinstance(jwk, dict) or "d" in jwk:
                raise ProofError("jwk must be a public key")
            known = self.keys[encoded_header] = (header["alg"], jwt.PyJWK(jwk, header["alg"]).key, thumbprint(jwk))
        return known

    # ------------------------------------------------------------------ the token endpoint

    async def _token(self, scope, receive, send):
        body = await _body(receive)
        proof = dict(scope["headers"]).get(b"dpop")
        if proof is None:
            return await self.app(scope, replay(body), send)
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        try:
            jkt = self.verify(proof.decode(), scope)
        except NonceNeeded:
            self.events.append({"where": "token", "result": "use_dpop_nonce"})
            return await self._json(send, 400, {"error": "use_dpop_nonce"}, [(b"dpop-nonce", self.nonce.encode())])
        except ProofError as exc:
            self.events.append({"where": "token", "result": str(exc)})
            return await self._json(send, 400, {"error": "invalid_dpop_proof", "error_description": str(exc)})
        code = self.provider.codes.get(form.get("code", ""))
        wanted = self.code_jkt.get(code.code_challenge) if code is not None else None
        if wanted is not None and wanted != jkt:
            self.events.append({"where": "token", "result": "code bound to another key"})
            return await self._json(send, 400, {"error": "invalid_grant", "error_description": "the code is bound to another key"})
        status, headers, content = await _captured(self.app, scope, replay(body))
        token = json.loads(content) if status == 200 else None
        if isinstance(token, dict) and "access_token" in token:
            self.bound[token["access_token"]] = jkt
            token["token_type"] = "DPoP"
            content = json.dumps(token).encode()
            self.events.append({"where": "token", "result": "ok", "grant_type": form.get("grant_type"), "jkt": jkt})
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"] + [(b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
        return None

    # ------------------------------------------------------------------ the MCP server

    async def _resource(self, scope, receive, send):
        headers = dict(scope["headers"])
        scheme, _, token = headers.get(b"authorization", b"").decode().partition(" ")
        if scheme.lower() == "bearer" and token in self.bound:
            return await self._refuse(send, "a DPoP-bound token presented as Bearer", "invalid_token")
        if scheme.lower() != "dpop":
            return await self.app(scope, receive, send)
        if token not in self.bound:
            return await self._refuse(send, "not a DPoP-bound token", "invalid_token")
        proof = headers.get(b"dpop")
        if proof is None:
            return await self._refuse(send, "no DPoP proof", "invalid_dpop_proof")
        try:
            jkt = self.verify(proof.decode(), scope, token)
        except NonceNeeded:
            self.events.append({"where": "resource", "result": "use_dpop_nonce"})
            extra = [(b"dpop-nonce", self.nonce.encode())]
            return await self._json(send, 401, {"error": "use_dpop_nonce"}, [(b"www-authenticate", b'DPoP error="use_dpop_nonce"'), *extra])
        except ProofError as exc:
            return await self._refuse(send, str(exc), "invalid_dpop_proof")
        if jkt != self.bound[token]:
            return await self._refuse(send, "the proof's key is not the token's", "invalid_dpop_proof")
        self.events.append({"where": "resource", "result": "ok", "method": scope["method"]})
        rest = [(k, v) for k, v in scope["headers"] if k not in (b"authorization", b"dpop")]
        bearer = {**scope, "headers": [*rest, (b"authorization", f"Bearer {token}".encode())]}
        return await self.app(bearer, receive, send)

    async def _refuse(self, send, why: str, error: str):
        self.events.append({"where": "resource", "result": why})
        challenge = f'DPoP error="{error}", error_description="{why}", algs="ES256"'.encode()
        return await self._json(send, 401, {"error": error, "error_description": why}, [(b"www-authenticate", challenge)])

    @staticmethod
    async def _json(send, status: int, body: dict, extra: list | None = None):
        content = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode()), *(extra or [])]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


class NonceNeeded(Exception):
    pass


def _es256(proof: str, key) -> dict:
    """An ES256 JWS verified with ``cryptography`` alone (what a resource server's hot path would do)."""
    signing_input, _, signature = proof.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    if len(raw) != 64:
        raise ValueError("an ES256 signature is 64 bytes")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    payload = signing_input.partition(".")[2]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def _body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def replay(body: bytes):
    """An ASGI ``receive`` that gives ``body`` (already read) once, then a disconnect: the request passed on."""
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _captured(app, scope, receive) -> tuple[int, list, bytes]:
    start: dict = {}
    chunks: list[bytes] = []

    async def keep(message):
        if message["type"] == "http.response.start":
            start.update(message)
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    return start["status"], list(start.get("headers", [])), b"".join(chunks)
