/* The team comparison: selects that apply themselves, and the bar chart of one KPI per rep
   (Chart.js) with the team median as a line and each rep's target as a tick. The numbers
   arrive through json_script ("team-data"), already formatted for the page's locale; the
   caption under the chart lists the same values as text. */
(function () {
  "use strict";

  // A select picked with a pointer (mouse, finger) applies at once. From the keyboard, arrow
  // keys change a closed select option by option, so there it waits for the Show button
  // (which also serves browsers without JavaScript).
  document.querySelectorAll("form.js-autosubmit").forEach(function (form) {
    form.querySelectorAll("select").forEach(function (select) {
      var pointer = false;
      select.addEventListener("pointerdown", function () { pointer = true; });
      select.addEventListener("keydown", function () { pointer = false; });
      select.addEventListener("change", function () { if (pointer) form.submit(); });
    });
  });

  var source = document.getElementById("team-data");
  var canvas = document.getElementById("tc-chart");
  if (!source || !canvas || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var box = canvas.parentElement;
  var bars = Math.max(1, data.labels.length);
  box.style.height = (bars * 34 + 64) + "px";

  var lang = document.documentElement.lang || "sv";
  var number = new Intl.NumberFormat(lang, { maximumFractionDigits: 1, notation: "compact" });
  var styles = getComputedStyle(document.documentElement);
  var brand = styles.getPropertyValue("--brand").trim() || "#0b5cad";
  var muted = styles.getPropertyValue("--muted").trim() || "#545e6e";
  var ink = styles.getPropertyValue("--ink").trim() || "#1d2430";
  var warn = styles.getPropertyValue("--warn").trim() || "#8a5a00";
  var reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = muted;
  var unit = data.unit ? "\u00a0" + data.unit : "";

  // The median as a vertical line across the bars, each target as a short tick on its bar.
  var guides = {
    id: "teamGuides",
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      var area = chart.chartArea;
      var x = chart.scales.x;
      ctx.save();
      if (data.median !== null) {
        var mx = x.getPixelForValue(data.median);
        ctx.strokeStyle = ink;
        ctx.lineWidth = 2;
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        ctx.moveTo(mx, area.top);
        ctx.lineTo(mx, area.bottom);
        ctx.stroke();
      }
      var meta = chart.getDatasetMeta(0);
      ctx.setLineDash([]);
      ctx.strokeStyle = warn;
      ctx.lineWidth = 3;
      data.targets.forEach(function (target, i) {
        if (target === null || !meta.data[i]) return;
        var tx = x.getPixelForValue(target);
        var bar = meta.data[i];
        var half = (bar.height || 16) / 2 + 4;
        ctx.beginPath();
        ctx.moveTo(tx, bar.y - half);
        ctx.lineTo(tx, bar.y + half);
        ctx.stroke();
      });
      ctx.restore();
    },
  };

  var values = data.values.map(function (v) { return v === null ? 0 : v; });
  var max = Math.max.apply(null, values.concat(data.median || 0, data.targets.map(function (t) { return t || 0; })));
  var legend = [{ text: data.medianLabel + ": " + data.medianText, strokeStyle: ink, lineDash: [6, 4], lineWidth: 2, fillStyle: "transparent" }];
  if (data.targets.some(function (t) { return t !== null; })) {
    legend.push({ text: data.targetLabel, strokeStyle: warn, lineWidth: 3, fillStyle: "transparent" });
  }

  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [{ label: data.label, data: data.values, backgroundColor: brand, borderRadius: 3, maxBarThickness: 22 }],
    },
    options: {
      indexAxis: "y",
      responsive: true,
      maintainAspectRatio: false,
      animation: reduced ? false : { duration: 300 },
      scales: {
        x: { beginAtZero: true, suggestedMax: max * 1.05 || 1, ticks: { callback: function (v) { return number.format(v) + unit; } } },
        y: { ticks: { color: ink, autoSkip: false } },
      },
      plugins: {
        legend: { labels: { generateLabels: function () { return legend; }, boxWidth: 24 } },
        tooltip: {
          callbacks: {
            label: function (item) {
              var text = data.label + ": " + data.valueText[item.dataIndex];
              var target = data.targetText[item.dataIndex];
              return target && target !== "—" ? [text, data.targetLabel + ": " + target] : text;
            },
          },
        },
      },
    },
    plugins: [guides],
  });
})();
