"""Contact pages: list with filters, search and columns, forms with custom fields, detail."""

import pytest
from django.urls import reverse

from crm import services
from crm.models import Contact, ContactStage
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    TaskFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db

LIST = "/contacts/"


@pytest.fixture
def ana(client, rep, sales_team):
    client.force_login(rep)
    return rep


@pytest.fixture
def tier(db):
    return CustomFieldFactory(
        record_type="contact",
        key="tier",
        label="Tier",
        field_type="select",
        choices=["Gold", "Silver"],
    )


def names(response) -> list[str]:
    return [row["record"].name for row in response.context["rows"]]


def contact_data(**overrides) -> dict:
    data = {
        "first_name": "Jane",
        "last_name": "Roe",
        "email": "jane@roe.example",
        "phone": "555-0101",
        "title": "CTO",
        "company": "",
        "lifecycle_stage": ContactStage.LEAD,
        "owner": "",
        "team": "",
    }
    data.update(overrides)
    return data


def test_list_search_box_finds_by_name_email_phone_and_company(client, ana):
    acme = CompanyFactory(name="Acme Widgets")
    ContactFactory(first_name="Zoe", last_name="Quill", phone="555-999", company=acme, owner=ana)
    ContactFactory(first_name="Other", last_name="Person", owner=ana)

    for term in ("quill", "Zoe Quill", "555-999", "acme wid"):
        assert names(client.get(LIST, {"q": term})) == ["Zoe Quill"], term


def test_list_filters_by_stage_owner_and_custom_field(client, ana, teammate, tier):
    ContactFactory(
        first_name="Gold",
        last_name="One",
        owner=ana,
        lifecycle_stage=ContactStage.CUSTOMER,
        custom={"tier": "Gold"},
    )
    ContactFactory(
        first_name="Silver",
        last_name="Two",
        owner=ana,
        lifecycle_stage=ContactStage.CUSTOMER,
        custom={"tier": "Silver"},
    )
    ContactFactory(first_name="Mate", last_name="Three", owner=teammate, custom={"tier": "Gold"})

    assert names(client.get(LIST, {"custom__tier": "Gold", "owner": ana.pk})) == ["Gold One"]
    assert names(client.get(LIST, {"lifecycle_stage": "customer", "sort": "last_name"})) == [
        "Gold One",
        "Silver Two",
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"custom__tier": "Bronze"},
        {"owner": "x"},
        {"lifecycle_stage": "zzz"},
        {"created_before": "31/31/2020"},
        {"page": "-1"},
        {"sort": "owner__password"},
    ],
)
def test_bad_filter_values_never_fail(client, ana, tier, params):
    assert client.get(LIST, params).status_code == 200


def test_custom_field_column_is_shown_when_chosen(client, ana, tier):
    ContactFactory(last_name="Tiered", first_name="", owner=ana, custom={"tier": "Silver"})

    client.post(reverse("contact-columns"), {"columns": ["name", "custom__tier"]})
    response = client.get(LIST)

    assert [h["column"].label for h in response.context["headers"]] == ["Name", "Tier"]
    assert [c["value"] for c in response.context["rows"][0]["cells"]] == ["Tiered", "Silver"]


@pytest.mark.parametrize("rows", [3, 30])
def test_list_runs_a_constant_number_of_queries(
    client, ana, sales_team, tier, rows, django_assert_max_num_queries
):
    for _ in range(rows):
        ContactFactory(owner=ana, team=sales_team, custom={"tier": "Gold"})
    ana.preferences = {
        "columns": {"contacts": ["name", "company", "owner", "team", "custom__tier"]}
    }
    ana.save()

    with django_assert_max_num_queries(14):
        response = client.get(LIST, {"q": "a", "sort": "company"})

    assert response.status_code == 200


def test_create_contact_with_custom_field(client, ana, sales_team, tier):
    company = CompanyFactory(owner=ana, team=sales_team)

    response = client.post(
        reverse("contact-create"), contact_data(company=company.pk, custom__tier="Gold")
    )

    contact = Contact.objects.get()
    assert response.status_code == 302
    assert (contact.company, contact.owner, contact.custom) == (company, ana, {"tier": "Gold"})


def test_create_form_keeps_input_and_shows_errors(client, ana, tier):
    response = client.post(
        reverse("contact-create"), contact_data(last_name="", custom__tier="Platinum")
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert "last_name" in form.errors
    assert "custom__tier" in form.errors
    assert 'value="jane@roe.example"' in response.content.decode()
    assert not Contact.objects.exists()


def test_company_choices_are_only_visible_companies(client, ana, outsider, other_team):
    hidden = CompanyFactory(owner=outsider, team=other_team)

    response = client.post(reverse("contact-create"), contact_data(company=hidden.pk))

    assert response.status_code == 400
    assert "company" in response.context["form"].errors
    assert not Contact.objects.exists()


def test_edit_contact(client, ana, tier):
    contact = ContactFactory(owner=ana, custom={"tier": "Gold"})

    response = client.post(
        reverse("contact-edit", args=[contact.pk]),
        contact_data(last_name="Renamed", custom__tier=""),
    )

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.last_name == "Renamed"
    assert contact.custom == {}


def test_detail_gathers_deals_tickets_and_tasks(client, ana, sales_team, tier):
    contact = ContactFactory(owner=ana, team=sales_team, custom={"tier": "Gold"})
    deal = DealFactory(contact=contact, company=contact.company, owner=ana, team=sales_team)
    ticket = TicketFactory(contact=contact, team=sales_team, assignee=ana)
    task = TaskFactory(contact=contact, assignee=ana)
    services.task_complete(task=TaskFactory(contact=contact, assignee=ana), actor=ana)

    response = client.get(reverse("contact-detail", args=[contact.pk]))

    assert response.status_code == 200
    assert response.context["deals"] == [deal]
    assert response.context["tickets"] == [ticket]
    assert list(response.context["panel_tasks"]) == [task]  # open tasks, in the panels
    assert ("Tier", "Gold") in response.context["custom_values"]
    assert response.context["panel_record"] == contact


def test_detail_hides_related_records_of_another_team(
    client, ana, sales_team, outsider, other_team
):
    contact = ContactFactory(owner=ana, team=sales_team, company=None)
    DealFactory(contact=contact, owner=outsider, team=other_team)

    response = client.get(reverse("contact-detail", args=[contact.pk]))

    assert response.context["deals"] == []


def test_bulk_assign_owner(client, ana, teammate):
    contacts = [ContactFactory(owner=ana) for _ in range(2)]

    client.post(
        reverse("contact-bulk"),
        {"ids": [c.pk for c in contacts], "action": "assign_owner", "owner": teammate.pk},
    )

    assert {c.owner for c in Contact.objects.all()} == {teammate}


def test_bad_ids_answer_404(client, ana):
    assert client.get("/contacts/424242/").status_code == 404
    assert client.get("/contacts/424242/edit/").status_code == 404
