/* The manager dashboard: the trend line against its target and the funnel bars (Chart.js), and
   the deal-size bars. Every number arrives already formatted for the page's locale through
   json_script ("dashboard-data"); the tables under the charts hold the same numbers for screen
   readers and without JavaScript. (The filters do not submit on change: arrowing through a
   select's options with a keyboard would reload the page at each one; they have a Show button.) */
(function () {
  "use strict";

  document.querySelectorAll(".db-bar[data-share]").forEach(function (bar) {
    var share = parseFloat(bar.dataset.share);
    bar.style.width = (isNaN(share) ? 0 : Math.max(0, Math.min(1, share)) * 100) + "%";
  });

  var source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var lang = document.documentElement.lang || "sv";
  var number = new Intl.NumberFormat(lang, { maximumFractionDigits: 1, notation: "compact" });
  var styles = getComputedStyle(document.documentElement);
  var brand = styles.getPropertyValue("--brand").trim() || "#0b5cad";
  var muted = styles.getPropertyValue("--muted").trim() || "#545e6e";
  var warn = styles.getPropertyValue("--warn").trim() || "#8a5a00";
  var reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = muted;

  // "12 %" in Swedish, "12%" in English (as the server formats percentages).
  var unitGap = lang.indexOf("en") === 0 ? "" : "\u00a0";
  function tick(unit) {
    return function (value) { return number.format(value) + (unit ? unitGap + unit : ""); };
  }

  var trend = data.trend;
  var trendCanvas = document.getElementById("db-trend-chart");
  if (trendCanvas) {
    var hasTarget = trend.targets.some(function (t) { return t !== null; });
    var datasets = [{
      label: trend.label,
      data: trend.values,
      borderColor: brand,
      backgroundColor: brand,
      pointRadius: 3,
      spanGaps: true,
    }];
    if (hasTarget) {
      datasets.push({
        label: trend.targetLabel,
        data: trend.targets,
        borderColor: warn,
        backgroundColor: warn,
        borderDash: [6, 4],
        pointRadius: 0,
        stepped: "middle",
        spanGaps: true,
      });
    }
    new Chart(trendCanvas, {
      type: "line",
      data: { labels: trend.labels, datasets: datasets },
      options: {
        animation: reduced ? false : { duration: 300 },
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { beginAtZero: true, ticks: { callback: tick(trend.unit), maxTicksLimit: 6 } },
          x: { ticks: { autoSkip: true, maxRotation: 0 } },
        },
        plugins: {
          legend: { display: hasTarget, labels: { boxHeight: 2 } },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var texts = ctx.datasetIndex === 0 ? trend.valueText : trend.targetText;
                return ctx.dataset.label + ": " + texts[ctx.dataIndex];
              },
            },
          },
        },
      },
    });
  }

  var funnel = data.funnel;
  var funnelCanvas = document.getElementById("db-funnel-chart");
  if (funnelCanvas) {
    new Chart(funnelCanvas, {
      type: "bar",
      data: {
        labels: funnel.labels,
        datasets: [{ label: funnel.label, data: funnel.values, backgroundColor: brand, borderRadius: 3 }],
      },
      options: {
        indexAxis: "y",
        animation: reduced ? false : { duration: 300 },
        maintainAspectRatio: false,
        scales: {
          x: { min: 0, max: 100, ticks: { callback: tick("%"), maxTicksLimit: 6 } },
          y: { ticks: { autoSkip: false } },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                return funnel.label + ": " + funnel.valueText[ctx.dataIndex] +
                  " · " + funnel.daysLabel + ": " + funnel.daysText[ctx.dataIndex];
              },
            },
          },
        },
      },
    });
  }
})();
