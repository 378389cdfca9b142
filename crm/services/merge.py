"""Merging two records of one type into one: the survivor takes the values chosen field by
field, every row that pointed at the other record, its history and its de-duplication claims;
the other record is deleted (its "<type>.deleted" event, the last row naming it, says into
which record). One transaction: a merge happens whole or not at all.

Related rows are found on the model (`_meta`), not listed here, so a model added later that
points at contacts, companies or leads moves with the rest. A row that cannot move because the
survivor already has its twin (a one-to-one row such as a company's health score, a unique
pair) stays with the removed record and goes with it as its delete rule says; a protected one
refuses the merge.
"""

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils.translation import gettext as _

from crm.custom_fields import definitions_for
from crm.models import (
    ActivityKind,
    Company,
    Contact,
    DedupeKey,
    Direction,
    Event,
    Lead,
    User,
)

from .activities import activity_log
from .dedupe import COMPANY_DOMAIN, COMPANY_NAME, CONTACT_EMAIL
from .deletes import deleted_values, in_use_message
from .errors import RecordInUse
from .events import event_record
from .records import EDITABLE_FIELDS, record_update

KEEP, REMOVE = "keep", "remove"
MERGEABLE = (Contact, Company, Lead)
CUSTOM_PREFIX = "custom__"
# The de-duplication claims (crm.services.dedupe) a record of each type may hold.
CLAIM_SCOPES: dict[type[models.Model], tuple[str, ...]] = {
    Contact: (CONTACT_EMAIL,),
    Company: (COMPANY_DOMAIN, COMPANY_NAME),
}
# Rows that name a record by type and id instead of a foreign key: (model, type, id field).
RECORD_REFERENCES: list[tuple[type[models.Model], str, str]] = [
    (Event, "record_type", "record_id"),
]


def register_record_reference(model, type_field: str = "record_type", id_field: str = "record_id"):
    """Another app's rows naming records by type and id (crm imports no other app) follow a
    merged record to its survivor once registered here, from the app's AppConfig.ready()."""
    RECORD_REFERENCES.append((model, type_field, id_field))


def merge_field_names(model) -> list[str]:
    """The choices a merge takes: the editable fields, then `custom__<key>` per custom field."""
    custom = [f"{CUSTOM_PREFIX}{d.key}" for d in definitions_for(model._meta.model_name)]
    return [*EDITABLE_FIELDS[model], *custom]


def record_merge(
    *, keep: models.Model, remove: models.Model, choices: dict[str, str], actor: User | None
) -> models.Model:
    """Merge `remove` into `keep`; `choices` says, per field name, whose value survives
    (KEEP or REMOVE; a field not named keeps the survivor's). Returns the survivor.

    Raises ValidationError (nothing written) on a pair that cannot merge, an unknown choice,
    a value the survivor cannot take or a row that may not move."""
    model = type(keep)
    _check_pair(keep, remove)
    _check_choices(model, choices)
    with transaction.atomic():
        keep, remove = _lock(model, keep.pk, remove.pk)
        removed = {"pk": remove.pk, "name": str(remove)}
        data = _chosen_values(model, keep, remove, choices)
        moved = _move_related(model, keep, remove)
        history = _move_references(model, keep, remove)
        _move_claims(model, keep, remove)
        if data:
            record_update(keep, actor=actor, data=data)
        _delete(remove, merged_into=keep, actor=actor)
        # The removed record's values are in its deletion event.
        changes = {
            "merged": [removed["pk"], keep.pk],
            "_name": [removed["name"], str(keep)],
            "_moved": [None, {**moved, **history}],
        }
        event_record(
            type=f"{model._meta.model_name}.merged", instance=keep, actor=actor, changes=changes
        )
        _note_on_timeline(keep, removed, actor)
    return keep


def _check_pair(keep, remove) -> None:
    if type(keep) is not type(remove) or not isinstance(keep, MERGEABLE):
        raise ValidationError(_("Only two records of the same type can be merged."))
    if keep.pk is None or remove.pk is None:
        raise ValidationError(_("Both records must exist to be merged."))
    if keep.pk == remove.pk:
        raise ValidationError(_("A record cannot be merged with itself."))


def _check_choices(model, choices: dict) -> None:
    known = set(merge_field_names(model))
    unknown = sorted(str(name) for name in set(choices) - known)
    if unknown:
        raise ValidationError(
            _("These fields cannot be merged: %(fields)s.") % {"fields": ", ".join(unknown)}
        )
    if any(choice not in (KEEP, REMOVE) for choice in choices.values()):
        raise ValidationError(_("Choose, for each field, which record's value to keep."))


def _lock(model, keep_pk, remove_pk):
    """Both rows, locked in one order (no deadlock with a merge of the same pair reversed)."""
    rows = {
        row.pk: row
        for row in model._base_manager.select_for_update().filter(pk__in=[keep_pk, remove_pk])
    }
    if len(rows) < 2:
        raise ValidationError(_("One of the records no longer exists: it was merged or deleted."))
    return rows[keep_pk], rows[remove_pk]


def _chosen_values(model, keep, remove, choices: dict) -> dict:
    data = {
        name: getattr(remove, name)
        for name in EDITABLE_FIELDS[model]
        if choices.get(name) == REMOVE and _value(keep, name) != _value(remove, name)
    }
    custom = {}
    for name, choice in choices.items():
        if choice == REMOVE and name.startswith(CUSTOM_PREFIX):
            key = name.removeprefix(CUSTOM_PREFIX)
            theirs = (remove.custom or {}).get(key)
            if (keep.custom or {}).get(key) != theirs:
                custom[key] = theirs  # None clears it
    if custom:
        data["custom"] = custom
    return data


def _value(record, name: str):
    field = record._meta.get_field(name)
    return getattr(record, field.attname)


def _relations(model) -> list:
    """Every foreign key and one-to-one field pointing at `model`, hidden ones included
    (a lead's conversion links, many-to-many tables)."""
    return [
        relation
        for relation in model._meta.get_fields(include_hidden=True)
        if relation.auto_created
        and not relation.concrete
        and (relation.one_to_many or relation.one_to_one)
    ]


def _move_related(model, keep, remove) -> dict[str, int]:
    moved = {}
    for relation in _relations(model):
        field = relation.field
        target = field.target_field.attname
        rows = relation.related_model._base_manager.filter(
            **{field.attname: getattr(remove, target)}
        )
        rows = _without_clashes(rows, field, getattr(keep, target))
        count = rows.update(**{field.attname: getattr(keep, target)})
        if count:
            label = relation.related_model._meta.label
            moved[label] = moved.get(label, 0) + count
    return moved


def _unique_field_sets(model) -> list[tuple[str, ...]]:
    meta = model._meta
    sets = [(f.name,) for f in meta.concrete_fields if f.unique and not f.primary_key]
    sets += [tuple(names) for names in meta.unique_together]
    sets += [
        tuple(constraint.fields)
        for constraint in meta.constraints
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields
    ]
    return sets


def _without_clashes(rows, field, keep_value):
    """The rows that can move without breaking a unique rule: not those whose twin already
    points at the survivor (conditions of partial unique rules are ignored: the stricter)."""
    for unique in _unique_field_sets(rows.model):
        if field.name not in unique:
            continue
        others = [name for name in unique if name != field.name]
        twins = rows.model._base_manager.filter(
            **{field.attname: keep_value}, **{name: OuterRef(name) for name in others}
        )
        rows = rows.exclude(Exists(twins))
    return rows


def _move_references(model, keep, remove) -> dict[str, int]:
    """History kept by type and id (the event outbox): the removed record's becomes the
    survivor's, so its timeline of changes goes on there."""
    kind = model._meta.model_name
    moved = {}
    for reference, type_field, id_field in RECORD_REFERENCES:
        rows = reference._base_manager.filter(**{type_field: kind, id_field: remove.pk})
        for unique in _unique_field_sets(reference):
            if {type_field, id_field} <= set(unique):
                others = [name for name in unique if name not in (type_field, id_field)]
                twins = reference._base_manager.filter(
                    **{type_field: kind, id_field: keep.pk},
                    **{name: OuterRef(name) for name in others},
                )
                rows = rows.exclude(Exists(twins))
        count = rows.update(**{id_field: keep.pk})
        if count:
            moved[reference._meta.label] = count
    return moved


def _move_claims(model, keep, remove) -> None:
    """The removed record's claims ("this email exists once") pass to the survivor. A claim
    whose key the survivor does not carry is stale, and the next claim takes it over."""
    scopes = CLAIM_SCOPES.get(model, ())
    if scopes:
        DedupeKey.objects.filter(scope__in=scopes, object_id=remove.pk).update(object_id=keep.pk)


def _delete(remove, *, merged_into, actor) -> None:
    """Delete the merged record with its "<type>.deleted" event, as every delete leaves one
    (automations' "record deleted" rules and webhooks learn it is gone, and where to)."""
    pk = remove.pk
    changes = {name: [value, None] for name, value in deleted_values(remove).items()}
    changes["_name"] = [str(remove), None]
    changes["_merged_into"] = [None, merged_into.pk]
    try:
        _total, removed = remove.delete()
    except (ProtectedError, RestrictedError) as error:
        blockers = getattr(error, "protected_objects", None) or error.restricted_objects
        raise RecordInUse(in_use_message(remove, blockers)) from error
    label = type(remove)._meta.label
    parts = {name: count for name, count in removed.items() if count and name != label}
    if parts:
        changes["_removed_with"] = [parts, None]
    remove.pk = pk  # the event names the row that was
    event_record(
        type=f"{remove._meta.model_name}.deleted", instance=remove, actor=actor, changes=changes
    )
    remove.pk = None


def _note_on_timeline(keep, removed: dict, actor) -> None:
    """The merge on the survivor's timeline (the removed record's entries are there now)."""
    activity_log(
        actor=actor,
        kind=ActivityKind.NOTE,
        direction=Direction.INTERNAL,
        subject=_("Merged with “%(name)s”") % {"name": removed["name"]},
        body=_("“%(name)s” (#%(pk)s) was merged into this record and deleted.")
        % {"name": removed["name"], "pk": removed["pk"]},
        **{keep._meta.model_name: keep},
    )
