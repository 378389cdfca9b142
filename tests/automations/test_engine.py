"""The dispatcher: events claimed once, one run per rule and event, actions with their run."""

import pytest
from django.db import connection

from automations.engine import claim_events, dispatch_batch, evaluate_events
from automations.models import Rule, RuleRun, RunStatus
from crm import services
from crm.models import Company, CustomField, Event, FieldType, Lifecycle, Task
from tests.automations.factories import make_rule, ready_made
from tests.crm.factories import CompanyFactory, DealFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(rep, sales_team):
    return DealFactory(owner=rep, team=sales_team, company=CompanyFactory(owner=rep))


def test_ready_made_rules_are_installed_disabled():
    keys = set(Rule.objects.exclude(template_key="").values_list("template_key", flat=True))
    assert keys == {
        "deal_won_onboarding",
        "customer_engagement_dropped",
        "interaction_follow_up",
        "new_lead_round_robin",
        "ticket_resolved_csat",
        "idle_deal_14_days",
    }
    assert not Rule.objects.filter(enabled=True).exists()
    assert all(rule.versions.count() == 1 for rule in Rule.objects.all())


def test_won_deal_makes_its_company_a_customer_with_an_onboarding_task(
    deal, rep, won_stage, dispatch
):
    rule = ready_made("deal_won_onboarding")
    services.deal_move_stage(deal=deal, stage=won_stage, actor=rep)

    assert dispatch() >= 1

    company = Company.objects.get(pk=deal.company_id)
    assert company.lifecycle == Lifecycle.CUSTOMER and company.customer_since is not None
    task = Task.objects.get(deal=deal)
    assert task.assignee == rep and task.title == f"Onboard {company.name} ({deal.name})"
    run = RuleRun.objects.get(rule=rule)
    assert run.status == RunStatus.MATCHED
    assert run.rule_version == 1 and run.record_type == "deal" and run.record_id == deal.pk
    assert [a["type"] for a in run.actions] == ["set_lifecycle", "create_task"]
    assert all(a["ok"] for a in run.actions)
    # The rule's changes are events like anyone's, carrying the chain for the loop guard.
    changed = Event.objects.get(type="company.lifecycle_changed", record_id=company.pk)
    assert changed.context == {"rule_chain": [rule.pk]} and changed.actor is None


def test_every_event_is_claimed_once_and_marked_dispatched(deal, rep, won_stage, dispatch):
    ready_made("deal_won_onboarding")
    services.deal_move_stage(deal=deal, stage=won_stage, actor=rep)
    dispatch()
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()
    assert dispatch() == 0
    assert dispatch_batch() == 0
    assert RuleRun.objects.count() == 1 and Task.objects.filter(deal=deal).count() == 1


def test_a_second_claim_gets_nothing_while_rows_are_taken(deal, rep):
    services.record_update(deal, actor=rep, data={"name": "Renamed"})
    first = claim_events(100)
    assert [e.type for e in first] == ["deal.updated"]
    assert claim_events(100) == []


def test_a_duplicate_delivery_runs_nothing_twice(deal, rep, won_stage):
    rule = ready_made("deal_won_onboarding")
    services.deal_move_stage(deal=deal, stage=won_stage, actor=rep)
    event = Event.objects.get(type="deal.stage_changed")

    evaluate_events([event])
    evaluate_events([event])  # the same event delivered again (a task run twice)

    assert RuleRun.objects.filter(rule=rule, event=event).count() == 1
    assert Task.objects.filter(deal=deal).count() == 1
    assert Event.objects.filter(type="company.lifecycle_changed").count() == 1


def test_conditions_not_met_write_a_run_and_do_nothing(deal, rep, dispatch):
    rule = make_rule(
        trigger={"type": "record.updated", "record_type": "deal"},
        conditions={"match": "all", "rows": [{"field": "amount", "op": "gt", "value": "5000"}]},
        actions=[{"type": "add_note", "body": "Big"}],
    )
    services.record_update(deal, actor=rep, data={"name": "Small one"})
    dispatch()
    run = RuleRun.objects.get(rule=rule)
    assert run.status == RunStatus.NOT_MATCHED and run.actions == []
    assert not deal.activities.exists()


def test_rules_of_other_record_types_and_disabled_rules_are_not_evaluated(deal, rep, dispatch):
    make_rule(trigger={"type": "record.updated", "record_type": "lead"})
    make_rule(trigger={"type": "record.updated", "record_type": "deal"}, enabled=False)
    services.record_update(deal, actor=rep, data={"name": "Renamed"})
    dispatch()
    assert not RuleRun.objects.exists()


def test_a_failing_action_records_the_error_and_other_rules_still_run(deal, rep, dispatch):
    broken = make_rule(
        name="Broken",
        trigger={"type": "record.updated", "record_type": "deal"},
        actions=[
            {"type": "create_task", "title": "Should not stay", "assignee": "owner"},
            {"type": "update_field", "field": "no_such_field", "value": "x"},
        ],
    )
    working = make_rule(
        name="Working",
        trigger={"type": "record.updated", "record_type": "deal"},
        actions=[{"type": "add_note", "body": "Noted {{ record.name }}"}],
    )
    services.record_update(deal, actor=rep, data={"name": "Renamed"})
    dispatch()

    failed = RuleRun.objects.get(rule=broken)
    assert failed.status == RunStatus.ERROR and "no_such_field" in failed.error
    assert [a["ok"] for a in failed.actions] == [True, False]
    # The actions of one run commit together: the first action was undone with the run.
    assert not Task.objects.filter(title="Should not stay").exists()
    assert RuleRun.objects.get(rule=working).status == RunStatus.MATCHED
    assert deal.activities.get().body == "Noted Renamed"


def test_a_rule_never_retriggers_itself_in_one_chain(deal, rep, dispatch):
    rule = make_rule(
        trigger={"type": "record.updated", "record_type": "deal"},
        actions=[{"type": "update_field", "field": "amount", "value": "777"}],
    )
    services.record_update(deal, actor=rep, data={"name": "Renamed"})
    dispatch()

    runs = list(RuleRun.objects.filter(rule=rule).order_by("id"))
    assert [run.status for run in runs] == [RunStatus.MATCHED, RunStatus.SKIPPED]
    assert runs[1].depth == 1 and "Loop guard" in runs[1].error
    deal.refresh_from_db()
    assert deal.amount == 777
    assert Event.objects.filter(type="deal.updated").count() == 2


def test_changes_made_by_rules_trigger_rules_three_levels_deep(deal, rep, dispatch):
    CustomField.objects.create(
        record_type="deal", key="step", label="Step", field_type=FieldType.NUMBER
    )
    rules = [
        make_rule(
            name=f"Step {step}",
            trigger={
                "type": "field.changed",
                "record_type": "deal",
                "field": "custom.step",
                "to": step,
            },
            actions=[{"type": "update_field", "field": "custom.step", "value": step + 1}],
        )
        for step in range(1, 6)
    ]
    services.record_update(deal, actor=rep, data={"custom": {"step": 1}})
    dispatch()

    statuses = [
        list(RuleRun.objects.filter(rule=rule).values_list("status", "depth")) for rule in rules
    ]
    assert statuses == [
        [(RunStatus.MATCHED, 0)],
        [(RunStatus.MATCHED, 1)],
        [(RunStatus.MATCHED, 2)],
        [(RunStatus.MATCHED, 3)],
        [(RunStatus.SKIPPED, 4)],
    ]
    deal.refresh_from_db()
    assert deal.custom["step"] == 5


def test_runs_of_a_rule_keep_the_version_they_ran(deal, rep, admin_user, dispatch):
    from automations.services import rule_update

    rule = make_rule(
        name="First name",
        trigger={"type": "record.updated", "record_type": "deal"},
        actions=[{"type": "add_note", "body": "Changed"}],
    )
    services.record_update(deal, actor=rep, data={"name": "One"})
    dispatch()
    rule = rule_update(rule=rule, actor=admin_user, data={"name": "Renamed rule"})
    services.record_update(deal, actor=rep, data={"name": "Two"})
    dispatch()
    assert list(rule.runs.order_by("id").values_list("rule_version", flat=True)) == [1, 2]
    assert list(rule.versions.order_by("version").values_list("name", flat=True)) == [
        "First name",
        "Renamed rule",
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_locked_rows_are_skipped_by_another_claimer(deal, rep):
    services.record_update(deal, actor=rep, data={"name": "Renamed"})
    pending = Event.objects.filter(dispatched_at__isnull=True)
    assert list(pending.select_for_update(skip_locked=True).values_list("id", flat=True))
