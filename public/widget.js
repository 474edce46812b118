// Loopdesk embeddable widget: <script src="https://support.example.com/widget.js" async></script>
// Adds a chat button in the corner that opens the same chat as the support page, in an iframe.
(function () {
  if (window.__loopdeskWidget) return; // the snippet pasted twice adds one button
  window.__loopdeskWidget = true;
  // currentScript is only set while this file runs: read it now, not once the page has loaded.
  var script = document.currentScript;
  var origin = new URL(script ? script.src : "/", location.href).origin;
  var open = false;
  var frame = null;
  var button = null;

  function toggle() {
    open = !open;
    if (!frame) {
      // The chat (and its connection) is loaded on first open, not on every page view of the shop.
      frame = document.createElement("iframe");
      frame.src = origin + "/widget";
      frame.title = "Support chat";
      frame.style.cssText =
        "position:fixed;bottom:88px;right:20px;width:370px;max-width:calc(100vw - 40px);height:560px;" +
        "max-height:calc(100vh - 110px);border:0;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.2);" +
        "z-index:2147483646;background:#fff";
      document.body.appendChild(frame);
    }
    frame.style.display = open ? "block" : "none";
    button.textContent = open ? "×" : "Chat";
    button.style.fontSize = open ? "26px" : "14px";
    button.setAttribute("aria-label", open ? "Close support chat" : "Open support chat");
    button.setAttribute("aria-expanded", String(open));
  }

  function mount() {
    button = document.createElement("button");
    button.type = "button";
    button.setAttribute("aria-label", "Open support chat");
    button.setAttribute("aria-expanded", "false");
    button.textContent = "Chat";
    button.style.cssText =
      "position:fixed;bottom:20px;right:20px;width:56px;height:56px;padding:0;border-radius:50%;border:0;" +
      "background:#1d5fd1;color:#fff;font:600 14px system-ui,sans-serif;cursor:pointer;" +
      "box-shadow:0 2px 10px rgba(0,0,0,.25);z-index:2147483647";
    button.onclick = toggle;
    document.body.appendChild(button);
  }

  // An async script in <head> can run before <body> exists.
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
