import json
from datetime import date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from crm import services
from crm.models import Deal
from metrics import mrr_movement
from metrics import services as metric_services
from metrics.fill import MONTH_TO_DATE
from metrics.models import KPISnapshot
from metrics.periods import period_for
from metrics.registry import KPI, Result, all_kpis, to_decimal
from tests.crm.factories import stage_named

# A KPI built here rather than taken from the registry, so these tests are about snapshots.
WON_DEALS = KPI(
    key="test_won_deals",
    label="Won deals",
    description="",
    unit="count",
    higher_is_better=True,
    records=lambda period: Deal.objects.filter(
        status="won", closed_at__gte=period.start, closed_at__lt=period.end
    ),
    aggregates=lambda period: {"n": Count("id")},
    combine=lambda row: Result(to_decimal(row["n"])),
    segments={"owner": "owner", "team": "team"},
)


def won_deal(owner, closed_on: date):
    at = timezone.make_aware(datetime.combine(closed_on, datetime.min.time())) + timedelta(hours=12)
    deal = services.deal_create(
        actor=owner, data={"name": "D", "created_at": at - timedelta(days=5)}
    )
    return services.deal_move_stage(deal=deal, stage=stage_named("Won"), actor=owner, at=at)


def stored(**filters):
    return {
        (s.grain, s.period_start, s.segment_field, s.segment_value): s.value
        for s in KPISnapshot.objects.filter(kpi="test_won_deals", **filters)
    }


@pytest.mark.django_db
def test_a_day_is_snapshotted_overall_and_per_owner_for_each_grain(rep, teammate):
    won_deal(rep, date(2026, 3, 10))
    won_deal(rep, date(2026, 3, 10))
    won_deal(teammate, date(2026, 3, 2))

    metric_services.snapshot_day(day=date(2026, 3, 10), kpis=[WON_DEALS])

    rows = stored()
    assert rows[("day", date(2026, 3, 10), "", "")] == 2
    assert rows[("day", date(2026, 3, 10), "owner", str(rep.pk))] == 2
    assert rows[("month", date(2026, 3, 1), "", "")] == 3
    assert rows[("month", date(2026, 3, 1), "owner", str(teammate.pk))] == 1
    assert rows[("quarter", date(2026, 1, 1), "", "")] == 3


@pytest.mark.django_db
def test_running_a_snapshot_again_replaces_its_rows(rep):
    won_deal(rep, date(2026, 3, 10))
    metric_services.snapshot_day(day=date(2026, 3, 10), kpis=[WON_DEALS])
    count = KPISnapshot.objects.count()

    won_deal(rep, date(2026, 3, 10))
    metric_services.snapshot_day(day=date(2026, 3, 10), kpis=[WON_DEALS])

    assert KPISnapshot.objects.count() == count
    assert stored(grain="day", segment_field="")[("day", date(2026, 3, 10), "", "")] == 2


@pytest.mark.django_db
def test_a_backfill_covers_months_quarters_and_recent_days(rep):
    won_deal(rep, date(2026, 1, 20))
    won_deal(rep, date(2026, 3, 5))

    metric_services.snapshot_range(
        first_day=date(2026, 1, 1), last_day=date(2026, 3, 31), kpis=[WON_DEALS]
    )

    months = {k[1]: v for k, v in stored(grain="month", segment_field="").items()}
    assert months == {date(2026, 1, 1): 1, date(2026, 2, 1): 0, date(2026, 3, 1): 1}
    assert stored(grain="quarter", segment_field="")[("quarter", date(2026, 1, 1), "", "")] == 2
    days = stored(grain="day", segment_field="")
    assert len(days) == 62 and days[("day", date(2026, 3, 5), "", "")] == 1
    # Each of those days' month so far, but for the months' last days (31 January, 28 February
    # and 31 March: the months themselves).
    to_date = KPISnapshot.objects.filter(grain=MONTH_TO_DATE, segment_field="")
    assert to_date.count() == 62 - 3
    assert to_date.get(period_end=date(2026, 3, 5)).value == 1
    assert to_date.get(period_end=date(2026, 3, 4)).value == 0


@pytest.mark.django_db
def test_an_empty_ratio_is_stored_as_no_data():
    empty = KPI(
        key="test_empty_ratio",
        label="",
        description="",
        unit="percent",
        higher_is_better=True,
        records=lambda period: Deal.objects.none(),
        aggregates=lambda period: {"n": Count("id")},
        combine=lambda row: Result(None, to_decimal(0), to_decimal(row["n"])),
    )
    metric_services.snapshot_kpi_period(kpi=empty, period=period_for("month", date(2026, 3, 1)))

    snapshot = KPISnapshot.objects.get(kpi="test_empty_ratio")
    assert snapshot.value is None and snapshot.denominator == 0


@pytest.mark.django_db
def test_the_nightly_task_snapshots_every_registered_kpi_for_yesterday(monkeypatch):
    from metrics.tasks import snapshot_kpis

    written = snapshot_kpis.apply(kwargs={"day": "2026-03-10"}).get()

    assert written >= 3 * len(all_kpis())
    stored = set(KPISnapshot.objects.values_list("kpi", flat=True))
    assert stored == {k.key for k in all_kpis()} | set(mrr_movement.MOVE_KEYS.values())
    assert set(KPISnapshot.objects.values_list("grain", flat=True)) == {
        "day",
        "week",
        "month",
        "quarter",
    }


def test_the_nightly_fill_is_scheduled():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["snapshot-kpis-nightly"]
    assert entry["task"] == "metrics.snapshot_kpis"
    assert entry["options"]["expires"] < 24 * 3600


@pytest.mark.django_db
def test_kpi_command_lists_every_key():
    out = StringIO()
    call_command("kpi", "--list", stdout=out)
    keys = {line.split()[0] for line in out.getvalue().splitlines()}
    assert keys == {k.key for k in all_kpis()}
    assert len(keys) >= 30


@pytest.mark.django_db
def test_kpi_command_prints_json(rep):
    won_deal(rep, date(2026, 3, 10))
    out = StringIO()

    call_command(
        "kpi", "deals_won_count", "--from", "2026-03-01", "--to", "2026-03-31", "--json", stdout=out
    )

    payload = json.loads(out.getvalue())
    assert (
        payload["value"] == 1 and payload["from"] == "2026-03-01" and payload["to"] == "2026-03-31"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, message",
    [
        (["nope"], "Unknown KPI"),
        ([], "Name a KPI"),
        (["win_rate", "--from", "2026-03-01"], "both --from and --to"),
        (["win_rate", "--from", "2026-03-05", "--to", "2026-03-01"], "before"),
        (["win_rate", "--segment", "owner"], "FIELD=VALUE"),
        (["win_rate", "--segment", "planet=mars"], "cannot be split"),
    ],
)
def test_kpi_command_explains_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("kpi", *args, stdout=StringIO())


@pytest.mark.django_db
def test_snapshot_command_backfills(rep):
    won_deal(rep, date(2026, 3, 10))
    out = StringIO()
    call_command("snapshot_kpis", "--from", "2026-03-01", "--to", "2026-03-31", stdout=out)
    assert "snapshot rows written" in out.getvalue()
    assert (
        KPISnapshot.objects.filter(kpi="deals_won_count", grain="month", segment_field="")
        .get()
        .value
        == 1
    )
