"""Dry-run replays the window's events through a rule and writes nothing at all."""

from datetime import timedelta
from unittest import mock

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from automations.services import rule_dry_run
from crm import services
from crm.models import Event
from tests.crm.factories import CompanyFactory, DealFactory

pytestmark = pytest.mark.django_db


def table_counts() -> dict:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def table_dump() -> dict:
    dump = {}
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        dump[model._meta.label] = list(model._default_manager.order_by("pk").values())
    return dump


@pytest.fixture
def history(rep, sales_team, won_stage):
    big = DealFactory(name="Big", owner=rep, team=sales_team, amount=9000, company=CompanyFactory())
    small = DealFactory(name="Small", owner=rep, team=sales_team, amount=100)
    services.deal_move_stage(deal=big, stage=won_stage, actor=rep)
    services.deal_move_stage(deal=small, stage=won_stage, actor=rep)
    old = DealFactory(name="Old", owner=rep, team=sales_team, amount=9000)
    services.deal_move_stage(deal=old, stage=won_stage, actor=rep)
    Event.objects.filter(record_id=old.pk).update(occurred_at=timezone.now() - timedelta(days=40))
    return big, small, old


WON_BIG = {
    "trigger": {"type": "field.changed", "record_type": "deal", "field": "status", "to": "won"},
    "conditions": {"match": "all", "rows": [{"field": "amount", "op": "gte", "value": "1000"}]},
    "actions": [
        {"type": "set_lifecycle", "lifecycle": "customer"},
        {
            "type": "create_task",
            "title": "Onboard {{ record.name }}",
            "assignee": "owner",
            "due_in_hours": 24,
        },
        {"type": "notify", "to": "team", "title": "Won"},
        {"type": "send_survey", "kind": "nps"},
        {"type": "webhook", "url": "https://example.com/hook", "secret": "x"},
    ],
}


def test_dry_run_lists_what_would_have_matched_in_the_window(history, admin_user):
    big, small, _old = history
    report = rule_dry_run(actor=admin_user, days=30, **WON_BIG)
    by_record = {item.record_id: item for item in report.items}
    assert set(by_record) == {big.pk, small.pk}  # the 40-day-old win is outside the window
    assert by_record[big.pk].matched and not by_record[small.pk].matched
    assert by_record[big.pk].label == "Big" and by_record[big.pk].event_type == "deal.stage_changed"
    # The actions in words, their texts filled in with the record's values.
    assert (
        by_record[big.pk].actions[1] == "Create the task “Onboard Big” for the owner, due in 24 h"
    )
    assert len(by_record[big.pk].actions) == 5 and by_record[small.pk].actions == []
    assert (report.evaluated, report.matched) == (2, 1)
    assert rule_dry_run(actor=admin_user, days=60, **WON_BIG).evaluated == 3


def test_dry_run_writes_nothing_at_all(
    history, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    before_counts, before_dump = table_counts(), table_dump()
    with (
        mock.patch("urllib.request.urlopen") as urlopen,
        mock.patch("celery.app.task.Task.apply_async") as sent_tasks,
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        CaptureWrites() as writes,
    ):
        report = rule_dry_run(actor=admin_user, days=30, **WON_BIG)
        report = rule_dry_run(
            actor=admin_user,
            days=30,
            trigger={"type": "no_activity", "record_type": "deal", "days": 1},
            conditions={},
            actions=WON_BIG["actions"],
        )
    assert report.items is not None
    assert table_counts() == before_counts and table_dump() == before_dump
    assert writes.statements == []
    assert mailoutbox == [] and callbacks == []
    urlopen.assert_not_called()
    sent_tasks.assert_not_called()


class CaptureWrites:
    """Every INSERT/UPDATE/DELETE sent to the database while active."""

    def __enter__(self):
        self.statements = []
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __call__(self, execute, sql, params, many, context):
        if sql.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.statements.append(sql)
        return execute(sql, params, many, context)

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)


def test_dry_run_of_time_triggers_reads_the_records_as_they_stand(rep, sales_team, admin_user):
    today = timezone.localdate()
    due = DealFactory(owner=rep, team=sales_team, expected_close_date=today + timedelta(days=1))
    DealFactory(owner=rep, team=sales_team, expected_close_date=today + timedelta(days=20))
    report = rule_dry_run(
        actor=admin_user,
        days=7,
        trigger={
            "type": "date.reached",
            "record_type": "deal",
            "field": "expected_close_date",
            "offset_days": -3,
        },
        conditions={},
        actions=[{"type": "notify", "to": "owner", "title": "Closing soon"}],
    )
    assert [item.record_id for item in report.items] == [due.pk]
    assert report.items[0].tick == f"date:{today + timedelta(days=1)}"

    schedule = rule_dry_run(
        actor=admin_user,
        days=7,
        trigger={"type": "schedule", "cron": "0 9 * * *"},
        conditions={},
        actions=[{"type": "notify", "to": f"user:{rep.pk}", "title": "Daily"}],
    )
    assert 6 <= len(schedule.items) <= 7 and all(item.matched for item in schedule.items)


def test_only_admins_dry_run(history, manager):
    with pytest.raises(PermissionDenied):
        rule_dry_run(actor=manager, days=30, **WON_BIG)


IDLE_DEALS = {
    "trigger": {"type": "no_activity", "record_type": "deal", "days": 1},
    "conditions": {"match": "all", "rows": [{"field": "amount", "op": "gte", "value": "1"}]},
    "actions": [{"type": "create_task", "title": "Call {{ record.name }}", "assignee": "owner"}],
}


def dry_run_queries(admin_user) -> int:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        report = rule_dry_run(actor=admin_user, days=30, **IDLE_DEALS)
    assert report.evaluated == DealFactory._meta.model.objects.count()
    return len(queries)


def test_a_time_rules_dry_run_reads_a_constant_number_of_queries(admin_user, rep, sales_team):
    # Idle deals, each with an owner, a company and a stage named with its pipeline.
    old = timezone.now() - timedelta(days=5)
    for _ in range(2):
        DealFactory(owner=rep, team=sales_team, company=CompanyFactory(), created_at=old)
    few = dry_run_queries(admin_user)
    for _ in range(6):
        DealFactory(owner=rep, team=sales_team, company=CompanyFactory(), created_at=old)
    assert dry_run_queries(admin_user) == few


def test_a_dry_run_past_its_limit_counts_every_record_and_words_only_those_shown(
    admin_user, rep, sales_team
):
    """Filling the actions' texts is the dearest part of a dry run: it is done for the items
    the report shows, while the counts still cover every record the trigger reads."""
    from automations import dry_run

    old = timezone.now() - timedelta(days=5)
    for number in range(5):
        DealFactory(name=f"Idle {number}", owner=rep, team=sales_team, created_at=old)
    rule = {**IDLE_DEALS, "conditions": {"match": "all", "rows": []}}

    with mock.patch.object(dry_run, "render", wraps=dry_run.render) as rendered:
        report = rule_dry_run(actor=admin_user, days=30, limit=2, **rule)

    assert (report.evaluated, report.matched, len(report.items)) == (5, 5, 2)
    assert report.truncated
    assert [item.actions for item in report.items] == [
        [f"Create the task “Call {item.label}” for the owner, due in 0 h"] for item in report.items
    ]
    assert rendered.call_count == 2
