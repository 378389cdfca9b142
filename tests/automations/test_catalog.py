"""The catalog: which fields a rule may name, and clear errors for rules the engine cannot run."""

import random

import pytest
from django.core.exceptions import ValidationError

from automations.catalog import clean_value, fields_by_path, fields_for, validate_rule
from crm.models import FieldType, RecordType
from tests.crm.factories import CustomFieldFactory, stage_named

pytestmark = pytest.mark.django_db

WON_DEAL = {"type": "field.changed", "record_type": "deal", "field": "status", "to": "won"}
LIFECYCLE = [{"type": "set_lifecycle", "lifecycle": "customer"}]


def errors_of(**rule) -> dict:
    rule = {"trigger": WON_DEAL, "conditions": {}, "actions": LIFECYCLE, **rule}
    with pytest.raises(ValidationError) as raised:
        validate_rule(**rule)
    return raised.value.message_dict


def test_deal_fields_include_relations_choices_and_custom_fields(rep, sales_team):
    CustomFieldFactory(
        record_type=RecordType.DEAL,
        key="region",
        label="Region",
        field_type=FieldType.SELECT,
        choices=["north", "south"],
    )
    CustomFieldFactory(record_type=RecordType.COMPANY, key="tier", field_type=FieldType.NUMBER)
    CustomFieldFactory(record_type=RecordType.DEAL, key="old", is_active=False)
    specs = fields_by_path("deal")
    assert specs["amount"].type == "money"
    assert specs["expected_close_date"].type == "date"
    assert specs["status"].type == "choice" and ("won", "Won") in specs["status"].choices
    assert specs["stage"].type == "stage"
    assert (str(stage_named("Won").pk), str(stage_named("Won"))) in specs["stage"].choices
    assert specs["owner"].type == "user" and (str(rep.pk), str(rep)) in specs["owner"].choices
    assert specs["team"].choices == ((str(sales_team.pk), "Sales"),)
    assert specs["custom.region"].choices == (("north", "north"), ("south", "south"))
    assert specs["company.lifecycle"].type == "choice"
    assert specs["company.custom.tier"].type == "number"
    assert specs["owner.email"].type == "text"
    assert "custom.old" not in specs
    assert specs["amount"].writable and not specs["status"].writable


def test_each_record_type_has_fields_and_unknown_types_have_none():
    for record_type in ("lead", "contact", "company", "deal", "task", "ticket", "activity"):
        assert fields_for(record_type), record_type
    assert fields_for("nonsense") == [] and fields_for(None) == []
    assert "company.name" not in fields_by_path("lead")  # a lead has no company


def test_a_good_rule_passes():
    validate_rule(
        trigger=WON_DEAL,
        conditions={
            "match": "all",
            "rows": [
                {"field": "amount", "op": "gte", "value": "1000"},
                {"match": "any", "rows": [{"field": "kind", "op": "in", "value": ["renewal"]}]},
            ],
        },
        actions=LIFECYCLE + [{"type": "notify", "to": "owner", "title": "Won"}],
    )


def test_unknown_trigger_and_missing_record_type():
    assert "not a trigger" in errors_of(trigger={"type": "moon.phase"})["trigger"][0]
    assert "record type" in errors_of(trigger={"type": "record.created"})["trigger"][0]


def test_field_changed_from_a_value_to_the_same_value_is_contradictory():
    trigger = {**WON_DEAL, "from": "won"}
    assert "never run" in errors_of(trigger=trigger)["trigger"][0]


def test_change_operators_on_a_time_trigger_are_refused():
    trigger = {"type": "no_activity", "record_type": "deal", "days": 14}
    conditions = {"match": "all", "rows": [{"field": "stage", "op": "changed"}]}
    message = errors_of(trigger=trigger, conditions=conditions)["conditions"][0]
    assert message.startswith("Condition 1:") and "change" in message


def test_operator_that_does_not_fit_the_field_and_value_of_the_wrong_type():
    conditions = {
        "match": "all",
        "rows": [
            {"field": "name", "op": "gt", "value": "x"},
            {"match": "any", "rows": [{"field": "amount", "op": "gte", "value": "lots"}]},
            {"field": "status", "op": "eq", "value": "maybe"},
            {"field": "nope", "op": "eq", "value": "1"},
        ],
    }
    messages = errors_of(conditions=conditions)["conditions"]
    assert messages[0].startswith("Condition 1:") and "does not fit" in messages[0]
    assert messages[1].startswith("Condition 2.1:") and "number" in messages[1]
    assert "not one of the values" in messages[2]
    assert "choose a field" in messages[3]


def test_time_and_schedule_parameters_are_checked():
    bad_offset = {
        "type": "date.reached",
        "record_type": "deal",
        "field": "expected_close_date",
        "offset_days": 9999,
    }
    assert "offset" in errors_of(trigger=bad_offset)["trigger"][0]
    not_a_date = {**bad_offset, "field": "name", "offset_days": -3}
    assert "date field" in errors_of(trigger=not_a_date)["trigger"][0]
    assert "schedule" in errors_of(trigger={"type": "schedule", "cron": "61 * * * *"})["trigger"][0]
    assert "schedule" in errors_of(trigger={"type": "schedule", "cron": "* *"})["trigger"][0]
    validate_rule(
        trigger={"type": "schedule", "cron": "0 9 * * 1"},
        conditions={},
        actions=[{"type": "webhook", "url": "https://example.com/hook"}],
    )


def test_survey_range_and_kpi_threshold():
    survey = {"type": "survey.answered", "kind": "csat", "min": 4, "max": 2}
    assert "no answer could match" in errors_of(trigger=survey)["trigger"][0]
    survey = {"type": "survey.answered", "kind": "csat", "min": 0}
    assert "1 to 5" in errors_of(trigger=survey)["trigger"][0]
    kpi = {"type": "kpi.threshold", "kpi": "nope", "op": "sideways", "value": "x"}
    assert len(errors_of(trigger=kpi)["trigger"]) == 3


def test_conditions_need_a_record():
    trigger = {"type": "schedule", "cron": "0 9 * * *"}
    conditions = {"match": "all", "rows": [{"field": "amount", "op": "eq", "value": "1"}]}
    assert "no record" in errors_of(trigger=trigger, conditions=conditions)["conditions"][0]


def test_action_errors():
    lead_created = {"type": "record.created", "record_type": "lead"}
    messages = errors_of(
        trigger=lead_created,
        actions=[
            {"type": "set_lifecycle", "lifecycle": "customer"},
            {"type": "assign_owner", "strategy": "round_robin", "team": 999999},
            {"type": "webhook", "url": "ftp://example.com"},
            {"type": "create_task", "title": "", "assignee": "user:999999"},
            {"type": "explode"},
        ],
    )["actions"]
    assert messages[0].startswith("Action 1:") and "no company" in messages[0]
    assert "existing team" in messages[1]
    assert "http" in messages[2]
    assert any(m.startswith("Action 4:") and "title" in m for m in messages)
    assert any(m.startswith("Action 4:") and "active user" in m for m in messages)
    assert messages[-1].startswith("Action 5:") and "not an action" in messages[-1]


def test_an_empty_action_list_is_refused():
    assert "at least one action" in errors_of(actions=[])["actions"][0]


def test_update_field_takes_custom_fields_and_checks_the_value():
    CustomFieldFactory(record_type=RecordType.DEAL, key="score", field_type=FieldType.NUMBER)
    validate_rule(
        trigger=WON_DEAL,
        conditions={},
        actions=[{"type": "update_field", "field": "custom.score", "value": "7"}],
    )
    action = {"type": "update_field", "field": "custom.score", "value": "seven"}
    assert "number" in errors_of(actions=[action])["actions"][0]
    action = {"type": "update_field", "field": "status", "value": "won"}
    assert "can be changed" in errors_of(actions=[action])["actions"][0]


def test_values_are_cleaned_to_their_canonical_form():
    specs = fields_by_path("deal")
    assert clean_value(specs["amount"], "1000") == "1000.00"
    assert clean_value(specs["stage"], str(stage_named("Won").pk)) == stage_named("Won").pk
    assert clean_value(specs["expected_close_date"], "2026-03-31") == "2026-03-31"


HOSTILE_LEAVES = [
    None,
    True,
    0,
    -1,
    10**20,
    1.5e308,
    float("nan"),
    "",
    "x" * 5000,
    "eq",
    "in",
    "won",
    "deal",
    "custom.",
    "owner",
    "0 9 * * 1",
    "user:abc",
    "http://",
    {},
    [],
]
KEYS = [
    "type",
    "record_type",
    "field",
    "from",
    "to",
    "op",
    "value",
    "rows",
    "match",
    "kind",
    "min",
    "max",
    "kinds",
    "offset_days",
    "days",
    "cron",
    "kpi",
    "segment",
    "url",
    "strategy",
    "team",
    "user",
    "assignee",
    "title",
    "lifecycle",
    "due_in_hours",
]


def hostile(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth > 3 or roll < 0.4:
        return rng.choice(HOSTILE_LEAVES)
    if roll < 0.6:
        return [hostile(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(KEYS): hostile(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def hostile_dict(rng: random.Random) -> dict:
    value = hostile(rng)
    return value if isinstance(value, dict) else {}


def test_hostile_input_only_ever_raises_validation_error():
    rng = random.Random(11)
    for _ in range(400):
        shapes = [hostile(rng) for _ in range(3)]
        if rng.random() < 0.5:  # keep a valid trigger so the checks go deeper
            shapes[0] = {**WON_DEAL, **(shapes[0] if isinstance(shapes[0], dict) else {})}
        try:
            validate_rule(trigger=shapes[0], conditions=shapes[1], actions=shapes[2])
        except ValidationError:
            pass


def test_hostile_condition_rows_only_ever_raise_validation_error():
    rng = random.Random(12)
    for _ in range(400):
        row = {
            "field": rng.choice(["amount", "stage", "status", "name", "owner", "custom.x"]),
            "op": rng.choice(["eq", "in", "gte", "changed_to", "contains", "??", None]),
            "value": hostile(rng),
        }
        try:
            validate_rule(
                trigger=WON_DEAL,
                conditions={"match": "any", "rows": [row, {"match": "all", "rows": [row]}]},
                actions=[{**hostile_dict(rng), "type": rng.choice(["update_field", "notify"])}]
                if rng.random() < 0.5
                else LIFECYCLE,
            )
        except ValidationError:
            pass
