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
    close.setAttribute("aria-label", gettext("Close"));
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
      column.querySelector("[data-role=count-word]").textContent = ngettext("deal", "deals", stats.count);
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

  // A card dropped on the Won/Lost bar joins the top of that stage's column.
  function landing(target, item) {
    if (!target.classList.contains("board-dropzone")) {
      return target;
    }
    const list = board.querySelector('.board-cards[data-stage-id="' + target.dataset.stageId + '"]');
    if (list) {
      list.insertBefore(item, list.firstChild);
      return list;
    }
    return target;
  }

  function onStart() {
    document.body.classList.add("board-dragging");
  }

  function onEnd(event) {
    document.body.classList.remove("board-dragging");
    const to = landing(event.to, event.item);
    const more = to.querySelector(".board-load-more");
    if (more) {
      to.appendChild(more);
    }
    if (event.from === to) {
      return; // reordering inside a column is not stored
    }
    const move = { item: event.item, from: event.from, to: to, oldIndex: event.oldIndex };
    const column = to.closest(".board-column") || to;
    if (column.dataset.outcome === "lost") {
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
      // Near the board's edges the board scrolls sideways while a card is held, so a column
      // out of view (Won and Lost on a laptop) can be reached. Sortable's own scrolling, not
      // the browser's: Chromium's native drag did not scroll the board sideways.
      scroll: true,
      forceAutoScrollFallback: true,
      scrollSensitivity: 80,
      scrollSpeed: 20,
      bubbleScroll: true,
      onStart: onStart,
      onEnd: onEnd,
    });
  });
  document.querySelectorAll("#board-dropbar .board-dropzone").forEach(function (zone) {
    Sortable.create(zone, {
      group: { name: "board", pull: false, put: true },
      draggable: ".deal-card",
      sort: false,
    });
  });

  modalElement.addEventListener("shown.bs.modal", function () {
    // A reason sent while the dialog was still fading in could not close it (Bootstrap
    // ignores hide() mid-transition): close it now.
    if (!pendingLost) {
      bootstrap.Modal.getOrCreateInstance(modalElement).hide();
      return;
    }
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
