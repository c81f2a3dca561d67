"""``%mcp debug``: the SDK's, httpx2's and our loggers on stderr, every line redacted (tracebacks too)."""

from __future__ import annotations

import logging
import sys


class _RedactingFormatter(logging.Formatter):
    """Formats as usual, then redacts the whole text: message, arguments and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        from mcpomni_jupyter.redact import redact

        return redact(super().format(record))


_debug_handler: logging.Handler | None = None
DEBUG_LOGGERS = ("mcpomni_jupyter", "mcp", "httpx2", "httpcore2")


def set_debug(on: bool) -> None:
    """Route the SDK's, httpx2's and our loggers to stderr, redacted (on), or stop (off)."""
    global _debug_handler
    for name in DEBUG_LOGGERS:
        logger = logging.getLogger(name)
        if _debug_handler is not None:
            logger.removeHandler(_debug_handler)
        logger.setLevel(logging.DEBUG if on else logging.NOTSET)
    if on:
        _debug_handler = logging.StreamHandler(sys.stderr)
        _debug_handler.setFormatter(_RedactingFormatter("mcp-debug %(name)s %(levelname)s: %(message)s"))
        for name in DEBUG_LOGGERS:
            logging.getLogger(name).addHandler(_debug_handler)
    else:
        _debug_handler = None
