"""Web forms: a form an admin builds (its fields mapped to the record it creates), and the
submissions visitors send through it, each keeping what it created."""

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _


class FormKind(models.TextChoices):
    LEAD = "lead", _("Lead")
    TICKET = "ticket", _("Support ticket")
    FEEDBACK = "feedback", _("Feedback answer")


class AssignRule(models.TextChoices):
    OWNER = "owner", _("To one person")
    ROUND_ROBIN = "round_robin", _("In turn within a team")
    AUTOMATIONS = "automations", _("Leave it to the automations")


def translated(texts: dict, fallback: str = "") -> str:
    """The text of the active language, else of the installation's, else any, else
    `fallback`."""
    texts = texts or {}
    for language in (translation.get_language(), settings.LANGUAGE_CODE):
        if texts.get(language):
            return texts[language]
    return next((text for text in texts.values() if text), fallback)


class WebForm(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("address"), max_length=60, unique=True)
    kind = models.CharField(_("creates"), max_length=10, choices=FormKind)
    survey_kind = models.CharField(
        _("survey"),
        max_length=4,
        blank=True,
        help_text=_("What a feedback form asks for (NPS, CSAT or CES)."),
    )
    is_active = models.BooleanField(_("accepting submissions"), default=True)
    # {"en": "...", "pt-br": "..."}: one text per language, the visitor's is shown.
    titles = models.JSONField(_("title"), default=dict, blank=True)
    thank_you = models.JSONField(_("thank-you text"), default=dict, blank=True)
    redirect_url = models.URLField(
        _("redirect after sending"),
        blank=True,
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Instead of the thank-you text: an http(s) address to send the visitor to."),
    )
    assign_rule = models.CharField(
        _("assign to"), max_length=12, choices=AssignRule, default=AssignRule.AUTOMATIONS
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    team = models.ForeignKey(
        "crm.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Round-robin turns taken so far: incremented under a row lock, so two submissions at
    # once go to two people.
    turns = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    @property
    def title(self) -> str:
        return translated(self.titles, self.name)

    @property
    def thank_you_text(self) -> str:
        return translated(self.thank_you)


class WebFormField(models.Model):
    form = models.ForeignKey(
        WebForm, on_delete=models.CASCADE, related_name="fields", verbose_name=_("form")
    )
    # A field of the record the form creates ("email", "subject"...) or "custom:<key>".
    target = models.CharField(_("maps to"), max_length=60)
    labels = models.JSONField(_("label"), default=dict, blank=True)
    help_texts = models.JSONField(_("help text"), default=dict, blank=True)
    required = models.BooleanField(_("required"), default=False)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("web form field")
        verbose_name_plural = _("web form fields")
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["form", "target"], name="webform_field_target_once"),
        ]

    def __str__(self):
        return f"{self.form}: {self.target}"


class WebFormSubmission(models.Model):
    form = models.ForeignKey(
        WebForm, on_delete=models.PROTECT, related_name="submissions", verbose_name=_("form")
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    # The signed token's nonce: a form sent twice (a double click, a replay) is one submission.
    nonce = models.CharField(max_length=32, unique=True)
    data = models.JSONField(_("data"), default=dict)
    utm = models.JSONField(_("UTM parameters"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    ip_hash = models.CharField(_("client address (hashed)"), max_length=64, blank=True)
    lead = models.ForeignKey(
        "crm.Lead", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ticket = models.ForeignKey(
        "crm.Ticket", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    survey_answer = models.ForeignKey(
        "crm.SurveyAnswer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The existing contact the email matched (or the one the ticket opened for).
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("web form submission")
        verbose_name_plural = _("web form submissions")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["form", "-received_at"], name="webform_sub_form_time")]

    def __str__(self):
        return f"{self.form} · {self.received_at:%Y-%m-%d %H:%M}"

    @property
    def created_record(self):
        return self.lead or self.ticket or self.survey_answer
