"""The deals list, the deal page, and the create, edit and stage move forms."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import services
from crm.models import (
    Deal,
    DealKind,
    DealStageChange,
    DealStatus,
    FieldType,
    Pipeline,
    RecordType,
    Stage,
)
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    stage_named,
)

pytestmark = pytest.mark.django_db

LIST = reverse("deals")
BULK = reverse("deal-bulk")
COLUMNS = reverse("deal-columns")
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
    return [row["record"].name for row in response.context["rows"]]


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
    assert "$5,000.00" in html and "New business" in html and "Acme" in html
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


def test_list_shows_visible_deals_only(
    client, rep, manager, admin_user, outsider, deal, foreign_deal
):
    client.force_login(rep)
    assert names(client.get(LIST)) == ["Acme renewal"]
    client.force_login(manager)
    assert names(client.get(LIST)) == ["Acme renewal"]
    client.force_login(outsider)
    assert names(client.get(LIST)) == ["Globex secret"]
    client.force_login(admin_user)
    assert sorted(names(client.get(LIST))) == ["Acme renewal", "Globex secret"]


def test_list_filters(client, manager, rep, teammate, sales_team):
    acme = CompanyFactory(name="Acme Corp")
    DealFactory(
        name="A",
        owner=rep,
        team=sales_team,
        company=acme,
        amount=Decimal("100"),
        expected_close_date=date(2030, 1, 5),
    )
    DealFactory(
        name="B",
        owner=teammate,
        team=sales_team,
        amount=Decimal("900"),
        kind=DealKind.RENEWAL,
        expected_close_date=date(2030, 3, 1),
    )
    won = DealFactory(name="C", owner=rep, team=sales_team, expected_close_date=date(2031, 1, 1))
    services.deal_move_stage(deal=won, stage=stage_named("Won"), actor=rep)
    client.force_login(manager)

    def filtered(**params):
        response = client.get(LIST, params)
        assert response.status_code == 200
        return sorted(names(response))

    assert filtered() == ["A", "B", "C"]
    assert filtered(owner=rep.pk) == ["A", "C"]
    assert filtered(owner=rep.pk, expected_close_before="2030-12-31") == ["A"]
    assert filtered(expected_close_after="2030-02-01", expected_close_before="2030-12-31") == ["B"]
    assert filtered(status="won") == ["C"]
    assert filtered(status=["open", "won"]) == ["A", "B", "C"]
    assert filtered(stage=stage_named("Prospecting").pk) == ["A", "B"]
    assert filtered(team=sales_team.pk, status="open") == ["A", "B"]
    assert filtered(kind="renewal") == ["B"]
    assert filtered(amount_min="500", amount_max="950") == ["B"]
    assert filtered(amount_max="500") == ["A"]
    assert filtered(q="acme corp") == ["A"]


def test_list_filters_and_shows_custom_fields(client, rep, sales_team, interest):
    size = CustomFieldFactory(
        record_type=RecordType.DEAL, key="seats", label="Seats", field_type=FieldType.NUMBER
    )
    DealFactory(name="Crm", owner=rep, team=sales_team, custom={"interest": "CRM", "seats": 40})
    DealFactory(name="Sup", owner=rep, team=sales_team, custom={"interest": "Support", "seats": 5})
    client.force_login(rep)

    page = client.get(LIST)
    assert "custom__interest" in page.context["filter"].form.fields
    assert ("custom__interest", "Product interest", False) in page.context["column_choices"]
    assert names(client.get(LIST, {"custom__interest": "CRM"})) == ["Crm"]
    assert names(client.get(LIST, {f"custom__{size.key}__min": "10"})) == ["Crm"]

    response = client.post(
        COLUMNS,
        {"columns": ["name", "custom__interest", "custom__seats", "bogus"], "next": "/deals/?q=x"},
    )

    assert response.status_code == 302 and response["Location"] == "/deals/?q=x"
    rep.refresh_from_db()
    assert rep.preferences["columns"]["deals"] == ["name", "custom__interest", "custom__seats"]
    page = client.get(LIST, {"sort": "-custom__seats"})
    assert [h["column"].key for h in page.context["headers"]] == [
        "name",
        "custom__interest",
        "custom__seats",
    ]
    cells = [[cell["value"] for cell in row["cells"]] for row in page.context["rows"]]
    assert cells == [["Crm", "CRM", 40], ["Sup", "Support", 5]]
    assert "Product interest" in page.content.decode()


def test_every_standard_column_can_be_shown(client, rep, sales_team, deal):
    client.force_login(rep)
    keys = [key for key, _label, _checked in client.get(LIST).context["column_choices"]]
    expected = ["name", "company", "stage", "status", "amount", "expected_close_date", "owner"]
    assert keys[:9] == [*expected, "kind", "created_at"]

    client.post(COLUMNS, {"columns": keys})
    row = client.get(LIST).context["rows"][0]

    values = [cell["value"] for cell in row["cells"]]
    assert values[:5] == ["Acme renewal", "Acme", "Prospecting", "Open", "$5,000.00"]
    assert values[6:8] == [str(rep), "New business"]


def test_columns_redirect_refuses_other_sites(client, rep):
    client.force_login(rep)
    response = client.post(COLUMNS, {"columns": ["name"], "next": "https://evil.example/"})
    assert response["Location"] == LIST


@pytest.mark.parametrize(
    "params",
    [
        {"amount_min": "abc"},
        {"expected_close_after": "not a date"},
        {"stage": "abc"},
        {"stage": "987654"},
        {"owner": "987654"},
        {"status": "exploded"},
        {"custom__interest": "Nope"},
        {"sort": "password"},
        {"sort": "-custom__nope"},
        {"page": "abc"},
    ],
)
def test_bad_filter_values_never_fail(client, rep, deal, interest, params):
    client.force_login(rep)
    assert client.get(LIST, params).status_code == 200


def test_bad_filter_value_is_reported_next_to_the_filter(client, rep, other_team):
    client.force_login(rep)

    response = client.get(LIST, {"amount_min": "abc", "team": other_team.pk})

    assert response.status_code == 200
    assert {"amount", "team"} <= set(response.context["filter"].form.errors)
    assert b'data-field-error="amount"' in response.content


def test_list_sorts(client, rep, sales_team):
    DealFactory(name="Beta", owner=rep, team=sales_team, amount=Decimal("10"))
    DealFactory(name="Alpha", owner=rep, team=sales_team, amount=Decimal("30"))
    DealFactory(name="Gamma", owner=rep, team=sales_team, amount=Decimal("20"))
    client.force_login(rep)

    assert names(client.get(LIST)) == ["Gamma", "Alpha", "Beta"]  # newest first
    assert names(client.get(LIST, {"sort": "name"})) == ["Alpha", "Beta", "Gamma"]
    assert names(client.get(LIST, {"sort": "-amount"})) == ["Alpha", "Gamma", "Beta"]
    assert names(client.get(LIST, {"sort": "-name"})) == ["Gamma", "Beta", "Alpha"]


@pytest.mark.parametrize("sort", ["expected_close_date", "-expected_close_date", "company__name"])
def test_empty_values_come_last_in_either_direction(client, rep, sales_team, sort):
    owned = {"owner": rep, "team": sales_team}
    DealFactory(name="Undated", expected_close_date=None, company=None, **owned)
    DealFactory(name="Early", expected_close_date=date(2026, 1, 5), **owned)
    DealFactory(name="Late", expected_close_date=date(2026, 6, 5), **owned)
    client.force_login(rep)

    shown = names(client.get(LIST, {"sort": sort}))

    assert shown[-1] == "Undated"


def test_list_paginates(client, rep, sales_team):
    for number in range(60):
        DealFactory(name=f"Deal {number:02}", owner=rep, team=sales_team)
    client.force_login(rep)

    first = client.get(LIST, {"sort": "name"})
    second = client.get(LIST, {"sort": "name", "page": 2})

    assert len(first.context["rows"]) == 50 and first.context["paginator"].count == 60
    assert names(second) == [f"Deal {n}" for n in range(50, 60)]
    assert "page=2" in first.content.decode()


def test_list_sorted_by_another_tables_column_pages_through_in_that_order(
    client, rep, teammate, sales_team
):
    # Sorted by a company's name, the page's ids are sorted first and its rows read after them.
    for user, first_name in ((rep, "Ana"), (teammate, "Marco")):  # Faker's may be the same
        user.first_name = first_name
        user.save(update_fields=["first_name"])
    for number in range(60):
        DealFactory(
            name=f"Deal {number:02}",
            owner=teammate if number % 3 else rep,
            team=sales_team,
            company=CompanyFactory(name=f"Company {59 - number:02}"),
        )
    client.force_login(rep)

    first = client.get(LIST, {"sort": "company__name"})
    second = client.get(LIST, {"sort": "company__name", "page": 2})
    by_owner = client.get(LIST, {"sort": "-owner__first_name"})

    assert names(first) == [f"Deal {n:02}" for n in range(59, 9, -1)]
    assert names(second) == [f"Deal {n:02}" for n in range(9, -1, -1)]
    assert first.context["paginator"].count == 60
    owners = [row["record"].owner for row in by_owner.context["rows"]]
    assert owners == sorted(owners, key=lambda user: user.first_name, reverse=True)
    assert len(set(owners)) == 2


@pytest.mark.parametrize("direction", ["", "-"])
def test_list_sorted_by_an_optional_relation_pages_through_rows_without_one_last(
    client, rep, sales_team, direction
):
    owned = {"owner": rep, "team": sales_team}
    with_company = [
        DealFactory(name=f"With {n:02}", company=CompanyFactory(name=f"Co {n:02}"), **owned)
        for n in range(20)
    ]
    without = [DealFactory(name=f"Without {n:02}", company=None, **owned) for n in range(90)]
    client.force_login(rep)
    sort = {"sort": f"{direction}company__name"}

    shown = [names(client.get(LIST, {**sort, "page": page})) for page in (1, 2, 3)]

    valued = [deal.name for deal in with_company]
    empty = [deal.name for deal in without]
    if direction:
        valued, empty = valued[::-1], empty[::-1]
    assert shown == [valued + empty[:30], empty[30:80], empty[80:]]
    assert client.get(LIST, {**sort, "page": 3}).context["paginator"].count == 110


@pytest.mark.parametrize("page", ["abc", "-1", "0", "3", "999999", "1e9", ""])
@pytest.mark.parametrize("sort", ["-company__name", "owner__first_name", "--company__name"])
def test_list_sorted_by_another_tables_column_takes_any_page_number(
    client, rep, sales_team, sort, page
):
    owned = {"owner": rep, "team": sales_team}
    DealFactory(name="Valued", company=CompanyFactory(), **owned)
    DealFactory(name="Empty", company=None, **owned)
    client.force_login(rep)

    response = client.get(LIST, {"sort": sort, "page": page})

    assert response.status_code == 200
    assert sorted(names(response)) == ["Empty", "Valued"]


def test_list_sorted_by_another_tables_column_sorts_ids_joined_to_that_table_alone(
    client, rep, sales_team
):
    DealFactory(owner=rep, team=sales_team, company=CompanyFactory())
    client.force_login(rep)

    # By company: sorted by owner or stage, a rep's list is read one owner or stage at a time
    # on PostgreSQL (crm.lists.ByRelatedRow).
    with CaptureQueriesContext(connection) as captured:
        client.get(LIST, {"sort": "company__name"})

    sorted_by_company = [
        q["sql"]
        for q in captured
        if 'FROM "crm_deal"' in q["sql"] and 'ORDER BY "crm_company"."name"' in q["sql"]
    ]
    assert len(sorted_by_company) == 1
    assert sorted_by_company[0].startswith('SELECT "crm_deal"."id"')
    assert "crm_user" not in sorted_by_company[0] and "crm_stage" not in sorted_by_company[0]


@pytest.mark.parametrize("sort", ["owner", "owner__first_name", "-company__name"])
@pytest.mark.parametrize("rows", [3, 30])
def test_list_runs_a_constant_number_of_queries(
    client, rep, teammate, sales_team, interest, rows, sort, django_assert_max_num_queries
):
    champion = CustomFieldFactory(record_type=RecordType.DEAL, key="champion", field_type="user")
    for number in range(rows):
        DealFactory(
            owner=teammate if number % 2 else rep,
            team=sales_team,
            company=CompanyFactory(),
            expected_close_date=date(2030, 1, 1),
            custom={"interest": "CRM", "champion": teammate.pk},
        )
    rep.preferences = {
        "columns": {
            "deals": [
                "name",
                "company",
                "stage",
                "amount",
                "owner",
                "kind",
                "custom__interest",
                f"custom__{champion.key}",
            ]
        }
    }
    rep.save()
    client.force_login(rep)
    params = {
        "owner": rep.pk,
        "status": "open",
        "expected_close_before": "2040-01-01",
        "custom__interest": "CRM",
        "sort": sort,
    }

    # Sorted by another table's column, the page's rows are read by id after the sorted ids.
    with django_assert_max_num_queries(20 if "__" in sort else 19):
        response = client.get(LIST, params)

    assert response.status_code == 200
    assert len(response.context["rows"]) == (rows + 1) // 2
    assert str(teammate) in response.content.decode()  # the user-type custom column


def test_list_is_csp_clean_links_the_board_and_is_in_the_nav(client, rep, deal):
    client.force_login(rep)
    html = client.get(LIST).content.decode()
    assert "style=" not in html and "<script>" not in html
    assert 'aria-current="page" href="/deals/"' in html
    assert f'href="{reverse("deal-board")}"' in html
    assert f'action="{BULK}"' in html and f'action="{COLUMNS}"' in html


def test_list_actions_refuse_get(client, rep):
    client.force_login(rep)
    assert client.get(BULK).status_code == 405
    assert client.get(COLUMNS).status_code == 405


# --- bulk actions --------------------------------------------------------------------------


def warnings(response) -> list[str]:
    return [str(m) for m in response.context["messages"] if m.level_tag == "warning"]


def test_bulk_assign_owner(client, rep, teammate, sales_team, foreign_deal):
    deals = [DealFactory(owner=rep, team=sales_team) for _ in range(3)]
    client.force_login(rep)

    response = client.post(
        BULK,
        {
            "ids": [deals[0].pk, deals[1].pk, foreign_deal.pk],
            "action": "assign_owner",
            "owner": teammate.pk,
            "next": "/deals/?status=open",
        },
    )

    assert response.status_code == 302 and response["Location"] == "/deals/?status=open"
    assert [Deal.objects.get(pk=d.pk).owner for d in deals] == [teammate, teammate, rep]
    foreign_deal.refresh_from_db()
    assert foreign_deal.owner.username == "olga"  # another team's id is ignored


def test_bulk_assign_refuses_an_owner_outside_the_team(client, rep, outsider, deal):
    client.force_login(rep)

    response = client.post(
        BULK, {"ids": [deal.pk], "action": "assign_owner", "owner": outsider.pk}, follow=True
    )

    assert response.status_code == 200
    assert any(m.level_tag == "error" for m in response.context["messages"])
    deal.refresh_from_db()
    assert deal.owner == rep


def test_bulk_move_reports_each_refused_deal(client, rep, sales_team, foreign_deal):
    renewals = Pipeline.objects.create(name="Renewals", order=5)
    due = Stage.objects.create(pipeline=renewals, name="Due", order=0)
    fresh = DealFactory(name="Fresh", owner=rep, team=sales_team)
    there = DealFactory(name="There", owner=rep, team=sales_team, stage=stage_named("Proposal"))
    other = DealFactory(name="Other pipe", owner=rep, team=sales_team, pipeline=renewals, stage=due)
    proposal = stage_named("Proposal")
    client.force_login(rep)

    response = client.post(
        BULK,
        {
            "ids": [fresh.pk, there.pk, other.pk, foreign_deal.pk],
            "action": "move_stage",
            "stage": proposal.pk,
        },
        follow=True,
    )

    assert response.status_code == 200
    fresh.refresh_from_db()
    other.refresh_from_db()
    foreign_deal.refresh_from_db()
    assert fresh.stage == proposal and fresh.stage_changes.count() == 1
    assert other.stage == due and foreign_deal.stage.name == "Prospecting"
    assert not DealStageChange.objects.filter(deal__in=[there, other]).exists()
    assert foreign_deal.stage_changes.count() == 1
    [warning] = warnings(response)
    assert warning.startswith("2 deals not changed:")
    assert "There: The deal is already in “Proposal”." in warning
    assert "Other pipe: “Proposal” is not a stage of the pipeline Renewals." in warning
    assert "Globex" not in warning
    assert "1 deal updated." in [str(m) for m in response.context["messages"]]


def test_bulk_move_to_a_lost_stage_needs_a_reason(client, rep, deal):
    client.force_login(rep)
    lost = stage_named("Lost")

    response = client.post(
        BULK, {"ids": [deal.pk], "action": "move_stage", "stage": lost.pk}, follow=True
    )

    assert response.status_code == 200
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert any("Say why the deals were lost." in error for error in errors)
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN

    client.post(
        BULK,
        {"ids": [deal.pk], "action": "move_stage", "stage": lost.pk, "lost_reason": "Budget"},
    )
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason) == (DealStatus.LOST, "Budget")


def test_bulk_with_only_another_teams_ids_changes_nothing(client, rep, teammate, foreign_deal):
    client.force_login(rep)

    response = client.post(
        BULK,
        {"ids": [foreign_deal.pk], "action": "move_stage", "stage": stage_named("Won").pk},
        follow=True,
    )

    assert response.status_code == 200
    assert warnings(response) == ["None of the ticked deals can be changed."]
    foreign_deal.refresh_from_db()
    assert foreign_deal.status == DealStatus.OPEN


def test_bulk_needs_the_change_permission(client, agent, rep, deal, sales_team):
    sales_team.members.add(agent)
    client.force_login(agent)

    response = client.post(BULK, {"ids": [deal.pk], "action": "assign_owner", "owner": agent.pk})

    assert response.status_code == 403
    deal.refresh_from_db()
    assert deal.owner == rep


def test_managers_and_admins_bulk_move_their_deals(
    client, manager, admin_user, rep, deal, foreign_deal
):
    won = stage_named("Won")
    client.force_login(manager)
    client.post(BULK, {"ids": [deal.pk, foreign_deal.pk], "action": "move_stage", "stage": won.pk})
    deal.refresh_from_db()
    foreign_deal.refresh_from_db()
    assert (deal.status, foreign_deal.status) == (DealStatus.WON, DealStatus.OPEN)

    client.force_login(admin_user)
    client.post(BULK, {"ids": [foreign_deal.pk], "action": "move_stage", "stage": won.pk})
    foreign_deal.refresh_from_db()
    assert foreign_deal.status == DealStatus.WON


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"ids": ["abc"], "action": "assign_owner"},
        {"ids": ["1"], "action": "explode"},
        {"ids": ["1"], "action": "assign_owner"},
        {"ids": ["1"], "action": "assign_owner", "owner": "abc"},
        {"ids": ["1"], "action": "move_stage"},
        {"ids": ["1"], "action": "move_stage", "stage": "987654"},
        {"action": "move_stage", "stage": "2"},
    ],
)
def test_bad_bulk_input_changes_nothing(client, rep, deal, data):
    client.force_login(rep)
    data = {
        key: [str(deal.pk) if v == "1" else v for v in value] if isinstance(value, list) else value
        for key, value in data.items()
    }

    response = client.post(BULK, data, follow=True)

    assert response.status_code == 200
    deal.refresh_from_db()
    assert (deal.owner, deal.stage.name, deal.stage_changes.count()) == (rep, "Prospecting", 1)
    assert any(m.level_tag == "error" for m in response.context["messages"])


def test_the_deal_page_reads_its_pipelines_stages_in_a_constant_number_of_queries(
    client, rep, deal
):
    """The stage move's options name their pipeline: read with the stages, not one query per
    option."""
    client.force_login(rep)
    url = reverse("deal-detail", args=[deal.pk])
    with CaptureQueriesContext(connection) as before:
        assert client.get(url).status_code == 200
    for order in range(3):
        Stage.objects.create(pipeline=deal.pipeline, name=f"Extra {order}", order=50 + order)
    with CaptureQueriesContext(connection) as after:
        response = client.get(url)
    assert "Extra 2" in response.content.decode()
    assert len(after) == len(before)
