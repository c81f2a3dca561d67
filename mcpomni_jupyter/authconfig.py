"""The ``auth`` part of a server config: its methods and keys, their validation, and what in it is secret.

Methods: ``none`` (headers only; ``bearer`` is an alias), ``oauth`` (a person
authorizes in the browser), ``client_credentials`` (machine to machine, with a
client secret or a private key: ``private_key_jwt``) and
``identity_assertion`` (enterprise-managed authorization: an identity
assertion, the ID-JAG, exchanged for an access token; ``enterprise_managed``
is an alias) and ``jwt_bearer`` (workload identity, SEP-1933: the platform's
JWT, a value or a file a tool outside the notebook keeps fresh, exchanged
with the RFC 7523 grant).  Every key belongs to
some methods; a key given to another method, an unknown key, a missing
required setting or two credentials where one is wanted is a one-line
``ConfigError`` naming the key.  ``dpop`` (every OAuth method) is ``false`` to
keep a server's tokens bearer tokens even where its authorization server
offers DPoP (RFC 9449).  Only the standard library is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from mcpomni_jupyter.errors import ConfigError, did_you_mean
from mcpomni_jupyter.urls import is_secure_url, split_url

# another name for a method: a bearer token is just a header; enterprise-managed authorization is the SEP's name
ALIASES = {"bearer": "none", "enterprise_managed": "identity_assertion", "enterprise_managed_authorization": "identity_assertion"}
OAUTH_METHODS = ("oauth", "client_credentials", "identity_assertion", "jwt_bearer")  # the methods an OAuth provider serves
AUTH_METHODS = {"none", *OAUTH_METHODS, *ALIASES}

# which methods each key applies to
_APPLIES: dict[str, tuple[str, ...]] = {
    "client_id": OAUTH_METHODS,
    "client_secret": OAUTH_METHODS,
    "scopes": OAUTH_METHODS,
    "callback_port": ("oauth",),
    "client_metadata_url": ("oauth",),
    "issuer": ("client_credentials", "identity_assertion", "jwt_bearer"),
    "assertion": ("jwt_bearer",),
    "assertion_file": ("jwt_bearer",),
    "private_key": ("client_credentials",),
    "private_key_file": ("client_credentials",),
    "signing_algorithm": ("client_credentials",),
    "key_id": ("client_credentials",),
    "identity_assertion": ("identity_assertion",),
    "identity_assertion_file": ("identity_assertion",),
    "id_token": ("identity_assertion",),
    "id_token_file": ("identity_assertion",),
    "idp_token_endpoint": ("identity_assertion",),
    "idp_client_id": ("identity_assertion",),
    "idp_client_secret": ("identity_assertion",),
    "dpop": OAUTH_METHODS,
}
AUTH_KEYS = {"method", *_APPLIES}
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
_SECRETS = ("client_secret", "private_key", "identity_assertion", "id_token", "idp_client_secret", "assertion")
_STRINGS = tuple(key for key in _APPLIES if key not in ("scopes", "callback_port", "dpop"))


@dataclass(frozen=True)
class AuthConfig:
    """How a server authenticates; ``method`` is ``none``, ``oauth``, ``client_credentials``, ``identity_assertion`` or ``jwt_bearer``."""

    method: str = "none"
    client_id: str | None = None
    client_secret: str | None = None
    scopes: tuple[str, ...] = ()
    callback_port: int | None = None
    client_metadata_url: str | None = None
    issuer: str | None = None  # the authorization server the credentials belong to
    private_key: str | None = None  # PEM: client_credentials signs a private_key_jwt assertion with it
    private_key_file: str | None = None
    signing_algorithm: str | None = None  # default: from the key (RS256, ES256/384/512, EdDSA)
    key_id: str | None = None  # the assertion's "kid" header
    identity_assertion: str | None = None  # a ready ID-JAG
    identity_assertion_file: str | None = None  # a file holding the current ID-JAG, read at each exchange
    id_token: str | None = None  # or an ID token, exchanged at the identity provider for an ID-JAG
    id_token_file: str | None = None
    idp_token_endpoint: str | None = None
    idp_client_id: str | None = None
    idp_client_secret: str | None = None
    assertion: str | None = None  # jwt_bearer: the platform's JWT
    assertion_file: str | None = None  # or the file holding it, read at each token request
    dpop: bool = True  # bind tokens to a key (RFC 9449) where the authorization server offers it; false: bearer tokens

    @property
    def uses_oauth(self) -> bool:
        """Whether an OAuth provider (and the token store) serves this server."""
        return self.method in OAUTH_METHODS

    def secret_values(self) -> set[str]:
        """The values that must never be shown: secrets, keys, assertions, ID tokens."""
        return {value for key in _SECRETS if (value := getattr(self, key))}

    def __repr__(self) -> str:
        parts = [f"method={self.method!r}"]
        for item in fields(self)[1:]:
            value = getattr(self, item.name)
            if value in (None, ()) or (item.name == "dpop" and value):
                continue
            parts.append(f"{item.name}=***" if item.name in _SECRETS else f"{item.name}={value!r}")
        return f"AuthConfig({', '.join(parts)})"


# --------------------------------------------------------------------------- parsing


def _string(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where} must be a string")
    return value or None  # an empty string (an empty ${VAR}) is a missing setting


def _url(value: str | None, where: str, what: str) -> None:
    """An https URL, or http to a loopback host (credentials go there): ``urls.is_secure_url``."""
    if value is not None and not is_secure_url(value):
        raise ConfigError(f"{where} must be {what}: an https:// URL (http:// only to localhost), got {value[:80]!r}")


def _https_with_path(value: str) -> bool:
    """A secure URL that is https (not loopback http) and has a path: a client metadata document's address."""
    if not is_secure_url(value):
        return False
    parts = split_url(value)
    return parts.scheme == "https" and parts.path not in ("", "/")


def _scopes(value: Any, where: str) -> tuple[str, ...]:
    scopes = value or ()
    if isinstance(scopes, str):
        scopes = tuple(scopes.split())
    if not isinstance(scopes, (list, tuple)) or not all(isinstance(x, str) for x in scopes):
        raise ConfigError(f"{where}.scopes must be a list of strings or one space-separated string")
    return tuple(scopes)


def _port(value: Any, where: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536):
        raise ConfigError(f"{where}.callback_port must be a port number between 1 and 65535")
    return value


def _flag(value: Any, where: str) -> bool:
    """``auth.dpop``: true (the default: DPoP where the authorization server offers it) or false."""
    if value is None:
        return True
    if not isinstance(value, bool):
        raise ConfigError(
            f"{where}.dpop must be true or false (false keeps bearer tokens even where DPoP is offered), got {str(value)[:40]!r}"
        )
    return value


def _one_of(values: Mapping[str, Any], keys: tuple[str, ...], where: str, needed: str) -> str:
    """The one of ``keys`` that is set; ConfigError if none or several are."""
    given = [key for key in keys if values.get(key)]
    if not given:
        raise ConfigError(f"{where}: {needed}: set {', '.join('auth.' + k for k in keys[:-1])} or auth.{keys[-1]}")
    if len(given) > 1:
        raise ConfigError(f"{where}: auth.{given[0]} and auth.{given[1]} both give the credential; keep one")
    return given[0]


def _require(values: Mapping[str, Any], keys: tuple[str, ...], where: str, method: str) -> None:
    for key in keys:
        if not values.get(key):
            raise ConfigError(f"{where}: method {method} needs auth.{key} (write secrets as ${{VAR}})")


def _readable(path: str, where: str) -> None:
    """A file the notebook can read now (the platform writes it before the notebook starts); ConfigError if not."""
    file = Path(path).expanduser()
    if not file.exists():
        raise ConfigError(f"{where} {path!r} does not exist; check the path (the tool that writes the token must run first)")
    if not file.is_file():
        raise ConfigError(f"{where} {path!r} is not a file; point it at the token file itself")
    try:
        with open(file, "rb"):
            pass
    except OSError as exc:
        raise ConfigError(f"{where} {path!r} cannot be read ({exc.strerror or type(exc).__name__}); check its permissions") from None


def _check_jwt_bearer(values: dict[str, Any], where: str) -> None:
    source = _one_of(values, ("assertion", "assertion_file"), where, "jwt_bearer needs the platform's JWT")
    if values.get("client_secret"):
        _require(values, ("client_id",), where, "jwt_bearer with auth.client_secret")
    if source == "assertion_file":
        _readable(values["assertion_file"], f"{where}.assertion_file")


def _check_method(method: str, values: dict[str, Any], where: str) -> None:
    """The settings ``method`` requires, and the ones it cannot take together."""
    if method == "client_credentials":
        _require(values, ("client_id",), where, method)
        credential = _one_of(values, ("client_secret", "private_key", "private_key_file"), where, "client_credentials needs a credential")
        for key in ("signing_algorithm", "key_id"):
            if values.get(key) and credential == "client_secret":
                raise ConfigError(f"{where}.{key} goes with auth.private_key or auth.private_key_file, not auth.client_secret")
        pem = values.get("private_key")
        if pem and not ("-----BEGIN" in pem and "PRIVATE KEY-----" in pem):
            raise ConfigError(
                f"{where}.private_key must be a PEM private key (-----BEGIN ... PRIVATE KEY-----); or use auth.private_key_file"
            )
        algorithm = values.get("signing_algorithm")
        if algorithm and algorithm not in SIGNING_ALGORITHMS:
            raise ConfigError(f"{where}.signing_algorithm {algorithm!r} is not one of {', '.join(SIGNING_ALGORITHMS)}")
    elif method == "identity_assertion":
        _require(values, ("client_id", "client_secret", "issuer"), where, method)
        source = _one_of(
            values,
            ("identity_assertion", "identity_assertion_file", "id_token", "id_token_file"),
            where,
            "identity_assertion needs the assertion, or an ID token to exchange for one",
        )
        if source.startswith("id_token"):
            _require(values, ("idp_token_endpoint", "idp_client_id"), where, f"{method} with auth.{source}")
        else:
            for key in ("idp_token_endpoint", "idp_client_id", "idp_client_secret"):
                if values.get(key):
                    raise ConfigError(f"{where}.{key} goes with auth.id_token or auth.id_token_file (an ID token to exchange)")
    elif method == "jwt_bearer":
        _check_jwt_bearer(values, where)
    _url(values.get("issuer"), f"{where}.issuer", "the authorization server's issuer URL")
    _url(values.get("idp_token_endpoint"), f"{where}.idp_token_endpoint", "the identity provider's token endpoint")
    metadata_url = values.get("client_metadata_url")
    if metadata_url and not _https_with_path(metadata_url):
        raise ConfigError(f"{where}.client_metadata_url must be an https:// URL with a path (where the client metadata document is served)")


def parse_auth(raw: Any, where: str) -> AuthConfig:
    """The ``auth`` entry of a server (an object, or a method name alone) as an ``AuthConfig``."""
    if raw is None:
        return AuthConfig()
    if isinstance(raw, str):
        raw = {"method": raw}
    if not isinstance(raw, dict):
        raise ConfigError(f'{where} must be an object such as {{"method": "oauth"}}')
    for key in raw:
        if key not in AUTH_KEYS:
            raise ConfigError(f"{where}: unknown key {key!r}{did_you_mean(key, AUTH_KEYS)}; allowed: {', '.join(sorted(AUTH_KEYS))}")
    method = str(raw.get("method", "none")).lower().replace("-", "_")
    if method not in AUTH_METHODS:
        raise ConfigError(f"{where}.method: unknown auth method {method!r}; use one of {', '.join(sorted(AUTH_METHODS))}")
    method = ALIASES.get(method, method)
    for key in raw:
        if key != "method" and method not in _APPLIES[key]:
            raise ConfigError(f"{where}.{key} does not apply to method {method!r}; it is for {' and '.join(_APPLIES[key])}")
    values: dict[str, Any] = {key: _string(raw.get(key), f"{where}.{key}") for key in _STRINGS}
    _check_method(method, values, where)
    return AuthConfig(
        method=method,
        scopes=_scopes(raw.get("scopes"), where),
        callback_port=_port(raw.get("callback_port"), where),
        dpop=_flag(raw.get("dpop"), where),
        **values,
    )
