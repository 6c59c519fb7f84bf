// Draws every Plotly figure a page carries as data (tokenecon/figures.py), on load and after an
// htmx swap, so no page needs an inline script under the Content-Security-Policy.
(function () {
  "use strict";

  function draw(root) {
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
    draw(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    draw(event.target);
  });
})();
