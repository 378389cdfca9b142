"""Lead pages through the browser's surface: list, filters, columns, forms, detail, convert."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import Company, Contact, Deal, Lead, LeadSource, LeadStatus, Task
from tests.crm.factories import CompanyFactory, ContactFactory, CustomFieldFactory, LeadFactory

pytestmark = pytest.mark.django_db

LIST = "/leads/"


@pytest.fixture
def ana(client, rep, sales_team):
    client.force_login(rep)
    return rep


def names(response) -> list[str]:
    return [row["record"].name for row in response.context["rows"]]


def lead_form_data(**overrides) -> dict:
    data = {
        "name": "Jane Roe",
        "email": "jane@roe.example",
        "phone": "+1 555 0100",
        "company_name": "Roe Inc",
        "source": LeadSource.WEB,
        "score": "40",
        "owner": "",
        "team": "",
    }
    data.update(overrides)
    return data


def record_counts():
    return (
        Contact.objects.count(),
        Company.objects.count(),
        Deal.objects.count(),
        Task.objects.count(),
    )


# List -------------------------------------------------------------------------------------


def test_list_shows_leads_newest_first(client, ana, sales_team):
    LeadFactory(name="Old", owner=ana, team=sales_team, created_at=timezone.now() - timedelta(1))
    LeadFactory(name="New", owner=ana, team=sales_team)

    response = client.get(LIST)

    assert response.status_code == 200
    assert names(response) == ["New", "Old"]
    assert response.context["section"] == "leads"


def test_list_filters_by_status_source_owner_score_and_created(client, ana, teammate, sales_team):
    now = timezone.now()
    LeadFactory(name="Match", owner=ana, team=sales_team, source=LeadSource.EVENT, score=70)
    LeadFactory(name="Low score", owner=ana, team=sales_team, source=LeadSource.EVENT, score=10)
    LeadFactory(name="Other source", owner=ana, team=sales_team, source=LeadSource.WEB, score=70)
    LeadFactory(name="Marco's", owner=teammate, team=sales_team, source=LeadSource.EVENT, score=70)
    LeadFactory(
        name="Too old",
        owner=ana,
        team=sales_team,
        source=LeadSource.EVENT,
        score=70,
        created_at=now - timedelta(days=40),
    )
    since = (now - timedelta(days=7)).date().isoformat()

    response = client.get(
        LIST,
        {
            "status": "new",
            "source": "event",
            "owner": ana.pk,
            "team": sales_team.pk,
            "score_min": "50",
            "score_max": "100",
            "created_after": since,
            "created_before": now.date().isoformat(),
        },
    )

    assert response.status_code == 200
    assert names(response) == ["Match"]


def test_list_filters_by_status_values(client, ana, sales_team):
    qualified = LeadFactory(name="Qualified", owner=ana, team=sales_team)
    services.lead_qualify(lead=qualified, actor=ana)
    LeadFactory(name="Fresh", owner=ana, team=sales_team)

    assert names(client.get(LIST, {"status": "qualified"})) == ["Qualified"]
    assert sorted(names(client.get(LIST, {"status": ["qualified", "new"]}))) == [
        "Fresh",
        "Qualified",
    ]


def test_search_box_finds_by_name_email_phone_and_company(client, ana, sales_team):
    LeadFactory(name="Zed Able", email="zed@able.example", phone="555-777", owner=ana)
    LeadFactory(name="Other", company_name="Nothing", owner=ana)

    for term in ("zed", "able.example", "555-777"):
        assert names(client.get(LIST, {"q": term})) == ["Zed Able"], term
    assert names(client.get(LIST, {"q": "Nothing"})) == ["Other"]


def test_list_filters_by_custom_fields(client, ana, sales_team):
    LeadFactory(name="Hot", owner=ana, custom={"lead_source": "Event", "lead_score": 90})
    LeadFactory(name="Cold", owner=ana, custom={"lead_source": "Web", "lead_score": 5})
    LeadFactory(name="Bare", owner=ana)

    assert names(client.get(LIST, {"custom__lead_source": "Event"})) == ["Hot"]
    assert names(client.get(LIST, {"custom__lead_score__min": "50"})) == ["Hot"]
    assert names(client.get(LIST, {"custom__lead_score__max": "50"})) == ["Cold"]


def test_list_filters_by_text_and_multi_select_custom_fields(client, ana, sales_team):
    CustomFieldFactory(record_type="lead", key="region", label="Region", field_type="text")
    LeadFactory(
        name="North", owner=ana, custom={"region": "North-East", "product_interest": ["CRM"]}
    )
    LeadFactory(name="South", owner=ana, custom={"region": "South", "product_interest": []})

    assert names(client.get(LIST, {"custom__region": "east"})) == ["North"]
    assert names(client.get(LIST, {"custom__product_interest": "CRM"})) == ["North"]


@pytest.mark.parametrize(
    "params",
    [
        {"score": "abc"},
        {"score_min": "abc"},
        {"score_max": "1e999"},
        {"owner": "abc"},
        {"owner": "999999"},
        {"team": "-1"},
        {"status": "bogus"},
        {"created_after": "not-a-date"},
        {"custom__lead_score__min": "abc"},
        {"custom__next_follow_up__min": "2025-13-45"},
        {"custom__lead_source": "Nope"},
        {"custom__product_interest": "Nope"},
        {"custom__unknown": "x"},
        {"page": "abc"},
        {"page": "99999"},
        {"sort": "password"},
        {"sort": "-custom__nope"},
    ],
)
def test_bad_filter_values_never_fail(client, ana, sales_team, params):
    LeadFactory(name="Visible", owner=ana)

    response = client.get(LIST, params)

    assert response.status_code == 200


def test_bad_filter_value_is_reported_next_to_the_filter(client, ana):
    response = client.get(LIST, {"score_min": "abc", "custom__lead_score__min": "x"})

    assert response.status_code == 200
    errors = response.context["filter"].form.errors
    assert "score" in errors
    assert "custom__lead_score__min" in errors
    assert b'data-field-error="score"' in response.content


def test_list_sorts_by_a_column_both_ways(client, ana):
    for score, name in ((30, "Mid"), (90, "High"), (10, "Low")):
        LeadFactory(name=name, score=score, owner=ana)

    assert names(client.get(LIST, {"sort": "score"})) == ["Low", "Mid", "High"]
    assert names(client.get(LIST, {"sort": "-score"})) == ["High", "Mid", "Low"]


def test_list_sorts_by_a_custom_number_column(client, ana):
    LeadFactory(name="Ten", owner=ana, custom={"lead_score": 10})
    LeadFactory(name="Nine", owner=ana, custom={"lead_score": 9})
    LeadFactory(name="Hundred", owner=ana, custom={"lead_score": 100})

    response = client.get(LIST, {"sort": "custom__lead_score"})

    # Numbers sort as numbers, not as text ("100" < "9").
    assert names(response) == ["Nine", "Ten", "Hundred"]


def test_list_paginates(client, ana):
    for number in range(30):
        LeadFactory(name=f"Lead {number:02}", owner=ana)

    first = client.get(LIST, {"sort": "name"})
    second = client.get(LIST, {"sort": "name", "page": 2})

    assert len(first.context["rows"]) == 25
    assert names(second) == [f"Lead {n}" for n in range(25, 30)]
    assert b"page=2" in first.content


def test_user_chooses_columns_including_custom_fields(client, ana):
    LeadFactory(name="Picked", owner=ana, custom={"lead_stage": "Proposal"}, phone="555-1")

    response = client.post(
        reverse("lead-columns"),
        {"columns": ["name", "phone", "custom__lead_stage", "bogus"], "next": "/leads/?q=x"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/leads/?q=x"
    ana.refresh_from_db()
    assert ana.preferences["columns"]["leads"] == ["name", "phone", "custom__lead_stage"]
    page = client.get(LIST)
    keys = [header["column"].key for header in page.context["headers"]]
    assert keys == ["name", "phone", "custom__lead_stage"]
    assert [cell["value"] for cell in page.context["rows"][0]["cells"]] == [
        "Picked",
        "555-1",
        "Proposal",
    ]


def test_columns_redirect_refuses_other_sites(client, ana):
    response = client.post(
        reverse("lead-columns"), {"columns": ["name"], "next": "https://evil.example/"}
    )

    assert response["Location"] == "/leads/"


@pytest.mark.parametrize("rows", [3, 30])
def test_list_runs_a_constant_number_of_queries(
    client, ana, teammate, sales_team, rows, django_assert_max_num_queries
):
    user_field = CustomFieldFactory(record_type="lead", key="champion", field_type="user")
    for number in range(rows):
        LeadFactory(
            owner=teammate if number % 2 else ana,
            team=sales_team,
            custom={"lead_stage": "New", "champion": ana.pk, "product_interest": ["CRM"]},
        )
    ana.preferences = {
        "columns": {
            "leads": ["name", "owner", "team", "custom__lead_stage", f"custom__{user_field.key}"]
        }
    }
    ana.save()

    with django_assert_max_num_queries(17):
        response = client.get(
            LIST, {"status": "new", "owner": ana.pk, "custom__lead_stage": "New", "sort": "owner"}
        )

    assert response.status_code == 200
    assert len(response.context["rows"]) == min((rows + 1) // 2, 25)


# Forms ------------------------------------------------------------------------------------


def test_create_lead_with_custom_fields(client, ana, sales_team):
    data = lead_form_data(**{"custom__lead_source": "Event", "custom__lead_score": "12"})

    response = client.post(reverse("lead-create"), data)

    lead = Lead.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("lead-detail", args=[lead.pk])
    assert lead.owner == ana
    assert lead.team == sales_team
    assert lead.custom == {"lead_source": "Event", "lead_score": 12}


def test_create_form_keeps_input_and_shows_errors_next_to_fields(client, ana):
    data = lead_form_data(email="not-an-email", **{"custom__lead_score": "lots"})

    response = client.post(reverse("lead-create"), data)

    assert response.status_code == 400
    assert not Lead.objects.exists()
    form = response.context["form"]
    assert "email" in form.errors
    assert "custom__lead_score" in form.errors
    content = response.content.decode()
    assert 'value="Jane Roe"' in content
    assert 'value="lots"' in content
    assert 'data-field-error="custom__lead_score"' in content


def test_create_shows_model_errors_from_the_service(client, ana):
    response = client.post(reverse("lead-create"), lead_form_data(score="150"))

    assert response.status_code == 400
    assert "score" in response.context["form"].errors
    assert not Lead.objects.exists()


def test_required_custom_field_is_enforced_in_the_form(client, ana):
    CustomFieldFactory(record_type="lead", key="budget", label="Budget", required=True)

    response = client.post(reverse("lead-create"), lead_form_data())

    assert response.status_code == 400
    assert "custom__budget" in response.context["form"].errors


def test_owner_choices_are_the_users_teammates(client, ana, teammate, outsider, other_team):
    response = client.get(reverse("lead-create"))

    owners = set(response.context["form"].fields["owner"].queryset)
    assert owners == {
        ana,
        teammate,
        response.context["form"].fields["owner"].queryset.get(username="carla"),
    }
    assert outsider not in owners
    refused = client.post(reverse("lead-create"), lead_form_data(owner=outsider.pk))
    assert refused.status_code == 400
    assert not Lead.objects.exists()


def test_edit_lead_updates_fields_and_custom_values(client, ana):
    lead = LeadFactory(owner=ana, custom={"lead_stage": "New"})

    response = client.post(
        reverse("lead-edit", args=[lead.pk]),
        lead_form_data(name="Renamed", **{"custom__lead_stage": "Qualified"}),
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.name == "Renamed"
    assert lead.custom["lead_stage"] == "Qualified"


def test_edit_form_keeps_input_on_error(client, ana):
    lead = LeadFactory(name="Before", owner=ana)

    response = client.post(
        reverse("lead-edit", args=[lead.pk]),
        lead_form_data(name="Typed name", **{"custom__next_follow_up": "someday"}),
    )

    assert response.status_code == 400
    assert 'value="Typed name"' in response.content.decode()
    assert "custom__next_follow_up" in response.context["form"].errors
    lead.refresh_from_db()
    assert lead.name == "Before"


# Detail, qualify, disqualify -------------------------------------------------------------


def test_detail_shows_fields_custom_values_and_panels(client, ana):
    lead = LeadFactory(name="Detail Lead", owner=ana, custom={"lead_stage": "Proposal"})

    response = client.get(reverse("lead-detail", args=[lead.pk]))

    assert response.status_code == 200
    assert ("Lead stage", "Proposal") in response.context["custom_values"]
    assert response.context["panel_record"] == lead
    assert "crm/_record_panels.html" in [t.name for t in response.templates]


def test_qualify_and_disqualify_with_reason(client, ana):
    lead = LeadFactory(owner=ana)

    client.post(reverse("lead-qualify", args=[lead.pk]))
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED

    response = client.post(reverse("lead-disqualify", args=[lead.pk]), {"reason": "No budget"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == LeadStatus.UNQUALIFIED
    assert lead.disqualified_reason == "No budget"


def test_disqualify_without_reason_shows_the_error_and_changes_nothing(client, ana):
    lead = LeadFactory(owner=ana)

    response = client.post(reverse("lead-disqualify", args=[lead.pk]), {"reason": " "})

    assert response.status_code == 400
    assert "reason" in response.context["disqualify_form"].errors
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


def test_qualifying_twice_is_a_message_not_an_error(client, ana):
    lead = LeadFactory(owner=ana)
    services.lead_qualify(lead=lead, actor=ana)

    response = client.post(reverse("lead-qualify", args=[lead.pk]), follow=True)

    assert response.status_code == 200
    assert "already" in " ".join(str(m) for m in response.context["messages"])


def test_action_urls_refuse_get(client, ana):
    lead = LeadFactory(owner=ana)

    assert client.get(reverse("lead-qualify", args=[lead.pk])).status_code == 405
    assert client.get(reverse("lead-bulk")).status_code == 405


# Convert ----------------------------------------------------------------------------------


def test_convert_without_existing_records_creates_contact_company_and_deal(client, ana):
    lead = LeadFactory(name="Ann Lee", email="ann@leeco.example", company_name="LeeCo", owner=ana)

    page = client.get(reverse("lead-convert", args=[lead.pk]))
    assert page.status_code == 200
    assert "contact_choice" not in page.context["form"].fields
    assert "company_choice" not in page.context["form"].fields

    response = client.post(
        reverse("lead-convert", args=[lead.pk]),
        {"create_deal": "on", "deal_name": "LeeCo pilot", "amount": "2500"},
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    contact = Contact.objects.get(email="ann@leeco.example")
    company = Company.objects.get(name="LeeCo")
    deal = Deal.objects.get(name="LeeCo pilot")
    assert (lead.converted_contact, lead.converted_company, lead.converted_deal) == (
        contact,
        company,
        deal,
    )
    assert deal.amount == 2500
    assert contact.company == company
    assert Task.objects.filter(deal=deal).exists()
    detail = client.get(reverse("lead-detail", args=[lead.pk]))
    assert detail.context["converted"]["contact"] == contact
    assert detail.context["converted"]["company"] == company


def test_convert_offers_existing_contact_and_company_and_links_them(client, ana, sales_team):
    company = CompanyFactory(name="Acme", domain="acme.example", owner=ana, team=sales_team)
    contact = ContactFactory(email="bob@acme.example", company=company, owner=ana)
    lead = LeadFactory(email="BOB@acme.example", company_name="Acme Corp", owner=ana)
    before = record_counts()

    page = client.get(reverse("lead-convert", args=[lead.pk]))
    form = page.context["form"]
    assert form.contact_match == contact
    assert form.company_match == company
    assert b'name="contact_choice"' in page.content
    assert b'name="company_choice"' in page.content

    response = client.post(
        reverse("lead-convert", args=[lead.pk]),
        {"contact_choice": "link", "company_choice": "link", "create_deal": "on"},
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.converted_contact == contact
    assert lead.converted_company == company
    contacts, companies, deals, tasks = record_counts()
    assert (contacts, companies) == before[:2]
    assert Deal.objects.get().company == company


def test_convert_can_create_new_records_instead_of_linking(client, ana, sales_team):
    company = CompanyFactory(name="Acme", domain="acme.example", owner=ana, team=sales_team)
    ContactFactory(email="bob@acme.example", company=company, owner=ana)
    lead = LeadFactory(email="bob@acme.example", company_name="Acme Labs", owner=ana)

    response = client.post(
        reverse("lead-convert", args=[lead.pk]),
        {"contact_choice": "new", "company_choice": "new"},
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert Contact.objects.filter(email="bob@acme.example").count() == 2
    assert lead.converted_company.name == "Acme Labs"
    assert lead.converted_deal is None


def test_convert_does_not_offer_records_of_another_team(
    client, ana, outsider, other_team, sales_team
):
    theirs = CompanyFactory(name="Hidden", domain="hidden.example", owner=outsider, team=other_team)
    lead = LeadFactory(email="x@hidden.example", company_name="Hidden", owner=ana)

    page = client.get(reverse("lead-convert", args=[lead.pk]))
    assert page.context["form"].company_match is None

    client.post(reverse("lead-convert", args=[lead.pk]), {"create_deal": "on"})
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert lead.converted_company != theirs


def test_convert_bad_input_keeps_the_form_and_writes_nothing(client, ana):
    lead = LeadFactory(owner=ana)
    before = record_counts()

    response = client.post(
        reverse("lead-convert", args=[lead.pk]), {"create_deal": "on", "amount": "-5"}
    )

    assert response.status_code == 400
    assert "amount" in response.context["form"].errors
    assert record_counts() == before
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


def test_converted_lead_cannot_be_converted_again(client, ana):
    lead = LeadFactory(owner=ana)
    services.lead_convert(lead=lead, actor=ana)
    before = record_counts()

    response = client.post(reverse("lead-convert", args=[lead.pk]), {"create_deal": "on"})

    assert response.status_code == 302
    assert record_counts() == before


# Bulk actions -----------------------------------------------------------------------------


def test_bulk_assign_owner(client, ana, teammate, sales_team):
    leads = [LeadFactory(owner=ana, team=sales_team) for _ in range(3)]

    response = client.post(
        reverse("lead-bulk"),
        {
            "ids": [leads[0].pk, leads[1].pk],
            "action": "assign_owner",
            "owner": teammate.pk,
            "next": "/leads/?status=new",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/leads/?status=new"
    owners = [Lead.objects.get(pk=lead.pk).owner for lead in leads]
    assert owners == [teammate, teammate, ana]


def test_bulk_change_status_skips_leads_that_cannot_change(client, ana):
    fresh = LeadFactory(owner=ana)
    converted = LeadFactory(owner=ana)
    services.lead_convert(lead=converted, actor=ana, create_deal=False)

    response = client.post(
        reverse("lead-bulk"),
        {"ids": [fresh.pk, converted.pk], "action": "change_status", "status": "qualified"},
        follow=True,
    )

    assert response.status_code == 200
    fresh.refresh_from_db()
    converted.refresh_from_db()
    assert fresh.status == LeadStatus.QUALIFIED
    assert converted.status == LeadStatus.CONVERTED


def test_bulk_disqualify_needs_a_reason(client, ana):
    lead = LeadFactory(owner=ana)

    client.post(
        reverse("lead-bulk"), {"ids": [lead.pk], "action": "change_status", "status": "unqualified"}
    )
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW

    client.post(
        reverse("lead-bulk"),
        {"ids": [lead.pk], "action": "change_status", "status": "unqualified", "reason": "Spam"},
    )
    lead.refresh_from_db()
    assert lead.status == LeadStatus.UNQUALIFIED
    assert lead.disqualified_reason == "Spam"


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"ids": ["abc"], "action": "assign_owner"},
        {"ids": ["1"], "action": "explode"},
        {"ids": ["1"], "action": "assign_owner"},
        {"ids": ["1"], "action": "assign_owner", "owner": "abc"},
        {"ids": ["1"], "action": "change_status", "status": "converted"},
        {"action": "change_status", "status": "qualified"},
    ],
)
def test_bad_bulk_input_changes_nothing(client, ana, data):
    lead = LeadFactory(owner=ana)
    data = {
        key: [str(lead.pk) if v == "1" else v for v in value] if isinstance(value, list) else value
        for key, value in data.items()
    }

    response = client.post(reverse("lead-bulk"), data, follow=True)

    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.owner, lead.status) == (ana, LeadStatus.NEW)
    assert any(m.level_tag == "error" for m in response.context["messages"])


def test_bad_ids_answer_404(client, ana):
    assert client.get("/leads/999999/").status_code == 404
    assert client.get("/leads/999999/edit/").status_code == 404
    assert client.get("/leads/999999/convert/").status_code == 404
    assert client.post("/leads/999999/qualify/").status_code == 404
    assert client.get("/leads/abc/").status_code == 404


def test_a_huge_list_counts_up_to_a_cap_and_says_so(client, rep, sales_team, monkeypatch):
    from crm.lists import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "COUNT_CAP", 3)
    for _ in range(5):
        LeadFactory(owner=rep, team=sales_team)
    client.force_login(rep)
    response = client.get(reverse("leads"))
    page = response.content.decode()
    assert response.context["paginator"].is_capped
    assert 'data-testid="list-count">3+</span>' in page
    assert "of 3+ records" in page
