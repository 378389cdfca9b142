"""The MRR movement chart's numbers, worked out by hand: new MRR is a customer's first
subscription, expansion a further one (renewals are neither), churn a subscription that ended
with no renewal after it. The months over and the running month are computed apart
(metrics.charts.mrr_movement), so both are checked, and a month over the nightly run stored
is read from its rows (metrics.mrr_movement)."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from crm import models as m
from metrics import charts, fill, mrr_movement
from metrics.models import KPISnapshot
from metrics.numbers import Reader
from metrics.periods import period_for
from metrics.registry import ALL, Segment, get_kpi
from tests.crm.factories import CompanyFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

D = Decimal
MONTHS = [date(2025, month, 1) for month in range(4, 13)] + [
    date(2026, month, 1) for month in range(1, 4)
]


def ended(company, value, start, end, **fields):
    return SubscriptionFactory(
        company=company,
        monthly_value=D(value),
        start_date=start,
        end_date=end,
        status=m.SubscriptionStatus.EXPIRED,
        **fields,
    )


@pytest.fixture
def subscriptions(rep):
    northwind = CompanyFactory(owner=rep)
    first = ended(northwind, "100", date(2026, 1, 10), date(2026, 3, 1))
    SubscriptionFactory(
        company=northwind, monthly_value=D("40"), start_date=date(2026, 2, 5)
    )  # expansion
    SubscriptionFactory(
        company=northwind, monthly_value=D("110"), start_date=date(2026, 3, 1), renewal_of=first
    )  # a renewal: neither new nor expansion, and the first is not churn
    ended(CompanyFactory(), "200", date(2025, 6, 1), date(2026, 2, 15))  # churned in February
    SubscriptionFactory(
        company=CompanyFactory(owner=rep), monthly_value=D("50"), start_date=date(2026, 3, 5)
    )  # new in the running month
    ended(CompanyFactory(), "70", date(2025, 12, 1), date(2026, 3, 10))  # churned in March
    ended(CompanyFactory(), "999", date(2024, 1, 1), date(2025, 3, 31))  # before the chart


def movement(segment=ALL) -> dict[str, list[float]]:
    cache.clear()
    reader = Reader(now=timezone.make_aware(datetime(2026, 3, 20, 12)))
    march = period_for("month", date(2026, 3, 20))
    chart = charts.mrr_movement(march, segment, reader)
    return {dataset["label"]: dataset["data"] for dataset in chart["datasets"]}


def by_month(**values) -> list[float]:
    return [values.get(month.strftime("%b%y").lower(), 0) for month in MONTHS]


def test_new_expansion_and_churn_per_month(subscriptions):
    moves = movement()
    assert moves["New"] == by_month(jun25=200, dec25=70, jan26=100, mar26=50)
    assert moves["Expansion"] == by_month(feb26=40)
    assert moves["Churn"] == by_month(feb26=-200, mar26=-70)


def test_an_owner_sees_the_moves_of_their_customers_only(subscriptions, rep):
    moves = movement(Segment("owner", str(rep.pk)))
    assert moves["New"] == by_month(jan26=100, mar26=50)
    assert moves["Expansion"] == by_month(feb26=40)
    assert moves["Churn"] == by_month()


FEBRUARY = period_for("month", date(2026, 2, 1))


def store(month):
    """What the nightly run writes for a month with the MRR in it (metrics.fill)."""
    fill.write_period(period=month, kpis=[get_kpi("mrr")], today=date(2026, 3, 20), complete=True)


def stored(name: str, segment=ALL) -> Decimal | None:
    row = KPISnapshot.objects.filter(
        kpi=mrr_movement.MOVE_KEYS[name],
        grain="month",
        period_start=FEBRUARY.start_date,
        segment_field=segment.field,
        segment_value=segment.value,
    ).first()
    return None if row is None else row.value


def test_the_nightly_run_stores_each_months_movement_overall_and_per_owner(subscriptions, rep):
    store(FEBRUARY)

    assert [stored(name) for name in mrr_movement.MOVES] == [0, 40, 200]
    mine = Segment("owner", str(rep.pk))
    assert [stored(name, mine) for name in mrr_movement.MOVES] == [0, 40, 0]


def test_the_chart_reads_a_month_over_from_its_stored_rows_and_counts_the_others(
    subscriptions, rep
):
    store(FEBRUARY)
    # Written after the month was stored: February shows what was stored, as any closed
    # period does; January, not stored, is counted from the subscriptions.
    SubscriptionFactory(
        company=CompanyFactory(owner=rep), monthly_value=D("300"), start_date=date(2026, 2, 9)
    )
    SubscriptionFactory(
        company=CompanyFactory(owner=rep), monthly_value=D("25"), start_date=date(2026, 1, 9)
    )

    moves = movement()
    assert moves["New"] == by_month(jun25=200, dec25=70, jan26=125, mar26=50)
    assert moves["Expansion"] == by_month(feb26=40)
    assert moves["Churn"] == by_month(feb26=-200, mar26=-70)
    mine = movement(Segment("owner", str(rep.pk)))
    assert mine["New"] == by_month(jan26=125, mar26=50)
    assert mine["Churn"] == by_month()
