// The page behaviours that would otherwise be inline scripts or handlers, which the
// Content-Security-Policy (scripts from this site only) blocks. Loaded by every page.
(function () {
  "use strict";

  // Plotly figures carried as data (tokenecon/figures.py), drawn on load and after an htmx swap.
  function drawFigures(root) {
    if (typeof Plotly === "undefined" || !root.querySelectorAll) {
      return;
    }
    root.querySelectorAll(".plotly-figure:not([data-drawn])").forEach(function (el) {
      el.setAttribute("data-drawn", "");
      var figure = JSON.parse(el.dataset.figure);
      var config = JSON.parse(el.dataset.config || "{}");
      Plotly.newPlot(el, figure.data, figure.layout || {}, config);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawFigures(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    drawFigures(event.target);
  });

  // <input data-output="ID">: the element ID shows the input's value as it moves (a slider).
  document.addEventListener("input", function (event) {
    var target = event.target;
    var output = target.dataset && target.dataset.output && document.getElementById(target.dataset.output);
    if (output) {
      output.value = target.value;
    }
  });
})();
