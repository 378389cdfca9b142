"""What a web form's fields may map to: the fields of the record each kind of form creates,
plus the active custom fields of that record type."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from crm.custom_fields import definitions_for
from crm.limits import COMMENT_MAX_LENGTH, MESSAGE_MAX_LENGTH
from crm.models import CustomField, RecordType

from .models import FormKind

CUSTOM_PREFIX = "custom:"


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    widget: str  # "text", "email", "phone", "long_text", "score" or "custom"
    max_length: int = 200
    definition: CustomField | None = None


_NAME = Target("name", _("Name"), "text", 200)
_EMAIL = Target("email", _("Email"), "email", 254)
BUILT_IN: dict[str, tuple[Target, ...]] = {
    FormKind.LEAD: (
        _NAME,
        _EMAIL,
        Target("phone", _("Phone"), "phone", 40),
        Target("company_name", _("Company"), "text", 200),
    ),
    FormKind.TICKET: (
        _NAME,
        _EMAIL,
        Target("subject", _("Subject"), "text", 200),
        Target("message", _("Message"), "long_text", MESSAGE_MAX_LENGTH),
    ),
    FormKind.FEEDBACK: (
        _NAME,
        _EMAIL,
        Target("score", _("Score"), "score"),
        Target("comment", _("Comment"), "long_text", COMMENT_MAX_LENGTH),
    ),
}
# The fields a record of each kind cannot be made without: always on the form, required.
NEEDED: dict[str, frozenset[str]] = {
    FormKind.LEAD: frozenset({"name"}),
    FormKind.TICKET: frozenset({"email", "subject", "message"}),
    FormKind.FEEDBACK: frozenset({"score"}),
}
CUSTOM_RECORD_TYPE = {FormKind.LEAD: RecordType.LEAD, FormKind.TICKET: RecordType.TICKET}


def targets_for(kind: str) -> dict[str, Target]:
    """Every target of a kind of form, by key, built-in first."""
    targets = {target.key: target for target in BUILT_IN[kind]}
    record_type = CUSTOM_RECORD_TYPE.get(kind)
    if record_type:
        for definition in definitions_for(record_type):
            key = CUSTOM_PREFIX + definition.key
            targets[key] = Target(key, definition.label, "custom", definition=definition)
    return targets


def required_custom_keys(kind: str) -> set[str]:
    """Custom fields a record of this kind must be created with: the form must ask them."""
    return {
        key
        for key, target in targets_for(kind).items()
        if target.definition is not None and target.definition.required
    }
