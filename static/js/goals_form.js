// Goal and target forms: show only the fields the chosen scope, period, kind and direction use.
// An element with data-show-when="scope=team" shows while the select named scope is "team";
// data-hide-when hides it while its condition holds. Without JavaScript every field shows.
(function () {
  "use strict";
  var form = document.querySelector("[data-testid=goal-form], [data-testid=target-form]");
  if (!form) {
    return;
  }

  function holds(condition) {
    var parts = condition.split("=");
    var field = form.elements.namedItem(parts[0]);
    return !!field && parts[1].split(",").indexOf(field.value) !== -1;
  }

  function update() {
    form.querySelectorAll("[data-show-when], [data-hide-when]").forEach(function (element) {
      var show = element.dataset.showWhen ? holds(element.dataset.showWhen) : true;
      var hide = element.dataset.hideWhen ? holds(element.dataset.hideWhen) : false;
      element.hidden = !show || hide;
    });
  }

  form.addEventListener("change", update);
  update();
})();
