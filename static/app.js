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
