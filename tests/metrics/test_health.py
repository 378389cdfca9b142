"""Customer health: stored per company by the nightly task, configurable weights, shown on the
company page (metrics/_company_health.html) and the retention dashboard."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from crm import models as m
from metrics.health import store_company_health
from metrics.models import CompanyHealth, HealthSettings, KPISnapshot
from metrics.services import health_settings_update, snapshot_nightly
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


# The health KPI reads the stored scores ----------------------------------------------------


def _yesterday():
    return timezone.localdate() - timedelta(days=1)


def _stored_mean() -> Decimal:
    scores = list(CompanyHealth.objects.values_list("score", flat=True))
    return Decimal(str(sum(scores) / len(scores))).quantize(Decimal("0.01"))


def test_the_running_months_health_is_last_nights_stored_scores(client, admin_user, companies):
    happy, quiet, _prospect = companies
    store_company_health(day=_yesterday())
    # Today's answer would lift the quiet customer's score if every customer were scored again.
    SurveyAnswerFactory(company=quiet, contact__company=quiet, score=10, answered_at=timezone.now())

    client.force_login(admin_user)
    response = client.get(reverse("kpi", args=["health_score"]) + "?grain=month")

    assert response.status_code == 200
    assert response.context["result"].value == _stored_mean()
    assert response.context["result"].denominator == 2
    assert not response.context["live"]
    assert response.context["computed_at"] == CompanyHealth.objects.get(company=quiet).computed_at
    assert 'data-testid="as-of"' in response.content.decode()


def test_without_stored_scores_the_running_month_is_scored_from_the_records(
    client, admin_user, companies
):
    client.force_login(admin_user)
    response = client.get(reverse("kpi", args=["health_score"]) + "?grain=month")
    assert response.context["live"] and response.context["result"].denominator == 2


def test_new_weights_rescore_the_stored_scores_at_once(client, admin_user, companies):
    happy, quiet, _prospect = companies
    recently = timezone.now() - timedelta(days=3)
    SurveyAnswerFactory(company=happy, contact__company=happy, score=10, answered_at=recently)
    store_company_health(day=_yesterday())
    weights = {"engagement": 0, "surveys": 1, "tickets": 0, "purchase_recency": 0, "renewal": 0}
    health_settings_update(actor=admin_user, data={**weights, "risk_threshold": 60})

    # Only surveys count: the quiet customer (no answers) is neutral, 50, and now at risk.
    rows = {row.company: row for row in CompanyHealth.objects.all()}
    assert rows[quiet].score == 50 and rows[quiet].at_risk
    assert rows[happy].score == 100 and not rows[happy].at_risk
    client.force_login(admin_user)
    response = client.get(reverse("kpi", args=["health_score"]) + "?grain=month")
    assert response.context["result"].value == Decimal("75.00")
    assert response.context["result"].numerator == 1


def test_the_nightly_run_scores_health_first_and_yesterdays_snapshot_reads_it(companies):
    report = snapshot_nightly()

    assert report.periods >= 1
    assert set(CompanyHealth.objects.values_list("as_of", flat=True)) == {_yesterday()}
    day_row = KPISnapshot.objects.get(
        kpi="health_score", grain="day", period_start=_yesterday(), segment_field=""
    )
    assert day_row.value == _stored_mean() and day_row.denominator == 2
    # The 02:15 safety net finds yesterday stored and scores nobody again.
    assert store_task.apply().get() == 0


def test_the_health_page_reads_the_stored_scores_once_for_value_breakdown_and_counts(
    client, manager, rep, outsider, sales_team, other_team
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Scores to two places whose float mean is not exact: 70.35, 41.1 and 12.25 (and 70.35 ×
    # 100 is 7034.999… as a float: rounded to 7035 hundredths).
    for owner, team, score in (
        (rep, sales_team, 70.35),
        (rep, sales_team, 41.1),
        (outsider, other_team, 12.25),
    ):
        company = customer(owner=owner, team=team)
        CompanyHealth.objects.create(
            company=company,
            score=score,
            at_risk=score < 40,
            as_of=_yesterday(),
            **dict.fromkeys(CompanyHealth.COMPONENTS, score),
        )

    client.force_login(manager)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("kpi", args=["health_score"]) + "?grain=month&by=owner")

    assert response.status_code == 200
    score_reads = [
        query["sql"]
        for query in captured.captured_queries
        if "metrics_companyhealth" in query["sql"] and '"as_of"' not in query["sql"]
    ]
    # One read of the scores grouped by owner and team: not the whole, the breakdown, "Other"
    # and the drill-down's counts each reading every score again (five reads before).
    assert len(score_reads) == 1 and "GROUP BY" in score_reads[0]
    result = response.context["result"]
    # (70.35 + 41.10 + 12.25) ÷ 3 = 41.2333…, from hundredths: 12370 ÷ 3 ÷ 100.
    assert result.value == Decimal("41.2333")
    assert (result.numerator, result.denominator) == (1, 3)
    rows = {str(row["label"]): row["result"] for row in response.context["breakdown"]}
    assert rows["Other"].value == Decimal("12.25")  # the outsider's: not the manager's team
    assert rows[rep.get_full_name() or rep.username].value == Decimal("55.725")


def test_a_card_reads_the_stored_scores_alone_and_shows_the_kpi_pages_number(
    client, manager, rep, outsider, sales_team, other_team
):
    """A dashboard card of the whole company reads the stored scores without joining each to
    its company (KPI.stored_rows; 60-90 ms on the large seed), and shows the number the KPI
    page sums from its parts by owner and team."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for owner, team, score in (
        (rep, sales_team, 70.35),
        (rep, sales_team, 41.1),
        (outsider, other_team, 12.25),
    ):
        CompanyHealth.objects.create(
            company=customer(owner=owner, team=team),
            score=score,
            at_risk=score < 40,
            as_of=_yesterday(),
            **dict.fromkeys(CompanyHealth.COMPONENTS, score),
        )
    client.force_login(manager)
    cache.clear()

    with CaptureQueriesContext(connection) as captured:
        dashboard = client.get(reverse("dashboard", args=["retention"]))
    card = next(c for c in dashboard.context["cards"] if c.kpi.key == "health_score")
    score_reads = [
        q["sql"]
        for q in captured.captured_queries
        if "SUM(" in q["sql"] and "companyhealth" in q["sql"]
    ]
    assert len(score_reads) == 1 and '"crm_company"' not in score_reads[0]

    cache.clear()
    page = client.get(reverse("kpi", args=["health_score"]) + "?grain=month")
    # (70.35 + 41.10 + 12.25) ÷ 3, from hundredths: 12370 ÷ 3 ÷ 100.
    assert card.result == page.context["result"]
    assert card.result.value == Decimal("41.2333")
    assert (card.result.numerator, card.result.denominator) == (1, 3)
