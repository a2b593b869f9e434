// The console's live updates: one EventSource per page on /events (server-sent events). Each event is
// re-dispatched on <body> as `hub:<kind>` and `hub:changed` (detail: the event's JSON), which the page's
// htmx elements listen to (hx-trigger="hub:changed from:body") to re-fetch their fragment. The browser
// reconnects by itself with Last-Event-ID; a `resync` event (what was missed is gone) re-fetches all.
(function () {
  "use strict";
  var live = document.body.getAttribute("data-live");
  if (!live || !window.EventSource) { return; }
  var dot = document.getElementById("live-dot");
  var source = new EventSource("/events");
  function fire(name, detail) {
    document.body.dispatchEvent(new CustomEvent(name, { detail: detail, bubbles: true }));
  }
  function onEvent(e) {
    var detail = {};
    try { detail = JSON.parse(e.data); } catch (err) { return; }
    fire("hub:" + e.type, detail);
    fire("hub:changed", detail);
    var stamp = document.getElementById("updated");
    if (stamp) { stamp.textContent = new Date().toLocaleTimeString("zh-CN", { hour12: false }); }
  }
  ["alert", "task", "conversation", "change"].forEach(function (kind) {
    source.addEventListener(kind, onEvent);
  });
  source.addEventListener("resync", function () { fire("hub:resync", {}); fire("hub:changed", {}); });
  source.addEventListener("hello", function () {
    if (dot) { dot.className = "live-dot on"; }
    document.body.setAttribute("data-live-ready", "1");
  });
  source.onerror = function () { if (dot) { dot.className = "live-dot off"; } };
})();
