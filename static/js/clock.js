/* The leads inbox's "waiting for" clocks: every few seconds, the time since each lead came in.
   The server renders the same text (and the start time as ISO 8601); this only keeps it live. */
(function () {
  "use strict";
  var source = document.getElementById("wait-formats");
  var clocks = document.querySelectorAll(".clock[data-since]");
  if (!source || !clocks.length) return;
  var formats = JSON.parse(source.textContent);
  var holder = document.querySelector("[data-now]");
  var serverNow = holder ? Date.parse(holder.dataset.now) : NaN;
  var skew = isNaN(serverNow) ? 0 : Date.now() - serverNow; // The device's clock may be off.

  function format(seconds) {
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return formats.min.replace("%(m)s", minutes);
    var hours = Math.floor(minutes / 60);
    if (hours < 24) return formats.hmin.replace("%(h)s", hours).replace("%(m)s", minutes % 60);
    return formats.dh.replace("%(d)s", Math.floor(hours / 24)).replace("%(h)s", hours % 24);
  }

  function tick() {
    var now = Date.now() - skew;
    clocks.forEach(function (clock) {
      var since = Date.parse(clock.dataset.since);
      if (!isNaN(since)) clock.textContent = format(Math.max(0, (now - since) / 1000));
    });
  }

  tick();
  setInterval(tick, 5000);
})();
