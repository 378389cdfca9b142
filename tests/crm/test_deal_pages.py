"""The deals list, the deal page, and the create, edit and stage move forms."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from crm import services
from crm.models import Deal, DealKind, DealStageChange, DealStatus, FieldType, Pipeline, RecordType
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    stage_named,
)

pytestmark = pytest.mark.django_db

LIST = reverse("deals")
NEW = reverse("deal-create")


@pytest.fixture
def company(rep, sales_team):
    return CompanyFactory(name="Acme", owner=rep, team=sales_team)


@pytest.fixture
def deal(rep, sales_team, company):
    return services.deal_create(
        actor=rep, data={"name": "Acme renewal", "company": company, "amount": 5000}
    )


@pytest.fixture
def foreign_deal(outsider, other_team):
    return services.deal_create(actor=outsider, data={"name": "Globex secret", "amount": 10})


@pytest.fixture
def interest():
    return CustomFieldFactory(
        record_type=RecordType.DEAL,
        key="interest",
        label="Product interest",
        field_type=FieldType.SELECT,
        choices=["CRM", "Support"],
        required=True,
    )


def detail(deal):
    return reverse("deal-detail", args=[deal.pk])


def names(response):
    return [d.name for d in response.context["page"]]


# --- deal page -----------------------------------------------------------------------------


def test_deal_page_shows_stage_path_history_and_amounts(client, rep, deal):
    later = deal.stage_entered_at + timedelta(days=2, hours=3)
    services.deal_move_stage(deal=deal, stage=stage_named("Proposal"), actor=rep, at=later)
    client.force_login(rep)

    response = client.get(detail(deal))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="stage-path-step is-current stage-open" aria-current="step">Proposal' in html
    assert html.count("is-done") == 2  # Prospecting and Qualification are behind it
    history = response.context["history"]
    assert [row["change"].to_stage.name for row in history] == ["Prospecting", "Proposal"]
    assert history[0]["seconds"] == (2 * 24 + 3) * 3600 and history[0]["duration"] == "2 d 3 h"
    assert history[1]["current"] is True
    assert "5,000.00 USD" in html and "New business" in html and "Acme" in html
    assert response.context["panel_record"] == deal  # timeline/tasks panels get the record


def test_deal_page_shows_custom_field_values(client, rep, deal, interest):
    Deal.objects.filter(pk=deal.pk).update(custom={"interest": "CRM"})
    client.force_login(rep)

    response = client.get(detail(deal))

    assert ("Product interest", "CRM") in response.context["custom_values"]


def test_deal_page_permissions(client, rep, manager, admin_user, outsider, deal, foreign_deal):
    client.force_login(rep)
    assert client.get(detail(foreign_deal)).status_code == 404
    assert client.get(reverse("deal-edit", args=[foreign_deal.pk])).status_code == 404
    assert client.get(reverse("deal-detail", args=[987654])).status_code == 404
    client.force_login(manager)
    assert client.get(detail(deal)).status_code == 200
    assert client.get(detail(foreign_deal)).status_code == 404
    client.force_login(admin_user)
    assert client.get(detail(foreign_deal)).status_code == 200
    client.force_login(outsider)
    assert client.get(detail(deal)).status_code == 404


def test_the_stage_move_form_moves_the_deal(client, rep, deal):
    client.force_login(rep)

    response = client.post(reverse("deal-move", args=[deal.pk]), {"stage": stage_named("Won").pk})

    assert response.status_code == 302 and response.url == detail(deal)
    deal.refresh_from_db()
    assert deal.status == DealStatus.WON
    assert DealStageChange.objects.filter(deal=deal).count() == 2


def test_the_stage_move_form_asks_why_a_deal_was_lost(client, rep, deal):
    client.force_login(rep)

    response = client.post(reverse("deal-move", args=[deal.pk]), {"stage": stage_named("Lost").pk})

    assert response.status_code == 400
    assert response.context["move_form"].errors["lost_reason"] == ["Say why the deal was lost."]
    assert "Say why the deal was lost." in response.content.decode()
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN
    assert DealStageChange.objects.filter(deal=deal).count() == 1


# --- create and edit -----------------------------------------------------------------------


def test_create_a_deal_with_custom_fields(client, rep, sales_team, company, interest):
    client.force_login(rep)
    contact = ContactFactory(company=company, owner=rep, team=sales_team)
    pipeline = Pipeline.objects.get(is_default=True)

    form_page = client.get(NEW)
    response = client.post(
        NEW,
        {
            "name": "Big one",
            "pipeline": pipeline.pk,
            "company": company.pk,
            "contact": contact.pk,
            "amount": "1200.50",
            "currency": "USD",
            "exchange_rate": "1",
            "kind": DealKind.UPSELL,
            "expected_close_date": "2030-06-30",
            "custom__interest": "Support",
        },
    )

    assert form_page.status_code == 200 and "Product interest" in form_page.content.decode()
    deal = Deal.objects.get(name="Big one")
    assert response.status_code == 302 and response.url == detail(deal)
    assert deal.stage == pipeline.first_stage() and deal.owner == rep and deal.team == sales_team
    assert deal.custom == {"interest": "Support"} and deal.amount == Decimal("1200.50")
    assert deal.stage_changes.count() == 1


def test_the_deal_form_keeps_input_on_errors(client, rep, sales_team, interest):
    client.force_login(rep)

    response = client.post(
        NEW,
        {
            "name": "Keep me",
            "pipeline": Pipeline.objects.get(is_default=True).pk,
            "amount": "-5",
            "currency": "USD",
            "exchange_rate": "1",
            "kind": DealKind.NEW_BUSINESS,
            "expected_close_date": "not a date",
        },
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert "expected_close_date" in form.errors
    assert form.errors["custom__interest"] == ["This field is required."]
    html = response.content.decode()
    assert 'value="Keep me"' in html and 'value="not a date"' in html
    assert "This field is required." in html
    assert not Deal.objects.filter(name="Keep me").exists()


def test_service_errors_are_shown_next_to_the_field(client, rep, sales_team):
    client.force_login(rep)

    response = client.post(
        NEW,
        {
            "name": "Negative",
            "pipeline": Pipeline.objects.get(is_default=True).pk,
            "amount": "-5",
            "currency": "USD",
            "exchange_rate": "1",
            "kind": DealKind.NEW_BUSINESS,
        },
    )

    assert response.status_code == 400
    assert response.context["form"].errors.get("amount")
    assert 'value="-5"' in response.content.decode()
    assert not Deal.objects.filter(name="Negative").exists()


def test_a_rep_cannot_link_another_teams_company(client, rep, sales_team, other_team):
    hidden = CompanyFactory(name="Hidden", team=other_team)
    client.force_login(rep)

    response = client.post(
        NEW,
        {
            "name": "Sneaky",
            "pipeline": Pipeline.objects.get(is_default=True).pk,
            "company": hidden.pk,
            "amount": "1",
            "currency": "USD",
            "exchange_rate": "1",
            "kind": DealKind.NEW_BUSINESS,
        },
    )

    assert response.status_code == 400 and "company" in response.context["form"].errors
    assert not Deal.objects.filter(name="Sneaky").exists()


def test_edit_a_deal(client, rep, deal, interest):
    client.force_login(rep)
    url = reverse("deal-edit", args=[deal.pk])

    page = client.get(url)
    response = client.post(
        url,
        {
            "name": "Acme renewal 2",
            "company": deal.company_id,
            "amount": "6000",
            "currency": "USD",
            "exchange_rate": "1",
            "kind": DealKind.RENEWAL,
            "owner": rep.pk,
            "custom__interest": "CRM",
        },
    )

    assert page.status_code == 200 and 'value="Acme renewal"' in page.content.decode()
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.name, deal.amount, deal.kind) == ("Acme renewal 2", Decimal("6000"), "renewal")
    assert deal.custom == {"interest": "CRM"}
    assert deal.stage.name == "Prospecting"  # the form never changes the stage


def test_edit_errors_keep_input_and_change_nothing(client, rep, deal):
    client.force_login(rep)

    response = client.post(
        reverse("deal-edit", args=[deal.pk]),
        {"name": "", "amount": "abc", "currency": "USD", "exchange_rate": "1", "kind": "x"},
    )

    assert response.status_code == 400
    assert {"name", "amount", "kind"} <= set(response.context["form"].errors)
    assert 'value="abc"' in response.content.decode()
    deal.refresh_from_db()
    assert deal.name == "Acme renewal" and deal.amount == Decimal("5000")


def test_a_user_without_change_permission_cannot_edit(client, agent, deal, sales_team):
    sales_team.members.add(agent)
    client.force_login(agent)
    assert client.get(reverse("deal-edit", args=[deal.pk])).status_code == 403


# --- the list ------------------------------------------------------------------------------


def test_list_shows_visible_deals_only(client, rep, admin_user, deal, foreign_deal):
    client.force_login(rep)
    assert names(client.get(LIST)) == ["Acme renewal"]
    client.force_login(admin_user)
    assert sorted(names(client.get(LIST))) == ["Acme renewal", "Globex secret"]


def test_list_filters(client, manager, rep, teammate, sales_team):
    DealFactory(name="A", owner=rep, team=sales_team, expected_close_date=date(2030, 1, 5))
    DealFactory(name="B", owner=teammate, team=sales_team, expected_close_date=date(2030, 3, 1))
    won = DealFactory(name="C", owner=rep, team=sales_team, expected_close_date=date(2031, 1, 1))
    services.deal_move_stage(deal=won, stage=stage_named("Won"), actor=rep)
    client.force_login(manager)

    def filtered(**params):
        return sorted(names(client.get(LIST, params)))

    assert filtered() == ["A", "B", "C"]
    assert filtered(owner=rep.pk) == ["A", "C"]
    assert filtered(owner=rep.pk, close_to="2030-12-31") == ["A"]
    assert filtered(close_from="2030-02-01", close_to="2030-12-31") == ["B"]
    assert filtered(status="won") == ["C"]
    assert filtered(stage=stage_named("Prospecting").pk) == ["A", "B"]
    assert filtered(team=sales_team.pk, status="open") == ["A", "B"]


def test_list_sorts(client, rep, sales_team):
    DealFactory(name="Beta", owner=rep, team=sales_team, amount=Decimal("10"))
    DealFactory(name="Alpha", owner=rep, team=sales_team, amount=Decimal("30"))
    DealFactory(name="Gamma", owner=rep, team=sales_team, amount=Decimal("20"))
    client.force_login(rep)

    assert names(client.get(LIST, {"sort": "name"})) == ["Alpha", "Beta", "Gamma"]
    assert names(client.get(LIST, {"sort": "-amount"})) == ["Alpha", "Gamma", "Beta"]
    assert names(client.get(LIST, {"sort": "-name"})) == ["Gamma", "Beta", "Alpha"]
    # An unknown sort is ignored, not an error.
    assert client.get(LIST, {"sort": "password"}).status_code == 200


def test_list_paginates_with_a_constant_number_of_queries(
    client, rep, sales_team, django_assert_max_num_queries
):
    company = CompanyFactory()
    soon = date(2030, 1, 1)
    DealFactory.create_batch(
        3, owner=rep, team=sales_team, company=company, expected_close_date=soon
    )
    client.force_login(rep)
    two_filters = {"owner": rep.pk, "close_to": "2040-01-01"}
    with django_assert_max_num_queries(14) as few:
        assert client.get(LIST, two_filters).status_code == 200

    DealFactory.create_batch(
        120,
        owner=rep,
        team=sales_team,
        company=CompanyFactory(),
        contact=ContactFactory(),
        expected_close_date=soon,
    )
    with django_assert_max_num_queries(len(few)):
        response = client.get(LIST, two_filters)
    with django_assert_max_num_queries(len(few)):
        first = client.get(LIST, {"owner": rep.pk})
    third = client.get(LIST, {"owner": rep.pk, "page": 3})

    assert response.status_code == 200 and response.context["page"].paginator.count == 123
    assert len(first.context["page"]) == 50 and first.context["page"].paginator.count == 123
    assert len(third.context["page"]) == 23
    assert "page=2" in first.content.decode()


def test_list_is_csp_clean_and_in_the_nav(client, rep, deal):
    client.force_login(rep)
    html = client.get(LIST).content.decode()
    assert "style=" not in html and "<script>" not in html
    assert 'aria-current="page" href="/deals/"' in html
