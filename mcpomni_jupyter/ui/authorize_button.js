// The Authorize button (mcpomni_jupyter.ui.authorize): it opens the authorization page in *this*
// browser, the one the notebook (and, for the relay, the Jupyter server's login) lives in.
// A click while a link waits opens it at once; otherwise the kernel starts the authorization and
// the link opens when it arrives, while the click still counts as the person's (browsers allow a
// window a few seconds after a click, not later: then the link is there to click).
const GRACE_MS = 4500;

// The page this button is shown in, as the relay's end reports it (bridge.js): the kernel needs it before an
// authorization through the relay can start, and a row shown is a front end that has the page.
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

function openable(url) {
  return typeof url === "string" && /^https?:\/\/[^\s]+$/i.test(url);
}

export default {
  render({ model, el }) {
    const button = document.createElement("button");
    button.className = "jupyter-widgets jupyter-button widget-button mod-primary";
    button.title = "Open the authorization page in a new tab of this browser";
    let clicked = 0;
    const draw = () => {
      button.textContent = model.get("description");
      button.disabled = Boolean(model.get("disabled"));
    };
    const open = (url) => {
      window.open(url, "_blank", "noopener,noreferrer");
      model.send({ type: "click", opened: true }); // "noopener" windows are never returned
    };
    button.addEventListener("click", () => {
      const url = model.get("url");
      if (openable(url)) {
        open(url);
      } else {
        clicked = Date.now();
        model.send({ type: "click", opened: false });
      }
    });
    const arrived = () => {
      const url = model.get("url");
      if (clicked && Date.now() - clicked < GRACE_MS && openable(url)) {
        clicked = 0;
        window.open(url, "_blank", "noopener,noreferrer");
      }
    };
    model.on("change:description", draw);
    model.on("change:disabled", draw);
    model.on("change:url", arrived);
    draw();
    el.appendChild(button);
    model.send(page());
    return () => {
      model.off("change:description", draw);
      model.off("change:disabled", draw);
      model.off("change:url", arrived);
    };
  },
};
