// Starts Redoc on the API docs page (/schema) from the spec URL in the page, with no inline script.
(function () {
  "use strict";
  var container = document.getElementById("redoc-container");
  if (container && window.Redoc) {
    window.Redoc.init(container.getAttribute("data-spec-url"), {}, container);
  }
})();
