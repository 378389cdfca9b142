"""How long free text may be: one place for every note, body, message and description.

Database columns stay TEXT (no migration); the limit is ours. Forms give each text field its
`max_length` (`cap_text_fields`), so a long text is a form error next to the field, and
services check the same limits (`check_text_lengths`, `check_texts`) so text that arrives
without a form (the API, imports, automations) cannot go around them. A million-character
activity once made a deal page weigh a megabyte (issue 16, item 11).
"""

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models

# Notes, activity details, ticket messages and descriptions, addresses, goal and rule
# descriptions: a long email pasted in fits; a dump does not.
TEXT_MAX_LENGTH = 10_000
# A ticket's messages and description: agents quote whole email threads.
MESSAGE_MAX_LENGTH = 20_000
# A customer's survey comment.
COMMENT_MAX_LENGTH = 5_000
# A knowledge-base article (Markdown), the one long document the CRM keeps.
ARTICLE_MAX_LENGTH = 100_000

# Text fields with another limit than TEXT_MAX_LENGTH, by "app_label.model.field".
TEXT_LIMITS = {
    "crm.article.body": ARTICLE_MAX_LENGTH,
    "crm.surveyanswer.comment": COMMENT_MAX_LENGTH,
    "crm.ticket.description": MESSAGE_MAX_LENGTH,
    "crm.ticketmessage.body": MESSAGE_MAX_LENGTH,
}

# Imports (issue 13): a file is streamed, never read whole, but a web request still receives it.
IMPORT_MAX_BYTES = 50_000_000
# A row wider than this is a broken file, not data (a 5,000-column row was one).
IMPORT_MAX_COLUMNS = 500


def text_limit(model_field: models.Field) -> int:
    opts = model_field.model._meta
    return TEXT_LIMITS.get(
        f"{opts.app_label}.{opts.model_name}.{model_field.name}", TEXT_MAX_LENGTH
    )


def is_free_text(model_field) -> bool:
    return isinstance(model_field, models.TextField)


def check_texts(limit: int = TEXT_MAX_LENGTH, **values) -> None:
    """Refuse any of `values` (field name → text) longer than `limit`, by field."""
    errors = {}
    for name, value in values.items():
        try:
            MaxLengthValidator(limit)(value or "")
        except ValidationError as error:
            errors[name] = error.messages
    if errors:
        raise ValidationError(errors)


def check_text_lengths(instance: models.Model, fields: list[str] | None = None) -> None:
    """Refuse an instance whose free-text fields (all, or `fields`) are over their limit."""
    errors = {}
    for model_field in instance._meta.concrete_fields:
        if not is_free_text(model_field) or (fields is not None and model_field.name not in fields):
            continue
        value = getattr(instance, model_field.attname)
        if not isinstance(value, str):
            continue
        try:
            MaxLengthValidator(text_limit(model_field))(value)
        except ValidationError as error:
            errors[model_field.name] = error.messages
    if errors:
        raise ValidationError(errors)


def cap_text_fields(form: forms.BaseForm) -> None:
    """Give a model form's free-text fields their limit (a form error, and the browser's
    `maxlength`). Fields the form declared itself keep the limit they were given."""
    model = getattr(getattr(form, "_meta", None), "model", None)
    if model is None:
        return
    for name, field in form.fields.items():
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:  # a field of the form only
            continue
        if not is_free_text(model_field) or not isinstance(field, forms.CharField):
            continue
        if field.max_length is not None:
            continue
        limit = text_limit(model_field)
        field.max_length = limit
        field.validators.append(MaxLengthValidator(limit))
        field.widget.attrs["maxlength"] = str(limit)
