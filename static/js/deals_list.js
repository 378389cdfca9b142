// Deals list: the bulk form shows the stage for "Move to stage", and asks why when it is lost.
// (lists.js handles the owner field and the ticked rows.)
(function () {
  "use strict";

  var form = document.querySelector("[data-bulk-form]");
  if (!form) {
    return;
  }
  var action = form.querySelector('select[name="action"]');
  var stage = form.querySelector('select[name="stage"]');

  function show(name, visible) {
    var element = form.querySelector('[data-bulk-field="' + name + '"]');
    if (element) {
      element.classList.toggle("d-none", !visible);
    }
  }

  function update() {
    var moving = action !== null && action.value === "move_stage";
    var chosen = stage && stage.selectedIndex >= 0 ? stage.options[stage.selectedIndex] : null;
    show("stage", moving);
    show("lost_reason", moving && chosen !== null && chosen.dataset.outcome === "lost");
  }

  if (action) {
    action.addEventListener("change", update);
  }
  if (stage) {
    stage.addEventListener("change", update);
  }
  update();
})();
