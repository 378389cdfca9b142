"""The event types a webhook can subscribe to: the types the services write to the event log
(crm.models.Event), each record type's `<type>.*`, and `*` for all of them.

Kept here as a list, not read from the log: the log holds only types that already happened,
and a subscription is often made before the first one does. A service that writes a new type
adds it here (tests/webhooks checks the types the code writes are listed)."""

from django.utils.translation import gettext_lazy as _

ALL_EVENTS = "*"
# Every record written through crm.services.records / deletes gets these.
PLAIN = ("created", "updated", "deleted")

KNOWN_EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "company": (*PLAIN, "lifecycle_changed"),
    "contact": PLAIN,
    "lead": (*PLAIN, "responded", "qualified", "disqualified", "converted"),
    "deal": (*PLAIN, "stage_changed"),
    "activity": ("logged", "updated", "deleted"),
    "task": (*PLAIN, "completed", "reopened", "cancelled"),
    "ticket": (
        *PLAIN,
        "replied",
        "customer_replied",
        "note_added",
        "status_changed",
        "resolved",
        "reopened",
        "sla_breached",
    ),
    "survey": ("answered",),
    "surveyinvitation": ("created",),
    "subscription": ("started", "renewed", "cancelled", "expired", "updated", "deleted"),
    "expense": PLAIN,
    "article": ("created", "updated", "deleted"),
    "articlecategory": ("created",),
    "pipeline": PLAIN,
    "stage": PLAIN,
    "customfield": PLAIN,
    "slapolicy": PLAIN,
    "user": ("invited", "invited_again", "updated", "deactivated"),
    "team": PLAIN,
    "supportsettings": ("updated",),
}


def known_event_types() -> list[str]:
    """Every value a subscription may hold, `*` first, then by record type."""
    values = [ALL_EVENTS]
    for record, actions in KNOWN_EVENT_TYPES.items():
        values.append(f"{record}.*")
        values.extend(f"{record}.{action}" for action in actions)
    return values


def event_type_choices() -> list[tuple[str, str]]:
    """(value, label) for the subscription form's checkboxes."""
    choices = []
    for value in known_event_types():
        if value == ALL_EVENTS:
            label = _("All events (*)")
        elif value.endswith(".*"):
            label = _("%(type)s (every %(record)s event)") % {
                "type": value,
                "record": value[:-2],
            }
        else:
            label = value
        choices.append((value, label))
    return choices
