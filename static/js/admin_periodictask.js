// The admin's periodic task form: under the crontab field, the chosen schedule in words
// (django-celery-beat's inline script, as a file for the CSP).
(function () {
  const script = document.currentScript;
  const $ = django.jQuery;
  const readable = JSON.parse(document.getElementById("readable-crontabs").textContent);
  const help = document.querySelector(".field-crontab .help");
  const original = help ? help.textContent : "";
  const label = script.dataset.label;

  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    if (!help) return;
    const words = readable[$("#id_crontab").val()];
    help.textContent = original;
    if (words) {
      help.append(document.createElement("br"), `${label} ${words}`);
    }
  });
})();
