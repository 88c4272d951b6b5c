/* Kefu agent inbox: REST for reads and actions, a WebSocket for live updates.
   Everything from visitors, agents and the model is rendered with textContent only. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("inbox-config").textContent);
  var T = JSON.parse(document.getElementById("inbox-i18n").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var state = { view: "unassigned", status: "open", current: null, convs: {}, msgs: {}, lastSeq: 0,
                members: [], labels: [], canned: [], suggestIdx: 0 };

  function csrf() { var m = document.cookie.match(/csrftoken=([^;]+)/); return m ? m[1] : ""; }
  function api(path, opts) {
    opts = opts || {};
    var init = { method: opts.method || "GET", credentials: "same-origin",
                 headers: { "Accept": "application/json", "X-CSRFToken": csrf() } };
    if (opts.body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(opts.body); }
    return fetch(cfg.api + path, init).then(function (r) {
      return r.text().then(function (t) {
        var data = t ? JSON.parse(t) : null;
        if (!r.ok) { var e = new Error((data && (data.detail || JSON.stringify(data))) || r.statusText); e.data = data; throw e; }
        return data;
      });
    });
  }
  function el(tag, cls, text) { var n = document.createElement(tag); if (cls) n.className = cls; if (text != null) n.textContent = text; return n; }
  function who(c) { var ct = c.contact || {}; return ct.name || ct.email || (T.anonymous + " #" + (ct.id || "")); }

  // --- list -------------------------------------------------------------------------
  function loadList() {
    var q = "conversations/?view=" + state.view + (state.status ? "&status=" + state.status : "")
      + (state.q ? "&q=" + encodeURIComponent(state.q) : "");
    return api(q).then(function (page) {
      var list = $("conv-list"); list.textContent = "";
      page.results.forEach(function (c) { state.convs[c.id] = c; list.appendChild(listItem(c)); });
      $("conv-empty").hidden = page.results.length > 0;
    });
  }
  function listItem(c) {
    var li = el("li"); li.dataset.id = c.id;
    if (state.current === c.id) li.classList.add("active");
    if (c.last_seq > c.agent_read_seq) li.classList.add("unread");
    var b = el("button"); b.type = "button";
    b.appendChild(el("div", "who", who(c)));
    b.appendChild(el("div", "preview", (c.handled_by === "bot" ? T.bot + " · " : "") + (c.last_message_preview || "")));
    b.addEventListener("click", function () { openConv(c.id); showPane("thread"); });
    li.appendChild(b); return li;
  }
  function upsertListItem(c) {
    var old = document.querySelector('#conv-list li[data-id="' + c.id + '"]');
    var matches = (!state.status || c.status === state.status) &&
      (state.view === "all" || (state.view === "unassigned" && !c.assignee) || (state.view === "mine" && c.assignee === cfg.membership_id));
    if (!matches) { if (old) old.remove(); return; }
    if (state.q && !old) return;  // a search result list takes no newcomers (the server decides matches)
    var li = listItem(c);
    if (old) old.replaceWith(li); else $("conv-list").prepend(li);
    $("conv-empty").hidden = true;
  }

  // Phones show one pane at a time (inbox.css); wider screens ignore data-pane.
  function showPane(pane) {
    $("inbox").dataset.pane = pane;
    document.querySelectorAll(".inbox-panes button").forEach(function (b) { b.setAttribute("aria-current", String(b.dataset.pane === pane)); });
  }
  document.querySelectorAll(".inbox-panes button").forEach(function (b) { b.addEventListener("click", function () { showPane(b.dataset.pane); }); });

  // --- thread -----------------------------------------------------------------------
  function openConv(id) {
    state.current = id; state.msgs = {}; state.lastSeq = 0;
    $("messages").textContent = ""; $("thread").hidden = false; $("thread-empty").hidden = true;
    document.querySelectorAll("#conv-list li").forEach(function (li) { li.classList.toggle("active", +li.dataset.id === id); });
    return api("conversations/" + id + "/").then(function (c) { state.convs[id] = c; renderHead(c); renderSide(c); return fetchAfter(0); });
  }
  function fetchAfter(seq) {
    var id = state.current;
    return api("conversations/" + id + "/messages/?after_seq=" + seq).then(function (msgs) {
      if (id !== state.current) return;
      msgs.forEach(addMessage); markRead();
    });
  }
  function addMessage(m) {
    if (m.conversation !== undefined && m.conversation_id === undefined) m.conversation_id = m.conversation;
    if (m.conversation_id !== state.current || state.msgs[m.seq]) return;
    if (m.seq > state.lastSeq + 1 && state.lastSeq > 0 && !state.fetching) { state.fetching = true; fetchAfter(state.lastSeq).then(function () { state.fetching = false; }); }
    state.msgs[m.seq] = m;
    var li = el("li", m.sender); li.dataset.seq = m.seq;
    var att = /^\[attachment:([A-Za-z0-9_-]+)\] (.*)$/.exec(m.body || "");
    li.appendChild(att ? attachmentLink(att[1], att[2]) : el("span", "body", m.body));
    var meta = m.sender === "agent" || m.sender === "note" ? (m.author_name || T.human) : m.sender === "bot" ? T.bot : m.sender === "visitor" ? T.visitor : "";
    if (m.sender === "note") meta = T.note + " · " + meta;
    if (meta) li.appendChild(el("span", "meta", meta + " · " + new Date(m.created_at).toLocaleTimeString()));
    if (m.sender === "bot") { li.tabIndex = 0; li.addEventListener("click", function () { explain(m); }); li.addEventListener("keydown", function (e) { if (e.key === "Enter") explain(m); }); }
    var list = $("messages"), after = null;
    Array.prototype.forEach.call(list.children, function (n) { if (!after && +n.dataset.seq > m.seq) after = n; });
    list.insertBefore(li, after);
    state.lastSeq = Math.max(state.lastSeq, m.seq);
    list.scrollTop = list.scrollHeight;
  }
  // Attachments (issue 13): "[attachment:<key>] <name>" messages show a thumbnail or a link;
  // the file is served to members of this tenant only (session).
  function attachmentLink(key, name) {
    var url = "/attachments/" + encodeURIComponent(key) + "/";
    var a = el("a", "body file"); a.href = url; a.target = "_blank"; a.rel = "noopener noreferrer";
    if (/\.(png|jpe?g|gif|webp)$/i.test(name)) { var img = el("img"); img.src = url + "thumbnail/"; img.alt = name; a.appendChild(img); }
    else a.textContent = "PDF · " + name;
    return a;
  }
  function sendAttachment(file) {
    var fd = new FormData(); fd.append("file", file);
    $("composer-error").hidden = true;
    return fetch(cfg.api + "conversations/" + state.current + "/attachments/", {
      method: "POST", body: fd, credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRFToken": csrf() },
    }).then(function (r) { return r.json().then(function (j) {
      if (!r.ok) throw new Error((j && (j.detail || (j.error && j.error.message) || JSON.stringify(j))) || r.statusText);
      addMessage(j.message);
    }); }).catch(function (e) { $("composer-error").textContent = e.message; $("composer-error").hidden = false; });
  }
  // "Why the bot said it": intent, sentiment, the decision, sources and candidates with
  // their scores, built from the stored explanation (text only, never HTML).
  function explain(m) {
    var box = $("explain"); box.textContent = ""; box.classList.remove("muted");
    var x = m.explanation || {};
    function section(title) { var s = el("section", "x-sec"); s.appendChild(el("h4", null, title)); box.appendChild(s); return s; }
    function line(parent, text, cls) { parent.appendChild(el("div", cls || "x-line", text)); }
    function pct(v) { return v == null ? "–" : (Number(v) * 100).toFixed(0) + "%"; }
    var d = x.decision || {};
    var dec = section(T.x_decision);
    line(dec, (d.action || "") + (d.reason ? " · " + d.reason : ""), "x-strong");
    if (d.why) line(dec, d.why);
    var it = x.intent || {};
    var intent = section(T.x_intent);
    line(intent, (m.intent || it.name || "–") + " · " + pct(m.intent_confidence != null ? m.intent_confidence : it.confidence)
      + (it.threshold != null ? " (" + T.x_threshold + " " + pct(it.threshold) + ")" : "") + (it.out_of_scope ? " · " + T.x_oos : ""), "x-strong");
    (it.candidates || []).slice(0, 3).forEach(function (c) { line(intent, c.name + " · " + pct(c.probability)); });
    var se = x.sentiment || {};
    line(section(T.x_sentiment), (m.sentiment || se.label || "–") + (se.score != null ? " · " + pct(se.score) : ""));
    if (x.action) { var ac = section(T.x_action); line(ac, JSON.stringify(x.action)); }
    if (x.query) line(section(T.x_query), x.query);
    if ((x.sources || []).length) {
      var src = section(T.x_sources);
      x.sources.slice(0, 5).forEach(function (s) {
        line(src, s.title + " · " + Number(s.score).toFixed(2) + " (bm25 " + Number(s.bm25 || 0).toFixed(1) + ", dense " + Number(s.dense || 0).toFixed(2) + ")");
      });
    }
    if ((x.candidates || []).length) {
      var cand = section(T.x_candidates);
      x.candidates.forEach(function (c) {
        var row = el("div", "x-cand" + (c.chosen ? " chosen" : "") + (c.passed ? "" : " failed"));
        row.appendChild(el("div", "x-strong", c.kind + " · " + Number(c.score || 0).toFixed(2) + " · "
          + (c.chosen ? T.x_chosen : (c.passed ? T.x_passed : T.x_rejected))));
        row.appendChild(el("div", "x-text", c.text || ""));
        if ((c.reasons || []).length) row.appendChild(el("div", "x-why", c.reasons.join("; ")));
        cand.appendChild(row);
      });
    }
    if (x.timings_ms) {
      var t = x.timings_ms; var parts = [];
      Object.keys(t).forEach(function (k) { parts.push(k.replace(/_ms$/, "") + " " + Math.round(t[k]) + " ms"); });
      line(section(T.x_timings), parts.join(" · "), "x-why");
    }
  }
  function markRead() {
    var c = state.convs[state.current];
    if (!c || state.lastSeq <= (c.agent_read_seq || 0)) return;
    c.agent_read_seq = state.lastSeq; updateTitle();
    api("conversations/" + c.id + "/read/", { method: "POST", body: { seq: state.lastSeq } }).catch(function () {});
  }
  function renderHead(c) {
    $("thread-title").textContent = who(c) + " · #" + c.id;
    $("thread-status").textContent = T["status_" + c.status] || c.status;
    $("thread-handled").textContent = c.handled_by === "bot" ? T.bot : T.human;
    $("btn-takeover").hidden = c.handled_by === "human" && c.assignee === cfg.membership_id;
    $("btn-resolve").hidden = c.status === "resolved";
    $("btn-reopen").hidden = c.status !== "resolved";
    $("btn-snooze").hidden = $("btn-pending").hidden = c.status === "resolved";
    $("assignee").value = c.assignee || "";
  }
  function renderSide(c) {
    var dl = $("visitor"); dl.textContent = "";
    var ct = c.contact || {};
    function row(k, v) { dl.appendChild(el("dt", null, k)); dl.appendChild(el("dd", null, v == null || v === "" ? "—" : String(v))); }
    row("Name", ct.name); row("E-mail", ct.email);
    row("User id", ct.external_user_id ? ct.external_user_id + " (" + (ct.verified ? T.verified : T.unverified) + ")" : T.unverified);
    row("Language", ct.language);
    Object.keys(ct.attributes || {}).forEach(function (k) { row(k, ct.attributes[k]); });
    if (c.handoff_reason) row("Handoff", c.handoff_reason);
    if (cfg.contacts && ct.id) {
      var link = el("a", null, T.visitor_page || "Visitor data"); link.href = cfg.contacts + ct.id + "/";
      dl.appendChild(el("dt", null, T.privacy || "Privacy")); var dd = el("dd"); dd.appendChild(link); dl.appendChild(dd);
    }
    var box = $("labels"); box.textContent = "";
    var on = {}; (c.labels || []).forEach(function (l) { on[l.id] = true; });
    state.labels.forEach(function (l) {
      var lab = el("label"), cb = el("input"); cb.type = "checkbox"; cb.checked = !!on[l.id]; cb.value = l.id;
      cb.addEventListener("change", saveLabels); lab.appendChild(cb); lab.appendChild(document.createTextNode(" " + l.name)); box.appendChild(lab);
    });
    var cs = $("csat"); cs.textContent = "";
    (c.csat || []).forEach(function (r) { cs.appendChild(el("div", "csat-row", T.rating + ": " + r.rating + "/5" + (r.comment ? " — " + r.comment : ""))); });
    if (!(c.csat || []).length) cs.textContent = c.csat_state === "requested" ? "…" : "—";
  }
  function saveLabels() {
    var ids = Array.prototype.map.call(document.querySelectorAll("#labels input:checked"), function (i) { return +i.value; });
    act("labels/", { labels: ids });
  }
  function act(path, body) {
    var id = state.current;
    return api("conversations/" + id + "/" + path, { method: "POST", body: body || {} }).then(function (c) {
      state.convs[id] = c; renderHead(c); renderSide(c); upsertListItem(c);
    }).catch(showError);
  }
  function showError(e) { var p = $("composer-error"); p.textContent = e.message; p.hidden = false; setTimeout(function () { p.hidden = true; }, 6000); }

  $("btn-takeover").addEventListener("click", function () { act("takeover/"); });
  $("btn-resolve").addEventListener("click", function () { act("resolve/"); });
  $("btn-reopen").addEventListener("click", function () { act("reopen/"); });
  $("btn-pending").addEventListener("click", function () { act("pending/"); });
  $("btn-snooze").addEventListener("click", function () { act("snooze/", { until: new Date(Date.now() + 3600e3).toISOString() }); });
  $("assignee").addEventListener("change", function () { act("assign/", { assignee: this.value ? +this.value : null }); });
  document.querySelectorAll(".tabs button").forEach(function (b) {
    b.addEventListener("click", function () {
      document.querySelectorAll(".tabs button").forEach(function (x) { x.setAttribute("aria-selected", x === b ? "true" : "false"); });
      state.view = b.dataset.view; loadList();
    });
  });
  $("status-filter").addEventListener("change", function () { state.status = this.value; loadList(); });
  var searchTimer = null;
  $("conv-search").addEventListener("input", function () {
    var value = this.value.trim(); clearTimeout(searchTimer);
    searchTimer = setTimeout(function () { state.q = value; loadList(); }, 250);
  });
  $("btn-attach").addEventListener("click", function () { if (state.current) $("attach-file").click(); });
  $("attach-file").addEventListener("change", function () {
    var file = this.files && this.files[0]; this.value = ""; if (file && state.current) sendAttachment(file);
  });

  // --- composer and canned responses -------------------------------------------------
  var reply = $("reply"), sugg = $("canned-suggest");
  function matches() {
    var v = reply.value; if (v.charAt(0) !== "/" || v.indexOf(" ") >= 0) return [];
    var q = v.slice(1).toLowerCase();
    return state.canned.filter(function (c) { return c.shortcut.indexOf(q) === 0; }).slice(0, 6);
  }
  function renderSuggest() {
    var m = matches(); sugg.textContent = ""; sugg.hidden = !m.length;
    state.suggestIdx = Math.min(state.suggestIdx, Math.max(0, m.length - 1));
    m.forEach(function (c, i) {
      var li = el("li", null, "/" + c.shortcut + " — " + c.text); li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === state.suggestIdx ? "true" : "false");
      li.addEventListener("mousedown", function (e) { e.preventDefault(); insertCanned(c); });
      sugg.appendChild(li);
    });
  }
  function insertCanned(c) { reply.value = c.text; sugg.hidden = true; reply.focus(); }
  reply.addEventListener("input", function () { state.suggestIdx = 0; renderSuggest(); typing(true); });
  reply.addEventListener("keydown", function (e) {
    var m = matches();
    if (m.length && (e.key === "Tab" || e.key === "Enter")) { e.preventDefault(); insertCanned(m[state.suggestIdx]); return; }
    if (m.length && (e.key === "ArrowDown" || e.key === "ArrowUp")) { e.preventDefault(); state.suggestIdx = (state.suggestIdx + (e.key === "ArrowDown" ? 1 : m.length - 1)) % m.length; renderSuggest(); return; }
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("composer").requestSubmit(); }
  });
  var typingTimer = null, typingOn = false;
  function typing(on) {
    if (!state.current || !ws || ws.readyState !== 1) return;
    if (on !== typingOn) { typingOn = on; ws.send(JSON.stringify({ type: "typing", conversation_id: state.current, on: on })); }
    clearTimeout(typingTimer); if (on) typingTimer = setTimeout(function () { typing(false); }, 3000);
  }
  $("composer").addEventListener("submit", function (e) {
    e.preventDefault();
    var body = reply.value.trim(); if (!body || !state.current) return;
    var note = $("as-note").checked, id = state.current;
    var cmid = "a-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    $("btn-send").disabled = true;
    api("conversations/" + id + "/messages/", { method: "POST", body: { body: body, note: note, client_msg_id: cmid } })
      .then(function (m) { reply.value = ""; typing(false); addMessage(m); return api("conversations/" + id + "/"); })
      .then(function (c) { state.convs[id] = c; renderHead(c); upsertListItem(c); })
      .catch(showError).then(function () { $("btn-send").disabled = false; });
  });

  // --- live updates ------------------------------------------------------------------
  var ws = null, backoff = 500;
  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(proto + location.host + cfg.ws);
    ws.onopen = function () { backoff = 500; $("live").textContent = T.live; $("live").className = "badge ok"; loadList(); if (state.current) fetchAfter(state.lastSeq); };
    ws.onclose = function () { $("live").textContent = T.offline; $("live").className = "badge warn"; setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 15000); };
    ws.onmessage = function (e) { var ev = JSON.parse(e.data); onEvent(ev); };
  }
  function onEvent(ev) {
    if (ev.type === "message") {
      var c = ev.conversation, known = state.convs[c.id] || {};
      for (var k in c) known[k] = c[k]; state.convs[c.id] = known;
      if (ev.message && ev.message.seq > (known.last_seq || 0)) known.last_seq = ev.message.seq;  // unread count
      upsertListItem(known);
      if (c.id === state.current) { addMessage(ev.message); markRead(); renderHead(known); }
      else if (ev.message && ev.message.sender === "visitor") notify(who(known), ev.message.body, c.id);
      updateTitle();
    } else if (ev.type === "conversation") {
      if (!state.convs[ev.conversation.id]) notify(T.new_conversation, who(ev.conversation), ev.conversation.id);
      var cc = state.convs[ev.conversation.id] || {}; for (var k2 in ev.conversation) cc[k2] = ev.conversation[k2];
      state.convs[cc.id] = cc; upsertListItem(cc);
      if (cc.id === state.current) api("conversations/" + cc.id + "/").then(function (full) { state.convs[cc.id] = full; renderHead(full); renderSide(full); });
    } else if (ev.type === "csat" || ev.type === "labels" || ev.type === "contact") {
      if (ev.conversation_id === state.current || ev.type === "contact") api("conversations/" + state.current + "/").then(function (full) { state.convs[full.id] = full; renderSide(full); });
    } else if (ev.type === "typing" && ev.conversation_id === state.current) {
      $("visitor-typing").hidden = !ev.on;
      clearTimeout(state.typingHide); if (ev.on) state.typingHide = setTimeout(function () { $("visitor-typing").hidden = true; }, 6000);
    }
  }
  setInterval(function () { if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "ping" })); }, 30000);

  // --- unread count in the tab title and browser notifications (issue 13) ----------------
  var baseTitle = document.title;
  function updateTitle() {
    var n = 0;
    Object.keys(state.convs).forEach(function (id) {
      var c = state.convs[id];
      if (c.status !== "resolved" && (c.last_seq || 0) > (c.agent_read_seq || 0)) n += 1;
    });
    document.title = (n ? "(" + n + ") " : "") + baseTitle;
  }
  setInterval(updateTitle, 1000);  // cheap; catches list loads, live events and reads alike
  function notify(title, body, id) {
    if (!("Notification" in window) || Notification.permission !== "granted" || id === state.current) return;
    var n = new Notification(title, { body: body || "", tag: "kefu-conv-" + id });
    n.onclick = function () { window.focus(); openConv(id); showPane("thread"); };
  }
  var notifyBtn = $("btn-notify");
  if (!("Notification" in window) || Notification.permission !== "default") notifyBtn.hidden = true;
  notifyBtn.addEventListener("click", function () {
    Notification.requestPermission().then(function (p) { notifyBtn.hidden = p !== "default"; });
  });

  // --- keyboard shortcuts: j/k next/previous, r reply, e resolve, / search ---------------
  function moveSelection(step) {
    var items = Array.prototype.slice.call(document.querySelectorAll("#conv-list li"));
    if (!items.length) return;
    var at = items.findIndex(function (li) { return +li.dataset.id === state.current; });
    var next = at < 0 ? 0 : Math.max(0, Math.min(items.length - 1, at + step));
    var id = +items[next].dataset.id;
    if (id !== state.current) { openConv(id); showPane("thread"); }
    items[next].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target, typingIn = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (typingIn) { if (e.key === "Escape") t.blur(); return; }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var handled = true;
    if (e.key === "j") moveSelection(1);
    else if (e.key === "k") moveSelection(-1);
    else if (e.key === "r" && state.current) { showPane("thread"); reply.focus(); }
    else if (e.key === "e" && state.current && !$("btn-resolve").hidden) act("resolve/");
    else if (e.key === "/") { showPane("list"); $("conv-search").focus(); }
    else handled = false;
    if (handled) e.preventDefault();
  });

  Promise.all([api("members/").catch(function () { return { results: [] }; }), api("labels/"), api("canned-responses/")]).then(function (r) {
    state.members = r[0].results || r[0]; state.labels = r[1].results || r[1]; state.canned = r[2].results || r[2];
    var sel = $("assignee");
    state.members.forEach(function (m) { var o = el("option", null, m.name || m.email); o.value = m.id; sel.appendChild(o); });
  }).then(connect);
})();
