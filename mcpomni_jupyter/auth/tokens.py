"""The token store: tokens and client registrations that survive kernel restarts.

One JSON file per server URL in the token directory (default
``~/.mcpomni_jupyter/tokens``), written atomically with mode 0600 in a 0700
directory.  Each holds an absolute expiry time: the SDK's provider keeps only a
relative ``expires_in`` and so loses a reloaded token's expiry (python-sdk
issue 3250); ``FileTokenStorage.expires_at`` gives it back.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

DEFAULT_TOKEN_DIR = "~/.mcpomni_jupyter/tokens"


def token_path(directory: str | os.PathLike[str], server_url: str) -> Path:
    """The file for ``server_url``: readable host prefix, then a hash of the whole URL."""
    parsed = urlparse(server_url)
    host = "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in (parsed.netloc or "server"))
    digest = hashlib.sha256(server_url.encode()).hexdigest()[:16]
    return Path(directory).expanduser() / f"{host}-{digest}.json"


class FileTokenStorage:
    """The SDK's ``TokenStorage`` protocol over one file, plus the absolute expiry."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        server_url: str,
        redirect_uri: str | None = None,
        on_warning: Callable[[str], Any] | None = None,
    ) -> None:
        self.server_url = server_url
        self.path = token_path(directory, server_url)
        self.redirect_uri = redirect_uri
        self._warn = on_warning or (lambda message: None)

    # ------------------------------------------------------------------ file

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self._warn(f"cannot read the token file {self.path}: {exc.strerror}; treating it as absent")
            return {}
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError:
            self._warn(f"the token file {self.path} is corrupt; ignoring it (it is replaced at the next authorization)")
            return {}
        return data

    def _write(self, data: dict[str, Any]) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            os.chmod(directory, 0o700)
        except OSError:
            pass
        data["server_url"] = self.server_url
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def forget(self) -> bool:
        """Delete what is stored for this server; True if there was something."""
        try:
            self.path.unlink()
            return True
        except FileNotFoundError:
            return False

    # ------------------------------------------------------------------ what we add

    @property
    def expires_at(self) -> float | None:
        value = self._read().get("expires_at")
        return float(value) if isinstance(value, (int, float)) else None

    # ------------------------------------------------------------------ the SDK's protocol

    async def get_tokens(self) -> Any:
        from mcp.shared.auth import OAuthToken

        data = self._read()
        raw = data.get("tokens")
        if not raw:
            return None
        try:
            token = OAuthToken.model_validate(raw)
        except ValueError:
            self._warn(f"the tokens in {self.path} are not valid; ignoring them")
            return None
        expires_at = data.get("expires_at")
        if isinstance(expires_at, (int, float)):
            token.expires_in = max(0, int(expires_at - time.time()))
        return token

    async def set_tokens(self, tokens: Any) -> None:
        data = self._read()
        data["tokens"] = tokens.model_dump(mode="json", exclude_none=True)
        data["expires_at"] = time.time() + tokens.expires_in if tokens.expires_in is not None else None
        self._write(data)

    async def get_client_info(self) -> Any:
        from mcp.shared.auth import OAuthClientInformationFull

        raw = self._read().get("client_info")
        if not raw:
            return None
        try:
            info = OAuthClientInformationFull.model_validate(raw)
        except ValueError:
            self._warn(f"the client registration in {self.path} is not valid; registering again")
            return None
        if self.redirect_uri and info.redirect_uris and self.redirect_uri not in {str(u) for u in info.redirect_uris}:
            return None  # registered for another callback address: register again
        return info

    async def set_client_info(self, client_info: Any) -> None:
        data = self._read()
        data["client_info"] = client_info.model_dump(mode="json", exclude_none=True)
        self._write(data)
