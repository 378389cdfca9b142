"""A `next` sent with a form is followed only when it is a page of this site. Anything else
(a bare word such as `abc`, another site, a script URL, a page that does not exist, a header
break, a huge value) is replaced by the form's own page before the change is written: the
change happens once and the answer is a redirect, never a server error after the commit
(issue 16, item 5: `POST /deals/bulk/ … next=abc` moved the deal and answered 500)."""

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.urls import resolve, reverse

from automations.models import Rule
from crm import services
from crm.models import Activity, DealStageChange, Event, Notification, Task
from tests.automations.factories import make_rule
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    TaskFactory,
    stage_named,
)

pytestmark = pytest.mark.django_db

BAD_NEXT = [
    "abc",
    "deal-detail",
    "//evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/\\evil.example",
    "/no-such-page/",
    "/deals/\r\nSet-Cookie: a=b",
    "/deals/?q=" + "x" * 10_000,
]
BAD_IDS = [
    "abc",
    "deal-detail",
    "slashes",
    "https",
    "javascript",
    "backslash",
    "404",
    "crlf",
    "10k",
]


def assert_same_site(response) -> str:
    assert response.status_code == 302, response.status_code
    location = response["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert "evil" not in location and "\n" not in location
    resolve(urlsplit(location).path)  # a page of this site
    return location


@dataclass
class Case:
    user: object
    url: str
    data: dict
    writes: Callable[[], int]  # how many times the post's change was made
    back: str  # where a bad `next` sends the user instead


def deal_bulk_move(p) -> Case:
    deal = DealFactory(owner=p.rep, team=p.sales_team)
    proposal = stage_named("Proposal")
    return Case(
        p.rep,
        reverse("deal-bulk"),
        {"ids": [deal.pk], "action": "move_stage", "stage": proposal.pk},
        lambda: DealStageChange.objects.filter(deal=deal, to_stage=proposal).count(),
        reverse("deals"),
    )


def lead_bulk_assign(p) -> Case:
    lead = LeadFactory(owner=p.rep, team=p.sales_team)
    return Case(
        p.rep,
        reverse("lead-bulk"),
        {"ids": [lead.pk], "action": "assign_owner", "owner": p.teammate.pk},
        lambda: Event.objects.filter(type="lead.updated", record_id=lead.pk).count(),
        reverse("leads"),
    )


def contact_bulk_assign(p) -> Case:
    contact = ContactFactory(owner=p.rep, team=p.sales_team)
    return Case(
        p.rep,
        reverse("contact-bulk"),
        {"ids": [contact.pk], "action": "assign_owner", "owner": p.teammate.pk},
        lambda: Event.objects.filter(type="contact.updated", record_id=contact.pk).count(),
        reverse("contacts"),
    )


def company_bulk_assign(p) -> Case:
    company = CompanyFactory(owner=p.rep, team=p.sales_team)
    return Case(
        p.rep,
        reverse("company-bulk"),
        {"ids": [company.pk], "action": "assign_owner", "owner": p.teammate.pk},
        lambda: Event.objects.filter(type="company.updated", record_id=company.pk).count(),
        reverse("companies"),
    )


def ticket_bulk_status(p) -> Case:
    ticket = services.ticket_create(
        actor=None, data={"subject": "Locked out", "contact": ContactFactory()}
    )
    return Case(
        p.agent,
        reverse("ticket-bulk"),
        {"ids": [ticket.pk], "action": "status", "status": "pending"},
        lambda: (
            Event.objects.filter(record_type="ticket", record_id=ticket.pk)
            .exclude(type="ticket.created")
            .count()
        ),
        reverse("tickets"),
    )


def task_complete(p) -> Case:
    task = TaskFactory(assignee=p.rep)
    return Case(
        p.rep,
        reverse("task-complete", args=[task.pk]),
        {},
        lambda: Event.objects.filter(type="task.completed", record_id=task.pk).count(),
        reverse("home"),
    )


def columns(list_name: str, url_name: str):
    def case(p) -> Case:
        p.rep.preferences = {}
        p.rep.save(update_fields=["preferences"])

        def saved() -> int:
            p.rep.refresh_from_db()
            return int((p.rep.preferences or {}).get("columns", {}).get(list_name) == ["name"])

        return Case(p.rep, reverse(url_name), {"columns": ["name"]}, saved, reverse(list_name))

    case.__name__ = f"{list_name}_columns"
    return case


def task_new(p) -> Case:
    title = f"Call back {Task.objects.count()}"
    return Case(
        p.rep,
        reverse("task-new"),
        {"title": title, "priority": "normal", "assignee": p.rep.pk},
        lambda: Task.objects.filter(title=title).count(),
        "/tasks/",  # the new task's page: checked by prefix
    )


def activity_log(p) -> Case:
    deal = DealFactory(owner=p.rep, team=p.sales_team)
    return Case(
        p.rep,
        reverse("activity-log", args=["deal", deal.pk]),
        {"kind": "call", "direction": "outbound", "subject": "Intro"},
        lambda: Activity.objects.filter(deal=deal).count(),
        reverse("deal-detail", args=[deal.pk]),
    )


def record_task_add(p) -> Case:
    deal = DealFactory(owner=p.rep, team=p.sales_team)
    return Case(
        p.rep,
        reverse("record-task-add", args=["deal", deal.pk]),
        {"title": "Send quote"},
        lambda: Task.objects.filter(deal=deal, title="Send quote").count(),
        reverse("deal-detail", args=[deal.pk]),
    )


def board_move(p) -> Case:
    deal = DealFactory(owner=p.rep, team=p.sales_team)
    proposal = stage_named("Proposal")
    return Case(
        p.rep,
        reverse("deal-move", args=[deal.pk]),
        {"stage": proposal.pk},
        lambda: DealStageChange.objects.filter(deal=deal, to_stage=proposal).count(),
        reverse("deal-detail", args=[deal.pk]),
    )


def rule_toggle(p) -> Case:
    rule = make_rule(
        name="Won",
        trigger={"type": "field.changed", "record_type": "deal", "field": "status", "to": "won"},
        actions=[{"type": "set_lifecycle", "lifecycle": "customer"}],
    )
    return Case(
        p.admin_user,
        reverse("automation-rule-toggle", args=[rule.pk]),
        {"enabled": "false"},
        lambda: Rule.objects.filter(pk=rule.pk, enabled=False).count(),
        reverse("automation-rule", args=[rule.pk]),
    )


def notifications_read_all(p) -> Case:
    Notification.objects.filter(recipient=p.rep).delete()
    Notification.objects.create(recipient=p.rep, title="Hello")
    return Case(
        p.rep,
        reverse("notifications-read-all"),
        {},
        lambda: Notification.objects.filter(recipient=p.rep, read_at__isnull=False).count(),
        reverse("notifications"),
    )


CASES = [
    deal_bulk_move,
    lead_bulk_assign,
    contact_bulk_assign,
    company_bulk_assign,
    ticket_bulk_status,
    task_complete,
    columns("deals", "deal-columns"),
    columns("leads", "lead-columns"),
    columns("contacts", "contact-columns"),
    columns("companies", "company-columns"),
    task_new,
    activity_log,
    record_task_add,
    board_move,
    rule_toggle,
    notifications_read_all,
]


class Personas:
    def __init__(self, request):
        for name in ("rep", "teammate", "sales_team", "agent", "admin_user"):
            setattr(self, name, request.getfixturevalue(name))


@pytest.fixture
def personas(request):
    return Personas(request)


@pytest.mark.parametrize("make", CASES, ids=lambda make: make.__name__)
def test_a_good_next_is_followed(client, personas, make):
    case = make(personas)
    client.force_login(case.user)
    response = client.post(case.url, {**case.data, "next": "/deals/?status=open"})
    if make in (board_move,):  # the board's answer is its deal page, whatever was sent
        assert assert_same_site(response) == case.back
    else:
        assert assert_same_site(response) == "/deals/?status=open"
    assert case.writes() == 1


@pytest.mark.parametrize("make", CASES, ids=lambda make: make.__name__)
def test_a_bad_next_is_replaced_before_the_change_which_happens_once(client, personas, make):
    for bad in BAD_NEXT:
        case = make(personas)  # a fresh record for each value
        client.force_login(case.user)

        response = client.post(case.url, {**case.data, "next": bad})

        location = assert_same_site(response)
        assert location.startswith(case.back), bad[:40]
        assert case.writes() == 1, bad[:40]


def test_a_nul_byte_in_next_is_refused_before_anything_is_written(client, personas):
    case = deal_bulk_move(personas)
    client.force_login(case.user)
    response = client.post(case.url, {**case.data, "next": "/deals/\x00"})
    assert response.status_code == 400
    assert case.writes() == 0


def test_the_new_task_page_never_carries_a_bad_next(client, rep):
    client.force_login(rep)
    for bad in BAD_NEXT:
        response = client.get(reverse("task-new"), {"next": bad})
        assert response.status_code == 200
        assert response.context["next"] == ""


def test_a_notification_with_a_bad_link_opens_the_notifications(client, rep):
    notification = Notification.objects.create(recipient=rep, title="Hello", url="abc")
    client.force_login(rep)
    response = client.post(reverse("notification-open", args=[notification.pk]))
    assert assert_same_site(response) == reverse("notifications")
    notification.refresh_from_db()
    assert notification.read_at is not None
