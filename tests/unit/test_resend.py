"""A streamable-HTTP POST that fails on the wire: resent once when safe, else failed alone (core/session/resend.py).

Against a real HTTP/1.1 server on loopback that can close a kept-alive
connection as the next request arrives, without answering it: what a server
does when its idle timeout races our request, or when it restarts.
"""

from __future__ import annotations

import asyncio
import json
import re

import httpx2
from mcp import MCPError
from mcp_types import CONNECTION_CLOSED

from mcpomni_jupyter.config import parse_server
from mcpomni_jupyter.core.session.errormap import CONTAINED_KEY, map_error
from mcpomni_jupyter.core.session.resend import resending_client
from mcpomni_jupyter.errors import ServerConnectionError, ServerError


class JsonRpcServer:
    """Answers every JSON-RPC POST with an empty result; ``drop`` closes the connection on the next request instead."""

    def __init__(self) -> None:
        self.answered: list[str] = []
        self.dropped: list[str] = []
        self.connections = 0
        self.drop = False

    async def __aenter__(self) -> JsonRpcServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/mcp"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
                body = json.loads(await reader.readexactly(int(length.group(1)) if length else 0))
                if self.drop:  # the kept-alive connection ends as the request arrives: no response byte
                    self.drop = False
                    self.dropped.append(body["method"])
                    return
                self.answered.append(body["method"])
                reply = json.dumps({"jsonrpc": "2.0", "id": body.get("id"), "result": {}}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%b" % (len(reply), reply))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _post(client: httpx2.AsyncClient, url: str, method: str, **extra: object) -> object:
    return client.post(url, json={"jsonrpc": "2.0", "method": method, **extra})


def _error(response: httpx2.Response) -> MCPError:
    error = response.json()["error"]
    return MCPError(error["code"], error["message"], error.get("data"))


def test_a_request_without_side_effects_is_resent_after_a_stale_connection():
    async def scenario() -> None:
        async with JsonRpcServer() as server:
            async with resending_client(parse_server("web", {"url": server.url})) as client:
                assert (await _post(client, server.url, "tools/list", id=1)).json()["result"] == {}
                server.drop = True
                response = await _post(client, server.url, "resources/read", id=2, params={"uri": "x:/a"})
                assert response.json()["result"] == {}, response.text
        assert server.dropped == ["resources/read"] and server.answered == ["tools/list", "resources/read"]
        assert server.connections == 2  # resent on a new connection

    asyncio.run(scenario())


def test_a_tool_call_that_may_have_arrived_is_not_resent_and_fails_alone():
    web = parse_server("web", {"url": "http://127.0.0.1:1/mcp"})

    async def scenario() -> None:
        async with JsonRpcServer() as server:
            async with resending_client(web) as client:
                await _post(client, server.url, "tools/call", id=1)
                server.drop = True
                failed = await _post(client, server.url, "tools/call", id=2)
                assert failed.json()["id"] == 2
                error = map_error(_error(failed), web)
                assert isinstance(error, ServerConnectionError), error
                assert str(error).startswith("server 'web': cannot reach") and "\n" not in str(error)
                assert (await _post(client, server.url, "tools/call", id=3)).json()["result"] == {}  # the client lives on
        assert server.dropped == ["tools/call"] and server.answered == ["tools/call", "tools/call"]  # ids 1 and 3: 2 ran nowhere

    asyncio.run(scenario())


def test_a_server_that_is_down():
    """Nothing listens: a request fails alone, a notification is dropped, the handshake keeps its error."""
    server = parse_server("web", {"url": "http://127.0.0.1:1/mcp"})

    async def scenario() -> None:
        async with resending_client(server) as client:
            failed = await _post(client, server.url, "tools/call", id=7)
            assert failed.json()["id"] == 7 and failed.json()["error"]["code"] == CONNECTION_CLOSED
            assert "is the server running?" in str(map_error(_error(failed), server))
            assert (await _post(client, server.url, "notifications/progress")).status_code == 202
            for method in ("server/discover", "initialize"):
                try:
                    await _post(client, server.url, method, id=8)
                except httpx2.ConnectError:
                    continue
                raise AssertionError(f"{method} was contained")
            try:
                await client.get(server.url)
            except httpx2.ConnectError:
                return
            raise AssertionError("a GET was contained")

    asyncio.run(scenario())


def test_a_server_cannot_pass_its_error_off_as_ours():
    """A server's error with our marker still names the server, in one bounded line."""
    server = parse_server("web", {"url": "http://127.0.0.1:1/mcp"})
    error = map_error(MCPError(CONNECTION_CLOSED, "server 'other': evil\nsecond line" + "x" * 5000, {CONTAINED_KEY: "connection"}), server)
    assert isinstance(error, ServerConnectionError)
    assert str(error).startswith("server 'web': server 'other': evil second line") and len(str(error)) < 600
    plain = map_error(MCPError(-32603, "boom", {CONTAINED_KEY: "connection"}), server)
    assert isinstance(plain, ServerError)
