from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .common import (
    Owned,
    Timestamped,
    WithCustomFields,
    default_currency,
    owner_team_indexes,
)


class DealKind(models.TextChoices):
    NEW_BUSINESS = "new_business", _("New business")
    RENEWAL = "renewal", _("Renewal")
    UPSELL = "upsell", _("Upsell")
    CROSS_SELL = "cross_sell", _("Cross-sell")


class DealStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class DealQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=DealStatus.OPEN)

    def won(self):
        return self.filter(status=DealStatus.WON)

    def lost(self):
        return self.filter(status=DealStatus.LOST)

    def quiet(self, since):
        """Deals older than `since` with no activity logged since then ("gone quiet").

        NOT EXISTS, not a join: the database can stop at the first rows of an ordered list."""
        from .activities import Activity

        recent = Activity.objects.filter(deal=models.OuterRef("pk"), occurred_at__gte=since)
        return self.filter(created_at__lt=since).filter(~models.Exists(recent))


class Deal(Timestamped, Owned, WithCustomFields):
    name = models.CharField(_("name"), max_length=200)
    company = models.ForeignKey(
        "crm.Company",
        verbose_name=_("company"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deals",
    )
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deals",
    )
    pipeline = models.ForeignKey(
        "crm.Pipeline", verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="deals"
    )
    stage = models.ForeignKey(
        "crm.Stage", verbose_name=_("stage"), on_delete=models.PROTECT, related_name="deals"
    )
    stage_entered_at = models.DateTimeField(_("in stage since"), default=timezone.now)
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(_("currency"), max_length=3, default=default_currency)
    # Amount × rate is the amount in the installation's currency (CRM_CURRENCY).
    exchange_rate = models.DecimalField(
        _("exchange rate"), max_digits=12, decimal_places=6, default=1
    )
    kind = models.CharField(
        _("kind"), max_length=12, choices=DealKind, default=DealKind.NEW_BUSINESS, db_index=True
    )
    expected_close_date = models.DateField(_("expected close"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=4, choices=DealStatus, default=DealStatus.OPEN
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    lost_reason = models.CharField(_("lost because"), max_length=200, blank=True)
    source_lead = models.ForeignKey(
        "crm.Lead",
        verbose_name=_("source lead"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deals",
    )

    objects = DealQuerySet.as_manager()

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "closed_at"]),
            models.Index(fields=["stage", "status"]),
            models.Index(fields=["owner", "status"]),
            # The board reads each column's newest cards in this order, stopping at a page.
            models.Index(fields=["stage", "-stage_entered_at", "-id"], name="deal_board_cards"),
            # The board's cached column sums are keyed on the latest change.
            models.Index(fields=["updated_at"], name="deal_updated_at"),
            # "My day" looks for a rep's oldest open deals gone quiet.
            models.Index(
                fields=["owner", "created_at", "id"],
                condition=Q(status="open"),
                name="deal_open_by_owner_created",
            ),
            # An owner's or team's deal ids from the index alone: a rep's or team's slice of
            # the stage exits (and other rows joined to their deal) hashes them, where
            # reading them from the table cost 100 ms on a rep with 80k deals.
            *owner_team_indexes("deal"),
            # A stage's deals in id order: the list sorted by stage reads one stage at a time,
            # a rep's or manager's those of each of their people and teams.
            models.Index(fields=["stage", "id"], name="deal_stage_ids"),
            models.Index(fields=["stage", "owner", "id"], name="deal_stage_owner_ids"),
            models.Index(fields=["stage", "team", "id"], name="deal_stage_team_ids"),
            # Who owns a deal, read from the index alone: the month's stage exits are joined
            # to their deal's owner and team (the velocity's parts) one probe each, where
            # hashing every deal's table row cost 175 ms against 120 ms on the large seed.
            models.Index(fields=["id"], include=["owner", "team"], name="deal_id_owner_team"),
            # A period's closed deals with what the deal KPIs count and break them down by
            # (win rate, deals won, revenue, cycle): read from the index alone, a month's 53k
            # deals are a few MB, where their table rows were 24k pages of 1M deals.
            models.Index(
                fields=["closed_at"],
                include=[
                    "id",
                    "status",
                    "owner",
                    "team",
                    "pipeline",
                    "kind",
                    "amount",
                    "exchange_rate",
                    "created_at",
                    "company",
                    "source_lead",
                ],
                condition=Q(status__in=["won", "lost"]),
                name="deal_closed_when",
            ),
            # The deals list sorted by one of its own columns reads the rows in order from
            # these and stops at a page, where it sorted every deal the user sees (0.5-0.7 s for
            # a rep). Never-empty columns are ordered plainly (crm.lists._ordering), so each
            # index serves both directions. The expected close date may be empty, and empty
            # dates come last either way: its two indexes, one per direction, are made on
            # PostgreSQL by migration crm 0044 (SQLite has no NULLS LAST in an index).
            models.Index(fields=["name", "id"], name="deal_sort_name"),
            models.Index(fields=["amount", "id"], name="deal_sort_amount"),
            models.Index(fields=["status", "id"], name="deal_sort_status"),
            models.Index(fields=["kind", "id"], name="deal_sort_kind"),
            # The data-quality check of deals without an amount (metrics.quality) counts and
            # lists them newest first from these few entries, where it read a million deals.
            models.Index(
                fields=["-created_at", "-id"],
                condition=Q(amount=0) & ~Q(status="lost"),
                name="deal_without_amount",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="deal_amount_not_negative",
                violation_error_message=_("The amount cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(exchange_rate__gt=0),
                name="deal_exchange_rate_positive",
                violation_error_message=_("The exchange rate must be above zero."),
            ),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(closed_at__isnull=True))
                | (Q(status__in=["won", "lost"]) & Q(closed_at__isnull=False)),
                name="deal_closed_has_closed_time",
                violation_error_message=_(
                    "A closed deal needs its closing time; an open one has none."
                ),
            ),
            models.CheckConstraint(
                condition=Q(status="lost") | Q(lost_reason=""),
                name="deal_lost_reason_only_when_lost",
                violation_error_message=_("Only a lost deal has a lost reason."),
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.status != DealStatus.OPEN


class DealStageChange(models.Model):
    """One move of a deal between stages; time in the left stage is stored for velocity KPIs."""

    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="stage_changes", verbose_name=_("deal")
    )
    from_stage = models.ForeignKey(
        "crm.Stage",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from stage"),
    )
    to_stage = models.ForeignKey(
        "crm.Stage", on_delete=models.PROTECT, related_name="+", verbose_name=_("to stage")
    )
    from_stage_entered_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("entered the previous stage")
    )
    seconds_in_from_stage = models.PositiveBigIntegerField(
        null=True, blank=True, verbose_name=_("seconds in the previous stage")
    )
    # Indexed by stage_change_when_covering (Meta).
    changed_at = models.DateTimeField(default=timezone.now, verbose_name=_("changed at"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["changed_at", "id"]
        indexes = [
            models.Index(fields=["from_stage", "changed_at"]),
            # A period's stage exits (stage velocity) read from the index alone.
            models.Index(
                fields=["changed_at"],
                include=["from_stage", "seconds_in_from_stage", "deal", "id"],
                name="stage_change_when_covering",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(from_stage__isnull=True) | ~Q(from_stage=models.F("to_stage")),
                name="stage_change_moves",
                violation_error_message=_("A stage change goes to another stage."),
            ),
        ]

    def __str__(self):
        return f"{self.deal}: {self.from_stage} → {self.to_stage}"
