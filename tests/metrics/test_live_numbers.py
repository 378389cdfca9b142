"""Every number of a period still running is the live value (issue 15, item 1): a dashboard
card, the KPI page it links to, its trend, its drill-down and a goal on the KPI agree at every
moment, right after a record changes, with no snapshot refresh in between. Closed periods
read their snapshots, on the card and on the KPI page alike."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import models as m
from crm import services
from goals.models import Scope, TargetKind
from goals.services import goals_recompute
from metrics import services as metric_services
from metrics.models import KPISnapshot
from metrics.numbers import Reader
from metrics.periods import custom_period, period_for
from metrics.registry import Segment, get_kpi
from tests.crm.factories import DealFactory, LeadFactory, default_pipeline
from tests.goals.factories import make_goal, make_target
from tests.metrics.test_dashboard_pages import at, won_deal
from tests.metrics.test_dashboard_pages import open_deal as deal_created

pytestmark = pytest.mark.django_db


def this_month():
    return period_for("month", timezone.localdate())


def earlier_this_month():
    """A moment inside the running month and before now, whatever the day."""
    period, now = this_month(), timezone.now()
    return period.start + (now - period.start) / 2


def closed_deal(owner, team, outcome):
    pipeline = default_pipeline()
    moment = earlier_this_month()
    return DealFactory(
        owner=owner,
        team=team,
        pipeline=pipeline,
        stage=pipeline.stages.get(outcome=outcome),
        status=m.DealStatus.WON if outcome == m.StageOutcome.WON else m.DealStatus.LOST,
        lost_reason="price" if outcome == m.StageOutcome.LOST else "",
        closed_at=moment,
        created_at=moment,
        stage_entered_at=moment,
    )


def open_deal(owner, team):
    moment = earlier_this_month()
    return DealFactory(owner=owner, team=team, created_at=moment, stage_entered_at=moment)


def lose(deal, actor):
    lost = default_pipeline().stages.get(outcome=m.StageOutcome.LOST)
    services.deal_move_stage(deal=deal, stage=lost, actor=actor, lost_reason="price")


def win(deal, actor):
    won = deal.pipeline.stages.get(outcome=m.StageOutcome.WON)
    services.deal_move_stage(deal=deal, stage=won, actor=actor)


def card(client, slug, key, query=""):
    response = client.get(reverse("dashboard", args=[slug]) + query)
    assert response.status_code == 200
    return next(c for c in response.context["cards"] if c.kpi.key == key), response


def kpi_page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response


@pytest.fixture
def deals(rep, sales_team):
    closed_deal(rep, sales_team, m.StageOutcome.WON)
    closed_deal(rep, sales_team, m.StageOutcome.LOST)
    return open_deal(rep, sales_team)


def test_the_win_rate_card_and_its_kpi_page_agree_right_after_a_deal_is_lost(
    client, admin_user, rep, deals
):
    # The hourly refresh stored this month's numbers: one won of two closed.
    metric_services.refresh_open_periods()
    client.force_login(admin_user)
    before, _response = card(client, "sales", "win_rate")
    assert before.result.value == 50

    lose(deals, rep)

    after, response = card(client, "sales", "win_rate")
    assert after.result.value == Decimal("33.3333") and after.live
    assert 'data-testid="as-of">live<' in response.content.decode()
    page = kpi_page(client, after.url + "&records=all")
    assert page.context["result"] == after.result
    assert page.context["page"].paginator.count == after.result.denominator == 3
    assert page.context["live"]
    # The trend's last point is the same number.
    assert page.context["trend_chart"]["payload"]["datasets"][0]["data"][-1] == 33.3333


def test_lead_conversion_moves_on_the_card_and_the_kpi_page_right_after_a_conversion(
    client, admin_user, rep, sales_team
):
    moment = earlier_this_month()
    lead = LeadFactory(owner=rep, team=sales_team, created_at=moment)
    LeadFactory(owner=rep, team=sales_team, created_at=moment)
    metric_services.refresh_open_periods()
    client.force_login(admin_user)
    assert card(client, "sales", "lead_conversion_rate")[0].result.value == 0

    conversion = services.lead_convert(lead=lead, actor=rep, amount=Decimal("100"))
    win(conversion.deal, rep)

    after, _response = card(client, "sales", "lead_conversion_rate")
    assert after.result.value == 50
    page = kpi_page(client, after.url)
    assert page.context["result"].value == 50
    assert page.context["page"].paginator.count == 1  # the converted lead, in the numerator


def test_a_live_value_is_cached_until_a_service_changes_a_record(rep, deals):
    kpi, period = get_kpi("win_rate"), this_month()
    assert Reader().result(kpi, period, Segment()).value == 50
    with CaptureQueriesContext(connection) as cached:
        assert Reader().result(kpi, period, Segment()).value == 50
    assert len(cached) == 1  # the records' version; the value comes from the cache

    lose(deals, rep)

    with CaptureQueriesContext(connection) as fresh:
        assert Reader().result(kpi, period, Segment()).value == Decimal("33.3333")
    assert len(fresh) > 1


def test_a_period_over_and_not_yet_filled_is_computed_once_a_day_not_per_change(rep, sales_team):
    # 1-10 March: over, and not stored (the nightly run stores each day's month to date).
    kpi, first_days = get_kpi("deals_won_count"), custom_period(date(2026, 3, 1), date(2026, 3, 10))
    won_deal(rep, sales_team, at(2026, 3, 5))
    assert Reader().result(kpi, first_days, Segment()).value == 1

    # A change today (a deal won now) is none of March's business: no recomputation.
    win(open_deal(rep, sales_team), rep)
    with CaptureQueriesContext(connection) as cached:
        assert Reader().result(kpi, first_days, Segment()).value == 1
    # The stored rows looked for, and the records' version (for the health settings' part).
    assert len(cached) == 2


def test_a_chart_of_the_running_period_moves_with_the_cards(client, admin_user, rep, deals):
    client.force_login(admin_user)
    response = client.get(reverse("dashboard", args=["sales"]))
    stages = next(i for i in response.context["charts"] if i["key"] == "pipeline_by_stage")
    assert stages["payload"]["datasets"][0]["data"] == [1000.0]

    lose(deals, rep)

    response = client.get(reverse("dashboard", args=["sales"]))
    stages = next(i for i in response.context["charts"] if i["key"] == "pipeline_by_stage")
    assert stages["payload"]["empty"]
    pipeline = next(c for c in response.context["cards"] if c.kpi.key == "pipeline_value")
    assert pipeline.result.value == 0


def test_a_closed_period_reads_its_snapshot_on_the_card_and_on_the_kpi_page(
    client, admin_user, rep, sales_team
):
    won_deal(rep, sales_team, at(2026, 3, 10))
    metric_services.snapshot_day(day=date(2026, 3, 15), grains=["month"])
    won_deal(rep, sales_team, at(2026, 3, 11))  # not through a service, after the fill
    client.force_login(admin_user)
    march = "?grain=month&date=2026-03-15"
    stored, response = card(client, "sales", "deals_won_count", march)
    assert stored.result.value == 1 and not stored.live and stored.computed_at
    assert 'data-testid="as-of">as of' in response.content.decode()
    page = kpi_page(client, stored.url)
    assert page.context["result"].value == 1 and not page.context["live"]


def test_the_deals_won_bars_are_the_numbers_of_the_cards_month_by_month(
    client, admin_user, rep, sales_team
):
    won_deal(rep, sales_team, at(2026, 3, 10))
    won_deal(rep, sales_team, at(2026, 2, 10))
    metric_services.snapshot_day(day=date(2026, 3, 15), grains=["month"])
    won_deal(rep, sales_team, at(2026, 3, 11))  # not through a service, after the fill
    client.force_login(admin_user)
    response = client.get(reverse("dashboard", args=["sales"]) + "?grain=month&date=2026-03-15")
    bars = next(i for i in response.context["charts"] if i["key"] == "deals_won_by_month")
    data = dict(zip(bars["payload"]["labels"], bars["payload"]["datasets"][0]["data"], strict=True))
    # March from its snapshot, as its card; February has none: counted from the deals.
    assert (data["Mar 2026"], data["Feb 2026"], data["Jan 2026"]) == (1, 1, 0)
    march, _response = card(client, "sales", "deals_won_count", "?grain=month&date=2026-03-15")
    assert march.result.value == 1


def test_a_snapshot_written_before_its_period_ended_is_not_read_once_it_is_over(
    client, admin_user, rep, sales_team
):
    won_deal(rep, sales_team, at(2026, 3, 10))
    # One KPI written for March: its fill is not done, so its rows are not final.
    metric_services.snapshot_kpi_period(
        kpi=get_kpi("deals_won_count"), period=period_for("month", date(2026, 3, 15))
    )
    won_deal(rep, sales_team, at(2026, 3, 11))
    assert KPISnapshot.objects.get(kpi="deals_won_count", segment_field="").value == 1
    client.force_login(admin_user)
    read, _response = card(client, "sales", "deals_won_count", "?grain=month&date=2026-03-15")
    assert read.result.value == 2


def test_a_goal_shows_its_kpi_now_as_the_kpi_page_it_links_to(
    client, manager, rep, sales_team, deals
):
    month = this_month()
    goal = make_goal(
        owner=manager,
        scope=Scope.TEAM,
        team=sales_team,
        dates=(month.start_date, month.end_date),
    )
    target = make_target(
        goal, kind=TargetKind.KPI, kpi_key="win_rate", start_value=0, target_value=60
    )
    goals_recompute()
    target.refresh_from_db()
    assert target.current_value == 50

    lose(deals, rep)

    client.force_login(manager)
    goal_page = client.get(reverse("goal", args=[goal.pk])).content.decode()
    assert 'data-testid="target-current">33.33<' in goal_page
    kpi = kpi_page(client, target.kpi_url)
    assert kpi.context["result"].value == Decimal("33.3333")


def test_a_batch_of_readings_computes_each_kpi_once(admin_user):
    """CLV is made of APV and churn, LTV:CAC of CLV and CAC: read together, as the retention
    dashboard reads them, each is computed once, and the parts are the cards' own numbers."""
    from collections import Counter
    from unittest import mock

    from metrics.registry import KPI

    computed = Counter()
    original = KPI._value

    def counting(kpi, period, segment):
        computed[kpi.key] += 1
        return original(kpi, period, segment)

    june = period_for("month", date(2025, 6, 15))
    keys = ("apv", "churn_rate", "cac", "clv", "ltv_cac_ratio")
    with mock.patch.object(KPI, "_value", counting):
        readings = Reader().read([(get_kpi(key), june, Segment()) for key in keys])

    assert len(readings) == len(keys)
    assert {key: computed[key] for key in keys} == dict.fromkeys(keys, 1)


def test_clv_in_the_running_month_reuses_the_churn_cards_number(rep, sales_team):
    """Read beside the churn card, CLV takes the card's number (summed from its parts, or
    from the cache) rather than counting the customers again, and it is the CLV computed
    alone."""
    from datetime import timedelta
    from unittest import mock

    from django.core.cache import cache

    from metrics.registry import KPI
    from tests.crm.factories import CompanyFactory

    now = timezone.now()
    for churned in (None, now - timedelta(days=1)):
        CompanyFactory(
            owner=rep,
            team=sales_team,
            lifecycle=m.Lifecycle.CHURNED if churned else m.Lifecycle.CUSTOMER,
            customer_since=now - timedelta(days=400),
            churned_at=churned,
        )
    won_deal(rep, sales_team, now - timedelta(hours=2), amount="500.00")
    month, churn, clv = this_month(), get_kpi("churn_rate"), get_kpi("clv")
    alone = clv.value(month)
    original, computed = KPI._value, []

    def counting(kpi, period, segment):
        computed.append(kpi.key)
        return original(kpi, period, segment)

    cache.clear()
    with mock.patch.object(KPI, "_value", counting):
        together = Reader().read([(churn, month, Segment()), (clv, month, Segment())])
    assert "churn_rate" not in computed  # summed from its parts, then reused by CLV
    assert together[0].result.value == churn.value(month).value == 50
    assert together[1].result == alone and alone.value is not None

    cache.clear()
    Reader().read([(churn, month, Segment())])
    computed.clear()
    with mock.patch.object(KPI, "_value", counting):
        again = Reader().read([(churn, month, Segment()), (clv, month, Segment())])
    assert "churn_rate" not in computed  # from the cache
    assert again[1].result == alone


def test_the_pipeline_by_stage_chart_counts_the_deals_open_at_the_periods_end(rep, sales_team):
    # Open at the end of March: one still open, one won in April; not one won in March, nor
    # one created in April.
    from metrics.charts import pipeline_by_stage

    march = custom_period(date(2026, 3, 1), date(2026, 3, 31))
    deal_created(rep, sales_team, at(2026, 3, 2), amount="100.00")
    won_deal(rep, sales_team, at(2026, 4, 10), amount="40.00")  # created 21 March
    won_deal(rep, sales_team, at(2026, 3, 25), amount="7.00")
    deal_created(rep, sales_team, at(2026, 4, 2), amount="9.00")

    chart = pipeline_by_stage(march, Segment(), Reader())

    won_stage = default_pipeline().stages.get(outcome=m.StageOutcome.WON).name
    assert dict(zip(chart["labels"], chart["counts"], strict=True))[won_stage] == 1
    assert sum(chart["counts"]) == 2
    assert sum(chart["datasets"][0]["data"]) == 140.0


@pytest.mark.parametrize("key", ["pipeline_value", "weighted_pipeline_value"])
def test_the_pipeline_values_parts_count_the_deals_open_at_the_periods_end(
    key, rep, teammate, sales_team
):
    # Read from two sets (open now, closed since) in one statement: the same deals as the
    # chart's, per owner and per pipeline, and the same parts as the records' own OR.
    import dataclasses

    march = custom_period(date(2026, 3, 1), date(2026, 3, 31))
    deal_created(rep, sales_team, at(2026, 3, 2), amount="100.00")
    won_deal(rep, sales_team, at(2026, 4, 10), amount="40.00")  # created 21 March
    won_deal(teammate, sales_team, at(2026, 4, 12), amount="60.00")  # created 23 March
    won_deal(rep, sales_team, at(2026, 3, 25), amount="7.00")
    deal_created(rep, sales_team, at(2026, 4, 2), amount="9.00")
    kpi = get_kpi(key)

    by_owner = kpi.breakdown_parts(march, "owner")

    assert {owner: row["records"] for owner, row in by_owner.items()} == {
        str(rep.pk): 2,
        str(teammate.pk): 1,
    }
    if key == "pipeline_value":
        assert by_owner[str(rep.pk)]["total"] == Decimal("140.00")
    whole = dataclasses.replace(kpi, records_apart=None)
    assert by_owner == whole.breakdown_parts(march, "owner")
    assert kpi.breakdown_parts(march, "pipeline") == whole.breakdown_parts(march, "pipeline")
    assert sorted(kpi.parts_by_owner_and_team(march)) == sorted(
        whole.parts_by_owner_and_team(march)
    )
    pipeline = str(default_pipeline().pk)
    for segment in (Segment("owner", str(rep.pk)), Segment("pipeline", pipeline)):
        assert kpi.value(march, segment) == whole.value(march, segment), segment
    assert kpi.value(march, Segment("owner", str(teammate.pk))).denominator == 1
    assert kpi.value(march, Segment("owner", "0")) == whole.value(march, Segment("owner", "0"))


def stage_exit(owner, team, moment, *, hours_in_stage: int = 2):
    """A deal of `owner` moved from Prospecting to Qualification at `moment`."""
    from tests.crm.factories import stage_named

    entered = moment - timezone.timedelta(hours=hours_in_stage)
    deal = DealFactory(
        owner=owner,
        team=team,
        stage=stage_named("Prospecting"),
        created_at=entered,
        stage_entered_at=entered,
    )
    return services.deal_move_stage(
        deal=deal, stage=stage_named("Qualification"), actor=owner, at=moment
    )


@pytest.mark.parametrize("breakdown", ["owner and team", "stage"])
def test_the_velocitys_parts_keep_the_days_before_today_and_recount_today(
    rep, teammate, sales_team, breakdown
):
    # A stage exit of today recounts today's exits only; the days before are kept until a
    # change of another kind (a deal reassigned) or an exit written back-dated. At each step
    # the parts are those counted from every record. By owner and team: the value and its
    # breakdowns; by stage: the KPI page's breakdown and the time-in-stage chart.
    from crm.models import DealStageChange
    from crm.services import record_update
    from tests.crm.factories import stage_named

    kpi, march = get_kpi("deal_velocity"), custom_period(date(2026, 3, 1), date(2026, 3, 31))
    noon = at(2026, 3, 20, 12)

    def exit_at(owner, moment):
        return stage_exit(owner, sales_team, moment)

    def parts() -> tuple[list, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            if breakdown == "stage":
                found = Reader(now=noon).breakdown_parts(kpi, march, "stage")
            else:
                found = Reader(now=noon)._paired_parts(kpi, march)
        grouped = [q["sql"] for q in queries if "GROUP BY" in q["sql"]]
        if breakdown == "stage":
            assert found == kpi.breakdown_parts(march, "stage")
            return [(stage, "", row) for stage, row in found.items()], grouped
        assert sorted(found) == sorted(kpi.parts_by_owner_and_team(march))
        return found, grouped

    exit_at(rep, at(2026, 3, 5))
    settled = exit_at(teammate, at(2026, 3, 6))
    exit_at(rep, at(2026, 3, 20, 9))
    first, grouped = parts()
    assert len(grouped) == 2  # the days before today, and today
    prospecting = str(stage_named("Prospecting").pk)
    assert {(key, row["records"]) for key, _team, row in first} == (
        {(prospecting, 3)} if breakdown == "stage" else {(str(rep.pk), 2), (str(teammate.pk), 1)}
    )

    exit_at(teammate, at(2026, 3, 20, 10))  # a drag of today
    _, grouped = parts()
    assert len(grouped) == 1 and "2026-03-20" in grouped[0]

    exit_at(rep, at(2026, 3, 7))  # written back-dated
    _, grouped = parts()
    assert len(grouped) == 2

    record_update(settled, actor=None, data={"owner": rep})  # reassigned
    after, grouped = parts()
    assert len(grouped) == 2
    assert {(key, row["records"]) for key, _team, row in after} == (
        {(prospecting, 5)} if breakdown == "stage" else {(str(rep.pk), 4), (str(teammate.pk), 1)}
    )
    assert DealStageChange.objects.count() == 5


def test_a_card_of_the_whole_sums_the_stage_exits_alone_and_keeps_the_days_before_today(
    rep, teammate, sales_team
):
    """A card of the whole company needs no parts by owner and team: the velocity's whole sums
    the stage exits without joining each to its deal (25 against 330 ms on the large seed),
    the days before today kept apart as its parts' are. It is the number the KPI page sums
    from its parts."""
    kpi, march = get_kpi("deal_velocity"), custom_period(date(2026, 3, 1), date(2026, 3, 31))
    noon = at(2026, 3, 20, 12)
    stage_exit(rep, sales_team, at(2026, 3, 5))
    stage_exit(teammate, sales_team, at(2026, 3, 20, 9), hours_in_stage=5)

    def card():
        with CaptureQueriesContext(connection) as queries:
            result = Reader(now=noon).result(kpi, march, Segment())
        summed = [q["sql"] for q in queries if "SUM(" in q["sql"]]
        return result, summed

    def from_parts():
        return kpi.combine_parts(march, [row for *_pair, row in kpi.parts_by_owner_and_team(march)])

    result, summed = card()
    assert len(summed) == 2  # the days before today, and today
    assert all('"crm_dealstagechange"' in sql and '"crm_deal"' not in sql for sql in summed)
    assert result == kpi.value(march) == from_parts()
    assert result.denominator == 2

    stage_exit(rep, sales_team, at(2026, 3, 20, 10))  # a drag of today
    result, summed = card()
    assert len(summed) == 1 and "2026-03-20" in summed[0]
    assert result == kpi.value(march) == from_parts()
    assert result.denominator == 3


def test_the_mrr_and_its_growth_group_the_running_months_subscriptions_once(
    rep, teammate, sales_team
):
    """The MRR's parts by owner and team are read from the MRR growth's (KPI.parts_within):
    one grouping of the subscriptions for both, and the same numbers as each computed alone.
    The teammate's company ran only last month: in the growth's parts, not in the MRR's."""
    from django.core.cache import cache

    from tests.crm.factories import CompanyFactory, SubscriptionFactory

    month = this_month()
    before = month.previous().end_date
    ours = CompanyFactory(owner=rep, team=sales_team)
    theirs = CompanyFactory(owner=teammate, team=sales_team)
    SubscriptionFactory(company=ours, monthly_value=Decimal("100.00"), start_date=before)
    SubscriptionFactory(company=ours, monthly_value=Decimal("20.00"), start_date=month.end_date)
    SubscriptionFactory(
        company=theirs,
        monthly_value=Decimal("50.00"),
        start_date=before,
        end_date=month.start_date + (month.end_date - month.start_date) / 2,
    )
    mrr, growth = get_kpi("mrr"), get_kpi("mrr_growth_rate")
    cache.clear()

    with CaptureQueriesContext(connection) as queries:
        read = Reader().read([(mrr, month, Segment()), (growth, month, Segment())])
    grouped = [q["sql"] for q in queries if 'FROM "crm_subscription"' in q["sql"]]

    assert len(grouped) == 1, grouped
    assert [reading.result for reading in read] == [mrr.value(month), growth.value(month)]
    assert read[0].result.value == Decimal("120.00") and read[0].result.denominator == 2
    assert read[1].result.value == Decimal("-20.00")  # (120 - 150) / 150
    by_owner = Reader().breakdown(mrr, month, "owner")
    assert by_owner == mrr.breakdown(month, "owner") and set(by_owner) == {str(rep.pk)}
    assert Reader().record_total(mrr, month, Segment()) == 2


def test_a_kpi_read_from_anothers_parts_counts_its_records_and_changes_with_the_same_ones():
    """KPI.parts_within: the wider KPI's cached parts are kept under its own version, so both
    must be made of the same kinds of records, and the narrower must count its records (the
    pairs with none of them are left out by that count)."""
    from metrics.registry import all_kpis
    from metrics.sources import record_kinds

    within = [kpi for kpi in all_kpis() if kpi.parts_within is not None]
    month = this_month()

    assert [kpi.key for kpi in within] == ["mrr"]
    for kpi in within:
        wider = get_kpi(kpi.parts_within)
        assert record_kinds(kpi.key) == record_kinds(wider.key)
        assert kpi.record_counter(month) is not None
        assert set(kpi.aggregates(month)) <= set(wider.aggregates(month))


def test_the_time_in_stage_chart_of_the_running_month_is_the_velocitys_breakdown_by_stage(
    rep, sales_team
):
    from metrics.charts import build
    from tests.crm.factories import stage_named

    moved = earlier_this_month()
    for hours in (2, 30):
        stage_exit(rep, sales_team, moved, hours_in_stage=hours)
    kpi, month = get_kpi("deal_velocity"), this_month()

    chart = build("time_in_stage", month, Segment())
    by_owner = build("time_in_stage", month, Segment("owner", str(rep.pk)))

    by_stage = Reader().breakdown(kpi, month, "stage")
    prospecting = by_stage[str(stage_named("Prospecting").pk)]
    # (2 + 30) hours ÷ 2 exits = 16 hours, 0.7 of a day
    assert prospecting.value == Decimal("0.6667")
    assert chart["labels"] == ["Prospecting"] == by_owner["labels"]
    assert chart["datasets"][0]["data"] == [0.7] == by_owner["datasets"][0]["data"]
