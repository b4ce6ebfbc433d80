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
