// The call screen keeps everything the clerk types until the server has it:
// a draft per call and field in this browser, restored into every new panel
// and after a reload, dropped once the save or the action that used it
// succeeded. Ending a call asks first, and waits for the last save.
(function () {
  "use strict";
  var PREFIX = "callsop-draft:", KEEP_MS = 7 * 24 * 3600 * 1000;
  var details = null, timer = null, saving = null;

  // localStorage can refuse (full, or switched off); a draft is then only on the screen.
  function stored(key) { try { return localStorage.getItem(key); } catch (e) { return null; } }
  function store(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* on screen only */ } }
  function unstore(key) { try { localStorage.removeItem(key); } catch (e) { /* nothing kept */ } }
  function storedKeys(prefix) {
    var keys = [];
    try {
      for (var i = 0; i < localStorage.length; i++) {
        var key = localStorage.key(i);
        if (key && key.indexOf(prefix) === 0) { keys.push(key); }
      }
    } catch (e) { /* nothing kept */ }
    return keys;
  }

  function callOf(el) { var holder = el.closest("[data-call]"); return holder ? holder.dataset.call : ""; }
  function scopeKey(call, scope) { return PREFIX + call + ":" + (scope ? scope + ":" : ""); }

  function fields(form) {
    return Array.prototype.filter.call(form.querySelectorAll("input[name], textarea[name], select[name]"), function (f) {
      return f.type !== "hidden" && f.type !== "radio" && !f.readOnly && !f.closest("dialog");
    });
  }
  function valueOf(f) { return f.type === "checkbox" ? f.checked : f.value; }
  function keyOf(form, f) { return scopeKey(callOf(form), form.dataset.draft) + f.name; }

  function draftOf(form, f) {
    var raw = stored(keyOf(form, f));
    if (!raw) { return undefined; }
    try { return JSON.parse(raw).v; } catch (e) { return undefined; }
  }
  function keep(form, f) {
    if (fields(form).indexOf(f) >= 0) { store(keyOf(form, f), JSON.stringify({ v: valueOf(f), at: Date.now() })); }
  }
  function pending(form) { return fields(form).filter(function (f) { return draftOf(form, f) !== undefined; }); }
  function snapshot(form) {
    var sent = {};
    fields(form).forEach(function (f) { sent[f.name] = valueOf(f); });
    return sent;
  }

  // Drops the drafts of a call (of one form, with `scope`), each unless it
  // was typed again after `sent` was taken.
  function forget(call, scope, sent) {
    var prefix = scopeKey(call, scope);
    storedKeys(prefix).forEach(function (key) {
      var name = key.slice(prefix.length), v;
      try { v = JSON.parse(stored(key)).v; } catch (e) { v = undefined; }
      if (!sent || (scope && Object.prototype.hasOwnProperty.call(sent, name) && sent[name] === v)) { unstore(key); }
    });
  }

  function restore(form) {
    var changed = 0;
    fields(form).forEach(function (f) {
      var v = draftOf(form, f);
      if (v === undefined) { return; }
      if (f.type === "checkbox") { if (f.checked !== v) { f.checked = v; changed += 1; } }
      else if (f.value !== v) { f.value = v; changed += 1; }
    });
    return changed;
  }

  function dropStale() {
    storedKeys(PREFIX).forEach(function (key) {
      var at = 0;
      try { at = JSON.parse(stored(key)).at || 0; } catch (e) { at = 0; }
      if (Date.now() - at > KEEP_MS) { unstore(key); }
    });
  }

  // A draft kept by the page as it was before (one blob per call) becomes per-field drafts.
  function adoptOldDraft(form) {
    var old = "callsop-draft-" + callOf(form), raw = stored(old);
    if (!raw) { return; }
    try {
      var data = JSON.parse(raw);
      fields(form).forEach(function (f) {
        if (Object.prototype.hasOwnProperty.call(data, f.name)) {
          store(keyOf(form, f), JSON.stringify({ v: data[f.name], at: Date.now() }));
        }
      });
    } catch (e) { /* unreadable: nothing to adopt */ }
    unstore(old);
  }

  // The caller form, the 5W1H note and the plan: saved 400 ms after typing
  // stops, at once on a change, and again whenever the server is back.
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function savedLine(text) { var el = document.getElementById("saved"); if (el) { el.textContent = text; } }

  function meter(form) {
    var filled = 0;
    form.querySelectorAll("[data-note]").forEach(function (f) { if (f.value.trim()) { filled += 1; } });
    var bar = document.getElementById("note-meter"), count = document.getElementById("note-count");
    if (bar) { bar.value = filled; }
    if (count) { count.textContent = filled; }
  }

  // The checklist before dialling, read again after each save; one read at
  // a time, so a late answer never lands on a list already replaced.
  var checking = false, checkAgain = false;
  function planCheck() {
    var check = document.querySelector("#call-panel [data-plan-check]");
    var panel = document.getElementById("call-panel");
    if (!check || !panel || !window.htmx) { return; }
    if (checking) { checkAgain = true; return; }
    checking = true;
    var done = function () {
      checking = false;
      if (checkAgain) { checkAgain = false; planCheck(); }
    };
    htmx.ajax("GET", panel.dataset.panel, { target: check, swap: "outerHTML", select: "[data-plan-check]" }).then(done, done);
  }

  function send(form) {
    var sent = snapshot(form);
    return fetch(form.dataset.save, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "HX-Request": "true" },
    }).then(function (r) {
      if (r.redirected) { throw new Error("登入已逾時，請重新登入"); }
      if (!r.ok) { throw new Error("伺服器回應 " + r.status); }
      return r.text();
    }).then(function (text) {
      window.callsopOffline(false);
      forget(callOf(form), "details", sent);
      savedLine(text);
      planCheck();
      return true;
    }, function (err) {
      var unreachable = err instanceof TypeError;
      if (unreachable) { window.callsopOffline(true); }
      savedLine("尚未儲存（" + (unreachable ? "連不上伺服器" : err.message) + "）：內容保留在這台電腦，恢復後自動送出");
      return false;
    });
  }

  // Resolves true once everything typed so far is on the server, false if a save failed.
  function save(form) {
    clearTimeout(timer);
    timer = null;
    if (saving) { return saving.then(function (ok) { return ok && pending(form).length ? save(form) : ok; }); }
    if (!pending(form).length) { return Promise.resolve(true); }
    saving = send(form).then(function (ok) {
      saving = null;
      return ok && pending(form).length ? save(form) : ok;
    });
    return saving;
  }

  function wireDetails(form) {
    details = form;
    adoptOldDraft(form);
    restore(form);
    meter(form);
    form.addEventListener("input", function (ev) {
      keep(form, ev.target);
      meter(form);
      savedLine("儲存中…");
      clearTimeout(timer);
      timer = setTimeout(function () { save(form); }, 400);
    });
    form.addEventListener("change", function (ev) { keep(form, ev.target); save(form); });
    form.addEventListener("submit", function (ev) { ev.preventDefault(); save(form); });
    if (pending(form).length) { save(form); }
  }

  document.addEventListener("callsop:online", function () { if (details) { save(details); } });
  setInterval(function () {
    if (details && !saving && !timer && pending(details).length) { save(details); }
  }, 5000);

  // The action forms of the panel (memo, transfer, escalation, complaint…).
  function restorePanel(panel) {
    panel.querySelectorAll("form[data-draft]").forEach(restore);
  }

  function panelForm(el) {
    var form = el.closest && el.closest("#call-panel form[data-draft]");
    return form && !el.closest("dialog") ? form : null;
  }
  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (ev) { var form = panelForm(ev.target); if (form) { keep(form, ev.target); } });
  });

  document.addEventListener("htmx:beforeRequest", function (ev) {
    var form = ev.detail.elt, xhr = ev.detail.xhr;
    if (form.dataset && form.dataset.draft && form.closest("#call-panel")) {
      xhr.callsopDraft = { call: callOf(form), scope: form.dataset.draft, sent: snapshot(form) };
    }
  });

  // What an action used is dropped once it succeeded, before the new panel is filled in.
  function used(xhr) {
    var draft = xhr && xhr.callsopDraft;
    if (!draft || xhr.status === 0 || xhr.status >= 400 || xhr.getResponseHeader("X-Callsop-Refused")) { return; }
    forget(draft.call, draft.scope, draft.sent);
  }
  document.addEventListener("htmx:beforeSwap", function (ev) { used(ev.detail.xhr); });
  document.addEventListener("htmx:afterRequest", function (ev) {
    var xhr = ev.detail.xhr;
    used(xhr);
    var panel = document.getElementById("call-panel");
    if (panel && xhr && xhr.getResponseHeader("X-Callsop-Ended")) { forget(panel.dataset.call); }
  });
  document.addEventListener("htmx:afterSwap", function (ev) {
    if (ev.detail.target && ev.detail.target.id === "call-panel") { restorePanel(ev.detail.target); }
  });

  // Ending: confirm, say who hung up, and only once every save is through.
  function unsent(endForm) {
    var names = [];
    document.querySelectorAll("#call-panel form[data-draft]").forEach(function (form) {
      if (form === endForm) { return; }
      var typed = fields(form).some(function (f) {
        var v = draftOf(form, f);
        return typeof v === "string" && v.trim() !== "" && v !== f.defaultValue;
      });
      var summary = form.closest("details") && form.closest("details").querySelector("summary");
      if (typed) { names.push(summary ? summary.textContent.trim() : form.dataset.draft); }
    });
    return names;
  }

  function openEnd(form) {
    var dialog = form.querySelector("dialog.end-confirm");
    if (!dialog || dialog.open) { return; }
    form.querySelectorAll("input[name=by]").forEach(function (r) { r.checked = false; });
    dialog.querySelector(".end-status").textContent = "";
    var names = unsent(form), box = dialog.querySelector(".unsent"), list = box.querySelector("ul");
    list.textContent = "";
    names.forEach(function (name) { var li = document.createElement("li"); li.textContent = name; list.appendChild(li); });
    box.hidden = !names.length;
    // Closed (Escape, 取消), the keyboard goes back to the end button, so E works again.
    dialog.addEventListener("close", function () {
      var opener = form.querySelector("[data-end-open]");
      if (opener && opener.isConnected) { opener.focus(); }
    }, { once: true });
    dialog.showModal();
    if (details) { save(details); } // the last keystrokes go while the clerk answers
  }

  document.addEventListener("click", function (ev) {
    var open = ev.target.closest && ev.target.closest("[data-end-open]");
    if (open) { ev.preventDefault(); openEnd(open.closest("form")); return; }
    var cancel = ev.target.closest && ev.target.closest("[data-end-cancel]");
    if (cancel) { cancel.closest("dialog").close(); }
  });

  document.addEventListener("htmx:confirm", function (ev) {
    var form = ev.detail.elt;
    if (!form.matches || !form.matches("form[data-end]")) { return; }
    ev.preventDefault();
    var dialog = form.querySelector("dialog.end-confirm");
    if (!dialog.open) { openEnd(form); return; }
    var status = dialog.querySelector(".end-status"), button = dialog.querySelector("[data-end-confirm]");
    if (!form.querySelector("input[name=by]:checked")) { status.textContent = "請選擇由哪一方掛斷。"; return; }
    button.disabled = true;
    status.textContent = "正在儲存通話紀錄…";
    (details ? save(details) : Promise.resolve(true)).then(function (ok) {
      button.disabled = false;
      if (!ok) {
        status.textContent = "通話紀錄還沒存到伺服器，所以還不能結束通話；內容保留在這台電腦，恢復連線後請再按「確定結束」。";
        return;
      }
      status.textContent = "正在結束通話…";
      ev.detail.issueRequest(true);
    });
  });

  function start() {
    dropStale();
    var form = document.querySelector("form#details[data-save]");
    if (form) { wireDetails(form); }
    var panel = document.getElementById("call-panel");
    if (panel) { restorePanel(panel); }
    document.documentElement.dataset.callscreen = "ready"; // for whoever waits on the page's scripts
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
