// Progressive enhancement only: every page works without this file.
// Loaded in <head> without defer: the "js" class must be on <html> before the first paint.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Filter forms submit on change (selects, boxes, radios); text and number fields on Enter.
  // Empty and default fields are left out so the URL stays short and shareable.
  function enhanceForm(form) {
    form.addEventListener("change", function (event) {
      if (event.target.matches("select, input[type=checkbox], input[type=radio]")) {
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", function () {
      form.querySelectorAll("[name]").forEach(function (field) {
        var isDefault = field.hasAttribute("data-default") && field.value === field.getAttribute("data-default");
        if (field.type === "radio" && !field.checked) return;
        if (field.value === "" || isDefault) field.disabled = true;
      });
    });
  }

  // Re-enable fields when the page comes back from the back/forward cache.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form [name]:disabled").forEach(function (field) { field.disabled = false; });
  });

  // Each table's scroll box gets a frame whose edges fade while there is more to scroll that
  // way ("more-left", "more-right"); a wide box's "bleed" moves to the frame, the outer box.
  function frameTable(box) {
    var frame = document.createElement("div");
    frame.className = "table-frame";
    if (box.classList.contains("bleed")) {
      box.classList.remove("bleed");
      frame.classList.add("bleed");
    }
    box.parentNode.insertBefore(frame, box);
    frame.appendChild(box);
    function update() {
      var rest = box.scrollWidth - box.clientWidth - box.scrollLeft;
      frame.classList.toggle("more-left", box.scrollLeft > 1);
      frame.classList.toggle("more-right", rest > 1);
    }
    box.addEventListener("scroll", update, { passive: true });
    if (window.ResizeObserver) {
      var observer = new ResizeObserver(update);
      observer.observe(box);
      if (box.firstElementChild) observer.observe(box.firstElementChild);
    } else {
      window.addEventListener("resize", update);
    }
    update();
  }

  function drawCharts() {
    if (!window.Plotly) return;
    document.querySelectorAll("[data-plotly-figure]").forEach(function (el) {
      var figure = JSON.parse(el.getAttribute("data-plotly-figure"));
      el.innerHTML = "";
      window.Plotly.newPlot(el, figure.data, figure.layout, {
        responsive: true,
        displaylogo: false,
        modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-autosubmit]").forEach(enhanceForm);
    document.querySelectorAll(".table-scroll").forEach(frameTable);
    drawCharts();
  });
})();
