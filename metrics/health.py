"""Customer health score per company: computed by `company_health_scores` (metrics.kpis.revenue,
the same query as the `health_score` KPI) and stored as one CompanyHealth row per customer by
the nightly task, so the company page and the retention dashboard read one row each.
"""

from datetime import date

from django.db import connection, transaction
from django.db.models import DecimalField, F, QuerySet
from django.db.models.functions import Cast, Round
from django.utils import timezone

from crm.access import is_admin, visible
from crm.models import Company

from . import fill
from .kpis.revenue import (
    company_health_scores,
    health_blend,
    health_risk_threshold,
    health_weights,
    score_to_two_places,
)
from .models import CompanyHealth, FillStatus, SnapshotFill
from .numbers import aggregate_settings
from .periods import period_for

HEALTH_GRAIN = "health"
AT_RISK_LIST_SIZE = 25


def store_company_health(*, day: date) -> int:
    """Score every customer as of the end of `day` and replace the stored rows; returns the
    number of customers scored. Safe to run twice: rows are upserted on the company, and
    companies no longer customers lose their row. Its fill state is the grain "health", marked
    done with the rows, in the same transaction. One INSERT ... SELECT: the scores never
    leave the database (a hundred thousand customers in seconds, not row batches in minutes)."""
    fill.mark_started(grain=HEALTH_GRAIN, start=day, run_id=fill.new_run_id())
    now = timezone.now()
    with transaction.atomic():
        fill.lock_fill(grain=HEALTH_GRAIN, start=day)
        with aggregate_settings():
            scored = _upsert_scores(period_for("day", day), day=day, now=now)
        # Rows not rewritten now belong to companies that are no longer customers.
        CompanyHealth.objects.exclude(computed_at=now).delete()
        fill.mark_written(
            grain=HEALTH_GRAIN, start=day, rows=scored, final=day < timezone.localdate()
        )
    return scored


def _upsert_scores(period, *, day: date, now) -> int:
    scores = (
        company_health_scores(period)
        .order_by()
        .values_list(
            "pk",
            score_to_two_places("health_score"),
            "at_risk",
            *[score_to_two_places(f"health_{name}") for name in CompanyHealth.COMPONENTS],
        )
    )
    select, params = scores.query.sql_with_params()
    column = {field.name: field.column for field in CompanyHealth._meta.concrete_fields}
    names = ["company", "score", "at_risk", *CompanyHealth.COMPONENTS, "as_of", "computed_at"]
    columns = [connection.ops.quote_name(column[name]) for name in names]
    updated = ", ".join(f"{name} = EXCLUDED.{name}" for name in columns[1:])
    table = connection.ops.quote_name(CompanyHealth._meta.db_table)
    # SQLite needs the WHERE to tell the upsert's ON from a join's.
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT scores.*, %s, %s FROM ({select}) scores WHERE 1 = 1 "
        f"ON CONFLICT ({columns[0]}) DO UPDATE SET {updated}"
    )
    moments = [
        connection.ops.adapt_datefield_value(day),
        connection.ops.adapt_datetimefield_value(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*moments, *params])
        return cursor.rowcount


def stored_for(day: date) -> bool:
    """Every customer's score as of `day` is stored (its fill done)."""
    return SnapshotFill.objects.filter(
        grain=HEALTH_GRAIN, period_start=day, status=FillStatus.DONE
    ).exists()


def store_if_missing(*, day: date) -> int:
    """`store_company_health` unless `day` is stored already: the nightly snapshots score
    health first, so the day's health KPI reads these rows instead of scoring again."""
    return 0 if stored_for(day) else store_company_health(day=day)


def rescore_stored() -> int:
    """Blend the stored components again with the weights and threshold of now, in two
    UPDATEs: the health KPI, the company page and the at-risk list follow a change of
    weights at once, not from the next night."""
    components = {name: F(name) for name in CompanyHealth.COMPONENTS}
    exact = DecimalField(max_digits=12, decimal_places=6)
    rows = CompanyHealth.objects.update(score=Round(Cast(health_blend(components), exact), 2))
    threshold = health_risk_threshold()
    CompanyHealth.objects.filter(score__lt=threshold).update(at_risk=True)
    CompanyHealth.objects.exclude(score__lt=threshold).update(at_risk=False)
    return rows


def health_for_company(company) -> CompanyHealth | None:
    return CompanyHealth.objects.filter(company=company).first()


def at_risk(user, *, segment_filter: dict | None = None, limit=AT_RISK_LIST_SIZE) -> QuerySet:
    """Stored at-risk customers the user may see (crm.access: a manager too, who reads the
    company's health score but names only their teams' customers), lowest score first."""
    rows = CompanyHealth.objects.filter(at_risk=True).select_related("company", "company__owner")
    if segment_filter:
        rows = rows.filter(**segment_filter)
    if not is_admin(user):
        rows = rows.filter(company__in=visible(Company, user).values("pk"))
    return rows.order_by("score", "company__name")[:limit]


def component_labels() -> dict[str, str]:
    from django.utils.translation import gettext as _

    return {
        "engagement": _("Engagement"),
        "surveys": _("Surveys"),
        "tickets": _("Tickets"),
        "purchase_recency": _("Purchase recency"),
        "renewal": _("Renewal"),
    }


def weights_and_threshold() -> tuple[dict[str, float], float]:
    return health_weights(), health_risk_threshold()
