// callsop desk: timers, keyboard, and keeping what the clerk types.
(function () {
  "use strict";
  var skew = 0; // server clock minus ours, so timers agree with the server's times

  function readSkew() {
    var s = document.body && document.body.dataset.serverNow;
    if (s) { skew = Date.parse(s) - Date.now(); }
  }

  function secondsSince(iso) {
    return Math.max(0, (Date.now() + skew - Date.parse(iso)) / 1000);
  }

  function fmt(seconds) {
    var m = Math.floor(seconds / 60), s = Math.floor(seconds % 60);
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function showSibling(el, selector, on) {
    var panel = el.closest(".panel, .ringing-call, main") || document;
    panel.querySelectorAll(selector).forEach(function (p) { p.hidden = !on; });
  }

  function tick() {
    document.querySelectorAll("[data-timer]").forEach(function (el) {
      var since = el.dataset.since;
      if (!since) { return; }
      var t = secondsSince(since), kind = el.dataset.timer;
      if (kind === "ring") {
        var period = parseFloat(el.dataset.period) || 3, limit = parseInt(el.dataset.limit, 10) || 3;
        var rings = Math.max(1, Math.ceil(t / period));
        el.textContent = "響鈴 " + rings + " 聲 · " + Math.floor(t) + " 秒";
        var late = rings > limit || (el.dataset.outbound !== undefined && rings >= limit);
        el.classList.toggle("urgent", late);
        showSibling(el, ".late-line", late);
      } else if (kind === "hold") {
        var max = parseFloat(el.dataset.limit) || 60, warn = parseFloat(el.dataset.warn) || max - 15;
        var left = max - t;
        el.textContent = left >= 0 ? "保留中 · 剩 " + Math.ceil(left) + " 秒" : "保留已超過 " + Math.floor(-left) + " 秒！請回到通話";
        el.classList.toggle("warn", t >= warn && left >= 0);
        el.classList.toggle("over", left < 0);
      } else if (kind === "talk") {
        var text = "通話 " + fmt(t), budget = parseFloat(el.dataset.budget);
        if (budget) { text += " / 預計 " + budget + " 分"; }
        el.textContent = text;
        var ask = parseFloat(el.dataset.ask);
        if (ask) { showSibling(el, ".ask-line", t >= ask); }
        el.classList.toggle("warn", !!budget && t > budget * 60);
      }
    });
  }

  // Keyboard: A answers, H holds or resumes, E ends, D dials, N a new call.
  // Plain keys act outside text fields; with Alt they act anywhere.
  document.addEventListener("keydown", function (ev) {
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(ev.target.tagName);
    if ((typing && !ev.altKey) || ev.ctrlKey || ev.metaKey) { return; }
    var key = ev.key.toLowerCase();
    var button = document.querySelector('button[data-key="' + key + '"]');
    if (button && button.offsetParent !== null) { ev.preventDefault(); button.click(); }
  });

  // What the clerk types is kept in the browser until the server has it,
  // so a reload or a server restart in between loses nothing.
  function draftKey(form) { return "callsop-draft-" + form.dataset.call; }

  function formValues(form) {
    var data = {};
    form.querySelectorAll("input[name], textarea[name]").forEach(function (f) {
      if (f.type === "hidden") { return; }
      data[f.name] = f.type === "checkbox" ? f.checked : f.value;
    });
    return data;
  }

  function updateMeter(form) {
    var filled = 0;
    form.querySelectorAll("[data-note]").forEach(function (f) { if (f.value.trim()) { filled += 1; } });
    var meter = document.getElementById("note-meter"), count = document.getElementById("note-count");
    if (meter) { meter.value = filled; }
    if (count) { count.textContent = filled; }
  }

  function restoreDraft(form) {
    var raw = localStorage.getItem(draftKey(form));
    if (!raw) { return; }
    var data = JSON.parse(raw), changed = false;
    Object.keys(data).forEach(function (name) {
      var f = form.querySelector('[name="' + name + '"]:not([type="hidden"])');
      if (!f) { return; }
      if (f.type === "checkbox") { if (f.checked !== data[name]) { f.checked = data[name]; changed = true; } }
      else if (f.value !== data[name]) { f.value = data[name]; changed = true; }
    });
    updateMeter(form);
    if (changed && window.htmx) { htmx.trigger(form, "change"); }
    else { localStorage.removeItem(draftKey(form)); }
  }

  function wireDetails(root) {
    var form = (root || document).querySelector ? (root || document).querySelector("form#details") : null;
    if (!form || form.dataset.wired) { return; }
    form.dataset.wired = "1";
    form.addEventListener("input", function () {
      localStorage.setItem(draftKey(form), JSON.stringify(formValues(form)));
      updateMeter(form);
      document.getElementById("saved").textContent = "儲存中…";
    });
    form.addEventListener("change", function () {
      localStorage.setItem(draftKey(form), JSON.stringify(formValues(form)));
    });
    form.addEventListener("htmx:afterRequest", function (ev) {
      if (ev.detail.successful) { localStorage.removeItem(draftKey(form)); }
      else { document.getElementById("saved").textContent = "尚未儲存（連線中斷，內容保留在這台電腦，恢復後自動送出）"; }
    });
    restoreDraft(form);
  }

  // Retry a failed save when the connection comes back.
  setInterval(function () {
    var form = document.querySelector("form#details");
    if (form && window.htmx && localStorage.getItem(draftKey(form))) { htmx.trigger(form, "change"); }
  }, 5000);

  // The scorecard's ▶: plays the recording from a moment of the call, one
  // second early, so the words are heard from their start.
  function playFrom(button) {
    var audio = document.getElementById("player");
    if (!audio) { return; }
    var offset = parseFloat(audio.dataset.offset) || 0;
    var at = Math.max(0, parseFloat(button.dataset.play) - offset - 1);
    var seek = function () { audio.currentTime = at; audio.play().catch(function () {}); };
    if (audio.readyState >= 1) { seek(); } else { audio.addEventListener("loadedmetadata", seek, { once: true }); audio.load(); }
    document.querySelectorAll("button.play.playing").forEach(function (b) { b.classList.remove("playing"); });
    button.classList.add("playing");
  }
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("button[data-play]");
    if (button) { ev.preventDefault(); playFrom(button); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    readSkew();
    wireDetails(document);
    tick();
    setInterval(tick, 250);
  });
  document.addEventListener("htmx:load", function () { tick(); });
})();
