"""The rule services: admins only, validated, versioned; runs shown to whom may see them."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from automations.models import Rule, RuleRun, RuleVersion, RunStatus
from automations.services import (
    rule_create,
    rule_duplicate,
    rule_set_enabled,
    rule_update,
    runs_for_record,
)
from tests.crm.factories import DealFactory

pytestmark = pytest.mark.django_db

DATA = {
    "name": "Big deals",
    "description": "Tell the owner",
    "enabled": True,
    "trigger": {"type": "record.updated", "record_type": "deal"},
    "conditions": {"match": "all", "rows": [{"field": "amount", "op": "gt", "value": "1000"}]},
    "actions": [{"type": "notify", "to": "owner", "title": "Big one"}],
}


def test_admin_creates_a_rule_with_its_first_version(admin_user):
    rule = rule_create(actor=admin_user, data=DATA)
    assert (rule.record_type, rule.version, rule.enabled) == ("deal", 1, True)
    assert rule.created_by == admin_user and rule.next_run_at is None
    assert list(rule.versions.values_list("version", "name")) == [(1, "Big deals")]


@pytest.mark.parametrize("persona", ["rep", "manager", "agent"])
def test_only_admins_write_rules_and_nothing_is_written(persona, request, admin_user):
    user = request.getfixturevalue(persona)
    rule = rule_create(actor=admin_user, data=DATA)
    before = (Rule.objects.count(), RuleVersion.objects.count())
    for call in (
        lambda: rule_create(actor=user, data=DATA),
        lambda: rule_update(rule=rule, actor=user, data={"name": "Hacked"}),
        lambda: rule_set_enabled(rule=rule, actor=user, enabled=False),
        lambda: rule_duplicate(rule=rule, actor=user),
    ):
        with pytest.raises(PermissionDenied):
            call()
    rule.refresh_from_db()
    assert (rule.name, rule.enabled, rule.version) == ("Big deals", True, 1)
    assert (Rule.objects.count(), RuleVersion.objects.count()) == before


def test_missing_or_contradictory_input_is_refused_with_field_errors(admin_user):
    before = Rule.objects.count()
    with pytest.raises(ValidationError) as missing:
        rule_create(actor=admin_user, data={**DATA, "name": " "})
    assert "name" in missing.value.message_dict
    with pytest.raises(ValidationError) as contradictory:
        rule_create(
            actor=admin_user,
            data={**DATA, "trigger": {"type": "schedule", "cron": "61 25 * * *"}},
        )
    assert "trigger" in contradictory.value.message_dict
    assert Rule.objects.count() == before


def test_editing_the_rule_makes_a_new_version_and_enabling_does_not(admin_user):
    rule = rule_create(actor=admin_user, data=DATA)
    rule = rule_set_enabled(rule=rule, actor=admin_user, enabled=False)
    assert (rule.enabled, rule.version) == (False, 1)
    rule = rule_update(rule=rule, actor=admin_user, data={"description": "Only words"})
    assert rule.version == 1
    rule = rule_update(
        rule=rule,
        actor=admin_user,
        data={"actions": [{"type": "notify", "to": "team", "title": "Big one"}]},
    )
    assert rule.version == 2 and rule.updated_by == admin_user
    assert rule.versions.get(version=1).actions == DATA["actions"]
    assert rule.versions.get(version=2).actions[0]["to"] == "team"


def test_a_schedule_gets_its_next_run(admin_user):
    rule = rule_create(
        actor=admin_user,
        data={
            **DATA,
            "trigger": {"type": "schedule", "cron": "30 8 * * *"},
            "conditions": {},
            "actions": [{"type": "notify", "to": f"user:{admin_user.pk}", "title": "Hi"}],
        },
    )
    assert rule.record_type == "" and rule.next_run_at is not None
    assert (rule.next_run_at.hour, rule.next_run_at.minute) == (8, 30)


def test_duplicate_is_a_disabled_copy(admin_user):
    rule = rule_create(actor=admin_user, data=DATA)
    copy = rule_duplicate(rule=rule, actor=admin_user)
    assert copy.pk != rule.pk and copy.name == "Copy of Big deals" and not copy.enabled
    assert copy.trigger == rule.trigger and copy.actions == rule.actions and copy.version == 1


def test_runs_for_a_record_follow_record_visibility(
    admin_user, manager, rep, teammate, outsider, sales_team, other_team
):
    rule = rule_create(actor=admin_user, data=DATA)
    deal = DealFactory(owner=rep, team=sales_team)
    RuleRun.objects.create(
        rule=rule, rule_version=1, record_type="deal", record_id=deal.pk, status=RunStatus.MATCHED
    )
    visible = {
        user.username: runs_for_record(record_type="deal", record_id=deal.pk, user=user).count()
        for user in (admin_user, manager, rep, teammate, outsider)
    }
    assert visible == {"diego": 1, "carla": 1, "ana": 1, "marco": 1, "olga": 0}
