// Upkeep's one script, small and dependency-free; every page works without it. It keeps
// relative times current, reloads pages that show something running, asks before
// destructive posts, and copies one-time secrets.
(function () {
  "use strict";

  // The same steps as the server's (crates/upkeep-server/src/ui/time.rs).
  function relative(then) {
    var seconds = Math.round((Date.now() - then) / 1000);
    var ahead = seconds < 0, distance = Math.abs(seconds), count, unit;
    if (distance < 45) return "just now";
    if (distance < 2700) { count = Math.max(1, Math.ceil(distance / 60)); unit = "min"; }
    else if (distance < 79200) { count = Math.floor((distance + 1800) / 3600); unit = "h"; }
    else if (distance < 2592000) { count = Math.floor((distance + 43200) / 86400); unit = "day"; }
    else if (distance < 31536000) { count = Math.floor((distance + 1296000) / 2592000); unit = "month"; }
    else { count = Math.floor((distance + 15768000) / 31536000); unit = "year"; }
    if (count !== 1 && unit !== "min" && unit !== "h") unit += "s";
    return ahead ? "in " + count + " " + unit : count + " " + unit + " ago";
  }

  function refreshTimes() {
    document.querySelectorAll("time[datetime]").forEach(function (element) {
      var then = Date.parse(element.getAttribute("datetime"));
      if (!isNaN(then)) element.textContent = relative(then);
    });
  }

  // A page whose body says data-refresh="N" reloads after N seconds, unless the visitor is
  // typing into one of its fields or has a menu open.
  function scheduleRefresh() {
    var seconds = Number(document.body.dataset.refresh);
    if (!seconds) return;
    window.setTimeout(function () {
      var busy = document.activeElement && /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
      if (busy || document.querySelector("details.menu[open]")) { scheduleRefresh(); return; }
      window.location.reload();
    }, seconds * 1000);
  }

  document.addEventListener("submit", function (event) {
    var question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button || !navigator.clipboard) return;
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    navigator.clipboard.writeText(source.textContent).then(function () {
      button.textContent = "Copied";
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    refreshTimes();
    window.setInterval(refreshTimes, 30000);
    scheduleRefresh();
  });
})();
