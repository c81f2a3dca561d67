"""The OAuth relay: a Jupyter server extension that serves ``{base_url}mcpomni/oauth/callback``.

Where the browser cannot reach the kernel's localhost (JupyterHub, Binder, a
kernel in a container or on a cluster, JupyterLab through a tunnel or a
proxy), the OAuth redirect comes back through the Jupyter server instead: it
is reached wherever the notebook itself is.  The page is behind the Jupyter
server's own login.  It is static: the code and state reach it in the
redirect's query, its script takes them from there, removes them from the
address bar and the history at once (``history.replaceState``), and posts them
on a ``BroadcastChannel`` of the notebook's origin, with the page's own path
(a kernel takes a code only from its own relay page: on a JupyterHub all
users' servers share the origin).  A small widget in each
notebook of this browser (``ui.bridge``) forwards them to its kernel over the
widget's comm; the kernel whose authorization waits for that ``state`` takes
the code (first valid state wins; the others, and a replay, answer "unknown")
and the page says "You can close this tab" — or, when no notebook took it,
what to do.  The kernel's side is ``relay_route``; the bridge is ``ui.bridge``.

Nothing new to trust: the server never sees the code in a form it keeps (the
request's query is dropped from the request before anything logs it; Jupyter
would scrub ``code`` and ``state`` from its logs anyway), never stores it,
never writes it into the page; the page's script sends it only on the
origin's channel.  A code without the PKCE verifier, which stays in the
kernel, is useless to anyone who sees it.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from mcpomni_jupyter.defaults import RELAY_PATH

CHANNEL = "mcpomni-oauth"
ACK_WAIT_MS = 15_000  # how long the page posts and waits for a notebook to take the code
REFUSED_WAIT_MS = 3_000  # after a notebook said "not mine", how long another one may still take it

_SCRIPT = (
    """
(() => {
  const query = new URLSearchParams(window.location.search);
  window.history.replaceState(null, "", window.location.pathname);  // the code leaves the address bar and history
  const status = document.getElementById("status");
  const detail = document.getElementById("detail");
  const say = (title, text) => { status.textContent = title; detail.textContent = text; };
  const message = {type: "mcpomni-oauth-callback", id: Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(""),
                   page: window.location.pathname};  // which relay page: a kernel takes only its own (one origin, many users)
  for (const key of ["code", "state", "iss", "error", "error_description"]) {
    if (query.has(key)) { message[key] = query.get(key); }
  }
  if (!message.state) {
    say("Nothing to hand over", "This page finishes a sign-in started from a notebook; it was opened without one " +
        "(or reloaded). Start again from the notebook: click Authorize, or run %mcp auth NAME.");
    return;
  }
  if (typeof BroadcastChannel === "undefined") {
    say("This browser cannot hand the sign-in over", "Use the notebook's paste box instead.");
    return;
  }
  const channel = new BroadcastChannel("@CHANNEL@");
  let taken = false;
  let refused = null;
  let shown = null;
  channel.onmessage = (event) => {
    const ack = event.data || {};
    if (ack.type !== "mcpomni-oauth-ack" || ack.id !== message.id || taken) { return; }
    if (ack.status === "taken") {
      taken = true;
      clearTimeout(shown);
      say(String(ack.title || "Authorization complete"), String(ack.message || "You can close this tab."));
      channel.close();
    } else if (!refused) {
      refused = ack;  // another notebook of this browser may still take it: wait a little
      shown = setTimeout(() => { if (!taken) { say(String(refused.title || "Not taken"), String(refused.message || "")); } }, @REFUSED@);
    }
  };
  const post = () => { if (!taken) { channel.postMessage(message); } };
  post();
  const again = setInterval(post, 1000);  // a notebook tab that is still loading gets it too
  setTimeout(() => {
    clearInterval(again);
    if (taken || refused) { return; }
    say("No notebook took this sign-in",
        "Keep the notebook that started it open in this browser, with its kernel running, and start again " +
        "from it (click Authorize, or run %mcp auth NAME). If the notebook is open, its kernel may be busy " +
        "with a long cell: wait for it, then start again.");
  }, @WAIT@);
})();
""".replace("@CHANNEL@", CHANNEL)
    .replace("@WAIT@", str(ACK_WAIT_MS))
    .replace("@REFUSED@", str(REFUSED_WAIT_MS))
)

_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_STYLE = "body{font-family:sans-serif;margin:3em}"
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
CSP = (
    f"default-src 'none'; script-src 'sha256-{_SCRIPT_HASH}'; style-src 'sha256-{_STYLE_HASH}'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><meta name='referrer' content='no-referrer'>"
    f"<title>Notebook sign-in</title><style>{_STYLE}</style></head><body>"
    "<h2 id='status'>Handing the sign-in to your notebook…</h2><p id='detail'></p>"
    f"<script>{_SCRIPT}</script></body></html>"
)


def _handler_class() -> type:
    from jupyter_server.base.handlers import JupyterHandler
    from tornado import web

    class RelayHandler(JupyterHandler):
        """The relay page: static, behind the Jupyter server's login, never echoing what it carries."""

        async def prepare(self, *, _redirect_to_login: bool = True) -> None:
            # before anything sees it (the request log, the login redirect's next=): the query holds the code
            request = self.request
            request.uri, request.query, request.query_arguments, request.arguments = request.path, "", {}, {}
            await super().prepare(_redirect_to_login=_redirect_to_login)

        @web.authenticated
        def get(self) -> None:
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            self.set_header("Referrer-Policy", "no-referrer")
            self.set_header("Content-Security-Policy", CSP)
            self.set_header("X-Content-Type-Options", "nosniff")
            self.finish(PAGE)

    return RelayHandler


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add the relay page to a running Jupyter server (``jupyter_server_config.d`` enables this on install)."""
    from jupyter_server.utils import url_path_join

    web_app = serverapp.web_app
    route = url_path_join(web_app.settings["base_url"], RELAY_PATH)
    web_app.add_handlers(".*$", [(route, _handler_class())])
    serverapp.log.info("mcpomni_jupyter: the OAuth relay serves %s", route)


load_jupyter_server_extension = _load_jupyter_server_extension  # the older name, for older Jupyter servers
