from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.choices import choice_label


def default_currency() -> str:
    return settings.CRM_CURRENCY


# What a delete may take with it (issue 16, item 9). Deleting never takes history along:
# - PROTECT every link from a row that records something that happened (deal, ticket,
#   subscription, activity, task, survey answer or invitation, a contact's company, a lead's
#   conversion, a deal's source lead, a renewal's predecessor) to what it happened with. A
#   company, contact, lead, deal or ticket with any of those is refused (the admin lists
#   them); an empty one can still be deleted. Contacts too: which company a person worked
#   for is history, and SET_NULL would drop it silently.
# - PROTECT who is responsible for a row (owner, assignee, a record's team) and a user's
#   logins (the logins KPIs): users are deactivated and their records reassigned in one step
#   (crm.services.users.deactivate_user), never deleted.
# - CASCADE only the parts of one row: a deal's stage changes, a ticket's messages, a
#   pipeline's stages (while no deal uses them), a user's own notifications.
# - SET_NULL who wrote or changed something (author, actor, created_by...), a deleted
#   article category: the row stands on its own without it.
# Every delete that remains goes through crm.services.record_delete and leaves an event.


class LabelsOneChoice:
    """get_FOO_display() from labels built once per field and language (crm.choices).
    Django's translates every label of the field to show one: the ticket queue's 50 rows
    translated 1,300 labels to show 150, a seventh of the page's time."""

    def _get_FIELD_display(self, field):
        return choice_label(self, field.name)


class Timestamped(LabelsOneChoice, models.Model):
    """Creation time is a business fact (cohorts, cycle lengths), so it stays settable."""

    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


def owner_field(**options) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        **options,
    )


def team_field(**options) -> models.ForeignKey:
    return models.ForeignKey(
        "crm.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        **options,
    )


class Owned(models.Model):
    """Records a rep or agent works on: who owns them and which team sees them.

    Each such model indexes (owner, id) and (team, id) (`owner_team_indexes`) in place of the
    foreign keys' own indexes: an owner's or team's rows come from them in id order, which a
    list sorted by owner or team reads one owner or team at a time (crm.lists.ByRelatedRow),
    and their ids from the index alone. For a rep or manager, each carries the other field,
    which their rule reads (one of their people's rows are theirs in any team, their team's
    rows theirs whoever owns them), and (owner, team, id) gives the rows of any other owner in
    one of their teams, or of any other team by one of their people, without reading that
    owner's or team's other rows."""

    owner = owner_field(db_index=False)
    team = team_field(db_index=False)

    class Meta:
        abstract = True


def owner_team_indexes(prefix: str) -> list[models.Index]:
    return [
        models.Index(fields=["owner", "id"], include=["team"], name=f"{prefix}_owner_ids"),
        models.Index(fields=["team", "id"], include=["owner"], name=f"{prefix}_team_ids"),
        models.Index(fields=["owner", "team", "id"], name=f"{prefix}_owner_team_ids"),
    ]


class WithCustomFields(models.Model):
    """Values of admin-defined custom fields, keyed by the field's key (see CustomField)."""

    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        abstract = True
