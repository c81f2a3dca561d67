"""HTTP clients for every connection and authorization request, sharing one TLS context.

``httpx2.AsyncClient()`` builds a fresh ``ssl.SSLContext`` each time, loading
the whole CA bundle: about 20 ms of CPU, more than an entire connect to a
loopback server. One context serves every client of the process; it is
rebuilt only when ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` change (honoured as
httpx honours them).
"""

from __future__ import annotations

import os
import threading
from typing import Any

_lock = threading.Lock()
_cached: tuple[tuple[str | None, str | None], Any] | None = None


def tls_context() -> Any:
    """The process's TLS context for verified HTTPS (the CA bundle httpx would use)."""
    global _cached
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    with _lock:
        if _cached is None or _cached[0] != key:
            import httpx2

            _cached = (key, httpx2.create_ssl_context())
        return _cached[1]


def async_client(**kwargs: Any) -> Any:
    """``httpx2.AsyncClient(**kwargs)`` on the shared TLS context."""
    import httpx2

    kwargs.setdefault("verify", tls_context())
    return httpx2.AsyncClient(**kwargs)
