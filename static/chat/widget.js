/* Kefu chat widget. Plain JavaScript, no build step, isolated in a shadow root.
   <script src="https://kefu.example/widget.js" data-kefu-widget="wk_..." async></script>
   Optional: data-user-id + data-user-hash (HMAC-SHA256 of the user id with the widget
   secret, computed by the site's server), data-name, data-email, or window.kefuSettings.
   Protocol: docs/protocol.md. All text is rendered with textContent. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-kefu-widget]");
  if (!script || window.__kefuWidgetLoaded) return;
  window.__kefuWidgetLoaded = true;
  var opts = window.kefuSettings || {};
  var KEY = script.getAttribute("data-kefu-widget") || opts.widget;
  var BASE = new URL(script.src, location.href).origin;
  var USER_ID = script.getAttribute("data-user-id") || opts.userId || "";
  var USER_HASH = script.getAttribute("data-user-hash") || opts.userHash || "";
  var STORE = "kefu." + KEY + ".";

  var STRINGS = {
    en: { open: "Open chat", close: "Close chat", title: "Chat with us", human: "Talk to a human", send: "Send",
      placeholder: "Write a message…", connecting: "Connecting…", offline: "Reconnecting…", sending: "Sending…",
      queue: "You are number {n} in the queue. An agent will be with you shortly.",
      noagents: "No agents are online right now. Leave your e-mail and we will reply by e-mail.",
      email: "Your e-mail", save: "Save", saved: "Thanks! We will reply to {e}.", typing: "Agent is typing…", botTyping: "Assistant is typing…",
      rate: "How did we do?", comment: "Anything to add? (optional)", thanks: "Thanks for your rating!",
      resolved: "This conversation is resolved. Write again to start a new one.", past: "Past conversations",
      back: "Back", seen: "Seen", you: "You", bot: "Assistant", agent: "Agent", rateN: "Rate {n} of 5",
      error: "Not sent: {m}", solved: "This solved my problem",
      unavailable: "Chat is unavailable on this site.", transcript: "E-mail me this conversation", transcriptSent: "Sent to {e}.",
      attach: "Attach an image or PDF", attachFailed: "File not sent: {m}",
      hoursBack: "We reply during business hours: back {t}.", hoursClosed: "We are outside business hours right now.",
      closedEmail: "We are outside business hours. Leave your e-mail and we will reply by e-mail." },
    "zh-hans": { open: "打开聊天", close: "关闭聊天", title: "联系我们", human: "转人工", send: "发送",
      placeholder: "输入消息…", connecting: "连接中…", offline: "重新连接中…", sending: "发送中…",
      queue: "您前面还有 {n} 位，客服马上就来。", noagents: "目前没有在线客服。请留下邮箱，我们会通过邮件回复您。",
      email: "您的邮箱", save: "保存", saved: "谢谢！我们会回复到 {e}。", typing: "客服正在输入…", botTyping: "智能助手正在输入…",
      rate: "请为本次服务评分", comment: "还有什么想说的？（可选）", thanks: "感谢您的评价！",
      resolved: "本次会话已结束。再次发送消息即可开始新的会话。", past: "历史会话", back: "返回", seen: "已读",
      you: "您", bot: "智能助手", agent: "客服", rateN: "评 {n} 分（满分 5 分）", error: "未发送：{m}",
      solved: "问题已解决", unavailable: "此网站暂时无法使用聊天。", transcript: "把对话记录发到我的邮箱", transcriptSent: "已发送到 {e}。",
      attach: "发送图片或 PDF", attachFailed: "文件未发送：{m}",
      hoursBack: "我们在营业时间内回复：{t} 恢复服务。", hoursClosed: "现在不在营业时间。",
      closedEmail: "现在不在营业时间。请留下邮箱，我们会通过邮件回复您。" }
  };
  // UI language: pinned by the site (data-locale, kefuSettings.locale, or the widget's setting
  // from the server unless "auto"); else the page's lang; else the first of the visitor's
  // browser languages we have strings for; else English.
  function uiLang(code) { code = (code || "").toLowerCase(); return code.indexOf("zh") === 0 ? "zh-hans" : code.indexOf("en") === 0 ? "en" : ""; }
  function pickLang(pinned) {
    var choices = [pinned, document.documentElement.lang].concat(navigator.languages || [navigator.language]);
    for (var i = 0; i < choices.length; i++) { var l = uiLang(choices[i]); if (l) return l; }
    return "en";
  }
  var PINNED = script.getAttribute("data-locale") || opts.locale || "";
  var lang = pickLang(PINNED);
  var LABELS = [];  // [node, string key, attribute or null for text, vars]
  function t(k, vars) { var s = (STRINGS[lang] || STRINGS.en)[k] || STRINGS.en[k]; for (var v in vars || {}) s = s.replace("{" + v + "}", vars[v]); return s; }

  // Closed: the away message and when we are back, in the visitor's own clock.
  function hoursText(h) {
    var when = h.next_open && new Date(h.next_open).toLocaleString(lang === "zh-hans" ? "zh-CN" : "en",
      { weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    return [h.away_message || "", when ? t("hoursBack", { t: when }) : t("hoursClosed")].filter(Boolean).join(" ");
  }

  function load(k, d) { try { var v = localStorage.getItem(STORE + k); return v ? JSON.parse(v) : d; } catch (e) { return d; } }
  function save(k, v) { try { localStorage.setItem(STORE + k, JSON.stringify(v)); } catch (e) { /* private mode */ } }

  // --- state ------------------------------------------------------------------------
  var S = {
    token: load("token", ""), conv: load("conv", null), seqs: {}, outbox: load("outbox", []),  // seqs in memory: a fresh page replays it all, a reconnect only the gap
    msgs: {}, streams: {}, convs: [], viewing: null, ws: null, ready: false, backoff: 500, badTokens: 0, color: "#2563eb"
  };

  // --- DOM --------------------------------------------------------------------------
  var host = document.createElement("div");
  host.setAttribute("data-kefu", ""); host.setAttribute("lang", lang === "zh-hans" ? "zh-Hans" : "en");
  host.style.cssText = "all:initial;position:fixed;z-index:2147483000;right:0;bottom:0;";
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = ":host{all:initial}*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI','Noto Sans SC',sans-serif}" +
    ".launch{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;display:flex;align-items:center;justify-content:center;background:var(--c);color:#fff;font-size:26px;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25)}" +
    ".launch:focus-visible,button:focus-visible,textarea:focus-visible,input:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}" +
    ".panel{position:fixed;right:20px;bottom:88px;width:370px;max-width:calc(100vw - 24px);height:560px;max-height:calc(100vh - 110px);background:#fff;color:#111827;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;font-size:14px}" +
    ".panel[hidden]{display:none}" +
    // Phone-sized screens: the open panel takes the whole screen (the launcher hides; the
    // close button is in the header), 16px inputs so iOS does not zoom, safe-area padding.
    "@media (max-width:480px){.panel{top:0;left:0;right:0;bottom:0;width:auto;max-width:none;height:auto;max-height:none;border-radius:0;" +
    "padding-bottom:env(safe-area-inset-bottom)}.wrap.open .launch{display:none}.panel textarea,.panel input{font-size:16px}.head{padding-top:calc(10px + env(safe-area-inset-top))}}" +
    ".head{background:var(--c);color:#fff;padding:10px 12px;display:flex;align-items:center;gap:8px}.head h2{font-size:16px;margin:0;flex:1}" +
    ".head button{background:rgba(255,255,255,.2);color:#fff;border:0;border-radius:8px;padding:6px 10px;cursor:pointer;font-size:13px}" +
    ".status{padding:6px 12px;background:#f8fafc;color:#475569;font-size:12px;border-bottom:1px solid #e2e8f0}.status:empty{display:none}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:6px;margin:0;list-style:none}" +
    ".m{max-width:85%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-break:break-word;line-height:1.4}" +
    ".m.visitor{align-self:flex-end;background:var(--c);color:#fff}.m.bot,.m.agent{align-self:flex-start;background:#f1f5f9}" +
    ".m.system{align-self:center;background:none;color:#64748b;font-size:12px;text-align:center}.m.pending{opacity:.6}.m.failed{outline:1px solid #dc2626}" +
    ".who{display:block;font-size:11px;opacity:.7;margin-bottom:2px}.cite{display:block;font-size:12px;margin-top:4px}.cite a{color:inherit}" +
    ".box{padding:10px 12px;border-top:1px solid #e2e8f0;background:#f8fafc}.box p{margin:0 0 6px}.box[hidden]{display:none}" +
    ".stars{display:flex;gap:4px;margin-bottom:6px}.stars button{border:1px solid #cbd5e1;background:#fff;border-radius:8px;padding:6px 10px;cursor:pointer;font-size:15px}" +
    ".stars button[aria-pressed=true]{background:var(--c);color:#fff}" +
    "form.compose{display:flex;gap:6px;padding:10px;border-top:1px solid #e2e8f0}button.attach{background:none;border:0;color:#475569;cursor:pointer;padding:0 2px;display:flex;align-items:center}a.file{display:block;color:inherit}a.file img{display:block;max-width:200px;max-height:200px;border-radius:8px}textarea{flex:1;resize:none;border:1px solid #cbd5e1;border-radius:10px;padding:8px;font-size:14px;min-height:40px;max-height:120px}" +
    "input{border:1px solid #cbd5e1;border-radius:8px;padding:6px;font-size:14px;width:100%;margin-bottom:6px}" +
    ".btn{background:var(--c);color:#fff;border:0;border-radius:10px;padding:0 14px;cursor:pointer;font-size:14px;min-height:36px}" +
    ".link{background:none;border:0;color:var(--c);cursor:pointer;padding:4px 12px;text-align:left;font-size:13px}" +
    ".typing{padding:0 12px 4px;color:#64748b;font-size:12px}.typing[hidden]{display:none}.seen{align-self:flex-end;font-size:11px;color:#64748b}" +
    ".solved{display:block;margin-top:6px;background:#fff;color:#166534;border:1px solid #86efac;border-radius:8px;padding:4px 10px;font-size:12px;cursor:pointer}" +
    ".past{list-style:none;margin:0;padding:0}.past button{all:unset;display:block;padding:8px 12px;border-bottom:1px solid #e2e8f0;cursor:pointer;width:100%;box-sizing:border-box}";
  var style = document.createElement("style"); style.textContent = css; root.appendChild(style);
  function el(tag, attrs, text) { var n = document.createElement(tag); for (var a in attrs || {}) { if (a === "class") n.className = attrs[a]; else n.setAttribute(a, attrs[a]); } if (text != null) n.textContent = text; return n; }

  var wrap = el("div", { "class": "wrap" }); root.appendChild(wrap);
  var launch = el("button", { "class": "launch", type: "button", "aria-label": t("open"), "aria-expanded": "false", "aria-controls": "kefu-panel" });
  // A speech-bubble icon drawn as SVG: emoji glyphs are missing on many systems.
  (function () {
    var NS = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", "26"); svg.setAttribute("height", "26");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(NS, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z");
    svg.appendChild(path); launch.appendChild(svg);
  })();
  var panel = el("div", { "class": "panel", id: "kefu-panel", role: "dialog", "aria-label": t("title") }); panel.hidden = true;
  var head = el("div", { "class": "head" }); var title = el("h2", null, t("title"));
  var humanBtn = el("button", { type: "button", "class": "human" }, t("human"));
  var closeBtn = el("button", { type: "button", "aria-label": t("close") }, "✕");
  head.appendChild(title); head.appendChild(humanBtn); head.appendChild(closeBtn);
  var status = el("div", { "class": "status", role: "status", "aria-live": "polite" });
  var log = el("ol", { "class": "log", "aria-live": "polite", "aria-label": t("title") });
  var typingEl = el("div", { "class": "typing" }, t("typing")); typingEl.hidden = true;
  var emailBox = el("form", { "class": "box email" }); emailBox.hidden = true;
  var emailP = el("p", null, t("noagents")); var emailIn = el("input", { type: "email", "aria-label": t("email"), placeholder: t("email"), required: "" });
  var emailBtn = el("button", { "class": "btn", type: "submit" }, t("save"));
  emailBox.appendChild(emailP); emailBox.appendChild(emailIn); emailBox.appendChild(emailBtn);
  var csatBox = el("form", { "class": "box csat" }); csatBox.hidden = true;
  var csatP = el("p", null, t("rate")); csatBox.appendChild(csatP);
  var stars = el("div", { "class": "stars", role: "group", "aria-label": t("rate") }); csatBox.appendChild(stars);
  var rating = 0;
  [1, 2, 3, 4, 5].forEach(function (n) {
    var b = el("button", { type: "button", "aria-pressed": "false", "aria-label": t("rateN", { n: n }), "data-rating": n }, String(n) + "★");
    LABELS.push([b, "rateN", "aria-label", { n: n }]);
    b.addEventListener("click", function () { rating = n; Array.prototype.forEach.call(stars.children, function (x) { x.setAttribute("aria-pressed", +x.dataset.rating === n ? "true" : "false"); }); });
    stars.appendChild(b);
  });
  var csatComment = el("input", { type: "text", "aria-label": t("comment"), placeholder: t("comment"), maxlength: "2000" });
  var csatSend = el("button", { "class": "btn", type: "submit" }, t("send"));
  csatBox.appendChild(csatComment); csatBox.appendChild(csatSend);
  var pastBtn = el("button", { type: "button", "class": "link" }, t("past"));
  // Shown once the visitor left an address and a conversation exists (issue 13: transcript).
  var transcriptBtn = el("button", { type: "button", "class": "link transcript" }, t("transcript")); transcriptBtn.hidden = true;
  var pastList = el("ul", { "class": "past" }); pastList.hidden = true;
  var form = el("form", { "class": "compose" });
  var input = el("textarea", { rows: "1", "aria-label": t("placeholder"), placeholder: t("placeholder"), maxlength: "4000" });
  var sendBtn = el("button", { "class": "btn", type: "submit" }, t("send"));
  // Attachments (issue 13): a paperclip posts the file over HTTP with the visitor token; the
  // server stores it and adds the message that shows it (it arrives like any other message).
  var attachIn = el("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf" }); attachIn.hidden = true;
  var attachBtn = el("button", { type: "button", "class": "attach", "aria-label": t("attach"), title: t("attach") });
  (function () {
    var NS = "http://www.w3.org/2000/svg", svg = document.createElementNS(NS, "svg"), path = document.createElementNS(NS, "path");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", "20"); svg.setAttribute("height", "20"); svg.setAttribute("aria-hidden", "true");
    path.setAttribute("fill", "none"); path.setAttribute("stroke", "currentColor"); path.setAttribute("stroke-width", "2"); path.setAttribute("stroke-linecap", "round");
    path.setAttribute("d", "M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9");
    svg.appendChild(path); attachBtn.appendChild(svg);
  })();
  form.appendChild(attachIn); form.appendChild(attachBtn); form.appendChild(input); form.appendChild(sendBtn);
  [head, status, pastList, log, typingEl, emailBox, csatBox, pastBtn, transcriptBtn, form].forEach(function (n) { panel.appendChild(n); });
  // The e-mail and rating boxes (and the status/typing lines) shrink the log when they appear:
  // a reader at the bottom stays at the bottom so they never hide the newest message.
  var logAtBottom = true;
  log.addEventListener("scroll", function () { logAtBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8; });
  if (window.ResizeObserver) new ResizeObserver(function () { if (logAtBottom) log.scrollTop = log.scrollHeight; }).observe(log);
  wrap.appendChild(panel); wrap.appendChild(launch);
  function setColor(c) { S.color = c; wrap.style.setProperty("--c", c); }
  setColor("#2563eb");

  function toggle(open) {
    panel.hidden = !open; wrap.classList.toggle("open", !!open); launch.setAttribute("aria-expanded", open ? "true" : "false");
    launch.setAttribute("aria-label", open ? t("close") : t("open"));
    if (open) { input.focus(); markRead(); } else if (launch.offsetParent !== null || getComputedStyle(launch).display !== "none") launch.focus();
  }
  launch.addEventListener("click", function () { toggle(panel.hidden); });
  closeBtn.addEventListener("click", function () { toggle(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") toggle(false); });

  // --- rendering --------------------------------------------------------------------
  function senderLabel(m) { return m.sender === "visitor" ? t("you") : m.sender === "bot" ? t("bot") : m.sender === "agent" ? (m.author_name || t("agent")) : ""; }
  function bubble(m, extraClass) {
    var li = el("li", { "class": "m " + m.sender + (extraClass ? " " + extraClass : "") });
    if (m.sender !== "system" && m.sender !== "visitor") li.appendChild(el("span", { "class": "who" }, senderLabel(m)));
    var att = /^\[attachment:([A-Za-z0-9_-]+)\] (.*)$/.exec(m.body || "");
    if (att) li.appendChild(attachmentLink(att[1], att[2])); else li.appendChild(document.createTextNode(m.body));
    (m.citations || []).forEach(function (c) {
      var s = el("span", { "class": "cite" }); var a = el("a", { target: "_blank", rel: "noopener noreferrer" }, "↗ " + (c.title || ""));
      if (/^https?:\/\//.test(c.url || "")) a.href = c.url; s.appendChild(a); li.appendChild(s);
    });
    if (m.seq) li.dataset.seq = m.seq;
    if (m.id && m.sender === "bot") li.dataset.id = m.id;
    if (m.client_msg_id) li.dataset.cmid = m.client_msg_id;
    return li;
  }
  function attachmentLink(key, name) {
    var url = BASE + "/attachments/" + encodeURIComponent(key) + "/?token=" + encodeURIComponent(S.token || "");
    var a = el("a", { href: url, target: "_blank", rel: "noopener noreferrer", "class": "file" });
    if (/\.(png|jpe?g|gif|webp)$/i.test(name)) {
      a.appendChild(el("img", { src: url.replace("/?token=", "/thumbnail/?token="), alt: name, loading: "lazy" }));
    } else { a.textContent = "PDF · " + name; }
    return a;
  }
  function insertBySeq(li, seq) {
    var after = null;
    Array.prototype.forEach.call(log.children, function (n) { if (!after && n.dataset.seq && +n.dataset.seq > seq) after = n; });
    if (!after) { after = log.querySelector(".pending, .stream"); }
    log.insertBefore(li, after); log.scrollTop = log.scrollHeight;
  }
  function renderMessage(m) {
    if (m.conversation_id !== S.viewing) return;
    if (S.msgs[m.seq]) return;
    S.msgs[m.seq] = m;
    var pend = m.client_msg_id && log.querySelector('.pending[data-cmid="' + CSS.escape(m.client_msg_id) + '"]');
    if (pend) pend.remove();
    if (m.sender === "bot" && m.reply_to && S.streams[m.reply_to]) { S.streams[m.reply_to].remove(); delete S.streams[m.reply_to]; }
    insertBySeq(bubble(m), m.seq);
    updateSolved();
  }
  // "This solved my problem": one button, under the latest bot answer, while the bot handles
  // an open conversation. It resolves the conversation as the bot (then the CSAT ask).
  var solvedBtn = el("button", { type: "button", "class": "solved" }, t("solved"));
  // Every fixed label, so a language pinned by the server after the page loaded relabels the UI.
  LABELS.push([panel, "title", "aria-label"], [humanBtn, "human"], [closeBtn, "close", "aria-label"],
    [log, "title", "aria-label"], [typingEl, "typing"], [emailP, "noagents"], [emailIn, "email", "aria-label"],
    [emailIn, "email", "placeholder"], [emailBtn, "save"], [csatP, "rate"], [stars, "rate", "aria-label"],
    [csatComment, "comment", "aria-label"], [csatComment, "comment", "placeholder"], [csatSend, "send"],
    [pastBtn, "past"], [input, "placeholder", "aria-label"], [input, "placeholder", "placeholder"], [sendBtn, "send"],
    [solvedBtn, "solved"], [transcriptBtn, "transcript"], [attachBtn, "attach", "aria-label"], [attachBtn, "attach", "title"]);
  function setLang(l) {
    if (!STRINGS[l] || l === lang) return;
    lang = l; host.setAttribute("lang", l === "zh-hans" ? "zh-Hans" : "en");
    LABELS.forEach(function (x) { var v = t(x[1], x[3]); if (x[2]) x[0].setAttribute(x[2], v); else x[0].textContent = v; });
    launch.setAttribute("aria-label", panel.hidden ? t("open") : t("close"));
    if (!S.widgetName) title.textContent = t("title");
  }
  solvedBtn.addEventListener("click", function () {
    var li = solvedBtn.parentNode; if (!li || !li.dataset.id) return;
    solvedBtn.disabled = true; send({ type: "solved", message_id: +li.dataset.id });
  });
  function updateSolved() {
    var c = S.convs.find(function (x) { return x.id === S.viewing; });
    var bots = log.querySelectorAll(".m.bot[data-id]"), last = bots.length ? bots[bots.length - 1] : null;
    if (!c || c.status === "resolved" || c.handled_by !== "bot" || !last) { solvedBtn.remove(); return; }
    solvedBtn.textContent = t("solved"); solvedBtn.disabled = false;
    if (solvedBtn.parentNode !== last) last.appendChild(solvedBtn);
  }
  function renderPending(o) {
    if (log.querySelector('[data-cmid="' + CSS.escape(o.client_msg_id) + '"]')) return;
    var li = bubble({ sender: "visitor", body: o.body, client_msg_id: o.client_msg_id }, "pending");
    li.title = t("sending"); log.appendChild(li); log.scrollTop = log.scrollHeight;
  }
  function lastSeq(cid) { return S.seqs[cid] || 0; }
  function noteSeq(cid, seq) {
    if (seq === lastSeq(cid) + 1) { S.seqs[cid] = seq; return true; }
    return seq <= lastSeq(cid);
  }
  function accept(m) {
    // Contiguity: a message past a gap triggers a replay from the database.
    if (!noteSeq(m.conversation_id, m.seq)) { send({ type: "sync", conversation_id: m.conversation_id, after_seq: lastSeq(m.conversation_id) }); return; }
    renderMessage(m); markRead();
  }
  function setConversation(c) {
    if (!c) return;
    var i = S.convs.findIndex(function (x) { return x.id === c.id; });
    if (i >= 0) S.convs[i] = c; else S.convs.unshift(c);
    if (S.conv === c.id || S.conv === null) {
      if (S.conv !== c.id) { S.conv = c.id; save("conv", c.id); }
      if (S.viewing === null) S.viewing = c.id;
    }
    if (c.id === S.viewing) {
      csatBox.hidden = !(c.status === "resolved" && c.csat_state === "requested");
      // Already with a person (until resolved): asking for one again would only confuse.
      humanBtn.hidden = !!S.unavailable || (c.handled_by === "human" && c.status !== "resolved");
      if (c.status === "resolved") status.textContent = c.csat_state === "answered" ? t("thanks") : t("resolved");
      else if (c.handled_by === "human" && status.textContent === t("resolved")) status.textContent = "";
      updateSolved();
    }
  }
  function showView(cid) {
    S.viewing = cid; S.msgs = {}; log.textContent = ""; S.streams = {};
    S.seqs[cid] = 0;
    send({ type: "sync", conversation_id: cid, after_seq: 0 });
    var c = S.convs.find(function (x) { return x.id === cid; }); if (c) setConversation(c);
    if (cid === S.conv) S.outbox.forEach(renderPending);
  }

  // --- socket -----------------------------------------------------------------------
  function send(frame) { if (S.ws && S.ws.readyState === 1 && (S.ready || frame.type === "hello")) { S.ws.send(JSON.stringify(frame)); return true; } return false; }
  function connect() {
    status.textContent = t("connecting");
    var ws = new WebSocket(BASE.replace(/^http/, "ws") + "/ws/widget/" + encodeURIComponent(KEY) + "/");
    S.ws = ws; S.ready = false;
    ws.onopen = function () {
      S.everOpened = true;
      var resume = []; if (S.conv) resume.push([S.conv, lastSeq(S.conv)]);
      ws.send(JSON.stringify({ type: "hello", token: S.token || "", user_id: USER_ID, user_hash: USER_HASH,
        name: script.getAttribute("data-name") || opts.name || "", attributes: opts.attributes || {}, language: navigator.language || "", resume: resume }));
    };
    ws.onmessage = function (e) { var f; try { f = JSON.parse(e.data); } catch (x) { return; } onFrame(f); };
    ws.onclose = function (e) {
      S.ready = false; status.textContent = t("offline");
      var delay = S.backoff * (0.5 + Math.random()); S.backoff = Math.min(S.backoff * 2, 30000);
      if (e.code === 4403 || e.code === 4404) { unavailable(); return; }
      if (e.code === 4429) delay = Math.max(delay, 30000);
      if (S.everOpened) { setTimeout(connect, delay); return; }
      // A refused handshake shows the page no close code: ask whether this origin may chat.
      fetch(BASE + "/widget/" + encodeURIComponent(KEY) + "/origin-check/", { credentials: "omit", cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (j) { if (j && j.allowed === false) unavailable(); else setTimeout(connect, delay); },
              function () { setTimeout(connect, delay); });
    };
  }
  function unavailable() {
    // Final: the site is not allowed (or the widget is gone); no reconnect loop.
    S.unavailable = true; status.textContent = t("unavailable"); status.classList.add("unavailable");
    input.disabled = sendBtn.disabled = true; emailBox.hidden = humanBtn.hidden = pastBtn.hidden = true;
  }
  function updateTranscript() { transcriptBtn.hidden = !(S.email && S.conv); }
  transcriptBtn.addEventListener("click", function () {
    if (S.conv && send({ type: "transcript", conversation_id: S.conv })) transcriptBtn.disabled = true;
  });
  function flushOutbox() { S.outbox.forEach(function (o) { send({ type: "message", client_msg_id: o.client_msg_id, body: o.body, conversation_id: o.conversation_id }); }); }
  function onFrame(f) {
    switch (f.type) {
      case "ready":
        S.ready = true; S.backoff = 500; S.badTokens = 0; status.textContent = "";
        if (f.token) { S.token = f.token; save("token", f.token); }
        if (f.widget) { setColor(f.widget.color || S.color); S.widgetName = f.widget.name || ""; title.textContent = f.widget.name || t("title"); if (!PINNED && f.widget.locale && f.widget.locale !== "auto") setLang(f.widget.locale); }
        S.convs = f.conversations || [];
        var known = S.conv && S.convs.some(function (c) { return c.id === S.conv; });
        if (!known) {
          var open = S.convs.find(function (c) { return c.status !== "resolved"; }) || S.convs[0];
          S.conv = open ? open.id : null; save("conv", S.conv); S.seqs = {};
          S.viewing = S.conv; log.textContent = ""; S.msgs = {};
          if (S.conv) send({ type: "sync", conversation_id: S.conv, after_seq: 0 });
          else if (f.widget && f.widget.greeting) log.appendChild(bubble({ sender: "bot", body: f.widget.greeting }));
        } else if (S.viewing === null) S.viewing = S.conv;
        S.convs.forEach(function (c) { if (c.id === S.viewing) setConversation(c); });
        pastBtn.hidden = S.convs.filter(function (c) { return c.status === "resolved"; }).length === 0;
        S.email = (f.contact && f.contact.email) || ""; updateTranscript();
        if (f.hours && f.hours.open === false) status.textContent = hoursText(f.hours);
        S.outbox.forEach(renderPending); flushOutbox();
        break;
      case "replay":
        setConversation(f.conversation);
        f.messages.forEach(function (m) { if (m.seq > lastSeq(m.conversation_id)) { S.seqs[m.conversation_id] = m.seq; } renderMessage(m); });
       
        if (!f.complete) send({ type: "sync", conversation_id: f.conversation_id, after_seq: lastSeq(f.conversation_id) });
        markRead();
        break;
      case "ack":
        S.outbox = S.outbox.filter(function (o) { return o.client_msg_id !== f.client_msg_id; }); save("outbox", S.outbox);
        setTimeout(updateTranscript, 0);
        if (S.conv !== f.conversation.id) {
          S.conv = f.conversation.id; save("conv", S.conv);
          if (S.viewing !== S.conv) { S.viewing = S.conv; log.textContent = ""; S.msgs = {}; S.outbox.forEach(renderPending); }
        }
        setConversation(f.conversation);
        accept(f.message);
        break;
      case "message":
        if (f.conversation) setConversation(f.conversation);
        typingEl.hidden = true;
        accept(f.message);
        break;
      case "chunk":
        if (f.conversation_id !== S.viewing) break;
        var s = S.streams[f.reply_to];
        if (!s) { s = bubble({ sender: "bot", body: "" }, "stream"); S.streams[f.reply_to] = s; log.appendChild(s); typingEl.hidden = true; }
        s.appendChild(document.createTextNode(f.text)); log.scrollTop = log.scrollHeight;
        break;
      case "stream_cancel":
        if (S.streams[f.reply_to]) { S.streams[f.reply_to].remove(); delete S.streams[f.reply_to]; }
        break;
      case "notice":  // "still working on it": in the typing line until the reply replaces it
        if (f.conversation_id === S.viewing) { typingEl.textContent = f.message; typingEl.hidden = false; }
        break;
      case "conversation": setConversation(f.conversation); break;
      case "handoff":
        typingEl.hidden = true;
        if (f.conversation) setConversation(f.conversation);
        if (f.agents_online && f.position) { status.textContent = t("queue", { n: f.position }); emailBox.hidden = true; }
        else if (!f.agents_online) {
          var closed = f.open === false;  // outside business hours: ask for the e-mail as when nobody is online
          status.textContent = closed ? hoursText(f) : ""; emailP.textContent = t(closed ? "closedEmail" : "noagents");
          emailBox.hidden = false;
        }
        break;
      case "typing":
        if ((f.side === "agent" || f.side === "bot") && f.conversation_id === S.viewing) {
          typingEl.textContent = t(f.side === "bot" ? "botTyping" : "typing"); typingEl.hidden = !f.on;
          clearTimeout(S.typingTimer); if (f.on) S.typingTimer = setTimeout(function () { typingEl.hidden = true; }, 60000);
        }
        break;
      case "read":
        if (f.side === "agent" && f.conversation_id === S.viewing) {
          var old = log.querySelector(".seen"); if (old) old.remove();
          var mine = log.querySelectorAll(".m.visitor[data-seq]"), last = null;
          Array.prototype.forEach.call(mine, function (n) { if (+n.dataset.seq <= f.seq) last = n; });
          if (last) last.after(el("li", { "class": "seen" }, t("seen")));
        }
        break;
      case "email_saved": emailBox.hidden = true; status.textContent = t("saved", { e: f.email }); S.email = f.email; updateTranscript(); break;
      case "transcript_sent": transcriptBtn.disabled = false; status.textContent = t("transcriptSent", { e: f.email }); break;
      case "csat_saved": csatBox.hidden = true; status.textContent = t("thanks"); break;
      case "solved_saved": if (f.conversation) setConversation(f.conversation); break;
      case "error":
        if (f.code === "bad_token" || f.code === "bad_identity") {
          S.token = ""; save("token", ""); S.conv = null; save("conv", null); S.seqs = {};
          S.badTokens += 1;
        } else if (f.ref) {
          var p = log.querySelector('.pending[data-cmid="' + CSS.escape(String(f.ref)) + '"]');
          if (p && f.code !== "rate_limited") {
            p.classList.add("failed"); p.classList.remove("pending"); p.title = t("error", { m: f.message });
            S.outbox = S.outbox.filter(function (o) { return o.client_msg_id !== f.ref; }); save("outbox", S.outbox);
            status.textContent = t("error", { m: f.message });
          } else if (f.code === "rate_limited") { status.textContent = f.message; setTimeout(flushOutbox, 5000); }
        } else { status.textContent = f.message; }
        break;
    }
  }
  function markRead() {
    if (panel.hidden || !S.viewing) return;
    var seq = lastSeq(S.viewing); if (seq && seq !== S.readSent) { S.readSent = seq; send({ type: "read", conversation_id: S.viewing, seq: seq }); }
  }
  function newId() { return "v-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10); }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var body = input.value.trim(); if (!body) return;
    if (S.viewing !== S.conv) showView(S.conv);
    var c = S.convs.find(function (x) { return x.id === S.conv; });
    var o = { client_msg_id: newId(), body: body, conversation_id: c && c.status !== "resolved" ? S.conv : null };
    S.outbox.push(o); save("outbox", S.outbox); renderPending(o); input.value = "";
    send({ type: "message", client_msg_id: o.client_msg_id, body: o.body, conversation_id: o.conversation_id });
    sendTyping(false);
  });
  attachBtn.addEventListener("click", function () { attachIn.click(); });
  attachIn.addEventListener("change", function () {
    var file = attachIn.files && attachIn.files[0]; attachIn.value = ""; if (!file || !S.token) return;
    var c = S.convs.find(function (x) { return x.id === S.conv; });
    var fd = new FormData(); fd.append("token", S.token); fd.append("client_msg_id", newId()); fd.append("file", file);
    if (c && c.status !== "resolved") fd.append("conversation_id", String(S.conv));
    fetch(BASE + "/widget/" + encodeURIComponent(KEY) + "/attachments/", { method: "POST", body: fd, credentials: "omit" })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error((j.error && j.error.message) || r.statusText); return j; }); })
      .then(function () { /* the message arrives over the socket like any other */ },
            function (err) { status.textContent = t("attachFailed", { m: err.message }); });
  });
  input.addEventListener("keydown", function (e) { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit")); } });
  var typingOn = false, typingTimer = null;
  function sendTyping(on) {
    if (!S.conv) return;
    if (on !== typingOn) { typingOn = on; send({ type: "typing", conversation_id: S.conv, on: on }); }
    clearTimeout(typingTimer); if (on) typingTimer = setTimeout(function () { sendTyping(false); }, 3000);
  }
  input.addEventListener("input", function () { sendTyping(true); });
  humanBtn.addEventListener("click", function () { send({ type: "handoff", conversation_id: S.conv }); });
  emailBox.addEventListener("submit", function (e) { e.preventDefault(); send({ type: "email", email: emailIn.value }); });
  csatBox.addEventListener("submit", function (e) {
    e.preventDefault(); if (!rating) return;
    send({ type: "csat", conversation_id: S.viewing, rating: rating, comment: csatComment.value });
  });
  pastBtn.addEventListener("click", function () {
    pastList.textContent = ""; pastList.hidden = !pastList.hidden; if (pastList.hidden) return;
    S.convs.forEach(function (c) {
      var li = el("li"); var b = el("button", { type: "button" }, "#" + c.id + " · " + (c.preview || "") + " · " + c.status);
      b.addEventListener("click", function () { pastList.hidden = true; showView(c.id); }); li.appendChild(b); pastList.appendChild(li);
    });
  });
  window.addEventListener("online", function () { if (!S.ws || S.ws.readyState > 1) { S.backoff = 500; connect(); } });

  function mount() { document.body.appendChild(host); connect(); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
  window.Kefu = { open: function () { toggle(true); }, close: function () { toggle(false); } };
})();
