"""Automations can start from "KPI alert raised": the alert's event runs the rules whose
filters (KPI, direction, scope) it fits."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from automations.catalog import validate_rule
from automations.engine import dispatch_batch
from automations.models import Rule, RuleRun, RunStatus
from crm.models import Event, Notification
from metrics import alerts
from tests.automations.factories import make_rule
from tests.metrics.test_alerts import WEEK, store

pytestmark = pytest.mark.django_db


def tell(user, **filters):
    return make_rule(
        trigger={"type": "kpi.alert", **filters},
        actions=[{"type": "notify", "to": f"user:{user.pk}", "title": "Look at {{ record.kpi }}"}],
    )


def test_a_raised_alert_runs_the_rules_it_fits(manager, admin_user, sales_team):
    fits = tell(admin_user, kpi="win_rate", direction="below", scope="company")
    wrong_way = tell(admin_user, direction="above")
    wrong_scope = tell(admin_user, scope="team")
    store([70, 64, 75, 68, 72, 66, 74, 69, 20])
    [alert] = alerts.check_period(WEEK)
    assert Event.objects.filter(type="kpi.alert_raised", record_id=alert.pk).count() == 1

    dispatch_batch()

    run = RuleRun.objects.get(rule=fits)
    assert (run.status, run.record_type, run.record_id) == (RunStatus.MATCHED, "kpialert", alert.pk)
    assert not RuleRun.objects.filter(rule__in=[wrong_way, wrong_scope]).exists()
    assert Notification.objects.filter(recipient=admin_user, title="Look at win_rate").exists()


def test_a_rerun_does_not_fire_the_rules_again(manager, admin_user):
    rule = tell(admin_user)
    store([70, 64, 75, 68, 72, 66, 74, 69, 20])
    alerts.check_period(WEEK)
    dispatch_batch()
    alerts.check_period(WEEK)
    dispatch_batch()
    assert RuleRun.objects.filter(rule=rule).count() == 1


def test_the_builder_checks_the_filters(manager):
    validate_rule(
        trigger={"type": "kpi.alert", "kpi": "win_rate", "direction": "below", "scope": "team"},
        conditions={"match": "all", "rows": []},
        actions=[{"type": "notify", "to": f"user:{manager.pk}", "title": "Look"}],
    )
    with pytest.raises(ValidationError):
        validate_rule(
            trigger={"type": "kpi.alert", "kpi": "nope", "direction": "sideways", "scope": "x"},
            conditions={"match": "all", "rows": []},
            actions=[],
        )


def test_the_builder_saves_an_alert_rule_from_its_menus(client, admin_user, manager):
    client.force_login(admin_user)
    form = client.post(
        reverse("automation-rule-new"), {"trigger-type": "kpi.alert", "builder_op": "refresh"}
    )
    assert 'name="trigger-direction"' in form.content.decode()
    response = client.post(
        reverse("automation-rule-new"),
        {
            "name": "Win rate alerts",
            "description": "",
            "trigger-type": "kpi.alert",
            "trigger-kpi": "win_rate",
            "trigger-direction": "below",
            "trigger-scope": "team",
            "group-0-match": "all",
            "action-0-type": "notify",
            "action-0-to": f"user:{manager.pk}",
            "action-0-title": "Win rate alert",
            "action-0-body": "",
        },
    )
    assert response.status_code == 302
    rule = Rule.objects.get(name="Win rate alerts")
    assert rule.trigger == {
        "type": "kpi.alert",
        "kpi": "win_rate",
        "direction": "below",
        "scope": "team",
    }
    assert rule.record_type == "kpialert"
