// Keeps "running for 12 s" current without a reload. The server renders the text; every
// <time data-started-at="ISO" data-rendered-at="ISO"> is then re-labelled each second, measured on
// the server's clock (the rendered-at time plus the time since this page loaded), so a wrong
// clock on this computer does not change what is shown. Same wording as since_label() in Python.
(function () {
  "use strict";

  var loadedAt = Date.now();

  function label(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 90) return seconds + " s";
    if (seconds < 90 * 60) return Math.floor(seconds / 60) + " min";
    if (seconds < 48 * 3600) return Math.floor(seconds / 3600) + " h";
    return Math.floor(seconds / 86400) + " days";
  }

  function update() {
    var elapsedHere = Date.now() - loadedAt;
    document.querySelectorAll("time[data-started-at]").forEach(function (node) {
      var started = Date.parse(node.getAttribute("data-started-at"));
      var rendered = Date.parse(node.getAttribute("data-rendered-at") || "");
      if (isNaN(started)) return;
      var now = isNaN(rendered) ? Date.now() : rendered + elapsedHere;
      var text = label((now - started) / 1000);
      if (node.textContent !== text) node.textContent = text;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("time[data-started-at]")) window.setInterval(update, 1000);
  });
})();
