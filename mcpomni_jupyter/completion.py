"""Tab completion of ``%mcp`` lines: subcommands, server names, ``server.tool`` names, ``k=`` and URIs."""

from __future__ import annotations

from typing import Any


def complete(manager: Any, line: str) -> list[str]:
    """Completions for the ``%mcp`` line typed so far."""
    from .commands import ALIASES, COMMANDS

    words = line.split()
    if words and words[0].lstrip("%") == "mcp":
        words = words[1:]
    trailing = line.endswith(" ")
    if not words or (len(words) == 1 and not trailing):
        prefix = words[0] if words else ""
        return sorted(n for n in list(COMMANDS) + list(ALIASES) if n.startswith(prefix))
    cmd = ALIASES.get(words[0], words[0])
    current = "" if trailing else words[-1]
    position = len(words) - (0 if trailing else 1)
    names = manager.names
    if cmd in ("connect", "disconnect", "refresh", "remove", "connections", "log", "tools", "resources", "templates", "prompts", "auth", "logout"):
        return sorted(n for n in names if n.startswith(current))
    if cmd in ("call", "prompt") and position == 1:
        kind = "tools" if cmd == "call" else "prompts"
        out = set()
        counts: dict[str, int] = {}
        for c in manager.connections.values():
            for item in getattr(c, kind):
                counts[item.name] = counts.get(item.name, 0) + 1
        for c in manager.connections.values():
            for item in getattr(c, kind):
                out.add(f"{c.name}.{item.name}")
                if counts[item.name] == 1:
                    out.add(item.name)
        return sorted(o for o in out if o.startswith(current))
    if cmd in ("call", "prompt") and position > 1:
        spec = words[1]
        for c in manager.connections.values():
            for item in getattr(c, "tools" if cmd == "call" else "prompts"):
                if spec in (item.name, f"{c.name}.{item.name}"):
                    if cmd == "call":
                        params = list(((item.input_schema or {}).get("properties") or {}))
                    else:
                        params = [a.name for a in (item.arguments or [])]
                    return sorted(f"{p}=" for p in params if f"{p}=".startswith(current))
        return []
    if cmd in ("read", "subscribe", "unsubscribe"):
        uris = {str(r.uri) for c in manager.connections.values() for r in c.resources}
        return sorted(u for u in uris if u.startswith(current))
    if cmd == "help":
        return sorted(n for n in COMMANDS if n.startswith(current))
    if cmd == "debug":
        return [w for w in ("on", "off") if w.startswith(current)]
    return []
