"""Revenue and retention KPIs, on small hand-worked datasets around March 2026."""

import dataclasses
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from crm import models as m
from metrics import services as metric_services
from metrics.kpis.revenue import company_health_scores
from metrics.models import KPISnapshot
from metrics.periods import period_for
from metrics.registry import REGISTRY, Result, Segment, get_kpi
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    ExpenseFactory,
    SubscriptionFactory,
    TicketFactory,
    default_pipeline,
)

pytestmark = pytest.mark.django_db

D = Decimal


def at(year, month, day, hour=0, minute=0):
    return timezone.make_aware(datetime(year, month, day, hour, minute))


def customer(since, churned=None, **fields):
    return CompanyFactory(
        lifecycle=m.Lifecycle.CHURNED if churned else m.Lifecycle.CUSTOMER,
        customer_since=since,
        churned_at=churned,
        **fields,
    )


def bulk_customers(count, since, churned=None, **fields):
    m.Company.objects.bulk_create(
        m.Company(
            name=f"Bulk {since:%Y%m%d} {churned or ''} {index}",
            lifecycle=m.Lifecycle.CHURNED if churned else m.Lifecycle.CUSTOMER,
            customer_since=since,
            churned_at=churned,
            **fields,
        )
        for index in range(count)
    )


def won_stage():
    return default_pipeline().stages.get(outcome=m.StageOutcome.WON)


def bulk_won_deals(count, closed_at, amount, company=None):
    pipeline, stage = default_pipeline(), won_stage()
    m.Deal.objects.bulk_create(
        m.Deal(
            name=f"Won {closed_at:%Y%m%d} {index}",
            company=company,
            pipeline=pipeline,
            stage=stage,
            amount=amount,
            status=m.DealStatus.WON,
            closed_at=closed_at,
        )
        for index in range(count)
    )


def value(key, period, segment=None):
    return get_kpi(key).value(period, segment or Segment())


def stub(monkeypatch, key, result):
    """Replace a KPI of the registry by one returning `result`, for composite tests."""
    kpi = dataclasses.replace(get_kpi(key), compute=lambda period, segment: result)
    monkeypatch.setitem(REGISTRY, key, kpi)


# MRR -----------------------------------------------------------------------------------


def test_mrr_sums_subscriptions_running_on_the_last_day(march):
    SubscriptionFactory(monthly_value=D("100"), start_date=date(2026, 1, 1))
    SubscriptionFactory(monthly_value=D("250"), start_date=date(2026, 3, 31))
    # end_date is exclusive: April 1 means it still runs on March 31.
    SubscriptionFactory(
        monthly_value=D("40"), start_date=date(2026, 2, 1), end_date=date(2026, 4, 1)
    )
    # Outside: starts the day after, ends the day before the last day, cancelled mid-month.
    SubscriptionFactory(monthly_value=D("70"), start_date=date(2026, 4, 1))
    SubscriptionFactory(
        monthly_value=D("30"), start_date=date(2026, 1, 1), end_date=date(2026, 3, 31)
    )
    SubscriptionFactory(
        monthly_value=D("500"),
        start_date=date(2025, 6, 1),
        end_date=date(2026, 3, 15),
        status=m.SubscriptionStatus.CANCELLED,
        cancelled_at=at(2026, 3, 1),
    )

    result = value("mrr", march)

    # 100 + 250 + 40
    assert result.value == D("390")
    assert result.numerator == D("390")
    assert result.denominator == 3
    assert get_kpi("mrr").counted_records(march).count() == 3


def test_mrr_without_subscriptions_is_zero_not_no_data(march):
    SubscriptionFactory(monthly_value=D("70"), start_date=date(2026, 4, 1))

    assert value("mrr", march).value == 0


def test_mrr_breaks_down_by_company_industry(march):
    SubscriptionFactory(
        monthly_value=D("100"),
        start_date=date(2026, 1, 1),
        company=CompanyFactory(industry=m.Industry.FINANCE),
    )
    SubscriptionFactory(
        monthly_value=D("60"),
        start_date=date(2026, 1, 1),
        company=CompanyFactory(industry=m.Industry.RETAIL),
    )
    SubscriptionFactory(
        monthly_value=D("40"),
        start_date=date(2026, 1, 1),
        company=CompanyFactory(industry=m.Industry.RETAIL),
    )

    breakdown = get_kpi("mrr").breakdown(march, "industry")

    assert breakdown["finance"].value == D("100")
    # 60 + 40
    assert breakdown["retail"].value == D("100")
    assert value("mrr", march, Segment("industry", "retail")).denominator == 2


def test_mrr_growth_rate_worked_example_50000_to_60000_is_20_percent(march):
    SubscriptionFactory(monthly_value=D("50000"), start_date=date(2026, 1, 1))
    SubscriptionFactory(monthly_value=D("10000"), start_date=date(2026, 3, 10))

    result = value("mrr_growth_rate", march)

    # (60,000 − 50,000) ÷ 50,000 × 100
    assert result.value == D("20")
    assert result.numerator == D("10000")
    assert result.denominator == D("50000")
    assert get_kpi("mrr_growth_rate").bands.band_for(result.value) == "good"


def test_mrr_growth_rate_compares_the_last_days_of_both_periods(march):
    SubscriptionFactory(monthly_value=D("800"), start_date=date(2025, 1, 1))
    # Runs on February 28, ends (exclusive) March 1: only in the previous MRR.
    SubscriptionFactory(
        monthly_value=D("200"), start_date=date(2026, 1, 1), end_date=date(2026, 3, 1)
    )
    # Starts on March 1: only in this MRR.
    SubscriptionFactory(monthly_value=D("300"), start_date=date(2026, 3, 1))
    # Started and ended inside March: in neither.
    SubscriptionFactory(
        monthly_value=D("999"), start_date=date(2026, 3, 2), end_date=date(2026, 3, 20)
    )

    result = value("mrr_growth_rate", march)

    # previous 800 + 200 = 1,000; now 800 + 300 = 1,100; (1,100 − 1,000) ÷ 1,000 × 100
    assert result.value == D("10")
    assert result.numerator == D("100")
    assert result.denominator == D("1000")
    # The drill-down lists what made either MRR.
    assert get_kpi("mrr_growth_rate").counted_records(march).count() == 3


def test_mrr_growth_rate_has_no_data_when_previous_mrr_is_zero(march):
    SubscriptionFactory(monthly_value=D("500"), start_date=date(2026, 3, 5))

    result = value("mrr_growth_rate", march)

    assert result.value is None
    assert result.numerator == D("500")


def test_mrr_growth_rate_breaks_down_per_segment_in_one_query(march, django_assert_num_queries):
    finance = CompanyFactory(industry=m.Industry.FINANCE)
    retail = CompanyFactory(industry=m.Industry.RETAIL)
    SubscriptionFactory(company=finance, monthly_value=D("100"), start_date=date(2026, 1, 1))
    SubscriptionFactory(company=finance, monthly_value=D("50"), start_date=date(2026, 3, 2))
    SubscriptionFactory(company=retail, monthly_value=D("200"), start_date=date(2026, 1, 1))

    with django_assert_num_queries(1):
        breakdown = get_kpi("mrr_growth_rate").breakdown(march, "industry")

    # finance: (150 − 100) ÷ 100 × 100; retail: (200 − 200) ÷ 200 × 100
    assert breakdown["finance"].value == D("50")
    assert breakdown["retail"].value == D("0")


# Churn ---------------------------------------------------------------------------------


def test_churn_rate_counts_customers_lost_of_those_going_into_the_period(march):
    kept = customer(at(2025, 1, 1))
    lost = customer(at(2025, 1, 1), churned=at(2026, 3, 15))
    # Churned on the first instant of March: a customer going into March, lost in March.
    lost_at_start = customer(at(2025, 6, 1), churned=at(2026, 3, 1))
    # Churned on the first instant of April: lost in April, not March.
    customer(at(2025, 6, 1), churned=at(2026, 4, 1))
    customer(at(2026, 2, 28, 23, 59))
    # Not customers going into March: churned before, or became one on March 1.
    customer(at(2025, 1, 1), churned=at(2026, 2, 28, 23))
    customer(at(2026, 3, 1), churned=at(2026, 3, 20))
    CompanyFactory()

    result = value("churn_rate", march)

    # 2 lost (15 March, 1 March) of 5 at the start × 100
    assert result.value == D("40")
    assert result.numerator == 2
    assert result.denominator == 5
    drill = get_kpi("churn_rate").counted_records(march, numerator_only=True)
    assert set(drill) == {lost, lost_at_start}
    assert kept in get_kpi("churn_rate").counted_records(march)


def test_churn_rate_worked_example_25_lost_of_500_is_5_percent(march):
    bulk_customers(475, at(2025, 1, 1))
    bulk_customers(25, at(2025, 1, 1), churned=at(2026, 3, 10))
    bulk_customers(7, at(2026, 3, 2))

    result = value("churn_rate", march)

    # 25 ÷ 500 × 100
    assert result.value == D("5")
    assert (result.numerator, result.denominator) == (25, 500)
    assert get_kpi("churn_rate").counted_records(march, numerator_only=True).count() == 25
    assert get_kpi("churn_rate").bands.band_for(result.value) == "good"


def test_churn_rate_without_customers_is_no_data(march):
    customer(at(2026, 3, 5))

    result = value("churn_rate", march)

    assert result.value is None
    assert result.denominator == 0


def test_churn_rate_breaks_down_by_owner(march, rep, teammate):
    customer(at(2025, 1, 1), owner=rep)
    customer(at(2025, 1, 1), churned=at(2026, 3, 9), owner=rep)
    customer(at(2025, 1, 1), owner=teammate)

    breakdown = get_kpi("churn_rate").breakdown(march, "owner")

    # rep: 1 of 2; teammate: 0 of 1
    assert breakdown[str(rep.pk)].value == D("50")
    assert breakdown[str(teammate.pk)].value == D("0")
    assert value("churn_rate", march, Segment("owner", str(rep.pk))).numerator == 1


# Renewals ------------------------------------------------------------------------------


def test_renewal_rate_counts_renewed_of_subscriptions_ending_in_the_period(march):
    renewed = SubscriptionFactory(
        start_date=date(2025, 3, 1), end_date=date(2026, 3, 1), status="expired"
    )
    SubscriptionFactory(start_date=date(2026, 3, 1), renewal_of=renewed)
    SubscriptionFactory(start_date=date(2025, 4, 1), end_date=date(2026, 3, 31))
    # Issue 15 item 4: cancelled on March 15 in a term running to September, churn and not a
    # failed renewal, so no longer counted (the old value was 1 of 3).
    SubscriptionFactory(
        start_date=date(2025, 9, 1),
        end_date=date(2026, 3, 15),
        term_end=date(2026, 9, 1),
        status=m.SubscriptionStatus.CANCELLED,
        cancelled_at=at(2026, 3, 15),
    )
    # Outside: ends April 1 (renewed), ended February 28.
    april = SubscriptionFactory(start_date=date(2025, 4, 1), end_date=date(2026, 4, 1))
    SubscriptionFactory(start_date=date(2026, 4, 1), renewal_of=april)
    SubscriptionFactory(start_date=date(2025, 2, 28), end_date=date(2026, 2, 28))

    result = value("renewal_rate", march)

    # 1 renewed of 2 whose term ended × 100
    assert result.value == D("50")
    assert (result.numerator, result.denominator) == (1, 2)
    assert list(get_kpi("renewal_rate").counted_records(march, numerator_only=True)) == [renewed]


def test_renewal_rate_counts_terms_ending_in_the_period_not_cancellations(march):
    # Came up for renewal in March (term end March 1–31):
    # 1. renewed by a renewal subscription, on its term end;
    renewed = SubscriptionFactory(
        start_date=date(2025, 3, 10),
        end_date=date(2026, 3, 10),
        status=m.SubscriptionStatus.EXPIRED,
    )
    SubscriptionFactory(start_date=date(2026, 3, 10), renewal_of=renewed)
    # 2. ran on past its term end with no end (a contract that renews tacitly): renewed;
    tacit = SubscriptionFactory(start_date=date(2025, 3, 20), term_end=date(2026, 3, 20))
    # 3. ran on past its term end and stopped later, in May: renewed for this term;
    ran_on = SubscriptionFactory(
        start_date=date(2025, 3, 5), end_date=date(2026, 5, 5), term_end=date(2026, 3, 5)
    )
    # 4. ran out on its term end, not renewed;
    ran_out = SubscriptionFactory(
        start_date=date(2025, 3, 31),
        end_date=date(2026, 3, 31),
        status=m.SubscriptionStatus.EXPIRED,
    )
    # 5. cancelled in February to stop on its term end (a declined renewal): not renewed.
    declined = SubscriptionFactory(
        start_date=date(2025, 3, 1),
        end_date=date(2026, 3, 1),
        term_end=date(2026, 3, 1),
        status=m.SubscriptionStatus.CANCELLED,
        cancelled_at=at(2026, 2, 10),
    )
    # Not up for renewal in March:
    # cancelled mid-term in March, term to June: churn, not a failed renewal;
    SubscriptionFactory(
        start_date=date(2025, 6, 1),
        end_date=date(2026, 3, 12),
        term_end=date(2026, 6, 1),
        status=m.SubscriptionStatus.CANCELLED,
        cancelled_at=at(2026, 3, 12),
    )
    # a term that ended in March, but the contract was cancelled in January: churn then;
    SubscriptionFactory(
        start_date=date(2025, 3, 15),
        end_date=date(2026, 1, 15),
        term_end=date(2026, 3, 15),
        status=m.SubscriptionStatus.CANCELLED,
        cancelled_at=at(2026, 1, 15),
    )
    # month-to-month, stopped in March: no term, never up for renewal;
    SubscriptionFactory(
        start_date=date(2025, 1, 1),
        end_date=date(2026, 3, 20),
        term_end=None,
        status=m.SubscriptionStatus.CANCELLED,
        cancelled_at=at(2026, 3, 1),
    )
    # month-to-month, running;
    SubscriptionFactory(start_date=date(2025, 1, 1))
    # term ends on April 1 (the first day after March), and on February 28.
    SubscriptionFactory(start_date=date(2025, 4, 1), end_date=date(2026, 4, 1))
    SubscriptionFactory(start_date=date(2025, 2, 28), end_date=date(2026, 2, 28))

    kpi = get_kpi("renewal_rate")
    result = kpi.value(march)

    # 3 renewed (1, 2, 3) of 5 whose term ended (1–5) × 100 = 60
    assert result == Result(D("60"), D(3), D(5))
    assert set(kpi.counted_records(march)) == {renewed, tacit, ran_on, ran_out, declined}
    assert set(kpi.counted_records(march, numerator_only=True)) == {renewed, tacit, ran_on}


def test_renewal_rate_breaks_down_and_snapshots_to_the_same_numbers(march, rep, teammate):
    mine = CompanyFactory(owner=rep)
    theirs = CompanyFactory(owner=teammate)
    renewed = SubscriptionFactory(
        company=mine, start_date=date(2025, 3, 1), end_date=date(2026, 3, 1)
    )
    SubscriptionFactory(company=mine, start_date=date(2026, 3, 1), renewal_of=renewed)
    SubscriptionFactory(company=mine, start_date=date(2025, 3, 9), end_date=date(2026, 3, 9))
    SubscriptionFactory(company=theirs, start_date=date(2025, 3, 9), term_end=date(2026, 3, 9))
    kpi = get_kpi("renewal_rate")

    metric_services.snapshot_kpi_period(kpi=kpi, period=march)

    stored = {
        (row.segment_field, row.segment_value): Result(row.value, row.numerator, row.denominator)
        for row in KPISnapshot.objects.filter(kpi=kpi.key, period_start=march.start_date)
    }
    # all: 2 renewed of 3; rep: 1 of 2; teammate: 1 of 1
    assert stored[("", "")] == kpi.value(march) == Result(D("66.6667"), D(2), D(3))
    assert stored[("owner", str(rep.pk))] == kpi.value(march, Segment("owner", str(rep.pk)))
    assert stored[("owner", str(rep.pk))] == Result(D("50"), D(1), D(2))
    assert stored[("owner", str(teammate.pk))].value == D("100")


def test_renewal_rate_of_the_open_period_counts_only_terms_ended_by_today():
    today = timezone.localdate()
    # Term ends tomorrow (this month or the first of the next): not up for renewal yet.
    SubscriptionFactory(start_date=today - timedelta(days=300), end_date=today + timedelta(days=1))
    # Term ended today (the end is the first day not covered), not renewed.
    SubscriptionFactory(start_date=today - timedelta(days=300), end_date=today)

    # 0 renewed of 1
    assert value("renewal_rate", period_for("month", today)) == Result(D("0"), D(0), D(1))


def test_renewal_rate_without_subscriptions_ending_is_no_data(march):
    SubscriptionFactory(start_date=date(2025, 1, 1))

    assert value("renewal_rate", march).value is None


# CAC and retention cost ----------------------------------------------------------------


def test_cac_divides_acquisition_spend_by_new_customers(march):
    ExpenseFactory(category=m.ExpenseCategory.ADS, amount=D("3000"), spent_on=date(2026, 3, 1))
    ExpenseFactory(category=m.ExpenseCategory.EVENTS, amount=D("1500"), spent_on=date(2026, 3, 31))
    ExpenseFactory(category=m.ExpenseCategory.TOOLS, amount=D("500"), spent_on=date(2026, 3, 15))
    # Outside: retention spend, the day before, the day after.
    ExpenseFactory(category=m.ExpenseCategory.SUPPORT, amount=D("10000"), spent_on=date(2026, 3, 9))
    ExpenseFactory(category=m.ExpenseCategory.ADS, amount=D("9999"), spent_on=date(2026, 2, 28))
    ExpenseFactory(category=m.ExpenseCategory.ADS, amount=D("7777"), spent_on=date(2026, 4, 1))
    customer(at(2026, 3, 1))
    customer(at(2026, 3, 31, 23, 59))
    # Acquired and lost in March: still acquired in March.
    customer(at(2026, 3, 20), churned=at(2026, 3, 25))
    customer(at(2026, 2, 28, 23, 59))
    customer(at(2026, 4, 1))

    result = value("cac", march)

    # (3,000 + 1,500 + 500) ÷ 3
    assert result.value == D("1666.6667")
    assert result.numerator == D("5000")
    assert result.denominator == 3
    assert get_kpi("cac").counted_records(march).count() == 3


def test_cac_worked_example_100000_over_500_customers_is_200(march):
    ExpenseFactory(category=m.ExpenseCategory.ADS, amount=D("60000"), spent_on=date(2026, 3, 3))
    ExpenseFactory(
        category=m.ExpenseCategory.SALES_SALARIES, amount=D("40000"), spent_on=date(2026, 3, 31)
    )
    bulk_customers(500, at(2026, 3, 12))

    result = value("cac", march)

    # 100,000 ÷ 500
    assert result.value == D("200")
    assert get_kpi("cac").bands.band_for(result.value) == "exceptional"


def test_cac_without_new_customers_is_no_data_and_keeps_the_spend(march):
    ExpenseFactory(category=m.ExpenseCategory.ADS, amount=D("1200"), spent_on=date(2026, 3, 3))

    result = value("cac", march)

    assert result.value is None
    assert result.numerator == D("1200")
    assert result.denominator == 0


def test_retention_cost_divides_retention_spend_by_customers_active_in_the_period(march):
    ExpenseFactory(category=m.ExpenseCategory.SUPPORT, amount=D("2000"), spent_on=date(2026, 3, 5))
    ExpenseFactory(category=m.ExpenseCategory.SUCCESS, amount=D("1000"), spent_on=date(2026, 3, 31))
    ExpenseFactory(category=m.ExpenseCategory.LOYALTY, amount=D("600"), spent_on=date(2026, 3, 1))
    ExpenseFactory(category=m.ExpenseCategory.ADS, amount=D("5000"), spent_on=date(2026, 3, 5))
    ExpenseFactory(category=m.ExpenseCategory.SUPPORT, amount=D("999"), spent_on=date(2026, 2, 28))
    customer(at(2025, 1, 1))
    customer(at(2025, 1, 1), churned=at(2026, 3, 2))
    customer(at(2026, 3, 31, 23))
    # Not active in March: churned on its first instant or before, joins in April, prospect.
    customer(at(2025, 1, 1), churned=at(2026, 3, 1))
    customer(at(2025, 1, 1), churned=at(2026, 2, 15))
    customer(at(2026, 4, 1))
    CompanyFactory()

    result = value("retention_cost", march)

    # (2,000 + 1,000 + 600) ÷ 3
    assert result.value == D("1200")
    assert (result.numerator, result.denominator) == (D("3600"), 3)
    assert get_kpi("retention_cost").counted_records(march).count() == 3


def test_retention_cost_without_customers_is_no_data(march):
    ExpenseFactory(category=m.ExpenseCategory.SUPPORT, amount=D("10"), spent_on=date(2026, 3, 5))

    assert value("retention_cost", march).value is None


# CLV and LTV:CAC -----------------------------------------------------------------------


@pytest.fixture
def year_2025():
    return period_for("year", date(2025, 6, 1))


def test_clv_worked_example_100_times_4_times_5_times_080_is_1600(year_2025):
    bulk_customers(80, at(2024, 1, 1))
    bulk_customers(20, at(2024, 1, 1), churned=at(2025, 7, 1))
    bulk_won_deals(400, at(2025, 5, 5), D("100"))
    # Outside 2025: not purchases of the year, not in APV.
    bulk_won_deals(3, at(2024, 12, 31, 23, 59), D("5000"))
    bulk_won_deals(3, at(2026, 1, 1), D("5000"))

    result = value("clv", year_2025)

    # APV 100 × (400 deals ÷ 100 customers ÷ 1 year) × (1 ÷ 20% churn) × (1 − 20%)
    assert result.value == D("1600")
    assert get_kpi("clv").bands.band_for(result.value) == "typical"


def test_clv_annualises_a_month_and_uses_a_configured_lifespan(march):
    bulk_customers(9, at(2025, 1, 1))
    bulk_customers(1, at(2025, 1, 1), churned=at(2026, 3, 20))
    bulk_won_deals(5, at(2026, 3, 10), D("200"))

    with override_settings(CRM_CUSTOMER_LIFESPAN_YEARS=3):
        configured = value("clv", march)
    derived = value("clv", march)

    # APV 200; 5 deals ÷ 10 customers × 12 months = 6 a year; 10% monthly churn compounds
    # to 1 − 0.9^12 a year, leaving 0.9^12 = 0.282429536481 retained.
    retained = D("0.9") ** 12
    assert configured.value == pytest.approx(D("200") * 6 * 3 * retained, abs=D("0.0001"))
    # Not configured: lifespan = 1 ÷ (1 − 0.9^12).
    expected = D("200") * 6 * retained / (1 - retained)
    assert derived.value == pytest.approx(expected, abs=D("0.0001"))


def test_clv_annualises_a_custom_quarter_by_its_whole_months(q1):
    bulk_customers(8, at(2025, 1, 1))
    bulk_customers(2, at(2025, 1, 1), churned=at(2026, 2, 1))
    bulk_won_deals(8, at(2026, 1, 15), D("50"))

    result = value("clv", q1)

    # Three whole months: 4 a year. APV 50; 8 deals ÷ 10 customers × 4 = 3.2 a year; 20%
    # quarterly churn is 1 − 0.8^4 = 0.5904 a year: 50 × 3.2 × (1 ÷ 0.5904) × 0.4096
    expected = D("50") * D("3.2") * D("0.4096") / D("0.5904")
    assert result.value == pytest.approx(expected, abs=D("0.0001"))


def test_clv_is_no_data_without_churn_unless_a_lifespan_is_configured(march):
    bulk_customers(4, at(2025, 1, 1))
    bulk_won_deals(2, at(2026, 3, 10), D("100"))

    assert value("clv", march).value is None
    with override_settings(CRM_CUSTOMER_LIFESPAN_YEARS=2):
        # 100 × (2 ÷ 4 × 12) × 2 × (1 − 0)
        assert value("clv", march).value == D("1200")


def test_clv_is_no_data_without_won_deals_or_customers(march):
    assert value("clv", march).value is None
    bulk_customers(4, at(2025, 1, 1), churned=at(2026, 3, 3))
    assert value("clv", march).value is None


def test_clv_uses_the_apv_kpi(march, monkeypatch):
    stub(monkeypatch, "apv", Result(D("50"), D("100"), D("2")))
    bulk_customers(3, at(2025, 1, 1))
    bulk_customers(1, at(2025, 1, 1), churned=at(2026, 3, 3))
    bulk_won_deals(2, at(2026, 3, 10), D("999"))

    with override_settings(CRM_CUSTOMER_LIFESPAN_YEARS=1):
        # 50 × (2 ÷ 4 × 12) × 1 × 0.75^12
        expected = D("50") * 6 * D("0.75") ** 12
        assert value("clv", march).value == pytest.approx(expected, abs=D("0.0001"))


def test_clv_is_not_segmented(march):
    with pytest.raises(KeyError):
        value("clv", march, Segment("industry", "software"))


def test_ltv_cac_ratio_divides_clv_by_cac(march, monkeypatch):
    stub(monkeypatch, "clv", Result(D("1600")))
    stub(monkeypatch, "cac", Result(D("200"), D("100000"), D("500")))

    result = value("ltv_cac_ratio", march)

    # 1,600 ÷ 200
    assert result.value == D("8")
    assert (result.numerator, result.denominator) == (D("1600"), D("200"))


def test_ltv_cac_ratio_is_no_data_when_either_side_is(year_2025, monkeypatch):
    bulk_customers(80, at(2024, 1, 1))
    bulk_customers(20, at(2024, 1, 1), churned=at(2025, 7, 1))
    bulk_won_deals(400, at(2025, 5, 5), D("100"))

    # CLV 1,600 but no new customers in 2025: no CAC.
    assert value("ltv_cac_ratio", year_2025).value is None
    stub(monkeypatch, "cac", Result(D("200")))
    assert value("ltv_cac_ratio", year_2025).value == D("8")
    stub(monkeypatch, "clv", Result(None))
    assert value("ltv_cac_ratio", year_2025).value is None


# Health score --------------------------------------------------------------------------

# For March 2026 the score is as of April 1 00:00, looking back 90 days to January 1.


def only(component):
    weights = dict.fromkeys(["engagement", "surveys", "tickets", "purchase_recency", "renewal"], 0)
    return {**weights, component: 1}


def scores(period):
    return {
        company.name: pytest.approx(company.health_score)
        for company in company_health_scores(period)
    }


def old_customer(name, **fields):
    return customer(at(2025, 1, 1), name=name, **fields)


def test_health_engagement_counts_recent_engagement_activities(march):
    old_customer("A")
    b = old_customer("B")
    c = old_customer("C")
    for when in (at(2026, 1, 1), at(2026, 3, 31, 23, 59)):
        m.Activity.objects.create(company=b, kind=m.ActivityKind.MEETING, occurred_at=when)
    # Not engagement, or outside the window.
    m.Activity.objects.create(company=b, kind=m.ActivityKind.NOTE, occurred_at=at(2026, 3, 2))
    m.Activity.objects.create(company=b, kind=m.ActivityKind.CALL, occurred_at=at(2026, 4, 1))
    m.Activity.objects.create(company=b, kind=m.ActivityKind.CALL, occurred_at=at(2025, 12, 31))
    # Through its contact only; 25 points each, capped at 100.
    contact = ContactFactory(company=c)
    for day in range(1, 6):
        m.Activity.objects.create(
            contact=contact, kind=m.ActivityKind.EMAIL_OPENED, occurred_at=at(2026, 2, day)
        )

    with override_settings(CRM_HEALTH_WEIGHTS=only("engagement")):
        # A: 0; B: 2 × 25; C: min(5 × 25, 100)
        assert scores(march) == {"A": 0, "B": 50, "C": 100}
        result = value("health_score", march)

    # (0 + 50 + 100) ÷ 3; below 40: A
    assert result.value == D("50")
    assert (result.numerator, result.denominator) == (1, 3)


def test_health_surveys_average_nps_and_csat_on_one_scale(march):
    old_customer("A")
    b = old_customer("B")
    c = old_customer("C")
    m.SurveyAnswer.objects.create(company=b, kind="nps", score=9, answered_at=at(2026, 2, 1))
    m.SurveyAnswer.objects.create(company=b, kind="csat", score=2, answered_at=at(2026, 3, 1))
    m.SurveyAnswer.objects.create(company=c, kind="nps", score=0, answered_at=at(2026, 1, 1))
    # CES is not a satisfaction answer; the 10 comes after the period.
    m.SurveyAnswer.objects.create(company=c, kind="ces", score=1, answered_at=at(2026, 3, 1))
    m.SurveyAnswer.objects.create(company=c, kind="nps", score=10, answered_at=at(2026, 4, 1))

    with override_settings(CRM_HEALTH_WEIGHTS=only("surveys")):
        # A: no answers, neutral 50; B: (9 × 10 + (2 − 1) × 25) ÷ 2; C: 0 × 10
        assert scores(march) == {"A": 50, "B": 57.5, "C": 0}
        # (50 + 57.5 + 0) ÷ 3
        assert value("health_score", march).value == D("35.8333")


def test_health_tickets_penalise_open_and_recent_tickets(march):
    old_customer("A")
    b = old_customer("B")
    c = old_customer("C")
    d = old_customer("D")
    TicketFactory(company=b, created_at=at(2026, 2, 1))
    # Open on April 1 (resolved later), but not recent.
    TicketFactory(company=c, created_at=at(2025, 6, 1), resolved_at=at(2026, 4, 2))
    for day in (3, 4):
        TicketFactory(company=c, created_at=at(2026, 2, day), resolved_at=at(2026, 2, day, 5))
    for _ in range(5):
        TicketFactory(company=d, created_at=at(2025, 5, 1))

    with override_settings(CRM_HEALTH_WEIGHTS=only("tickets")):
        # A: 100; B: 100 − 25 (open) − 10 (recent); C: 100 − 25 − 2 × 10; D: max(100 − 125, 0)
        assert scores(march) == {"A": 100, "B": 65, "C": 55, "D": 0}


def test_health_purchase_recency_steps_down_with_time(march):
    old_customer("A")
    b = old_customer("B")
    c = old_customer("C")
    d = old_customer("D")
    e = old_customer("E")
    bulk_won_deals(1, at(2026, 3, 31), D("10"), company=b)
    SubscriptionFactory(company=c, start_date=date(2025, 12, 1))
    bulk_won_deals(1, at(2025, 6, 1), D("10"), company=d)
    # After the period, and more than a year before its end.
    bulk_won_deals(1, at(2026, 4, 5), D("10"), company=e)
    bulk_won_deals(1, at(2025, 3, 1), D("10"), company=e)

    with override_settings(CRM_HEALTH_WEIGHTS=only("purchase_recency")):
        # ≤ 90 days 100, ≤ 180 days 70, ≤ 365 days 40, else 0
        assert scores(march) == {"A": 0, "B": 100, "C": 70, "D": 40, "E": 0}
        # (0 + 100 + 70 + 40 + 0) ÷ 5
        assert value("health_score", march).value == D("42")


def test_health_renewal_reads_the_subscription_status(march):
    old_customer("A")
    b = old_customer("B")
    c = old_customer("C")
    d = old_customer("D")
    e = old_customer("E")
    f = old_customer("F")
    g = old_customer("G")
    SubscriptionFactory(company=b, start_date=date(2025, 1, 1))
    SubscriptionFactory(company=c, start_date=date(2025, 5, 1), end_date=date(2026, 5, 1))
    renewed = SubscriptionFactory(company=d, start_date=date(2025, 5, 1), end_date=date(2026, 5, 1))
    SubscriptionFactory(company=d, start_date=date(2026, 5, 1), renewal_of=renewed)
    SubscriptionFactory(
        company=e,
        start_date=date(2025, 5, 1),
        end_date=date(2026, 4, 15),
        status=m.SubscriptionStatus.CANCELLED,
        cancelled_at=at(2026, 3, 10),
    )
    SubscriptionFactory(company=f, start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))
    # Cancelled only after the period: as of March it was due for renewal.
    SubscriptionFactory(
        company=g,
        start_date=date(2025, 6, 1),
        end_date=date(2026, 6, 1),
        status=m.SubscriptionStatus.CANCELLED,
        cancelled_at=at(2026, 4, 10),
    )

    with override_settings(CRM_HEALTH_WEIGHTS=only("renewal")):
        # none 50, open-ended 100, due within 90 days 50, renewed 100, cancelling 0,
        # due after 90 days 100, due within 90 days 50
        assert scores(march) == {"A": 50, "B": 100, "C": 50, "D": 100, "E": 0, "F": 100, "G": 50}
        # 450 ÷ 7
        assert value("health_score", march).value == D("64.2857")


@pytest.fixture
def healthy_and_at_risk():
    x = old_customer("X", industry=m.Industry.FINANCE)
    for day in range(1, 5):
        m.Activity.objects.create(company=x, kind=m.ActivityKind.CALL, occurred_at=at(2026, 3, day))
    SubscriptionFactory(company=x, start_date=date(2025, 1, 1))
    bulk_won_deals(1, at(2026, 3, 10), D("10"), company=x)
    y = old_customer("Y", industry=m.Industry.RETAIL)
    # Not customers at the end of March.
    customer(at(2025, 1, 1), churned=at(2026, 3, 15), name="Z")
    customer(at(2026, 4, 1), name="W")
    return x, y


def test_health_score_blends_components_with_the_default_weights(march, healthy_and_at_risk):
    x, y = healthy_and_at_risk

    result = value("health_score", march)

    # X: 0.3 × 100 + 0.25 × 50 + 0.15 × (100 + 100 + 100) = 87.5
    # Y: 0.3 × 0 + 0.25 × 50 + 0.15 × 100 + 0.15 × 0 + 0.15 × 50 = 35, below 40
    assert scores(march) == {"X": 87.5, "Y": 35}
    # (87.5 + 35) ÷ 2
    assert result.value == D("61.25")
    assert (result.numerator, result.denominator) == (1, 2)
    assert list(get_kpi("health_score").counted_records(march, numerator_only=True)) == [y]
    breakdown = get_kpi("health_score").breakdown(march, "industry")
    assert breakdown["finance"].value == D("87.5")
    assert breakdown["retail"].numerator == 1


def test_health_score_weights_are_relative_and_the_threshold_configurable(
    march, healthy_and_at_risk
):
    doubled = {
        "engagement": 0.6,
        "surveys": 0.5,
        "tickets": 0.3,
        "purchase_recency": 0.3,
        "renewal": 0.3,
    }
    with override_settings(CRM_HEALTH_WEIGHTS=doubled, CRM_HEALTH_RISK_THRESHOLD=30):
        result = value("health_score", march)

    assert result.value == D("61.25")
    assert result.numerator == 0


def test_health_score_without_customers_is_no_data(march):
    customer(at(2026, 4, 1))

    result = value("health_score", march)

    assert result.value is None
    assert result.denominator == 0
