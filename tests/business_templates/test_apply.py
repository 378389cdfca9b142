"""Business templates: every shipped file is valid; each applies on an empty and on a used
installation, twice, adding each item once and never changing what is already there; a file
with an error is refused with a message naming the file and the place, and nothing is written."""

import json
import shutil
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from automations.models import Rule
from business_templates import loader, services
from business_templates.loader import TemplateError, available, load, load_file
from business_templates.models import AppliedItem
from business_templates.services import Status, template_apply, template_plan
from crm.models import CustomField, Deal, Pipeline, SLAPolicy, Stage
from crm.services import pipelines as pipeline_services
from goals.models import Goal, GoalStatus, Target
from metrics.models import Dashboard, DashboardCard
from metrics.services import dashboard_delete
from tests.crm.factories import CustomFieldFactory, DealFactory, TicketFactory

pytestmark = pytest.mark.django_db

TEMPLATES = ("agency", "b2b_saas", "ecommerce")
COUNTED = (Pipeline, Stage, CustomField, SLAPolicy, Dashboard, DashboardCard, Rule, Goal, Target)


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in (*COUNTED, AppliedItem, Deal)}


def apply(key: str, actor, language: str = "en"):
    return template_apply(template=load(key), language=language, actor=actor)


def used_installation(actor) -> dict:
    """Records, an SLA policy and custom fields a team set up before choosing a template."""
    DealFactory.create_batch(3)
    TicketFactory()
    SLAPolicy.objects.update_or_create(
        priority="urgent",
        defaults={"first_response_hours": Decimal("3"), "resolution_hours": Decimal("30")},
    )
    mine = {}
    for key in TEMPLATES:
        field = load(key).data["custom_fields"][0]
        mine[key] = CustomField.objects.get_or_create(
            record_type=field["record_type"],
            key=field["key"],
            defaults={"label": "Ours", "field_type": "text"},
        )[0]
    return mine


def test_the_three_templates_are_shipped():
    assert set(TEMPLATES) <= set(available())


@pytest.mark.parametrize("key", TEMPLATES)
def test_each_shipped_template_file_is_valid_in_every_language(key):
    template = load(key)

    for section in ("pipelines", "custom_fields", "sla_policies", "dashboards", "automations"):
        assert template.data[section], section
    assert template.data["goals"]
    assert {template.text("name", lang) for lang in loader.LANGUAGES}


@pytest.mark.parametrize("key", TEMPLATES)
def test_each_template_applies_on_an_empty_installation_twice(key, admin_user):
    before = counts()

    first = apply(key, admin_user)
    after_first = counts()
    second = apply(key, admin_user)

    # A new installation already has SLA policies (its migration's): they stay as they are.
    assert [i for i in first.items if i.status != Status.ADDED] == [
        i for i in first.items if i.kind == "sla" and i.status == Status.PRESENT
    ]
    assert after_first["AppliedItem"] == len(first.with_status(Status.ADDED))
    assert after_first["Pipeline"] > before["Pipeline"]
    assert second.with_status(Status.ADDED) == []
    assert [item.status for item in second.items] == [Status.PRESENT] * len(second.items)
    assert counts() == after_first


@pytest.mark.parametrize("key", TEMPLATES)
def test_each_template_applies_on_a_used_installation_twice_leaving_what_exists(key, admin_user):
    mine = used_installation(admin_user)
    deals = list(Deal.objects.values_list("pk", "name", "stage_id", "amount").order_by("pk"))

    first = apply(key, admin_user)
    after_first = counts()
    second = apply(key, admin_user)

    field = CustomField.objects.get(pk=mine[key].pk)
    assert (field.label, field.field_type) == ("Ours", "text")
    urgent = SLAPolicy.objects.get(priority="urgent")
    assert (urgent.first_response_hours, urgent.resolution_hours) == (3, 30)
    statuses = {(item.kind, item.key): item.status for item in first.items}
    assert statuses["sla", "urgent"] == Status.PRESENT
    assert statuses["field", f"{field.record_type}.{field.key}"] == Status.PRESENT
    assert first.with_status(Status.ADDED)
    assert list(Deal.objects.values_list("pk", "name", "stage_id", "amount").order_by("pk")) == (
        deals
    )
    assert second.with_status(Status.ADDED) == []
    assert counts() == after_first


def test_all_three_templates_apply_one_after_the_other(admin_user):
    for key in TEMPLATES:
        apply(key, admin_user)
    after = counts()
    for key in TEMPLATES:
        assert apply(key, admin_user).with_status(Status.ADDED) == []
    assert counts() == after


def test_rules_are_added_disabled_and_goals_as_drafts_with_their_targets(admin_user):
    apply("b2b_saas", admin_user)

    rules = Rule.objects.filter(template_key__startswith="b2b_saas.")
    assert rules.count() == 2
    assert not rules.filter(enabled=True).exists()
    goals = Goal.objects.filter(pk__in=AppliedItem.objects.filter(kind="goal").values("object_id"))
    assert {goal.status for goal in goals} == {GoalStatus.DRAFT}
    assert {goal.grain for goal in goals} == {"quarter"}
    assert set(Target.objects.filter(goal__in=goals).values_list("kpi_key", flat=True)) >= {
        "net_new_revenue",
        "renewal_rate",
        "churn_rate",
    }
    renewals = Pipeline.objects.get(name="Renewals")
    assert list(renewals.stages.values_list("name", "probability", "outcome")) == [
        ("Renewal due", 60, "open"),
        ("In conversation", 70, "open"),
        ("Verbal yes", 90, "open"),
        ("Renewed", 100, "won"),
        ("Churned", 0, "lost"),
    ]
    dashboard = Dashboard.objects.get(name="SaaS revenue (MRR)", owner=admin_user)
    assert list(dashboard.cards.values_list("key", flat=True)) == [
        "mrr",
        "mrr_growth_rate",
        "net_new_revenue",
        "mrr_movement",
    ]


def test_an_item_renamed_since_is_neither_renamed_back_nor_added_again(admin_user):
    apply("b2b_saas", admin_user)
    renewals = Pipeline.objects.get(name="Renewals")
    pipeline_services.pipeline_update(
        pipeline=renewals, actor=admin_user, data={"name": "Contract renewals"}
    )

    plan = apply("b2b_saas", admin_user)

    assert not Pipeline.objects.filter(name="Renewals").exists()
    assert Pipeline.objects.get(pk=renewals.pk).name == "Contract renewals"
    item = next(item for item in plan.items if item.key == "renewals")
    assert (item.status, item.label) == (Status.PRESENT, "Contract renewals")


def test_an_item_deleted_since_stays_deleted(admin_user):
    apply("ecommerce", admin_user)
    dashboard = Dashboard.objects.get(name="Customer service SLAs")
    dashboard_delete(dashboard=dashboard, actor=admin_user)

    plan = apply("ecommerce", admin_user)

    assert not Dashboard.objects.filter(name="Customer service SLAs").exists()
    assert next(item for item in plan.items if item.key == "support").status == Status.REMOVED


def test_a_template_is_applied_in_the_installations_language(admin_user, settings):
    settings.LANGUAGE_CODE = "pt-br"

    call_command("apply_template", "b2b_saas", stdout=StringIO())

    assert Pipeline.objects.filter(name="Renovações").exists()
    assert CustomField.objects.get(record_type="deal", key="plan").choices == [
        "Inicial",
        "Crescimento",
        "Empresarial",
    ]
    assert Rule.objects.get(template_key="b2b_saas.onboarding").name.startswith("Negócio SaaS")


def test_applied_in_one_language_then_another_adds_nothing_twice(admin_user):
    apply("agency", admin_user, language="it")
    after = counts()

    plan = apply("agency", admin_user, language="es")

    assert plan.with_status(Status.ADDED) == []
    assert counts() == after
    assert Pipeline.objects.filter(name="Progetti").exists()


def test_preview_lists_what_would_be_added_and_writes_nothing(admin_user):
    used_installation(admin_user)
    before = counts()

    plan = template_plan(template=load("b2b_saas"), language="en", actor=admin_user)

    assert counts() == before
    assert {item.status for item in plan.items} == {Status.TO_ADD, Status.PRESENT}
    assert ("sla", "urgent") in {(i.kind, i.key) for i in plan.with_status(Status.PRESENT)}


def test_the_command_lists_added_then_already_there(admin_user):
    out = StringIO()
    call_command("apply_template", "agency", stdout=out)
    assert "added" in out.getvalue()
    assert "Pipeline: Projects" in out.getvalue()

    again = StringIO()
    call_command("apply_template", "agency", stdout=again)
    assert "added 0, already there" in again.getvalue()


def test_the_command_preview_writes_nothing(admin_user):
    before = counts()
    out = StringIO()

    call_command("apply_template", "ecommerce", "--preview", stdout=out)

    assert "would add" in out.getvalue()
    assert counts() == before


def test_the_command_refuses_an_unknown_template_and_a_non_admin(admin_user, rep):
    with pytest.raises(CommandError, match="No template 'crm_for_cats'"):
        call_command("apply_template", "crm_for_cats")
    with pytest.raises(CommandError, match="not an active admin"):
        call_command("apply_template", "agency", "--user", rep.username)
    assert AppliedItem.objects.count() == 0


def test_only_an_admin_may_apply_through_the_service(manager):
    with pytest.raises(PermissionDenied):
        apply("agency", manager)
    assert AppliedItem.objects.count() == 0


def test_the_command_needs_an_admin_to_exist(db):
    with pytest.raises(CommandError, match="No active admin"):
        call_command("apply_template", "agency")


# --- a template with an error ---------------------------------------------------------------


def broken_copy(directory, key: str, breaking) -> None:
    """`key`'s file copied into `directory` and changed by `breaking(data)`."""
    data = json.loads((loader.DATA_DIR / f"{key}.json").read_text())
    breaking(data)
    (directory / f"{key}.json").write_text(json.dumps(data))


def break_several_things(data):
    data["pipelines"][0]["stages"][0]["probability"] = 150
    data["dashboards"][0]["cards"][0]["key"] = "happiness_index"
    del data["custom_fields"][1]["label"]["it"]


def test_a_template_with_errors_is_refused_naming_the_file_and_each_place(tmp_path, admin_user):
    broken_copy(tmp_path, "b2b_saas", break_several_things)

    with pytest.raises(TemplateError) as refused:
        load_file(tmp_path / "b2b_saas.json")

    assert refused.value.messages == [
        "b2b_saas.json: pipelines[0].stages[0].probability: must be a whole number from 0 to 100.",
        "b2b_saas.json: custom_fields[1].label: must give the text in en, pt-br, es, it.",
        "b2b_saas.json: dashboards[0].cards[0].key: 'happiness_index' is no kpi.",
    ]


@pytest.mark.parametrize(
    ("breaking", "message"),
    [
        (lambda d: d.update(format=2), "b2b_saas.json: format: must be 1."),
        (lambda d: d.update(key="other"), "b2b_saas.json: key: must be the file's name"),
        (lambda d: d.update(extra=1), "b2b_saas.json: (file): 'extra' is not a known entry."),
        (
            lambda d: d["pipelines"][1]["stages"].pop(),
            "pipelines[1].stages: needs at least one open, one won and one lost stage.",
        ),
        (
            lambda d: d["pipelines"][0]["stages"][5].update(probability=90),
            "pipelines[0].stages[5].probability: a won stage has a probability of 100.",
        ),
        (
            lambda d: d["custom_fields"][0].update(field_type="colour"),
            "custom_fields[0].field_type: must be one of",
        ),
        (
            lambda d: d["automations"][0]["trigger"].update(type="moon.phase"),
            "automations[0].trigger (en)",
        ),
        (
            lambda d: d["goals"][1]["targets"][1].update(target_value=9),
            "goals[1].targets[1].target_value: must lie in the target's direction",
        ),
        (
            lambda d: d["sla_policies"].append(d["sla_policies"][0]),
            "sla_policies: 'urgent' appears twice.",
        ),
        (lambda d: d.update(goals={"a": 1}), "goals: must be a list."),
    ],
)
def test_each_kind_of_error_is_named(tmp_path, admin_user, breaking, message):
    broken_copy(tmp_path, "b2b_saas", breaking)

    with pytest.raises(TemplateError) as refused:
        load_file(tmp_path / "b2b_saas.json")

    assert any(message in line for line in refused.value.messages), refused.value.messages


def test_a_file_that_is_not_json_is_refused(tmp_path):
    (tmp_path / "agency.json").write_text('{"format": 1,')

    with pytest.raises(TemplateError, match=r"^agency.json: not valid JSON"):
        load_file(tmp_path / "agency.json")


def test_the_command_refuses_a_broken_template_and_writes_nothing(
    tmp_path, admin_user, monkeypatch
):
    for key in TEMPLATES:
        shutil.copy(loader.DATA_DIR / f"{key}.json", tmp_path)
    broken_copy(tmp_path, "agency", break_several_things)
    monkeypatch.setattr(loader, "DATA_DIR", tmp_path)
    before = counts()

    with pytest.raises(CommandError) as refused:
        call_command("apply_template", "agency", stdout=StringIO())

    assert "nothing was written" in str(refused.value)
    assert "agency.json: pipelines[0].stages[0].probability" in str(refused.value)
    assert counts() == before


def test_a_refusal_halfway_through_rolls_everything_back(admin_user, monkeypatch):
    def refuse(spec, **kwargs):
        raise ValidationError({"name": "refused for the test"})

    monkeypatch.setattr(services, "_add_goal", refuse)
    before = counts()

    with pytest.raises(TemplateError) as refused:
        apply("b2b_saas", admin_user)

    assert refused.value.messages == [
        "b2b_saas.json: Goal (draft) “Quarterly revenue”: name: refused for the test"
    ]
    assert counts() == before


def test_the_same_item_is_recorded_once_by_the_database(admin_user):
    from django.db import IntegrityError, transaction

    apply("agency", admin_user)
    row = AppliedItem.objects.first()

    with pytest.raises(IntegrityError), transaction.atomic():
        AppliedItem.objects.create(
            template=row.template, kind=row.kind, key=row.key, object_id=1, label="again"
        )


def test_a_custom_field_of_another_type_with_the_same_key_is_kept(admin_user):
    CustomFieldFactory(record_type="contact", key="orders_count", field_type="text", label="N")

    apply("ecommerce", admin_user)

    field = CustomField.objects.get(record_type="contact", key="orders_count")
    assert (field.field_type, field.label) == ("text", "N")
