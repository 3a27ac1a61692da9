// The migration progress page: poll its JSON every 2 s and redraw the steps, the state, the
// error and which of Cancel / Roll back is offered, until the migration is done or rolled back.
// The page is complete without this file (a reload shows the same).
(function () {
  "use strict";

  var POLL_MS = 2000;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function drawTimeline(list, timeline) {
    var items = [];
    timeline.forEach(function (step) {
      var li = el("li", "step step-" + step.status);
      li.setAttribute("data-step", step.state);
      li.setAttribute("data-step-status", step.status);
      li.appendChild(el("span", "step-name", step.label));
      li.appendChild(document.createTextNode(" "));
      var chip = el("span", "chip", step.status);
      chip.setAttribute("data-step-chip", "");
      li.appendChild(chip);
      var log = el("ul", "step-log");
      step.attempts.forEach(function (a) {
        var row = el("li");
        row.setAttribute("data-attempt", String(a.attempt));
        row.appendChild(el("span", "muted small", "#" + a.attempt + " " + a.outcome));
        row.appendChild(document.createTextNode(" " + a.log));
        log.appendChild(row);
      });
      li.appendChild(log);
      items.push(li);
    });
    list.replaceChildren.apply(list, items);
  }

  function apply(root, body) {
    var chip = root.querySelector("[data-migration-state]");
    if (chip) {
      chip.textContent = body.state.replace(/_/g, " ");
      chip.setAttribute("data-migration-state", body.state);
      chip.className = "status status-mig-" + body.state;
    }
    var list = root.querySelector("[data-timeline]");
    if (list) drawTimeline(list, body.timeline);
    var error = root.querySelector("[data-migration-error]");
    if (error) {
      error.textContent = body.error || "";
      error.hidden = !body.error;
    }
    var cancel = root.querySelector("[data-cancel-form]");
    if (cancel) cancel.hidden = !body.can_cancel;
    var undo = root.querySelector("[data-rollback-form]");
    if (undo) undo.hidden = !body.can_undo;
    var live = root.querySelector("[data-migration-live]");
    if (live) live.textContent = body.final ? "" : "updates by itself";
    document.title = "Migration " + body.id + " (" + body.state.replace(/_/g, " ") + ") · ComputeHub console";
  }

  function start(root) {
    var id = root.getAttribute("data-migration");
    function tick() {
      fetch("/console/migrations/" + id + "/status", { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (!body) { window.setTimeout(tick, POLL_MS * 2); return; }
          apply(root, body);
          if (!body.final) window.setTimeout(tick, POLL_MS);
        })
        .catch(function () { window.setTimeout(tick, POLL_MS * 2); });
    }
    window.setTimeout(tick, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.querySelector("[data-migration]");
    if (root && root.getAttribute("data-migration-poll") === "on") start(root);
  });
})();
