"""The admins' pages of web forms, in the settings area: the list, the builder (settings,
fields, the hosted URL and the embed snippets) and the submissions."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.forms.bootstrap import bootstrap
from crm.views.settings import admin_only

from . import services, spam
from .forms import (
    UTM_KEYS,
    FieldRowFormSet,
    WebFormSettingsForm,
    field_name,
    field_rows_initial,
)
from .models import WebForm, translated
from .targets import targets_for

SUBMISSIONS_PER_PAGE = 50


class NewFormForm(forms.ModelForm):
    class Meta:
        model = WebForm
        fields = ["name", "kind"]
        labels = {"kind": gettext_lazy("Creates")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap(self)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not slugify(name):
            raise forms.ValidationError(_("Give the form a name with letters or digits."))
        return name


def _render(request, template: str, context: dict, *, status: int = 200):
    context = {"section": "settings", "settings_page": "forms", **context}
    return render(request, f"webforms/{template}", context, status=status)


@admin_only
def form_list(request):
    new = NewFormForm(request.POST or None)
    if request.method == "POST" and new.is_valid():
        webform = services.webform_new(name=new.cleaned_data["name"], kind=new.cleaned_data["kind"])
        messages.success(request, _("Form “%s” added: check its fields, then embed it.") % webform)
        return redirect("settings-form", pk=webform.pk)
    rows = WebForm.objects.annotate(
        submission_count=Count("submissions"), last_received=Max("submissions__received_at")
    )
    return _render(
        request,
        "list.html",
        {"webforms": rows, "new": new},
        status=400 if request.method == "POST" else 200,
    )


@admin_only
def form_edit(request, pk: int):
    webform = get_object_or_404(WebForm, pk=pk)
    fields = list(webform.fields.all())
    settings_form = WebFormSettingsForm(request.POST or None, instance=webform)
    formset = FieldRowFormSet(
        request.POST or None,
        initial=None if request.method == "POST" else field_rows_initial(fields),
        kind=webform.kind,
        prefix="fields",
    )
    if request.method == "POST" and settings_form.is_valid() and formset.is_valid():
        webform = settings_form.save(commit=False)
        webform.titles = settings_form.per_language("title")
        webform.thank_you = settings_form.per_language("thank_you")
        try:
            services.webform_save(form=webform, fields=formset.rows())
        except ValidationError as error:
            settings_form.add_error(None, error)
        else:
            messages.success(request, _("Form “%s” saved.") % webform)
            return redirect("settings-form", pk=webform.pk)
    return _render(
        request,
        "edit.html",
        {
            "webform": webform,
            "settings_form": settings_form,
            "formset": formset,
            **_snippets(request, webform, fields),
        },
        status=400 if request.method == "POST" else 200,
    )


def _snippets(request, webform: WebForm, fields) -> dict:
    """The hosted URL and what an admin pastes into another site."""
    page = request.build_absolute_uri(reverse("webform-page", args=[webform.slug]))
    post = request.build_absolute_uri(reverse("webform-post", args=[webform.slug]))
    targets = targets_for(webform.kind)
    inputs = [
        (
            field_name(field.target),
            translated(field.labels, str(targets[field.target].label)),
            field.required,
        )
        for field in fields
        if field.target in targets
    ]
    return {
        "page_url": page,
        "post_url": post,
        "plain_inputs": inputs,
        "honeypot": spam.HONEYPOT_FIELD,
        "utm_keys": UTM_KEYS,
    }


@admin_only
def form_submissions(request, pk: int):
    webform = get_object_or_404(WebForm, pk=pk)
    submissions = webform.submissions.select_related(
        "lead", "ticket", "survey_answer", "contact"
    ).order_by("-received_at", "-id")
    page = Paginator(submissions, SUBMISSIONS_PER_PAGE).get_page(request.GET.get("page"))
    return _render(request, "submissions.html", {"webform": webform, "page": page})
