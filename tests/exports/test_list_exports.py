"""Each list exports as CSV and XLSX exactly as filtered and sorted on screen, with the
columns its user chose, custom fields included."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from automations.models import RuleRun, RunStatus
from crm import services
from crm.models import ArticleStatus, FieldType, LeadStatus, RecordType, TaskStatus
from crm.models.tickets import TicketPriority
from goals.models import GoalStatus, Scope
from tests.automations.factories import make_rule
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    LeadFactory,
    TaskFactory,
    TicketFactory,
)
from tests.exports.helpers import column, export_url, read_rows
from tests.goals.factories import make_goal

pytestmark = pytest.mark.django_db

FORMATS = ("csv", "xlsx")


def _names(rows, label="Name"):
    return column(rows, label)


@pytest.mark.parametrize("fmt", FORMATS)
def test_leads_export_keeps_filter_sort_and_chosen_columns(client, rep, sales_team, fmt):
    region = CustomFieldFactory(record_type=RecordType.LEAD, key="region", label="Region")
    owned = {"owner": rep, "team": sales_team}
    LeadFactory(name="Alpha", score=10, custom={"region": "North"}, **owned)
    LeadFactory(name="Bravo", score=30, custom={"region": "South"}, **owned)
    LeadFactory(name="Charlie", score=20, **owned)
    LeadFactory(name="Delta", score=90, status=LeadStatus.QUALIFIED, **owned)
    rep.preferences = {"columns": {"leads": ["name", "score", f"custom__{region.key}"]}}
    rep.save()
    client.force_login(rep)

    response = client.get(export_url("leads", "status=new&sort=-score", fmt))

    assert response.status_code == 200
    rows = read_rows(response, fmt)
    assert rows[0] == ["Name", "Score", "Region"]
    assert _names(rows) == ["Bravo", "Charlie", "Alpha"]
    scores = column(rows, "Score")
    assert scores == ([30, 20, 10] if fmt == "xlsx" else ["30", "20", "10"])
    assert column(rows, "Region") == (
        ["South", None, "North"] if fmt == "xlsx" else ["South", "", "North"]
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_contacts_export_keeps_search_and_sort(client, rep, sales_team, fmt):
    owned = {"owner": rep, "team": sales_team}
    for last in ("Brown", "Adams", "Clark"):
        ContactFactory(first_name="Match", last_name=last, **owned)
    ContactFactory(first_name="Other", last_name="Zed", **owned)
    client.force_login(rep)

    rows = read_rows(client.get(export_url("contacts", "q=Match&sort=-last_name", fmt)), fmt)

    assert _names(rows) == ["Match Clark", "Match Brown", "Match Adams"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_companies_export_keeps_search_and_sort(client, rep, sales_team, fmt):
    owned = {"owner": rep, "team": sales_team}
    for name in ("Beta Match", "Alpha Match", "Gamma Match", "Zed Other"):
        CompanyFactory(name=name, **owned)
    client.force_login(rep)

    rows = read_rows(client.get(export_url("companies", "q=Match&sort=name", fmt)), fmt)

    assert _names(rows) == ["Alpha Match", "Beta Match", "Gamma Match"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_deals_export_keeps_filter_and_sort_with_numbers_as_numbers(client, rep, sales_team, fmt):
    CustomFieldFactory(
        record_type=RecordType.DEAL, key="margin", label="Margin", field_type=FieldType.NUMBER
    )
    rep.preferences = {"columns": {"deals": ["name", "amount", "custom__margin"]}}
    rep.save()
    owned = {"owner": rep, "team": sales_team}
    DealFactory(name="Small", amount=Decimal("100.00"), custom={"margin": -5}, **owned)
    DealFactory(name="Free", amount=Decimal("0.00"), custom={"margin": -2.5}, **owned)
    DealFactory(name="Big", amount=Decimal("9000.00"), **owned)
    DealFactory(name="Huge", amount=Decimal("90000.00"), **owned)
    client.force_login(rep)

    response = client.get(export_url("deals", "amount_max=10000&sort=-amount", fmt))

    rows = read_rows(response, fmt)
    assert _names(rows) == ["Big", "Small", "Free"]
    amounts, margins = column(rows, "Amount"), column(rows, "Margin")
    if fmt == "xlsx":
        assert amounts == [9000, 100, 0]
        assert margins == [None, -5, -2.5]
    else:
        # A negative number is no formula: written as it is, no apostrophe.
        assert amounts == ["9000.00", "100.00", "0.00"]
        assert margins == ["", "-5", "-2.5"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_tasks_export_is_my_tasks_in_section_order(client, rep, teammate, fmt):
    now = timezone.now()
    TaskFactory(title="Later", assignee=rep, due_at=now + timedelta(days=3))
    TaskFactory(title="Overdue", assignee=rep, due_at=now - timedelta(days=2))
    TaskFactory(
        title="Done", assignee=rep, status=TaskStatus.DONE, completed_at=now - timedelta(hours=1)
    )
    TaskFactory(title="Not mine", assignee=teammate)
    client.force_login(rep)

    rows = read_rows(client.get(export_url("tasks", "", fmt)), fmt)

    assert column(rows, "Task") == ["Overdue", "Later", "Done"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_tickets_export_keeps_the_queue_filters_and_sort(client, agent, fmt):
    TicketFactory(subject="Old urgent", assignee=agent, priority=TicketPriority.URGENT)
    TicketFactory(subject="New urgent", assignee=agent, priority=TicketPriority.URGENT)
    TicketFactory(subject="Low one", assignee=agent, priority=TicketPriority.LOW)
    client.force_login(agent)

    rows = read_rows(
        client.get(export_url("tickets", "view=all&priority=urgent&sort=newest", fmt)), fmt
    )

    assert column(rows, "Subject") == ["New urgent", "Old urgent"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_knowledge_export_keeps_status_and_title_order(client, agent, fmt):
    category = services.category_create(actor=agent, name="Accounts")
    for title, status in (
        ("Billing", ArticleStatus.PUBLISHED),
        ("Access", ArticleStatus.PUBLISHED),
        ("Draft one", ArticleStatus.DRAFT),
    ):
        services.article_create(
            actor=agent,
            data={"title": title, "body": "Text", "category": category, "status": status},
        )
    client.force_login(agent)

    rows = read_rows(client.get(export_url("knowledge", "status=published", fmt)), fmt)

    assert column(rows, "Title") == ["Access", "Billing"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_goals_export_keeps_the_closed_switch(client, manager, sales_team, fmt):
    parent = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team, name="Team goal")
    make_goal(owner=manager, scope=Scope.TEAM, team=sales_team, parent=parent, name="Child")
    closed = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team, name="Closed goal")
    closed.status = GoalStatus.CLOSED
    closed.save(update_fields=["status"])
    client.force_login(manager)

    shown = column(read_rows(client.get(export_url("goals", "", fmt)), fmt), "Goal")
    with_closed = column(read_rows(client.get(export_url("goals", "closed=1", fmt)), fmt), "Goal")

    assert [name.strip() for name in shown] == ["Team goal", "Child"]
    assert "Closed goal" in [name.strip() for name in with_closed]


@pytest.mark.parametrize("fmt", FORMATS)
def test_automation_runs_export_keeps_the_status_filter(client, rep, sales_team, fmt):
    deal = DealFactory(owner=rep, team=sales_team)
    rule = make_rule(
        name="Won deals",
        trigger={"type": "field.changed", "record_type": "deal", "field": "status", "to": "won"},
        actions=[{"type": "set_lifecycle", "lifecycle": "customer"}],
    )
    for tick, status in (("a", RunStatus.MATCHED), ("b", RunStatus.ERROR)):
        RuleRun.objects.create(
            rule=rule,
            rule_version=rule.version,
            tick=tick,
            record_type="deal",
            record_id=deal.pk,
            status=status,
        )
    client.force_login(rep)

    rows = read_rows(client.get(export_url("automation-runs", "status=error", fmt)), fmt)

    assert column(rows, "Status") == [str(RunStatus.ERROR.label)]


def test_a_user_type_custom_field_exports_the_person_s_name(client, rep, sales_team):
    CustomFieldFactory(
        record_type=RecordType.DEAL, key="csm", label="CSM", field_type=FieldType.USER
    )
    DealFactory(name="One", owner=rep, team=sales_team, custom={"csm": rep.pk})
    rep.preferences = {"columns": {"deals": ["name", "custom__csm"]}}
    rep.save()
    client.force_login(rep)

    rows = read_rows(client.get(export_url("deals", "", "csv")), "csv")

    assert column(rows, "CSM") == [str(rep)]


def test_each_list_offers_its_export_with_the_current_query(client, rep, sales_team):
    client.force_login(rep)

    page = client.get("/deals/?q=Acme&sort=-amount").content.decode()

    assert "/exports/lists/deals/?q=Acme&amp;sort=-amount&amp;format=csv" in page
    assert "/exports/lists/deals/?q=Acme&amp;sort=-amount&amp;format=xlsx" in page
