// List pages: "select all" rows and bulk-action fields shown for the chosen action.
(function () {
  "use strict";

  document.querySelectorAll("[data-select-all]").forEach(function (master) {
    master.addEventListener("change", function () {
      document.querySelectorAll('input[name="ids"][form="bulk-form"]').forEach(function (box) {
        box.checked = master.checked;
      });
    });
  });

  var form = document.querySelector("[data-bulk-form]");
  if (!form) {
    return;
  }
  var action = form.querySelector('select[name="action"]');
  var status = form.querySelector('select[name="status"]');

  function field(name) {
    return form.querySelector('[data-bulk-field="' + name + '"]');
  }

  function show(name, visible) {
    var element = field(name);
    if (element) {
      element.classList.toggle("d-none", !visible);
    }
  }

  function update() {
    var chosen = action ? action.value : "";
    show("owner", chosen === "assign_owner");
    show("status", chosen === "change_status");
    show("reason", chosen === "change_status" && status && status.value === "unqualified");
  }

  if (action) {
    action.addEventListener("change", update);
  }
  if (status) {
    status.addEventListener("change", update);
  }
  update();

  form.addEventListener("submit", function (event) {
    var ticked = document.querySelectorAll('input[name="ids"][form="bulk-form"]:checked');
    if (ticked.length === 0) {
      event.preventDefault();
      window.alert(form.dataset.emptyMessage || gettext("Tick at least one row."));
    }
  });
})();
