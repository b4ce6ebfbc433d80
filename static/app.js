// Keeps every <time datetime> in a queue row showing its age ("3 h"), updated by the client.
(function () {
  "use strict";
  var locale = document.body.dataset.locale || "sv";
  var rtf = new Intl.RelativeTimeFormat(locale, { numeric: "auto", style: "short" });
  var units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]];

  function age(iso) {
    var seconds = (Date.parse(iso) - Date.now()) / 1000;
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(seconds) >= units[i][1]) return rtf.format(Math.round(seconds / units[i][1]), units[i][0]);
    }
    return rtf.format(0, "minute");
  }

  function refresh(root) {
    (root || document).querySelectorAll(".queue-row time[datetime]").forEach(function (el) {
      el.textContent = age(el.getAttribute("datetime"));
    });
  }

  document.addEventListener("DOMContentLoaded", function () { refresh(); });
  document.addEventListener("htmx:load", function (e) { refresh(e.target); });
  setInterval(refresh, 30000);
})();


// Canned replies on a case page: a click inserts the text at the cursor; so does typing /shortcut and a space.
(function () {
  "use strict";
  function insert(area, text, from, to) {
    area.setRangeText(text, from, to, "end");
    area.dispatchEvent(new Event("input", { bubbles: true }));
    area.focus();
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest(".canned-insert");
    if (!button) return;
    var area = button.form.querySelector("textarea[name=body]");
    insert(area, button.dataset.text, area.selectionStart, area.selectionEnd);
  });
  document.addEventListener("input", function (e) {
    var area = e.target;
    if (!area.form || !area.form.classList.contains("reply-form")) return;
    var before = area.value.slice(0, area.selectionStart);
    var typed = before.match(/(^|\s)\/([a-z0-9åäö-]{1,30})\s$/);
    if (!typed) return;
    var button = area.form.querySelector('.canned-insert[data-shortcut="' + typed[2] + '"]');
    if (button) insert(area, button.dataset.text, before.length - typed[2].length - 2, before.length);
  });
})();


// The reply composer: chosen files go up at once, with progress, into the writer's draft; the Attach
// button (for browsers without this script) hides. A file too big for a mail is refused before it goes.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".attach-button").forEach(function (b) { b.hidden = true; });
  });

  function showError(list, text) {
    var p = list.querySelector(".error") || document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    list.insertBefore(p, list.firstChild);
  }

  document.addEventListener("change", function (e) {
    var input = e.target;
    if (!input.classList || !input.classList.contains("composer-files") || !input.files.length) return;
    var form = input.form, list = form.querySelector("#draft-files");
    var progress = form.querySelector(".upload-progress"), total = 0;
    for (var i = 0; i < input.files.length; i++) total += input.files[i].size;
    if (total > Number(list.dataset.room)) {
      showError(list, list.dataset.tooBig);
      input.value = "";
      return;
    }
    var data = new FormData(form);  // the text typed so far is saved with the files
    var xhr = new XMLHttpRequest();
    xhr.open("POST", input.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRF-Token", form.querySelector("input[name=csrf_token]").value);
    xhr.setRequestHeader("HX-Request", "true");  // answer with the file list, not the page
    xhr.upload.onprogress = function (p) { if (p.lengthComputable) progress.value = p.loaded / p.total; };
    xhr.onload = function () {
      progress.hidden = true;
      input.value = "";
      if (xhr.getResponseHeader("Content-Type").indexOf("text/html") === 0 && xhr.responseText.indexOf('id="draft-files"') >= 0) {
        list.outerHTML = xhr.responseText;
      } else {
        showError(list, xhr.statusText || String(xhr.status));
      }
    };
    xhr.onerror = function () { progress.hidden = true; showError(list, list.dataset.failed || "Upload failed"); };
    progress.value = 0;
    progress.hidden = false;
    xhr.send(data);
  });

  // New mail: the chosen mailbox's signature shows below the text.
  document.addEventListener("change", function (e) {
    if (!e.target.classList || !e.target.classList.contains("mailbox-choice")) return;
    e.target.form.querySelectorAll(".signature[data-channel-id]").forEach(function (s) {
      s.hidden = s.dataset.channelId !== e.target.value;
    });
  });
})();


// The dashboard's "select all on screen": every row's checkbox at once (rows loaded later come unselected).
(function () {
  "use strict";
  function show() {
    var all = document.querySelector("#bulk .select-all");
    if (all) all.hidden = false;  // without JavaScript it could do nothing, so it is not shown
  }
  document.addEventListener("DOMContentLoaded", show);
  document.addEventListener("htmx:load", show);
  document.addEventListener("change", function (e) {
    if (!e.target.closest || !e.target.closest("#bulk .select-all")) return;
    document.querySelectorAll(".queue-row .select").forEach(function (box) { box.checked = e.target.checked; });
  });
})();
