"""KPIs measured at the end of a period (pipeline, weighted pipeline, MRR, health): the value of
any period ending at midnight is that of the day it ends with, so a closed period that is not
a snapshot's own (1-26 October, compared with a running November) reads the day's snapshot
instead of computing from the records (issue 19)."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from crm import models as m
from metrics.models import KPISnapshot
from metrics.numbers import Reader
from metrics.periods import custom_period, period_for
from metrics.registry import ALL, REGISTRY, all_kpis
from tests.crm.factories import CompanyFactory, SubscriptionFactory, SurveyAnswerFactory
from tests.metrics.test_sales_kpis import deal

pytestmark = pytest.mark.django_db

BALANCES = {"pipeline_value", "weighted_pipeline_value", "mrr", "health_score"}


def at(month, day, hour=12):
    return timezone.make_aware(datetime(2026, month, day, hour))


@pytest.fixture
def october_records():
    """Changes before, inside and after 1-26 October: deals opened, won and lost; subscriptions
    started and ended; a customer answering a survey."""
    deal(created=at(9, 1), amount="500")
    deal(created=at(9, 10), closed=at(10, 20), amount="700")
    deal(created=at(10, 5), stage="Proposal", amount="900")
    deal(created=at(10, 6), closed=at(10, 25), outcome="Lost", amount="300")
    deal(created=at(10, 28), amount="4000")
    customer = CompanyFactory(lifecycle=m.Lifecycle.CUSTOMER, customer_since=at(1, 1))
    SubscriptionFactory(company=customer, start_date=date(2026, 10, 10), monthly_value=100)
    SubscriptionFactory(
        company=customer,
        start_date=date(2026, 3, 1),
        end_date=date(2026, 10, 15),
        monthly_value=40,
    )
    SurveyAnswerFactory(company=customer, contact__company=customer, answered_at=at(10, 2))


def measured_at_end():
    all_kpis()
    return [kpi for kpi in REGISTRY.values() if kpi.as_of_end]


def test_the_kpis_measured_at_the_end_are_the_balances():
    assert {kpi.key for kpi in measured_at_end()} == BALANCES


@pytest.mark.usefixtures("october_records")
@pytest.mark.parametrize("key", sorted(BALANCES))
def test_a_period_ending_with_a_day_has_that_days_value(key):
    kpi = REGISTRY[key]
    first_days = custom_period(date(2026, 10, 1), date(2026, 10, 26))
    whole_days = custom_period(date(2026, 9, 15), date(2026, 10, 26))
    last_day = period_for("day", date(2026, 10, 26))

    assert kpi.value(first_days) == kpi.value(last_day) == kpi.value(whole_days)
    assert kpi.value(last_day).value not in (None, Decimal(0))


def snapshot(key, day, value):
    KPISnapshot.objects.create(
        kpi=key,
        grain="day",
        period_start=day,
        period_end=day,
        value=value,
        numerator=value,
        denominator=1,
    )


@pytest.mark.usefixtures("october_records")
def test_a_closed_part_of_a_month_reads_the_snapshot_of_its_last_day():
    # A value no computation gives: read, not computed.
    snapshot("pipeline_value", date(2026, 10, 26), Decimal("12345.00"))
    first_days = custom_period(date(2026, 10, 1), date(2026, 10, 26))

    reading = Reader().read([(REGISTRY["pipeline_value"], first_days, ALL)])[0]

    assert reading.result.value == Decimal("12345.00")
    assert reading.computed_at is not None and not reading.live


@pytest.mark.usefixtures("october_records")
def test_a_flow_kpi_never_reads_a_days_snapshot_for_a_longer_period():
    snapshot("deals_won_count", date(2026, 10, 26), Decimal("99"))
    first_days = custom_period(date(2026, 10, 1), date(2026, 10, 26))

    reading = Reader().read([(REGISTRY["deals_won_count"], first_days, ALL)])[0]

    assert reading.result.value == 1


def test_a_running_periods_weighted_pipeline_takes_each_deals_stage_of_now():
    deal(created=at(1, 5), stage="Proposal", amount="1000")
    running = period_for("month", timezone.localdate())
    kpi = REGISTRY["weighted_pipeline_value"]
    probability = m.Stage.objects.get(name="Proposal", pipeline__is_default=True).probability

    assert kpi.value(running).value == Decimal(1000 * probability) / 100
    # No stage history read per open deal while the period runs.
    assert "crm_dealstagechange" not in str(kpi.records(running).query)
