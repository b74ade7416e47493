// Sesame dev inbox: renders the messages of /dev/inbox/events (Server-Sent
// Events; the server replays what it keeps, then streams new ones). Message
// fields are only ever set as text or attributes, never as markup; an
// email's HTML part goes into a sandboxed iframe.
"use strict";

(function () {
  const list = document.getElementById("messages");
  const empty = document.getElementById("empty");
  const status = document.getElementById("status");
  const tmpl = document.getElementById("message-template");
  const seen = new Set();

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function safeLink(url) {
    try {
      const u = new URL(url);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : "";
    } catch (e) {
      return "";
    }
  }

  function copy(button, text) {
    const done = () => {
      button.classList.add("copied");
      setTimeout(() => button.classList.remove("copied"), 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => select(button));
    } else {
      select(button);
    }
  }

  function select(el) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  function render(m) {
    const li = tmpl.content.firstElementChild.cloneNode(true);
    li.dataset.seq = String(m.seq);
    li.dataset.channel = m.channel;
    li.querySelector(".channel").textContent = m.channel;
    li.querySelector(".to").textContent = m.to;
    const t = li.querySelector(".time");
    t.dateTime = m.sent_at;
    t.textContent = new Date(m.sent_at).toLocaleString();
    t.title = m.sent_at + " · " + m.provider_id;

    const subject = li.querySelector(".subject");
    if (m.subject) subject.textContent = m.subject; else subject.remove();

    const code = li.querySelector(".code");
    if (m.code) {
      code.textContent = m.code;
      code.addEventListener("click", () => copy(code, m.code));
    } else {
      code.remove();
    }
    const link = li.querySelector(".link");
    const href = m.link ? safeLink(m.link) : "";
    if (href) link.href = href; else link.remove();
    if (!m.code && !href) li.querySelector(".actions").remove();

    const text = li.querySelector(".text");
    text.textContent = m.text;
    const frame = li.querySelector(".html");
    if (m.html) {
      // An email: its HTML part first, the plain-text part folded below.
      frame.srcdoc = m.html;
      const plain = document.createElement("details");
      plain.className = "plain";
      const summary = document.createElement("summary");
      summary.textContent = "Plain-text part";
      plain.append(summary, text);
      frame.after(plain);
    } else {
      frame.remove();
    }
    return li;
  }

  function add(m) {
    if (seen.has(m.seq)) return;
    seen.add(m.seq);
    const li = render(m);
    // Newest first: insert before the first message with a lower seq.
    let before = null;
    for (const el of list.children) {
      if (Number(el.dataset.seq) < m.seq) { before = el; break; }
    }
    list.insertBefore(li, before);
    empty.hidden = true;
  }

  const events = new EventSource("/dev/inbox/events");
  events.addEventListener("open", () => setStatus("live", "live"));
  events.addEventListener("error", () => setStatus("offline", "reconnecting…"));
  events.addEventListener("message", (e) => {
    try {
      add(JSON.parse(e.data));
    } catch (err) {
      console.error("bad inbox event", err);
    }
  });
})();
