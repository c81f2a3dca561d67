"""MCP Apps (``io.modelcontextprotocol/ui``) on the kernel's side: which tools have an app, the app's HTML, its requests.

A tool whose ``_meta.ui.resourceUri`` names a ``ui://`` resource has an app:
after the tool is called, ``load_app`` reads that resource (it must be
``text/html;profile=mcp-app``), bounds it, and returns what the notebook's
host widget (``ui.apps``) needs: the HTML, the Content-Security-Policy built
from the resource's ``_meta.ui.csp`` as the extension prescribes (never
looser, and without ``'self'``, which in the app's srcdoc frame would mean the
Jupyter server's origin), and the permissions it asks for.  Everything here comes from the
server and is untrusted: URIs, domains and sizes are checked, and an app's own
requests (``tools/call``, ``resources/read``) go only to the server that served
it, through the same timeouts and error mapping as a magic's call; a tool is
callable by an app only if its ``_meta.ui.visibility`` includes ``"app"`` (the
default), and hidden from the tool listings if it lacks ``"model"``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.errors import LookupFailed, ServerError

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection

EXTENSION_ID = "io.modelcontextprotocol/ui"
APP_MIME = "text/html;profile=mcp-app"
MAX_APP_BYTES = 5 * 1024 * 1024  # an app's HTML (a whole bundled single-page app is a few hundred KB)
MAX_DOMAINS = 32  # per CSP list
PERMISSIONS = {"camera": "camera", "microphone": "microphone", "geolocation": "geolocation", "clipboardWrite": "clipboard-write"}
# an origin a CSP may name: scheme://host[:port], with a leading "*." allowed in the host
_ORIGIN = re.compile(r"^(https?|wss?)://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$")


def ui_meta(tool: Any) -> dict[str, Any]:
    """The tool's ``_meta.ui`` (with the deprecated flat ``ui/resourceUri`` folded in); {} when it has none."""
    meta = getattr(tool, "meta", None)
    if not isinstance(meta, dict):
        return {}
    ui: dict[str, Any] = dict(meta["ui"]) if isinstance(meta.get("ui"), dict) else {}
    if "resourceUri" not in ui and isinstance(meta.get("ui/resourceUri"), str):
        ui["resourceUri"] = meta["ui/resourceUri"]
    return ui


def visibility(tool: Any) -> list[str]:
    """Who may call the tool: ``["model", "app"]`` unless its ``_meta.ui.visibility`` says otherwise."""
    seen = ui_meta(tool).get("visibility")
    if not isinstance(seen, list) or not all(isinstance(v, str) for v in seen):
        return ["model", "app"]
    return seen


def for_model(tool: Any) -> bool:
    """Whether the tool belongs in the listings (``%mcp tools``): app-only tools do not."""
    return "model" in visibility(tool)


def resource_uri(tool: Any) -> str | None:
    uri = ui_meta(tool).get("resourceUri")
    return uri if isinstance(uri, str) and uri.startswith("ui://") and len(uri) <= 2048 else None


def _domains(value: Any) -> list[str]:
    """The valid origins of a CSP list (anything else is dropped: it could only widen the policy)."""
    if not isinstance(value, list):
        return []
    return [d for d in value[:MAX_DOMAINS] if isinstance(d, str) and _ORIGIN.fullmatch(d)]


def csp(meta: Any) -> str:
    """The app's Content-Security-Policy from the resource's ``_meta.ui.csp`` (the extension's restrictive default)."""
    declared: dict[str, Any] = meta["csp"] if isinstance(meta, dict) and isinstance(meta.get("csp"), dict) else {}
    resources = " ".join(_domains(declared.get("resourceDomains")))
    connect = " ".join(_domains(declared.get("connectDomains"))) or "'none'"
    frames = " ".join(_domains(declared.get("frameDomains"))) or "'none'"
    base = " ".join(_domains(declared.get("baseUriDomains"))) or "'none'"
    extra = f" {resources}" if resources else ""
    # never 'self': the app's frame is an opaque-origin srcdoc document, whose 'self' Chromium resolves to the
    # notebook page's origin, the Jupyter server (tests/test_apps_browser.py loads an image of it through 'self')
    return (
        "default-src 'none'; "
        f"script-src 'unsafe-inline'{extra}; style-src 'unsafe-inline'{extra}; "
        f"img-src data:{extra}; font-src data:{extra}; media-src data:{extra}; "
        f"connect-src {connect}; frame-src {frames}; object-src 'none'; base-uri {base}; form-action 'none'"
    )


def permissions(meta: Any) -> list[str]:
    """The iframe features the resource asks for (``camera``, ``clipboard-write``, ...)."""
    asked = meta.get("permissions") if isinstance(meta, dict) else None
    return [feature for key, feature in PERMISSIONS.items() if isinstance(asked, dict) and key in asked]


@dataclass
class App:
    """What the host widget renders: the app of one tool call."""

    server: str
    tool: dict[str, Any]  # the tool's definition (name, description, inputSchema, _meta), for hostContext.toolInfo
    uri: str
    html: str = field(repr=False)  # up to MAX_APP_BYTES: never in a repr
    csp: str
    asked: list[str] = field(default_factory=list)  # permissions the resource asks for (granted only if allowed)
    prefers_border: bool | None = None


def _html(content: Any, uri: str) -> str:
    mime = (getattr(content, "mime_type", None) or "").replace(" ", "").lower()
    if mime != APP_MIME:
        raise ServerError(f"app resource {uri[:200]!r} is {mime[:60] or 'untyped'!r}, not {APP_MIME}; the tool's text result is shown")
    text = getattr(content, "text", None)
    if text is None:
        blob = getattr(content, "blob", None) or ""
        if len(blob) > MAX_APP_BYTES * 4 // 3 + 4:
            raise ServerError(f"app resource {uri[:200]!r} is larger than {MAX_APP_BYTES // 1024 // 1024} MB; not rendered")
        try:
            text = base64.b64decode(blob, validate=True).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            raise ServerError(f"app resource {uri[:200]!r} is not valid base64; not rendered") from None
    if len(text) > MAX_APP_BYTES:
        raise ServerError(f"app resource {uri[:200]!r} is larger than {MAX_APP_BYTES // 1024 // 1024} MB; not rendered")
    return text


async def load_app(connection: Connection, tool_name: str, limit: float) -> App | None:
    """The app of ``tool_name`` on ``connection``, read now (and kept by the catalog); None when the tool has none."""
    tool = next((t for t in connection.tools if t.name == tool_name), None)
    uri = resource_uri(tool) if tool is not None else None
    if tool is None or uri is None:
        return None
    result = (await connection.live().read_resource(uri, timeout=limit)).raw
    content = next((c for c in result.contents if str(getattr(c, "uri", "")) == uri), None) or (result.contents or [None])[0]
    if content is None:
        raise ServerError(f"app resource {uri[:200]!r} came back empty; the tool's text result is shown")
    html = _html(content, uri)
    listed = next((r for r in connection.resources if str(getattr(r, "uri", "")) == uri), None)
    resource_meta = getattr(content, "meta", None) or getattr(listed, "meta", None) or {}  # on the content, or on the listing
    ui: dict[str, Any] = resource_meta["ui"] if isinstance(resource_meta, dict) and isinstance(resource_meta.get("ui"), dict) else {}
    definition = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
    border = ui.get("prefersBorder")
    app = App(connection.name, definition, uri, html, csp(ui), permissions(ui), border if isinstance(border, bool) else None)
    connection.catalog.kept[("app", tool_name)] = app  # until the tools or resources are listed again
    return app


async def app_call(connection: Connection, name: Any, arguments: Any, limit: float) -> dict[str, Any]:
    """An app's ``tools/call``: only a tool of its own server whose visibility includes "app"."""
    if not isinstance(name, str) or not isinstance(arguments, dict | None):
        raise LookupFailed("tools/call from an app needs a tool name and an arguments object")
    tool = next((t for t in connection.tools if t.name == name), None)
    if tool is None:
        raise LookupFailed(f"server {connection.name!r} has no tool {name[:100]!r}")
    if "app" not in visibility(tool):
        raise LookupFailed(f"tool {name[:100]!r} of server {connection.name!r} is not callable from an app (its visibility)")
    result = await connection.live().call_tool(name, arguments or {}, timeout=limit, origin="app")
    return dump(result.raw)


async def app_read(connection: Connection, uri: Any, limit: float) -> dict[str, Any]:
    """An app's ``resources/read``, from its own server."""
    if not isinstance(uri, str) or len(uri) > 2048:
        raise LookupFailed("resources/read from an app needs a URI")
    return dump((await connection.live().read_resource(uri, timeout=limit)).raw)


def dump(result: Any) -> dict[str, Any]:
    """A result as the JSON the app gets (camelCase, as on the wire)."""
    out = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return out if isinstance(out, dict) else {}
