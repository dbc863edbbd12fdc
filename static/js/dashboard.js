/* The dashboard's charts (Chart.js, served from static/vendor) and small conveniences.
   Data comes from <script type="application/json"> blocks (json_script): nothing inline runs.
   Every chart has its figures in a table on the page too, and its meaning in aria-label. */
(function () {
  "use strict";

  // Selects marked data-autosubmit submit their form when changed (the page works without).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.submit();
    }
  });

  // Chart.js is loaded only once a chart comes near the screen (data-chartjs on this script
  // names it), so opening the page costs no chart work: the figures are in the HTML.
  var script = document.currentScript;
  var chartSource = script ? script.getAttribute("data-chartjs") : null;

  function charts(Chart) {
    function css(name, fallback) {
      var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
      return value || fallback;
    }

    function readJson(id) {
      var node = document.getElementById(id);
      return node ? JSON.parse(node.textContent) : null;
    }

    var colours = {
      text: css("--text", "#18202e"),
      muted: css("--muted", "#566174"),
      grid: css("--border", "#dbe0e8"),
      primary: css("--primary", "#2b47c2"),
      accent: css("--accent", "#0f766e"),
      warning: css("--warning", "#8a4b00"),
      surface: css("--surface", "#ffffff"),
    };
    var reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

    Chart.defaults.font.family = css("--font", "system-ui, sans-serif");
    Chart.defaults.color = colours.muted;
    Chart.defaults.borderColor = colours.grid;
    Chart.defaults.animation = reduced ? false : { duration: 250 };
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.responsive = true;

    function formatValue(kind, value) {
      if (value === null || value === undefined || Number.isNaN(value)) {
        return "—";
      }
      if (kind === "ratio") {
        return Math.round(value) + "%";
      }
      if (kind === "score") {
        return Number(value).toFixed(2);
      }
      return String(Math.round(value));
    }

    function shortDay(iso) {
      var parts = iso.split("-");
      var day = new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2]));
      return day.toLocaleDateString("en-GB", { day: "numeric", month: "short" });
    }

    function longDay(iso) {
      var parts = iso.split("-");
      var day = new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2]));
      return day.toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "long", year: "numeric" });
    }

    function dayAxis(days, maxTicks) {
      return {
        grid: { display: false },
        ticks: {
          maxRotation: 0,
          autoSkip: true,
          autoSkipPadding: 18,
          maxTicksLimit: maxTicks,
          callback: function (value, index) {
            return shortDay(days[index]);
          },
        },
      };
    }

    function tooltipTitle(days) {
      return function (items) {
        return items.length ? longDay(days[items[0].dataIndex]) : "";
      };
    }

    var legend = {
      position: "bottom",
      labels: { color: colours.text, boxWidth: 28, boxHeight: 2, padding: 14 },
    };

    function phaseChart(canvas, history) {
      var names = history.names;
      return new Chart(canvas, {
        type: "line",
        data: {
          labels: history.days,
          datasets: [
            {
              label: "Reported phase",
              data: history.phase,
              stepped: true,
              borderColor: colours.primary,
              backgroundColor: colours.primary,
              borderWidth: 3,
              pointRadius: 0,
              pointHitRadius: 6,
            },
            {
              label: "Phase the gates gave that day",
              data: history.raw,
              stepped: true,
              borderColor: colours.accent,
              backgroundColor: colours.accent,
              borderWidth: 1.5,
              borderDash: [6, 4],
              pointRadius: 0,
              pointHitRadius: 6,
            },
          ],
        },
        options: {
          interaction: { mode: "index", intersect: false },
          scales: {
            x: dayAxis(history.days, 8),
            y: {
              min: 0.5,
              max: 4.5,
              afterBuildTicks: function (axis) {
                axis.ticks = [1, 2, 3, 4].map(function (v) {
                  return { value: v };
                });
              },
              ticks: {
                color: colours.text,
                callback: function (value) {
                  return names[String(value)] || "";
                },
              },
            },
          },
          plugins: {
            legend: legend,
            tooltip: {
              callbacks: {
                title: tooltipTitle(history.days),
                label: function (item) {
                  return item.dataset.label + ": " + names[String(item.raw)];
                },
              },
            },
          },
        },
      });
    }

    function metricChart(canvas, history, key) {
      var line = history.metrics.find(function (m) {
        return m.key === key;
      });
      if (!line) {
        return null;
      }
      var scale = line.kind === "ratio" ? 100 : 1;
      var values = line.values.map(function (v) {
        return v === null ? null : v * scale;
      });
      var thresholds = line.thresholds.map(function (v) {
        return v === null || v === undefined ? null : v * scale;
      });
      var datasets = [
        {
          label: line.label,
          data: values,
          borderColor: colours.primary,
          backgroundColor: colours.primary,
          borderWidth: 2,
          pointRadius: 0,
          pointHitRadius: 6,
          spanGaps: false,
        },
      ];
      if (
        thresholds.some(function (v) {
          return v !== null;
        })
      ) {
        datasets.push({
          label: "Threshold",
          data: thresholds,
          stepped: true,
          borderColor: colours.warning,
          backgroundColor: colours.warning,
          borderWidth: 1.5,
          borderDash: [5, 4],
          pointRadius: 0,
          pointHitRadius: 6,
        });
      }
      var y = { beginAtZero: true, ticks: { maxTicksLimit: 5 } };
      if (line.kind === "ratio") {
        y.max = 100;
        y.ticks.callback = function (value) {
          return value + "%";
        };
      } else if (line.kind === "score") {
        y.max = 1;
      } else {
        y.ticks.precision = 0;
      }
      return new Chart(canvas, {
        type: "line",
        data: { labels: history.days, datasets: datasets },
        options: {
          interaction: { mode: "index", intersect: false },
          scales: { x: dayAxis(history.days, 4), y: y },
          plugins: {
            legend: { display: false },
            tooltip: {
              callbacks: {
                title: tooltipTitle(history.days),
                label: function (item) {
                  return item.dataset.label + ": " + formatValue(line.kind, item.raw);
                },
              },
            },
          },
        },
      });
    }

    function barsChart(canvas, data) {
      var total = data.answers.reduce(function (sum, n) {
        return sum + n;
      }, 0);
      return new Chart(canvas, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            {
              label: "Answers published",
              data: data.answers,
              backgroundColor: colours.primary,
              borderRadius: 3,
            },
          ],
        },
        options: {
          indexAxis: "y",
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { ticks: { color: colours.text } } },
          plugins: {
            legend: { display: false },
            tooltip: {
              callbacks: {
                label: function (item) {
                  var share = total ? Math.round((item.raw / total) * 100) : 0;
                  return item.raw + " answers (" + share + "% of all)";
                },
              },
            },
          },
        },
      });
    }

    function activeChart(canvas, data) {
      return new Chart(canvas, {
        type: "line",
        data: {
          labels: data.days,
          datasets: [
            {
              label: "People taking part",
              data: data.people,
              borderColor: colours.accent,
              backgroundColor: colours.accent,
              borderWidth: 1.5,
              pointRadius: 0,
              pointHitRadius: 6,
            },
          ],
        },
        options: {
          interaction: { mode: "index", intersect: false },
          scales: { x: dayAxis(data.days, 6), y: { beginAtZero: true, ticks: { precision: 0 } } },
          plugins: {
            legend: { display: false },
            tooltip: { callbacks: { title: tooltipTitle(data.days) } },
          },
        },
      });
    }

    var sources = {};
    function source(id) {
      if (!(id in sources)) {
        sources[id] = readJson(id);
      }
      return sources[id];
    }

    function draw(canvas) {
      var data = source(canvas.getAttribute("data-source"));
      if (!data || canvas.hasAttribute("data-drawn")) {
        return;
      }
      canvas.setAttribute("data-drawn", "");
      var kind = canvas.getAttribute("data-chart");
      if (kind === "phase") {
        phaseChart(canvas, data);
      } else if (kind === "metric") {
        metricChart(canvas, data, canvas.getAttribute("data-metric"));
      } else if (kind === "bars") {
        barsChart(canvas, data);
      } else if (kind === "active") {
        activeChart(canvas, data);
      }
    }

    return draw;
  }

  // Each chart is drawn as it comes near the screen, not all at once when the page loads:
  // a phone opening the dashboard loads Chart.js and draws only when a chart scrolls into view.
  var canvases = document.querySelectorAll("canvas[data-chart]");
  if (!canvases.length) {
    return;
  }
  var drawer = null;
  var waiting = [];

  function whenReady(canvas) {
    if (drawer) {
      drawer(canvas);
      return;
    }
    waiting.push(canvas);
    if (waiting.length > 1) {
      return;
    }
    function ready() {
      if (typeof window.Chart === "undefined") {
        return;
      }
      drawer = charts(window.Chart);
      waiting.splice(0).forEach(drawer);
    }
    if (typeof window.Chart !== "undefined" || !chartSource) {
      ready();
      return;
    }
    var tag = document.createElement("script");
    tag.src = chartSource;
    tag.addEventListener("load", ready);
    document.head.appendChild(tag);
  }

  if (!("IntersectionObserver" in window)) {
    canvases.forEach(whenReady);
    return;
  }
  var observer = new IntersectionObserver(
    function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          whenReady(entry.target);
        }
      });
    },
    { rootMargin: "200px 0px" }
  );
  canvases.forEach(function (canvas) {
    observer.observe(canvas);
  });
})();
