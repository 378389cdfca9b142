"""Every trigger kind: which events (or times) fire a rule."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from automations import timed
from automations.models import RuleRun, RunStatus
from automations.services import rule_create
from automations.tasks import check_kpi_thresholds, run_time_rules
from crm import services
from crm.models import CustomField, FieldType, Lifecycle, Notification, Task
from tests.automations.factories import make_rule
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
)

pytestmark = pytest.mark.django_db
NOTE = [{"type": "add_note", "body": "fired"}]
TASK = [{"type": "create_task", "title": "Fired on {{ record.name }}", "assignee": "owner"}]


def runs(rule, status=RunStatus.MATCHED):
    matching = RuleRun.objects.filter(rule=rule, status=status).order_by("id")
    return list(matching.values_list("record_id", flat=True))


@pytest.fixture
def deal(rep, sales_team):
    return DealFactory(owner=rep, team=sales_team, company=CompanyFactory(owner=rep))


def test_record_created_fires_for_its_record_type_only(rep, dispatch):
    rule = make_rule(trigger={"type": "record.created", "record_type": "lead"}, actions=TASK)
    lead = services.record_create(LeadFactory._meta.model, actor=rep, data={"name": "Ada"})
    services.record_create(CompanyFactory._meta.model, actor=rep, data={"name": "Other"})
    dispatch()
    assert runs(rule) == [lead.pk]


def test_record_updated_fires_on_any_change_but_not_on_creation(deal, rep, dispatch):
    rule = make_rule(trigger={"type": "record.updated", "record_type": "deal"}, actions=NOTE)
    services.record_update(deal, actor=rep, data={"amount": Decimal("2000")})
    dispatch()
    assert runs(rule) == [deal.pk]


def test_record_deleted_fires_with_the_values_the_record_had(rep, sales_team, dispatch):
    rule = make_rule(
        trigger={"type": "record.deleted", "record_type": "lead"},
        conditions={"match": "all", "rows": [{"field": "name", "op": "eq", "value": "Gone"}]},
        actions=[{"type": "notify", "to": f"user:{rep.pk}", "title": "{{ record.name }} deleted"}],
    )
    lead = LeadFactory(name="Gone", owner=rep, team=sales_team)
    lead_id = lead.pk
    services.record_delete(lead, actor=rep)
    dispatch()
    assert runs(rule) == [lead_id]
    assert Notification.objects.get(recipient=rep).title == "Gone deleted"


def test_field_changed_to_a_value(deal, rep, won_stage, dispatch):
    to_won = make_rule(
        trigger={"type": "field.changed", "record_type": "deal", "field": "status", "to": "won"},
        actions=NOTE,
    )
    to_lost = make_rule(
        trigger={"type": "field.changed", "record_type": "deal", "field": "status", "to": "lost"},
        actions=NOTE,
    )
    services.deal_move_stage(deal=deal, stage=won_stage, actor=rep)
    dispatch()
    assert runs(to_won) == [deal.pk] and not RuleRun.objects.filter(rule=to_lost).exists()


def test_field_changed_from_a_value_and_stage_by_id(deal, rep, won_stage, dispatch):
    first = deal.stage
    rule = make_rule(
        trigger={
            "type": "field.changed",
            "record_type": "deal",
            "field": "stage",
            "from": first.pk,
            "to": won_stage.pk,
        },
        actions=NOTE,
    )
    services.deal_move_stage(deal=deal, stage=won_stage, actor=rep)
    dispatch()
    assert runs(rule) == [deal.pk]


def test_field_changed_on_a_custom_field(deal, rep, dispatch):
    CustomField.objects.create(
        record_type="deal",
        key="region",
        label="Region",
        field_type=FieldType.SELECT,
        choices=["north", "south"],
    )
    rule = make_rule(
        trigger={
            "type": "field.changed",
            "record_type": "deal",
            "field": "custom.region",
            "to": "south",
        },
        actions=NOTE,
    )
    services.record_update(deal, actor=rep, data={"custom": {"region": "north"}})
    services.record_update(deal, actor=rep, data={"name": "Unrelated"})
    services.record_update(deal, actor=rep, data={"custom": {"region": "south"}})
    dispatch()
    assert runs(rule) == [deal.pk]


def test_lead_status_became_qualified(rep, sales_team, dispatch):
    rule = make_rule(
        trigger={
            "type": "field.changed",
            "record_type": "lead",
            "field": "status",
            "to": "qualified",
        },
        actions=NOTE,
    )
    lead = LeadFactory(owner=rep, team=sales_team)
    services.lead_qualify(lead=lead, actor=rep)
    dispatch()
    assert runs(rule) == [lead.pk]


@pytest.fixture
def ticket(agent):
    return services.ticket_create(
        actor=agent, data={"subject": "Broken", "contact": ContactFactory(), "assignee": agent}
    )


def test_ticket_created_replied_resolved(ticket, agent, dispatch):
    created = make_rule(trigger={"type": "ticket.created"}, actions=NOTE)
    replied = make_rule(trigger={"type": "ticket.replied"}, actions=NOTE)
    resolved = make_rule(trigger={"type": "ticket.resolved"}, actions=NOTE)
    dispatch()
    services.ticket_reply(ticket=ticket, actor=agent, body="On it")
    services.ticket_customer_reply(ticket=ticket, body="Thanks")
    services.ticket_resolve(ticket=ticket, actor=agent)
    dispatch()
    assert runs(created) == [ticket.pk]
    assert runs(replied) == [ticket.pk, ticket.pk]  # the agent's and the customer's replies
    assert runs(resolved) == [ticket.pk]


def test_ticket_sla_breached(ticket, dispatch):
    rule = make_rule(trigger={"type": "ticket.sla_breached"}, actions=NOTE)
    services.sla_mark_breaches(now=timezone.now() + timedelta(days=30))
    dispatch()
    assert runs(rule) == [ticket.pk]


def test_survey_answered_in_a_score_range(dispatch):
    low = make_rule(
        trigger={"type": "survey.answered", "kind": "nps", "min": 0, "max": 6},
        actions=[{"type": "notify", "to": "owner", "title": "Detractor"}],
    )
    contact = ContactFactory(company=CompanyFactory(owner=None))
    contact.company.owner = None
    detractor = services.survey_answer_record(kind="nps", score=3, contact=contact)
    services.survey_answer_record(kind="nps", score=9, contact=contact)
    services.survey_answer_record(kind="csat", score=1, contact=contact)
    dispatch()
    assert runs(low, RunStatus.ERROR) == [detractor.pk]  # no owner to notify: an error run
    assert RuleRun.objects.filter(rule=low).count() == 1


def test_activity_logged_of_some_kinds(deal, rep, dispatch):
    rule = make_rule(
        trigger={"type": "activity.logged", "kinds": ["meeting"]},
        actions=[{"type": "create_task", "title": "Send the minutes", "assignee": "owner"}],
    )
    meeting = services.activity_log(actor=rep, kind="meeting", deal=deal)
    services.activity_log(actor=rep, kind="call", deal=deal)
    dispatch()
    assert runs(rule) == [meeting.pk]
    assert Task.objects.get(title="Send the minutes").assignee == rep


def test_date_reached_with_an_offset_fires_once_per_record(rep, sales_team):
    today = timezone.localdate()
    soon = DealFactory(owner=rep, team=sales_team, expected_close_date=today + timedelta(days=3))
    DealFactory(owner=rep, team=sales_team, expected_close_date=today + timedelta(days=4))
    rule = make_rule(
        trigger={
            "type": "date.reached",
            "record_type": "deal",
            "field": "expected_close_date",
            "offset_days": -3,
        },
        actions=TASK,
    )
    assert run_time_rules.apply().get() == 1  # one task sent per due rule
    timed.run_time_rule(rule_id=rule.pk)
    rule.refresh_from_db()
    rule.next_run_at = None  # due again: the same tick must not act twice
    rule.save()
    timed.run_time_rule(rule_id=rule.pk)
    assert runs(rule) == [soon.pk]
    assert RuleRun.objects.get(rule=rule).tick == f"date:{(today + timedelta(days=3))}"
    assert Task.objects.filter(deal=soon).count() == 1


def test_date_reached_on_a_custom_date_field(rep, sales_team):
    CustomField.objects.create(
        record_type="company", key="renewal", label="Renewal", field_type=FieldType.DATE
    )
    today = timezone.localdate()
    company = CompanyFactory(owner=rep, custom={"renewal": today.isoformat()})
    rule = make_rule(
        trigger={
            "type": "date.reached",
            "record_type": "company",
            "field": "custom.renewal",
            "offset_days": 0,
        },
        actions=TASK,
    )
    timed.run_time_rule(rule_id=rule.pk)
    assert runs(rule) == [company.pk]


def test_no_activity_for_n_days(rep, sales_team):
    old = timezone.now() - timedelta(days=30)
    idle = DealFactory(owner=rep, team=sales_team, created_at=old)
    busy = DealFactory(owner=rep, team=sales_team, created_at=old)
    services.activity_log(actor=rep, kind="call", deal=busy)
    DealFactory(owner=rep, team=sales_team)  # new: not idle yet
    rule = make_rule(
        trigger={"type": "no_activity", "record_type": "deal", "days": 14},
        actions=[{"type": "notify", "to": "owner", "title": "{{ record.name }} is idle"}],
    )
    timed.run_time_rule(rule_id=rule.pk)
    assert runs(rule) == [idle.pk]
    assert Notification.objects.get(recipient=rep).title == f"{idle.name} is idle"


def test_schedule_runs_when_due_once_and_moves_to_the_next_tick(admin_user, rep):
    rule = rule_create(
        actor=admin_user,
        data={
            "name": "Weekly",
            "enabled": True,
            "trigger": {"type": "schedule", "cron": "0 9 * * 1"},
            "actions": [{"type": "notify", "to": f"user:{rep.pk}", "title": "Monday"}],
        },
    )
    due = rule.next_run_at
    assert due.weekday() == 0 and timezone.localtime(due).hour == 9
    assert timed.run_time_rule(rule_id=rule.pk, now=due - timedelta(minutes=1)) == 0
    assert timed.run_time_rule(rule_id=rule.pk, now=due + timedelta(seconds=5)) == 1
    assert timed.run_time_rule(rule_id=rule.pk, now=due + timedelta(seconds=6)) == 0
    rule.refresh_from_db()
    assert rule.next_run_at == due + timedelta(days=7)
    run = RuleRun.objects.get(rule=rule)
    assert run.tick.startswith("schedule:") and run.status == RunStatus.MATCHED
    assert Notification.objects.filter(recipient=rep, title="Monday").count() == 1


def test_kpi_threshold_fires_on_the_crossing_only(monkeypatch, rep):
    values = iter([Decimal(40), Decimal(20), Decimal(15), Decimal(35), Decimal(10)])
    monkeypatch.setattr(timed, "kpi_value", lambda trigger, today: next(values))
    rule = make_rule(
        trigger={
            "type": "kpi.threshold",
            "kpi": "engagement_rate",
            "grain": "month",
            "segment": "",
            "op": "below",
            "value": 30,
        },
        actions=[{"type": "notify", "to": f"user:{rep.pk}", "title": "Engagement dropped"}],
    )
    fired = []
    for _check in range(5):
        assert check_kpi_thresholds.apply().get() == 1
        fired.append(timed.check_kpi_rule(rule_id=rule.pk))
        RuleRun.objects.filter(rule=rule).update(tick="")  # let each check write its run
    assert fired == [0, 1, 0, 0, 1]
    assert Notification.objects.filter(recipient=rep).count() == 2
    assert RuleRun.objects.filter(rule=rule, status=RunStatus.MATCHED).count() == 2


def test_kpi_threshold_reads_the_registry(rep):
    rule = make_rule(
        trigger={
            "type": "kpi.threshold",
            "kpi": "engagement_rate",
            "grain": "month",
            "segment": "",
            "op": "above",
            "value": 50,
        },
        actions=NOTE,
    )
    assert timed.kpi_value(rule.trigger, timezone.localdate()) is None  # no customers: no data
    timed.check_kpi_rule(rule_id=rule.pk)
    rule.refresh_from_db()
    assert rule.state["beyond"] is None


def test_customer_engagement_below_a_threshold_notifies_the_team(rep, teammate, sales_team):
    from tests.automations.factories import ready_made

    rule = ready_made("customer_engagement_dropped")
    engaged = CompanyFactory(owner=rep, team=sales_team)
    quiet = CompanyFactory(owner=rep, team=sales_team)
    for company in (engaged, quiet):
        services.company_set_lifecycle(company=company, lifecycle=Lifecycle.CUSTOMER, actor=rep)
        for _n in range(2):
            services.activity_log(actor=rep, kind="meeting", company=company)
    timed.check_kpi_rule(rule_id=rule.pk)  # the first check only notes who is below
    assert not RuleRun.objects.filter(rule=rule).exists()

    quiet.activities.all().delete()
    timed.check_kpi_rule(rule_id=rule.pk)
    timed.check_kpi_rule(rule_id=rule.pk)  # still below: no second message

    assert runs(rule) == [quiet.pk]
    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {
        "ana",
        "marco",
        "carla",
    }


def test_idle_records_fire_once_per_quiet_stretch_and_a_backlog_is_worked_through(
    monkeypatch, rep, sales_team
):
    monkeypatch.setattr(timed, "RECORDS_PER_TICK", 2)
    old = timezone.now() - timedelta(days=60)
    deals = [DealFactory(owner=rep, team=sales_team, created_at=old) for _n in range(3)]
    rule = make_rule(
        trigger={"type": "no_activity", "record_type": "deal", "days": 14},
        actions=[{"type": "notify", "to": "owner", "title": "{{ record.name }} is idle"}],
    )
    now = timezone.now()
    assert timed.run_record_tick(rule, now=now) == 2
    assert timed.run_record_tick(rule, now=now) == 1
    assert timed.run_record_tick(rule, now=now) == 0
    # A call 30 days ago ended the first deal's quiet stretch; 16 days later it is quiet again.
    services.activity_log(actor=rep, kind="call", deal=deals[0], occurred_at=now - timedelta(30))
    RuleRun.objects.filter(rule=rule).update(created_at=now - timedelta(days=40))
    assert timed.run_record_tick(rule, now=now) == 1
    ticks = list(RuleRun.objects.filter(rule=rule, record_id=deals[0].pk).values_list("tick"))
    assert len(ticks) == 2 and ticks[0] != ticks[1]
