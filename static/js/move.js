/* Move a deal: the lost reason is asked for only when the chosen stage is a lost one. */
(function () {
  "use strict";
  var source = document.getElementById("stage-outcomes");
  var select = document.getElementById("id_to_stage");
  var reason = document.querySelector(".field-lost_reason");
  if (!source || !select || !reason) return;
  var outcomes = JSON.parse(source.textContent);

  function update() {
    reason.hidden = outcomes[select.value] !== "lost" && !reason.classList.contains("has-error");
  }

  select.addEventListener("change", update);
  update();
})();
