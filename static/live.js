// The live layer's client (docs/realtime.md): one socket per tab. It applies the pushed pieces in seq
// order (htmx's out-of-band swaps), asks again for what it missed, reconnects with back-off and jitter,
// and says in the top bar whether what the page shows is live.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="samsyn-seq"]');
  if (!meta || !window.WebSocket) return;
  var applied = Number(meta.content);  // the last seq this page shows
  var live = false, lostAt = null, attempt = 0, asked = -1, socket = null, watchdog = null, beat = 15;
  var me = Number(document.body.dataset.userId), people = {}, writing = false, announced = false;
  var turning = 0;  // pages told to the server and not yet confirmed: events until then are for the old page

  function showState() {
    var el = document.getElementById("live-state");
    if (!el) return;
    document.body.classList.toggle("live-offline", !live && lostAt !== null);
    el.dataset.state = live ? "live" : (lostAt ? "offline" : "connecting");
    if (live) {
      el.textContent = el.dataset.live;
    } else if (lostAt) {
      var time = lostAt.toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
      el.textContent = el.dataset.offline.replace("{time}", time);
    }
  }

  function setLive(on) {
    if (on) lostAt = null;
    else if (live || !lostAt) lostAt = new Date();
    live = on;
    showState();
  }

  // The dashboard's list says which rows belong in it (data-match: "name=value" / "name!=value" terms over a
  // row's data-*) and in what order (data-sort: the data-* holding a row's key, data-order: newest or oldest).
  function matches(row, spec) {
    return spec.split(" ").every(function (term) {
      var m = /^([\w-]+)(!?=)(.*)$/.exec(term);
      return !m || (row.getAttribute("data-" + m[1]) === m[3]) === (m[2] === "=");
    });
  }

  function before(a, b, list) {  // whether row a sorts before row b in this list (the id breaks ties)
    var ka = Number(a.getAttribute("data-" + list.dataset.sort)), kb = Number(b.getAttribute("data-" + list.dataset.sort));
    var diff = ka !== kb ? ka - kb : Number(a.id.split("-")[1]) - Number(b.id.split("-")[1]);
    return list.dataset.order === "newest" ? diff > 0 : diff < 0;
  }

  // A pushed row (the same bytes for every viewer) replaces its old self, never duplicates it; it lands at its
  // place if this view shows it, goes if the view no longer does, and is ignored past the loaded page.
  function place(row, list) {
    var old = document.getElementById(row.id), box = row.querySelector(".select");
    if (old) {
      if (box && old.querySelector(".select:checked")) box.checked = true;  // a selection survives an update
      old.remove();
    }
    if (!matches(row, list.dataset.match)) return;
    row.removeAttribute("hx-swap-oob");
    var next = Array.prototype.find.call(list.querySelectorAll(":scope > .queue-row"), function (li) {
      return before(row, li, list);
    });
    if (next) list.insertBefore(row, next);
    else if (!document.getElementById("queue-more")) list.appendChild(row);
    else return;  // it sorts after the loaded page: scrolling brings it
    htmx.trigger(row, "htmx:load");  // its age, like any swapped-in content
  }

  // Only the pieces whose target this page has: htmx logs an error for each one it cannot place.
  // Dashboard rows are placed here; a pushed list for another view than this one's reloads this one's instead.
  function forThisPage(html) {
    var t = document.createElement("template"), list = document.getElementById("queue-rows");
    t.innerHTML = html;
    Array.prototype.slice.call(t.content.children).forEach(function (el) {
      var swap = el.getAttribute("hx-swap-oob") || "", at = swap.indexOf(":#");
      if (el.classList.contains("queue-row")) {
        el.remove();
        if (list) place(el, list);
      } else if (el.id === "queue-rows" && list && ["match", "sort", "order"].some(function (k) {
        return el.dataset[k] !== list.dataset[k];
      })) {
        el.remove();
        htmx.ajax("GET", location.href, { target: "#queue-rows", select: "#queue-rows", swap: "outerHTML" });
      } else if (!document.getElementById(at >= 0 ? swap.slice(at + 2) : el.id)) {
        el.remove();
      }
    });
    return t.innerHTML;
  }

  // Presence: who else is on each conversation, on the case page and as a mark on its queue row.
  function paintPresence() {
    var words = document.getElementById("live-state"), box = document.getElementById("presence");
    if (!words) return;
    if (box) {
      box.textContent = (people[box.dataset.conversationId] || []).map(function (p) {
        return (p.state === "replying" ? words.dataset.writing : words.dataset.working).replace("{name}", p.name);
      }).join(" · ");
    }
    document.querySelectorAll(".queue-row[id^='conversation-']").forEach(function (row) {
      var others = people[row.id.slice("conversation-".length)] || [], mark = row.querySelector(".presence-mark");
      if (!others.length) { if (mark) mark.remove(); return; }
      if (!mark) {
        mark = document.createElement("span");
        mark.className = "badge presence-mark";
        (row.querySelector(".badges") || row).appendChild(mark);
      }
      mark.textContent = others.map(function (p) { return p.name; }).join(", ");
      mark.dataset.state = others.some(function (p) { return p.state === "replying"; }) ? "replying" : "viewing";
    });
  }

  function shownCase() {  // the conversation whose page this is, or null
    var box = document.getElementById("presence");
    return box ? Number(box.dataset.conversationId) : null;
  }

  // Tell the server which case this page shows (and whether a reply is being written), or that it shows none.
  function announce() {
    var box = document.getElementById("presence");
    if (box) {
      send({ type: writing ? "replying" : "viewing", conversation_id: shownCase() });
      announced = true;
    } else if (announced) {
      send({ type: "left" });
      announced = false;
    }
  }

  document.addEventListener("input", function (e) {
    if (!writing && e.target.closest && e.target.closest("#composer")) {
      writing = true;
      announce();
    }
  });

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  // Ask for the events after `since` (once per gap): the server replays them from its log.
  function ask(since) {
    if (asked === since) return;
    asked = since;
    send({ type: "replay", since: since });
  }

  function alive() {  // no heartbeat for three beats: the connection is dead, whatever the browser thinks
    clearTimeout(watchdog);
    watchdog = setTimeout(function () { if (socket) socket.close(); }, beat * 3000);
  }

  // Someone else wrote in this case (a reply, a customer's mail) while you write yours: say so at once.
  // Messages newer than the form's "seen" are what the server would hold your reply for.
  function tellWriter() {
    var form = document.getElementById("composer"), box = document.querySelector(".notice.crossed");
    if (!form || !box || !form.elements.body || !form.elements.body.value.trim()) return;
    var seen = Number(form.elements.seen.value), who = [];
    document.querySelectorAll("li.message[id^='message-']:not(.kind-note)").forEach(function (li) {
      var name = li.querySelector("header strong");
      if (Number(li.id.slice(8)) > seen && name && who.indexOf(name.textContent) < 0) who.push(name.textContent);
    });
    if (!who.length) return;
    box.textContent = box.dataset.text.replace("{who}", who.join(", "));
    box.hidden = false;
  }

  function receive(message) {
    alive();
    if (message.type === "event") {
      if (turning) return;  // built for the page before: what this page lacks comes after the "page" frame
      if (message.seq <= applied) return;  // already shown (a page and its replay may overlap)
      if (message.seq > applied + 1) return ask(applied);  // a gap: the replay brings this one too
      var html = forThisPage(message.html || "");
      if (html) htmx.swap(document.body, html, { swapStyle: "none" });
      applied = message.seq;
      tellWriter();
      paintPresence();  // a replaced queue row lost its mark
    } else if (message.type === "hello" || message.type === "heartbeat") {
      if (message.heartbeat) beat = message.heartbeat;
      if (message.seq > applied && !turning) ask(applied);  // a publish that never came
      attempt = 0;
      if (message.type === "hello") announce();  // a new socket: the server knows nothing of this page yet
      setLive(true);
    } else if (message.type === "page") {
      turning = Math.max(0, turning - 1);
    } else if (message.type === "presence") {
      people[message.conversation_id] = message.people.filter(function (p) { return p.user_id !== me; });
      paintPresence();
    } else if (message.type === "reload") {
      setLive(false);
      location.reload();  // too far behind to replay: the page is read again
    }
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    var shown = shownCase();
    socket = new WebSocket(scheme + "//" + location.host + "/ws?since=" + applied + (shown ? "&case=" + shown : ""));
    asked = -1;
    turning = 0;
    socket.onmessage = function (e) {
      try { receive(JSON.parse(e.data)); } catch (err) { console.warn("live:", err); }
    };
    socket.onclose = function (e) {
      socket = null;
      clearTimeout(watchdog);
      setLive(false);
      if (e.code === 4001) return location.reload();  // session ended or changed: the server decides anew
      // 0.5 s, 1 s, 2 s … up to 30 s, each between half and one and a half times that: no thundering herd
      var delay = Math.min(30000, 500 * Math.pow(2, attempt++)) * (0.5 + Math.random());
      setTimeout(connect, delay);
    };
  }

  // A boosted link or form brings a whole new page read at its own seq: the socket goes on from there, with
  // that page's pieces (a case page's own go only to the sockets showing it).
  document.addEventListener("htmx:afterSwap", function (e) {
    showState();
    var found = e.detail.boosted && /<meta name="samsyn-seq" content="(\d+)">/.exec(e.detail.xhr.responseText);
    if (found) {
      applied = Number(found[1]);
      if (socket && socket.readyState === WebSocket.OPEN) {  // else the next connect says it
        turning++;
        send({ type: "page", since: applied, conversation_id: shownCase() });
      }
    }
    if (e.detail.boosted) {  // another page: another case, or none
      writing = false;
      announce();
    }
    paintPresence();
  });
  window.addEventListener("pagehide", function () { if (socket) socket.close(1000); });
  document.addEventListener("DOMContentLoaded", connect);
})();
