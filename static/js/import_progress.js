// Follows an import job on the admin's import page: polls its status endpoint (the URL is in
// data-status-url), moves the progress bar, and reloads the page when the job has finished so
// the server renders the report.
(function () {
  "use strict";
  const box = document.getElementById("import-progress");
  if (!box || box.dataset.busy !== "1") return;
  const url = box.dataset.statusUrl;
  const bar = box.querySelector("progress");
  const rows = box.querySelector("[data-role=rows]");
  const status = box.querySelector("[data-role=status]");
  let delay = 500;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (data) {
        if (bar) bar.value = data.progress;
        if (rows) rows.textContent = Number(data.rows).toLocaleString(document.documentElement.lang || undefined);
        if (status) status.textContent = data.status_label;
        if (data.finished || data.status === "checked") {
          window.location.reload();
          return;
        }
        delay = Math.min(delay * 1.5, 5000);
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }
  window.setTimeout(poll, delay);
})();
