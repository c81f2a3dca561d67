"""How states and auth methods are shown: one place for the colours, icons and labels."""

from __future__ import annotations

from typing import Any

STATE_COLOURS = {
    "connected": "#1a7f37",
    "connecting": "#9a6700",
    "auth required": "#9a6700",
    "failed": "#cf222e",
    "disconnected": "#6e7781",
}
STATE_ICONS = {"connected": "●", "connecting": "◌", "auth required": "🔑", "failed": "✖", "disconnected": "○"}
ERROR_COLOUR = "#cf222e"


def state_label(state: str) -> str:
    """``● connected``: the icon and the state's name."""
    return f"{STATE_ICONS.get(state, '')} {state}"


def auth_label(config: Any) -> str:
    """How a server authenticates, in one word: its auth method, or ``headers`` / ``none``."""
    if config.auth.method != "none":
        return str(config.auth.method)
    return "headers" if getattr(config, "headers", None) else "none"
