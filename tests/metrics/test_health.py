"""Customer health: stored per company by the nightly task, configurable weights, shown on the
company page (metrics/_company_health.html) and the retention dashboard."""

from datetime import date

import pytest
from django.template import Context, Template
from django.urls import reverse

from crm import models as m
from metrics.health import store_company_health
from metrics.models import CompanyHealth, HealthSettings
from metrics.tasks import store_company_health as store_task
from tests.crm.factories import CompanyFactory, SubscriptionFactory, SurveyAnswerFactory
from tests.metrics.test_dashboard_pages import at

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 31)


def customer(**fields):
    return CompanyFactory(lifecycle=m.Lifecycle.CUSTOMER, customer_since=at(2025, 1, 1), **fields)


@pytest.fixture
def companies():
    happy = customer(name="Happy")
    SubscriptionFactory(company=happy, start_date=date(2026, 3, 1))
    SurveyAnswerFactory(
        company=happy, contact__company=happy, score=10, answered_at=at(2026, 3, 20)
    )
    quiet = customer(name="Quiet")
    prospect = CompanyFactory(name="Prospect")
    return happy, quiet, prospect


def test_the_nightly_task_stores_a_score_per_customer(companies):
    happy, quiet, prospect = companies
    assert store_task.apply(kwargs={"day": DAY.isoformat()}).get() == 2

    rows = {row.company: row for row in CompanyHealth.objects.all()}
    assert set(rows) == {happy, quiet}
    assert rows[happy].score > rows[quiet].score
    assert 0 <= rows[quiet].score <= 100
    assert rows[quiet].at_risk and not rows[happy].at_risk
    assert rows[happy].surveys == 100 and rows[happy].as_of == DAY


def test_storing_again_replaces_rows_and_drops_former_customers(companies):
    happy, quiet, _prospect = companies
    store_company_health(day=DAY)
    m.Company.objects.filter(pk=quiet.pk).update(
        lifecycle=m.Lifecycle.CHURNED, churned_at=at(2026, 3, 15)
    )
    store_company_health(day=DAY)
    assert list(CompanyHealth.objects.values_list("company", flat=True)) == [happy.pk]


def test_weights_and_threshold_are_configurable_per_installation(companies):
    happy, quiet, _prospect = companies
    store_company_health(day=DAY)
    before = CompanyHealth.objects.get(company=quiet).score

    # Only surveys count: the quiet customer (no answers) is neutral, 50.
    HealthSettings.objects.create(
        engagement=0, surveys=1, tickets=0, purchase_recency=0, renewal=0, risk_threshold=60
    )
    store_company_health(day=DAY)
    row = CompanyHealth.objects.get(company=quiet)
    assert row.score == 50 != before
    assert row.at_risk  # below the new threshold of 60


def test_the_company_partial_shows_the_stored_score(companies):
    happy, quiet, _prospect = companies
    store_company_health(day=DAY)
    template = Template('{% include "metrics/_company_health.html" %}')
    html = template.render(Context({"company": quiet}))
    assert 'data-testid="company-health"' in html
    assert "At risk" in html and "<meter" in html and " style=" not in html

    unscored = template.render(Context({"company": CompanyFactory()}))
    assert "No score yet" in unscored


def test_the_company_page_includes_the_health_card(client, admin_user, companies):
    happy, _quiet, _prospect = companies
    store_company_health(day=DAY)
    client.force_login(admin_user)
    response = client.get(reverse("company-detail", args=[happy.pk]))
    assert response.status_code == 200
    assert 'data-testid="company-health"' in response.content.decode()


def test_the_at_risk_list_of_a_rep_holds_only_companies_they_see(
    client, rep, outsider, sales_team, other_team
):
    mine = customer(name="Mine", owner=rep, team=sales_team)
    customer(name="Theirs", owner=outsider, team=other_team)
    store_company_health(day=DAY)
    client.force_login(rep)
    response = client.get(reverse("dashboard", args=["retention"]) + "?grain=month&date=2026-03-15")
    assert [row.company for row in response.context["at_risk"]] == [mine]
    assert "Theirs" not in response.content.decode()


def test_health_settings_need_one_positive_weight():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        HealthSettings.objects.create(
            engagement=0, surveys=0, tickets=0, purchase_recency=0, renewal=0
        )
