// The console's live updates: one EventSource per page on /events (server-sent events). Events are
// gathered for COALESCE_MS and then announced once on <body> as `hub:changed` (detail: the conversations
// they touched and their kinds), which the page's htmx elements listen to (hx-trigger="hub:changed from:body")
// to re-fetch their fragment. Gathering (not htmx's throttle, which drops what comes within its window) means
// the last event of a burst always leads to a re-fetch that starts after it. The browser reconnects by itself
// with Last-Event-ID; a `resync` event (what was missed is gone) re-fetches everything.
(function () {
  "use strict";
  var COALESCE_MS = 250;
  var live = document.body.getAttribute("data-live");
  if (!live || !window.EventSource) { return; }
  var dot = document.getElementById("live-dot");
  var source = new EventSource("/events");
  var pending = null;
  function announce() {
    var detail = pending;
    pending = null;
    document.body.dispatchEvent(new CustomEvent("hub:changed", { detail: detail, bubbles: true }));
    var stamp = document.getElementById("updated");
    if (stamp) {
      var zone = document.body.getAttribute("data-tz") || undefined;
      stamp.textContent = new Date().toLocaleTimeString("zh-CN", { hour12: false, timeZone: zone });
    }
  }
  function gather(kind, event) {
    if (pending === null) {
      pending = { kinds: [], conversation_ids: [], all: false };
      window.setTimeout(announce, COALESCE_MS);
    }
    if (pending.kinds.indexOf(kind) < 0) { pending.kinds.push(kind); }
    if (event && event.conversation_id != null && pending.conversation_ids.indexOf(event.conversation_id) < 0) {
      pending.conversation_ids.push(event.conversation_id);
    }
    if (kind === "resync") { pending.all = true; }
  }
  function onEvent(e) {
    var event;
    try { event = JSON.parse(e.data); } catch (err) { return; }
    gather(e.type, event);
  }
  ["alert", "task", "conversation", "change"].forEach(function (kind) {
    source.addEventListener(kind, onEvent);
  });
  source.addEventListener("resync", function () { gather("resync", null); });
  source.addEventListener("hello", function () {
    if (dot) { dot.className = "live-dot on"; }
    document.body.setAttribute("data-live-ready", "1");
  });
  source.onerror = function () { if (dot) { dot.className = "live-dot off"; } };
})();
