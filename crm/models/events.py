from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# A deal moved between two open stages (a drag on the board): its stage changed and its status
# did not (crm.services.deals records only the fields that changed). Such a move leaves the
# numbers of won, lost and open deals as they were, so it versions apart the few KPIs that read
# a deal's stage or its history (metrics.sources).
OPEN_STAGE_MOVE = models.Q(type="deal.stage_changed") & ~models.Q(changes__has_key="status")
DEAL_CHANGE = models.Q(record_type="deal") & ~OPEN_STAGE_MOVE
DEAL_OPEN_MOVE = models.Q(record_type="deal") & OPEN_STAGE_MOVE
# What is read off the activities of the days before today (the engaged customers) is kept
# until one is edited or deleted, or a company merged moves them (metrics.sources): not until
# a new one is logged, the most frequent change there is.
ACTIVITY_LOGGED = "activity.logged"
ACTIVITY_EDIT = models.Q(record_type="activity") & ~models.Q(type=ACTIVITY_LOGGED)
COMPANY_MERGE = models.Q(record_type="company", type="company.merged")
# A company edited or churned without a new owner or team stays in its group: the health read
# from the nightly rows, summed by owner and team, is kept until one is made, deleted, merged or
# handed to someone else (metrics.sources). Any other kind of company event counts.
COMPANY_KEPT_IN_PLACE = models.Q(
    type__in=["company.updated", "company.lifecycle_changed"]
) & ~models.Q(changes__has_any_keys=["owner", "team"])
COMPANY_REGROUP = models.Q(record_type="company") & ~COMPANY_KEPT_IN_PLACE


class Event(models.Model):
    """The outbox: one row per change, written in the change's own transaction.

    Automations claim rows whose `dispatched_at` is empty; the timeline reads them too.
    """

    type = models.CharField(_("event"), max_length=50, db_index=True)
    record_type = models.CharField(_("record type"), max_length=30)
    record_id = models.BigIntegerField(_("record id"))
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Why the change happened when a machine made it, e.g. {"rule_chain": [3, 7]} for a change
    # made by automation rules 3 then 7 (their loop guard reads it). Empty for people's changes.
    context = models.JSONField(_("context"), default=dict, blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["record_type", "record_id", "occurred_at"]),
            models.Index(
                fields=["id"],
                condition=models.Q(dispatched_at__isnull=True),
                name="event_undispatched",
            ),
            # The newest change of each kind of record, which versions the cached KPI values
            # made of that kind (metrics.numbers.version_parts).
            models.Index(fields=["record_type", "id"], name="event_kind_newest"),
            models.Index(fields=["id"], condition=DEAL_CHANGE, name="event_deal_newest"),
            models.Index(fields=["id"], condition=DEAL_OPEN_MOVE, name="event_deal_move_newest"),
            models.Index(fields=["id"], condition=ACTIVITY_EDIT, name="event_activity_edit_newest"),
            models.Index(fields=["id"], condition=COMPANY_MERGE, name="event_company_merge_newest"),
            models.Index(
                fields=["id"], condition=COMPANY_REGROUP, name="event_company_regroup_newest"
            ),
        ]

    def __str__(self):
        return f"{self.type} {self.record_type}#{self.record_id}"
