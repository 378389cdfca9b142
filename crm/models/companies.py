from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from crm.languages import language_choices

from .common import Owned, Timestamped, WithCustomFields, owner_team_indexes


class Industry(models.TextChoices):
    SOFTWARE = "software", _("Software")
    FINANCE = "finance", _("Finance")
    RETAIL = "retail", _("Retail")
    MANUFACTURING = "manufacturing", _("Manufacturing")
    HEALTHCARE = "healthcare", _("Healthcare")
    EDUCATION = "education", _("Education")
    SERVICES = "services", _("Professional services")
    OTHER = "other", _("Other")


class SizeBand(models.TextChoices):
    MICRO = "1-10", _("1–10 employees")
    SMALL = "11-50", _("11–50 employees")
    MEDIUM = "51-200", _("51–200 employees")
    LARGE = "201-1000", _("201–1,000 employees")
    ENTERPRISE = "1000+", _("More than 1,000 employees")


class Lifecycle(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("Customer")
    CHURNED = "churned", _("Churned")


def ticket_mark() -> models.BooleanField:
    """Set by the database when a ticket names the company or contact, and never cleared (crm
    0051): a support agent reads the customers of their tickets (crm.access), and their lists
    test this column before looking for a ticket, so a customer with none costs no probe."""
    return models.BooleanField(_("has had a ticket"), default=False, editable=False)


class Company(Timestamped, Owned, WithCustomFields):
    name = models.CharField(_("name"), max_length=200)
    domain = models.CharField(_("domain"), max_length=200, blank=True, db_index=True)
    industry = models.CharField(_("industry"), max_length=20, choices=Industry, blank=True)
    size_band = models.CharField(_("size"), max_length=10, choices=SizeBand, blank=True)
    lifecycle = models.CharField(
        _("lifecycle"), max_length=10, choices=Lifecycle, default=Lifecycle.PROSPECT
    )
    customer_since = models.DateTimeField(_("customer since"), null=True, blank=True)
    churned_at = models.DateTimeField(_("churned at"), null=True, blank=True)
    address = models.TextField(_("address"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    had_ticket = ticket_mark()

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]
        indexes = [
            *owner_team_indexes("company"),
            models.Index(fields=["lifecycle", "customer_since"]),
            models.Index(fields=["churned_at"]),
            # The customers of a period (customers_active, customers_at_start) with their
            # owner and team, from the index alone: the customer KPIs' parts (engagement,
            # churn, spend per customer) read 99k index rows, not the 280k companies' table.
            models.Index(
                fields=["customer_since"],
                include=["churned_at", "owner", "team", "id"],
                condition=Q(customer_since__isnull=False),
                name="company_customers",
            ),
            # The companies list's default order (crm 0024).
            models.Index(fields=["name", "id"], name="company_by_name"),
            # A lead's conversion and duplicate warning match a company by name, any case.
            models.Index(Upper("name"), name="company_name_any_case"),
            # Who owns a company, read from the index alone: a rep's tickets are joined to
            # their customers (crm.access), one index probe per ticket.
            models.Index(fields=["id"], include=["owner", "team"], name="company_id_owner_team"),
            # The list sorted by these columns reads them in order and stops at a page, as the
            # deals list does (crm.models.deals): 174-196 ms for the admin on 280k companies.
            models.Index(fields=["industry", "id"], name="company_sort_industry"),
            # It carries what decides who reads a company, so a support agent's list, whose
            # rule also reaches their tickets' customers, reads its page's ids from the index
            # alone (crm.lists: ids first): 141k prospects, none with a ticket, come first.
            models.Index(
                fields=["lifecycle", "id"],
                include=["owner", "team", "had_ticket"],
                name="company_sort_lifecycle",
            ),
            models.Index(  # newest first, carrying the reader's rule likewise
                fields=["created_at", "id"],
                include=["owner", "team", "had_ticket"],
                name="company_newest",
            ),
            models.Index(fields=["size_band", "id"], name="company_sort_size"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(lifecycle=Lifecycle.CUSTOMER) | Q(customer_since__isnull=False),
                name="company_customer_has_customer_since",
                violation_error_message=_("A customer needs the date it became one."),
            ),
            models.CheckConstraint(
                condition=~Q(lifecycle=Lifecycle.CHURNED)
                | Q(churned_at__isnull=False, customer_since__isnull=False),
                name="company_churned_has_dates",
                violation_error_message=_("A churned company needs its customer and churn dates."),
            ),
            models.CheckConstraint(
                condition=Q(churned_at__isnull=True)
                | Q(customer_since__isnull=True)
                | Q(churned_at__gte=models.F("customer_since")),
                name="company_churn_after_becoming_customer",
                violation_error_message=_("A company cannot churn before it became a customer."),
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        # In clean too: an import's batch (records_create_many) is checked, then bulk-inserted
        # without save().
        self.domain = self.domain.strip().lower()

    def save(self, *args, **kwargs):
        self.domain = self.domain.strip().lower()
        super().save(*args, **kwargs)


class ContactStage(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    LEAD = "lead", _("Lead")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    EVANGELIST = "evangelist", _("Evangelist")
    OTHER = "other", _("Other")


class Contact(Timestamped, Owned, WithCustomFields):
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True, db_index=True)
    title = models.CharField(_("job title"), max_length=120, blank=True)
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contacts",
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=12, choices=ContactStage, default=ContactStage.LEAD
    )
    # The language of the emails and surveys sent to them; empty: the installation's default.
    language = models.CharField(
        _("language"), max_length=10, choices=language_choices, blank=True, default=""
    )
    had_ticket = ticket_mark()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name"]
        # The contacts list's default order (crm 0024).
        indexes = [
            *owner_team_indexes("contact"),
            models.Index(fields=["last_name", "id"], name="contact_by_last_name"),
            # A lead's conversion and duplicate warning match a contact by email, any case.
            models.Index(Upper("email"), name="contact_email_any_case"),
            # Who owns a contact and its company, read from the index alone: a rep's tickets
            # are joined to their customers (crm.access), and activities to their contact's
            # company (the engagement rate), one index probe per row.
            models.Index(
                fields=["id"], include=["owner", "team", "company"], name="contact_id_owner_team"
            ),
            # The list sorted by these columns reads them in order and stops at a page, as the
            # deals list does (crm.models.deals): 200-208 ms for the admin on 320k contacts.
            models.Index(fields=["title", "id"], name="contact_sort_title"),
            models.Index(  # carrying the reader's rule, as the companies' (crm.lists)
                fields=["lifecycle_stage", "id"],
                include=["owner", "team", "had_ticket"],
                name="contact_sort_lifecycle",
            ),
            models.Index(  # newest first, carrying the reader's rule likewise
                fields=["created_at", "id"],
                include=["owner", "team", "had_ticket"],
                name="contact_newest",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
