// The call screen keeps everything the clerk types until the server has it:
// a draft per call and field in this browser, restored into every new panel
// and after a reload, dropped once the save or the action that used it
// succeeded. Ending a call asks first, and waits for the last save. After
// the end, the clerk finishes the note during the wrap-up (a countdown);
// then, or on a refusal, the form is read-only and what was not saved is
// offered to the scorecard's amendment form.
(function () {
  "use strict";
  if (window.callsopCallscreen) { return; } // included by the call screen and the amendment form
  window.callsopCallscreen = true;
  var PREFIX = "callsop-draft:", KEEP_MS = 7 * 24 * 3600 * 1000, AMEND_SENT = "callsop-amend-sent:";
  var details = null, timer = null, saving = null, locked = false, wrapUntil = 0, wrapTimer = null;

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

  // Only what was typed and not yet saved goes, as it was last typed (in
  // this tab or another of the same call): a tab whose other boxes are
  // stale never writes them over what another tab saved.
  function payload(form) {
    var data = new FormData(), token = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (token) { data.append(token.name, token.value); }
    pending(form).forEach(function (f) {
      var v = draftOf(form, f);
      if (f.type === "checkbox") {
        data.append(f.name + "__present", "1");
        if (v) { data.append(f.name, "on"); }
      } else {
        data.append(f.name, v);
      }
    });
    return data;
  }

  function send(form) {
    var sent = snapshot(form), wrapUp = null;
    pending(form).forEach(function (f) { sent[f.name] = draftOf(form, f); });
    return fetch(form.dataset.save, {
      method: "POST", body: payload(form), credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "HX-Request": "true" },
    }).then(function (r) {
      if (r.redirected) { throw new Error("登入已逾時，請重新登入"); }
      if (r.status === 409) { // the call's record is final: no retry, the text stays here
        var said = r.headers.get("X-Callsop-Refused");
        return r.text().then(function (body) {
          var err = new Error(said ? decodeURIComponent(said) : body);
          err.refused = true;
          throw err;
        });
      }
      if (!r.ok) { // a field refused: say which and why; the text stays here until it is fixed
        var why = r.headers.get("X-Callsop-Refused"), which = r.headers.get("X-Callsop-Field");
        var refusal = new Error(why ? decodeURIComponent(why) : "伺服器回應 " + r.status);
        refusal.fieldRefused = Boolean(why);
        refusal.field = which ? decodeURIComponent(which) : "";
        throw refusal;
      }
      wrapUp = r.headers.get("X-Callsop-Wrap-Up");
      return r.text();
    }).then(function (text) {
      window.callsopOffline(false);
      forget(callOf(form), "details", sent);
      markRefused(form, null);
      savedLine(text);
      if (wrapUp !== null) { wrapUpFor(Number(wrapUp)); } else { planCheck(); }
      return true;
    }, function (err) {
      if (err.refused) { lock(form, err.message); return false; }
      if (err.fieldRefused) { // the server is there and said no: the clerk fixes the field
        window.callsopOffline(false);
        markRefused(form, err);
        savedLine("尚未儲存：" + err.message.replace(/[。.]+$/, "") + "。請修改後會自動再存。");
        return false;
      }
      markRefused(form, null);
      var unreachable = err instanceof TypeError;
      if (unreachable) { window.callsopOffline(true); }
      savedLine("尚未儲存（" + (unreachable ? "連不上伺服器" : err.message) + "）：內容保留在這台電腦，恢復後自動送出");
      return false;
    });
  }

  // A save the server refused for a field: that input marked, the reason
  // beside it (or at the form's top when no input has the field's name);
  // `err` null clears the marks once a save goes through.
  var refusedBy = null; // the last refusal's message while it stands
  function markRefused(form, err) {
    refusedBy = err ? err.message : null;
    form.querySelectorAll("[data-refused-note]").forEach(function (el) { el.remove(); });
    form.querySelectorAll("[aria-invalid][data-refused]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("data-refused");
      el.removeAttribute("aria-describedby");
    });
    if (!err) { return; }
    var note = document.createElement("p");
    note.className = "field-error";
    note.id = "refused-note";
    note.setAttribute("data-refused-note", "");
    note.setAttribute("role", "alert");
    note.textContent = err.message;
    var input = err.field ? form.querySelector('[name="' + err.field.replace(/["\\]/g, "") + '"]') : null;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("data-refused", "");
      input.setAttribute("aria-describedby", note.id);
      (input.closest("label") || input).insertAdjacentElement("afterend", note);
    } else {
      form.insertBefore(note, form.firstChild);
    }
  }

  // Resolves true once everything typed so far is on the server, false if a save failed.
  function save(form) {
    clearTimeout(timer);
    timer = null;
    if (locked) { return Promise.resolve(false); }
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
    if (details && !locked && !saving && !timer && pending(details).length) { save(details); }
  }, 5000);

  // The wrap-up: the seconds the server gave, counted down on the screen.
  function clock(text) {
    document.querySelectorAll("#wrap-up, [data-wrap-up-clock]").forEach(function (el) { el.textContent = text; el.hidden = false; });
  }
  function tick() {
    var left = Math.ceil((wrapUntil - Date.now()) / 1000);
    if (left > 0) {
      var s = left % 60;
      clock("整理時間剩 " + Math.floor(left / 60) + ":" + (s < 10 ? "0" : "") + s);
      var notice = document.querySelector("[data-wrap-up-notice]");
      if (notice) { notice.textContent = "通話結束後整理中，約 " + left + " 秒後定案：接聽的館員還在補寫記事，評分可能隨之更新。"; }
      return;
    }
    clearInterval(wrapTimer);
    wrapTimer = null;
    clock("整理時間已結束");
    var form = details;
    (pending(form).length ? save(form) : Promise.resolve(true)).then(function () {
      lock(form, "整理時間已結束，這通電話的紀錄已定案；如需更正，請用「補充說明」並寫下理由。");
    });
  }
  function wrapUpFor(seconds) {
    if (!details || locked || !(seconds >= 0)) { return; }
    var first = !wrapUntil;
    wrapUntil = Date.now() + seconds * 1000;
    var panel = document.getElementById("call-panel");
    // Ended by the PBX while the screen still shows the live call: the panel says so now.
    if (first && panel && window.htmx && !panel.querySelector("[data-wrap-up-clock]")) {
      htmx.ajax("GET", panel.dataset.panel, { target: panel, swap: "innerHTML" });
    }
    if (!wrapTimer) { wrapTimer = setInterval(tick, 250); }
    tick();
  }

  // The record is final: the form turns read-only, and what it kept unsaved
  // stays in this browser for the amendment form.
  function lock(form, text) {
    if (locked) { return; }
    var unsaved = pending(form).length;
    locked = true;
    clearTimeout(timer);
    timer = null;
    clearInterval(wrapTimer);
    wrapTimer = null;
    if (wrapUntil) { clock("整理時間已結束"); }
    form.querySelectorAll("input, textarea, select").forEach(function (f) {
      if (f.type === "checkbox" || f.tagName === "SELECT") { f.disabled = true; } else if (f.type !== "hidden") { f.readOnly = true; }
    });
    form.dataset.locked = "1";
    var box = document.getElementById("details-refused");
    if (box) { box.querySelector("[data-refusal-text]").textContent = text; box.classList.add("error"); box.hidden = false; }
    var offer = document.getElementById("amend-offer");
    if (offer) { offer.hidden = false; }
    var notice = document.querySelector("[data-wrap-up-notice]");
    if (notice) { notice.textContent = "整理時間已結束，紀錄已定案；重新整理頁面即可看到最後的評分。"; }
    savedLine(unsaved ? "最後輸入的內容未存入通話紀錄，保留在這台電腦，可帶到「補充說明」" : "紀錄已定案");
    document.querySelectorAll("form[data-amend]").forEach(prefillAmend);
  }

  // The offer: on the scorecard the amendment form is right there; from the call screen, a link to it.
  document.addEventListener("click", function (ev) {
    var offer = ev.target.closest && ev.target.closest("[data-amend-offer]");
    var form = offer && document.querySelector("form[data-amend]");
    if (!form) { return; }
    ev.preventDefault();
    prefillAmend(form);
    var box = form.closest("details");
    if (box) { box.open = true; box.scrollIntoView(); }
    var first = form.querySelector("textarea[name=reason]");
    if (first) { first.focus(); }
  });

  // The scorecard's amendment form, filled with what the call screen could not save.
  function amendInputs(form) {
    return Array.prototype.filter.call(form.querySelectorAll("input[name], textarea[name]"), function (f) {
      return f.type !== "hidden" && f.name !== "reason";
    });
  }
  function prefillAmend(form) {
    if (form.hasAttribute("data-typed")) { return; } // shown again as it was sent: that stays
    var prefix = scopeKey(form.dataset.call, "details"), filled = 0;
    var note = document.querySelector("form#details[data-save]"); // the wrap-up's, as saved
    amendInputs(form).forEach(function (f) {
      var same = note && note.querySelector("input[name=\"" + f.name + "\"]");
      if (same) { f.value = same.value; }
      var raw = stored(prefix + f.name), v;
      if (!raw) { return; }
      try { v = JSON.parse(raw).v; } catch (e) { return; }
      if (typeof v === "string" && v !== f.value) { f.value = v; filled += 1; }
    });
    if (filled) {
      var note = form.querySelector("[data-amend-prefilled]"), box = form.closest("details");
      if (note) { note.hidden = false; }
      if (box) { box.open = true; }
    }
  }
  function wireAmend(form) {
    var call = form.dataset.call, sent = stored(AMEND_SENT + call);
    unstore(AMEND_SENT + call);
    if (sent && location.hash === "#amendments") { // the amendment went in: its text is kept there
      try { forget(call, "details", JSON.parse(sent).v); } catch (e) { /* unreadable: drafts stay */ }
    }
    // While the wrap-up form is open, what it holds is saved as part of the call instead.
    if (!document.querySelector("form#details[data-save]:not([data-locked])")) { prefillAmend(form); }
    form.addEventListener("submit", function () {
      var values = {};
      amendInputs(form).forEach(function (f) { values[f.name] = f.value; });
      store(AMEND_SENT + call, JSON.stringify({ v: values, at: Date.now() }));
    });
  }

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
        status.textContent = refusedBy
          ? "通話紀錄有欄位需要修改，所以還不能結束通話：" + refusedBy.replace(/[。.]+$/, "") + "。請先取消、修改該欄位，存好後再按「確定結束」。"
          : "通話紀錄還沒存到伺服器，所以還不能結束通話；內容保留在這台電腦，恢復連線後請再按「確定結束」。";
        return;
      }
      status.textContent = "正在結束通話…";
      ev.detail.issueRequest(true);
    });
  });

  function start() {
    dropStale();
    var form = document.querySelector("form#details[data-save]");
    if (form) {
      wireDetails(form);
      if (form.dataset.wrapUpLeft) { wrapUpFor(Number(form.dataset.wrapUpLeft)); }
    }
    document.querySelectorAll("form[data-amend]").forEach(wireAmend);
    var panel = document.getElementById("call-panel");
    if (panel) { restorePanel(panel); }
    document.documentElement.dataset.callscreen = "ready"; // for whoever waits on the page's scripts
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
