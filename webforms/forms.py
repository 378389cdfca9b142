"""The visitor's form, built from the fields an admin put on a web form; and the admins'
forms that build one."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.custom_fields import validate_custom_values
from crm.forms.bootstrap import bootstrap
from crm.forms.custom_fields import _raw, form_field_for
from crm.forms.public import Bootstrapped
from crm.models import SCORE_RANGES, SurveyKind, Team, User

from .models import AssignRule, FormKind, WebForm, WebFormField, translated
from .spam import HONEYPOT_FIELD
from .targets import CUSTOM_PREFIX, CUSTOM_RECORD_TYPE, NEEDED, required_custom_keys, targets_for

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
UTM_MAX_LENGTH = 200


def field_name(target: str) -> str:
    """The input's name: a custom field's key is a slug, so names stay plain identifiers."""
    return target.replace(CUSTOM_PREFIX, "custom__")


def utm_from(*sources) -> dict:
    """The UTM parameters of the first source that has each (the post, then the query)."""
    found = {}
    for key in UTM_KEYS:
        for source in sources:
            value = source.get(key)
            if isinstance(value, str) and value.strip():
                found[key] = value.strip()[:UTM_MAX_LENGTH]
                break
    return found


class SubmissionForm(Bootstrapped, forms.Form):
    """One input per field of the web form, labelled in the active language."""

    def __init__(self, *args, webform: WebForm, fields: list[WebFormField], **kwargs):
        super().__init__(*args, **kwargs)
        self.webform = webform
        self.targets = targets_for(webform.kind)
        self.mapped = []
        for mapped in fields:
            target = self.targets.get(mapped.target)
            if target is None:  # a custom field since deactivated
                continue
            field = self._field_for(target)
            field.required = mapped.required or mapped.target in NEEDED[webform.kind]
            field.label = translated(mapped.labels, str(target.label))
            field.help_text = translated(mapped.help_texts)
            self.fields[field_name(mapped.target)] = field
            self.mapped.append(mapped.target)
        self.fields[HONEYPOT_FIELD] = forms.CharField(
            label=_("Leave this empty"),
            required=False,
            max_length=200,
            widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
        )
        for key in UTM_KEYS:
            self.fields[key] = forms.CharField(
                required=False, max_length=UTM_MAX_LENGTH, widget=forms.HiddenInput
            )
        # Django puts a choice list's class on its wrapper too: those are styled in CSS.
        bootstrap(self, choice_lists=False)

    def _field_for(self, target) -> forms.Field:
        if target.widget == "custom":
            return form_field_for(target.definition)
        if target.widget == "email":
            return forms.EmailField(max_length=target.max_length)
        if target.widget == "long_text":
            textarea = forms.Textarea(attrs={"rows": 5})
            return forms.CharField(max_length=target.max_length, widget=textarea)
        if target.widget == "score":
            low, high = SCORE_RANGES[self.webform.survey_kind or SurveyKind.NPS]
            return forms.TypedChoiceField(
                coerce=int,
                choices=[(str(n), str(n)) for n in range(low, high + 1)],
                widget=forms.RadioSelect,
            )
        attrs = {"autocomplete": "tel", "inputmode": "tel"} if target.widget == "phone" else {}
        return forms.CharField(max_length=target.max_length, widget=forms.TextInput(attrs))

    @property
    def visible_inputs(self):
        return [self[field_name(target)] for target in self.mapped]

    def clean(self):
        cleaned = super().clean()
        for target in self.mapped:
            name = field_name(target)
            value = cleaned.get(name)
            if isinstance(value, str):
                cleaned[name] = value.strip()
                if self.fields[name].required and not cleaned[name]:
                    self.add_error(name, _("This field is required."))
        self._clean_custom(cleaned)
        return cleaned

    def _clean_custom(self, cleaned) -> None:
        record_type = CUSTOM_RECORD_TYPE.get(self.webform.kind)
        raw = {
            target.removeprefix(CUSTOM_PREFIX): _raw(
                self.targets[target].definition, cleaned.get(field_name(target))
            )
            for target in self.mapped
            if target.startswith(CUSTOM_PREFIX) and field_name(target) in cleaned
        }
        self.cleaned_custom = {}
        if not record_type or not raw:
            return
        try:
            # As an edit of an empty record: values the form asks are checked; a required
            # field the form does not ask is the admin's to fix, not the visitor's.
            self.cleaned_custom = validate_custom_values(record_type, raw, existing={})
        except ValidationError as error:
            for key, messages in error.message_dict.items():
                name = field_name(CUSTOM_PREFIX + key)
                self.add_error(name if name in self.fields else None, messages)

    def values(self) -> dict:
        """The built-in values by target key, custom values under "custom"."""
        data = {
            target: self.cleaned_data.get(field_name(target))
            for target in self.mapped
            if not target.startswith(CUSTOM_PREFIX)
        }
        if self.cleaned_custom:
            data["custom"] = self.cleaned_custom
        return data


# --- The admins' forms ---------------------------------------------------------------------


class WebFormSettingsForm(forms.ModelForm):
    # Declared so an address typed without a scheme reads as https (Django 6's default).
    redirect_url = forms.URLField(
        label=WebForm._meta.get_field("redirect_url").verbose_name,
        help_text=WebForm._meta.get_field("redirect_url").help_text,
        required=False,
        max_length=500,
        assume_scheme="https",
    )

    class Meta:
        model = WebForm
        fields = [
            "name",
            "slug",
            "kind",
            "survey_kind",
            "is_active",
            "redirect_url",
            "assign_rule",
            "owner",
            "team",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survey_kind"] = forms.ChoiceField(
            label=_("Survey"),
            required=False,
            choices=[("", "---------"), *SurveyKind.choices],
            help_text=_("What a feedback form asks for."),
        )
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")
        self.fields["team"].queryset = Team.objects.order_by("name")
        if self.instance.pk:
            # The records a form made depend on its kind: it stays what it was made as.
            self.fields["kind"].disabled = True
        for language, name in settings.LANGUAGES:
            self.fields[f"title_{language}"] = forms.CharField(
                label=_("Title (%s)") % name,
                required=False,
                max_length=200,
                initial=(self.instance.titles or {}).get(language, ""),
            )
            self.fields[f"thank_you_{language}"] = forms.CharField(
                label=_("Thank-you text (%s)") % name,
                required=False,
                max_length=1000,
                widget=forms.Textarea(attrs={"rows": 2}),
                initial=(self.instance.thank_you or {}).get(language, ""),
            )
        bootstrap(self)

    def per_language(self, prefix: str) -> dict:
        return {
            language: self.cleaned_data[f"{prefix}_{language}"].strip()
            for language, _name in settings.LANGUAGES
            if self.cleaned_data.get(f"{prefix}_{language}", "").strip()
        }

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind") or self.instance.kind
        if kind == FormKind.FEEDBACK and not cleaned.get("survey_kind"):
            self.add_error("survey_kind", _("Choose what the feedback form asks for."))
        if kind != FormKind.FEEDBACK:
            cleaned["survey_kind"] = ""
        rule = cleaned.get("assign_rule")
        if kind != FormKind.FEEDBACK and rule == AssignRule.OWNER and not cleaned.get("owner"):
            self.add_error("owner", _("Choose who gets the submissions."))
        if kind != FormKind.FEEDBACK and rule == AssignRule.ROUND_ROBIN and not cleaned.get("team"):
            self.add_error("team", _("Choose the team whose members take turns."))
        return cleaned


class FieldRowForm(forms.Form):
    """One field of the form in the builder: what it maps to, its texts per language."""

    target = forms.ChoiceField(label=_("Maps to"))
    required = forms.BooleanField(label=_("Required"), required=False)
    order = forms.IntegerField(label=_("Order"), required=False, min_value=0, max_value=999)

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        targets = targets_for(kind)
        self.fields["target"].choices = [("", "---------")] + [
            (key, target.label) for key, target in targets.items()
        ]
        for language, name in settings.LANGUAGES:
            self.fields[f"label_{language}"] = forms.CharField(
                label=_("Label (%s)") % name, required=False, max_length=200
            )
            self.fields[f"help_{language}"] = forms.CharField(
                label=_("Help text (%s)") % name, required=False, max_length=300
            )
        bootstrap(self, small=True)

    def row(self) -> dict:
        data = self.cleaned_data
        return {
            "target": data["target"],
            "required": data.get("required", False),
            "order": data.get("order") or 0,
            "labels": _per_language(data, "label"),
            "help_texts": _per_language(data, "help"),
        }


def _per_language(data: dict, prefix: str) -> dict:
    return {
        language: data[f"{prefix}_{language}"].strip()
        for language, _name in settings.LANGUAGES
        if (data.get(f"{prefix}_{language}") or "").strip()
    }


class BaseFieldRowFormSet(forms.BaseFormSet):
    def __init__(self, *args, kind: str, **kwargs):
        self.kind = kind
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "kind": self.kind}

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            kind=self.kind,
            renderer=self.renderer,
        )
        self.add_fields(form, None)
        return form

    def rows(self) -> list[dict]:
        return [
            form.row()
            for form in self.forms
            if form.has_changed()
            and form.cleaned_data.get("target")
            and not form.cleaned_data.get("DELETE")
        ]

    def clean(self):
        if any(self.errors):
            return
        targets = [row["target"] for row in self.rows()]
        if len(targets) != len(set(targets)):
            raise ValidationError(_("Each field may appear once on a form."))
        missing = (NEEDED[self.kind] | required_custom_keys(self.kind)) - set(targets)
        if missing:
            labels = targets_for(self.kind)
            names = ", ".join(sorted(str(labels[key].label) for key in missing))
            raise ValidationError(_("This form needs these fields: %s.") % names)


FieldRowFormSet = forms.formset_factory(
    FieldRowForm,
    formset=BaseFieldRowFormSet,
    extra=2,
    can_delete=True,
    max_num=40,
    validate_max=True,
    absolute_max=60,
)


def field_rows_initial(fields) -> list[dict]:
    initial = []
    for field in fields:
        row = {"target": field.target, "required": field.required, "order": field.order}
        for language, _name in settings.LANGUAGES:
            row[f"label_{language}"] = (field.labels or {}).get(language, "")
            row[f"help_{language}"] = (field.help_texts or {}).get(language, "")
        initial.append(row)
    return initial
