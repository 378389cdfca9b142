"""The merge page's form: for each field where the two records differ, whose value survives."""

from dataclasses import dataclass
from typing import Any

from django import forms

from crm.custom_fields import definitions_for
from crm.lists import display_value, format_custom
from crm.models import User
from crm.services.merge import CUSTOM_PREFIX, KEEP, REMOVE, merge_field_names


@dataclass
class MergeRow:
    """One field of the merge table: its label and both records' values as people read them."""

    name: str
    label: str
    kept: Any
    removed: Any
    bound: forms.BoundField | None = None


class MergeForm(forms.Form):
    """One KEEP / REMOVE choice per differing field; the survivor's value is proposed unless it
    is empty and the other record's is not."""

    def __init__(self, *args, keep, remove, **kwargs):
        super().__init__(*args, **kwargs)
        self.keep, self.remove = keep, remove
        self.rows: list[MergeRow] = []
        definitions = {f"{CUSTOM_PREFIX}{d.key}": d for d in definitions_for(keep._meta.model_name)}
        users = _users_named(keep, remove, definitions.values())
        for name in merge_field_names(type(keep)):
            definition = definitions.get(name)
            ours, theirs = _raw(keep, name, definition), _raw(remove, name, definition)
            if ours == theirs:
                continue
            label = definition.label if definition else keep._meta.get_field(name).verbose_name
            self.fields[name] = forms.ChoiceField(
                label=label,
                choices=[(KEEP, KEEP), (REMOVE, REMOVE)],
                initial=REMOVE if _empty(ours) and not _empty(theirs) else KEEP,
                required=False,  # a field left unchosen takes the proposed value
            )
            self.rows.append(
                MergeRow(
                    name=name,
                    label=label,
                    kept=_shown(keep, name, definition, users),
                    removed=_shown(remove, name, definition, users),
                )
            )
        for row in self.rows:
            row.bound = self[row.name]

    def choices(self) -> dict[str, str]:
        return {
            name: self.cleaned_data.get(name) or field.initial
            for name, field in self.fields.items()
        }


def _raw(record, name: str, definition):
    if definition is not None:
        return (record.custom or {}).get(definition.key)
    return getattr(record, record._meta.get_field(name).attname)


def _empty(value) -> bool:
    return value is None or value == "" or value == []


def _shown(record, name: str, definition, users: dict) -> Any:
    if definition is not None:
        return format_custom(definition, (record.custom or {}).get(definition.key), users)
    field = record._meta.get_field(name)
    if field.choices:
        return getattr(record, f"get_{name}_display")()
    return display_value(getattr(record, name))


def _users_named(keep, remove, definitions) -> dict[int, User]:
    """The users that user-type custom fields of either record name, in one query."""
    ids = {
        value
        for record in (keep, remove)
        for definition in definitions
        if isinstance(value := (record.custom or {}).get(definition.key), int)
    }
    return {user.pk: user for user in User.objects.filter(pk__in=ids)} if ids else {}
