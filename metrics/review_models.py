"""Models of issue 17 (review); metrics.models imports them.

A review stores facts, not sentences: numbers and keys that metrics.reviews turns into words in
the reader's language when the page or the email is rendered.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["ReviewDelivery", "ReviewScope", "ReviewSubscription", "WeeklyReview"]


class ReviewScope(models.TextChoices):
    COMPANY = "company", _("Company")
    TEAM = "team", _("Team")
    PERSON = "person", _("Person")


class WeeklyReview(models.Model):
    """The review of one week (Monday `week_start`) for the company, a team or a person.

    One row per scope and week, enforced by the database: the Monday task run twice rewrites it.
    """

    scope = models.CharField(_("scope"), max_length=10, choices=ReviewScope)
    team = models.ForeignKey(
        "crm.Team",
        verbose_name=_("team"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    week_start = models.DateField(_("week"))
    facts = models.JSONField(_("facts"), default=dict)
    written_at = models.DateTimeField(_("written"), default=timezone.now)

    class Meta:
        verbose_name = _("weekly review")
        verbose_name_plural = _("weekly reviews")
        ordering = ["-week_start", "scope", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope=ReviewScope.COMPANY, team__isnull=True, person__isnull=True)
                    | Q(scope=ReviewScope.TEAM, team__isnull=False, person__isnull=True)
                    | Q(scope=ReviewScope.PERSON, team__isnull=True, person__isnull=False)
                ),
                name="weekly_review_scope_matches_subject",
            ),
            # NULLs never collide in a plain unique constraint: one partial constraint a scope.
            models.UniqueConstraint(
                fields=["week_start"],
                condition=Q(scope=ReviewScope.COMPANY),
                name="weekly_review_company_unique",
            ),
            models.UniqueConstraint(
                fields=["team", "week_start"],
                condition=Q(scope=ReviewScope.TEAM),
                name="weekly_review_team_unique",
            ),
            models.UniqueConstraint(
                fields=["person", "week_start"],
                condition=Q(scope=ReviewScope.PERSON),
                name="weekly_review_person_unique",
            ),
        ]
        indexes = [models.Index(fields=["week_start", "scope"])]

    def __str__(self):
        return f"{self.scope} {self.week_start}"


class ReviewSubscription(models.Model):
    """A user who wants the Monday review by email (the row is the opt-in)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("review subscription")
        verbose_name_plural = _("review subscriptions")

    def __str__(self):
        return str(self.user_id)


class ReviewDelivery(models.Model):
    """One week's email to one user, claimed before it is sent so a re-run never sends twice."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    week_start = models.DateField(_("week"))
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("review email")
        verbose_name_plural = _("review emails")
        constraints = [
            models.UniqueConstraint(fields=["user", "week_start"], name="review_delivery_unique")
        ]

    def __str__(self):
        return f"{self.user_id} {self.week_start}"
