"""Hostile input is refused cleanly (400) before any view reads or writes it, never a 500."""

import pytest
from django.urls import reverse

from crm.models import Lead
from tests.crm.factories import LeadFactory

pytestmark = pytest.mark.django_db

NUL_GETS = [
    "/search/?q=%00",
    "/search/?q=ab%00cd&preview=1",
    "/search/options/company/?q=%00",
    "/knowledge/picker/?q=%00",
    "/leads/?q=%00",
    "/contacts/?q=%00",
    "/companies/?q=%00",
    "/deals/?q=%00",
    "/deals/?sort=%00",
]


@pytest.mark.parametrize("url", NUL_GETS)
def test_a_nul_byte_in_a_query_is_a_clean_400(client, rep, url):
    client.force_login(rep)
    response = client.get(url)
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_a_nul_byte_on_the_public_help_centre_is_a_clean_400(client):
    assert client.get("/help/?q=%00").status_code == 400


def test_a_nul_byte_in_a_form_writes_nothing(client, rep, sales_team):
    lead = LeadFactory(owner=rep, team=sales_team, name="Before")
    client.force_login(rep)
    response = client.post(
        reverse("lead-edit", args=[lead.pk]), {"name": "After\x00", "email": lead.email}
    )
    assert response.status_code == 400
    assert Lead.objects.get(pk=lead.pk).name == "Before"


def test_ordinary_queries_still_pass(client, rep):
    client.force_login(rep)
    assert client.get("/search/?q=acme").status_code == 200


EXTREME_DATES = [
    "date=9999-12-31",
    "date=0001-01-01",
    "grain=custom&start=0001-01-01&end=0001-01-02",
]
PERIOD_PAGES = [
    "/dashboards/executive/",
    "/dashboards/kpi/win_rate/",
    "/dashboards/kpi/win_rate/export.csv",
]


@pytest.mark.parametrize("query", EXTREME_DATES)
@pytest.mark.parametrize("page", PERIOD_PAGES)
def test_an_extreme_date_on_a_period_picker_is_a_form_error_not_a_500(client, manager, page, query):
    client.force_login(manager)
    response = client.get(f"{page}?{query}")
    assert response.status_code in (200, 400)
    assert response.status_code != 500


def test_a_datetime_filter_at_the_calendars_edge_is_not_a_500(client, rep):
    from tests.crm.factories import CustomFieldFactory

    CustomFieldFactory(record_type="deal", key="cf_datetime", field_type="datetime")
    client.force_login(rep)
    response = client.get("/deals/?custom__cf_datetime__min=9999-12-31T23:59:59-14:00")
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("stage", [str(10**30), str(-(10**30))])
def test_a_stage_id_past_the_integer_range_is_a_filter_error_not_a_500(client, rep, stage):
    client.force_login(rep)
    response = client.get(f"/deals/?stage={stage}")
    assert response.status_code == 200
    assert response.context["filter_errors"]


@pytest.mark.parametrize("page", ["deal-bulk", "lead-bulk", "contact-bulk", "company-bulk"])
def test_a_bulk_id_past_the_integer_range_is_refused_not_a_500(client, rep, page):
    lead = LeadFactory(owner=rep, name="Before")
    client.force_login(rep)
    data = {"ids": [str(lead.pk), str(10**30)], "action": "assign_owner", "owner": rep.pk}
    response = client.post(reverse(page), data, follow=True)
    assert response.status_code == 200
    assert "Choose records from the list." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).name == "Before"


@pytest.mark.django_db
def test_a_lead_score_bound_past_an_integer_is_a_filter_error_not_a_server_error(client, rep):
    client.force_login(rep)

    response = client.get("/leads/", {"score_min": str(10**30), "score_max": "-" + str(10**30)})

    assert response.status_code in (200, 400)
