from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .common import Timestamped, WithCustomFields


class TicketChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Chat")
    PHONE = "phone", _("Phone")
    WEB = "web", _("Web")


class TicketPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


DONE_STATUSES = [TicketStatus.RESOLVED, TicketStatus.CLOSED]


class SLAPolicy(models.Model):
    priority = models.CharField(_("priority"), max_length=8, choices=TicketPriority, unique=True)
    first_response_hours = models.DecimalField(
        _("first response within (hours)"), max_digits=7, decimal_places=2
    )
    resolution_hours = models.DecimalField(
        _("resolve within (hours)"), max_digits=7, decimal_places=2
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["priority"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_response_hours__gt=0, resolution_hours__gt=0),
                name="sla_targets_positive",
                violation_error_message=_("SLA targets must be above zero hours."),
            ),
        ]

    def __str__(self):
        return str(self.get_priority_display())


class SupportSettings(models.Model):
    """The support desk's settings: one row (the first wins), edited by admins.

    Without a row or a team, new tickets without a team stay teamless: every support agent sees
    them in the queue until someone takes one (crm.access).
    """

    # PROTECT: the team cannot be deleted while new tickets are routed to it.
    default_team = models.ForeignKey(
        "crm.Team",
        verbose_name=_("support team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_(
            "New tickets that come without a team go to this team's queue: the public contact "
            "form, customer emails and any ticket opened without a team."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("support settings")
        verbose_name_plural = _("support settings")

    def __str__(self):
        return str(_("Support settings"))

    @classmethod
    def current(cls) -> "SupportSettings":
        """The settings row, or unsaved defaults when there is none yet."""
        return cls.objects.select_related("default_team").order_by("pk").first() or cls()


class Ticket(Timestamped, WithCustomFields):
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        db_index=False,  # ticket_contact_reach
    )
    company = models.ForeignKey(
        "crm.Company",
        verbose_name=_("company"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        db_index=False,  # ticket_company_reach
    )
    channel = models.CharField(
        _("channel"), max_length=8, choices=TicketChannel, default=TicketChannel.EMAIL
    )
    priority = models.CharField(
        _("priority"), max_length=8, choices=TicketPriority, default=TicketPriority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TicketStatus, default=TicketStatus.NEW, db_index=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    team = models.ForeignKey(
        "crm.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True, db_index=True)
    reopen_count = models.PositiveIntegerField(_("reopened"), default=0)
    agent_reply_count = models.PositiveIntegerField(_("agent replies"), default=0)
    # Due times are fixed from the SLA policy when the ticket is opened or its priority changes.
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    sla_breached_at = models.DateTimeField(_("SLA breached"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at"]
        indexes = [
            # Whose ticket an answer rates, read from the index alone: the month's CSAT
            # answers are joined to their ticket's agent and team one probe each, where
            # hashing every ticket took 80 ms against 15 ms on the large seed.
            models.Index(
                fields=["id"], include=["assignee", "team"], name="ticket_id_assignee_team"
            ),
            models.Index(fields=["status", "resolution_due_at"]),
            # The support KPIs of a period read its tickets from these alone, grouped by agent
            # and team: created (first response time, SLA compliance) and resolved
            # (resolution time, first contact resolution). The month's 33k tickets lie on
            # 11k pages of the table: 31-57 ms a KPI against 7-24 ms on the large seed.
            models.Index(
                fields=["created_at"],
                include=[
                    "id",
                    "assignee",
                    "team",
                    "first_response_at",
                    "first_response_due_at",
                    "resolved_at",
                    "resolution_due_at",
                    "sla_breached_at",
                ],
                name="ticket_created_times",
            ),
            models.Index(
                fields=["resolved_at"],
                include=[
                    "id",
                    "assignee",
                    "team",
                    "created_at",
                    "agent_reply_count",
                    "reopen_count",
                ],
                name="ticket_resolved_times",
            ),
            # A customer's tickets, with whose they are: a support agent's companies and
            # contacts look for a ticket of theirs from the index alone (crm.access), where
            # each look fetched the ticket's row (the agent's companies counted 61-86 -> 37-42
            # ms on the large seed). They replace the foreign keys' own indexes.
            models.Index(
                fields=["company"], include=["assignee", "team"], name="ticket_company_reach"
            ),
            models.Index(
                fields=["contact"], include=["assignee", "team"], name="ticket_contact_reach"
            ),
            # The queue's default order over working tickets (crm 0024); must stay identical
            # to crm.views.tickets.NEXT_DUE.
            models.Index(
                models.Case(
                    models.When(status__in=DONE_STATUSES, then=None),
                    models.When(
                        first_response_at__isnull=True, then=models.F("first_response_due_at")
                    ),
                    default=models.F("resolution_due_at"),
                ),
                models.F("created_at").desc(),
                models.F("id").asc(),
                condition=~Q(status__in=DONE_STATUSES),
                name="ticket_working_queue",
                # What the queue's view counts and a rep's visibility read (crm 0029): counted
                # from the index alone, not from ten thousand heap pages.
                include=[
                    "status",
                    "priority",
                    "assignee",
                    "team",
                    "contact",
                    "company",
                    "first_response_at",
                    "first_response_due_at",
                    "resolution_due_at",
                    "sla_breached_at",
                ],
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=["resolved", "closed"]) | Q(resolved_at__isnull=False),
                name="ticket_resolved_has_time",
                violation_error_message=_("A resolved ticket needs its resolution time."),
            ),
            models.CheckConstraint(
                condition=Q(first_response_at__isnull=True)
                | Q(first_response_at__gte=models.F("created_at")),
                name="ticket_response_after_creation",
                violation_error_message=_("The first response cannot come before the ticket."),
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=models.F("created_at")),
                name="ticket_resolution_after_creation",
                violation_error_message=_("The resolution cannot come before the ticket."),
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.subject}"

    @property
    def is_resolved(self) -> bool:
        return self.status in DONE_STATUSES


class MessageAuthor(models.TextChoices):
    AGENT = "agent", _("Agent")
    CUSTOMER = "customer", _("Customer")


class TicketMessage(models.Model):
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="messages", verbose_name=_("ticket")
    )
    author_kind = models.CharField(_("from"), max_length=8, choices=MessageAuthor)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    # Internal notes are for colleagues: never shown to the customer, never a response.
    is_internal = models.BooleanField(_("internal note"), default=False)
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("sent"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(author_kind="agent") | Q(is_internal=False),
                name="ticket_note_is_by_an_agent",
                violation_error_message=_("Only agents write internal notes."),
            ),
        ]

    def __str__(self):
        return f"{self.ticket_id}: {self.body[:40]}"
