// callsop desk: announces a ringing call and a task falling due (a short
// sound, a browser notification, a line on the page), and keeps the 待辦
// card's countdowns and counts running between its refreshes.
(function () {
  "use strict";
  var STORE = "callsop.announced", KEEP = 300;
  var skew = 0; // server clock minus ours, read from the 待辦 card each refresh
  var audio = null;
  var log = (window.callsopAlerts = []); // what was announced, and how
  var script = document.currentScript;
  var dueUrl = script ? script.dataset.dueUrl : "", deskUrl = script ? script.dataset.deskUrl : "";

  function now() { return Date.now() + skew; }

  function readSkew() {
    var due = document.getElementById("due"), body = document.body;
    var s = (due && due.dataset.serverNow) || (body && body.dataset.serverNow);
    if (s) { skew = Date.parse(s) - Date.now(); }
  }

  // A length of time in words, as services/tasks.py's clock(): never like a time of day.
  function clock(seconds) {
    var whole = Math.max(0, Math.floor(seconds)), h = Math.floor(whole / 3600);
    if (whole >= 86400) { return Math.floor(whole / 86400) + " 天 " + Math.floor((whole % 86400) / 3600) + " 小時"; }
    var m = Math.floor((whole % 3600) / 60), s = whole % 60;
    if (h) { return h + " 小時 " + m + " 分"; }
    return m ? m + " 分 " + s + " 秒" : s + " 秒";
  }

  // Announced keys are kept in the browser, so a reload announces nothing twice.
  function announced() {
    try { return JSON.parse(localStorage.getItem(STORE) || "[]"); } catch (e) { return []; }
  }

  function remember(keys) {
    var all = announced().concat(keys);
    try { localStorage.setItem(STORE, JSON.stringify(all.slice(-KEEP))); } catch (e) { /* private mode */ }
  }

  function unlockAudio() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    if (!audio) { audio = new Ctx(); }
    if (audio.state !== "running") { audio.resume().then(showSetup, showSetup); }
  }

  function chime() {
    if (!audio || audio.state !== "running") { return false; }
    var t = audio.currentTime;
    [880, 660].forEach(function (freq, i) {
      var osc = audio.createOscillator(), gain = audio.createGain(), at = t + i * 0.18;
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.16);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(at);
      osc.stop(at + 0.17);
    });
    return true;
  }

  function notify(title, body, tag) {
    if (!("Notification" in window) || Notification.permission !== "granted") { return false; }
    try {
      var n = new Notification(title, { body: body, tag: tag, lang: "zh-Hant" });
      n.onclick = function () { window.focus(); n.close(); };
      return true;
    } catch (e) {
      return false;
    }
  }

  function announce(kind, title, body, tag, keys) {
    var entry = { kind: kind, title: title, body: body, sound: chime(), notified: notify(title, body, tag) };
    log.push(entry);
    var line = document.querySelector("[data-due-alert]");
    if (line && kind === "task") {
      line.textContent = title + "：" + body;
      line.dataset.keys = keys.join(" ");
      line.hidden = false;
    }
  }

  // The line goes once none of the tasks it announced is still open.
  function clearDone(open) {
    var line = document.querySelector("[data-due-alert]");
    if (!line || line.hidden || !document.getElementById("due")) { return; }
    var still = open.map(function (li) { return li.dataset.taskKey; });
    var keys = (line.dataset.keys || "").split(" ");
    if (!keys.some(function (k) { return still.indexOf(k) >= 0; })) { line.hidden = true; }
  }

  function seconds(iso) { return (now() - Date.parse(iso)) / 1000; }

  function tickTasks() {
    var opened = false;
    document.querySelectorAll("li.task[data-opens]").forEach(function (li) {
      var since = seconds(li.dataset.opens), open = since >= 0;
      var late = seconds(li.dataset.closes) > 0;
      // A window opening is a change no one published: the card is fetched
      // again, as when the push stream says the tasks changed.
      if (open && li.dataset.wasWaiting) { opened = true; }
      if (!open) { li.dataset.wasWaiting = "1"; } else { delete li.dataset.wasWaiting; }
      li.classList.toggle("open", open);
      li.classList.toggle("late", late);
      var timer = li.querySelector("[data-countdown]");
      if (timer) { timer.textContent = open ? "已到期 " + clock(since) : clock(-since) + "後開始"; }
    });
    if (opened && window.htmx) { window.htmx.trigger(document.body, "push:due", {}); }
  }

  function countDue() {
    var card = document.getElementById("due");
    if (!card) { return []; }
    var open = [], late = 0;
    card.querySelectorAll("li.task[data-opens]").forEach(function (li) {
      if (li.classList.contains("open")) { open.push(li); }
      if (li.classList.contains("late")) { late += 1; }
    });
    var dueCount = card.querySelector('[data-count="due"]'), lateCount = card.querySelector('[data-count="late"]');
    if (dueCount) { dueCount.textContent = String(open.length); }
    if (lateCount) { lateCount.textContent = String(late); lateCount.classList.toggle("bad", late > 0); }
    return open;
  }

  function announceDue(open) {
    var done = announced();
    var fresh = open.filter(function (li) { return done.indexOf("task:" + li.dataset.taskKey) < 0; });
    if (!fresh.length) { return; }
    var first = fresh[0];
    var title = fresh.length === 1 ? first.dataset.kindLabel + "時間到" : fresh.length + " 項任務到期";
    var body = fresh.map(function (li) { return li.dataset.kindLabel + " " + li.dataset.who.trim(); }).join("、");
    if (fresh.length === 1) { body = first.dataset.who.trim(); }
    remember(fresh.map(function (li) { return "task:" + li.dataset.taskKey; }));
    announce("task", title, body, "task-" + first.dataset.taskKey,
      fresh.map(function (li) { return li.dataset.taskKey; }));
  }

  function announceRinging() {
    var done = announced();
    document.querySelectorAll("#ringing .ringing-call[data-call]").forEach(function (el) {
      var key = "call:" + el.dataset.call;
      if (done.indexOf(key) >= 0) { return; }
      remember([key]);
      announce("call", "來電", el.dataset.who, key, []);
    });
  }

  function tick() {
    tickTasks();
    var open = countDue();
    clearDone(open);
    announceDue(open);
    announceRinging();
  }

  // The permission is asked once, when the clerk presses the button, never on load.
  function showSetup() {
    var box = document.querySelector("[data-alerts-setup]");
    if (!box) { return; }
    var button = box.querySelector("[data-alerts-enable]"), state = box.querySelector("[data-alerts-state]");
    var permission = "Notification" in window ? Notification.permission : "unsupported";
    var sound = !!audio && audio.state === "running";
    button.hidden = permission !== "default" && sound;
    button.textContent = permission === "default" ? "開啟來電與待辦提醒（聲音與通知）" : "開啟提醒音效";
    state.textContent = {
      granted: sound ? "提醒已開啟：來電與到期任務會響鈴並跳出通知。" : "通知已開啟；按一下頁面即可啟用提醒音效。",
      denied: "瀏覽器已封鎖通知：來電與到期任務只會響鈴並顯示在畫面上。",
      unsupported: "此瀏覽器不支援通知：來電與到期任務只會響鈴並顯示在畫面上。",
      "default": ""
    }[permission];
    box.dataset.permission = permission;
    box.dataset.sound = sound ? "on" : "off";
  }

  // Away from the desk (a call's screen, the inbox), the 待辦 card is
  // fetched unseen, so what falls due is still announced there.
  function watchFromElsewhere() {
    if (!dueUrl || document.getElementById("due") || !window.fetch) { return; }
    var holder = document.createElement("div"), timer = 0;
    holder.hidden = true;
    var line = document.createElement("p");
    line.className = "due-alert floating";
    line.setAttribute("role", "alert");
    line.dataset.dueAlert = "";
    line.hidden = true;
    line.title = "回到櫃檯";
    line.addEventListener("click", function () { window.location.href = deskUrl; });
    document.body.appendChild(holder);
    document.body.appendChild(line);
    function poll() {
      fetch(dueUrl, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (r) {
          if (r.status !== 200 || r.redirected) { clearInterval(timer); return ""; }
          return r.text();
        })
        .then(function (html) { if (html) { holder.innerHTML = html; tick(); } })
        .catch(function () { /* the next poll tries again */ });
    }
    // Told by the push stream (push.js) when the tasks change; a slow poll
    // catches a task whose time comes without any change.
    document.body.addEventListener("push:due", poll);
    timer = setInterval(poll, 60000);
    poll();
  }

  function setup() {
    readSkew();
    var box = document.querySelector("[data-alerts-setup]");
    if (box) {
      box.querySelector("[data-alerts-enable]").addEventListener("click", function () {
        unlockAudio();
        if ("Notification" in window && Notification.permission === "default") {
          Notification.requestPermission().then(showSetup, showSetup);
        }
        showSetup();
      });
      showSetup();
    }
    // Any click or key on the page lets the sound play (the browser's rule).
    document.addEventListener("pointerdown", unlockAudio, true);
    document.addEventListener("keydown", unlockAudio, true);
    watchFromElsewhere();
    tick();
    setInterval(tick, 1000);
  }

  document.addEventListener("htmx:afterSettle", tick);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
