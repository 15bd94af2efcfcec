/* The scorecard's sparklines: each KPI's last 12 periods as a small line (Chart.js), the target
   as a dashed line where one applies. Data comes from the page's "scorecard-data" JSON; the
   numbers themselves are in the table, so the charts only add the shape of the trend. */
(function () {
  "use strict";
  var source = document.getElementById("scorecard-data");
  if (!source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var style = getComputedStyle(document.documentElement);
  var brand = style.getPropertyValue("--brand").trim() || "#0b5cad";
  var muted = style.getPropertyValue("--muted").trim() || "#545e6e";

  document.querySelectorAll("canvas.sparkline[data-kpi]").forEach(function (canvas) {
    var series = data.series[canvas.dataset.kpi];
    if (!series) return;
    var datasets = [{
      data: series.values,
      borderColor: brand,
      backgroundColor: brand,
      borderWidth: 2,
      pointRadius: series.values.map(function (v, i) { return i === series.values.length - 1 ? 2.5 : 0; }),
      spanGaps: true,
      tension: 0.3
    }];
    if (series.targets.some(function (t) { return t !== null; })) {
      datasets.push({
        data: series.targets,
        borderColor: muted,
        borderWidth: 1,
        borderDash: [3, 3],
        pointRadius: 0,
        spanGaps: false
      });
    }
    new Chart(canvas, {
      type: "line",
      data: { labels: data.periods, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        events: [],
        layout: { padding: 3 },
        plugins: { legend: { display: false }, tooltip: { enabled: false } },
        scales: { x: { display: false }, y: { display: false, grace: "5%" } }
      }
    });
  });
})();
