// Upkeep's one script, small and dependency-free; every page works without it. It keeps
// relative times current, reloads pages that show something running, asks before
// destructive posts, copies one-time secrets, and on a run's page follows the logs of running
// steps live (server-sent events), pages in earlier lines and reloads when the run moves on.
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

  // Colours of a log line: the same classes as the server's (crates/upkeep-server/src/ui/ansi.rs).
  function ansiSegments(text) {
    var segments = [], style = {}, plain = "", pattern = /\u001b(?:\[([0-9;?:]*)([A-Za-z])|.)?/g;
    var last = 0, found;
    function classes() {
      var list = [];
      if (style.bold) list.push("ansi-bold");
      if (style.dim) list.push("ansi-dim");
      if (style.italic) list.push("ansi-italic");
      if (style.underline) list.push("ansi-underline");
      if (style.fg !== undefined) list.push("ansi-fg-" + style.fg);
      if (style.bg !== undefined) list.push("ansi-bg-" + style.bg);
      return list.join(" ");
    }
    function flush() {
      if (plain) segments.push({ classes: classes(), text: plain });
      plain = "";
    }
    function apply(parameters) {
      var codes = parameters === "" ? [0] : parameters.split(";").map(Number);
      for (var i = 0; i < codes.length; i++) {
        var code = codes[i];
        if (code === 0) style = {};
        else if (code === 1) style.bold = true;
        else if (code === 2) style.dim = true;
        else if (code === 3) style.italic = true;
        else if (code === 4) style.underline = true;
        else if (code === 22) { style.bold = false; style.dim = false; }
        else if (code === 23) style.italic = false;
        else if (code === 24) style.underline = false;
        else if (code >= 30 && code <= 37) style.fg = code - 30;
        else if (code === 39) delete style.fg;
        else if (code >= 40 && code <= 47) style.bg = code - 40;
        else if (code === 49) delete style.bg;
        else if (code >= 90 && code <= 97) style.fg = code - 90 + 8;
        else if (code >= 100 && code <= 107) style.bg = code - 100 + 8;
        else if (code === 38 || code === 48) i += codes[i + 1] === 5 ? 2 : codes[i + 1] === 2 ? 4 : 1;
      }
    }
    while ((found = pattern.exec(text)) !== null) {
      plain += text.slice(last, found.index);
      last = pattern.lastIndex;
      if (found[2] === "m") { flush(); apply(found[1]); }
    }
    plain += text.slice(last);
    flush();
    return segments.map(function (segment) {
      // Control characters other than tabs would be invalid in the page.
      segment.text = segment.text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
      return segment;
    }).filter(function (segment) { return segment.text !== ""; });
  }

  // A numbered line as the server renders it; text goes in as text, never as markup.
  function lineElement(stage, number, line) {
    var row = document.createElement("div");
    row.className = "line" + (line.stream === "e" ? " err" : line.stream === "s" ? " own" : "");
    row.id = stage + "-L" + number;
    var link = document.createElement("a");
    link.className = "n";
    link.href = "#" + row.id;
    link.textContent = String(number);
    var text = document.createElement("span");
    text.className = "t";
    ansiSegments(line.text).forEach(function (segment) {
      if (!segment.classes) { text.appendChild(document.createTextNode(segment.text)); return; }
      var span = document.createElement("span");
      span.className = segment.classes;
      span.textContent = segment.text;
      text.appendChild(span);
    });
    row.appendChild(link);
    row.appendChild(text);
    return row;
  }

  // A running step's log: new lines as the step writes them, kept in view while the reader is
  // at the bottom. The browser resumes a dropped stream after the last line (Last-Event-ID).
  function followLog(log) {
    var stage = log.dataset.stage, number = Number(log.dataset.next) || 1;
    var source = new EventSource(log.dataset.events + "?offset=" + (log.dataset.offset || 0));
    source.onmessage = function (event) {
      var line;
      try { line = JSON.parse(event.data); } catch (error) { return; }
      var atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
      log.appendChild(lineElement(stage, number++, line));
      if (atBottom) log.scrollTop = log.scrollHeight;
    };
    source.addEventListener("end", function () {
      source.close();
      checkRun(true);
    });
  }

  // "Show earlier lines": the page before the first line shown, from the log API.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-earlier]");
    if (!button) return;
    var stage = button.dataset.stage;
    var log = document.querySelector(".log[data-stage='" + stage + "']");
    var url = button.dataset.earlier + "?before=" + button.dataset.before + "&limit=500";
    button.disabled = true;
    fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    }).then(function (page) {
      var first = Number(button.dataset.first) - page.lines.length, height = log.scrollHeight;
      var rows = document.createDocumentFragment();
      page.lines.forEach(function (line, index) { rows.appendChild(lineElement(stage, first + index, line)); });
      log.insertBefore(rows, log.firstChild);
      log.scrollTop += log.scrollHeight - height;
      button.dataset.first = String(first);
      if (page.previous_offset === null || page.previous_offset === undefined) button.remove();
      else { button.dataset.before = String(page.offset); button.disabled = false; }
    }).catch(function () {
      button.disabled = false;
      button.textContent = "Could not load earlier lines; try again";
    });
  });

  // The run moved on (another status, a step ended): the page is shown again as it is now.
  function checkRun(stepEnded) {
    var run = document.querySelector(".run[data-run]");
    if (!run) return;
    fetch(run.dataset.run, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (!answer) return;
      var steps = [];
      ((answer.record && answer.record.sub_pipelines) || []).forEach(function (sub) {
        (sub.stages || []).forEach(function (stage) {
          (stage.steps || []).forEach(function (step) { steps.push(stage.name + ":" + step.status); });
        });
      });
      var moved = answer.status !== run.dataset.status || steps.join(",") !== run.dataset.steps;
      if (stepEnded || moved) window.location.reload();
    }).catch(function () {});
  }

  // A dashboard shows a new run (a push, someone's "Run pipeline") without a reload by hand.
  function watchRuns() {
    var watched = document.querySelector("[data-watch]");
    if (!watched) return;
    window.setInterval(function () {
      fetch(watched.dataset.watch, { credentials: "same-origin" }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (answer) {
        if (!answer || !answer.runs) return;
        var newest = answer.runs[0] ? answer.runs[0].run_id + ":" + answer.runs[0].status : "";
        if (newest !== watched.dataset.latest) window.location.reload();
      }).catch(function () {});
    }, 3000);
  }

  function followRun() {
    var run = document.querySelector(".run[data-follow]");
    if (!run) return;
    document.querySelectorAll(".log[data-events]").forEach(followLog);
    window.setInterval(function () { checkRun(false); }, 2000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    refreshTimes();
    window.setInterval(refreshTimes, 30000);
    scheduleRefresh();
    followRun();
    watchRuns();
    var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (target && target.closest(".log")) target.scrollIntoView({ block: "center" });
  });
})();
