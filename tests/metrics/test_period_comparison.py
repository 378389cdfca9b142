"""A period still running compares with the same elapsed part of the previous one (issue 15,
item 2): on the 26th, November 1–26 against October 1–26, not against all of October, and the
page says so."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from metrics.periods import comparison_for, custom_period, period_for
from tests.metrics.test_dashboard_pages import won_deal

pytestmark = pytest.mark.django_db


def moment(year, month, day, hour=0, minute=0):
    return timezone.make_aware(datetime(year, month, day, hour, minute))


def test_a_running_month_compares_with_the_same_days_of_the_previous_month():
    november = period_for("month", date(2026, 11, 15))
    comparison = comparison_for(november, moment(2026, 11, 26, 5))
    assert comparison.partial
    assert (comparison.period.start_date, comparison.period.end_date) == (
        date(2026, 10, 1),
        date(2026, 10, 26),
    )
    assert comparison.label == "the same days of October 2026"


def test_a_running_day_compares_with_yesterday_up_to_the_same_hour():
    today = period_for("day", date(2026, 11, 26))
    comparison = comparison_for(today, moment(2026, 11, 26, 5, 30))
    assert comparison.partial
    assert comparison.period.start == moment(2026, 11, 25)
    assert comparison.period.end == moment(2026, 11, 25, 6)
    assert comparison.label == "Nov 25, 2026 until 6:00 AM"


@pytest.mark.parametrize(
    "grain, day, now, label",
    [
        # Over: the whole previous period.
        ("month", date(2026, 10, 1), moment(2026, 11, 26), "September 2026"),
        ("quarter", date(2026, 5, 1), moment(2026, 11, 26), "Q1 2026"),
        # Longer than the previous period already (31 March against February): all of it.
        ("month", date(2026, 3, 1), moment(2026, 3, 31, 12), "February 2026"),
    ],
)
def test_otherwise_it_compares_with_the_whole_previous_period(grain, day, now, label):
    period = period_for(grain, day)
    comparison = comparison_for(period, now)
    assert not comparison.partial
    assert comparison.period == period.previous()
    assert comparison.label == label


@override_settings(TIME_ZONE="America/New_York")
def test_the_same_days_are_counted_in_the_site_time_zone():
    # 02:00 UTC on 1 December is still 30 November in New York: 30 days done, not 31.
    november = period_for("month", date(2026, 11, 15))
    now = datetime(2026, 12, 1, 2, tzinfo=timezone.get_fixed_timezone(0))
    comparison = comparison_for(november, now)
    assert comparison.period.end_date == date(2026, 10, 30)


def test_cards_and_the_kpi_page_compare_with_the_elapsed_part_and_say_so(
    client, manager, rep, sales_team
):
    # A range running from ten days ago to ten days ahead; the one before it ends yesterday
    # ten days ago. Eleven days of it have begun (today included).
    today = timezone.localdate()
    period = custom_period(today - timedelta(days=10), today + timedelta(days=10))
    before = period.previous()
    won_deal(rep, sales_team, timezone.now() - timedelta(minutes=1))
    won_deal(rep, sales_team, before.start + timedelta(days=2))  # within the same days
    won_deal(rep, sales_team, before.start + timedelta(days=15))  # later: not compared
    query = f"?grain=custom&start={period.start_date}&end={period.end_date}"
    client.force_login(manager)

    response = client.get(reverse("dashboard", args=["sales"]) + query)
    card = next(c for c in response.context["cards"] if c.kpi.key == "deals_won_count")
    assert (card.result.value, card.previous.value) == (1, 1)
    assert card.comparison.partial
    html = response.content.decode()
    assert "vs 1 in the same days of" in html

    page = client.get(reverse("kpi", args=["deals_won_count"]) + query)
    assert page.context["previous"].value == 1 and page.context["delta"] == 0
    assert "Compared with the same days of" in page.content.decode()

    home = client.get(reverse("home")).content.decode()
    assert "Changes compare with" in home


def test_a_balance_compares_with_the_end_of_the_previous_period(client, manager, rep, sales_team):
    # The same running range: the pipeline compares with where it stood when the range
    # before closed, the deals won with the same days of it.
    today = timezone.localdate()
    period = custom_period(today - timedelta(days=10), today + timedelta(days=10))
    before = period.previous()
    open_deal = won_deal(rep, sales_team, before.start + timedelta(days=15))
    open_deal.__class__.objects.filter(pk=open_deal.pk).update(
        status="open", closed_at=None, stage=open_deal.pipeline.stages.order_by("order").first()
    )
    query = f"?grain=custom&start={period.start_date}&end={period.end_date}"
    client.force_login(manager)

    response = client.get(reverse("dashboard", args=["sales"]) + query)
    cards = {c.kpi.key: c for c in response.context["cards"]}
    pipeline, won = cards["pipeline_value"], cards["deals_won_count"]
    assert not pipeline.comparison.partial and pipeline.comparison.period == before
    assert pipeline.previous.value == Decimal("1000.00")  # open when the range before closed
    assert won.comparison.partial

    page = client.get(reverse("kpi", args=["pipeline_value"]) + query)
    assert page.context["comparison"].period == before

    home = client.get(reverse("home")).content.decode()
    assert "Balances (pipeline, MRR) compare with the end of" in home
    assert "Changes compare with the same days of" in home
