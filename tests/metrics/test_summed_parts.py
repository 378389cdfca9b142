"""Issue 19: a running period's value is the sum of its breakdown's parts when they add up
(one owner and one team per record, plain COUNT and SUM aggregates), so a KPI page computes
its value, its breakdown by owner and the "Other" row in one query. The sum must be the very
number a direct aggregate gives, for every KPI, overall and for one owner or team."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm import models as m
from metrics import registry
from metrics.numbers import Reader
from metrics.periods import period_for
from metrics.registry import ALL, Segment, all_kpis, get_kpi
from tests.crm.factories import (
    CompanyFactory,
    LeadFactory,
    SubscriptionFactory,
    SurveyAnswerFactory,
    TicketFactory,
)
from tests.factories import TeamFactory
from tests.metrics.test_dashboard_pages import lost_deal, open_deal, won_deal

pytestmark = pytest.mark.django_db


def running_month():
    return period_for("month", timezone.localdate())


def moments(period, count):
    """`count` distinct moments inside the running period, before now."""
    now = timezone.now()
    first = max(period.start, now - timedelta(days=3))
    step = (now - first) / (count + 1)
    return [first + step * (index + 1) for index in range(count)]


@pytest.fixture
def records(rep, teammate, outsider, sales_team, other_team):
    period = running_month()
    when = moments(period, 8)
    customer = CompanyFactory(
        owner=rep, team=sales_team, lifecycle=m.Lifecycle.CUSTOMER, customer_since=when[0]
    )
    CompanyFactory(
        owner=outsider, team=other_team, lifecycle=m.Lifecycle.CUSTOMER, customer_since=when[1]
    )
    won_deal(rep, sales_team, when[2], amount="1200.00", company=customer)
    won_deal(teammate, sales_team, when[3], amount="800.50")
    won_deal(outsider, other_team, when[4], amount="99.99")
    won_deal(None, None, when[5], amount="10.00")
    lost_deal(rep, sales_team, when[6])
    open_deal(outsider, other_team, when[7])
    LeadFactory(owner=rep, team=sales_team, created_at=when[1])
    LeadFactory(owner=outsider, team=other_team, created_at=when[2])
    TicketFactory(company=customer, created_at=when[3])
    SubscriptionFactory(company=customer)
    SurveyAnswerFactory(company=customer, answered_at=when[4])
    return period


def summed_kpis(period):
    return [kpi for kpi in all_kpis() if kpi.adds_up(period, "owner")]


def test_most_kpis_add_up_by_owner(records):
    # The shortcut must be taken: a count, so a regression that turns it off fails here.
    assert len(summed_kpis(records)) >= 15
    assert not get_kpi("active_users").adds_up(records, "owner")  # COUNT(DISTINCT)
    # Scores summed in hundredths, whole numbers: health adds up too.
    assert get_kpi("health_score") in summed_kpis(records)


def test_every_summed_value_is_the_direct_aggregate(records, rep, sales_team, outsider):
    for kpi in summed_kpis(records):
        reader = Reader()
        assert reader.result(kpi, records, ALL) == kpi.value(records, ALL), kpi.key
        # Each owner's and team's value is read from the parts once they are cached.
        for segment in (
            Segment("owner", str(rep.pk)),
            Segment("owner", str(outsider.pk)),
            Segment("owner", "0"),
            Segment("team", str(sales_team.pk)),
        ):
            if kpi.adds_up(records, segment.field):
                reader.breakdown(kpi, records, segment.field)
            assert reader.result(kpi, records, segment) == kpi.value(records, segment), (
                kpi.key,
                segment,
            )


def test_the_kpi_page_computes_value_breakdown_and_other_from_one_query(
    client, manager, records, monkeypatch
):
    kpi = get_kpi("deals_won_count")
    direct = []
    for name in ("value", "value_among"):
        original = getattr(registry.KPI, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            direct.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(registry.KPI, name, counted)

    client.force_login(manager)
    response = client.get(f"/dashboards/kpi/{kpi.key}/?by=owner")

    assert response.status_code == 200
    # The comparison period (the same days of last month) is over: counted on its own.
    assert direct == ["value"]
    rows = {str(row["label"]): row["result"].value for row in response.context["breakdown"]}
    assert response.context["result"].value == 4
    assert rows["Other"] == 1  # the outsider's deal: not the manager's team
    assert sum(rows.values()) == response.context["result"].value


def test_parts_summing_floats_are_not_added():
    kpi = get_kpi("net_new_revenue")
    period = running_month()
    assert kpi.combine_parts(period, [{"total": 0.1, "records": 1}]) is None
    summed = kpi.combine_parts(period, [{"total": Decimal("1.5"), "records": 1}, {"total": None}])
    assert summed == kpi.combine({"total": Decimal("1.5"), "records": 1})


def test_a_value_counting_records_tells_the_drill_downs_counts(records, rep, sales_team):
    # The KPI page takes the drill-down's counts from such a value, not from two more queries.
    converted = LeadFactory(owner=rep, team=sales_team, created_at=moments(records, 2)[0])
    won_deal(rep, sales_team, moments(records, 2)[1], amount="5.00", source_lead=converted)
    counting = [kpi for kpi in all_kpis() if kpi.counts_records]
    assert {"lead_conversion_rate", "lead_qualification_rate", "win_rate"} <= {
        kpi.key for kpi in counting
    }
    for kpi in counting:
        result = kpi.value(records, ALL)
        assert result.numerator == kpi.record_count(records, numerator_only=True), kpi.key
        assert result.denominator == kpi.record_count(records), kpi.key
    assert get_kpi("lead_conversion_rate").value(records, ALL).numerator == 1


def test_the_record_count_read_from_the_parts_is_the_count_of_the_records(records, rep, sales_team):
    counted = [kpi for kpi in summed_kpis(records) if kpi.record_counter(records)]
    assert {"pipeline_value", "weighted_pipeline_value", "deal_velocity"} <= {
        kpi.key for kpi in counted
    }
    assert get_kpi("win_rate").record_counter(records) == "records"
    for kpi in counted:
        reader = Reader()
        reader.prepare_counts(kpi, records)  # as the KPI page: the parts by owner
        for segment in (ALL, Segment("owner", str(rep.pk)), Segment("owner", "0")):
            expected = kpi.record_count(records, segment)
            assert reader.record_total(kpi, records, segment) == expected, (kpi.key, segment)


def test_the_numerators_record_count_read_from_the_parts_is_its_records_count(
    records, rep, sales_team
):
    # A ratio's numerator-only drill-down (the renewed subscriptions, the deals won) is
    # counted from the parts too, not by a COUNT over the records filtered again.
    converted = LeadFactory(owner=rep, team=sales_team, created_at=moments(records, 2)[0])
    won_deal(rep, sales_team, moments(records, 2)[1], amount="5.00", source_lead=converted)
    counted = [
        kpi for kpi in summed_kpis(records) if kpi.record_counter(records, numerator_only=True)
    ]
    assert {"win_rate", "lead_conversion_rate", "renewal_rate"} <= {kpi.key for kpi in counted}
    for kpi in counted:
        reader = Reader()
        reader.prepare_counts(kpi, records)  # as the KPI page: the parts by owner
        for segment in (ALL, Segment("owner", str(rep.pk)), Segment("owner", "0")):
            expected = kpi.record_count(records, segment, numerator_only=True)
            total = reader.record_total(kpi, records, segment, numerator_only=True)
            assert total == expected, (kpi.key, segment)
    assert get_kpi("lead_conversion_rate").record_count(records, numerator_only=True) == 1


def test_the_kpi_page_does_not_count_records_its_value_counted(client, admin_user, records):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as page:
        response = client.get("/dashboards/kpi/pipeline_value/")
    assert response.status_code == 200
    counts = [q["sql"] for q in page.captured_queries if "COUNT(*)" in q["sql"]]
    assert counts == []
    assert response.context["page"].paginator.count == 1  # the outsider's open deal


def test_what_a_reader_sees_read_from_the_parts_is_what_their_drill_down_lists(
    records, rep, manager, outsider, agent, sales_team
):
    # The rows of a manager's or rep's drill-down counted from the parts by owner and team,
    # not by a second scan: every KPI that can, both sides, for readers of both teams.
    converted = LeadFactory(
        owner=rep, team=other_team_of(outsider), created_at=moments(records, 2)[0]
    )
    won_deal(rep, sales_team, moments(records, 2)[1], amount="5.00", source_lead=converted)
    TeamFactory(name="Support", members=[agent])
    checked = set()
    segments = (
        ALL,
        Segment("owner", str(rep.pk)),
        Segment("owner", str(outsider.pk)),
        Segment("owner", "0"),
        Segment("team", str(sales_team.pk)),
    )
    for kpi in summed_kpis(records):
        reader = Reader()
        reader.prepare_counts(kpi, records)  # as the KPI page: the parts by owner
        for user, segment, numerator_only in itertools.product(
            (rep, manager, outsider, agent), segments, (False, True)
        ):
            seen = reader.seen_total(kpi, records, segment, user, numerator_only=numerator_only)
            if seen is None:
                continue
            listed = kpi.drill_down(records, segment, user=user, numerator_only=numerator_only)
            assert seen == listed.count(), (kpi.key, user.username, segment, numerator_only)
            checked.add((kpi.key, numerator_only, segment.field))
    assert (
        reader.seen_total(kpi, records, Segment("owner", f"0{rep.pk}"), rep, numerator_only=False)
        is None
    )
    assert {
        ("win_rate", True, ""),
        ("deal_velocity", False, "owner"),
        ("engagement_rate", True, "team"),
    } <= checked
    assert len(checked) >= 60


def test_breakdowns_summed_from_the_parts_by_owner_and_team_are_the_direct_ones(records):
    # Every field, not only owner and team: a breakdown by pipeline summed by team was the bug.
    for kpi in summed_kpis(records):
        if kpi.owner_team_paths(records) is None:
            continue
        reader = Reader()
        reader.prepare_counts(kpi, records)  # as the KPI page: the parts by owner
        for field in [f for f in kpi.segments if f != "custom"]:
            assert reader.breakdown(kpi, records, field) == kpi.breakdown(records, field), (
                kpi.key,
                field,
            )


def other_team_of(user):
    return user.teams.first()


def test_a_reps_kpi_page_sums_value_and_counts_from_the_parts_it_shows(client, rep, records):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(rep)
    with CaptureQueriesContext(connection) as page:
        response = client.get("/dashboards/kpi/deals_won_count/")
    assert response.status_code == 200
    assert [q["sql"] for q in page.captured_queries if "COUNT(*)" in q["sql"]] == []
    kpi = get_kpi("deals_won_count")
    segment = response.context["segment"]
    assert response.context["result"] == kpi.value(records, segment)
    listed = kpi.drill_down(records, segment, user=rep)
    assert response.context["page"].paginator.count == listed.count() == 1  # her won deal
