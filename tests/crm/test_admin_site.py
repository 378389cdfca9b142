"""The admin site refuses the query strings Django's own admin pages failed on (found by the
reliability suite's GET fuzz): an empty `_to_field`, and an add page prefilled with a
relation naming no row."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from crm.models import Deal
from tests.crm.factories import CompanyFactory, DealFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("view", ["change", "delete"])
def test_an_empty_to_field_is_a_clean_400(admin_client, view):
    deal = DealFactory()
    group = Group.objects.first()
    for url in (
        reverse(f"admin:crm_deal_{view}", args=[deal.pk]),
        reverse(f"admin:auth_group_{view}", args=[group.pk]),
    ):
        assert admin_client.get(f"{url}?_to_field=").status_code == 400, url
    assert Deal.objects.filter(pk=deal.pk).exists()


@pytest.mark.parametrize("value", ["abc", "1e309", str(10**30), "99999999", "-1"])
def test_an_add_page_prefilled_with_a_relation_naming_no_row_is_a_clean_400(admin_client, value):
    response = admin_client.get(reverse("admin:crm_deal_add") + f"?company={value}")
    assert response.status_code == 400
    assert b"company" in response.content


def test_an_add_page_prefilled_with_a_real_relation_still_shows_it(admin_client):
    company = CompanyFactory(name="Acme prefilled")
    response = admin_client.get(reverse("admin:crm_deal_add") + f"?company={company.pk}")
    assert response.status_code == 200
    assert b"Acme prefilled" in response.content


def test_the_changelist_still_filters_by_a_relation(admin_client):
    deal = DealFactory()
    url = reverse("admin:crm_deal_changelist")
    response = admin_client.get(f"{url}?company__id__exact={deal.company_id}")
    assert response.status_code == 200
    assert deal.name.encode() in response.content


def test_a_visitor_is_sent_to_log_in_before_the_query_is_checked(client):
    deal = DealFactory()
    url = reverse("admin:crm_deal_change", args=[deal.pk])
    response = client.get(f"{url}?_to_field=")
    assert response.status_code == 302
    assert "login" in response.url


def test_a_date_hierarchy_lists_the_years_from_the_first_and_last_date(admin_client):
    from datetime import datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    for year in (2024, 2026):
        Deal.objects.filter(pk=DealFactory().pk).update(
            created_at=timezone.make_aware(datetime(year, 6, 1))
        )
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse("admin:crm_deal_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    for year in (2024, 2025, 2026):
        assert f"created_at__year={year}" in html
    assert "created_at__year=2023" not in html and "created_at__year=2027" not in html
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if "DISTINCT" in s and "crm_deal" in s]
    # One count of the rows: not a second of the whole table beside it.
    assert len([s for s in sql if s.startswith("SELECT COUNT(*)") and "crm_deal" in s]) == 1


def test_a_chosen_year_lists_its_months_from_first_to_last(admin_client):
    from datetime import datetime

    from django.utils import timezone

    for month in (3, 5):
        Deal.objects.filter(pk=DealFactory().pk).update(
            created_at=timezone.make_aware(datetime(2025, month, 10))
        )
    response = admin_client.get(reverse("admin:crm_deal_changelist") + "?created_at__year=2025")
    html = response.content.decode()
    assert "created_at__month=3" in html and "created_at__month=4" in html
    assert "created_at__month=5" in html and "created_at__month=6" not in html
