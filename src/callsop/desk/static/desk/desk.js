// callsop desk: timers, keyboard, the connection banner, and why an action failed.
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
  // Plain keys act outside text fields; with Alt they act anywhere. While a
  // dialog asks something, its own fields have the keys.
  document.addEventListener("keydown", function (ev) {
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(ev.target.tagName);
    if ((typing && !ev.altKey) || ev.ctrlKey || ev.metaKey) { return; }
    if (document.querySelector("dialog[open]")) { return; }
    var key = ev.key.toLowerCase();
    var button = document.querySelector('button[data-key="' + key + '"]');
    if (button && button.offsetParent !== null) { ev.preventDefault(); button.click(); }
  });

  // The server out of reach: a banner says so until it answers again, and
  // `callsop:online` tells the page to send what it kept.
  var banner = null, probe = null;

  function offline(on) {
    if (!banner) {
      banner = document.createElement("div");
      banner.id = "offline-banner";
      banner.className = "offline-banner";
      banner.setAttribute("role", "alert");
      banner.textContent = "連不上伺服器。您輸入的內容保留在這台電腦，恢復連線後會自動送出；在此之前按下的動作不會完成，請恢復後再按一次。";
      banner.hidden = true;
      document.body.prepend(banner);
    }
    if (on === !banner.hidden) { return; }
    banner.hidden = !on;
    if (on) { probe = setInterval(reach, 2000); return; }
    clearInterval(probe);
    document.dispatchEvent(new CustomEvent("callsop:online"));
  }

  function reach() {
    fetch(location.pathname, { method: "HEAD", cache: "no-store", credentials: "same-origin" })
      .then(function (r) { if (r.status < 502) { offline(false); } }, function () {});
  }

  window.callsopOffline = offline;

  // Every refused or failed action says why beside the button that was
  // pressed, in view; a refusal that came back in a new panel is moved there.
  function refusalText(xhr) {
    var header = xhr.getResponseHeader("X-Callsop-Refused");
    if (header) { return decodeURIComponent(header); }
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
      var found = doc.querySelector("[role=alert], .error");
      if (found && found.textContent.trim()) { return found.textContent.trim(); }
    } catch (e) { /* not HTML: the status says enough */ }
    return "無法完成（伺服器回應 " + xhr.status + "）。";
  }

  function formFor(ctx) {
    if (ctx.form && ctx.form.isConnected) { return ctx.form; }
    return ctx.post ? document.querySelector('form[hx-post="' + ctx.post + '"]') : null;
  }

  function say(ctx, text, kind) {
    var form = formFor(ctx), note = document.createElement("p");
    note.className = (kind || "error") + " action-message";
    note.setAttribute("role", kind === "ok" ? "status" : "alert");
    note.textContent = text;
    if (!form) {
      (document.getElementById("call-panel") || document.querySelector("main")).prepend(note);
    } else {
      var dialog = form.querySelector("dialog[open]");
      var status = dialog && dialog.querySelector(".end-status");
      if (status) { status.textContent = text; }
      var anchor = form.querySelector("[data-end-open]");
      if (anchor) { anchor.after(note); } else { form.after(note); }
      for (var d = note.closest("details"); d; d = d.parentElement.closest("details")) { d.open = true; }
      form.callsopMessage = note;
    }
    note.scrollIntoView({ block: "center" });
    return note;
  }

  function unsay(form) {
    if (form && form.callsopMessage) { form.callsopMessage.remove(); form.callsopMessage = null; }
  }

  document.addEventListener("htmx:beforeRequest", function (ev) {
    var elt = ev.detail.elt;
    ev.detail.xhr.callsop = {
      form: elt, post: elt.getAttribute("hx-post"),
      // A poll or a look-up that fails is not an action: the banner is enough.
      quiet: (ev.detail.requestConfig && ev.detail.requestConfig.verb) === "get",
    };
    unsay(elt);
  });

  document.addEventListener("htmx:afterRequest", function (ev) {
    var xhr = ev.detail.xhr, ctx = xhr && xhr.callsop;
    if (!ctx) { return; }
    if (xhr.status === 0) {
      offline(true);
      if (!ctx.quiet) { say(ctx, "連不上伺服器，這個動作沒有完成；恢復連線後請再按一次。"); }
      return;
    }
    offline(false);
    if (xhr.status >= 400 && !ctx.quiet) { say(ctx, refusalText(xhr)); }
  });

  document.addEventListener("htmx:afterSettle", function (ev) {
    var xhr = ev.detail.xhr, ctx = xhr && xhr.callsop;
    if (!ctx || !xhr.getResponseHeader("X-Callsop-Refused")) { return; }
    var shown = ev.detail.target && ev.detail.target.querySelector("[data-refusal]");
    if (shown) { shown.remove(); }
    say(ctx, refusalText(xhr));
  });

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
    tick();
    setInterval(tick, 250);
  });
  document.addEventListener("htmx:load", function () { tick(); });
})();
