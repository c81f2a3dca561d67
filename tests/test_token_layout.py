"""The token store keyed by issuer as well as server URL, fast and without network.

A file's entry is stamped with the issuer of the authorization server it came
from, with that server's metadata; a storage bound to another issuer sees
nothing and replaces the entry; files of the previous layout (no stamp) are
read and stamped at the next write; two server URLs never share a
registration; and a reloaded token is refreshed at its own authorization
server's token endpoint, not at the MCP server's origin.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from test_tokens import REDIRECT, URL, first_request, make_client, make_tokens

from mcpomni_jupyter.auth.tokens import FileTokenStorage, issuer_key, same_issuer

AS_A = "https://as-a.example"
AS_B = "https://as-b.example"


def metadata(issuer: str) -> Any:
    from mcp.shared.auth import OAuthMetadata

    return OAuthMetadata.model_validate(
        {"issuer": issuer, "authorization_endpoint": f"{issuer}/authorize", "token_endpoint": f"{issuer}/oauth/token"}
    )


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def stamped(directory: Path, issuer: str, url: str = URL, expires_in: int = 3600) -> tuple[Any, Any]:
    """A store entry written by a storage bound to ``issuer``, with that issuer's metadata."""
    storage = FileTokenStorage(directory, url, REDIRECT, issuer=issuer)
    storage.metadata_of = lambda: metadata(issuer)
    tokens, client = make_tokens(expires_in=expires_in), make_client()
    run(storage.set_client_info(client))
    run(storage.set_tokens(tokens))
    return tokens, client


def test_an_entry_is_stamped_with_its_issuer_and_metadata(tmp_path: Path) -> None:
    tokens, client = stamped(tmp_path, AS_A)
    data = json.loads(FileTokenStorage(tmp_path, URL).path.read_text())
    assert data["issuer"] == AS_A and data["metadata"]["token_endpoint"] == f"{AS_A}/oauth/token"
    again = FileTokenStorage(tmp_path, URL, REDIRECT).load()  # unbound: the entry the file holds
    assert again.issuer == AS_A and str(again.metadata.issuer) == AS_A
    assert again.tokens.access_token == tokens.access_token and again.client_info.client_id == client.client_id


def test_another_issuers_entry_is_never_used_and_is_replaced(tmp_path: Path) -> None:
    old_tokens, _ = stamped(tmp_path, AS_A)
    storage = FileTokenStorage(tmp_path, URL, REDIRECT, issuer=AS_B)
    assert run(storage.get_tokens()) is None and run(storage.get_client_info()) is None and storage.expires_at is None
    client = make_client(tag="b-")
    run(storage.set_client_info(client))
    data = json.loads(storage.path.read_text())
    assert data["issuer"] == AS_B and "tokens" not in data and "metadata" not in data  # nothing of A's is kept
    assert old_tokens.access_token not in storage.path.read_text()
    assert run(FileTokenStorage(tmp_path, URL, REDIRECT, issuer=AS_A).get_client_info()) is None


def test_a_root_issuer_with_or_without_its_slash_is_one_server(tmp_path: Path) -> None:
    assert issuer_key("https://as.example/") == issuer_key("https://as.example") == "https://as.example"
    assert issuer_key("https://as.example/tenant/") == "https://as.example/tenant/"
    assert same_issuer("https://as.example/", "https://as.example") and not same_issuer("https://as.example", None)
    tokens, _ = stamped(tmp_path, "https://as-a.example")
    assert run(FileTokenStorage(tmp_path, URL, issuer="https://as-a.example/").get_tokens()).access_token == tokens.access_token


def test_a_file_of_the_previous_layout_is_read_and_stamped_at_the_next_write(tmp_path: Path) -> None:
    tokens, client = make_tokens(), make_client()
    path = FileTokenStorage(tmp_path, URL).path
    tmp_path.chmod(0o700)
    previous = {
        "server_url": URL,
        "tokens": tokens.model_dump(mode="json", exclude_none=True),
        "expires_at": time.time() + 600,
        "client_info": client.model_dump(mode="json", exclude_none=True),
    }
    path.write_text(json.dumps(previous))
    warnings: list[str] = []
    storage = FileTokenStorage(tmp_path, URL, REDIRECT, on_warning=warnings.append, issuer=AS_A)  # adopted by the first issuer
    assert run(storage.get_tokens()).access_token == tokens.access_token
    assert run(storage.get_client_info()).client_id == client.client_id
    run(storage.set_tokens(make_tokens()))
    data = json.loads(path.read_text())
    assert data["issuer"] == AS_A and data["client_info"]["client_id"] == client.client_id and warnings == []


def test_the_sdks_stamp_on_a_registration_names_the_entrys_issuer(tmp_path: Path) -> None:
    client = make_client().model_copy(update={"issuer": AS_A})
    FileTokenStorage(tmp_path, URL).path.write_text(json.dumps({"client_info": client.model_dump(mode="json", exclude_none=True)}))
    tmp_path.chmod(0o700)
    assert FileTokenStorage(tmp_path, URL, REDIRECT).load().issuer == AS_A
    assert run(FileTokenStorage(tmp_path, URL, REDIRECT, issuer=AS_B).get_client_info()) is None
    assert run(FileTokenStorage(tmp_path, URL, REDIRECT, issuer=AS_A + "/").get_client_info()).client_id == client.client_id


def test_two_servers_behind_one_authorization_server_keep_their_own_registration(tmp_path: Path) -> None:
    stamped(tmp_path, AS_A, url="https://one.example/mcp")
    other = FileTokenStorage(tmp_path, "https://two.example/mcp", REDIRECT, issuer=AS_A)
    assert run(other.get_client_info()) is None and run(other.get_tokens()) is None  # registers for itself
    assert len(list(tmp_path.glob("*.json"))) == 1


@pytest.mark.parametrize(
    "part, value, reason",
    [
        ("issuer", 42, "its issuer '42' is not a URL"),
        ("issuer", "not-a-url", "is not a URL"),
        ("metadata", {"issuer": "x"}, "its authorization server metadata is not valid"),
        ("metadata", "nope", "its authorization server metadata is not valid"),
    ],
)
def test_a_corrupt_stamp_or_metadata_is_reported_and_left_out(tmp_path: Path, part: str, value: Any, reason: str) -> None:
    tokens, _ = stamped(tmp_path, AS_A)
    path = FileTokenStorage(tmp_path, URL).path
    data = json.loads(path.read_text())
    data[part] = value
    path.write_text(json.dumps(data))
    warnings: list[str] = []
    loaded = FileTokenStorage(tmp_path, URL, REDIRECT, on_warning=warnings.append).load()
    assert len(warnings) == 1 and reason in warnings[0] and "\n" not in warnings[0]
    assert loaded.tokens.access_token == tokens.access_token  # the rest is still used


# ---------------------------------------------------------------------- the provider


def provider(storage: FileTokenStorage, preregistered: Any = None) -> Any:
    from mcp.shared.auth import OAuthClientMetadata

    from mcpomni_jupyter.auth.provider import AdaptedProvider

    p = AdaptedProvider(server_url=URL, client_metadata=OAuthClientMetadata(redirect_uris=[REDIRECT]), storage=storage)
    p.preregistered = preregistered
    return p


def test_a_reloaded_token_is_refreshed_at_its_authorization_servers_token_endpoint(tmp_path: Path) -> None:
    """Before any discovery the SDK would send the refresh token to the MCP server's origin (/token)."""
    tokens, _ = stamped(tmp_path, AS_A, expires_in=0)
    sent = first_request(provider(FileTokenStorage(tmp_path, URL, REDIRECT)))
    assert str(sent.url) == f"{AS_A}/oauth/token"
    assert parse_qs(sent.content.decode())["refresh_token"] == [tokens.refresh_token]


def test_a_valid_reloaded_token_goes_out_with_the_request(tmp_path: Path) -> None:
    tokens, _ = stamped(tmp_path, AS_A)
    p = provider(FileTokenStorage(tmp_path, URL, REDIRECT))
    sent = first_request(p)
    assert sent.url == URL and sent.headers["Authorization"] == f"Bearer {tokens.access_token}"
    assert p.context.storage.issuer == AS_A and str(p.context.oauth_metadata.issuer) == AS_A


@pytest.mark.parametrize("preregistered", [False, True])
def test_discovering_another_authorization_server_drops_everything_of_the_old_one(tmp_path: Path, preregistered: bool) -> None:
    stamped(tmp_path, AS_A)
    warnings: list[str] = []
    storage = FileTokenStorage(tmp_path, URL, REDIRECT, on_warning=warnings.append)
    configured = make_client(tag="pre-") if preregistered else None
    p = provider(storage, configured)
    first_request(p)  # loads the stored entry (issuer A)
    assert p.context.current_tokens is not None and p.context.oauth_metadata is not None
    p.context.auth_server_url = AS_B  # what protected-resource metadata now names
    assert p._expected_issuer() == AS_B
    assert p.context.current_tokens is None and p.context.oauth_metadata is None
    assert p.context.client_info is configured  # a configured client_id stays; a registration at A does not
    assert storage.issuer == AS_B and len(warnings) == 1 and f"changed from {AS_A} to {AS_B}" in warnings[0]
    assert p._expected_issuer() == AS_B and len(warnings) == 1  # asked again (step 4): nothing more happens
