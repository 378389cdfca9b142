// The goal page's burn-up chart: actual progress, the ideal line and the forecast, from the
// JSON that goals/views.py built (json_script). No inline script: the CSP forbids it.
(function () {
  "use strict";
  if (typeof Chart === "undefined") {
    return;
  }
  var COLOURS = ["#0d6efd", "#6c757d", "#fd7e14"];
  var DASHES = [[], [6, 4], [2, 3]];
  // Numbers and dates in the page's language (the user's choice), not the browser's.
  var LANGUAGE = document.documentElement.lang || undefined;
  var PERCENT = new Intl.NumberFormat(LANGUAGE, { style: "percent", maximumFractionDigits: 1 });
  var DAY = new Intl.DateTimeFormat(LANGUAGE, { month: "short", day: "numeric", timeZone: "UTC" });

  function percent(value) {
    return PERCENT.format(value / 100);
  }

  // The server sends days as ISO dates (2026-11-26).
  function dayLabel(iso) {
    var day = new Date(iso + "T00:00:00Z");
    return Number.isNaN(day.getTime()) ? iso : DAY.format(day);
  }

  document.querySelectorAll("canvas[data-goal-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.goalChart);
    if (!source) {
      return;
    }
    var payload = JSON.parse(source.textContent);
    var datasets = payload.datasets.map(function (dataset, index) {
      return {
        label: dataset.label,
        data: dataset.data,
        borderColor: COLOURS[index],
        backgroundColor: COLOURS[index],
        borderDash: DASHES[index],
        pointRadius: 0,
        spanGaps: index !== 0,
        tension: 0.1
      };
    });
    new Chart(canvas, {
      type: "line",
      data: { labels: payload.labels.map(dayLabel), datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { beginAtZero: true, suggestedMax: 100, ticks: { callback: function (v) { return percent(v); } } },
          x: { ticks: { maxTicksLimit: 8 } }
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: function (context) {
                return context.dataset.label + ": " + percent(context.parsed.y);
              }
            }
          }
        }
      }
    });
  });
})();
