"""Free text has a length limit, in one place (crm.limits): a form shows it as an error next to
the field, and a service refuses it too, so text that comes without a form cannot go around it.
Nothing is written either way (issue 16, item 11: a 1,000,000-character activity was stored
and its deal page grew to 1 MB)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from automations.models import Rule
from crm import services
from crm.limits import ARTICLE_MAX_LENGTH, MESSAGE_MAX_LENGTH, TEXT_MAX_LENGTH
from crm.models import Activity, Company, Event, FieldType, RecordType, Task, TicketMessage
from goals.models import Goal
from tests.crm.factories import CompanyFactory, CustomFieldFactory, DealFactory

pytestmark = pytest.mark.django_db

TOO_LONG = "x" * (TEXT_MAX_LENGTH + 1)
AT_LIMIT = "x" * TEXT_MAX_LENGTH


def field_errors(response, name: str) -> list[str]:
    form = response.context["form"]
    return form.errors.get(name, [])


# --- forms --------------------------------------------------------------------------------


def test_a_million_character_activity_is_a_form_error_and_is_not_stored(client, rep, sales_team):
    deal = DealFactory(owner=rep, team=sales_team)
    client.force_login(rep)
    url = reverse("activity-log", args=["deal", deal.pk])

    response = client.post(url, {"kind": "note", "body": "x" * 1_000_000})

    assert response.status_code == 400
    assert "body" in response.context["activity_form"].errors
    assert not Activity.objects.exists()
    assert client.post(url, {"kind": "note", "body": AT_LIMIT}).status_code == 302
    assert Activity.objects.get().body == AT_LIMIT


@pytest.mark.parametrize("field", ["notes", "address"])
def test_company_free_text_is_capped_in_the_form(client, rep, sales_team, field):
    client.force_login(rep)
    response = client.post(reverse("company-create"), {"name": "Acme", field: TOO_LONG})
    assert response.status_code != 302
    assert any("at most" in error for error in field_errors(response, field))
    assert not Company.objects.exists()


def test_task_notes_are_capped_in_the_form(client, rep):
    client.force_login(rep)
    response = client.post(
        reverse("task-new"),
        {"title": "Call", "priority": "normal", "assignee": rep.pk, "notes": TOO_LONG},
    )
    assert response.status_code == 400
    assert field_errors(response, "notes")
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    "kind, limit", [(FieldType.TEXT, 255), (FieldType.LONG_TEXT, TEXT_MAX_LENGTH)]
)
def test_custom_text_fields_are_capped_in_the_form(client, rep, sales_team, kind, limit):
    CustomFieldFactory(record_type=RecordType.DEAL, key="story", field_type=kind)
    deal = DealFactory(owner=rep, team=sales_team, name="Before")
    client.force_login(rep)
    page = client.get(reverse("deal-edit", args=[deal.pk]))
    assert f'maxlength="{limit}"' in page.content.decode()

    response = client.post(
        reverse("deal-edit", args=[deal.pk]),
        {
            "name": "After",
            "amount": "1",
            "currency": "USD",
            "exchange_rate": "1",
            "kind": "new",
            "owner": rep.pk,
            "custom__story": "x" * (limit + 1),
        },
    )

    assert response.status_code == 400
    assert field_errors(response, "custom__story")
    deal.refresh_from_db()
    assert (deal.name, deal.custom) == ("Before", {})


def test_goal_description_is_capped_in_the_form(client, manager, sales_team):
    client.force_login(manager)
    response = client.post(
        reverse("goal-new"),
        {
            "name": "Q1",
            "description": TOO_LONG,
            "owner": manager.pk,
            "scope": "company",
            "grain": "custom",
            "start_date": "2026-01-01",
            "end_date": "2026-03-31",
            "weight": "1",
            "status": "active",
        },
    )
    assert response.status_code == 400
    assert field_errors(response, "description")
    assert not Goal.objects.exists()


# --- services: the same limits without a form ---------------------------------------------


def refused(call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


def test_activity_log_refuses_a_long_body(rep, sales_team):
    deal = DealFactory(owner=rep, team=sales_team)
    errors = refused(
        lambda: services.activity_log(actor=rep, kind="note", body=TOO_LONG, deal=deal)
    )
    assert "body" in errors
    assert not Activity.objects.exists() and not Event.objects.filter(type="activity.logged")


def test_record_create_and_update_refuse_long_free_text(rep, sales_team):
    assert "notes" in refused(
        lambda: services.record_create(Company, actor=rep, data={"name": "A", "notes": TOO_LONG})
    )
    assert not Company.objects.exists()
    company = CompanyFactory(owner=rep, team=sales_team)
    assert "address" in refused(
        lambda: services.record_update(company, actor=rep, data={"address": TOO_LONG})
    )
    company.refresh_from_db()
    assert company.address == ""
    task = services.task_create(actor=rep, data={"title": "Call"})
    assert "notes" in refused(
        lambda: services.task_update(task=task, actor=rep, data={"notes": TOO_LONG})
    )


def test_ticket_messages_are_capped(rep, agent):
    ticket = services.ticket_create(actor=agent, data={"subject": "Help", "description": "Hi"})
    too_long = "x" * (MESSAGE_MAX_LENGTH + 1)
    assert "body" in refused(
        lambda: services.ticket_reply(ticket=ticket, actor=agent, body=too_long)
    )
    assert "body" in refused(lambda: services.ticket_customer_reply(ticket=ticket, body=too_long))
    assert "description" in refused(
        lambda: services.ticket_create(actor=agent, data={"subject": "S", "description": too_long})
    )
    assert TicketMessage.objects.filter(ticket=ticket).count() == 1


def test_goal_and_rule_descriptions_are_capped(manager, admin_user):
    from goals import services as goal_services

    assert "description" in refused(
        lambda: goal_services.goal_create(
            actor=manager,
            data={
                "name": "Q1",
                "description": TOO_LONG,
                "owner": manager,
                "scope": "company",
                "grain": "custom",
                "start_date": date(2026, 1, 1),
                "end_date": date(2026, 3, 31),
            },
        )
    )
    assert not Goal.objects.exists()

    from automations import services as rule_services

    trigger = {"type": "field.changed", "record_type": "deal", "field": "status", "to": "won"}
    assert "description" in refused(
        lambda: rule_services.rule_create(
            actor=admin_user,
            data={
                "name": "Won",
                "description": TOO_LONG,
                "trigger": trigger,
                "actions": [{"type": "set_lifecycle", "lifecycle": "customer"}],
            },
        )
    )
    assert not Rule.objects.filter(name="Won").exists()


def test_knowledge_articles_keep_their_longer_limit(agent):
    from crm.services.knowledge import MAX_BODY_LENGTH

    assert MAX_BODY_LENGTH == ARTICLE_MAX_LENGTH > TEXT_MAX_LENGTH
