// The notebook's end of the OAuth relay (mcpomni_jupyter.ui.bridge): no build step, no imports.
// It reports the page this notebook runs in (origin, the Jupyter server's base URL), forwards what
// the relay page posts on the origin's BroadcastChannel to this kernel, and posts the kernel's answer back.
const CHANNEL = "mcpomni-oauth";
const FIELDS = ["id", "page", "code", "state", "iss", "error", "error_description"];
const MAX = 4096;

function page() {
  let base_url = null;
  const config = document.getElementById("jupyter-config-data");
  if (config) {
    try {
      const data = JSON.parse(config.textContent || "{}");
      base_url = typeof data.baseUrl === "string" ? data.baseUrl : null;
    } catch (e) {
      base_url = null;
    }
  }
  return { type: "page", origin: window.location.origin, base_url };
}

export default {
  initialize({ model }) {
    model.send(page());
    if (typeof BroadcastChannel === "undefined") {
      return () => {};
    }
    const channel = new BroadcastChannel(CHANNEL);
    const seen = new Set(); // ids this kernel has been handed: the page posts each one every second
    channel.onmessage = (event) => {
      const data = event.data;
      if (!data || data.type !== "mcpomni-oauth-callback" || typeof data.id !== "string" || seen.has(data.id)) {
        return;
      }
      const message = { type: "callback" };
      for (const key of FIELDS) {
        if (typeof data[key] === "string" && data[key].length <= MAX) {
          message[key] = data[key];
        }
      }
      seen.add(data.id);
      model.send(message);
    };
    const answer = (msg) => {
      if (msg && msg.type === "ack" && typeof msg.id === "string") {
        channel.postMessage({
          type: "mcpomni-oauth-ack",
          id: msg.id,
          status: String(msg.status || ""),
          title: String(msg.title || ""),
          message: String(msg.message || ""),
        });
      }
    };
    model.on("msg:custom", answer);
    return () => {
      model.off("msg:custom", answer);
      channel.close();
    };
  },
  render({ el }) {
    el.style.display = "none";
  },
};
