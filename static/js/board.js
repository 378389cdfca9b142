// Pipeline board: drag a card to another stage (SortableJS), POST the move, update totals.
// No inline script (strict CSP): everything the page needs comes from data-* attributes.
(function () {
  "use strict";

  const board = document.getElementById("board");
  if (!board || typeof Sortable === "undefined") {
    return;
  }
  const messages = document.getElementById("board-messages");
  const csrfToken = board.querySelector("input[name=csrfmiddlewaretoken]").value;
  const modalElement = document.getElementById("lost-reason-modal");
  const lostForm = document.getElementById("lost-reason-form");
  const lostInput = document.getElementById("lost-reason-input");
  let pendingLost = null;

  function showMessage(text, kind) {
    const alert = document.createElement("div");
    alert.className = "alert alert-" + kind + " alert-dismissible fade show";
    alert.setAttribute("role", kind === "danger" ? "alert" : "status");
    alert.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", "Close");
    alert.appendChild(close);
    messages.replaceChildren(alert);
  }

  // Put the card back where it was picked up.
  function revert(move) {
    const siblings = Array.from(move.from.children).filter(function (node) {
      return node !== move.item;
    });
    move.from.insertBefore(move.item, siblings[move.oldIndex] || null);
    // Keep the "Load more" button last.
    const more = move.from.querySelector(".board-load-more");
    if (more) {
      move.from.appendChild(more);
    }
  }

  function updateColumns(data) {
    board.querySelectorAll(".board-column").forEach(function (column) {
      const stats = data.columns[column.dataset.stageId] || data.empty;
      column.querySelector("[data-role=count]").textContent = stats.count;
      column.querySelector("[data-role=total]").textContent = stats.total;
    });
  }

  function send(move, lostReason) {
    const body = new URLSearchParams();
    body.set("stage", move.to.dataset.stageId);
    body.set("lost_reason", lostReason || "");
    body.set("filters", board.dataset.filters || "");
    move.item.classList.add("is-saving");
    fetch(move.item.dataset.moveUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
      body: body,
      credentials: "same-origin",
    })
      .then(function (response) {
        const type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === -1) {
          const text = response.status === 403 || response.status === 404
            ? board.dataset.deniedText
            : board.dataset.errorText;
          return { ok: false, errors: [text] };
        }
        return response.json();
      })
      .then(function (data) {
        if (data.ok) {
          updateColumns(data);
          showMessage(data.message, "success");
        } else {
          revert(move);
          showMessage((data.errors || [board.dataset.errorText]).join(" "), "danger");
        }
      })
      .catch(function () {
        revert(move);
        showMessage(board.dataset.errorText, "danger");
      })
      .finally(function () {
        move.item.classList.remove("is-saving");
      });
  }

  function onEnd(event) {
    const more = event.to.querySelector(".board-load-more");
    if (more) {
      event.to.appendChild(more);
    }
    if (event.from === event.to) {
      return; // reordering inside a column is not stored
    }
    const move = { item: event.item, from: event.from, to: event.to, oldIndex: event.oldIndex };
    const column = event.to.closest(".board-column");
    if (column && column.dataset.outcome === "lost") {
      pendingLost = move;
      lostInput.value = "";
      bootstrap.Modal.getOrCreateInstance(modalElement).show();
      return;
    }
    send(move, "");
  }

  board.querySelectorAll(".board-cards").forEach(function (list) {
    Sortable.create(list, {
      group: "board",
      draggable: ".deal-card",
      animation: 150,
      onEnd: onEnd,
    });
  });

  modalElement.addEventListener("shown.bs.modal", function () {
    lostInput.focus();
  });
  // Closing the dialog without a reason cancels the move.
  modalElement.addEventListener("hidden.bs.modal", function () {
    if (pendingLost) {
      revert(pendingLost);
      pendingLost = null;
    }
  });
  lostForm.addEventListener("submit", function (event) {
    event.preventDefault();
    const reason = lostInput.value.trim();
    if (!reason) {
      lostInput.classList.add("is-invalid");
      return;
    }
    lostInput.classList.remove("is-invalid");
    const move = pendingLost;
    pendingLost = null;
    bootstrap.Modal.getOrCreateInstance(modalElement).hide();
    if (move) {
      send(move, reason);
    }
  });
})();
