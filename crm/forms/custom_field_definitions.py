"""The form that defines a custom field (the admin uses it; so can a settings page).

A select field's options are edited as text, one option per line, in the order they are
offered: moving a line reorders them. They are stored as before, a JSON list of strings.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from crm.models import CustomField

OPTION_MAX_LENGTH = 100
MAX_OPTIONS = 200


class OptionsField(forms.CharField):
    """A list of options typed one per line; no empty line, no option twice."""

    widget = forms.Textarea(attrs={"rows": 6})

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Options"))
        kwargs.setdefault(
            "help_text",
            _("One option per line, in the order they are offered; move a line to reorder."),
        )
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(str(option) for option in value)
        return value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value)
        if not text.strip():
            return []
        # Blank lines before the first and after the last option are only layout.
        lines = [line.strip() for line in text.strip("\r\n").splitlines()]
        errors = []
        for number, line in enumerate(lines, start=1):
            if not line:
                errors.append(
                    ValidationError(
                        _("Line %(line)d is empty: remove it or type an option."),
                        params={"line": number},
                    )
                )
            elif len(line) > OPTION_MAX_LENGTH:
                errors.append(
                    ValidationError(
                        _("Line %(line)d is longer than %(limit)d characters."),
                        params={"line": number, "limit": OPTION_MAX_LENGTH},
                    )
                )
        seen = set()
        for line in lines:
            if line and line in seen:
                errors.append(
                    ValidationError(_("“%(option)s” is listed twice."), params={"option": line})
                )
            seen.add(line)
        if len(lines) > MAX_OPTIONS:
            errors.append(
                ValidationError(
                    ngettext_lazy(
                        "Give at most %(limit)d option.", "Give at most %(limit)d options.", "limit"
                    ),
                    params={"limit": MAX_OPTIONS},
                )
            )
        if errors:
            raise ValidationError(errors)
        return lines

    def has_changed(self, initial, data) -> bool:
        try:
            return self.to_python(data) != list(initial or [])
        except ValidationError:
            return True


class CustomFieldDefinitionForm(forms.ModelForm):
    choices = OptionsField()

    class Meta:
        model = CustomField
        fields = [
            "record_type",
            "key",
            "label",
            "field_type",
            "help_text",
            "required",
            "choices",
            "order",
            "is_active",
        ]

    def clean(self):
        cleaned = super().clean()
        options = cleaned.get("choices")
        field_type = cleaned.get("field_type")
        if options is None or not field_type:
            return cleaned
        is_select = CustomField(field_type=field_type).is_select
        if is_select and not options:
            self.add_error("choices", _("A select field needs at least one option."))
        elif options and not is_select:
            self.add_error("choices", _("Only single and multi select fields have options."))
        return cleaned
