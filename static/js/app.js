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

  // Move the figures' "what-if" marker (pricing/charts.py) to a price: line and label.
  function markWhatIf(root, price) {
    if (typeof Plotly === "undefined") {
      return;
    }
    root.querySelectorAll(".plotly-figure[data-drawn]").forEach(function (el) {
      var layout = el.layout || {};
      var update = {};
      (layout.shapes || []).forEach(function (shape, i) {
        if (shape.name === "what-if") {
          update["shapes[" + i + "].x0"] = price;
          update["shapes[" + i + "].x1"] = price;
          update["shapes[" + i + "].visible"] = true;
        }
      });
      (layout.annotations || []).forEach(function (note, i) {
        if (note.name === "what-if") {
          update["annotations[" + i + "].x"] = price;
          update["annotations[" + i + "].text"] = "what if " + price;
          update["annotations[" + i + "].visible"] = true;
        }
      });
      if (Object.keys(update).length) {
        Plotly.relayout(el, update);
      }
    });
  }

  // <input data-output="ID">: the element ID shows the input's value as it moves (a slider);
  // data-marks="SELECTOR": the figures inside SELECTOR mark that value.
  document.addEventListener("input", function (event) {
    var target = event.target;
    var output = target.dataset && target.dataset.output && document.getElementById(target.dataset.output);
    if (output) {
      output.value = target.value;
    }
    var marked = target.dataset && target.dataset.marks && document.querySelector(target.dataset.marks);
    if (marked) {
      markWhatIf(marked, Number(target.value));
    }
  });
})();
