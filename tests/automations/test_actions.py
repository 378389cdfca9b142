"""Every action type, done through crm services, with the rule chain on its events."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from automations.models import RuleRun, RunStatus
from crm import services
from crm.models import (
    Activity,
    Company,
    CustomField,
    Deal,
    Event,
    FieldType,
    Lead,
    Lifecycle,
    Notification,
    SurveyInvitation,
    Task,
    Ticket,
)
from tests.automations.factories import make_rule, ready_made
from tests.crm.factories import ContactFactory, DealFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(rep, sales_team):
    contact = ContactFactory(email="pat@initech.example")
    return DealFactory(
        name="Initech",
        owner=rep,
        team=sales_team,
        company=contact.company,
        contact=contact,
        amount=Decimal("1000"),
    )


def fire(deal, rep, dispatch, *actions, **rule_fields):
    rule = make_rule(
        trigger={"type": "record.updated", "record_type": "deal"},
        actions=list(actions),
        **rule_fields,
    )
    services.record_update(deal, actor=rep, data={"name": deal.name + "!"})
    dispatch()
    run = RuleRun.objects.filter(rule=rule).order_by("id").first()  # its own change: skipped
    assert run.status == RunStatus.MATCHED, run.error
    return run


def test_create_task_renders_its_title_and_is_due_later(deal, rep, dispatch):
    before = timezone.now()
    run = fire(
        deal,
        rep,
        dispatch,
        {
            "type": "create_task",
            "title": "Call {{ record.name }} about {{ record.amount }}",
            "assignee": "owner",
            "due_in_hours": 2,
            "priority": "high",
        },
    )
    task = Task.objects.get(deal=deal)
    assert task.title == "Call Initech! about 1000.00"
    assert task.assignee == rep and task.priority == "high"
    assert before + timedelta(hours=2) <= task.due_at <= timezone.now() + timedelta(hours=2)
    assert Event.objects.get(type="task.created").context == {"rule_chain": [run.rule_id]}


def test_templates_render_plain_values_only(deal, rep, dispatch):
    fire(
        deal,
        rep,
        dispatch,
        {
            "type": "create_task",
            "title": "[{{ record.delete }}{{ record.owner.password }}{{ record.company.delete }}]",
            "assignee": f"user:{rep.pk}",
        },
    )
    assert Task.objects.get(deal=deal).title == "[]"


@pytest.mark.parametrize("title", ["{% if %}", "{% debug %}", "{% include 'base.html' %}"])
def test_a_broken_or_forbidden_template_is_the_runs_error(deal, rep, dispatch, title):
    rule = make_rule(
        trigger={"type": "record.updated", "record_type": "deal"},
        actions=[{"type": "create_task", "title": title, "assignee": "owner"}],
    )
    services.record_update(deal, actor=rep, data={"name": "x"})
    dispatch()
    assert RuleRun.objects.get(rule=rule).status == RunStatus.ERROR
    assert not Task.objects.exists()


def test_assign_owner_to_a_user(deal, rep, teammate, dispatch):
    fire(deal, rep, dispatch, {"type": "assign_owner", "strategy": "user", "user": teammate.pk})
    deal.refresh_from_db()
    assert deal.owner == teammate


def test_assign_owner_round_robin_takes_turns_within_the_team(
    rep, teammate, manager, sales_team, dispatch
):
    rule = ready_made("new_lead_round_robin")
    leads = [
        services.record_create(Lead, actor=rep, data={"name": f"Lead {n}", "team": sales_team})
        for n in range(4)
    ]
    dispatch()
    owners = [Lead.objects.get(pk=lead.pk).owner for lead in leads]
    members = sorted([rep, teammate, manager], key=lambda user: user.pk)
    assert owners == [members[0], members[1], members[2], members[0]]
    calls = Task.objects.filter(lead__in=leads).order_by("lead_id")
    assert [task.assignee for task in calls] == owners  # the call goes to the new owner
    assert all(task.title.startswith("Call Lead") for task in calls)
    rule.refresh_from_db()
    assert rule.state["round_robin"] == {str(sales_team.pk): members[0].pk}


def test_assign_owner_to_the_least_loaded_member(
    deal, rep, teammate, manager, sales_team, dispatch
):
    for _n in range(2):
        DealFactory(owner=rep, team=sales_team)
        DealFactory(owner=manager, team=sales_team)
    DealFactory(owner=teammate, team=sales_team)
    fire(
        deal,
        rep,
        dispatch,
        {"type": "assign_owner", "strategy": "least_open", "team": sales_team.pk},
    )
    deal.refresh_from_db()
    assert deal.owner == teammate


def test_update_field_plain_custom_and_stage(deal, rep, won_stage, dispatch):
    CustomField.objects.create(
        record_type="deal",
        key="tier",
        label="Tier",
        field_type=FieldType.SELECT,
        choices=["gold", "silver"],
    )
    fire(
        deal,
        rep,
        dispatch,
        {"type": "update_field", "field": "amount", "value": "2500"},
        {"type": "update_field", "field": "custom.tier", "value": "gold"},
        {"type": "update_field", "field": "stage", "value": won_stage.pk},
    )
    deal = Deal.objects.get(pk=deal.pk)
    assert deal.amount == Decimal("2500") and deal.custom == {"tier": "gold"}
    assert deal.stage == won_stage and deal.status == "won"
    assert Event.objects.filter(type="deal.stage_changed").exists()


def test_update_field_with_a_bad_value_is_an_error_and_changes_nothing(deal, rep, dispatch):
    CustomField.objects.create(
        record_type="deal",
        key="tier",
        label="Tier",
        field_type=FieldType.SELECT,
        choices=["gold"],
    )
    rule = make_rule(
        trigger={"type": "record.updated", "record_type": "deal"},
        actions=[
            {"type": "update_field", "field": "amount", "value": "2500"},
            {"type": "update_field", "field": "custom.tier", "value": "platinum"},
        ],
    )
    services.record_update(deal, actor=rep, data={"name": "x"})
    dispatch()
    assert RuleRun.objects.get(rule=rule).status == RunStatus.ERROR
    assert Deal.objects.get(pk=deal.pk).amount == Decimal("1000")


def test_set_lifecycle_of_the_records_company(deal, rep, dispatch):
    fire(deal, rep, dispatch, {"type": "set_lifecycle", "lifecycle": "customer"})
    company = Company.objects.get(pk=deal.company_id)
    assert company.lifecycle == Lifecycle.CUSTOMER and company.customer_since


def test_add_note_to_the_timeline(deal, rep, dispatch):
    fire(deal, rep, dispatch, {"type": "add_note", "body": "Amount is {{ record.amount }}"})
    note = Activity.objects.get(deal=deal)
    assert note.kind == "note" and note.body == "Amount is 1000.00" and note.user is None


def test_notify_owner_team_and_user(deal, rep, teammate, manager, dispatch):
    outsider = UserFactory(username="zoe")
    fire(
        deal,
        rep,
        dispatch,
        {"type": "notify", "to": "owner", "title": "Owner: {{ record.name }}"},
        {"type": "notify", "to": "team", "title": "Team"},
        {"type": "notify", "to": f"user:{outsider.pk}", "title": "User", "body": "Hi"},
    )
    by_title = {}
    for notification in Notification.objects.all():
        by_title.setdefault(notification.title, set()).add(notification.recipient.username)
    assert by_title == {
        "Owner: Initech!": {"ana"},
        "Team": {"ana", "marco", "carla"},
        "User": {"zoe"},
    }
    assert Notification.objects.get(title="User").url == f"/deals/{deal.pk}/"


def test_send_survey_invites_the_contact_and_emails_after_commit(
    deal, rep, dispatch, django_capture_on_commit_callbacks, mailoutbox, eager_tasks
):
    make_rule(
        trigger={"type": "record.updated", "record_type": "deal"},
        actions=[{"type": "send_survey", "kind": "nps"}],
    )
    services.record_update(deal, actor=rep, data={"name": "x"})
    with django_capture_on_commit_callbacks(execute=True):
        dispatch()
    invitation = SurveyInvitation.objects.get()
    assert invitation.kind == "nps" and invitation.email == "pat@initech.example"
    assert invitation.sent_at is not None
    assert [message.to for message in mailoutbox] == [["pat@initech.example"]]


def test_ticket_resolved_sends_csat_once(agent, dispatch, django_capture_on_commit_callbacks):
    ready_made("ticket_resolved_csat")
    ticket = services.ticket_create(
        actor=agent, data={"subject": "Help", "contact": ContactFactory(), "assignee": agent}
    )
    services.ticket_resolve(ticket=ticket, actor=agent)
    dispatch()
    assert SurveyInvitation.objects.get(ticket=ticket).kind == "csat"


def test_create_ticket_for_the_records_contact(deal, rep, dispatch):
    fire(
        deal,
        rep,
        dispatch,
        {"type": "create_ticket", "subject": "Onboard {{ record.name }}", "priority": "high"},
    )
    ticket = Ticket.objects.get()
    assert ticket.subject == "Onboard Initech!" and ticket.priority == "high"
    assert ticket.contact == deal.contact and ticket.company == deal.company


def test_webhook_is_queued_for_after_commit(
    deal, rep, dispatch, django_capture_on_commit_callbacks
):
    make_rule(
        trigger={"type": "record.updated", "record_type": "deal"},
        actions=[{"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "s"}],
    )
    services.record_update(deal, actor=rep, data={"name": "x"})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        dispatch()
    run = RuleRun.objects.get()
    assert run.actions == [
        {
            "type": "webhook",
            "ok": True,
            "detail": "Queued: POST http://127.0.0.1:9/hook",
            "pending": True,
        }
    ]
    assert len(callbacks) >= 1  # the call is sent only once the run is committed


def test_actions_of_a_lead_created_by_a_rule_of_another_kind(rep, sales_team, dispatch):
    """A rule's change is an event like any other: another rule reacts to it."""
    first = make_rule(
        trigger={"type": "record.created", "record_type": "company"},
        actions=[
            {"type": "create_task", "title": "Research {{ record.name }}", "assignee": "owner"}
        ],
    )
    second = make_rule(
        trigger={"type": "record.created", "record_type": "task"},
        actions=[{"type": "update_field", "field": "priority", "value": "urgent"}],
    )
    services.record_create(Company, actor=rep, data={"name": "Globex"})
    dispatch()
    task = Task.objects.get()
    assert task.title == "Research Globex" and task.priority == "urgent"
    assert RuleRun.objects.get(rule=second).depth == 1
    assert Event.objects.get(type="task.updated").context == {"rule_chain": [first.pk, second.pk]}
