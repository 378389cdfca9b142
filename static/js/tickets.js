// Support desk pages: queue selection, live SLA timers, knowledge-base link picker.
(function () {
  "use strict";

  // Queue: "select all" and a count of the selected tickets for the bulk bar.
  const selectAll = document.querySelector("[data-select-all]");
  const countLabel = document.querySelector("[data-bulk-count]");
  const boxes = () => Array.from(document.querySelectorAll("input[name='ids']"));
  function updateCount() {
    if (!countLabel) return;
    const n = boxes().filter((box) => box.checked).length;
    if (n) countLabel.textContent = interpolate(ngettext("%s selected", "%s selected", n), [n]);
  }
  if (selectAll) {
    selectAll.addEventListener("change", () => {
      boxes().forEach((box) => { box.checked = selectAll.checked; });
      updateCount();
    });
  }
  boxes().forEach((box) => box.addEventListener("change", updateCount));

  // SLA timers rendered by the server turn red once their due time passes.
  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-sla-due]").forEach((timer) => {
      const due = Date.parse(timer.dataset.slaDue);
      if (!Number.isNaN(due) && due <= now && timer.dataset.slaState !== "breached") {
        timer.dataset.slaState = "breached";
        timer.classList.remove("sla-ok", "sla-warning");
        timer.classList.add("sla-breached");
      }
    });
  }
  if (document.querySelector("[data-sla-due]")) {
    tick();
    window.setInterval(tick, 30000);
  }

  // Reply box: search published articles and insert a Markdown link at the cursor.
  const picker = document.querySelector("[data-picker-url]");
  const body = document.querySelector("[data-reply-body]");
  if (!picker || !body) return;
  const search = picker.querySelector("[data-kb-search]");
  const results = picker.querySelector("[data-kb-results]");
  let timer = null;
  let lastQuery = null;

  function insertLink(article) {
    // A bracket or backslash in the title is escaped so the link stays one link.
    const title = article.title.replace(/[\\[\]]/g, "\\$&");
    const text = "[" + title + "](" + article.url + ")";
    const start = body.selectionStart ?? body.value.length;
    const end = body.selectionEnd ?? body.value.length;
    body.value = body.value.slice(0, start) + text + body.value.slice(end);
    body.focus();
    body.setSelectionRange(start + text.length, start + text.length);
    results.replaceChildren();
    search.value = "";
  }

  function show(articles) {
    results.replaceChildren();
    articles.forEach((article) => {
      const item = document.createElement("li");
      item.className = "list-group-item list-group-item-action p-0";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-link btn-sm w-100 text-start";
      button.textContent = article.title; // text only: titles are never parsed as HTML
      button.addEventListener("click", () => insertLink(article));
      item.appendChild(button);
      results.appendChild(item);
    });
  }

  async function lookup() {
    const query = search.value.trim();
    if (query === lastQuery) return;
    lastQuery = query;
    if (!query) { results.replaceChildren(); return; }
    const url = picker.dataset.pickerUrl + "?q=" + encodeURIComponent(query);
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      if (query === search.value.trim()) show(data.results || []);
    } catch (error) {
      results.replaceChildren();
    }
  }

  search.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(lookup, 250);
  });
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); lookup(); }
  });
})();
