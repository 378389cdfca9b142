// Drag to reorder on the settings pages (templates/crm/settings/): every list marked
// data-sortable posts its item ids in the new order to its data-reorder-url, named
// data-reorder-name (plus the record type of a custom-field list). The ↑/↓ buttons do the
// same without a mouse. On a refusal the message shows and the page reloads to the saved order.
(function () {
  "use strict";
  if (typeof Sortable === "undefined") {
    return;
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function showError(text) {
    var status = document.getElementById("settings-reorder-status");
    if (status) {
      status.textContent = text;
      status.classList.remove("d-none");
    }
  }

  document.querySelectorAll("[data-sortable]").forEach(function (list) {
    Sortable.create(list, {
      handle: ".drag-handle",
      animation: 150,
      onEnd: function (event) {
        if (event.oldIndex === event.newIndex) {
          return;
        }
        var body = new URLSearchParams();
        if (list.dataset.reorderRecordType) {
          body.append("record_type", list.dataset.reorderRecordType);
        }
        list.querySelectorAll("[data-id]").forEach(function (row) {
          body.append(list.dataset.reorderName, row.dataset.id);
        });
        fetch(list.dataset.reorderUrl, {
          method: "POST",
          headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
          body: body,
          credentials: "same-origin"
        }).then(function (response) {
          if (response.ok) {
            // Reload so the ↑/↓ buttons match the new order.
            window.location.reload();
            return null;
          }
          return response.text().then(function (text) {
            showError(text);
            window.setTimeout(function () { window.location.reload(); }, 3000);
          });
        }).catch(function () {
          showError(list.dataset.reorderFailed || "");
        });
      }
    });
  });
})();
