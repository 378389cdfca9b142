// Draws every chart of a metrics page: a <canvas data-chart="ID"> and the JSON that
// metrics/charts.py built, in <script type="application/json" id="ID"> (json_script).
(function () {
  "use strict";
  if (typeof Chart === "undefined") {
    return;
  }
  var PALETTE = ["#0d6efd", "#198754", "#dc3545", "#ffc107", "#6f42c1", "#20c997", "#fd7e14", "#6c757d"];
  var MOVEMENT = { 0: "#198754", 1: "#0d6efd", 2: "#dc3545" };
  // Numbers in the page's language (the user's choice), not the browser's.
  var LANGUAGE = document.documentElement.lang || undefined;

  function format(value, unit) {
    if (value === null || value === undefined) {
      return "—";
    }
    // + 0 turns a negative zero (a rounding of a small negative tick) into a plain zero.
    var number = Number(value) + 0;
    var oneDecimal = number.toLocaleString(LANGUAGE, { maximumFractionDigits: 1 });
    if (unit === "percent") {
      return new Intl.NumberFormat(LANGUAGE, { style: "percent", maximumFractionDigits: 1 }).format(number / 100);
    }
    if (unit === "hours") {
      return interpolate(gettext("%s h"), [oneDecimal]);
    }
    if (unit === "days") {
      return interpolate(gettext("%s d"), [oneDecimal]);
    }
    // Whole money amounts, except small ones: ticks of 0.2 apart must not all read "0" or "1".
    var digits = unit === "money" && Math.abs(number) >= 10 ? 0 : 2;
    return number.toLocaleString(LANGUAGE, { maximumFractionDigits: digits });
  }

  function config(payload) {
    var doughnut = payload.type === "doughnut";
    var datasets = payload.datasets.map(function (dataset, index) {
      var colour = payload.stacked ? MOVEMENT[index] : PALETTE[index % PALETTE.length];
      var result = { label: dataset.label, data: dataset.data, spanGaps: true, short: dataset.short };
      if (doughnut) {
        result.backgroundColor = ["#198754", "#ffc107", "#dc3545"];
      } else {
        result.backgroundColor = colour;
        result.borderColor = colour;
        result.tension = 0.2;
      }
      return result;
    });
    if (payload.noise) {
      datasets = datasets.concat(noiseDatasets(payload.noise));
    }
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: {
          display: doughnut || datasets.length > 1,
          // The band's lower edge shares the band's name: one legend entry is enough.
          labels: { filter: function (item, data) { return !data.datasets[item.datasetIndex].bandEdge; } }
        },
        tooltip: {
          callbacks: {
            label: function (context) {
              var value = doughnut ? context.parsed : context.parsed.y;
              return context.dataset.label + ": " + format(value, payload.unit);
            }
          }
        }
      }
    };
    if (!doughnut) {
      var axis = payload.y || {};
      options.scales = {
        x: { stacked: !!payload.stacked },
        y: {
          stacked: !!payload.stacked,
          // Bars and percentages start at zero (metrics/charts.py decides which).
          beginAtZero: !!axis.begin_at_zero,
          ticks: { callback: function (value) { return format(value, payload.unit); } }
        }
      };
      if (payload.noise) {
        // The axis fits the trend and its average: a wide band is cut at the chart's edge
        // instead of squashing the line (a day's win rate on few deals swings far).
        options.scales.y.afterDataLimits = fitToTheLines;
      }
    }
    return {
      type: payload.type,
      data: { labels: payload.labels, datasets: datasets },
      options: options,
      plugins: doughnut ? [ringLabels] : []
    };
  }

  // A trend's moving average (dashed) and its expected range (a shaded band), muted so the raw
  // line stays the figure; metrics/charts.py computes both (trend_noise).
  var MUTED = "#6c757d";
  var BAND = "rgba(108, 117, 125, 0.15)";

  function fitToTheLines(axis) {
    var values = [];
    axis.chart.data.datasets.forEach(function (dataset) {
      if (!dataset.band) {
        dataset.data.forEach(function (value) {
          if (value !== null && value !== undefined) {
            values.push(Number(value));
          }
        });
      }
    });
    if (!values.length) {
      return;
    }
    var low = Math.min.apply(null, values);
    var high = Math.max.apply(null, values);
    axis.min = axis.options.beginAtZero ? Math.min(0, low) : low;
    axis.max = high > axis.min ? high : axis.min + 1;
  }

  function noiseDatasets(noise) {
    var line = { spanGaps: false, pointRadius: 0, borderWidth: 1, tension: 0.2 };
    return [
      Object.assign({}, line, {
        label: noise.average_label, data: noise.average, borderColor: MUTED,
        backgroundColor: MUTED, borderDash: [6, 4], borderWidth: 1.5
      }),
      Object.assign({}, line, {
        label: noise.band_label, data: noise.high, borderColor: BAND, backgroundColor: BAND,
        fill: false, band: true
      }),
      Object.assign({}, line, {
        label: noise.band_label, data: noise.low, borderColor: BAND, backgroundColor: BAND,
        fill: "-1", band: true, bandEdge: true
      })
    ];
  }

  // Writes each ring's short name (NPS, CSAT, CES) at its top, so the rings need no legend
  // hunt; the caption under the chart names them in full.
  var ringLabels = {
    id: "ringLabels",
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      ctx.save();
      ctx.font = "600 11px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      chart.data.datasets.forEach(function (dataset, index) {
        var meta = chart.getDatasetMeta(index);
        var arc = meta.data[0];
        if (!dataset.short || !arc || meta.hidden) {
          return;
        }
        var radius = (arc.innerRadius + arc.outerRadius) / 2;
        var x = arc.x;
        var y = arc.y - radius;
        ctx.lineWidth = 3;
        ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
        ctx.strokeText(dataset.short, x, y);
        ctx.fillStyle = "#212529";
        ctx.fillText(dataset.short, x, y);
      });
      ctx.restore();
    }
  };

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) {
      return;
    }
    new Chart(canvas, config(JSON.parse(source.textContent)));
  });
})();
