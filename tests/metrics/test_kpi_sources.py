"""A KPI's live value stays cached until a record of a kind it is made of changes, not until
anything changes (issue 19): logging a call does not recompute the win rate, moving a deal
does. The kinds are read off each KPI's SQL (metrics.sources)."""

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import models as m
from crm import services
from metrics.charts import BUILDERS
from metrics.numbers import Reader
from metrics.registry import Segment, all_kpis, get_kpi
from metrics.sources import (
    CHART_KINDS,
    OPEN_MOVE,
    STRUCTURE,
    WRITTEN_WITH,
    chart_kinds,
    record_kinds,
)
from tests.crm.factories import CompanyFactory
from tests.metrics.test_live_numbers import closed_deal, lose, open_deal, this_month, win

pytestmark = pytest.mark.django_db


def kinds_read(captured) -> set[str]:
    """The record kinds of the tables the captured queries name."""
    by_table = {model._meta.db_table: model._meta.model_name for model in apps.get_models()}
    return {
        WRITTEN_WITH.get(kind, kind)
        for query in captured.captured_queries
        for table, kind in by_table.items()
        if f'"{table}"' in query["sql"]
    }


def test_each_kpi_is_made_of_the_kinds_its_sql_reads():
    assert record_kinds("win_rate") - STRUCTURE == {"deal", "company", "lead"}
    assert {"activity", "surveyanswer", "contact"} <= record_kinds("engagement_rate")
    assert "activity" not in record_kinds("win_rate")
    assert "ticket" in record_kinds("first_response_hours")
    assert "loginevent" in record_kinds("logins")


def test_only_the_kpis_reading_a_deals_stage_or_its_history_are_made_of_open_moves():
    moved = {kpi.key for kpi in all_kpis() if OPEN_MOVE in (record_kinds(kpi.key) or {OPEN_MOVE})}
    every_change = {kpi.key for kpi in all_kpis() if record_kinds(kpi.key) is None}
    assert moved - every_change == {"weighted_pipeline_value", "deal_velocity"}
    assert OPEN_MOVE in chart_kinds("pipeline_by_stage")
    assert OPEN_MOVE not in chart_kinds("mrr_movement")


def next_open_stage(deal):
    return (
        deal.pipeline.stages.filter(outcome=m.StageOutcome.OPEN)
        .exclude(pk=deal.stage_id)
        .order_by("order")
        .first()
    )


def value_and_queries(key, period):
    with CaptureQueriesContext(connection) as reads:
        value = Reader().result(get_kpi(key), period, Segment()).value
    return value, len(reads)


def test_a_drag_between_open_stages_recomputes_only_what_reads_stages(rep, sales_team):
    closed_deal(rep, sales_team, m.StageOutcome.WON)
    deal = open_deal(rep, sales_team)
    period = this_month()
    before = {key: value_and_queries(key, period)[0] for key in ("win_rate", "pipeline_value")}
    weighted_before, _ = value_and_queries("weighted_pipeline_value", period)

    services.deal_move_stage(deal=deal, stage=next_open_stage(deal), actor=rep)

    for key, value in before.items():
        assert value_and_queries(key, period) == (value, 1), key  # the versions only
    weighted_after, reads = value_and_queries("weighted_pipeline_value", period)
    assert reads > 1
    assert weighted_after != weighted_before
    assert value_and_queries("deal_velocity", period)[0] is not None


def test_winning_a_deal_by_a_move_recomputes_the_win_rate(rep, sales_team):
    closed_deal(rep, sales_team, m.StageOutcome.LOST)
    deal = open_deal(rep, sales_team)
    period = this_month()
    assert value_and_queries("win_rate", period)[0] == 0

    win(deal, rep)

    assert value_and_queries("win_rate", period)[0] == 50


def test_health_read_from_stored_scores_stays_cached_when_a_call_is_logged(
    client, manager, rep, sales_team
):
    from datetime import timedelta

    from django.utils import timezone

    from metrics.health import store_company_health

    customer = CompanyFactory(
        owner=rep,
        team=sales_team,
        lifecycle=m.Lifecycle.CUSTOMER,
        customer_since=this_month().start - timedelta(days=40),
    )
    kpi, period = get_kpi("health_score"), this_month()
    unstored = Reader().result(kpi, period, Segment()).value
    services.activity_log(actor=rep, kind=m.ActivityKind.CALL, company=customer)
    # Computed from the records, it moves with the call.
    assert Reader().result(kpi, period, Segment()).value != unstored

    store_company_health(day=timezone.localdate() - timedelta(days=1))
    url = reverse("kpi", args=["health_score"])
    client.force_login(manager)
    client.get(url)
    services.activity_log(actor=rep, kind=m.ActivityKind.MEETING, company=customer)
    with CaptureQueriesContext(connection) as again:
        assert client.get(url).status_code == 200
    health_reads = [q for q in again.captured_queries if "metrics_companyhealth" in q["sql"]]
    # The stored rows' time only: the value, breakdown and drill-down come from the cache.
    assert all("computed_at" in q["sql"] for q in health_reads), health_reads


def test_stored_health_by_owner_stays_cached_through_a_churn_and_moves_with_a_new_owner(
    manager, rep, teammate, sales_team
):
    """The whole and the parts by owner read from the nightly rows depend only on which owner
    and team each company is in: a subscription cancelled (the company churns) or an edit
    keeps them; handing the company to another rep recomputes them."""
    from datetime import timedelta

    from django.utils import timezone

    from metrics.health import store_company_health

    today = timezone.localdate()
    customer = CompanyFactory(owner=rep, team=sales_team, lifecycle=m.Lifecycle.PROSPECT)
    subscription = services.subscription_start(
        company=customer,
        actor=rep,
        plan_name="Pro",
        monthly_value=100,
        start_date=today - timedelta(days=60),
    )
    store_company_health(day=today - timedelta(days=1))
    kpi, period = get_kpi("health_score"), this_month()
    whole = Reader().result(kpi, period, Segment()).value
    assert set(Reader().breakdown(kpi, period, "owner")) == {str(rep.pk)}

    services.subscription_cancel(subscription=subscription, actor=rep)
    services.record_update(customer, actor=rep, data={"industry": m.Industry.FINANCE})
    customer.refresh_from_db()
    assert customer.lifecycle == m.Lifecycle.CHURNED
    with CaptureQueriesContext(connection) as after_churn:
        assert Reader().result(kpi, period, Segment()).value == whole
        assert set(Reader().breakdown(kpi, period, "owner")) == {str(rep.pk)}
    health_reads = [q for q in after_churn.captured_queries if "score" in q["sql"]]
    assert health_reads == []  # from the cache

    services.record_update(customer, actor=rep, data={"owner": teammate})
    assert set(Reader().breakdown(kpi, period, "owner")) == {str(teammate.pk)}
    assert Reader().result(kpi, period, Segment()).value == whole


# Rows the nightly run stored and settings: versioned otherwise (Reader.stored_part, the
# health settings' time in every version).
NOT_RECORDS = {"kpisnapshot", "snapshotfill", "companyhealth", "healthsettings"}


def segment_fields(kpi) -> list[str]:
    """The whole ("") and each segment a KPI breaks down by, custom fields aside (none is
    defined here)."""
    return ["", *(field for field in kpi.segments if field != "custom")]


@pytest.mark.parametrize("key", [kpi.key for kpi in all_kpis()])
def test_the_whole_and_each_breakdown_read_only_the_kinds_they_are_kept_by(key, rep, sales_team):
    """What keeps a value cached (record_kinds of its segment) names every kind of record
    computing it reads: the whole and its parts by owner and team, and each breakdown."""
    closed_deal(rep, sales_team, m.StageOutcome.WON)
    kpi, period = get_kpi(key), this_month()
    for field in segment_fields(kpi):
        kinds = record_kinds(key, field)
        if kinds is None:
            continue  # every change versions it
        cache.clear()
        reader = Reader()
        assert reader.versions
        with CaptureQueriesContext(connection) as computed:
            if field:
                reader.breakdown(kpi, period, field)
            else:
                reader.result(kpi, period, Segment())
        assert kinds_read(computed) - NOT_RECORDS <= kinds, field


def test_the_whole_is_not_made_of_what_only_a_segment_walks_through():
    assert record_kinds("win_rate", "") - STRUCTURE == {"deal"}
    assert record_kinds("win_rate", "industry") - STRUCTURE == {"deal", "company"}
    assert record_kinds("win_rate", "lead_source") - STRUCTURE == {"deal", "lead"}
    # Summed from its parts by its companies' owners and teams.
    assert "company" in record_kinds("mrr", "")
    assert record_kinds("win_rate") == record_kinds("win_rate", "industry") | {"lead"}


def test_editing_a_company_keeps_the_win_rate_and_recomputes_its_breakdown_by_industry(
    rep, sales_team
):
    customer = CompanyFactory(owner=rep, team=sales_team, industry=m.Industry.RETAIL)
    won = closed_deal(rep, sales_team, m.StageOutcome.WON)
    won.company = customer
    won.save(update_fields=["company"])
    kpi, period = get_kpi("win_rate"), this_month()
    assert Reader().result(kpi, period, Segment()).value == 100
    assert set(Reader().breakdown(kpi, period, "industry")) == {m.Industry.RETAIL}

    services.record_update(customer, actor=rep, data={"industry": m.Industry.FINANCE})

    with CaptureQueriesContext(connection) as after_edit:
        assert Reader().result(kpi, period, Segment()).value == 100
    assert len(after_edit) == 1  # the versions; the value from the cache
    assert set(Reader().breakdown(kpi, period, "industry")) == {m.Industry.FINANCE}


def test_a_kpi_made_of_events_depends_on_every_change():
    assert record_kinds("active_users") is None


def test_a_kpi_computed_from_others_is_made_of_their_kinds():
    assert record_kinds("clv") >= record_kinds("apv") | record_kinds("churn_rate")
    assert record_kinds("ltv_cac_ratio") >= record_kinds("clv") | record_kinds("cac")
    assert "activity" not in record_kinds("ltv_cac_ratio")


@pytest.mark.parametrize("key", ["clv", "ltv_cac_ratio"])
def test_a_computed_kpi_declares_every_kind_its_sql_reads(key, rep, sales_team):
    closed_deal(rep, sales_team, m.StageOutcome.WON)
    with CaptureQueriesContext(connection) as computed:
        get_kpi(key).value(this_month(), Segment())
    read = kinds_read(computed)
    assert read and read <= record_kinds(key)


def test_every_kind_is_a_model_or_the_open_moves():
    names = {model._meta.model_name for model in apps.get_models()} | {OPEN_MOVE}
    for kpi in all_kpis():
        assert (record_kinds(kpi.key) or set()) <= names, kpi.key


def test_logging_a_call_leaves_the_win_rate_cached_and_moving_a_deal_does_not(rep, sales_team):
    closed_deal(rep, sales_team, m.StageOutcome.WON)
    deal = open_deal(rep, sales_team)
    kpi, period = get_kpi("win_rate"), this_month()
    assert Reader().result(kpi, period, Segment()).value == 100

    services.activity_log(actor=rep, kind=m.ActivityKind.CALL, company=CompanyFactory())
    with CaptureQueriesContext(connection) as after_call:
        assert Reader().result(kpi, period, Segment()).value == 100
    assert len(after_call) == 1  # the versions; the value from the cache

    lose(deal, rep)
    with CaptureQueriesContext(connection) as after_loss:
        assert Reader().result(kpi, period, Segment()).value == 50
    assert len(after_loss) > 1


def test_logging_a_call_recomputes_the_engagement_rate(rep, sales_team):
    customer = CompanyFactory(
        owner=rep,
        team=sales_team,
        lifecycle=m.Lifecycle.CUSTOMER,
        customer_since=this_month().start,
    )
    kpi, period = get_kpi("engagement_rate"), this_month()
    assert Reader().result(kpi, period, Segment()).value == 0

    services.activity_log(actor=rep, kind=m.ActivityKind.CALL, company=customer)

    assert Reader().result(kpi, period, Segment()).value == 100


@pytest.mark.parametrize("key", sorted(CHART_KINDS))
@pytest.mark.parametrize("segment", [Segment(), Segment("owner", "1"), Segment("team", "1")])
def test_each_chart_declares_every_kind_its_sql_reads(key, segment):
    reader = Reader()
    assert reader.versions  # read before: the versions' own query names every kind
    with CaptureQueriesContext(connection) as built:
        BUILDERS[key](this_month(), segment, reader)
    # The rows the nightly run stored (months over) are not records: no event changes them,
    # and a chart is cached CHART_CACHE_SECONDS at most.
    assert kinds_read(built) - {"kpisnapshot", "snapshotfill"} <= chart_kinds(key, segment.field)


@pytest.mark.parametrize("key", sorted(CHART_KINDS))
def test_each_chart_by_industry_declares_every_kind_its_sql_reads(key):
    reader = Reader()
    assert reader.versions
    with CaptureQueriesContext(connection) as built:
        BUILDERS[key](this_month(), Segment("industry", "retail"), reader)
    assert kinds_read(built) - {"kpisnapshot", "snapshotfill"} <= chart_kinds(key, "industry")
    assert chart_kinds(key, "industry") == chart_kinds(key)


def test_logging_a_call_leaves_the_deal_charts_cached(client, admin_user, rep, sales_team):
    closed_deal(rep, sales_team, m.StageOutcome.WON)
    client.force_login(admin_user)
    client.get(reverse("dashboard", args=["sales"]))

    services.activity_log(actor=rep, kind=m.ActivityKind.CALL, company=CompanyFactory())
    with CaptureQueriesContext(connection) as again:
        client.get(reverse("dashboard", args=["sales"]))
    deal_reads = [q for q in again.captured_queries if 'FROM "crm_deal"' in q["sql"]]
    assert deal_reads == []


def test_editing_a_company_leaves_the_whole_deal_charts_cached(rep, sales_team):
    from metrics.charts import build

    customer = CompanyFactory(owner=rep, team=sales_team)
    open_deal(rep, sales_team)
    charts = ("pipeline_by_stage", "time_in_stage")
    before = [build(key, this_month(), Segment()) for key in charts]

    services.record_update(customer, actor=rep, data={"industry": m.Industry.FINANCE})
    reader = Reader()
    with CaptureQueriesContext(connection) as again:
        assert [build(key, this_month(), Segment(), reader=reader) for key in charts] == before
    assert len(again) == 1  # the versions


def test_a_ticket_reply_or_a_churn_leaves_the_survey_bands_of_everyone_cached(
    rep, agent, sales_team
):
    """The bands of everyone read the answers alone; by owner they follow the customers."""
    from metrics.charts import build

    customer = CompanyFactory(owner=rep, team=sales_team)
    contact = m.Contact.objects.create(first_name="Eve", last_name="Ray", company=customer)
    ticket = services.ticket_create(
        actor=None,
        data={"subject": "Help", "description": "Please", "contact": contact, "assignee": agent},
    )
    m.SurveyAnswer.objects.create(
        kind=m.SurveyKind.NPS, score=10, company=customer, contact=contact, ticket=ticket
    )
    before = build("survey_bands", this_month(), Segment())
    assert before["datasets"][0]["data"] == [1, 0, 0]

    services.ticket_agent_reply(ticket=ticket, actor=agent, body="On it")
    services.record_update(customer, actor=rep, data={"industry": m.Industry.FINANCE})
    reader = Reader()
    with CaptureQueriesContext(connection) as again:
        assert build("survey_bands", this_month(), Segment(), reader=reader) == before
    assert len(again) == 1  # the versions
    # By owner, the chart is made of the customers too: an edit versions it.
    assert "company" in chart_kinds("survey_bands", "owner")
