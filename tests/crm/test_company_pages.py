"""Company pages: list with filters and search, forms with custom fields, detail page."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils.formats import date_format

from crm import access
from crm.filters import DealFilter
from crm.models import Company, Deal, Industry
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    SubscriptionFactory,
    TaskFactory,
    TicketFactory,
    default_pipeline,
)

pytestmark = pytest.mark.django_db

LIST = "/companies/"


@pytest.fixture
def ana(client, rep, sales_team):
    client.force_login(rep)
    return rep


@pytest.fixture
def employees(db):
    return CustomFieldFactory(
        record_type="company", key="employees", label="Employees", field_type="number"
    )


def names(response) -> list[str]:
    return [row["record"].name for row in response.context["rows"]]


def company_data(**overrides) -> dict:
    data = {
        "name": "Roe Inc",
        "domain": "Roe.Example",
        "industry": Industry.RETAIL,
        "size_band": "",
        "owner": "",
        "team": "",
        "address": "",
        "notes": "",
    }
    data.update(overrides)
    return data


def test_list_is_sorted_by_name_and_searchable(client, ana):
    CompanyFactory(name="Beta", domain="beta.example", owner=ana)
    CompanyFactory(name="Alpha", domain="alpha.example", owner=ana)

    assert names(client.get(LIST)) == ["Alpha", "Beta"]
    assert names(client.get(LIST, {"q": "beta.ex"})) == ["Beta"]
    assert names(client.get(LIST, {"sort": "-name"})) == ["Beta", "Alpha"]


def test_list_filters_by_industry_and_custom_number_range(client, ana, employees):
    CompanyFactory(name="Big", owner=ana, industry=Industry.RETAIL, custom={"employees": 500})
    CompanyFactory(name="Small", owner=ana, industry=Industry.RETAIL, custom={"employees": 5})
    CompanyFactory(name="Bank", owner=ana, industry=Industry.FINANCE, custom={"employees": 900})

    response = client.get(LIST, {"industry": "retail", "custom__employees__min": "100"})

    assert names(response) == ["Big"]


@pytest.mark.parametrize(
    "params",
    [
        {"custom__employees__min": "many"},
        {"industry": "mining"},
        {"team": "abc"},
        {"lifecycle": "x"},
        {"page": "0"},
    ],
)
def test_bad_filter_values_never_fail(client, ana, employees, params):
    assert client.get(LIST, params).status_code == 200


def test_custom_column_chosen_by_user(client, ana, employees):
    CompanyFactory(name="Counted", owner=ana, custom={"employees": 42})

    client.post(reverse("company-columns"), {"columns": ["name", "custom__employees"]})

    response = client.get(LIST)
    assert [c["value"] for c in response.context["rows"][0]["cells"]] == ["Counted", 42]


@pytest.mark.parametrize("direction", ["", "-"])
def test_list_sorted_by_customer_since_pages_through_non_customers_last(
    client, ana, sales_team, direction
):
    owned = {"owner": ana, "team": sales_team}
    since = datetime(2024, 1, 1, tzinfo=UTC)
    customers = [
        CompanyFactory(
            name=f"Customer {n:02}",
            lifecycle="customer",
            customer_since=since + timedelta(days=n),
            **owned,
        )
        for n in range(30)
    ]
    prospects = [CompanyFactory(name=f"Prospect {n:02}", **owned) for n in range(25)]
    sort = {"sort": f"{direction}customer_since"}

    shown = [names(client.get(LIST, {**sort, "page": page})) for page in (1, 2, 3)]

    valued = [company.name for company in customers]
    empty = [company.name for company in prospects]
    if direction:
        valued, empty = valued[::-1], empty[::-1]
    assert shown == [valued[:25], valued[25:] + empty[:20], empty[20:]]


@pytest.mark.parametrize("rows", [3, 30])
def test_list_runs_a_constant_number_of_queries(
    client, ana, sales_team, employees, rows, django_assert_max_num_queries
):
    for number in range(rows):
        CompanyFactory(owner=ana, team=sales_team, custom={"employees": number})
    ana.preferences = {"columns": {"companies": ["name", "owner", "team", "custom__employees"]}}
    ana.save()

    with django_assert_max_num_queries(14):
        response = client.get(LIST, {"sort": "custom__employees"})

    assert response.status_code == 200


def test_create_company_with_custom_field(client, ana, employees):
    response = client.post(reverse("company-create"), company_data(custom__employees="12"))

    company = Company.objects.get()
    assert response.status_code == 302
    assert company.domain == "roe.example"
    assert company.custom == {"employees": 12}
    assert company.owner == ana


def test_create_form_keeps_input_on_error(client, ana, employees):
    response = client.post(
        reverse("company-create"), company_data(name="", custom__employees="twelve")
    )

    assert response.status_code == 400
    assert {"name", "custom__employees"} <= set(response.context["form"].errors)
    assert 'value="twelve"' in response.content.decode()
    assert not Company.objects.exists()


def test_edit_company(client, ana):
    company = CompanyFactory(owner=ana)

    response = client.post(reverse("company-edit", args=[company.pk]), company_data(name="New"))

    assert response.status_code == 302
    company.refresh_from_db()
    assert company.name == "New"


def test_detail_gathers_contacts_deals_tickets_subscriptions_and_tasks(client, ana, sales_team):
    company = CompanyFactory(owner=ana, team=sales_team)
    contact = ContactFactory(company=company, owner=ana)
    deal = DealFactory(company=company, owner=ana)
    ticket = TicketFactory(contact=contact, company=company, assignee=ana)
    subscription = SubscriptionFactory(company=company)
    task = TaskFactory(company=company, assignee=ana)

    response = client.get(reverse("company-detail", args=[company.pk]))

    assert response.status_code == 200
    context = response.context
    assert context["contacts"] == [contact]
    assert context["deals"] == [deal]
    assert context["tickets"] == [ticket]
    assert context["subscriptions"] == [subscription]
    assert list(context["panel_tasks"]) == [task]  # open tasks, in the panels
    assert context["panel_record"] == company
    templates = [t.name for t in response.templates]
    assert "metrics/_company_health.html" in templates
    assert "crm/_record_panels.html" in templates


def test_detail_shows_each_subscriptions_renewal_date(client, ana, sales_team):
    company = CompanyFactory(owner=ana, team=sales_team)
    SubscriptionFactory(
        company=company, start_date=date(2026, 1, 1), term_end=date(2027, 1, 1), plan_name="Pro"
    )
    SubscriptionFactory(company=company, start_date=date(2025, 1, 1), plan_name="Basic")

    response = client.get(reverse("company-detail", args=[company.pk]))

    cells = re.findall(r'data-testid="subscription-term-end">([^<]*)<', response.content.decode())
    # Newest first: a renewal date, then a month-to-month subscription without one.
    assert cells == [date_format(date(2027, 1, 1), "SHORT_DATE_FORMAT"), "Month-to-month"]


def test_new_contact_link_prefills_the_company(client, ana, sales_team):
    company = CompanyFactory(owner=ana, team=sales_team)

    response = client.get(reverse("contact-create"), {"company": company.pk})

    assert response.context["form"]["company"].value() == str(company.pk)


def test_bulk_assign_owner(client, ana, teammate):
    companies = [CompanyFactory(owner=ana) for _ in range(2)]

    client.post(
        reverse("company-bulk"),
        {"ids": [c.pk for c in companies], "action": "assign_owner", "owner": teammate.pk},
    )

    assert {c.owner for c in Company.objects.all()} == {teammate}


def test_bad_ids_answer_404(client, ana):
    assert client.get("/companies/424242/").status_code == 404
    assert client.get("/companies/424242/edit/").status_code == 404


def test_deal_filter_narrows_by_stage_status_amount_and_custom_field(rep, sales_team):
    CustomFieldFactory(record_type="deal", key="region", field_type="select", choices=["EU", "US"])
    first = default_pipeline().first_stage()
    big = DealFactory(owner=rep, amount=Decimal("5000"), custom={"region": "EU"})
    DealFactory(owner=rep, amount=Decimal("50"), custom={"region": "EU"})
    DealFactory(owner=rep, amount=Decimal("5000"), custom={"region": "US"})
    request = RequestFactory().get("/deals/")
    request.user = rep
    data = {
        "stage": [first.pk],
        "status": ["open"],
        "amount_min": "1000",
        "custom__region": "EU",
        "owner": rep.pk,
    }

    filterset = DealFilter(data, queryset=access.visible(Deal, rep), request=request)

    assert list(filterset.qs) == [big]
    bad = DealFilter({"amount_min": "x"}, queryset=Deal.objects.all(), request=request)
    assert bad.qs.count() == 3
    assert "amount" in bad.form.errors


def test_company_and_contact_pages_show_their_survey_answers(client, rep, sales_team):
    from tests.crm.factories import CompanyFactory, ContactFactory, SurveyAnswerFactory

    company = CompanyFactory(owner=rep, team=sales_team)
    contact = ContactFactory(owner=rep, team=sales_team, company=company)
    SurveyAnswerFactory(
        kind="csat", score=4, comment="Quick & kind", contact=contact, company=company
    )
    client.force_login(rep)
    for url in (f"/companies/{company.pk}/", f"/contacts/{contact.pk}/"):
        page = client.get(url).content.decode()
        assert 'data-testid="related-answers"' in page
        assert "Quick &amp; kind" in page
