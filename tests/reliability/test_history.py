"""Every way a record changes leaves history: an event row for the record (its type, the changed
fields with old and new values, the actor), and a stage change row for a deal moved.

Each write goes through the public surface as a person does it (the edit forms posted as a
browser posts them, the board's drag, the lists' bulk actions, the admin's change form, the
one-click actions); a write that left no history counts as a history gap.
"""

from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from django.db.models import Max
from django.test import Client
from django.urls import reverse

from crm.models import Deal, DealStageChange, Event, Role, TicketStatus
from crm.services.support import customer_link_token
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    LeadFactory,
    TaskFactory,
    TicketFactory,
    stage_named,
)
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


class PostForm(HTMLParser):
    """The fields a browser posts from the page's post form with this action (or id)."""

    def __init__(self, *, action: str | None = None, form_id: str | None = None):
        super().__init__(convert_charrefs=True)
        self.action, self.form_id = action, form_id
        self.data: dict[str, list[str]] = {}
        self.inside = self.found = False
        self.select = self.textarea = None
        self.text: list[str] = []

    def _add(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and not self.found:
            self.inside = (attrs.get("method") or "").lower() == "post" and (
                attrs.get("id") == self.form_id
                if self.form_id
                else (attrs.get("action") or None) == self.action
            )
            self.found = self.inside
            return
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and "disabled" not in attrs:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self._add(name, attrs.get("value", "on"))
            elif kind not in ("submit", "button", "reset", "file", "image"):
                self._add(name, attrs.get("value", ""))
        elif tag == "select" and name:
            self.select = name
        elif tag == "option" and self.select and "selected" in attrs:
            self._add(self.select, attrs.get("value", ""))
        elif tag == "textarea" and name:
            self.textarea, self.text = name, []

    def handle_data(self, data):
        if self.textarea:
            self.text.append(data)

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea:
            self._add(self.textarea, "".join(self.text).removeprefix("\n"))
            self.textarea = None


def form_on(client: Client, page: str, *, action=None, form_id=None) -> dict[str, list[str]]:
    response = client.get(page)
    assert response.status_code == 200, page
    parser = PostForm(action=action, form_id=form_id)
    parser.feed(response.content.decode())
    assert parser.found, f"no post form {action or form_id} on {page}"
    return parser.data


@dataclass
class World:
    rep: object
    teammate: object
    agent: object
    admin: object
    team: object

    def client(self, user) -> Client:
        client = Client()
        client.force_login(user)
        return client


@pytest.fixture
def world(db):
    rep = UserFactory(username="ana", role=Role.SALES_REP)
    teammate = UserFactory(username="marco", role=Role.SALES_REP)
    agent = UserFactory(username="bruno", role=Role.SUPPORT_AGENT)
    admin = UserFactory(username="diego", role=Role.ADMIN, is_staff=True, is_superuser=True)
    team = TeamFactory(name="Sales", members=[rep, teammate])
    return World(rep=rep, teammate=teammate, agent=agent, admin=admin, team=team)


# Each write path: it makes a record, changes it through the public surface and returns
# [(record, what the history must say)], where "what" is a changed field or an event type.


def edit(url_name: str, field: str, value: str, factory):
    def write(world):
        record = factory(owner=world.rep, team=world.team)
        client = world.client(world.rep)
        url = reverse(url_name, args=[record.pk])
        data = form_on(client, url, action=None)
        data[field] = [value]
        response = client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:2000]
        return world.rep, [(record, field)]

    return write


def task_edit(world):
    task = TaskFactory(assignee=world.rep, created_by=world.rep)
    client = world.client(world.rep)
    url = reverse("task-detail", args=[task.pk])
    data = form_on(client, url, action=url)
    data["title"] = ["Call back on Monday"]
    assert client.post(url, data).status_code == 302
    return world.rep, [(task, "title")]


def ticket_handling(world):
    ticket = TicketFactory(assignee=world.agent)
    client = world.client(world.agent)
    action = reverse("ticket-handling", args=[ticket.pk])
    data = form_on(client, reverse("ticket-detail", args=[ticket.pk]), action=action)
    data["priority"] = ["urgent"] if data.get("priority") != ["urgent"] else ["low"]
    assert client.post(action, data).status_code == 302
    return world.agent, [(ticket, "priority")]


def board_move(world):
    deal = DealFactory(owner=world.rep, team=world.team)
    client = world.client(world.rep)
    stage = stage_named("Qualification")
    response = client.post(
        reverse("deal-move", args=[deal.pk]),
        {"stage": stage.pk, "index": 0},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code < 400
    return world.rep, [(deal, "deal.stage_changed")]


def bulk_deals(action: str, field: str):
    def write(world):
        deals = [DealFactory(owner=world.rep, team=world.team) for _ in range(2)]
        client = world.client(world.rep)
        data = {"ids": [deal.pk for deal in deals], "action": action}
        if field == "owner":
            data["owner"] = world.teammate.pk
        else:
            data["stage"] = stage_named("Qualification").pk
        assert client.post(reverse("deal-bulk"), data).status_code == 302
        return world.rep, [(deal, field) for deal in deals]

    return write


def bulk_owner(url_name: str, factory):
    def write(world):
        records = [factory(owner=world.rep, team=world.team) for _ in range(2)]
        client = world.client(world.rep)
        data = {
            "ids": [r.pk for r in records],
            "action": "assign_owner",
            "owner": world.teammate.pk,
        }
        assert client.post(reverse(url_name), data).status_code == 302
        return world.rep, [(record, "owner") for record in records]

    return write


def bulk_tickets(world):
    tickets = [TicketFactory(assignee=world.agent) for _ in range(2)]
    client = world.client(world.agent)
    data = {"ids": [t.pk for t in tickets], "action": "status", "status": TicketStatus.PENDING}
    assert client.post(reverse("ticket-bulk"), data).status_code == 302
    return world.agent, [(ticket, "status") for ticket in tickets]


def admin_change(world):
    deal = DealFactory(owner=world.rep, team=world.team)
    client = world.client(world.admin)
    url = reverse("admin:crm_deal_change", args=[deal.pk])
    data = form_on(client, url, form_id="deal_form")
    data["name"] = ["Renamed in the admin"]
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return world.admin, [(deal, "name")]


def one_click(url_name: str, make, expected: str, *, as_agent=False, data=None):
    def write(world):
        user = world.agent if as_agent else world.rep
        record = make(world)
        client = world.client(user)
        response = client.post(reverse(url_name, args=[record.pk]), data or {})
        assert response.status_code in (200, 302), response.status_code
        return user, [(record, expected)]

    return write


def my_task(world):
    return TaskFactory(assignee=world.rep, created_by=world.rep)


def my_lead(world):
    return LeadFactory(owner=world.rep, team=world.team)


def my_ticket(world):
    return TicketFactory(assignee=world.agent)


def done_task(world):
    task = my_task(world)
    world.client(world.rep).post(reverse("task-complete", args=[task.pk]))
    return task


def resolved_ticket(world):
    ticket = my_ticket(world)
    world.client(world.agent).post(reverse("ticket-resolve", args=[ticket.pk]))
    return ticket


def lead_convert(world):
    lead = LeadFactory(owner=world.rep, team=world.team, company_name="LeeCo")
    client = world.client(world.rep)
    url = reverse("lead-convert", args=[lead.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"create_deal": "on", "deal_name": "LeeCo pilot"})
    assert response.status_code == 302
    return world.rep, [(lead, "lead.converted")]


def activity(world):
    deal = DealFactory(owner=world.rep, team=world.team)
    client = world.client(world.rep)
    url = reverse("activity-log", args=["deal", deal.pk])
    response = client.post(url, {"kind": "call", "subject": "Intro call", "direction": "outbound"})
    assert response.status_code in (200, 302)
    return world.rep, [(deal.activities.get(), "activity.logged")]


def deal_custom_field(world):
    CustomFieldFactory(record_type="deal", key="cf_budget", label="Budget", field_type="number")
    write = edit("deal-edit", "custom__cf_budget", "12000", DealFactory)
    user, [(deal, _field)] = write(world)
    return user, [(deal, "custom")]


def deal_create(world):
    company = CompanyFactory(owner=world.rep, team=world.team)
    client = world.client(world.rep)
    url = reverse("deal-create")
    data = form_on(client, url, action=None)
    data.update(name=["Acme pilot"], company=[str(company.pk)], amount=["2500"])
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return world.rep, [(Deal.objects.get(name="Acme pilot"), "deal.created")]


def customer_reply(world):
    ticket = TicketFactory(assignee=world.agent)
    url = reverse("support-ticket", args=[customer_link_token(ticket)])
    assert Client().post(url, {"body": "Any news?"}).status_code == 302
    return None, [(ticket, "ticket.customer_replied")]


PATHS = {
    "deal edit form": edit("deal-edit", "name", "Acme renewal 2", DealFactory),
    "lead edit form": edit("lead-edit", "name", "Ann Lee-Smith", LeadFactory),
    "contact edit form": edit("contact-edit", "last_name", "Okafor", ContactFactory),
    "company edit form": edit("company-edit", "name", "Acme Holdings", CompanyFactory),
    "task edit form": task_edit,
    "ticket handling form": ticket_handling,
    "board move": board_move,
    "deals bulk owner": bulk_deals("assign_owner", "owner"),
    "deals bulk stage": bulk_deals("move_stage", "stage"),
    "leads bulk owner": bulk_owner("lead-bulk", LeadFactory),
    "contacts bulk owner": bulk_owner("contact-bulk", ContactFactory),
    "companies bulk owner": bulk_owner("company-bulk", CompanyFactory),
    "tickets bulk status": bulk_tickets,
    "admin deal change": admin_change,
    "task complete": one_click("task-complete", my_task, "task.completed"),
    "task reopen": one_click("task-reopen", done_task, "task.reopened"),
    "task reassign": lambda world: one_click(
        "task-reassign", my_task, "assignee", data={"assignee": world.teammate.pk}
    )(world),
    "lead qualify": one_click("lead-qualify", my_lead, "status"),
    "lead disqualify": one_click("lead-disqualify", my_lead, "status", data={"reason": "Budget"}),
    "lead convert": lead_convert,
    "ticket reply": one_click(
        "ticket-reply", my_ticket, "ticket.replied", as_agent=True, data={"body": "On it."}
    ),
    "ticket resolve": one_click("ticket-resolve", my_ticket, "ticket.resolved", as_agent=True),
    "ticket reopen": one_click("ticket-reopen", resolved_ticket, "ticket.reopened", as_agent=True),
    "activity logged": activity,
    "deal custom field edit": deal_custom_field,
    "deal create form": deal_create,
    "customer reply": customer_reply,
}


def history_says(record, what: str, actor, since: int) -> bool:
    events = Event.objects.filter(
        record_type=record._meta.model_name, record_id=record.pk, id__gt=since, actor=actor
    )
    return any(event.type == what or what in (event.changes or {}) for event in events)


@pytest.mark.parametrize("name", list(PATHS))
def test_every_write_path_leaves_history(world, figures, name):
    since = Event.objects.aggregate(last=Max("id"))["last"] or 0
    stage_changes = DealStageChange.objects.count()
    actor, expectations = PATHS[name](world)
    for record, what in expectations:
        if not history_says(record, what, actor, since):
            figures.add("history_gaps", f"{name}: no event for {record!r} saying {what}")
    if name in ("board move", "deals bulk stage") and (
        DealStageChange.objects.count() - stage_changes < len(expectations)
    ):
        figures.add("history_gaps", f"{name}: no stage change row")
