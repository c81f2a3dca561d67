"""A hardened one-request HTTP/1.1 server on loopback sockets, for the OAuth callback.

The server faces every local process and every web page the browser shows:

- Loopback only (``urls.is_loopback_host``): the host must be ``localhost``,
  an IPv4 loopback address (``127.x.y.z``) or ``::1``; anything else (``0.0.0.0``, a LAN address, a
  host name) is refused before anything is bound.
- RFC 8252 section 8.3: for ``localhost`` the server binds *both*
  ``127.0.0.1`` and ``::1`` on the port, because a browser may resolve
  ``localhost`` to either: no other local process can then take
  ``[::1]:PORT``.  A machine without IPv6 gets the IPv4 socket alone; a busy
  ``::1`` port is a busy port.  Sockets are bound without ``SO_REUSEPORT``
  (and with ``SO_EXCLUSIVEADDRUSE`` on Windows), so no one shares the port.
- DNS rebinding: only requests whose ``Host`` is the server's host:port, or a
  loopback equivalent on the same port, are routed; others get a 421 (400
  when ``Host`` is missing or repeated).
- Resources: each request must arrive whole within ``request_timeout``
  seconds (one deadline for the request line and all headers, so a slowloris
  is cut off); a line is at most ``max_line`` bytes, the header block at most
  ``max_header_bytes`` and ``max_headers`` lines; anything over-long or
  malformed gets a 400 page.  At most ``max_connections`` connections are
  served at once; a further one gets a 503 page and is closed at once.
- Pages: every text is HTML-escaped, and each response carries
  ``Cache-Control: no-store``, ``Referrer-Policy: no-referrer`` and
  ``Content-Security-Policy: default-src 'none'`` (plus the hash of the
  page's one style block).

Subclasses answer ``route(method, target) -> (status, title, message)``.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import html
import ipaddress
import socket
from dataclasses import dataclass

from mcpomni_jupyter.errors import AuthError
from mcpomni_jupyter.urls import LOOPBACK_NAME, is_loopback_host

# errors that mean "this machine has no IPv6 loopback", not "the port is busy"
_NO_IPV6 = {errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT}
_LINGER = 1.0  # seconds to discard what a client still sends after its response, so the close is not a reset
CLOSE_TIMEOUT = 5.0  # for the listening sockets to close when the server stops

# ---------------------------------------------------------------------- pages

_STYLE = "body{font-family:sans-serif;margin:3em}"
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
_CSP = f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><meta name='referrer' content='no-referrer'>"
    "<title>{title}</title><style>{style}</style></head><body><h2>{title}</h2><p>{body}</p></body></html>"
)
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    421: "Misdirected Request",
    503: "Service Unavailable",
}


def _page(title: str, body: str) -> str:
    return _PAGE.format(title=html.escape(title), body=html.escape(body), style=_STYLE)


def _response(status: int, title: str, message: str) -> bytes:
    """A whole HTTP/1.1 response with an escaped page and the headers that keep it inert."""
    body = _page(title, message).encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "Referrer-Policy: no-referrer\r\n"
        f"Content-Security-Policy: {_CSP}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "X-Frame-Options: DENY\r\n" + ("Allow: GET\r\n" if status == 405 else "") + "Connection: close\r\n\r\n"
    )
    return head.encode() + body


# ---------------------------------------------------------------------- hosts and sockets


def loopback_host(host: str) -> str:
    """``host`` as it goes in the redirect URI (``localhost``, ``127.0.0.1``, ``[::1]``); AuthError if not loopback."""
    name = host.strip().lower()
    if is_loopback_host(name):
        if name == LOOPBACK_NAME:
            return name
        address = ipaddress.ip_address(name.strip("[]"))
        return str(address) if address.version == 4 else f"[{address}]"
    raise AuthError(
        f"OAuth callback host {host[:60]!r} is not a loopback address and would expose the callback beyond this "
        "machine: set %config MCPMagics.callback_host = 'localhost' (or '127.0.0.1' or '::1'); for a remote kernel, "
        "use the relay through the Jupyter server (%config MCPMagics.callback = 'relay') or paste the URL the browser landed on into the Authorize box"
    )


def _listen(address: str, family: socket.AddressFamily, port: int) -> socket.socket:
    """A listening, non-blocking socket on ``address``: never shared (no SO_REUSEPORT), v6 only for ``::1``."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: nobody else may bind the port while we hold it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:  # POSIX: rebind at once after a stop (TIME_WAIT); still refused while another socket listens
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(64)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


# ---------------------------------------------------------------------- requests


class _BadRequest(Exception):
    """A request that breaks HTTP or our limits; ``str`` is the sentence for the 400 page."""


@dataclass
class _Request:
    method: str
    target: str
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        """The one value of header ``name``; None when it is missing or repeated."""
        values = [value for key, value in self.headers if key.lower() == name]
        return values[0] if len(values) == 1 else None


async def _read_line(reader: asyncio.StreamReader) -> bytes | None:
    """One line without its line ending; None at end of stream.  The reader's limit caps its length."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        line = exc.partial
        if not line:
            return None
    except asyncio.LimitOverrunError:
        raise _BadRequest("A line of the request is too long.") from None
    return line.rstrip(b"\r\n")


def _parse_request_line(line: bytes) -> tuple[str, str]:
    parts = line.decode("latin-1").split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1") or not parts[1].startswith("/"):
        raise _BadRequest("The request line is malformed.")
    return parts[0], parts[1]


def _parse_header(line: bytes) -> tuple[str, str]:
    name, colon, value = line.decode("latin-1").partition(":")
    if not colon or not name or name != name.strip():
        raise _BadRequest("A request header is malformed.")
    return name, value.strip()


class LoopbackHTTPServer:
    """Listens on the loopback address(es) of ``host``; answers each connection's one request with a page."""

    def __init__(
        self,
        host: str = "localhost",
        port: int = 3000,
        *,
        request_timeout: float = 10.0,
        max_connections: int = 32,
        max_line: int = 8192,
        max_header_bytes: int = 65536,
        max_headers: int = 100,
    ) -> None:
        self.host = loopback_host(host)  # raises AuthError for a non-loopback host: nothing is bound or registered
        self.port = port
        self.request_timeout, self.max_connections = request_timeout, max_connections
        self.max_line, self.max_header_bytes, self.max_headers = max_line, max_header_bytes, max_headers
        self._servers: list[asyncio.AbstractServer] = []
        self._active = 0  # connections being served
        self._reading: set[asyncio.WriteTransport] = set()  # connections whose request is not read yet

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return bool(self._servers)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on the loopback address(es) of the redirect URI; AuthError if the port is taken."""
        if self._servers:
            return
        for sock in self._bind():
            self._servers.append(await asyncio.start_server(self._handle, sock=sock, limit=self.max_line))

    def _addresses(self) -> list[tuple[str, socket.AddressFamily, bool]]:
        """(address, family, required) to bind: ``localhost`` is both loopbacks, ``::1`` only where IPv6 exists."""
        if self.host == "[::1]":
            return [("::1", socket.AF_INET6, True)]
        if self.host != "localhost":
            return [(self.host, socket.AF_INET, True)]
        return [("127.0.0.1", socket.AF_INET, True)] + ([("::1", socket.AF_INET6, False)] if socket.has_ipv6 else [])

    def _bind(self) -> list[socket.socket]:
        bound: list[socket.socket] = []
        port = self.port
        try:
            for address, family, required in self._addresses():
                try:
                    sock = _listen(address, family, port)
                except OSError as exc:
                    if not required and exc.errno in _NO_IPV6:
                        continue  # no IPv6 loopback on this machine: nobody else can have it either
                    raise self._bind_error(address, port, exc) from None
                bound.append(sock)
                port = sock.getsockname()[1]  # port 0: the others take the port the first one got
        except BaseException:
            for sock in bound:
                sock.close()
            raise
        self.port = port
        return bound

    def _bind_error(self, address: str, port: int, exc: OSError) -> AuthError:
        where = f"[{address}]:{port}: " if ":" in address and self.host != "[::1]" else ""
        return AuthError(
            f"Failed to start OAuth callback server on {self.host}:{self.port} ({where}{exc.strerror or exc}): "
            f"free port {self.port}, or choose another with %config MCPMagics.callback_port = 3001 "
            '(or "callback_port" in the server\'s auth config)'
        )

    async def stop(self) -> None:
        servers, self._servers = self._servers, []
        for transport in list(self._reading):  # nothing waits any more: cut the requests still arriving
            transport.abort()
        for server in servers:
            server.close()
        for server in servers:
            try:
                await asyncio.wait_for(server.wait_closed(), CLOSE_TIMEOUT)
            except Exception:  # noqa: BLE001 - closing is best effort: nothing waits any more
                pass

    # ------------------------------------------------------------------ serving

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection: at most ``max_connections`` at once, one request each, then close."""
        if self._active >= self.max_connections:
            busy = "The notebook's OAuth callback is busy; reload this page in a few seconds."
            writer.write(_response(503, "Busy", busy))
            writer.close()
            return
        self._active += 1
        try:
            await self._serve(reader, writer)
        except (ConnectionError, OSError):
            pass
        finally:
            self._active -= 1
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answer = await self._answer(reader, writer)
        if answer is None or writer.transport.is_closing():  # nothing sent, cut off, or cut by stop()
            return
        writer.write(_response(*answer))
        await self._finish(reader, writer)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[int, str, str] | None:
        """Read the request within one deadline and route it: (status, title, message), or None for no answer."""
        self._reading.add(writer.transport)
        try:
            request = await asyncio.wait_for(self._read_request(reader), self.request_timeout)
        except TimeoutError:  # the whole request did not arrive in time (a slowloris): cut it off
            writer.transport.abort()
            return None
        except _BadRequest as exc:
            return 400, "Bad request", str(exc)
        finally:
            self._reading.discard(writer.transport)
        if request is None or writer.transport.is_closing():
            return None
        return self._route(request)

    async def _read_request(self, reader: asyncio.StreamReader) -> _Request | None:
        """The request line and headers, within the size and count limits; None if the client sent nothing."""
        line = await _read_line(reader)
        if line == b"":  # RFC 9112 2.2: a server should ignore an empty line before the request line
            line = await _read_line(reader)
        if line is None:
            return None
        method, target = _parse_request_line(line)
        headers: list[tuple[str, str]] = []
        size = len(line)
        while line := await _read_line(reader):
            size += len(line)
            if size > self.max_header_bytes or len(headers) >= self.max_headers:
                raise _BadRequest("The request headers are too large or too many.")
            headers.append(_parse_header(line))
        return _Request(method, target, headers)

    def _hosts(self) -> set[str]:
        """The ``Host`` values served: the redirect URI's, and the loopback equivalents on the same port."""
        names = {self.host, "localhost", "127.0.0.1", "[::1]"}
        return {f"{name}:{self.port}" for name in names} | (names if self.port == 80 else set())

    def _route(self, request: _Request) -> tuple[int, str, str]:
        host = request.header("host")
        if host is None:
            return 400, "Bad request", "The request must carry exactly one Host header."
        if host.lower() not in self._hosts():  # DNS rebinding, or another site's page: complete nothing
            return 421, "Wrong address", f"This server answers only at {self.base_url}."
        return self.route(request.method, request.target)

    def route(self, method: str, target: str) -> tuple[int, str, str]:
        """The page for one request that passed every check: (status, title, message)."""
        raise NotImplementedError

    async def _finish(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Half-close, then briefly discard what the client still sends, so the close is a FIN the client
        reads after the response, not a reset (with unread input) that could destroy it."""
        try:
            await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
            await asyncio.wait_for(self._discard(reader), min(_LINGER, self.request_timeout))
        except (TimeoutError, ConnectionError, OSError):
            pass

    async def _discard(self, reader: asyncio.StreamReader) -> None:
        left = self.max_header_bytes
        while left > 0 and (chunk := await reader.read(min(left, 65536))):
            left -= len(chunk)
