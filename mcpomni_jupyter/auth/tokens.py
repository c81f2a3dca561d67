"""The token store: tokens and client registrations that survive kernel restarts.

One JSON file per server URL in the token directory (default
``~/.mcpomni_jupyter/tokens``; files in ``tokenfile``, the lock in
``storelock``), keyed by issuer too: the file's entry (tokens, their
absolute expiry, the client registration, the authorization server's
metadata) is stamped with the ``issuer`` of the authorization server it came
from.  A storage bound to another issuer sees an empty store and its first
write replaces the entry: a server whose authorization server changed never
reuses the old one's tokens or registration, and two servers behind one
authorization server never share a registration (each has its own file).  A
file of the previous layout (no stamp) is read as it is and stamped at the
next write; a stamp may also come from the SDK's own ``client_info.issuer``.

The absolute expiry: the SDK's provider keeps only a relative ``expires_in``
and so loses a reloaded token's expiry (python-sdk issue 3250);
``Stored.expires_at`` gives it back.  The metadata lets a reloaded token be
refreshed at its authorization server's token endpoint before any discovery.
Reads take no lock (writes replace the file atomically, so a reader sees one
whole version); every read-modify-write holds the store's lock.

A corrupt file (not JSON, not UTF-8, nested too deeply, a directory, parts of
the wrong shape, an expiry that is not a time) is reported through
``on_warning`` once per read and treated as absent; the next write replaces it.
Every token and client secret read or written is registered with
``redact.add_secret``.

DPoP (RFC 9449): the entry keeps the server's key pair (``dpop_key``, a
private JWK, created once by ``dpop_key()`` under the store's lock) beside
tokens bound to it, which are stored with ``token_type`` ``DPoP``.  A
DPoP-bound token is useless without its key: a bound token whose key is
missing or corrupt is reported and treated as absent.  ``dpop_bound`` is the
set of access tokens known to be bound (read here, or issued as such).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from mcpomni_jupyter.auth.dpop import checked_key, new_key
from mcpomni_jupyter.auth.storelock import StoreLock
from mcpomni_jupyter.auth.tokenfile import check_token_dir, move_aside, read_json, token_path, write_json
from mcpomni_jupyter.redact import add_secret

_SECRET_FIELDS = {
    "tokens": ("access_token", "refresh_token", "id_token"),
    "client_info": ("client_secret", "registration_access_token"),
}


def _is_time(value: Any) -> bool:
    """An absolute expiry we can use: a finite, positive number of epoch seconds."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def issuer_key(issuer: str) -> str:
    """An issuer as compared here: a root issuer with and without its trailing slash is one server (as in the SDK)."""
    rest = issuer.partition("://")[2]
    return issuer[:-1] if rest.endswith("/") and rest.count("/") == 1 else issuer


def same_issuer(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and issuer_key(a) == issuer_key(b)


def _register_secrets(part: str, raw: Any) -> None:
    if isinstance(raw, dict):
        for key in _SECRET_FIELDS[part]:
            if isinstance(raw.get(key), str):
                add_secret(raw[key])


def _validated(model: Any, part: str, raw: Any, problems: list[str]) -> Any:
    """``raw`` as ``model`` (its secrets registered first), or None with the reason in ``problems``."""
    _register_secrets(part, raw)
    try:
        return model.model_validate(raw)
    except (ValueError, TypeError, RecursionError):
        problems.append(f"its {'tokens are' if part == 'tokens' else 'client registration is'} not valid")
        return None


@dataclass
class Stored:
    """One read of a token file: its usable parts, and their JSON (``data``) for a read-modify-write."""

    data: dict[str, Any] = field(default_factory=dict, repr=False)
    tokens: Any = None  # OAuthToken, its expires_in counted from expires_at
    expires_at: float | None = None
    client_info: Any = None  # OAuthClientInformationFull, None if registered for another redirect URI
    metadata: Any = None  # OAuthMetadata of the authorization server the entry came from
    issuer: str | None = None  # that authorization server; None for a file of the previous layout
    dpop_bound: bool = False  # the tokens are DPoP-bound (to dpop_key)
    dpop_key: dict[str, str] | None = field(default=None, repr=False)  # the entry's DPoP key pair (a private JWK)


class FileTokenStorage:
    """The SDK's ``TokenStorage`` protocol over one file, plus the absolute expiry and the store's lock."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        server_url: str,
        redirect_uri: str | None = None,
        on_warning: Callable[[str], Any] | None = None,
        issuer: str | None = None,
    ) -> None:
        self.server_url = server_url
        self.path = token_path(directory, server_url)
        self.redirect_uri = redirect_uri
        self.issuer = issuer  # the authorization server whose entry is used; None: the one the file holds
        self.pinned = issuer is not None  # configured (auth.issuer): discovery never rebinds it
        self.metadata_of: Callable[[], Any] | None = None  # the authorization server metadata to keep with a write
        self.last_expires_at: float | None = None  # the expiry of the tokens get_tokens returned last
        self.last_loaded = Stored()  # what get_tokens or get_client_info read last
        self.warn: Callable[[str], Any] = on_warning or (lambda message: None)
        self.dpop_bound: set[str] = set()  # access tokens bound to dpop_jwk
        self.dpop_jwk: dict[str, str] | None = None  # the key dpop_key() returned; written with bound tokens
        # re-entrant within this instance (one provider, whose flow the SDK serialises)
        self.lock = StoreLock(self.path.with_suffix(".lock"), self.warn)

    # ------------------------------------------------------------------ reading

    def _take_tokens(self, data: dict[str, Any], stored: Stored, problems: list[str]) -> None:
        from mcp.shared.auth import OAuthToken

        raw, expires_at = data.pop("tokens", None), data.pop("expires_at", None)
        if raw is None:
            return
        bound = isinstance(raw, dict) and str(raw.get("token_type", "")).lower() == "dpop"
        if bound:
            raw = {**raw, "token_type": "Bearer"}  # the SDK's model knows only Bearer; the binding is kept here
        tokens = _validated(OAuthToken, "tokens", raw, problems)
        if tokens is None:
            return
        if expires_at is not None and not _is_time(expires_at):
            problems.append(f"its expiry {str(expires_at)[:40]!r} is not a time")
            return
        data["tokens"], data["expires_at"] = tokens.model_dump(mode="json", exclude_none=True), expires_at
        if bound:
            data["tokens"]["token_type"] = "DPoP"
        if expires_at is not None:
            tokens.expires_in = max(0, int(expires_at - time.time()))
        stored.tokens, stored.expires_at, stored.dpop_bound = tokens, expires_at, bound

    @staticmethod
    def _take_dpop_key(data: dict[str, Any], stored: Stored, problems: list[str]) -> None:
        raw = data.pop("dpop_key", None)
        if raw is not None:
            stored.dpop_key = checked_key(raw)
            if stored.dpop_key is None:
                problems.append("its DPoP key is not a P-256 key pair")
            else:
                data["dpop_key"] = stored.dpop_key
        if stored.dpop_bound and stored.dpop_key is None:
            if raw is None:
                problems.append("its DPoP-bound tokens have no key")
            stored.tokens, stored.expires_at, stored.dpop_bound = None, None, False  # useless without their key
            data.pop("tokens", None)
            data.pop("expires_at", None)

    def _take_client_info(self, data: dict[str, Any], stored: Stored, problems: list[str]) -> None:
        from mcp.shared.auth import OAuthClientInformationFull

        raw = data.pop("client_info", None)
        if raw is None:
            return
        info = _validated(OAuthClientInformationFull, "client_info", raw, problems)
        if info is None:
            return
        data["client_info"] = info.model_dump(mode="json", exclude_none=True)
        if self.redirect_uri and info.redirect_uris and self.redirect_uri not in {str(u) for u in info.redirect_uris}:
            return  # registered for another callback address: register again
        stored.client_info = info

    def _take_metadata(self, data: dict[str, Any], stored: Stored, problems: list[str]) -> None:
        from mcp.shared.auth import OAuthMetadata

        raw = data.pop("metadata", None)
        if raw is None:
            return
        try:
            stored.metadata = OAuthMetadata.model_validate(raw)
        except (ValueError, TypeError, RecursionError):
            problems.append("its authorization server metadata is not valid")
            return
        data["metadata"] = stored.metadata.model_dump(mode="json", exclude_none=True)

    @staticmethod
    def _entry_issuer(data: dict[str, Any], problems: list[str]) -> str | None:
        """The issuer the file's entry belongs to: its stamp, else the SDK's own stamp on the registration."""
        stamp = data.pop("issuer", None)
        if stamp is not None and not (isinstance(stamp, str) and "://" in stamp):
            problems.append(f"its issuer {str(stamp)[:40]!r} is not a URL")
            stamp = None
        client = data.get("client_info")
        if stamp is None and isinstance(client, dict) and isinstance(client.get("issuer"), str):
            stamp = client["issuer"]
        return stamp

    def load(self) -> Stored:
        """Read the file once: its usable parts; a corrupt file or part is reported (once) and left out.

        An entry of another issuer than the one this storage is bound to reads as empty."""
        problems: list[str] = []
        data = read_json(self.path, problems)
        stored = Stored(issuer=self._entry_issuer(data, problems))
        self._take_tokens(data, stored, problems)
        self._take_client_info(data, stored, problems)
        self._take_metadata(data, stored, problems)
        self._take_dpop_key(data, stored, problems)
        if problems:
            self.warn(
                f"the token file {self.path} is corrupt ({'; '.join(problems)}); ignoring what is bad "
                "(it is replaced at the next authorization)"
            )
        if self.issuer is not None and stored.issuer is not None and not same_issuer(self.issuer, stored.issuer):
            return Stored()  # another authorization server's: never used, replaced at the next write
        if stored.dpop_bound:
            self.dpop_bound.add(stored.tokens.access_token)
        stored.data = {key: data[key] for key in ("tokens", "expires_at", "client_info", "metadata", "dpop_key") if key in data}
        if stored.issuer is not None:
            stored.data["issuer"] = stored.issuer
        return stored

    @property
    def expires_at(self) -> float | None:
        """When the stored access token expires (epoch seconds), if known."""
        return self.load().expires_at

    # ------------------------------------------------------------------ writing

    def _write(self, data: dict[str, Any]) -> None:
        """Write the entry back, stamped with the issuer it belongs to and that issuer's metadata."""
        if self.issuer is not None:
            data["issuer"] = self.issuer
        metadata = self.metadata_of() if self.metadata_of is not None else None
        if metadata is not None:
            data["metadata"] = metadata.model_dump(mode="json", exclude_none=True)
        data["server_url"] = self.server_url
        write_json(self.path, data)

    def forget(self) -> bool:
        """Delete what is stored for this server; True if there was something."""
        if not check_token_dir(self.path.parent, create=False):
            return False
        with self.locked():
            try:
                self.path.unlink()
                return True
            except FileNotFoundError:
                return False
            except IsADirectoryError:
                move_aside(self.path)
                return True

    # ------------------------------------------------------------------ the lock (held across a refresh by the provider)

    async def acquire(self) -> None:
        await self.lock.acquire()

    def release(self) -> None:
        self.lock.release()

    @contextlib.asynccontextmanager
    async def alocked(self) -> AsyncIterator[None]:
        async with self.lock.alocked():
            yield

    def locked(self) -> Any:
        return self.lock.locked()

    # ------------------------------------------------------------------ the SDK's protocol

    async def get_tokens(self) -> Any:
        stored = self.last_loaded = self.load()
        self.last_expires_at = stored.expires_at
        return stored.tokens

    async def set_tokens(self, tokens: Any) -> None:
        raw = tokens.model_dump(mode="json", exclude_none=True)
        _register_secrets("tokens", raw)
        expires_at = time.time() + tokens.expires_in if tokens.expires_in is not None else None
        async with self.alocked():
            data = self.load().data
            if tokens.access_token in self.dpop_bound and self.dpop_jwk is not None:
                raw["token_type"] = "DPoP"  # the stored token says it is bound; its key goes with it
                data["dpop_key"] = self.dpop_jwk
            data["tokens"], data["expires_at"] = raw, expires_at
            self._write(data)
        self.last_expires_at = expires_at

    async def dpop_key(self) -> dict[str, str]:
        """The entry's DPoP key pair, created (and written, under the store's lock) if it has none yet."""
        if self.dpop_jwk is None:
            async with self.alocked():
                stored = self.load()
                if stored.dpop_key is None:
                    stored.dpop_key = stored.data["dpop_key"] = new_key()
                    self._write(stored.data)
                self.dpop_jwk = stored.dpop_key
        return self.dpop_jwk

    def holds_dpop_key(self) -> bool:
        """Whether the entry has a DPoP key (made only where its authorization server offered DPoP)."""
        return self.dpop_jwk is not None or self.load().dpop_key is not None

    async def get_client_info(self) -> Any:
        self.last_loaded = self.load()
        return self.last_loaded.client_info

    async def set_client_info(self, client_info: Any) -> None:
        raw = client_info.model_dump(mode="json", exclude_none=True)
        _register_secrets("client_info", raw)
        async with self.alocked():
            data = self.load().data
            data["client_info"] = raw
            self._write(data)
