"""The records rules are about: loading them in bulk, reading field paths, who owns them.

A field path is "<field>", "custom.<key>" or "<relation>.<field>" (see schema.py). Values are
read as the database stores them: foreign keys as ids, choices as their stored value.
"""

from functools import lru_cache

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from crm.models import CustomField, User

from .schema import RECORD_MODELS

# Relations a condition may follow, loaded with the record (one query per batch).
RELATIONS = (
    "company",
    "owner",
    "team",
    "contact",
    "deal",
    "ticket",
    "assignee",
    "user",
    "stage",
    "pipeline",
)
MISSING = object()


def model_for(record_type: str) -> type[models.Model] | None:
    label = RECORD_MODELS.get(record_type)
    return apps.get_model(label) if label else None


def related_names(model) -> list[str]:
    names = {field.name for field in model._meta.concrete_fields if field.is_relation}
    return [name for name in RELATIONS if name in names]


def load_records(record_type: str, ids, *, relations=None) -> dict[int, models.Model]:
    """Records by id, with their relations (all, or those named) joined in the same query."""
    model = model_for(record_type)
    if model is None or not ids:
        return {}
    names = related_names(model)
    if relations is not None:
        names = [name for name in names if name in relations]
    # A stage is named with its pipeline ("Sales · Won"): join that too.
    deeper = ["stage__pipeline"] if "stage" in names else []
    queryset = model._default_manager.select_related(*names, *deeper)
    return {record.pk: record for record in queryset.filter(pk__in=set(ids))}


def custom_definitions() -> dict[tuple[str, str], CustomField]:
    """Every active custom field by (record type, key): one query per batch."""
    return {
        (field.record_type, field.key): field
        for field in CustomField.objects.filter(is_active=True)
    }


def read_path(record, path: str):
    """(value, model field or custom-field key) for a field path; MISSING if there is none."""
    relation, name, field, custom_key = _resolve(type(record), path)
    target = record
    if relation:
        target = getattr(record, relation, None)
        if target is None:
            return None, None
    if custom_key is not None:
        return (getattr(target, "custom", None) or {}).get(custom_key), (
            target._meta.model_name,
            custom_key,
        )
    if field is None:
        return MISSING, None
    if field.is_relation:
        return getattr(target, field.attname), field
    return getattr(target, field.attname), field


@lru_cache(maxsize=4096)
def _resolve(model, path: str):
    """How to read a path on a model: (relation, rest, field, custom key), computed once."""
    head, _sep, rest = path.partition(".")
    relation = ""
    if rest and head != "custom" and head in RELATIONS:
        try:
            related_field = model._meta.get_field(head)
        except FieldDoesNotExist:
            related_field = None
        if related_field is None or not related_field.is_relation:
            return "", path, None, None
        relation, path = head, rest
        model = related_field.related_model
    if path.startswith("custom."):
        return relation, path, None, path.removeprefix("custom.")
    try:
        field = model._meta.get_field(path)
    except FieldDoesNotExist:
        return relation, path, None, None
    if not field.concrete or (field.is_relation and not field.many_to_one):
        return relation, path, None, None
    return relation, path, field, None


def owner_of(record) -> User | None:
    """The person a record belongs to: its owner, assignee, author, or its company's owner."""
    for name in ("owner", "assignee", "user"):
        user = getattr(record, name, None) if _has(record, name) else None
        if user is not None:
            return user
    for name in ("deal", "company", "ticket", "contact", "lead"):
        related = getattr(record, name, None) if _has(record, name) else None
        if related is not None and related is not record:
            owner = owner_of(related)
            if owner is not None:
                return owner
    return None


def team_of(record):
    if _has(record, "team") and record.team_id:
        return record.team
    for name in ("deal", "company", "ticket", "contact", "lead"):
        related = getattr(record, name, None) if _has(record, name) else None
        if related is not None and _has(related, "team") and related.team_id:
            return related.team
    owner = owner_of(record)
    return owner.teams.order_by("id").first() if owner is not None else None


def _has(record, name: str) -> bool:
    try:
        record._meta.get_field(name)
    except Exception:
        return False
    return True


def company_of(record):
    if record._meta.model_name == "company":
        return record
    if _has(record, "company") and record.company_id:
        return record.company
    for name in ("deal", "contact", "ticket"):
        related = getattr(record, name, None) if _has(record, name) else None
        if related is not None and getattr(related, "company_id", None):
            return related.company
    return None


def label_of(record) -> str:
    return str(record)[:200] if record is not None else ""


def template_context(record) -> dict:
    """The record as a plain dict for title/body templates: no methods, no related managers."""
    if record is None:
        return {}
    values = {}
    for field in record._meta.concrete_fields:
        if field.is_relation:
            related = getattr(record, field.name, None) if field.name in RELATIONS else None
            values[field.name] = str(related) if related is not None else ""
            values[field.attname] = getattr(record, field.attname)
        elif field.name == "custom":
            values["custom"] = dict(record.custom or {})
        elif field.choices:
            values[field.name] = getattr(record, f"get_{field.name}_display")()
        else:
            values[field.name] = getattr(record, field.attname)
    values["label"] = label_of(record)
    owner = owner_of(record)
    values["owner"] = owner.get_full_name() or owner.username if owner else ""
    return values
