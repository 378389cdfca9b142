// Drag and drop of a user's dashboard cards (templates/metrics/dashboard_edit.html): on drop,
// POST every card id in the new order; the up/down buttons do the same without JavaScript.
(function () {
  "use strict";
  var list = document.getElementById("dashboard-cards");
  if (!list || typeof Sortable === "undefined") {
    return;
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  Sortable.create(list, {
    handle: ".drag-handle",
    animation: 150,
    onEnd: function () {
      var body = new URLSearchParams();
      list.querySelectorAll("[data-card-id]").forEach(function (row) {
        body.append("card", row.dataset.cardId);
      });
      fetch(list.dataset.reorderUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
        body: body,
        credentials: "same-origin"
      }).then(function (response) {
        // Reload so the up/down buttons match the new order (or the old one on a refusal).
        window.location.reload();
        return response;
      });
    }
  });
})();
