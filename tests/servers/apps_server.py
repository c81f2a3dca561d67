"""An MCP Apps server for the tests: the SDK's ``MCPServer`` with ``mcp.server.apps.Apps``, over stdio or streamable HTTP.

``counter`` has an app (``ui://counter/app.html``): a page written against
the extension's postMessage protocol by hand (no SDK in the page), which shows
the tool's input and result, and whose "Add one" button calls ``increment`` —
a tool only an app may call (visibility ``["app"]``) — through the host.  It
also probes its sandbox (can it read the notebook page?), logs, asks the host
to open a link and sends a message, so a test can see each path.  ``plain``
has no app; ``wrong_type`` points at a resource that is not an app;
``model_only`` may not be called by an app (the page tries, and shows the refusal).
``wander``'s app navigates its own frame away (with the tool's input in the
URL); ``probe_self``'s app loads and fetches a URL of the notebook's origin,
which ``'self'`` would name if it meant the Jupyter server.

    python apps_server.py stdio
    python apps_server.py streamable-http PORT
"""

from __future__ import annotations

import asyncio

from mcp.server import MCPServer
from mcp.server.apps import Apps, ResourcePermissions, client_supports_apps
from mcp.server.mcpserver import Context
from server_cli import serve

APP = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Counter</title>
<style>body{font-family:sans-serif;margin:8px} #count{font-size:150%}</style></head>
<body>
<div>input: <span id="input">?</span></div>
<div>count: <span id="count">?</span></div>
<button id="add">Add one</button>
<button id="link">Link</button>
<div id="answer"></div>
<div id="probe"></div>
<div id="host"></div>
<script>
let next = 1;
const waiting = new Map();
function request(method, params) {
  const id = next++;
  window.parent.postMessage({jsonrpc: "2.0", id, method, params}, "*");
  return new Promise((resolve, reject) => waiting.set(id, {resolve, reject}));
}
function count(result) {
  if (result.structuredContent && typeof result.structuredContent.count === "number") { return result.structuredContent.count; }
  return JSON.parse(result.content[0].text).count;
}
function notify(method, params) { window.parent.postMessage({jsonrpc: "2.0", method, params}, "*"); }
window.addEventListener("message", (event) => {
  const msg = event.data || {};
  if (msg.id !== undefined && waiting.has(msg.id)) {
    const w = waiting.get(msg.id); waiting.delete(msg.id);
    msg.error ? w.reject(msg.error) : w.resolve(msg.result);
    return;
  }
  if (msg.method === "ui/notifications/tool-input") {
    document.getElementById("input").textContent = JSON.stringify(msg.params.arguments);
  } else if (msg.method === "ui/notifications/tool-result") {
    document.getElementById("count").textContent = String(count(msg.params));
  }
});
try {
  const title = window.parent.document.title;
  document.getElementById("probe").textContent = "parent: READABLE " + title;
} catch (e) {
  document.getElementById("probe").textContent = "parent: blocked";
}
document.getElementById("add").addEventListener("click", async () => {
  const now = Number(document.getElementById("count").textContent);
  try {
    const result = await request("tools/call", {name: "increment", arguments: {count: now}});
    document.getElementById("count").textContent = String(count(result));
    document.getElementById("answer").textContent = "server said: " + result.content[0].text;
  } catch (error) {
    document.getElementById("answer").textContent = "error: " + error.message;
  }
});
document.getElementById("link").addEventListener("click", () => request("ui/open-link", {url: "https://example.org/docs"}));
(async () => {
  const init = await request("ui/initialize", {appCapabilities: {}, appInfo: {name: "counter", version: "1"}, protocolVersion: "2026-01-26"});
  document.getElementById("host").textContent = "host: " + init.hostInfo.name + " theme " + init.hostContext.theme;
  notify("ui/notifications/initialized", {});
  notify("notifications/message", {level: "info", data: "counter app ready"});
  const size = () => notify("ui/notifications/size-changed", {width: document.body.scrollWidth, height: document.documentElement.scrollHeight});
  new ResizeObserver(size).observe(document.body);
  size();
  request("ui/message", {role: "user", content: {type: "text", text: "hello from the counter"}});
  try { await request("tools/call", {name: "model_only", arguments: {}}); } catch (e) {
    document.getElementById("answer").textContent = "refused: " + e.message;
  }
})();
</script></body></html>
"""

# The smallest app the host's protocol allows: initialize, then act on the tool's input.
_HANDSHAKE = """
window.parent.postMessage({jsonrpc: "2.0", id: 1, method: "ui/initialize",
  params: {appCapabilities: {}, appInfo: {name: "probe", version: "1"}, protocolVersion: "2026-01-26"}}, "*");
window.addEventListener("message", (event) => {
  const msg = event.data || {};
  if (msg.id === 1) { window.parent.postMessage({jsonrpc: "2.0", method: "ui/notifications/initialized", params: {}}, "*"); }
  if (msg.method === "ui/notifications/tool-input") { act(msg.params.arguments); }
});
"""

# It navigates its own frame, with no click, to the URL it was given, carrying the tool's input along.
WANDER = f"""<!DOCTYPE html><html><body><div id="state">about to leave</div><script>
function act(args) {{ window.location = args.to + "?input=" + encodeURIComponent(JSON.stringify(args)); }}
{_HANDSHAKE}</script></body></html>"""

# It loads an image and fetches a URL of the notebook's own origin ('self' in the policy, if it meant the
# Jupyter server): each says "loaded" or "blocked".
SELF_PROBE = f"""<!DOCTYPE html><html><body><div id="img">img: ?</div><div id="fetch">fetch: ?</div><script>
const say = (id, text) => {{ document.getElementById(id).textContent = text; }};
document.addEventListener("securitypolicyviolation", (e) => say(e.effectiveDirective === "img-src" ? "img" : "fetch",
  (e.effectiveDirective === "img-src" ? "img" : "fetch") + ": blocked by " + e.effectiveDirective));
function act(args) {{
  const url = new URL(args.path, document.baseURI).href;
  const img = new Image();
  img.onload = () => say("img", "img: loaded " + url);
  img.onerror = () => {{ if (!document.getElementById("img").textContent.includes("blocked")) say("img", "img: failed " + url); }};
  img.src = url;
  fetch(url).then((r) => say("fetch", "fetch: loaded " + r.status), () => {{
    if (!document.getElementById("fetch").textContent.includes("blocked")) say("fetch", "fetch: failed");
  }});
}}
{_HANDSHAKE}</script></body></html>"""


def build() -> MCPServer:
    apps = Apps()

    @apps.tool(resource_uri="ui://counter/app.html", description="Start a counter (with an app)")
    def counter(start: int = 0) -> dict:
        return {"count": start}

    @apps.tool(resource_uri="ui://counter/app.html", visibility=["app"], description="Add one (for the app)")
    def increment(count: int) -> dict:
        return {"count": count + 1}

    @apps.tool(resource_uri="ui://counter/app.html", visibility=["app"], description="Answer after a while (for the app)")
    async def later(seconds: float = 0.5, size: int = 0) -> dict:
        await asyncio.sleep(seconds)
        return {"text": "z" * size}

    @apps.tool(resource_uri="ui://wander/app.html", description="An app that leaves its frame for the URL given")
    def wander(to: str) -> str:
        return f"the result of wander, secret to the app: {to}"

    @apps.tool(resource_uri="ui://probe/self.html", description="An app that loads a URL of its 'self'")
    def probe_self(path: str) -> str:
        return f"probing {path}"

    apps.add_html_resource("ui://counter/app.html", APP, permissions=ResourcePermissions(camera={}, clipboard_write={}))
    apps.add_html_resource("ui://wander/app.html", WANDER)
    apps.add_html_resource("ui://probe/self.html", SELF_PROBE)
    server = MCPServer("apps", instructions="MCP Apps for mcpomni_jupyter's tests.", extensions=[apps])

    @server.tool(description="Points at a resource that is not an app", meta={"ui": {"resourceUri": "ui://counter/not-an-app.txt"}})
    def wrong_type() -> str:
        return "the text result of wrong_type"

    @server.tool(description="For the model only: an app may not call it", meta={"ui": {"visibility": ["model"]}})
    def model_only() -> str:
        return "the model's"

    @server.tool(description="Whether this client advertised MCP Apps")
    def supports_apps(ctx: Context) -> bool:
        return client_supports_apps(ctx)

    @server.tool(description="A tool without an app")
    def plain() -> str:
        return "plain text"

    @server.resource("ui://counter/not-an-app.txt", mime_type="text/plain")
    def not_an_app() -> str:
        return "<script>not an app</script>"

    return server


if __name__ == "__main__":
    serve(build)
