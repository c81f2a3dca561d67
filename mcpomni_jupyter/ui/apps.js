// The MCP Apps host of mcpomni_jupyter (ui/apps.py): a hand-written host side of the
// io.modelcontextprotocol/ui postMessage protocol (JSON-RPC 2.0), no build step, no imports.
// The app runs in an iframe sandboxed with "allow-scripts" only: an opaque origin, so it can
// reach neither the notebook page nor the Jupyter server; its Content-Security-Policy (built
// by the kernel from the resource's _meta.ui.csp) comes first in its document. Its requests to
// the server travel through the kernel; it cannot open a window or a link by itself, and a frame
// that navigates away from our document is removed.
const PROTOCOL = "2026-01-26";
const MAX_HEIGHT = 4000;

function attr(text) {
  return String(text).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function theme() {
  const light = document.body && document.body.dataset ? document.body.dataset.jpThemeLight : undefined;
  return light === "false" ? "dark" : "light";
}

export default {
  render({ model, el }) {
    const started = performance.now();
    const box = document.createElement("div");
    box.className = "mcpomni-app";
    const frame = document.createElement("iframe");
    frame.setAttribute("sandbox", "allow-scripts");
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.setAttribute("title", `MCP App ${model.get("uri")}`);
    if (model.get("allow")) {
      frame.setAttribute("allow", model.get("allow"));
    }
    const border = model.get("prefers_border");
    frame.style.cssText = `width:100%;height:150px;display:block;background:transparent;border:${border === false ? "0" : "1px solid #ccc"};border-radius:4px`;
    const notes = document.createElement("div");
    notes.className = "mcpomni-app-notes";
    box.append(frame, notes);
    el.appendChild(box);
    // An app may navigate its own frame (window.location = ...) without a click, and a meta policy does
    // not govern navigation: the frame is removed the moment a document other than ours loads in it.
    // The frame keeps its window across its own navigations, and gets a new one when JupyterLab moves
    // the output (re-inserting the frame reloads our document): a load in the same window is a wander.
    let loadedIn = null;
    let left = false;
    const onLoad = () => {
      const win = frame.contentWindow;
      if (loadedIn === null || win !== loadedIn) {
        loadedIn = win;
        return;
      }
      left = true;
      frame.removeEventListener("load", onLoad);
      frame.remove();
      note("This app left its frame (it navigated to another page), so it was removed; the tool's result is above.");
      model.send({ type: "left" });
    };
    frame.addEventListener("load", onLoad);
    // our doctype and policy come first, before anything of the app's (a policy later in the document,
    // or inside something the app opened, such as a comment, would not hold)
    frame.srcdoc = `<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="${attr(model.get("csp"))}">` + model.get("html");

    let initialized = false;
    let seq = 0;
    const pending = new Map(); // our key -> the app's request id
    const post = (message) => {
      if (frame.contentWindow) {
        frame.contentWindow.postMessage(message, "*"); // an opaque origin has no name to target
      }
    };
    const reply = (id, result) => post({ jsonrpc: "2.0", id, result });
    const fail = (id, code, message) => post({ jsonrpc: "2.0", id, error: { code, message } });
    const note = (text, url) => {
      const line = document.createElement("div");
      line.style.cssText = "font-size:90%;margin:2px 0;overflow-wrap:anywhere";
      line.textContent = text;
      if (url) {
        const open = document.createElement("button");
        open.textContent = "Open";
        open.className = "jupyter-widgets jupyter-button widget-button";
        open.style.marginLeft = "6px";
        open.addEventListener("click", () => window.open(url, "_blank", "noopener,noreferrer"));
        line.appendChild(open);
      }
      notes.appendChild(line);
    };
    const context = () => ({
      toolInfo: { tool: model.get("tool_info") },
      theme: theme(),
      displayMode: "inline",
      availableDisplayModes: ["inline"],
      containerDimensions: { width: Math.max(box.clientWidth, 100), maxHeight: MAX_HEIGHT },
      locale: navigator.language,
      timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      userAgent: "mcpomni-jupyter",
      platform: "web",
    });

    const handle = (msg) => {
      const id = msg.id;
      const request = id !== undefined && id !== null;
      switch (msg.method) {
        case "ui/initialize":
          reply(id, {
            protocolVersion: PROTOCOL,
            hostInfo: { name: "mcpomni-jupyter", version: model.get("host_version") },
            hostCapabilities: {
              openLinks: {},
              serverTools: {},
              serverResources: {},
              logging: {},
              sandbox: { permissions: model.get("granted") },
            },
            hostContext: context(),
          });
          return;
        case "ui/notifications/initialized":
          if (!initialized) {
            initialized = true;
            post({ jsonrpc: "2.0", method: "ui/notifications/tool-input", params: { arguments: model.get("tool_input") } });
            post({ jsonrpc: "2.0", method: "ui/notifications/tool-result", params: model.get("tool_result") });
            model.send({ type: "initialized", ms: Math.round(performance.now() - started) });
          }
          return;
        case "ui/notifications/size-changed": {
          const height = Number((msg.params || {}).height);
          if (Number.isFinite(height) && height > 0) {
            frame.style.height = `${Math.min(Math.ceil(height), MAX_HEIGHT)}px`;
          }
          return;
        }
        case "ping":
          if (request) reply(id, {});
          return;
        case "tools/call":
        case "resources/read":
          if (request) {
            seq += 1;
            pending.set(seq, id);
            model.send({ type: "request", key: seq, method: msg.method, params: msg.params || {} });
          }
          return;
        case "notifications/message":
          model.send({ type: "log", params: msg.params || {} });
          return;
        case "ui/open-link": {
          const url = String((msg.params || {}).url || "");
          if (!/^https?:\/\/\S+$/i.test(url) || url.length > 4096) {
            if (request) fail(id, -32000, "Invalid URL: only http and https links are shown");
            return;
          }
          note(`The app asks to open ${url}`, url); // never opened without the person's click
          if (request) reply(id, {});
          return;
        }
        case "ui/message": {
          const content = (msg.params || {}).content;
          const blocks = Array.isArray(content) ? content : [content];
          const text = blocks.map((b) => (b && b.type === "text" ? String(b.text) : "")).join(" ").slice(0, 2000);
          note(`The app says: ${text}`);
          model.send({ type: "message", params: msg.params || {} });
          if (request) reply(id, {});
          return;
        }
        case "ui/update-model-context":
          model.send({ type: "context", params: msg.params || {} });
          if (request) reply(id, {});
          return;
        case "ui/request-display-mode":
          if (request) reply(id, { mode: "inline" });
          return;
        default:
          if (request) fail(id, -32601, `Method not found: ${String(msg.method).slice(0, 100)}`);
      }
    };

    const onMessage = (event) => {
      if (left || event.source !== frame.contentWindow) {
        return; // only this app's frame speaks to this host
      }
      const msg = event.data;
      if (!msg || typeof msg !== "object" || msg.jsonrpc !== "2.0" || typeof msg.method !== "string") {
        return; // responses (to our teardown) and anything else
      }
      handle(msg);
    };
    window.addEventListener("message", onMessage);

    const answer = (msg) => {
      if (!msg || msg.type !== "response" || !pending.has(msg.key)) {
        return;
      }
      const id = pending.get(msg.key);
      pending.delete(msg.key);
      if (msg.error) {
        fail(id, Number.isInteger(msg.error.code) ? msg.error.code : -32000, String(msg.error.message || "failed"));
      } else {
        reply(id, msg.result || {});
      }
    };
    model.on("msg:custom", answer);

    const themeWatch = new MutationObserver(() => {
      if (initialized) {
        post({ jsonrpc: "2.0", method: "ui/notifications/host-context-changed", params: { theme: theme() } });
      }
    });
    if (document.body) {
      themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light"] });
    }

    return () => {
      if (initialized) {
        post({ jsonrpc: "2.0", id: "teardown", method: "ui/resource-teardown", params: { reason: "the output was cleared" } });
      }
      themeWatch.disconnect();
      frame.removeEventListener("load", onLoad);
      model.off("msg:custom", answer);
      window.removeEventListener("message", onMessage);
    };
  },
};
