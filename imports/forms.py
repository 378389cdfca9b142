from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .kinds import EXTERNAL_ID, kind_for, targets_for
from .models import DuplicatePolicy, MatchKey
from .writing import DOMAIN_FIELDS, EMAIL_FIELDS, NAME_FIELDS, PHONE_FIELDS

# The column a match key compares, by key (the external id is a column of its own).
MATCH_COLUMNS = {
    MatchKey.EMAIL: EMAIL_FIELDS,
    MatchKey.DOMAIN: DOMAIN_FIELDS,
    MatchKey.PHONE: PHONE_FIELDS,
    MatchKey.NAME: NAME_FIELDS,
}


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV or Excel (.xlsx) file"),
        help_text=gettext_lazy("The first row names the columns."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,text/csv"}),
    )


class MappingForm(forms.Form):
    """One choice per column of the file (a field, or nothing), the duplicate policy and
    match key, and "all or nothing"."""

    duplicate_policy = forms.ChoiceField(
        label=gettext_lazy("When a row matches an existing record"), choices=DuplicatePolicy
    )
    match_key = forms.ChoiceField(label=gettext_lazy("Match on"))
    all_or_nothing = forms.BooleanField(
        label=gettext_lazy("All or nothing: import no row at all if one row fails"),
        required=False,
    )

    def __init__(self, *args, job, **kwargs):
        self.job = job
        kind = kind_for(job.record_type)
        initial = {
            "duplicate_policy": job.duplicate_policy,
            "match_key": job.match_key,
            "all_or_nothing": job.all_or_nothing,
            **{f"column_{index}": key for index, key in job.mapping.items()},
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.targets = targets_for(job.record_type)
        choices = [("", _("— do not import —"))] + [(t.key, str(t.label)) for t in self.targets]
        self.column_names = []
        for index, header in enumerate(job.headers):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(
                label=header or _("Column %(number)d") % {"number": index + 1},
                choices=choices,
                required=False,
            )
            self.column_names.append(name)
        self.fields["match_key"].choices = [(key, MatchKey(key).label) for key in kind.match_keys]
        if not kind.updatable:
            self.fields["duplicate_policy"].choices = [
                (value, label)
                for value, label in DuplicatePolicy.choices
                if value != DuplicatePolicy.UPDATE
            ]

    def column_fields(self):
        return [self[name] for name in self.column_names]

    def clean(self):
        data = super().clean()
        mapping = {}
        for index, name in enumerate(self.column_names):
            key = data.get(name)
            if not key:
                continue
            if key in mapping.values():
                self.add_error(name, _("Another column already goes to this field."))
            mapping[str(index)] = key
        mapped = set(mapping.values())
        missing = [
            str(t.label)
            for t in self.targets
            if t.required and t.kind != "custom" and t.key not in mapped
        ]
        if missing and data.get("duplicate_policy") != DuplicatePolicy.UPDATE:
            self.add_error(
                None, _("Choose a column for: %(fields)s.") % {"fields": ", ".join(missing)}
            )
        key = data.get("match_key")
        if key and data.get("duplicate_policy") != DuplicatePolicy.CREATE:
            column = EXTERNAL_ID if key == MatchKey.EXTERNAL_ID else None
            if column is None:
                column = MATCH_COLUMNS[key].get(kind_for(self.job.record_type).model)
            if column not in mapped:
                self.add_error(
                    "match_key", _("Choose a column for the field duplicates are matched on.")
                )
        if not mapped:
            self.add_error(None, _("Choose at least one column to import."))
        data["mapping"] = mapping
        return data
