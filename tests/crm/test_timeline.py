"""A record's timeline and panels: what shows, in which order, at what query cost."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import Activity, ActivityKind
from crm.timeline import PAGE_SIZE, record_panels
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    TaskFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db


def panels_for(user, record):
    request = RequestFactory().get("/somewhere/")
    request.user = user
    request.htmx = False
    return record_panels(request, record)


def log(record_field, record, *, ago, subject="", kind=ActivityKind.CALL, actor=None):
    return services.activity_log(
        actor=actor,
        kind=kind,
        subject=subject,
        occurred_at=timezone.now() - ago,
        **{record_field: record},
    )


def test_deal_timeline_merges_everything_newest_first(rep, sales_team):
    ten_days_ago = timezone.now() - timedelta(days=10)
    deal = DealFactory(
        owner=rep, team=sales_team, created_at=ten_days_ago, stage_entered_at=ten_days_ago
    )
    log("deal", deal, ago=timedelta(days=5), subject="First call", actor=rep)
    task = TaskFactory(deal=deal, assignee=rep, created_at=timezone.now() - timedelta(days=4))
    second = deal.pipeline.stages.filter(outcome="open").order_by("order")[1]
    services.deal_move_stage(
        deal=deal, stage=second, actor=rep, at=timezone.now() - timedelta(days=3)
    )
    log("deal", deal, ago=timedelta(days=2), subject="Demo", kind=ActivityKind.MEETING, actor=rep)
    services.task_complete(task=task, actor=rep)

    timeline = panels_for(rep, deal)["timeline"]

    kinds = [entry.kind for entry in timeline]
    assert kinds == ["task_completed", "activity", "stage_change", "task_created", "activity"]
    times = [entry.at for entry in timeline]
    assert times == sorted(times, reverse=True)
    assert timeline[1].obj.subject == "Demo"
    assert timeline[2].obj.to_stage == second


def test_timeline_renders_entries(client, rep, sales_team):
    lead = LeadFactory(owner=rep, team=sales_team)
    log("lead", lead, ago=timedelta(minutes=5), subject="Intro call", actor=rep)
    TaskFactory(lead=lead, title="Send deck", assignee=rep)
    client.force_login(rep)
    response = client.get(reverse("timeline", args=["lead", lead.pk]))
    body = response.content.decode()
    assert "Intro call" in body and "Send deck" in body
    assert body.index("Send deck") < body.index("Intro call")


def test_company_gathers_contacts_deals_and_tickets_of_its_team(
    rep, sales_team, outsider, other_team
):
    company = CompanyFactory(owner=rep, team=sales_team)
    contact = ContactFactory(company=company, owner=rep, team=sales_team)
    deal = DealFactory(company=company, owner=rep, team=sales_team)
    hidden_deal = DealFactory(company=company, owner=outsider, team=other_team)
    log("company", company, ago=timedelta(hours=5), subject="company call")
    log("contact", contact, ago=timedelta(hours=4), subject="contact call")
    log("deal", deal, ago=timedelta(hours=3), subject="deal call")
    log("deal", hidden_deal, ago=timedelta(hours=2), subject="secret call")
    TicketFactory(company=company, contact=contact, subject="Broken login", team=sales_team)
    TaskFactory(contact=contact, title="Follow up", assignee=rep)

    timeline = panels_for(rep, company)["timeline"]

    subjects = [e.obj.subject for e in timeline if e.kind in ("activity", "ticket")]
    assert subjects == ["Broken login", "deal call", "contact call", "company call"]
    assert "secret call" not in subjects
    assert any(e.kind == "task_created" and e.obj.title == "Follow up" for e in timeline)


def test_contact_gathers_its_deals(rep, sales_team):
    contact = ContactFactory(owner=rep, team=sales_team)
    deal = DealFactory(contact=contact, company=contact.company, owner=rep, team=sales_team)
    log("deal", deal, ago=timedelta(hours=1), subject="on the deal")
    log("contact", contact, ago=timedelta(hours=2), subject="on the contact")
    subjects = [e.obj.subject for e in panels_for(rep, contact)["timeline"]]
    assert subjects == ["on the deal", "on the contact"]


def test_timeline_is_paged_with_show_more(client, rep, sales_team):
    deal = DealFactory(owner=rep, team=sales_team)
    now = timezone.now()
    Activity.objects.bulk_create(
        Activity(
            kind="call", deal=deal, subject=f"call {n}", occurred_at=now - timedelta(minutes=n)
        )
        for n in range(PAGE_SIZE + 7)
    )
    panels = panels_for(rep, deal)
    assert len(panels["timeline"]) == PAGE_SIZE
    assert panels["timeline"][0].obj.subject == "call 0"
    more = panels["timeline_more_url"]
    assert more
    client.force_login(rep)
    response = client.get(more)
    entries = response.context["timeline"]
    assert [e.obj.subject for e in entries] == [
        f"call {n}" for n in range(PAGE_SIZE, PAGE_SIZE + 7)
    ]
    assert response.context["timeline_more_url"] is None
    assert "Show more" not in response.content.decode()


def test_show_more_with_a_bad_cursor_starts_over(client, rep, sales_team):
    deal = DealFactory(owner=rep, team=sales_team)
    client.force_login(rep)
    url = reverse("timeline", args=["deal", deal.pk])
    assert client.get(url, {"before": "garbage"}).status_code == 200
    assert client.get(url, {"before": "2024-13-45T99:00"}).status_code == 200


def test_timeline_of_another_team_is_404(client, rep, sales_team, outsider, other_team):
    deal = DealFactory(owner=outsider, team=other_team)
    client.force_login(rep)
    assert client.get(reverse("timeline", args=["deal", deal.pk])).status_code == 404


def test_panels_show_open_tasks_and_quick_add(client, rep, sales_team):
    deal = DealFactory(owner=rep, team=sales_team)
    TaskFactory(deal=deal, title="Open one", assignee=rep)
    done = TaskFactory(deal=deal, title="Done one", assignee=rep)
    services.task_complete(task=done, actor=rep)
    panels = panels_for(rep, deal)
    assert [t.title for t in panels["panel_tasks"]] == ["Open one"]
    assert f"deal={deal.pk}" in panels["task_new_url"]

    client.force_login(rep)
    response = client.post(
        reverse("record-task-add", args=["deal", deal.pk]),
        {"title": "Call back"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Call back" in response.content.decode()
    assert deal.tasks.filter(title="Call back", assignee=rep).exists()
    # An empty title is refused with a message, nothing written.
    response = client.post(
        reverse("record-task-add", args=["deal", deal.pk]), {"title": ""}, HTTP_HX_REQUEST="true"
    )
    assert "invalid-feedback" in response.content.decode()
    assert deal.tasks.count() == 3


def test_a_companys_task_panel_names_what_each_task_is_about(client, rep, sales_team):
    company = CompanyFactory(owner=rep, team=sales_team)
    contact = ContactFactory(company=company, first_name="Ada", last_name="Lovelace", owner=rep)
    deal = DealFactory(company=company, name="Big renewal", owner=rep, team=sales_team)
    TaskFactory(title="About the deal", deal=deal, assignee=rep)
    TaskFactory(title="About the contact", contact=contact, assignee=rep)
    TaskFactory(title="About the company", company=company, assignee=rep)

    abouts = {t.title: t.about for t in panels_for(rep, company)["panel_tasks"]}

    assert abouts == {
        "About the deal": deal,
        "About the contact": contact,
        "About the company": company,
    }
    client.force_login(rep)
    page = client.get(reverse("company-detail", args=[company.pk])).content.decode()
    assert "· Big renewal" in page and "· Ada Lovelace" in page


def test_one_click_complete_from_panels_refreshes_them(client, rep, sales_team):
    lead = LeadFactory(owner=rep, team=sales_team)
    task = TaskFactory(lead=lead, title="Ring them", assignee=rep)
    client.force_login(rep)
    response = client.post(
        reverse("task-complete", args=[task.pk]),
        {"panel": f"lead:{lead.pk}"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert f'id="record-panels-lead-{lead.pk}"' in body
    assert "Task done" in body
    task.refresh_from_db()
    assert task.status == "done"


def _count(user, record):
    with CaptureQueriesContext(connection) as queries:
        panels_for(user, record)
    return len(queries)


@pytest.mark.parametrize("kind", ["lead", "contact", "company", "deal", "ticket"])
def test_panels_cost_a_constant_number_of_queries(rep, sales_team, kind):
    factories = {
        "lead": LeadFactory,
        "contact": ContactFactory,
        "company": CompanyFactory,
        "deal": DealFactory,
        "ticket": TicketFactory,
    }
    owner = {"assignee": rep} if kind == "ticket" else {"owner": rep}
    record = factories[kind](team=sales_team, **owner)

    def add(n):
        for i in range(n):
            log(kind, record, ago=timedelta(minutes=i), actor=rep)
            TaskFactory(assignee=rep, **{kind: record})
        if kind == "company":
            contact = ContactFactory(company=record, owner=rep, team=sales_team)
            deal = DealFactory(company=record, owner=rep, team=sales_team)
            log("contact", contact, ago=timedelta(minutes=1), actor=rep)
            TicketFactory(company=record, contact=contact)
            services.deal_move_stage(
                deal=deal,
                stage=deal.pipeline.stages.filter(outcome="open").order_by("order")[1],
                actor=rep,
            )

    add(1)
    rep_fresh = type(rep).objects.get(pk=rep.pk)
    few = _count(rep_fresh, record)
    add(8)
    rep_fresh = type(rep).objects.get(pk=rep.pk)
    many = _count(rep_fresh, record)
    assert few == many
    # 12, plus the user's permissions (two queries, once per request) deciding whether the
    # log-activity and add-task forms are offered.
    assert many <= 14
