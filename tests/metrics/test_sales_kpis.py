"""Sales KPIs on hand-worked March 2026 datasets.

Each dataset has rows on the last minute of February and the first instant of April, which must
not count. Expected values are written out as arithmetic next to the assertions.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm import services
from crm.models import ActivityKind, DealKind, DealStatus, Lead, Lifecycle, Stage
from metrics import services as metric_services
from metrics.kpis import sales
from metrics.models import KPISnapshot
from metrics.periods import period_for
from metrics.registry import Result, Segment, get_kpi
from tests.crm.factories import CompanyFactory, DealFactory, LeadFactory, stage_named


def at(month: int, day: int, hour: int = 12, minute: int = 0, year: int = 2026) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour, minute))


LAST_MINUTE_OF_FEBRUARY = at(2, 28, 23, 59)
FIRST_INSTANT_OF_APRIL = at(4, 1, 0, 0)


@pytest.fixture
def june():
    """A period with no records at all."""
    return period_for("month", date(2026, 6, 1))


def deal(*, created, closed=None, outcome="Won", stage="Prospecting", amount="1000", **data):
    """A deal through the services: created at `created`, moved to `outcome` at `closed`."""
    made = services.deal_create(
        actor=None,
        stage=stage_named(stage),
        data={"name": "Deal", "created_at": created, "amount": Decimal(amount), **data},
    )
    if closed is not None:
        made = move(made, outcome, closed)
    return made


def move(deal_, stage: str, when):
    reason = "Too expensive" if stage == "Lost" else ""
    return services.deal_move_stage(
        deal=deal_, stage=stage_named(stage), actor=None, at=when, lost_reason=reason
    )


def won_row(closed, amount="1000", **fields):
    """A won deal written directly, for datasets that need many rows."""
    return DealFactory(
        stage=stage_named("Won"),
        status=DealStatus.WON,
        closed_at=closed,
        created_at=closed - timedelta(days=10),
        amount=Decimal(amount),
        **fields,
    )


def by_owner(user) -> Segment:
    return Segment("owner", str(user.pk))


def assert_breakdown_matches_values(kpi, period, expected: dict):
    """The one-query breakdown equals each owner's own value, and the expected values."""
    breakdown = kpi.breakdown(period, "owner")
    assert {key: result.value for key, result in breakdown.items()} == {
        str(user.pk): value for user, value in expected.items()
    }
    for user in expected:
        assert breakdown[str(user.pk)] == kpi.value(period, by_owner(user))


# Registry ---------------------------------------------------------------------------------

SALES_KEYS = {
    "pipeline_value": ("money", True),
    "weighted_pipeline_value": ("money", True),
    "win_rate": ("percent", True),
    "deal_velocity": ("days", False),
    "sales_cycle_days": ("days", False),
    "deals_won_count": ("count", True),
    "lead_conversion_rate": ("percent", True),
    "lead_qualification_rate": ("percent", True),
    "lead_response_hours": ("hours", False),
    "apv": ("money", True),
    "net_new_revenue": ("money", True),
    "upsell_rate": ("percent", True),
    "cross_sell_rate": ("percent", True),
}


@pytest.mark.parametrize("key", sorted(SALES_KEYS))
def test_every_sales_kpi_of_the_catalogue_is_registered(key):
    kpi = get_kpi(key)
    assert (kpi.unit, kpi.higher_is_better, kpi.group) == (*SALES_KEYS[key], "sales")
    assert str(kpi.label) and str(kpi.description)
    assert {"owner", "team", "custom"} <= set(kpi.segments)


def test_deal_kpis_segment_by_every_deal_dimension():
    for key in ("pipeline_value", "win_rate", "sales_cycle_days", "apv", "deal_velocity"):
        assert {
            "owner",
            "team",
            "lead_source",
            "pipeline",
            "deal_kind",
            "industry",
            "company_size",
            "custom",
        } <= set(get_kpi(key).segments)
    assert get_kpi("deal_velocity").segments["stage"] == "from_stage"
    assert get_kpi("deal_velocity").segment_path("custom:region") == "deal__custom__region"


def test_bands_follow_the_reference_table():
    conversion = get_kpi("lead_conversion_rate").bands
    assert [conversion.band_for(Decimal(v)) for v in (1, 2, 4.9, 5, 9.9, 10, 35)] == [
        "below",
        "typical",
        "typical",
        "good",
        "good",
        "exceptional",
        "exceptional",
    ]
    response = get_kpi("lead_response_hours").bands
    assert [response.band_for(Decimal(v)) for v in (0.5, 1, 23.9, 24, 48)] == [
        "exceptional",
        "good",
        "good",
        "above",
        "above",
    ]
    cycle = get_kpi("sales_cycle_days").bands
    assert [cycle.band_for(Decimal(v)) for v in (60, 90, 179, 180)] == [
        "below",
        "typical",
        "typical",
        "above",
    ]


# Pipeline value ---------------------------------------------------------------------------


@pytest.fixture
def pipeline_deals(rep, teammate):
    return {
        # Open in Proposal (50%): 1,000 → weighted 500.
        "proposal": deal(created=at(3, 10), stage="Proposal", amount="1000", owner=rep),
        # Open in Negotiation (75%), 2,000 at rate 1.5: 3,000 → weighted 2,250.
        "negotiation": deal(
            created=at(2, 10),
            stage="Negotiation",
            amount="2000",
            exchange_rate=Decimal("1.5"),
            owner=teammate,
        ),
        # Still open at the end of March, won on the first instant of April: 4,000, weighted at
        # the stage it was in at the end of March, Prospecting (10%): 400.
        "won_in_april": deal(
            created=at(3, 5), closed=FIRST_INSTANT_OF_APRIL, amount="4000", owner=rep
        ),
        # Open at the end of March, lost since: 500, weighted at Prospecting (10%): 50.
        "lost_in_april": deal(
            created=at(3, 2), closed=at(4, 2), outcome="Lost", amount="500", owner=teammate
        ),
        # Not open at the end of March.
        "lost_in_march": deal(
            created=at(3, 5), closed=at(3, 31, 23, 59), outcome="Lost", amount="7000", owner=rep
        ),
        "won_in_february": deal(
            created=at(2, 1), closed=LAST_MINUTE_OF_FEBRUARY, amount="7000", owner=rep
        ),
        "created_in_april": deal(created=FIRST_INSTANT_OF_APRIL, amount="7000", owner=rep),
    }


@pytest.mark.django_db
def test_pipeline_value_sums_the_deals_open_at_the_end_of_the_period(march, pipeline_deals):
    kpi = get_kpi("pipeline_value")

    result = kpi.value(march)

    # 1,000 + 2,000 × 1.5 + 4,000 + 500 = 8,500 over 4 deals
    assert result == Result(Decimal("8500.00"), Decimal("8500.00"), Decimal(4))
    counted = ("proposal", "negotiation", "won_in_april", "lost_in_april")
    assert set(kpi.counted_records(march)) == {pipeline_deals[name] for name in counted}
    assert kpi.counted_records(march).count() == result.denominator


@pytest.mark.django_db
def test_weighted_pipeline_uses_the_stage_each_deal_was_in_at_the_end(march, pipeline_deals):
    result = get_kpi("weighted_pipeline_value").value(march)

    # Issue 15 item 4: the deals closed since count at the stage they were in on March 31, not
    # at Won (100%) / Lost (0%) as before (the old value was 6,750).
    # 1,000 × 50% + 3,000 × 75% + 4,000 × 10% + 500 × 10% = 500 + 2,250 + 400 + 50 = 3,200
    assert result == Result(Decimal("3200.00"), Decimal("3200.00"), Decimal(4))


@pytest.mark.django_db
def test_weighted_pipeline_reads_the_stage_history_at_the_end_of_the_period(march, rep):
    # Prospecting (10%) in February, Proposal (50%) on March 20, Negotiation (75%) in April:
    # on March 31 it was in Proposal. 2,000 × 50% = 1,000.
    moved_twice = deal(created=at(2, 10), amount="2000", owner=rep)
    move(moved_twice, "Proposal", at(3, 20))
    move(moved_twice, "Negotiation", at(4, 3))
    # Moved to Negotiation at the last minute of March, back to Proposal in April: 75%.
    # 1,000 × 75% = 750.
    last_minute = deal(created=at(3, 1), stage="Proposal", amount="1000", owner=rep)
    move(last_minute, "Negotiation", at(3, 31, 23, 59))
    move(last_minute, "Proposal", at(4, 1, 0, 0))
    # Moved on the first instant of April: still in Qualification (20%). 500 × 20% = 100.
    first_instant = deal(created=at(3, 1), stage="Qualification", amount="500", owner=rep)
    move(first_instant, "Negotiation", FIRST_INSTANT_OF_APRIL)
    # No history at all (a row written directly): its current stage, Proposal (50%).
    # 300 × 50% = 150.
    DealFactory(
        stage=stage_named("Proposal"), amount=Decimal("300"), created_at=at(3, 1), owner=rep
    )
    # History recorded only from April: the stage its first move left, Qualification (20%).
    # 100 × 20% = 20.
    imported = DealFactory(
        stage=stage_named("Qualification"),
        amount=Decimal("100"),
        created_at=at(3, 1),
        stage_entered_at=at(3, 1),
        owner=rep,
    )
    move(imported, "Proposal", at(4, 5))

    result = get_kpi("weighted_pipeline_value").value(march)

    # 1,000 + 750 + 100 + 150 + 20 = 2,020 over 5 deals
    assert result == Result(Decimal("2020.00"), Decimal("2020.00"), Decimal(5))
    # The pipeline value of the same deals is unweighted: 2,000 + 1,000 + 500 + 300 + 100
    assert get_kpi("pipeline_value").value(march).value == Decimal("3900.00")
    # February: only the first deal existed, in Prospecting (10%): 2,000 × 10% = 200.
    february = period_for("month", date(2026, 2, 1))
    assert get_kpi("weighted_pipeline_value").value(february).value == Decimal("200.00")


@pytest.mark.django_db
def test_weighted_pipeline_snapshot_reads_back_the_live_numbers(march, pipeline_deals, rep):
    kpi = get_kpi("weighted_pipeline_value")

    metric_services.snapshot_kpi_period(kpi=kpi, period=march)

    stored = {
        (row.segment_field, row.segment_value): (row.value, row.numerator, row.denominator)
        for row in KPISnapshot.objects.filter(kpi=kpi.key, period_start=march.start_date)
    }
    live = kpi.value(march)
    assert stored[("", "")] == (live.value, live.numerator, live.denominator)
    assert stored[("", "")] == (Decimal("3200"), Decimal("3200"), Decimal(4))
    assert stored[("owner", str(rep.pk))][0] == kpi.value(march, by_owner(rep)).value == 900


@pytest.mark.django_db
def test_weighted_pipeline_keeps_the_cents(march):
    deal(created=at(3, 1), stage="Negotiation", amount="1001")
    deal(created=at(3, 1), stage="Proposal", amount="3")

    # 1,001 × 75% + 3 × 50% = 750.75 + 1.50 = 752.25 (SQLite would floor 3 × 50 / 100 to 1)
    assert get_kpi("weighted_pipeline_value").value(march).value == Decimal("752.25")


@pytest.mark.django_db
def test_pipeline_value_breaks_down_by_owner(march, pipeline_deals, rep, teammate):
    # rep: 1,000 + 4,000 = 5,000; teammate: 3,000 + 500 = 3,500
    assert_breakdown_matches_values(
        get_kpi("pipeline_value"), march, {rep: Decimal("5000.00"), teammate: Decimal("3500.00")}
    )
    # rep: 500 + 400 = 900; teammate: 2,250 + 50 = 2,300
    assert_breakdown_matches_values(
        get_kpi("weighted_pipeline_value"),
        march,
        {rep: Decimal("900.00"), teammate: Decimal("2300.00")},
    )


@pytest.mark.django_db
def test_an_empty_pipeline_is_worth_zero_not_no_data(june):
    # A sum over no deals is a true zero: the pipeline is empty.
    assert get_kpi("pipeline_value").value(june) == Result(Decimal("0.00"), Decimal("0.00"), 0)
    assert get_kpi("weighted_pipeline_value").value(june).value == Decimal("0.00")


# Win rate ---------------------------------------------------------------------------------


@pytest.fixture
def closed_deals(rep, teammate):
    return [
        deal(created=at(2, 1), closed=at(3, 1, 0, 0), owner=rep),
        deal(created=at(2, 1), closed=at(3, 31, 23, 59), owner=teammate),
        deal(created=at(2, 1), closed=at(3, 10), outcome="Lost", owner=rep),
        deal(created=at(2, 1), closed=at(3, 15), outcome="Lost", owner=rep),
        deal(created=at(2, 1), closed=at(3, 20), outcome="Lost", owner=teammate),
        # Outside March or still open: not counted.
        deal(created=at(2, 1), closed=LAST_MINUTE_OF_FEBRUARY, owner=rep),
        deal(created=at(2, 1), closed=FIRST_INSTANT_OF_APRIL, outcome="Lost", owner=rep),
        deal(created=at(3, 1), owner=rep),
    ]


@pytest.mark.django_db
def test_win_rate_is_won_over_closed_in_the_period(march, closed_deals):
    kpi = get_kpi("win_rate")

    result = kpi.value(march)

    # 2 won ÷ (2 won + 3 lost) × 100 = 40
    assert result == Result(Decimal("40.0000"), Decimal(2), Decimal(5))
    assert kpi.counted_records(march, numerator_only=True).count() == 2
    assert kpi.counted_records(march).count() == 5


@pytest.mark.django_db
def test_win_rate_breaks_down_by_owner(march, closed_deals, rep, teammate):
    # rep: 1 ÷ 3 × 100 = 33.3333; teammate: 1 ÷ 2 × 100 = 50
    assert_breakdown_matches_values(
        get_kpi("win_rate"), march, {rep: Decimal("33.3333"), teammate: Decimal("50.0000")}
    )


@pytest.mark.django_db
def test_win_rate_without_closed_deals_is_no_data(june, closed_deals):
    assert get_kpi("win_rate").value(june) == Result(None, Decimal(0), Decimal(0))


# Stage velocity ---------------------------------------------------------------------------


@pytest.fixture
def stage_moves(rep, teammate):
    x = deal(created=at(3, 1, 0, 0), owner=rep)
    move(x, "Qualification", at(3, 3, 0, 0))  # 2 days in Prospecting
    move(x, "Proposal", at(3, 13, 0, 0))  # 10 days in Qualification
    y = deal(created=at(2, 20, 0, 0), owner=teammate)
    move(y, "Qualification", LAST_MINUTE_OF_FEBRUARY)  # exit in February: not counted
    move(y, "Proposal", at(3, 4, 23, 59))  # 4 days in Qualification
    move(y, "Won", FIRST_INSTANT_OF_APRIL)  # exit in April: not counted
    z = deal(created=at(3, 10, 0, 0), owner=rep)
    move(z, "Qualification", at(3, 14, 0, 0))  # 4 days in Prospecting


@pytest.mark.django_db
def test_stage_velocity_is_the_mean_time_in_stage_of_the_exits_in_the_period(march, stage_moves):
    kpi = get_kpi("deal_velocity")

    result = kpi.value(march)

    # (2 + 10 + 4 + 4) days ÷ 4 exits = 5 days; creations (no stage left) are not exits
    assert result == Result(Decimal("5.0000"), Decimal("20.0000"), Decimal(4))
    assert kpi.counted_records(march).count() == result.denominator


@pytest.mark.django_db
def test_stage_velocity_gives_one_value_per_stage_and_the_bottleneck(march, stage_moves):
    kpi = get_kpi("deal_velocity")
    prospecting, qualification = stage_named("Prospecting"), stage_named("Qualification")

    per_stage = kpi.breakdown(march, "stage")

    # Prospecting: (2 + 4) ÷ 2 = 3 days; Qualification: (10 + 4) ÷ 2 = 7 days
    assert per_stage == {
        str(prospecting.pk): Result(Decimal("3.0000"), Decimal("6.0000"), Decimal(2)),
        str(qualification.pk): Result(Decimal("7.0000"), Decimal("14.0000"), Decimal(2)),
    }
    assert per_stage[str(qualification.pk)] == kpi.value(
        march, Segment("stage", str(qualification.pk))
    )
    assert sales.bottleneck_stage(march) == (qualification.pk, per_stage[str(qualification.pk)])


@pytest.mark.django_db
def test_stage_velocity_breaks_down_by_owner(march, stage_moves, rep, teammate):
    # rep: (2 + 10 + 4) ÷ 3 = 5.3333 days; teammate: 4 ÷ 1 = 4 days
    assert_breakdown_matches_values(
        get_kpi("deal_velocity"), march, {rep: Decimal("5.3333"), teammate: Decimal("4.0000")}
    )


@pytest.mark.django_db
def test_stage_velocity_without_exits_is_no_data(june, stage_moves):
    assert get_kpi("deal_velocity").value(june) == Result(None, Decimal(0), Decimal(0))
    assert sales.bottleneck_stage(june) is None


# Sales cycle ------------------------------------------------------------------------------


@pytest.fixture
def cycle_deals(rep, teammate):
    lead = LeadFactory(created_at=at(12, 1, 0, 0, year=2025))
    return [
        # Jan 1 → Mar 2: 31 + 28 + 1 = 60 days
        deal(created=at(1, 1, 0, 0), closed=at(3, 2, 0, 0), owner=rep),
        # From the source lead, Dec 1 → Mar 1: 31 + 31 + 28 = 90 days (not the deal's 28)
        deal(created=at(2, 1, 0, 0), closed=at(3, 1, 0, 0), owner=teammate, source_lead=lead),
        # Mar 1 00:00 → Mar 21 12:00: 20.5 days
        deal(created=at(3, 1, 0, 0), closed=at(3, 21, 12, 0), owner=rep),
        # Not won in March.
        deal(created=at(2, 1), closed=LAST_MINUTE_OF_FEBRUARY, owner=rep),
        deal(created=at(3, 1), closed=FIRST_INSTANT_OF_APRIL, owner=rep),
        deal(created=at(1, 1), closed=at(3, 15), outcome="Lost", owner=rep),
    ]


@pytest.mark.django_db
def test_sales_cycle_is_the_mean_days_to_win_from_the_deal_or_its_lead(march, cycle_deals):
    kpi = get_kpi("sales_cycle_days")

    result = kpi.value(march)

    # (60 + 90 + 20.5) ÷ 3 = 170.5 ÷ 3 = 56.8333 days
    assert result == Result(Decimal("56.8333"), Decimal("170.5000"), Decimal(3))
    assert kpi.counted_records(march).count() == result.denominator


@pytest.mark.django_db
def test_sales_cycle_median_is_the_middle_row_or_the_mean_of_the_two(march, cycle_deals, rep):
    # Sorted 20.5, 60, 90: the middle one
    assert sales.sales_cycle_median_days(march) == Result(Decimal("60.0000"), None, Decimal(3))
    # rep: 20.5 and 60, (20.5 + 60) ÷ 2 = 40.25
    assert sales.sales_cycle_median_days(march, by_owner(rep)) == Result(
        Decimal("40.2500"), None, Decimal(2)
    )


@pytest.mark.django_db
def test_sales_cycle_breaks_down_by_owner(march, cycle_deals, rep, teammate):
    # rep: (60 + 20.5) ÷ 2 = 40.25; teammate: 90
    assert_breakdown_matches_values(
        get_kpi("sales_cycle_days"), march, {rep: Decimal("40.2500"), teammate: Decimal("90")}
    )


@pytest.mark.django_db
def test_sales_cycle_without_won_deals_is_no_data(june, cycle_deals):
    assert get_kpi("sales_cycle_days").value(june).value is None
    assert sales.sales_cycle_median_days(june) == Result(None, None, Decimal(0))


# Deals won --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_deals_won_counts_the_deals_won_in_the_period(march, june, closed_deals, rep, teammate):
    kpi = get_kpi("deals_won_count")
    deal(created=at(3, 1), closed=at(3, 15), owner=rep)

    result = kpi.value(march)

    # Won on Mar 1 00:00, Mar 15 and Mar 31 23:59 = 3 (February, April, lost and open left out)
    assert result == Result(Decimal(3), Decimal(3), None)
    assert kpi.counted_records(march).count() == result.numerator
    # rep: Mar 1 and Mar 15 = 2; teammate: Mar 31 = 1
    assert_breakdown_matches_values(kpi, march, {rep: 2, teammate: 1})
    assert kpi.value(june).value == 0


@pytest.mark.django_db
def test_deals_won_break_down_by_a_custom_field(march):
    won_row(at(3, 2), custom={"region": "emea"})
    won_row(at(3, 3), custom={"region": "emea"})
    won_row(at(3, 4), custom={"region": "apac"})
    won_row(at(3, 5))
    won_row(FIRST_INSTANT_OF_APRIL, custom={"region": "emea"})
    kpi = get_kpi("deals_won_count")

    breakdown = kpi.breakdown(march, "custom:region")

    assert {key: result.value for key, result in breakdown.items()} == {
        "emea": 2,
        "apac": 1,
        "": 1,
    }
    assert kpi.value(march, Segment("custom:region", "emea")).value == 2


# Average purchase value -------------------------------------------------------------------


@pytest.mark.django_db
def test_apv_is_revenue_won_over_the_number_of_deals_won(march, rep, teammate):
    deal(created=at(3, 1), closed=at(3, 2), amount="1000", owner=rep)
    deal(
        created=at(3, 1),
        closed=at(3, 3),
        amount="2500",
        exchange_rate=Decimal("1.2"),
        owner=teammate,
    )
    deal(created=at(3, 1), closed=at(3, 31, 23, 59), amount="2000", owner=rep)
    deal(created=at(2, 1), closed=LAST_MINUTE_OF_FEBRUARY, amount="9999", owner=rep)
    deal(created=at(3, 1), closed=FIRST_INSTANT_OF_APRIL, amount="9999", owner=rep)
    deal(created=at(3, 1), closed=at(3, 10), outcome="Lost", amount="5000", owner=rep)
    kpi = get_kpi("apv")

    result = kpi.value(march)

    # (1,000 + 2,500 × 1.2 + 2,000) ÷ 3 = 6,000 ÷ 3 = 2,000
    assert result == Result(Decimal("2000.00"), Decimal("6000.00"), Decimal(3))
    assert kpi.counted_records(march).count() == result.denominator
    # rep: (1,000 + 2,000) ÷ 2 = 1,500; teammate: 3,000 ÷ 1 = 3,000
    assert_breakdown_matches_values(
        kpi, march, {rep: Decimal("1500.00"), teammate: Decimal("3000.00")}
    )


@pytest.mark.django_db
def test_apv_worked_example_10000_over_100_orders_is_100(march):
    for day in range(1, 101):
        # 50 orders of 50 and 50 of 150: 10,000 in total
        won_row(at(3, 1 + day % 31, 12), amount="50" if day % 2 else "150")

    result = get_kpi("apv").value(march)

    # 10,000 ÷ 100 = 100
    assert result == Result(Decimal("100.00"), Decimal("10000.00"), Decimal(100))


@pytest.mark.django_db
def test_apv_without_won_deals_is_no_data(june):
    assert get_kpi("apv").value(june).value is None


# Net new revenue --------------------------------------------------------------------------


@pytest.mark.django_db
def test_net_new_revenue_worked_example_excludes_existing_customers(march, june, rep, teammate):
    new = [
        won_row(at(3, 1, 0, 0), "25000", kind=DealKind.NEW_BUSINESS, owner=rep),
        won_row(at(3, 31, 23, 59), "35000", kind=DealKind.NEW_BUSINESS, owner=teammate),
    ]
    # 40,000 from existing customers
    won_row(at(3, 10), "20000", kind=DealKind.RENEWAL, owner=rep)
    won_row(at(3, 11), "15000", kind=DealKind.UPSELL, owner=rep)
    won_row(at(3, 12), "5000", kind=DealKind.CROSS_SELL, owner=teammate)
    # New business outside March or not won
    won_row(LAST_MINUTE_OF_FEBRUARY, "9999", kind=DealKind.NEW_BUSINESS, owner=rep)
    won_row(FIRST_INSTANT_OF_APRIL, "9999", kind=DealKind.NEW_BUSINESS, owner=rep)
    deal(created=at(3, 1), closed=at(3, 5), outcome="Lost", amount="9999", owner=rep)
    kpi = get_kpi("net_new_revenue")

    result = kpi.value(march)

    # 100,000 won in total, 40,000 of it from existing customers: 100,000 − 40,000 = 60,000
    assert get_kpi("apv").value(march).numerator == Decimal("100000.00")
    assert result == Result(Decimal("60000.00"), Decimal("60000.00"), Decimal(2))
    assert set(kpi.counted_records(march)) == set(new)
    assert_breakdown_matches_values(
        kpi, march, {rep: Decimal("25000.00"), teammate: Decimal("35000.00")}
    )
    assert kpi.value(june).value == Decimal("0.00")


# Lead conversion --------------------------------------------------------------------------


@pytest.fixture
def lead_cohort(rep, teammate):
    """100 leads created in March, 20 of them converted to a won deal."""
    leads = [
        LeadFactory(created_at=at(3, 1 + i % 31, 0, 0), owner=rep if i < 40 else teammate)
        for i in range(100)
    ]
    # 0: converted through the service, its deal won later (after March: still counts).
    conversion = services.lead_convert(lead=leads[0], actor=rep)
    move(conversion.deal, "Won", timezone.now())
    # 1: converted, deal lost; 2: a deal that is still open. Neither counts.
    move(services.lead_convert(lead=leads[1], actor=rep).deal, "Lost", timezone.now())
    deal(created=at(3, 20), source_lead=leads[2])
    # 3: only its converted_deal points at the won deal.
    Lead.objects.filter(pk=leads[3].pk).update(converted_deal=won_row(at(3, 25)))
    # 4: two won deals count once.
    won_row(at(3, 20), source_lead=leads[4])
    won_row(at(5, 20), source_lead=leads[4])
    # 50–66: a won deal naming the lead as source.
    for lead in leads[50:67]:
        won_row(at(3, 28), source_lead=lead)
    # Won leads created outside March.
    won_row(at(3, 10), source_lead=LeadFactory(created_at=LAST_MINUTE_OF_FEBRUARY))
    won_row(at(4, 10), source_lead=LeadFactory(created_at=FIRST_INSTANT_OF_APRIL))
    return leads


@pytest.mark.django_db
def test_lead_conversion_worked_example_20_of_100_is_20_percent(march, lead_cohort):
    kpi = get_kpi("lead_conversion_rate")

    result = kpi.value(march)

    # leads 0, 3, 4 and 50–66: 3 + 17 = 20 converted ÷ 100 created × 100 = 20
    assert result == Result(Decimal("20.0000"), Decimal(20), Decimal(100))
    converted = kpi.counted_records(march, numerator_only=True)
    assert converted.count() == result.numerator
    expected = [lead_cohort[i].pk for i in (0, 3, 4, *range(50, 67))]
    assert sorted(converted.values_list("pk", flat=True)) == sorted(expected)
    assert kpi.counted_records(march).count() == result.denominator
    assert kpi.bands.band_for(result.value) == "exceptional"


@pytest.mark.django_db
def test_lead_conversion_breaks_down_by_owner(march, lead_cohort, rep, teammate):
    # rep: 3 ÷ 40 × 100 = 7.5; teammate: 17 ÷ 60 × 100 = 28.3333
    assert_breakdown_matches_values(
        get_kpi("lead_conversion_rate"),
        march,
        {rep: Decimal("7.5000"), teammate: Decimal("28.3333")},
    )


@pytest.mark.django_db
def test_lead_conversion_segments_by_source_and_custom_field(march):
    won_row(at(3, 9), source_lead=LeadFactory(created_at=at(3, 2), source="referral"))
    LeadFactory(created_at=at(3, 3), source="referral")
    LeadFactory(created_at=at(3, 4), source="web", custom={"lead_stage": "New"})
    kpi = get_kpi("lead_conversion_rate")

    by_source = kpi.breakdown(march, "lead_source")

    # referral: 1 ÷ 2 × 100 = 50; web: 0 ÷ 1 = 0
    assert by_source == {
        "referral": Result(Decimal("50.0000"), Decimal(1), Decimal(2)),
        "web": Result(Decimal("0.0000"), Decimal(0), Decimal(1)),
    }
    assert kpi.value(march, Segment("custom:lead_stage", "New")) == by_source["web"]


@pytest.mark.django_db
def test_lead_conversion_without_leads_is_no_data(june):
    assert get_kpi("lead_conversion_rate").value(june) == Result(None, Decimal(0), Decimal(0))


# Lead qualification -----------------------------------------------------------------------


@pytest.mark.django_db
def test_lead_qualification_rate_counts_the_cohort_that_reached_qualified(
    march, june, rep, teammate
):
    services.lead_qualify(lead=LeadFactory(created_at=at(3, 1, 0, 0), owner=rep), actor=rep)
    services.lead_convert(lead=LeadFactory(created_at=at(3, 10), owner=rep), actor=rep)
    LeadFactory(created_at=at(3, 31, 23, 59), owner=rep)
    services.lead_disqualify(
        lead=LeadFactory(created_at=at(3, 5), owner=teammate), actor=teammate, reason="Student"
    )
    for created in (LAST_MINUTE_OF_FEBRUARY, FIRST_INSTANT_OF_APRIL):
        services.lead_qualify(lead=LeadFactory(created_at=created, owner=rep), actor=rep)
    kpi = get_kpi("lead_qualification_rate")

    result = kpi.value(march)

    # qualified + converted (converting qualifies) = 2 ÷ 4 created × 100 = 50
    assert result == Result(Decimal("50.0000"), Decimal(2), Decimal(4))
    assert kpi.counted_records(march, numerator_only=True).count() == result.numerator
    # rep: 2 ÷ 3 × 100 = 66.6667; teammate: 0 ÷ 1 = 0
    assert_breakdown_matches_values(
        kpi, march, {rep: Decimal("66.6667"), teammate: Decimal("0.0000")}
    )
    assert kpi.value(june).value is None


# Lead response ----------------------------------------------------------------------------


def answered_lead(created, answered=None, owner=None):
    lead = LeadFactory(created_at=created, owner=owner)
    if answered is not None:
        services.activity_log(actor=owner, kind=ActivityKind.CALL, lead=lead, occurred_at=answered)
    return lead


@pytest.fixture
def responses(rep, teammate):
    answered_lead(at(3, 2, 9, 0), at(3, 2, 9, 30), rep)  # 0.5 h
    answered_lead(at(3, 10, 12, 0), at(3, 11, 12, 0), rep)  # 24 h
    answered_lead(at(3, 31, 23, 0), at(4, 2, 5, 30), teammate)  # 30.5 h, answered in April
    answered_lead(at(3, 20), None, rep)  # not answered
    answered_lead(LAST_MINUTE_OF_FEBRUARY, at(3, 1, 0, 59), rep)
    answered_lead(FIRST_INSTANT_OF_APRIL, at(4, 1, 1, 0), rep)


@pytest.mark.django_db
def test_lead_response_is_the_mean_hours_to_the_first_response(march, responses):
    kpi = get_kpi("lead_response_hours")

    result = kpi.value(march)

    # (0.5 + 24 + 30.5) ÷ 3 answered = 55 ÷ 3 = 18.3333 h: good (< 24 h)
    assert result == Result(Decimal("18.3333"), Decimal("55.0000"), Decimal(3))
    assert kpi.counted_records(march).count() == result.denominator
    assert kpi.bands.band_for(result.value) == "good"


@pytest.mark.django_db
def test_lead_response_breaks_down_by_owner(march, responses, rep, teammate):
    # rep: (0.5 + 24) ÷ 2 = 12.25; teammate: 30.5
    assert_breakdown_matches_values(
        get_kpi("lead_response_hours"),
        march,
        {rep: Decimal("12.2500"), teammate: Decimal("30.5000")},
    )


@pytest.mark.django_db
def test_share_of_leads_answered_within_the_sla(march, responses, rep):
    later = at(5, 1)

    # Within 24 h: 0.5 h and exactly 24 h; missed: 30.5 h and the unanswered lead.
    # 2 ÷ 4 × 100 = 50
    assert sales.lead_response_within_sla(march, now=later) == Result(
        Decimal("50.0000"), Decimal(2), Decimal(4)
    )
    # Within 1 h: only the 0.5 h one, 1 ÷ 4 × 100 = 25
    assert sales.lead_response_within_sla(march, hours=1, now=later).value == Decimal("25.0000")
    # rep: 2 ÷ 3 × 100 = 66.6667
    assert sales.lead_response_within_sla(march, by_owner(rep), now=later).value == Decimal(
        "66.6667"
    )


@pytest.mark.django_db
def test_an_unanswered_lead_misses_the_sla_only_once_its_time_is_up(march):
    answered_lead(at(3, 5, 10), at(3, 5, 12))
    answered_lead(at(3, 31, 12))

    # On April 1 the second lead still has 12 h left: 1 ÷ 1 × 100 = 100
    assert sales.lead_response_within_sla(march, now=FIRST_INSTANT_OF_APRIL).value == 100
    # On April 2 it has missed: 1 ÷ 2 × 100 = 50
    assert sales.lead_response_within_sla(march, now=at(4, 2)).value == 50


@pytest.mark.django_db
def test_lead_response_without_answered_leads_is_no_data(march, june):
    answered_lead(at(3, 5))

    assert get_kpi("lead_response_hours").value(march) == Result(None, Decimal(0), Decimal(0))
    assert sales.lead_response_within_sla(june).value is None


# Upsell and cross-sell --------------------------------------------------------------------


def customer(since, churned=None, **fields):
    lifecycle = Lifecycle.CHURNED if churned else Lifecycle.CUSTOMER
    return CompanyFactory(lifecycle=lifecycle, customer_since=since, churned_at=churned, **fields)


@pytest.fixture
def customers(rep, teammate):
    c = {
        "c1": customer(at(1, 1), owner=rep),
        "c2": customer(at(3, 1, 0, 0), owner=rep),  # new at the first instant: new in March
        "c3": customer(at(2, 1), churned=at(3, 1, 0, 0), owner=rep),  # churns in March
        "c4": customer(at(3, 1, 0, 1), owner=rep),  # a customer one minute too late
        "c5": customer(at(6, 1, year=2025), churned=at(3, 20), owner=teammate),
        "c6": customer(at(6, 1, year=2025), owner=teammate),
        "c7": CompanyFactory(owner=teammate),  # a prospect
        "c8": customer(at(6, 1, year=2025), owner=teammate),
    }
    won_row(at(3, 10), company=c["c1"], kind=DealKind.UPSELL)
    won_row(at(3, 31, 23, 59), company=c["c2"], kind=DealKind.UPSELL)
    won_row(at(3, 15), company=c["c2"], kind=DealKind.CROSS_SELL)
    won_row(at(3, 10), company=c["c3"], kind=DealKind.UPSELL)
    won_row(at(3, 10), company=c["c4"], kind=DealKind.UPSELL)
    won_row(LAST_MINUTE_OF_FEBRUARY, company=c["c5"], kind=DealKind.UPSELL)
    won_row(FIRST_INSTANT_OF_APRIL, company=c["c5"], kind=DealKind.UPSELL)
    deal(created=at(3, 1), closed=at(3, 9), outcome="Lost", company=c["c6"], kind="upsell")
    won_row(at(3, 9), company=c["c6"], kind=DealKind.NEW_BUSINESS)
    won_row(at(3, 5), company=c["c6"], kind=DealKind.CROSS_SELL)
    won_row(at(3, 10), company=c["c7"], kind=DealKind.UPSELL)
    won_row(at(3, 3), company=c["c8"], kind=DealKind.UPSELL)
    won_row(at(3, 4), company=c["c8"], kind=DealKind.UPSELL)
    return c


@pytest.mark.django_db
def test_upsell_rate_is_customers_with_a_won_upsell_over_customers_at_start(march, customers):
    kpi = get_kpi("upsell_rate")

    result = kpi.value(march)

    # customers going into March: c1, c3, c5, c6, c8 = 5; with a won upsell in March: c1, c3,
    # c8 (twice, counted once) = 3. 3 ÷ 5 × 100 = 60
    assert result == Result(Decimal("60.0000"), Decimal(3), Decimal(5))
    assert set(kpi.counted_records(march)) == {customers[k] for k in ("c1", "c3", "c5", "c6", "c8")}
    upsold = kpi.counted_records(march, numerator_only=True)
    assert upsold.count() == result.numerator
    assert set(upsold) == {customers[k] for k in ("c1", "c3", "c8")}


@pytest.mark.django_db
def test_cross_sell_rate_counts_won_cross_sell_deals(march, customers):
    kpi = get_kpi("cross_sell_rate")

    result = kpi.value(march)

    # c6 ÷ 5 customers × 100 = 20 (c2 became a customer in March: not counted)
    assert result == Result(Decimal("20.0000"), Decimal(1), Decimal(5))
    assert set(kpi.counted_records(march, numerator_only=True)) == {customers["c6"]}


@pytest.mark.django_db
def test_upsell_and_cross_sell_break_down_by_owner(march, customers, rep, teammate):
    # upsell rep: c1, c3 of c1, c3 = 100; teammate: c8 of c5, c6, c8 = 33.3333
    assert_breakdown_matches_values(
        get_kpi("upsell_rate"), march, {rep: Decimal("100.0000"), teammate: Decimal("33.3333")}
    )
    # cross-sell rep: none of c1, c3 = 0; teammate: c6 of 3 = 33.3333
    assert_breakdown_matches_values(
        get_kpi("cross_sell_rate"),
        march,
        {rep: Decimal("0.0000"), teammate: Decimal("33.3333")},
    )


@pytest.mark.django_db
def test_upsell_rate_without_customers_is_no_data(customers):
    before_any_customer = period_for("month", date(2025, 1, 1))

    for key in ("upsell_rate", "cross_sell_rate"):
        assert get_kpi(key).value(before_any_customer) == Result(None, Decimal(0), Decimal(0))


# Stage probabilities the weighted pipeline relies on --------------------------------------


@pytest.mark.django_db
def test_default_stage_probabilities():
    assert dict(Stage.objects.values_list("name", "probability")) == {
        "Prospecting": 10,
        "Qualification": 20,
        "Proposal": 50,
        "Negotiation": 75,
        "Won": 100,
        "Lost": 0,
    }
