"""The token store and the OAuth wiring around it, fast and without network.

Corrupt token files are reported once per read and ignored; the token
directory must be the user's own; read-modify-writes from several processes
lose nothing (fcntl locks); every token held is a registered secret; the
provider adopts tokens another kernel stored instead of refreshing with a
rotated-out refresh token; and an authorization URL that is neither https nor
http to loopback is refused before it is recorded or opened.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import secrets
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port

from mcpomni_jupyter.auth.tokens import FileTokenStorage, token_path
from mcpomni_jupyter.errors import AuthError, ConfigError
from mcpomni_jupyter.redact import MASK, redact

URL = "https://mcp.example/mcp"
REDIRECT = "http://localhost:3000/callback"


def make_tokens(expires_in: int | None = 3600, tag: str = "") -> Any:
    from mcp.shared.auth import OAuthToken

    return OAuthToken(
        access_token=f"at-{tag}{secrets.token_urlsafe(16)}",
        refresh_token=f"rt-{tag}{secrets.token_urlsafe(16)}",
        expires_in=expires_in,
        scope="mcp",
    )


def make_client(tag: str = "") -> Any:
    from mcp.shared.auth import OAuthClientInformationFull

    return OAuthClientInformationFull(
        client_id=f"client-{tag}{secrets.token_hex(4)}",
        client_secret=f"cs-{secrets.token_urlsafe(16)}",
        redirect_uris=[REDIRECT],
        token_endpoint_auth_method="client_secret_basic",
    )


class Store:
    """A FileTokenStorage in tmp_path with its warnings collected."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.warnings: list[str] = []
        self.storage = FileTokenStorage(directory, URL, REDIRECT, on_warning=self.warnings.append)
        self.path = self.storage.path

    def run(self, coro: Any) -> Any:
        return asyncio.run(coro)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "tokens")


def valid_tokens_json() -> dict[str, Any]:
    return make_tokens().model_dump(mode="json", exclude_none=True)


def _text(value: str) -> bytes:
    return value.encode()


CORRUPT: dict[str, Any] = {
    "expires_at NaN": lambda: _text('{"tokens": %s, "expires_at": NaN}' % json.dumps(valid_tokens_json())),
    "expires_at Infinity": lambda: _text('{"tokens": %s, "expires_at": Infinity}' % json.dumps(valid_tokens_json())),
    "expires_at -Infinity": lambda: _text('{"tokens": %s, "expires_at": -Infinity}' % json.dumps(valid_tokens_json())),
    "expires_at 1e999": lambda: _text('{"tokens": %s, "expires_at": 1e999}' % json.dumps(valid_tokens_json())),
    "expires_at string": lambda: _text(json.dumps({"tokens": valid_tokens_json(), "expires_at": "tomorrow"})),
    "expires_at negative": lambda: _text(json.dumps({"tokens": valid_tokens_json(), "expires_at": -5})),
    "expires_at zero": lambda: _text(json.dumps({"tokens": valid_tokens_json(), "expires_at": 0})),
    "expires_at bool": lambda: _text(json.dumps({"tokens": valid_tokens_json(), "expires_at": True})),
    "expires_at list": lambda: _text(json.dumps({"tokens": valid_tokens_json(), "expires_at": [1]})),
    "non-UTF-8 bytes": lambda: b'{"tokens": {"access_token": "\xff\xfe\xfa"}}',
    "deeply nested array": lambda: b"[" * 100_000 + b"]" * 100_000,
    "deeply nested tokens": lambda: b'{"tokens": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "tokens a string": lambda: _text(json.dumps({"tokens": "at-0123456789", "expires_at": time.time() + 60})),
    "tokens a list": lambda: _text(json.dumps({"tokens": ["at-0123456789"]})),
    "tokens without access_token": lambda: _text(json.dumps({"tokens": {"refresh_token": "rt-0123456789"}})),
    "tokens access_token a number": lambda: _text(json.dumps({"tokens": {"access_token": 5}})),
    "tokens empty object": lambda: _text(json.dumps({"tokens": {}})),
    "client_info a string": lambda: _text(json.dumps({"client_info": "client-1"})),
    "client_info a list": lambda: _text(json.dumps({"client_info": [{"client_id": "c"}]})),
    "client_info redirect_uris a number": lambda: _text(json.dumps({"client_info": {"client_id": "c", "redirect_uris": 5}})),
    "not JSON": lambda: b"{not json",
    "truncated": lambda: b'{"tokens": {"access_token": "at-01',
    "a JSON list": lambda: b"[]",
    "a JSON string": lambda: b'"tokens"',
    "empty file": lambda: b"",
    "whitespace": lambda: b"  \n",
    "NUL bytes": lambda: b"\x00" * 64,
    "a directory": None,
    "a directory with a file in it": None,
}


def plant(store: Store, case: str) -> None:
    store.dir.mkdir(mode=0o700)
    if case == "a directory":
        store.path.mkdir()
    elif case == "a directory with a file in it":
        store.path.mkdir()
        (store.path / "x").write_text("x")
    else:
        store.path.write_bytes(CORRUPT[case]())


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_file_is_reported_once_per_read_and_ignored(store: Store, case: str) -> None:
    plant(store, case)
    storage, warnings = store.storage, store.warnings
    assert store.run(storage.get_tokens()) is None
    assert len(warnings) == 1 and "is corrupt" in warnings[0] and "\n" not in warnings[0], warnings
    assert store.run(storage.get_client_info()) is None
    assert storage.expires_at is None
    assert len(warnings) == 3, warnings  # one per read

    # the read-modify-writes survive it too (one warning each), and replace the file cleanly
    client = make_client()
    store.run(storage.set_client_info(client))
    assert len(warnings) == 4, warnings
    tokens = make_tokens()
    store.run(storage.set_tokens(tokens))
    assert len(warnings) == 4, warnings  # the file is sound again
    assert store.run(storage.get_tokens()).access_token == tokens.access_token
    assert store.run(storage.get_client_info()).client_id == client.client_id
    assert abs(storage.expires_at - (time.time() + 3600)) < 5
    data = json.loads(store.path.read_text())
    assert set(data) == {"tokens", "expires_at", "client_info", "server_url"}
    assert len(warnings) == 4, warnings


@pytest.mark.parametrize("case", ["expires_at NaN", "non-UTF-8 bytes", "deeply nested array", "a directory"])
def test_logout_clears_a_corrupt_file(store: Store, case: str) -> None:
    plant(store, case)
    assert store.storage.forget() is True
    assert not store.path.exists()
    assert store.storage.forget() is False


def test_a_bad_part_leaves_the_good_part(store: Store) -> None:
    storage = store.storage
    client = make_client()
    store.run(storage.set_client_info(client))
    data = json.loads(store.path.read_text())
    data.update(tokens=valid_tokens_json(), expires_at=float("nan"))
    store.path.write_text(json.dumps(data))  # json writes NaN
    assert store.run(storage.get_tokens()) is None
    assert store.run(storage.get_client_info()).client_id == client.client_id
    assert len(store.warnings) == 2 and "expiry" in store.warnings[0]
    # everything bad at once is still one warning per read
    store.path.write_text(json.dumps({"tokens": "x", "expires_at": "y", "client_info": 3}))
    assert store.run(storage.get_tokens()) is None
    assert len(store.warnings) == 3, store.warnings


def test_odd_extra_fields_do_not_break_the_next_write(store: Store) -> None:
    store.dir.mkdir(mode=0o700)
    tokens = {**valid_tokens_json(), "weird": float("nan")}
    client = {**make_client().model_dump(mode="json"), "weird": float("inf")}
    store.path.write_text(json.dumps({"tokens": tokens, "client_info": client, "other": float("nan")}))
    store.run(store.storage.set_client_info(make_client()))
    store.run(store.storage.set_tokens(make_tokens()))
    assert "NaN" not in store.path.read_text() and "Infinity" not in store.path.read_text()
    assert store.warnings == []


def test_a_valid_file_round_trips_with_an_absolute_expiry(store: Store) -> None:
    storage = store.storage
    tokens = make_tokens(expires_in=100)
    store.run(storage.set_tokens(tokens))
    assert storage.last_expires_at == pytest.approx(time.time() + 100, abs=2)
    time.sleep(1.1)
    again = FileTokenStorage(store.dir, URL, REDIRECT)
    loaded = store.run(again.get_tokens())
    assert loaded.access_token == tokens.access_token and loaded.refresh_token == tokens.refresh_token
    assert loaded.expires_in <= 99  # counted from the absolute expiry, not restarted
    assert again.last_expires_at == pytest.approx(storage.last_expires_at)
    store.run(storage.set_tokens(make_tokens(expires_in=None)))
    assert storage.expires_at is None and store.run(storage.get_tokens()).expires_in is None
    assert store.warnings == []


# ---------------------------------------------------------------------- permissions


def test_files_0600_in_a_new_directory_0700(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "b" / "tokens"
    storage = FileTokenStorage(directory, URL)
    asyncio.run(storage.set_tokens(make_tokens()))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert sorted(p.suffix for p in directory.iterdir()) == [".json", ".lock"]  # no temporary file left


def test_own_directory_is_used_as_it_is(tmp_path: Path) -> None:
    directory = tmp_path / "tokens"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    asyncio.run(FileTokenStorage(directory, URL).set_tokens(make_tokens()))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o755  # readable by others is not a risk: files are 0600
    assert stat.S_IMODE(token_path(directory, URL).stat().st_mode) == 0o600


def refused(directory: Path, expect: str) -> None:
    storage = FileTokenStorage(directory, URL)
    for attempt in (storage.set_tokens(make_tokens()), storage.get_tokens(), storage.set_client_info(make_client())):
        with pytest.raises(ConfigError) as info:
            asyncio.run(attempt)
        message = str(info.value)
        assert expect in message and "MCPMagics.token_dir" in message and "\n" not in message, message
    with pytest.raises(ConfigError):
        storage.forget()
    with pytest.raises(ConfigError):
        storage.expires_at  # noqa: B018


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "theirs"
    directory.mkdir(mode=0o700)
    os.chown(directory, 1, 1)
    refused(directory, "belongs to another user (uid 1)")
    assert directory.stat().st_uid == 1 and stat.S_IMODE(directory.stat().st_mode) == 0o700  # left alone
    assert list(directory.iterdir()) == []


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702, 0o1777])
def test_group_or_world_writable_directory_is_refused(tmp_path: Path, mode: int) -> None:
    directory = tmp_path / "open"
    directory.mkdir()
    os.chmod(directory, mode)
    refused(directory, "is writable by other users")
    assert stat.S_IMODE(directory.stat().st_mode) == mode  # not chmod-ed behind the user's back
    assert list(directory.iterdir()) == []


def test_symlink_is_judged_by_its_target(tmp_path: Path) -> None:
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    os.chmod(open_dir, 0o777)
    link = tmp_path / "link"
    link.symlink_to(open_dir)
    refused(link, "is writable by other users")

    own = tmp_path / "own"
    own.mkdir(mode=0o700)
    good = tmp_path / "good-link"
    good.symlink_to(own)
    asyncio.run(FileTokenStorage(good, URL).set_tokens(make_tokens()))
    assert token_path(own, URL).exists()


def test_token_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("")
    refused(path, "is not a directory")


# ---------------------------------------------------------------------- locking


def _writer(directory: str, kind: str, rounds: int, start: Any, result: Any) -> None:
    """In a child process: set our key ``rounds`` times; after each write our value must still be there."""

    async def main() -> int:
        storage = FileTokenStorage(directory, URL, REDIRECT)
        lost = 0
        start.wait()
        for i in range(rounds):
            if kind == "tokens":
                value: Any = make_tokens(tag=f"{i}-")
                await storage.set_tokens(value)
                seen = await storage.get_tokens()
                lost += seen is None or seen.access_token != value.access_token
            else:
                value = make_client(tag=f"{i}-")
                await storage.set_client_info(value)
                seen = await storage.get_client_info()
                lost += seen is None or seen.client_id != value.client_id
        return lost

    result.put((kind, asyncio.run(main())))


def test_concurrent_read_modify_writes_from_two_processes_lose_nothing(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    start, result = ctx.Event(), ctx.Queue()
    rounds = 800
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), kind, rounds, start, result)) for kind in ("tokens", "client")]
    for proc in procs:
        proc.start()
    start.set()
    outcome = dict(result.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    assert outcome == {"tokens": 0, "client": 0}, f"updates lost to the other process: {outcome}"
    final = FileTokenStorage(tmp_path, URL, REDIRECT)
    assert asyncio.run(final.get_tokens()).access_token.startswith(f"at-{rounds - 1}-")
    assert asyncio.run(final.get_client_info()).client_id.startswith(f"client-{rounds - 1}-")


def _hold_lock(directory: str, seconds: float, held: Any) -> None:
    storage = FileTokenStorage(directory, URL)
    with storage.locked():
        held.set()
        time.sleep(seconds)


def test_waiting_for_the_lock_does_not_block_the_event_loop(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    held = ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(str(tmp_path), 1.0, held))
    proc.start()
    assert held.wait(10)

    async def main() -> tuple[float, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.ensure_future(tick())
        began = time.monotonic()
        await FileTokenStorage(tmp_path, URL).set_tokens(make_tokens())
        ticker.cancel()
        return time.monotonic() - began, ticks

    waited, ticks = asyncio.run(main())
    proc.join(10)
    assert waited >= 0.5, waited  # it did wait for the other process
    assert ticks >= 20, ticks  # and the loop went on meanwhile


def test_lock_is_reentrant_within_one_storage(store: Store) -> None:
    async def main() -> None:
        await store.storage.acquire()
        await store.storage.set_tokens(make_tokens())  # takes it again: must not deadlock
        store.storage.release()

    asyncio.run(asyncio.wait_for(main(), 5))
    assert store.storage.lock._lock_depth == 0 and store.storage.lock._lock_fd is None


# ---------------------------------------------------------------------- secrets


def test_tokens_and_client_secrets_are_registered_secrets(store: Store) -> None:
    storage = store.storage
    tokens, client = make_tokens(), make_client()
    store.run(storage.set_tokens(tokens))
    store.run(storage.set_client_info(client))
    for secret in (tokens.access_token, tokens.refresh_token, client.client_secret):
        assert redact(f"x {secret} y") == f"x {MASK} y"

    # tokens another kernel stored (with an id token the SDK's model drops) are secrets once loaded
    other = {
        "tokens": {
            "access_token": f"at-{secrets.token_hex(12)}",
            "refresh_token": f"rt-{secrets.token_hex(12)}",
            "id_token": f"id-{secrets.token_hex(12)}",
            "token_type": "Bearer",
        },
        "expires_at": time.time() + 60,
        "client_info": {"client_id": "c1", "client_secret": f"cs-{secrets.token_hex(12)}", "redirect_uris": [REDIRECT]},
    }
    plain = [
        other["tokens"]["access_token"],
        other["tokens"]["refresh_token"],
        other["tokens"]["id_token"],
        other["client_info"]["client_secret"],
    ]
    assert all(redact(s) == s for s in plain)
    store.path.write_text(json.dumps(other))
    assert store.run(FileTokenStorage(store.dir, URL, REDIRECT).get_tokens()) is not None
    assert all(redact(s) == MASK for s in plain)


# ---------------------------------------------------------------------- the provider and the shared store


def provider_with(store: Store, tokens: Any, client: Any, expired: bool = True) -> Any:
    from mcp.shared.auth import OAuthClientMetadata

    from mcpomni_jupyter.auth.provider import AdaptedProvider

    provider = AdaptedProvider(
        server_url=URL,
        client_metadata=OAuthClientMetadata(redirect_uris=[REDIRECT]),
        storage=store.storage,
    )
    provider.context.current_tokens = tokens
    provider.context.client_info = client
    provider.context.token_expiry_time = time.time() - 10 if expired else time.time() + 3600
    provider._initialized = True
    return provider


def first_request(provider: Any) -> Any:
    """The first request the provider's auth flow sends for an MCP request."""
    import httpx2

    async def main() -> Any:
        flow = provider.async_auth_flow(httpx2.Request("POST", URL))
        try:
            return await flow.__anext__()
        finally:
            await flow.aclose()

    return asyncio.run(main())


def test_provider_adopts_valid_tokens_another_kernel_stored_instead_of_refreshing(store: Store) -> None:
    client = make_client()
    mine, theirs = make_tokens(tag="mine-"), make_tokens(tag="theirs-")
    store.run(store.storage.set_client_info(client))
    store.run(store.storage.set_tokens(theirs))  # another kernel refreshed (and rotated) meanwhile
    provider = provider_with(store, mine, client)
    sent = first_request(provider)
    assert sent.url == URL and sent.headers["Authorization"] == f"Bearer {theirs.access_token}"
    assert provider.context.current_tokens.refresh_token == theirs.refresh_token
    assert store.storage.lock._lock_depth == 0  # released


def test_provider_refreshes_with_the_newer_stored_refresh_token(store: Store) -> None:
    from urllib.parse import parse_qs

    client = make_client()
    mine, theirs = make_tokens(tag="mine-"), make_tokens(expires_in=0, tag="theirs-")
    store.run(store.storage.set_client_info(client))
    store.run(store.storage.set_tokens(theirs))  # newer, but expired too
    provider = provider_with(store, mine, client)
    sent = first_request(provider)
    form = parse_qs(sent.content.decode())
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == [theirs.refresh_token]
    assert store.storage.lock._lock_depth == 0


def test_provider_refreshes_its_own_tokens_when_the_store_has_nothing_newer(store: Store) -> None:
    from urllib.parse import parse_qs

    client = make_client()
    mine = make_tokens(tag="mine-")
    store.run(store.storage.set_client_info(client))
    store.run(store.storage.set_tokens(mine))
    provider = provider_with(store, mine, client)
    form = parse_qs(first_request(provider).content.decode())
    assert form["refresh_token"] == [mine.refresh_token]


def test_provider_holds_the_lock_across_the_refresh_request(store: Store, tmp_path: Path) -> None:
    """While one kernel waits for its refresh response, another cannot take the lock."""
    import fcntl

    import httpx2

    client, mine = make_client(), make_tokens(tag="mine-")
    store.run(store.storage.set_client_info(client))
    store.run(store.storage.set_tokens(mine))
    provider = provider_with(store, mine, client)
    fresh = make_tokens(tag="fresh-")

    async def main() -> tuple[bool, bool]:
        flow = provider.async_auth_flow(httpx2.Request("POST", URL))
        refresh = await flow.__anext__()
        with open(store.storage.lock.lock_path, "rb") as fh:  # another process's view of the lock
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                during = False
            except BlockingIOError:
                during = True
        response = httpx2.Response(200, json=fresh.model_dump(mode="json", exclude_none=True), request=refresh)
        request = await flow.asend(response)
        assert request.headers["Authorization"] == f"Bearer {fresh.access_token}"
        await flow.aclose()
        with open(store.storage.lock.lock_path, "rb") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
        return during, True

    during, _ = asyncio.run(main())
    assert during, "the store's lock was not held while the refresh request was in flight"
    assert store.run(store.storage.get_tokens()).access_token == fresh.access_token


def test_a_refused_refresh_releases_the_lock_and_goes_on_to_authorize_again(store: Store) -> None:
    import httpx2

    client, mine = make_client(), make_tokens(tag="mine-")
    store.run(store.storage.set_client_info(client))
    store.run(store.storage.set_tokens(mine))
    provider = provider_with(store, mine, client)

    async def main() -> Any:
        flow = provider.async_auth_flow(httpx2.Request("POST", URL))
        refresh = await flow.__anext__()
        refused = httpx2.Response(400, json={"error": "invalid_grant"}, request=refresh)
        request = await flow.asend(refused)  # the request goes out without a token: its 401 starts authorization
        await flow.aclose()
        return request

    request = asyncio.run(main())
    assert request.url == URL and "Authorization" not in request.headers
    assert provider.context.current_tokens is None and provider._initialized is False
    assert store.storage.lock._lock_depth == 0 and store.storage.lock._lock_fd is None


# ---------------------------------------------------------------------- the authorization URL


@pytest.mark.parametrize(
    "url",
    [
        "https://as.example/authorize?state=s",
        "http://localhost:9000/authorize?state=s",
        "http://127.0.0.1/authorize",
        "http://127.9.9.9:80/authorize",
        "http://[::1]:8080/authorize",
        "HTTPS://AS.EXAMPLE/authorize",
    ],
)
def test_safe_authorization_urls_pass(url: str) -> None:
    from mcpomni_jupyter.auth.oauth import check_authorization_url

    check_authorization_url(url, "o")


UNSAFE = [
    "http://as.example/authorize?state=s",
    "http://10.0.0.1/authorize",
    "http://localhost.evil.example/authorize",
    "javascript:alert(1)//?state=s",
    "file:///etc/passwd",
    "data:text/html,<script>alert(1)</script>",
    "ftp://as.example/authorize",
    "https:///no-host",
    "//as.example/authorize",
    "-a https://as.example/",
    "https://as.example/authorize\nhttps://evil.example/",
    "http://[::1/authorize",
]


@pytest.mark.parametrize("url", UNSAFE)
def test_unsafe_authorization_url_is_refused_before_anything_is_opened(url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mcpomni_jupyter.auth import oauth
    from mcpomni_jupyter.config import parse_server
    from mcpomni_jupyter.core.session.connection import Connection, State

    opened: list[str] = []
    monkeypatch.setattr(oauth, "open_browser", opened.append)
    monkeypatch.setattr(oauth.webbrowser, "open", opened.append)
    coordinator = oauth.OAuthCoordinator(oauth.AuthOptions(callback_port=free_port(), token_dir=str(tmp_path)))
    connection = Connection(parse_server("o", {"url": URL, "auth": {"method": "oauth"}}))
    provider = coordinator.build(connection)

    async def main() -> None:
        try:
            with pytest.raises(AuthError) as info:
                await provider.context.redirect_handler(url)
            message = str(info.value)
            assert "refusing the authorization URL" in message and "https" in message and "\n" not in message
        finally:
            await coordinator.stop()

    asyncio.run(main())
    assert opened == []
    assert connection.auth.url is None and connection.auth.flow is None and connection.state is State.DISCONNECTED
    assert not any(callback.running for callback in coordinator._callbacks.values())
