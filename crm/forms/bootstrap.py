"""Bootstrap's classes on form widgets, in one place (templates render `{{ field }}` as is)."""

from django import forms

CHOICE_LISTS = (forms.RadioSelect, forms.CheckboxSelectMultiple)


def bootstrap(form: forms.BaseForm, *, small: bool = False, choice_lists: bool = True):
    """Give every visible widget its Bootstrap class and, once the form has been validated,
    mark the fields with errors invalid (it never triggers validation itself).

    `choice_lists=False` leaves radio and checkbox lists alone: Django puts their class on the
    wrapping <div> as well, so pages that show them inline style them in CSS instead.
    """
    errors = form._errors or {}  # None until validated; reading form.errors would validate
    for name, field in form.fields.items():
        for widget in getattr(field.widget, "widgets", None) or [field.widget]:
            css = _css_for(widget, small=small, choice_lists=choice_lists)
            if css and css not in widget.attrs.get("class", ""):
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
            if name in errors and "is-invalid" not in widget.attrs.get("class", ""):
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
    return form


def _css_for(widget: forms.Widget, *, small: bool, choice_lists: bool) -> str:
    if isinstance(widget, forms.HiddenInput):
        return ""
    if isinstance(widget, CHOICE_LISTS):
        return "form-check-input" if choice_lists else ""
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select form-select-sm" if small else "form-select"
    return "form-control form-control-sm" if small else "form-control"
