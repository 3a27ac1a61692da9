// Console enhancements; every console page works without this file.
(function () {
  "use strict";

  var POLL_MS = 4000;

  function csrfToken() {
    var field = document.querySelector("input[name=_csrf_token]");
    return field ? field.value : "";
  }

  // A one-off notice ("Stop requested") must not come back with every refresh.
  function withoutNotices(location) {
    var url = new URL(location.href);
    ["done", "synced", "sync_failed"].forEach(function (name) { url.searchParams.delete(name); });
    return url.toString();
  }

  function selectionMade() {
    return document.querySelector("input[form=batch][name=id]:checked") !== null;
  }

  // While a deployment is launching, booting, stopping or being deleted, ask the server to sync
  // it and reload the page when a state changed (not while the user is selecting rows).
  function startPolling(root) {
    var fingerprint = root.getAttribute("data-fingerprint");
    function tick() {
      fetch("/console/poll", { method: "POST", headers: { "x-csrftoken": csrfToken(), "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          if (state && state.fingerprint !== fingerprint && !selectionMade()) {
            window.location.replace(withoutNotices(window.location));
            return;
          }
          if (!state || state.polling || state.fingerprint !== fingerprint) window.setTimeout(tick, POLL_MS);
        })
        .catch(function () { window.setTimeout(tick, POLL_MS * 2); });
    }
    window.setTimeout(tick, POLL_MS);
  }

  function enhanceSelectAll(box) {
    var rows = function () { return document.querySelectorAll("input[form=batch][name=id]"); };
    box.hidden = false;
    box.addEventListener("change", function () {
      rows().forEach(function (row) { row.checked = box.checked; });
    });
    document.addEventListener("change", function (event) {
      if (event.target.matches("input[form=batch][name=id]")) {
        var all = Array.prototype.every.call(rows(), function (row) { return row.checked; });
        box.checked = all;
      }
    });
  }

  // Select the command's text: the fallback where the clipboard is not available (plain http
  // to a remote host, a denied permission): the user then presses Ctrl+C.
  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function enhanceCopy(box) {
    var code = box.querySelector("[data-ssh-command]");
    var button = box.querySelector("[data-copy-ssh]");
    var status = box.querySelector("[data-copy-status]");
    if (!code || !button) return;
    button.hidden = false;
    code.addEventListener("focus", function () { selectText(code); });
    button.addEventListener("click", function () {
      var text = code.textContent.trim();
      function fallback() {
        selectText(code);
        if (status) status.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
      }
      if (!navigator.clipboard || !window.isSecureContext) { fallback(); return; }
      navigator.clipboard.writeText(text).then(function () {
        if (status) status.textContent = "Copied.";
        button.setAttribute("data-copied", "yes");
      }, fallback);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-ssh]").forEach(enhanceCopy);
    document.querySelectorAll("[data-select-all]").forEach(enhanceSelectAll);
    var root = document.querySelector("[data-console-poll=on]");
    if (root) startPolling(root);
  });
})();
