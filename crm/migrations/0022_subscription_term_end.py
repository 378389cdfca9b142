"""Subscriptions get a contract term end (renewal date), issue 15 item 4.

Existing rows get the term end where it can be derived:
- a subscription with a scheduled or past end that was not cancelled (active with an end,
  expired because it ran out or because it was renewed): its end is its term end;
- a cancelled one: the end it had before the cancellation, read from its
  "subscription.cancelled" event, when it had one; otherwise the term is unknown and stays
  empty, so the cancellation counts as churn and not as a failed renewal;
- an open-ended one (no end): empty, a month-to-month subscription with no renewal date.
"""

from datetime import date

from django.db import migrations, models
from django.db.models import F


def fill_term_end(apps, schema_editor):
    Subscription = apps.get_model("crm", "Subscription")
    Event = apps.get_model("crm", "Event")
    Subscription.objects.filter(end_date__isnull=False).exclude(status="cancelled").update(
        term_end=F("end_date")
    )
    cancelled = dict(
        Subscription.objects.filter(status="cancelled").values_list("pk", "start_date")
    )
    if not cancelled:
        return
    events = Event.objects.filter(
        type="subscription.cancelled", record_type="subscription", record_id__in=cancelled
    ).order_by("record_id", "-occurred_at", "-pk")
    seen = set()
    for event in events.iterator():
        if event.record_id in seen:
            continue
        seen.add(event.record_id)
        before = (event.changes or {}).get("end_date")
        try:
            term_end = date.fromisoformat(before[0]) if before and before[0] else None
        except (TypeError, ValueError, IndexError):
            term_end = None
        if term_end is not None and term_end > cancelled[event.record_id]:
            Subscription.objects.filter(pk=event.record_id).update(term_end=term_end)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0021_keep_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="term_end",
            field=models.DateField(
                blank=True,
                help_text=(
                    "The first day after the contract term, when a renewal would start. Leave "
                    "empty for a month-to-month subscription."
                ),
                null=True,
                verbose_name="term end (renewal date)",
            ),
        ),
        migrations.RunPython(fill_term_end, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="subscription",
            index=models.Index(fields=["term_end"], name="crm_subscription_term_end"),
        ),
        migrations.AddConstraint(
            model_name="subscription",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("term_end__isnull", True),
                    ("term_end__gt", models.F("start_date")),
                    _connector="OR",
                ),
                name="subscription_term_ends_after_start",
                violation_error_message="The term end must come after the start date.",
            ),
        ),
    ]
