// Loopdesk embeddable widget: <script src="https://support.example.com/widget.js" async></script>
// Adds a chat button in the corner that opens the same chat as the support page, in an iframe.
(function () {
  var script = document.currentScript;
  var origin = new URL(script ? script.src : "/", location.href).origin;
  var open = false;
  var frame = document.createElement("iframe");
  frame.src = origin + "/widget";
  frame.title = "Support chat";
  frame.style.cssText =
    "position:fixed;bottom:88px;right:20px;width:370px;height:560px;max-height:calc(100vh - 110px);border:0;" +
    "border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.2);display:none;z-index:2147483646;background:#fff";
  var button = document.createElement("button");
  button.type = "button";
  button.setAttribute("aria-label", "Open support chat");
  button.textContent = "Chat";
  button.style.cssText =
    "position:fixed;bottom:20px;right:20px;width:56px;height:56px;border-radius:50%;border:0;background:#1d5fd1;" +
    "color:#fff;font:600 14px system-ui,sans-serif;cursor:pointer;box-shadow:0 2px 10px rgba(0,0,0,.25);z-index:2147483647";
  button.onclick = function () {
    open = !open;
    frame.style.display = open ? "block" : "none";
    button.textContent = open ? "×" : "Chat";
  };
  document.body.appendChild(frame);
  document.body.appendChild(button);
})();
