"""The OAuth loopback callback server against real sockets: loopback only, both loopbacks for ``localhost``,
the Host check, one deadline per request, size and connection limits, and inert pages.

Each test runs its own event loop (``asyncio.run``: this is not a kernel), starts a ``CallbackServer`` on a
free loopback port with a flow waiting, and talks to it with raw sockets (malformed, slow, oversized
requests) or ``httpx2`` (normal ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx2
import pytest
from conftest import free_port

from mcpomni_jupyter.auth.callback import CallbackServer, Flow
from mcpomni_jupyter.errors import AuthError

CODE, STATE = "CODE-s3cret-4711", "STATE-s3cret-0815"


def ipv6_loopback() -> bool:
    """Whether this machine has an IPv6 loopback to bind (``socket.has_ipv6`` and a trial bind)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@contextlib.asynccontextmanager
async def serving(state: str = STATE, host: str = "localhost", **limits: float) -> AsyncIterator[tuple[CallbackServer, Flow]]:
    """A started callback server with one flow waiting for ``state``; stopped afterwards."""
    server = CallbackServer(host, free_port(), "/callback", **limits)
    flow = await server.expect(state, "srv", "https://as.example/authorize")
    try:
        yield server, flow
    finally:
        await server.release(flow)
        await server.stop()


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 20))


async def raw(port: int, data: bytes, address: str = "127.0.0.1") -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it."""
    reader, writer = await asyncio.open_connection(address, port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


def request(port: int, target: str = f"/callback?code={CODE}&state={STATE}", host: str | None = "default", extra: str = "") -> bytes:
    host_line = "" if host is None else f"Host: {f'localhost:{port}' if host == 'default' else host}\r\n"
    return f"GET {target} HTTP/1.1\r\n{host_line}{extra}\r\n".encode()


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


async def get(url: str) -> httpx2.Response:
    async with httpx2.AsyncClient(trust_env=False, timeout=5) as client:
        return await client.get(url)


def good_url(server: CallbackServer, state: str = STATE) -> str:
    return f"{server.redirect_uri}?code={CODE}&state={state}"


# ---------------------------------------------------------------------- which hosts


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "10.0.0.7", "example.com", "::", "localhost.example.com"])
def test_non_loopback_host_is_refused(host):
    with pytest.raises(AuthError) as caught:
        CallbackServer(host, free_port(), "/callback")
    message = str(caught.value)
    assert "not a loopback address" in message and "MCPMagics.callback_host = 'localhost'" in message
    assert "relay" in message and "\n" not in message


@pytest.mark.parametrize(
    "host, shown",
    [
        ("localhost", "localhost"),
        ("LOCALHOST", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.2", "127.0.0.2"),
        ("::1", "[::1]"),
        ("[::1]", "[::1]"),
    ],
)
def test_loopback_host_is_accepted(host, shown):
    assert CallbackServer(host, 3000, "callback").redirect_uri == f"http://{shown}:3000/callback"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1"])
def test_loopback_host_serves(host):
    if host == "::1" and not ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine")

    async def main() -> None:
        async with serving(host=host) as (server, flow):
            response = await get(good_url(server))
            assert response.status_code == 200 and "is authorized" in response.text
            assert flow.future.result().code == CODE

    run(main)


# ---------------------------------------------------------------------- both loopbacks (RFC 8252 8.3)


def test_localhost_binds_ipv6_loopback_too():
    if not ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine")

    async def main() -> None:
        async with serving() as (server, flow):
            with socket.socket(socket.AF_INET6) as squatter, pytest.raises(OSError) as taken:
                squatter.bind(("::1", server.port))  # no other process can take [::1]:PORT
            assert taken.value.errno == errno.EADDRINUSE
            response = await get(f"http://[::1]:{server.port}/callback?code={CODE}&state={STATE}")
            assert response.status_code == 200 and flow.future.result().code == CODE

    run(main)


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_busy_port_on_either_loopback_is_a_clear_error(family):
    if family == "ipv6" and not ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine")
    port = free_port()
    with socket.socket(socket.AF_INET6 if family == "ipv6" else socket.AF_INET) as blocker:
        blocker.bind(("::1" if family == "ipv6" else "127.0.0.1", port))
        blocker.listen()
        server = CallbackServer("localhost", port, "/callback")
        with pytest.raises(AuthError) as caught:
            asyncio.run(server.start())
    message = str(caught.value)
    assert message.startswith(f"Failed to start OAuth callback server on localhost:{port}")
    assert "MCPMagics.callback_port" in message and not server.running
    with socket.socket() as again:  # nothing half-bound is left behind
        again.bind(("127.0.0.1", port))


# ---------------------------------------------------------------------- one deadline, size limits


def test_slowloris_is_cut_within_the_deadline():
    async def main() -> None:
        async with serving(request_timeout=1.0) as (server, flow):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)

            async def drip() -> None:  # a header byte every 0.2 s: each line would beat a per-line timeout
                writer.write(f"GET /callback?code={CODE}&state={STATE} HTTP/1.1\r\n".encode())
                while not writer.is_closing():
                    writer.write(b"X")
                    await asyncio.sleep(0.2)

            dripping = asyncio.create_task(drip())
            began = time.monotonic()
            with contextlib.suppress(ConnectionError):
                assert await asyncio.wait_for(reader.read(), 4) == b""
            elapsed = time.monotonic() - began
            dripping.cancel()
            writer.close()
            assert 0.8 < elapsed < 2.0
            assert not flow.future.done()

    run(main)


@pytest.mark.parametrize(
    "extra, target",
    [
        ("", "/callback?code=x&pad=" + "a" * 20000 + f"&state={STATE}"),  # a request line over 8 KiB
        ("X-Pad: " + "b" * 20000 + "\r\n", None),  # a header line over 8 KiB
        ("".join(f"X-Pad-{i}: {'c' * 4000}\r\n" for i in range(20)), None),  # 80 KB of headers
    ],
    ids=["request-line", "header-line", "header-block"],
)
def test_oversized_request_gets_400_and_the_server_goes_on(extra, target):
    async def main() -> None:
        async with serving() as (server, flow):
            data = request(server.port, extra=extra) if target is None else request(server.port, target)
            response = await raw(server.port, data)
            assert status(response) == 400 and (b"too long" in response or b"too large" in response)
            assert not flow.future.done()
            good = await get(good_url(server))
            assert good.status_code == 200 and flow.future.result().code == CODE

    run(main)


def test_too_many_headers_get_400():
    async def main() -> None:
        async with serving() as (server, flow):
            many = "".join(f"X-H{i}: v\r\n" for i in range(101))
            response = await raw(server.port, request(server.port, extra=many))
            assert status(response) == 400 and not flow.future.done()
            fine = "".join(f"X-H{i}: v\r\n" for i in range(90))
            assert status(await raw(server.port, request(server.port, extra=fine))) == 200
            assert flow.future.result().code == CODE

    run(main)


@pytest.mark.parametrize(
    "data",
    [
        b"GARBAGE\r\n\r\n",
        b"GET http://evil.example/callback HTTP/1.1\r\n\r\n",
        b"GET /callback HTTP/1.1\r\nno colon\r\n\r\n",
        b"GET /callback HTTP/1.1\r\n folded: header\r\n\r\n",
    ],
    ids=["request-line", "absolute-form", "header-without-colon", "folded-header"],
)
def test_malformed_request_gets_400(data):
    async def main() -> None:
        async with serving() as (server, _flow):
            assert status(await raw(server.port, data)) == 400

    run(main)


def test_idle_connections_are_limited_and_cut_then_a_good_request_is_served():
    async def main() -> None:
        async with serving(request_timeout=1.0) as (server, flow):
            idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(40)]
            began = time.monotonic()
            answers = await asyncio.gather(*(asyncio.wait_for(r.read(), 4) for r, _ in idle), return_exceptions=True)
            busy = [a for a in answers if isinstance(a, bytes) and status(a) == 503]
            assert len(busy) == 8  # the 32 allowed ones are served (then cut), the others turned away
            assert time.monotonic() - began < 2.5  # the idle ones were cut by the deadline
            for _, writer in idle:
                writer.close()
            response = await get(good_url(server))
            assert response.status_code == 200 and flow.future.result().code == CODE

    run(main)


def test_stop_cuts_requests_still_arriving():
    async def main() -> None:
        async with serving() as (server, flow):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET /callback")
            await asyncio.sleep(0.1)
            await server.release(flow)
            with contextlib.suppress(ConnectionError):
                assert await asyncio.wait_for(reader.read(), 2) == b""
            writer.close()
            assert not server.running
            with pytest.raises(httpx2.ConnectError):
                await get(good_url(server))

    run(main)


# ---------------------------------------------------------------------- the Host header (DNS rebinding)


@pytest.mark.parametrize(
    "host, expected",
    [
        ("evil.example:{port}", 421),
        ("localhost.evil.example:{port}", 421),
        ("localhost:{other}", 421),
        ("localhost", 421),
        ("127.0.0.1.nip.io:{port}", 421),
        (None, 400),
        ("twice", 400),
    ],
)
def test_bad_host_is_refused_and_the_flow_still_waits(host, expected):
    async def main() -> None:
        async with serving() as (server, flow):
            if host == "twice":
                data = request(server.port, extra=f"Host: localhost:{server.port}\r\n")
            else:
                named = None if host is None else host.format(port=server.port, other=server.port + 1)
                data = request(server.port, host=named)
            response = await raw(server.port, data)
            assert status(response) == expected and b"is authorized" not in response
            assert not flow.future.done()
            assert (await get(good_url(server))).status_code == 200 and flow.future.result().code == CODE

    run(main)


@pytest.mark.parametrize("host", ["localhost:{port}", "LocalHost:{port}", "127.0.0.1:{port}", "[::1]:{port}"])
def test_good_host_is_delivered(host):
    async def main() -> None:
        async with serving() as (server, flow):
            response = await raw(server.port, request(server.port, host=host.format(port=server.port)))
            assert status(response) == 200 and b"is authorized" in response
            assert flow.future.result().code == CODE

    run(main)


# ---------------------------------------------------------------------- pages


def test_pages_are_inert_and_never_echo_code_or_state():
    async def main() -> None:
        async with serving() as (server, flow):
            port = server.port
            cases = [
                request(port, f"/callback?code={CODE}&state=other-{STATE}"),  # unknown state
                request(port, f"/callback?state={STATE}&x={CODE}"),  # no code
                request(port, f"/elsewhere?code={CODE}&state={STATE}"),  # 404
                request(port, host=f"evil.example:{port}"),  # 421
                f"POST /callback?code={CODE}&state={STATE} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode(),  # 405
                request(port, extra="".join(f"X-H{i}: {CODE}\r\n" for i in range(150))),  # 400
                request(port),  # delivered
                request(port),  # used already
            ]
            for data in cases:
                response = await raw(port, data)
                head, _, body = response.partition(b"\r\n\r\n")
                assert status(response) in (200, 400, 404, 405, 421), response[:200]
                assert CODE.encode() not in response and STATE.encode() not in response
                assert b"Cache-Control: no-store" in head and b"Referrer-Policy: no-referrer" in head
                assert b"Content-Security-Policy: default-src 'none'" in head and b"<script" not in body
            assert flow.future.result().code == CODE

    run(main)


def test_error_redirect_is_escaped_and_ends_the_flow():
    async def main() -> None:
        async with serving() as (server, flow):
            query = f"error=access_denied&error_description=no+%3Cb%3Ethanks%3C/b%3E&state={STATE}"
            response = await get(f"{server.redirect_uri}?{query}")
            assert response.status_code == 200 and "&lt;b&gt;thanks&lt;/b&gt;" in response.text
            assert "<b>" not in response.text and STATE not in response.text
            assert "authorization refused (access_denied: no <b>thanks</b>)" in str(flow.future.exception())

    run(main)
