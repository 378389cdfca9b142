"""My day: tasks due by today, new leads, quiet deals, the month's numbers."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import ActivityKind, LeadStatus
from crm.views.tasks import day_bounds
from tests.crm.factories import DealFactory, LeadFactory, TaskFactory

pytestmark = pytest.mark.django_db
URL = reverse("home")


def old_deal(**kwargs):
    long_ago = timezone.now() - timedelta(days=40)
    return DealFactory(created_at=long_ago, stage_entered_at=long_ago, **kwargs)


def test_my_day_shows_what_needs_doing(client, rep, teammate, sales_team):
    start, end = day_bounds()
    TaskFactory(title="Overdue thing", assignee=rep, due_at=start - timedelta(days=1))
    TaskFactory(title="Today thing", assignee=rep, due_at=start + timedelta(minutes=5))
    TaskFactory(title="Later thing", assignee=rep, due_at=end + timedelta(days=2))
    TaskFactory(title="Marco's thing", assignee=teammate, due_at=start)
    LeadFactory(name="Fresh Lead", owner=rep, team=sales_team)
    LeadFactory(name="Marco Lead", owner=teammate, team=sales_team)
    contacted = LeadFactory(name="Old Lead", owner=rep, team=sales_team)
    services.activity_log(actor=rep, kind=ActivityKind.CALL, lead=contacted)
    assert LeadFactory._meta.model.objects.get(pk=contacted.pk).status == LeadStatus.CONTACTED

    quiet = old_deal(name="Quiet deal", owner=rep, team=sales_team)
    never = old_deal(name="Never touched", owner=rep, team=sales_team)
    busy = old_deal(name="Busy deal", owner=rep, team=sales_team)
    old_deal(name="Marco's quiet deal", owner=teammate, team=sales_team)
    DealFactory(name="Brand new deal", owner=rep, team=sales_team)
    services.activity_log(
        actor=rep,
        kind=ActivityKind.CALL,
        deal=quiet,
        occurred_at=timezone.now() - timedelta(days=20),
    )
    services.activity_log(
        actor=rep, kind=ActivityKind.CALL, deal=busy, occurred_at=timezone.now() - timedelta(days=2)
    )
    client.force_login(rep)

    response = client.get(URL)

    assert response.status_code == 200
    context = response.context
    assert [t.title for t in context["overdue_tasks"]] == ["Overdue thing"]
    assert [t.title for t in context["today_tasks"]] == ["Today thing"]
    assert [lead.name for lead in context["new_leads"]] == ["Fresh Lead"]
    assert [deal.name for deal in context["stale_deals"]] == ["Quiet deal", "Never touched"]
    assert context["stale_deals"][1].last_activity_at is None
    body = response.content.decode()
    assert "Later thing" not in body and "Busy deal" not in body
    assert 'data-testid="home-numbers"' in body
    assert never.pk and busy.pk


def test_closed_deals_are_not_quiet(client, rep, sales_team):
    deal = old_deal(name="Won already", owner=rep, team=sales_team)
    won = deal.pipeline.stages.get(outcome="won")
    services.deal_move_stage(deal=deal, stage=won, actor=rep)
    client.force_login(rep)
    assert client.get(URL).context["stale_deals"] == []


def test_home_query_count_is_constant(client, rep, sales_team, django_assert_max_num_queries):
    start, _end = day_bounds()
    client.force_login(rep)

    def add(n):
        for i in range(n):
            TaskFactory(assignee=rep, due_at=start - timedelta(hours=i + 1))
            TaskFactory(assignee=rep, due_at=start + timedelta(minutes=i))
            LeadFactory(owner=rep, team=sales_team)
            old_deal(owner=rep, team=sales_team)

    add(1)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    baseline = len(few)
    add(10)
    with django_assert_max_num_queries(baseline):
        response = client.get(URL)
    assert len(response.context["stale_deals"]) == 11


def test_my_day_tasks_show_their_links_read_apart(client, rep, sales_team):
    # A task joined to its seven links took PostgreSQL longer to plan than to run.
    start, _end = day_bounds()
    deal = DealFactory(name="Linked deal", owner=rep, team=sales_team)
    TaskFactory(title="Call them", assignee=rep, due_at=start - timedelta(hours=1), deal=deal)
    client.force_login(rep)
    with CaptureQueriesContext(connection) as page:
        response = client.get(URL)
    [task] = response.context["overdue_tasks"]
    assert task.deal == deal and task.assignee == rep
    assert "Linked deal" in response.content.decode()
    joined = [
        q["sql"]
        for q in page.captured_queries
        if 'FROM "crm_task"' in q["sql"] and "JOIN" in q["sql"]
    ]
    assert joined == []
