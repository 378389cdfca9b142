"""Forms of the ticket queue and the ticket page (agents' side)."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm import access
from crm.forms.public import Bootstrapped
from crm.limits import MESSAGE_MAX_LENGTH
from crm.models import (
    Company,
    Role,
    TicketChannel,
    TicketPriority,
    TicketStatus,
    User,
)

MAX_MESSAGE_LENGTH = MESSAGE_MAX_LENGTH


class QueueView:
    ALL = "all"
    UNASSIGNED = "unassigned"
    MINE = "mine"
    TEAM = "team"
    BREACHING = "breaching"
    PENDING = "pending"

    CHOICES = [
        (ALL, _("All open")),
        (UNASSIGNED, _("Unassigned")),
        (MINE, _("Mine")),
        (TEAM, _("My team's")),
        (BREACHING, _("Breaching or about to")),
        (PENDING, _("Pending customer")),
    ]


SORTS = [
    ("sla", _("SLA due first")),
    ("newest", _("Newest first")),
    ("oldest", _("Oldest first")),
    ("priority", _("Priority")),
]
NO_ASSIGNEE = "none"


def assignable_users(user):
    """Whom the user may give a ticket to: anyone for admins and managers, else teammates."""
    if access.is_admin(user) or access.is_manager(user):
        roles = [Role.SUPPORT_AGENT, Role.MANAGER, Role.ADMIN]
        return (
            User.objects.filter(Q(groups__name__in=roles) | Q(is_superuser=True))
            .filter(is_active=True)
            .distinct()
        )
    return access.teammates(user).filter(is_active=True)


ANY = _("Any")


def _blank(choices, label=ANY):
    return [("", label), *choices]


class TicketFilterForm(Bootstrapped, forms.Form):
    view = forms.ChoiceField(label=_("View"), choices=QueueView.CHOICES, required=False)
    status = forms.ChoiceField(
        label=_("Status"), choices=_blank(TicketStatus.choices), required=False
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=_blank(TicketPriority.choices), required=False
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=_blank(TicketChannel.choices), required=False
    )
    company = forms.ModelChoiceField(
        label=_("Company"), queryset=Company.objects.none(), required=False
    )
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    sort = forms.ChoiceField(label=_("Sort"), choices=SORTS, required=False)

    def __init__(self, *args, user, tickets, **kwargs):
        super().__init__(*args, **kwargs)
        # Only companies that have a ticket the user can see: the list stays short.
        self.fields["company"].queryset = Company.objects.filter(
            pk__in=tickets.exclude(company=None).values("company_id")
        ).only("pk", "name")
        self.assignees = list(
            assignable_users(user).only("pk", "first_name", "last_name", "username")
        )
        self.fields["assignee"].choices = _blank(
            [(NO_ASSIGNEE, _("Nobody")), *[(str(u.pk), str(u)) for u in self.assignees]]
        )


class ReplyForm(Bootstrapped, forms.Form):
    STATUS_CHOICES = [
        ("", _("Keep status")),
        (TicketStatus.OPEN, _("Open")),
        (TicketStatus.PENDING, _("Pending customer")),
        (TicketStatus.RESOLVED, _("Resolved")),
    ]

    body = forms.CharField(
        label=_("Message"),
        max_length=MAX_MESSAGE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5, "data-reply-body": ""}),
    )
    internal = forms.BooleanField(
        label=_("Internal note (not sent to the customer)"), required=False
    )
    status = forms.ChoiceField(label=_("and set status"), choices=STATUS_CHOICES, required=False)

    def clean(self):
        cleaned = super().clean()
        body = cleaned.get("body") or ""
        if "body" in cleaned and not body.strip():
            self.add_error("body", _("Write a message."))
        return cleaned


class TicketHandlingForm(Bootstrapped, forms.Form):
    """Assignment and priority from the ticket page."""

    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False, empty_label=_("Nobody")
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=TicketPriority.choices)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_users(user)


class BulkForm(forms.Form):
    ACTIONS = [("assign", _("Assign")), ("status", _("Set status"))]
    STATUSES = [
        (TicketStatus.OPEN, _("Open")),
        (TicketStatus.PENDING, _("Pending customer")),
        (TicketStatus.RESOLVED, _("Resolved")),
    ]

    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=True)
    action = forms.ChoiceField(choices=ACTIONS)
    assignee = forms.ChoiceField(required=False)
    status = forms.ChoiceField(choices=_blank(STATUSES, label="---------"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.assignees = {u.pk: u for u in assignable_users(user)}
        self.fields["assignee"].choices = [
            ("", "---------"),
            (NO_ASSIGNEE, _("Nobody")),
            *[(str(pk), str(u)) for pk, u in self.assignees.items()],
        ]
        # Any whole number is accepted here; visibility is checked by the view.
        self.fields["ids"].valid_value = lambda value: str(value).isdigit() and len(str(value)) < 19

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action")
        if action == "assign" and not cleaned.get("assignee"):
            self.add_error("assignee", _("Choose whom to assign the tickets to."))
        if action == "status" and not cleaned.get("status"):
            self.add_error("status", _("Choose a status."))
        return cleaned

    def chosen_assignee(self):
        value = self.cleaned_data.get("assignee")
        return None if value == NO_ASSIGNEE else self.assignees.get(int(value))


class TicketCreateForm(Bootstrapped, forms.Form):
    """An agent logs a ticket received by phone, chat or email, for a customer's address."""

    email = forms.EmailField(label=_("Customer email"), max_length=254)
    name = forms.CharField(label=_("Customer name"), max_length=200)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    message = forms.CharField(
        label=_("What the customer asked"),
        max_length=MAX_MESSAGE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=TicketChannel.choices, initial=TicketChannel.PHONE
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=TicketPriority.choices, initial=TicketPriority.NORMAL
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False, empty_label=_("Nobody")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_users(user)


class NPSSendForm(Bootstrapped, forms.Form):
    """Ask a company's contacts for their NPS."""

    company = forms.ModelChoiceField(label=_("Company"), queryset=Company.objects.none())

    def __init__(self, *args, companies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = companies
