// One push stream per open page (Server-Sent Events). Each event says
// "this part changed"; the page fetches the part it already knows how to
// fetch, through htmx triggers on <body>: push:ringing, push:due, push:inbox.
// While the stream is down, a slow poll (every FALLBACK_MS) stands in for it.
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.dataset.pushUrl;
  var TOPICS = ["ringing", "due", "inbox"];
  var FALLBACK_MS = Number((script && script.dataset.pushFallbackMs) || 25000);
  var fallback = 0, opened = false;
  window.callsopPush = false;

  function fire(topic) {
    if (!window.htmx) { return; }
    window.htmx.trigger(document.body, "push:" + topic, {});
  }

  function fireAll() { TOPICS.forEach(fire); }

  function mark(state) {
    window.callsopPush = state === "up";
    document.documentElement.dataset.push = state; // for whoever waits on the stream
  }

  function down() {
    mark("down");
    if (!fallback) { fallback = setInterval(fireAll, FALLBACK_MS); }
  }

  function up() {
    mark("up");
    if (fallback) { clearInterval(fallback); fallback = 0; }
  }

  function start() {
    if (!url || !window.EventSource) { return; }
    var source = new EventSource(url);
    source.addEventListener("hello", function () {
      // The first connect follows the page just drawn: only what rings may
      // have changed since. After a reconnect, everything is fetched again.
      if (opened) { fireAll(); } else { fire("ringing"); }
      opened = true;
      up();
    });
    TOPICS.forEach(function (topic) {
      source.addEventListener(topic, function () { fire(topic); });
    });
    source.addEventListener("all", fireAll);
    source.addEventListener("error", function () {
      down();
      // The server refused the stream (logged out): no retry comes; the
      // slow poll carries on and the log-in page is one click away.
    });
    window.callsopPushSource = source;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
