"""DPoP on the wire: every OAuth provider of ours puts a proof on its token requests and its MCP requests.

``DPoPAuth`` wraps an SDK provider's ``httpx2.Auth`` flow at the request
level, so it serves every grant alike (authorization code, refresh, client
credentials, identity assertions, and any grant added later) without
knowing how the grant builds its requests:

- A POST to the authorization server's token endpoint gets a proof, when the
  metadata offers DPoP with ES256 (``dpop_signing_alg_values_supported``) and
  the config does not turn it off (``auth.dpop: false``).  A ``token_type``
  ``DPoP`` answer is handed to the SDK as the ``Bearer`` its model knows, and
  the access token is remembered (in the token store) as bound.
- The request being authenticated, when it carries a bound token, goes with
  ``Authorization: DPoP <token>`` and a proof with ``ath``.
- Nonces (RFC 9449 8, 9): a ``DPoP-Nonce`` header is remembered per server,
  for the token endpoint and the resource separately, and a
  ``use_dpop_nonce`` refusal (400 from the token endpoint, 401 from the
  resource) is retried once with the nonce, before the SDK sees it.

The key comes from the token store (``FileTokenStorage.dpop_key``); proofs
are JWTs, which ``redact`` masks wherever they could show.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from typing import Any

import httpx2
from mcp.shared._httpx_utils import RedirectAwareAuth

from mcpomni_jupyter.auth.dpop import Prover, offered
from mcpomni_jupyter.auth.tokens import FileTokenStorage

_METADATA_PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")


def _htu(url: httpx2.URL) -> str:
    """The proof's ``htu``: the request URL without query or fragment."""
    return str(url) if not url.query and not url.fragment else str(url.copy_with(query=None, fragment=None))


def _error(response: httpx2.Response) -> str:
    """The OAuth ``error`` of a JSON error body, or ""."""
    try:
        body = json.loads(response.content)
    except (ValueError, httpx2.ResponseNotRead):
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


class DPoPAuth(RedirectAwareAuth):
    """Proofs on token and MCP requests, the DPoP scheme, and server nonces, around any provider's flow."""

    dpop_allowed = True  # auth.dpop: False keeps bearer tokens
    dpop_log: Callable[[str], Any] | None = None  # the connection's log
    _dpop_prover: Prover | None = None
    _dpop_offers: dict[str, bool] | None = None  # token endpoint -> whether its metadata (on the wire) offers DPoP
    _dpop_seen_endpoint: str | None = None  # the last token endpoint seen in metadata (providers without a context)
    _dpop_nonces: dict[str, str] | None = None  # "token" / "resource" -> the server's latest DPoP-Nonce

    # ------------------------------------------------------------------ what the provider holds

    def _dpop_storage(self) -> FileTokenStorage | None:
        context = getattr(self, "context", None)
        storage = context.storage if context is not None else getattr(self, "_storage", None)
        return storage if isinstance(storage, FileTokenStorage) else None

    def _dpop_token_endpoint(self) -> str | None:
        """The token endpoint, when its authorization server offers DPoP with ES256 and the config allows it.

        The offer is read from the metadata on the wire (the SDK's model drops it); a reloaded entry whose
        metadata was not fetched again offers it if the store holds a DPoP key for it (made only when offered)."""
        context, storage = getattr(self, "context", None), self._dpop_storage()
        metadata = context.oauth_metadata if context is not None else None
        endpoint = str(metadata.token_endpoint) if metadata is not None else self._dpop_seen_endpoint
        if not self.dpop_allowed or storage is None or endpoint is None:
            return None
        offer = (self._dpop_offers or {}).get(_htu(httpx2.URL(endpoint)))
        return endpoint if (offer if offer is not None else storage.holds_dpop_key()) else None

    async def _dpop_key(self) -> Prover:
        if self._dpop_prover is None:
            storage = self._dpop_storage()
            assert storage is not None
            self._dpop_prover = Prover(await storage.dpop_key())
            if self.dpop_log is not None:
                self.dpop_log(f"DPoP: tokens are bound to this notebook's key (thumbprint {self._dpop_prover.jkt})")
        return self._dpop_prover

    def _nonce(self, where: str) -> str | None:
        return (self._dpop_nonces or {}).get(where)

    # ------------------------------------------------------------------ each request

    async def _dpop_sign(self, outgoing: httpx2.Request, original: httpx2.Request) -> str | None:
        """Put a proof on ``outgoing`` if it needs one; where it went ("token", "resource") or None."""
        if outgoing is original:
            scheme, _, token = outgoing.headers.get("Authorization", "").partition(" ")
            storage = self._dpop_storage()
            if scheme.lower() not in ("bearer", "dpop") or storage is None or token not in storage.dpop_bound:
                return None
            prover = await self._dpop_key()
            outgoing.headers["Authorization"] = f"DPoP {token}"
            outgoing.headers["DPoP"] = prover.proof(outgoing.method, _htu(outgoing.url), self._nonce("resource"), token)
            return "resource"
        endpoint = self._dpop_token_endpoint()
        if endpoint is None or outgoing.method != "POST" or _htu(outgoing.url) != _htu(httpx2.URL(endpoint)):
            return None
        prover = await self._dpop_key()
        outgoing.headers["DPoP"] = prover.proof("POST", _htu(outgoing.url), self._nonce("token"))
        return "token"

    def _dpop_retry(self, where: str | None, response: httpx2.Response) -> bool:
        """Remember the server's nonce; whether the response is a ``use_dpop_nonce`` refusal to retry with it."""
        if where is None:
            return False
        nonce = response.headers.get("DPoP-Nonce")
        if nonce:
            self._dpop_nonces = {**(self._dpop_nonces or {}), where: nonce[:512]}
        if not nonce:
            return False
        if where == "resource":
            return response.status_code == 401 and "use_dpop_nonce" in response.headers.get("WWW-Authenticate", "")
        return response.status_code in (400, 401) and _error(response) == "use_dpop_nonce"

    def _dpop_token(self, response: httpx2.Response) -> httpx2.Response:
        """A token response: a DPoP-bound token is remembered as bound and handed on as the ``Bearer`` the SDK parses."""
        try:
            body = json.loads(response.content)
        except ValueError:
            return response
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            return response
        if str(body.get("token_type", "")).lower() != "dpop":
            if self.dpop_log is not None:
                self.dpop_log("DPoP: the authorization server issued a bearer token although the request carried a proof")
            return response
        storage = self._dpop_storage()
        assert storage is not None
        storage.dpop_bound.add(body["access_token"])
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-length", "content-encoding")]
        content = json.dumps({**body, "token_type": "Bearer"}).encode()
        return httpx2.Response(response.status_code, headers=headers, content=content, request=response.request)

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        flow = super().async_auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                where = await self._dpop_sign(outgoing, request)
                response = yield outgoing
                if where == "token":
                    await response.aread()
                if self._dpop_retry(where, response):
                    await self._dpop_sign(outgoing, request)  # a fresh proof with the nonce; retried once
                    response = yield outgoing
                    self._dpop_retry(where, response)
                    if where == "token":
                        await response.aread()
                await self._dpop_seen(outgoing, response)
                if where == "token" and response.status_code == 200:
                    response = self._dpop_token(response)
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await flow.aclose()

    async def _dpop_seen(self, outgoing: httpx2.Request, response: httpx2.Response) -> None:
        """Authorization server metadata on the wire: whether it offers DPoP (``dpop_signing_alg_values_supported``)."""
        if response.status_code != 200 or outgoing.method != "GET" or not any(p in outgoing.url.path for p in _METADATA_PATHS):
            return
        try:
            metadata = json.loads(await response.aread())
        except ValueError:
            return  # the provider's own parsing says what is wrong
        endpoint = metadata.get("token_endpoint") if isinstance(metadata, dict) else None
        if isinstance(endpoint, str):
            self._dpop_seen_endpoint = endpoint
            offers = {**(self._dpop_offers or {}), _htu(httpx2.URL(endpoint)): offered(metadata)}
            self._dpop_offers = offers
