// Selects marked data-search-url get a search box: typing fetches matching records as JSON
// and replaces the options, so a page never carries every company or contact.
(function () {
  "use strict";

  function enhance(select) {
    if (select.dataset.searchReady) return;
    select.dataset.searchReady = "1";
    var input = document.createElement("input");
    input.type = "search";
    input.className = "form-control form-control-sm mb-1";
    input.placeholder = select.dataset.searchPlaceholder || gettext("Type to search…");
    input.setAttribute("aria-label", input.placeholder);
    input.autocomplete = "off";
    select.parentNode.insertBefore(input, select);
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { load(select, input.value.trim()); }, 250);
    });
  }

  function load(select, term) {
    if (term.length < 2) return;
    var url = select.dataset.searchUrl + "?q=" + encodeURIComponent(term);
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : { results: [] }; })
      .then(function (data) { fill(select, data.results); });
  }

  function fill(select, results) {
    var chosen = select.value;
    var kept = Array.prototype.filter.call(select.options, function (option) {
      return option.value === "" || option.value === chosen;
    });
    select.replaceChildren.apply(select, kept);
    results.forEach(function (row) {
      if (String(row.id) === chosen) return;
      select.add(new Option(row.label, row.id));
    });
    if (results.length && !chosen) select.size = 1;
  }

  function enhanceAll(root) {
    (root || document).querySelectorAll("select[data-search-url]").forEach(enhance);
  }

  document.addEventListener("DOMContentLoaded", function () { enhanceAll(document); });
  document.addEventListener("htmx:load", function (event) { enhanceAll(event.target); });
})();
