"""Every create and edit form, posted by the role that may use it, with hostile values in every
field: each post is a clean rejection (a 4xx or a form error, nothing written) or a save whose
pages still open, never a server error (issue 16, items 5 and 11).

Each field gets the values of its kind, one field at a time and the rest of the form valid (so
a value the form lets through reaches the service and the database): text gets 10,001
characters and right-to-left text with emoji, numbers 1e309, NaN, -0 and 10**30, dates the
calendar's ends, choices and record ids bad ids, `next` bad addresses. A NUL byte goes in every
field at once (one middleware refuses it for the whole request).
"""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django import forms
from django.test import Client
from django.urls import reverse

from crm import services
from crm.forms.activities import ActivityForm
from crm.models import (
    Activity,
    Company,
    Contact,
    Deal,
    Event,
    FieldType,
    Lead,
    RecordType,
    SurveyAnswer,
    SurveyKind,
    Task,
    Ticket,
    TicketMessage,
)
from crm.services.support import customer_link_token
from tests.browser_forms import as_a_browser_posts
from tests.crm.factories import CompanyFactory, ContactFactory, CustomFieldFactory, LeadFactory

pytestmark = pytest.mark.django_db

RTL = "\u202eمرحبا עולם 🎉👩‍👩‍👧"
TEXT = (("10,001 chars", "A" * 10_001), ("RTL and emoji", RTL))
NUMBER = (("1e309", "1e309"), ("NaN", "NaN"), ("-0", "-0"), ("10**30", str(10**30)))
DATE = (("0001-01-01", "0001-01-01"), ("9999-12-31", "9999-12-31"))
DATETIME = (("0001-01-01T00:00", "0001-01-01T00:00"), ("9999-12-31T23:59", "9999-12-31T23:59"))
IDS = (("abc", "abc"), ("-1", "-1"), ("10**20", str(10**20)))
BOOLEAN = (("NaN", "NaN"),)
NEXT = (("abc", "abc"), ("//evil", "//evil.example"), ("javascript:", "javascript:alert(1)"))
KINDS = (TEXT, NUMBER, DATE, DATETIME, IDS, BOOLEAN, NEXT)
# Rows a post may write; a rejection must leave every count as it was.
WRITTEN = (Deal, Lead, Contact, Company, Task, Ticket, TicketMessage, Activity, SurveyAnswer, Event)


def values_for(name: str, form_field: forms.Field) -> tuple:
    if name == "next":
        return NEXT
    widget = getattr(form_field.widget, "input_type", "")
    if isinstance(form_field, forms.BooleanField):
        return BOOLEAN
    if isinstance(form_field, forms.ChoiceField | forms.ModelChoiceField):
        return IDS
    if isinstance(form_field, forms.DateTimeField) or widget == "datetime-local":
        return DATETIME + DATE[:1]
    if isinstance(form_field, forms.DateField) or widget == "date":
        return DATE
    if isinstance(form_field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        return NUMBER
    if form_field.widget.attrs.get("inputmode") == "decimal":
        return NUMBER
    return TEXT


@dataclass
class FormRoute:
    """One form: where it is shown and posted, who posts it, the values that make it valid."""

    name: str
    role: str | None  # a persona fixture, None for a customer without an account
    page: str  # where the form is shown
    post: str = ""  # where it is posted (default: the page)
    action: str | None = None  # the form's action attribute on the page
    form_key: str = "form"  # the form in the page's context
    valid: dict = field(default_factory=dict)  # values a person would type on top of the page's
    fresh_post: object = None  # a callable giving a new address per post (one-use links)

    def url(self) -> str:
        return self.fresh_post() if self.fresh_post else (self.post or self.page)


class World:
    """The records the forms edit and the people who post them."""

    def __init__(self, request):
        for name in ("rep", "teammate", "sales_team", "agent", "manager"):
            setattr(self, name, request.getfixturevalue(name))
        for kind in FieldType.values:
            CustomFieldFactory(
                record_type=RecordType.DEAL,
                key=f"cf_{kind}",
                field_type=kind,
                choices=["A", "B"] if kind in (FieldType.SELECT, FieldType.MULTI_SELECT) else [],
            )
        team = {"owner": self.rep, "team": self.sales_team}
        self.company = CompanyFactory(**team)
        self.contact = ContactFactory(company=self.company, **team)
        self.lead = LeadFactory(**team)
        self.deal = services.deal_create(
            actor=self.rep, data={"name": "Acme", "company": self.company, "amount": 100}
        )
        self.task = services.task_create(actor=self.rep, data={"title": "Call"})
        self.ticket = services.ticket_create(
            actor=self.agent,
            data={"subject": "Help", "description": "Hi", "contact": self.contact},
        )

    def survey_url(self) -> str:
        invitation = services.survey_invite(kind=SurveyKind.NPS, contact=self.contact)
        return reverse("survey", args=[invitation.token])

    def routes(self) -> list[FormRoute]:
        deal_url = reverse("deal-detail", args=[self.deal.pk])
        task_url = reverse("task-detail", args=[self.task.pk])
        ticket_url = reverse("ticket-detail", args=[self.ticket.pk])
        activity_url = reverse("activity-log", args=["deal", self.deal.pk])
        return [
            FormRoute(
                "deal-create",
                "rep",
                reverse("deal-create"),
                valid={"name": "New deal", "amount": "10", "exchange_rate": "1"},
            ),
            FormRoute("deal-edit", "rep", reverse("deal-edit", args=[self.deal.pk])),
            FormRoute("lead-create", "rep", reverse("lead-create"), valid={"name": "New lead"}),
            FormRoute("lead-edit", "rep", reverse("lead-edit", args=[self.lead.pk])),
            FormRoute(
                "contact-create",
                "rep",
                reverse("contact-create"),
                valid={"first_name": "Ada", "last_name": "Lovelace"},
            ),
            FormRoute("contact-edit", "rep", reverse("contact-edit", args=[self.contact.pk])),
            FormRoute(
                "company-create", "rep", reverse("company-create"), valid={"name": "New company"}
            ),
            FormRoute("company-edit", "rep", reverse("company-edit", args=[self.company.pk])),
            FormRoute(
                "task-new",
                "rep",
                reverse("task-new") + f"?deal={self.deal.pk}&next=/deals/",
                post=reverse("task-new"),
                action=reverse("task-new") + f"?deal={self.deal.pk}&next=/deals/",
                valid={"title": "Send quote"},
            ),
            FormRoute("task-edit", "rep", task_url, action=task_url),
            FormRoute(
                "activity-log",
                "rep",
                deal_url,
                post=activity_url,
                action=activity_url,
                form_key="activity_form",
                valid={"subject": "Intro call", "next": deal_url},
            ),
            FormRoute(
                "ticket-create",
                "agent",
                reverse("ticket-create"),
                valid={
                    "email": "customer@example.com",
                    "name": "Ada Customer",
                    "subject": "Locked out",
                    "message": "Please help",
                },
            ),
            FormRoute(
                "ticket-reply",
                "agent",
                ticket_url,
                post=reverse("ticket-reply", args=[self.ticket.pk]),
                action=reverse("ticket-reply", args=[self.ticket.pk]),
                form_key="reply_form",
                valid={"body": "On it"},
            ),
            FormRoute(
                "support-contact",
                None,
                reverse("support-contact"),
                valid={
                    "name": "Ada Customer",
                    "email": "ada@example.com",
                    "subject": "Invoice",
                    "message": "Where is it?",
                },
            ),
            FormRoute(
                "customer-reply",
                None,
                reverse("support-ticket", args=[customer_link_token(self.ticket)]),
                valid={"body": "Thanks"},
            ),
            FormRoute(
                "survey-answer",
                None,
                self.survey_url(),
                valid={"score": "9", "comment": "Good"},
                fresh_post=self.survey_url,
            ),
        ]


ROUTE_NAMES = [
    "deal-create",
    "deal-edit",
    "lead-create",
    "lead-edit",
    "contact-create",
    "contact-edit",
    "company-create",
    "company-edit",
    "task-new",
    "task-edit",
    "activity-log",
    "ticket-create",
    "ticket-reply",
    "support-contact",
    "customer-reply",
    "survey-answer",
]


# The pages that list what a route saves, besides the record's own page.
SHOWN_ON = {"deal": ("home", "deals", "deal-board"), "task": ("home", "tasks")}


def written() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in WRITTEN)


def form_errors(response, form_key: str) -> set[str]:
    """The fields a bound form on the answered page refused ("__all__" for the whole form)."""
    context = response.context
    if context is None:
        return set()
    for key in (form_key, "form", "activity_form", "reply_form"):
        form = context.get(key)
        if isinstance(form, forms.BaseForm) and form.is_bound and form.errors:
            return set(form.errors)
    return set()


class Poster:
    """Posts a route's form with hostile values and counts what comes back."""

    def __init__(self, client: Client, route: FormRoute, figures):
        self.client, self.route, self.figures = client, route, figures

    def base(self) -> tuple[dict, dict[str, forms.Field]]:
        page = self.client.get(self.route.page)
        assert page.status_code == 200, (self.route.name, page.status_code)
        data = as_a_browser_posts(page.content.decode(), self.route.action)
        form = page.context.get(self.route.form_key) if page.context else None
        fields = dict(form.fields) if form is not None else dict(ActivityForm().fields)
        data.update({name: [value] for name, value in self.route.valid.items()})
        fields.setdefault("next", forms.CharField())
        return data, fields

    def send(self, data: dict, label: str) -> tuple[str, set[str]]:
        """One hostile post, counted. Returns the outcome ("rejected", "saved" or "error") and
        the fields the form refused."""
        self.figures.tried("bad_inputs")
        url = self.route.url()
        before = written()
        response = self.client.post(url, data)
        where = f"{self.route.name}: {label}"
        if response.status_code >= 500:
            return "error", set()
        refused = form_errors(response, self.route.form_key)
        if 400 <= response.status_code < 500 or refused:
            assert written() == before, f"{where} was refused but wrote rows"
            self.figures.add("clean_rejections")
            return "rejected", refused
        if response.status_code in (301, 302, 303):
            location = response["Location"]
            assert location.startswith("/") and not location.startswith("//"), where
            follow = self.client.get(location)
            if follow.status_code >= 500:
                self.figures.add("server_errors", f"{where} → {urlsplit(location).path} 500")
        return "saved", set()

    def probe(self, base: dict, hostile: dict[str, tuple[str, str]]) -> None:
        """Every field of `hostile` at once; the values the form lets through are posted again
        on their own (so they reach the service), and a server error is split down to the
        field that causes it."""
        for _attempt in range(3):
            if not hostile:
                return
            outcome, refused = self.send(self.with_values(base, hostile), self.label(hostile))
            if outcome == "error":
                self.split(base, hostile)
                return
            if outcome == "saved" or not refused & set(hostile):
                return
            hostile = {name: value for name, value in hostile.items() if name not in refused}

    def split(self, base: dict, hostile: dict[str, tuple[str, str]]) -> None:
        if len(hostile) == 1:
            self.figures.add("server_errors", f"{self.route.name}: {self.label(hostile)} → 500")
            return
        names = sorted(hostile)
        for half in (names[: len(names) // 2], names[len(names) // 2 :]):
            part = {name: hostile[name] for name in half}
            if self.send(self.with_values(base, part), self.label(part))[0] == "error":
                self.split(base, part)

    @staticmethod
    def with_values(base: dict, hostile: dict[str, tuple[str, str]]) -> dict:
        return {**base, **{name: [value] for name, (_label, value) in hostile.items()}}

    @staticmethod
    def label(hostile: dict[str, tuple[str, str]]) -> str:
        return ", ".join(f"{name}={label}" for name, (label, _value) in sorted(hostile.items()))


@pytest.fixture
def world(request, settings):
    settings.CRM_PUBLIC_FORM_RATE = "100000/m"
    return World(request)


@pytest.mark.parametrize("name", ROUTE_NAMES)
def test_hostile_values_in_every_field_are_refused_cleanly(world, figures, name):
    route = next(r for r in world.routes() if r.name == name)
    client = Client(raise_request_exception=False)
    if route.role:
        client.force_login(getattr(world, route.role))
    poster = Poster(client, route, figures)
    base, fields = poster.base()

    # The form as a person fills it in is accepted (so each hostile value below is the only
    # thing wrong with its post).
    response = client.post(route.url(), base)
    assert response.status_code in (200, 302) and not form_errors(response, route.form_key), (
        name,
        response.status_code,
        response.context
        and route.form_key in response.context
        and response.context[route.form_key].errors,
    )

    poster.send({key: ["\x00"] for key in base}, "NUL in every field")
    # Round r gives each field the r-th value of its kind, so every value meets every field.
    for round_ in range(max(len(values) for values in KINDS)):
        hostile = {}
        for field_name, form_field in fields.items():
            values = values_for(field_name, form_field)
            hostile[field_name] = values[round_ % len(values)]
        poster.probe(base, hostile)

    # Whatever was saved, the pages that list it still open (its own page was followed).
    for url in SHOWN_ON.get(name.partition("-")[0], ()):
        page = client.get(reverse(url))
        if page.status_code >= 500:
            figures.add("server_errors", f"{name}: {url} → {page.status_code}")
