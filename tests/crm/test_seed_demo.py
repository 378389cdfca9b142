"""`seed_demo` writes 18 months of consistent, reproducible history that feeds every KPI.

The small scale is seeded once for the module (it takes seconds); tests that reseed do it
inside their own transaction, which is rolled back.
"""

import hashlib
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Max, Min
from django.db.models.functions import TruncMonth
from django.utils import timezone

from crm import models as m
from crm.demo import DEMO_USERS
from crm.seed import NEW_LEAD_MAX_DAYS, SEEDED_MODELS, reset_demo_records, seed_demo
from metrics.models import CompanyHealth
from metrics.periods import custom_period
from metrics.registry import get_kpi

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def _month_starts(count: int) -> list[date]:
    """The `count` whole months before the current one, oldest first."""
    months, month = [], TODAY.replace(day=1)
    for _ in range(count):
        month = (month - timedelta(days=1)).replace(day=1)
        months.append(month)
    return months[::-1]


WINDOW = [(month.year, month.month) for month in _month_starts(18)]


def _months(queryset, field: str) -> set[tuple[int, int]]:
    values = queryset.annotate(month=TruncMonth(field)).values_list("month", flat=True)
    return {(value.year, value.month) for value in values.distinct() if value is not None}


def _start_of_today() -> datetime:
    return timezone.make_aware(datetime.combine(TODAY, time.min))


def _digest() -> str:
    """Every seeded row, with ids of seeded parents taken relative to their table's first id
    (a reseed after --reset gets new ids) and `updated_at` (the time of writing) left out."""
    first_ids = {
        model: model.objects.aggregate(first=Min("pk"))["first"] for model in SEEDED_MODELS
    }
    digest = hashlib.sha256()
    for model in SEEDED_MODELS:
        fields = [f for f in model._meta.concrete_fields if f.name not in ("id", "updated_at")]
        offsets = [first_ids.get(f.related_model) if f.is_relation else None for f in fields]
        digest.update(model.__name__.encode())
        rows = model.objects.order_by("pk").values_list(*[f.attname for f in fields])
        for row in rows.iterator(chunk_size=2000):
            normalized = [
                value - offset if offset is not None and value is not None else value
                for value, offset in zip(row, offsets, strict=True)
            ]
            digest.update(repr(normalized).encode())
    return digest.hexdigest()


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in SEEDED_MODELS}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        # The seed replaces the migration's default custom fields with the demo's own.
        fields = list(m.CustomField.objects.all())
        articles = set(m.Article.objects.values_list("pk", flat=True))
        categories = set(m.ArticleCategory.objects.values_list("pk", flat=True))
        out = StringIO()
        call_command("seed_demo", "--scale", "small", stdout=out)
        yield out.getvalue()
        # Other modules create their own "ana", "Sales" team, etc.: leave nothing behind.
        reset_demo_records()
        m.User.objects.filter(username__in=[username for username, *_ in DEMO_USERS]).delete()
        # The demo routes new tickets to Support's queue: the setting goes with the team.
        m.SupportSettings.objects.filter(default_team__name__in=["Sales", "Support"]).delete()
        m.Team.objects.filter(name__in=["Sales", "Support"]).delete()
        m.CustomField.objects.all().delete()
        m.CustomField.objects.bulk_create(fields)
        m.Article.objects.exclude(pk__in=articles).delete()
        m.ArticleCategory.objects.exclude(pk__in=categories).delete()


def test_summary_lists_rows_per_model_and_the_time_taken(seeded):
    for model in ("Company", "Deal", "DealStageChange", "Ticket", "SurveyAnswer", "Expense"):
        assert model in seeded
    assert " s" in seeded.splitlines()[-1]


@pytest.mark.postgres
def test_the_seeded_tables_are_vacuumed_and_analysed(seeded):
    """Without a VACUUM a freshly loaded table has no visibility map: no index-only scans.
    (Early in the module: a test that reseeds, even rolled back, clears pages' visible bits.)"""
    if connection.vendor != "postgresql":
        pytest.skip("VACUUM and its statistics are PostgreSQL's")
    assert "vacuum (analyze)" in seeded
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT s.relname, s.last_vacuum IS NOT NULL, s.last_analyze IS NOT NULL,"
            " c.relallvisible FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
            " WHERE s.relname = ANY(%s)",
            [[model._meta.db_table for model in (m.Deal, m.Company, m.Activity, m.Ticket)]],
        )
        rows = cursor.fetchall()
    assert len(rows) == 4
    for table, vacuumed, analysed, all_visible_pages in rows:
        assert vacuumed and analysed, table
        assert all_visible_pages > 0, table


@pytest.mark.postgres
def test_the_demo_fields_get_their_list_sort_indexes(seeded):
    if connection.vendor != "postgresql":
        pytest.skip("sort indexes are PostgreSQL's")
    from crm.custom_fields import is_sortable, sort_index_names

    wanted = {
        name
        for field in m.CustomField.objects.all()
        if is_sortable(field)
        for name in sort_index_names(field)
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)", [list(wanted)])
        present = {row[0] for row in cursor.fetchall()}
    assert wanted and present == wanted


def test_small_scale_creates_each_model_in_the_expected_order_of_magnitude(seeded):
    expected = {
        "Company": (500, 700),
        "Contact": (500, 1_500),
        "Lead": (500, 2_000),
        "Deal": (1_700, 2_500),
        "DealStageChange": (4_000, 10_000),
        "Activity": (1_500, 4_000),
        "Task": (300, 1_500),
        "Ticket": (300, 1_200),
        "TicketMessage": (1_000, 4_000),
        "SurveyAnswer": (300, 1_000),
        "Subscription": (400, 1_500),
        "Expense": (18 * len(m.ExpenseCategory), 1_000),
        "LoginEvent": (500, 3_000),
    }
    counts = _counts()
    for model, (low, high) in expected.items():
        assert low <= counts[model] <= high, (model, counts[model])
    assert m.User.objects.filter(username__in=[u for u, *_ in DEMO_USERS]).count() == 5


def test_every_kind_source_channel_and_outcome_is_present(seeded):
    def values(model, field):
        return set(model.objects.values_list(field, flat=True).distinct())

    assert values(m.Deal, "kind") == set(m.DealKind.values)
    assert values(m.Deal, "status") == set(m.DealStatus.values)
    for kind in m.DealKind.values:
        assert values(m.Deal.objects.filter(kind=kind).model, "status")
        assert m.Deal.objects.filter(kind=kind, status=m.DealStatus.WON).exists(), kind
        assert m.Deal.objects.filter(kind=kind, status=m.DealStatus.LOST).exists(), kind
    assert values(m.Lead, "source") == set(m.LeadSource.values)
    assert values(m.Lead, "status") == set(m.LeadStatus.values)
    for source in m.LeadSource.values:
        assert m.Lead.objects.filter(source=source, status=m.LeadStatus.CONVERTED).exists()
    assert values(m.Ticket, "channel") == set(m.TicketChannel.values)
    assert values(m.Ticket, "priority") == set(m.TicketPriority.values)
    assert {m.TicketStatus.CLOSED, m.TicketStatus.RESOLVED} <= values(m.Ticket, "status")
    assert values(m.SurveyAnswer, "kind") == set(m.SurveyKind.values)
    assert values(m.Activity, "kind") == set(m.ActivityKind.values)
    assert values(m.Company, "lifecycle") == set(m.Lifecycle.values)
    assert values(m.Company, "size_band") == set(m.SizeBand.values)
    assert values(m.Company, "industry") == set(m.Industry.values)
    assert values(m.Subscription, "status") == set(m.SubscriptionStatus.values)
    assert m.Subscription.objects.filter(renewal_of__isnull=False).exists()
    assert values(m.Expense, "category") == set(m.ExpenseCategory.values)
    assert values(m.Task, "status") >= {m.TaskStatus.OPEN, m.TaskStatus.DONE}
    assert m.Task.objects.filter(status=m.TaskStatus.OPEN, due_at__lt=timezone.now()).exists()
    assert m.Task.objects.filter(status=m.TaskStatus.OPEN, due_at__gt=timezone.now()).exists()
    assert m.Ticket.objects.filter(reopen_count__gt=0).exists()
    assert m.Ticket.objects.filter(sla_breached_at__isnull=False).exists()
    assert m.TicketMessage.objects.filter(is_internal=True).exists()
    assert m.Deal.objects.exclude(custom={}).exists()
    assert m.Lead.objects.exclude(custom={}).exists()
    assert set(m.Deal.objects.values_list("owner__username", flat=True)) >= {"ana", "marco"}


def test_history_feeds_every_kpi_in_each_of_the_last_18_months(seeded):
    won = m.Deal.objects.filter(status=m.DealStatus.WON)
    # The data moves with the calendar, so thinner series are held to most months, not all.
    every_month = {
        "deals won": _months(won, "closed_at"),
        "deals lost": _months(m.Deal.objects.filter(status=m.DealStatus.LOST), "closed_at"),
        "stage exits": _months(m.DealStageChange.objects.exclude(from_stage=None), "changed_at"),
        "leads": _months(m.Lead.objects.all(), "created_at"),
        "lead responses": _months(
            m.Activity.objects.filter(lead__isnull=False, direction=m.Direction.OUTBOUND),
            "occurred_at",
        ),
        "tickets": _months(m.Ticket.objects.all(), "created_at"),
        "tickets resolved": _months(m.Ticket.objects.exclude(resolved_at=None), "resolved_at"),
        "engagement": _months(
            m.Activity.objects.filter(company__isnull=False, kind__in=m.ENGAGEMENT_KINDS),
            "occurred_at",
        ),
        "logins": _months(m.LoginEvent.objects.all(), "at"),
    }
    for category in m.ExpenseCategory.values:
        every_month[category] = _months(m.Expense.objects.filter(category=category), "spent_on")
    most_months = {
        "new business won": _months(won.filter(kind=m.DealKind.NEW_BUSINESS), "closed_at"),
        "qualified leads": _months(m.Lead.objects.exclude(qualified_at=None), "created_at"),
        "new customers": _months(m.Company.objects.exclude(customer_since=None), "customer_since"),
        "subscriptions started": _months(m.Subscription.objects.all(), "start_date"),
        "nps": _months(m.SurveyAnswer.objects.filter(kind=m.SurveyKind.NPS), "answered_at"),
        "csat": _months(m.SurveyAnswer.objects.filter(kind=m.SurveyKind.CSAT), "answered_at"),
        "ces": _months(m.SurveyAnswer.objects.filter(kind=m.SurveyKind.CES), "answered_at"),
    }
    rare = {
        "churn": _months(m.Company.objects.exclude(churned_at=None), "churned_at"),
        "renewal won": _months(won.filter(kind=m.DealKind.RENEWAL), "closed_at"),
        "upsell won": _months(won.filter(kind=m.DealKind.UPSELL), "closed_at"),
        "cross-sell won": _months(won.filter(kind=m.DealKind.CROSS_SELL), "closed_at"),
        "subscriptions ended": _months(m.Subscription.objects.exclude(end_date=None), "end_date"),
        "sla breaches": _months(m.Ticket.objects.exclude(sla_breached_at=None), "created_at"),
    }
    for series, least in [(every_month, 18), (most_months, 16), (rare, 12)]:
        for name, months in series.items():
            missing = sorted(set(WINDOW) - months)
            assert len(WINDOW) - len(missing) >= least, (name, missing)


def test_history_ends_yesterday(seeded):
    today = _start_of_today()
    for model, field in [
        (m.Company, "created_at"),
        (m.Lead, "created_at"),
        (m.Deal, "created_at"),
        (m.Deal, "closed_at"),
        (m.DealStageChange, "changed_at"),
        (m.Activity, "occurred_at"),
        (m.Ticket, "created_at"),
        (m.Ticket, "resolved_at"),
        (m.TicketMessage, "created_at"),
        (m.SurveyAnswer, "answered_at"),
        (m.Task, "completed_at"),
        (m.Subscription, "created_at"),
        (m.LoginEvent, "at"),
    ]:
        assert model.objects.aggregate(latest=Max(field))["latest"] < today, (model, field)
    assert m.Activity.objects.filter(occurred_at__gte=today - timedelta(days=3)).exists()
    assert m.Expense.objects.aggregate(latest=Max("spent_on"))["latest"] < TODAY


def test_deals_walk_the_stages_and_end_where_their_history_ends(seeded):
    changes = defaultdict(list)
    for change in m.DealStageChange.objects.order_by("changed_at", "id"):
        changes[change.deal_id].append(change)
    stages = {stage.pk: stage for stage in m.Stage.objects.all()}
    for deal in m.Deal.objects.all():
        stage = stages[deal.stage_id]
        assert deal.status == stage.outcome and stage.pipeline_id == deal.pipeline_id
        assert (deal.closed_at is None) == (deal.status == m.DealStatus.OPEN)
        assert bool(deal.lost_reason) == (deal.status == m.DealStatus.LOST)
        history = changes[deal.pk]
        assert history[0].from_stage_id is None and history[0].changed_at == deal.created_at
        for before, after in zip(history, history[1:], strict=False):
            assert after.from_stage_id == before.to_stage_id
            assert after.from_stage_entered_at == before.changed_at
            seconds = (after.changed_at - before.changed_at).total_seconds()
            assert after.seconds_in_from_stage == seconds > 0
            assert after.changed_by_id is not None
        assert history[-1].to_stage_id == deal.stage_id
        assert history[-1].changed_at == deal.stage_entered_at
        if deal.closed_at is not None:
            assert deal.closed_at == deal.stage_entered_at


def test_leads_convert_into_the_company_contact_and_deal_they_created(seeded):
    first_touch = dict(
        m.Activity.objects.filter(lead__isnull=False, direction=m.Direction.OUTBOUND)
        .values("lead")
        .annotate(first=Min("occurred_at"))
        .values_list("lead", "first")
    )
    for lead in m.Lead.objects.select_related("converted_deal"):
        assert 0 <= lead.score <= 100
        assert lead.first_response_at == first_touch.get(lead.pk)
        if lead.qualified_at is not None:
            assert lead.created_at <= lead.first_response_at <= lead.qualified_at
        if lead.status != m.LeadStatus.CONVERTED:
            assert lead.converted_at is None and lead.converted_deal_id is None
            continue
        deal = lead.converted_deal
        assert deal.source_lead_id == lead.pk and deal.kind == m.DealKind.NEW_BUSINESS
        assert lead.converted_company_id == deal.company_id
        assert lead.converted_contact.company_id == deal.company_id
        assert lead.qualified_at <= lead.converted_at == deal.created_at
    assert m.Deal.objects.filter(source_lead__isnull=False).count() == (
        m.Lead.objects.filter(status=m.LeadStatus.CONVERTED).count()
    )


def test_customers_have_their_first_win_subscriptions_and_churn_dates(seeded):
    first_wins = dict(
        m.Deal.objects.filter(kind=m.DealKind.NEW_BUSINESS, status=m.DealStatus.WON)
        .values("company")
        .annotate(first=Min("closed_at"), wins=Count("id"))
        .values_list("company", "first")
    )
    subscriptions = defaultdict(list)
    for sub in m.Subscription.objects.order_by("start_date", "id"):
        subscriptions[sub.company_id].append(sub)
    for company in m.Company.objects.all():
        chain = subscriptions[company.pk]
        if company.lifecycle == m.Lifecycle.PROSPECT:
            assert company.customer_since is None and not chain
            continue
        assert company.customer_since == first_wins[company.pk]
        assert chain[0].start_date == timezone.localtime(company.customer_since).date()
        for previous, sub in zip(chain, chain[1:], strict=False):
            assert sub.renewal_of_id == previous.pk and previous.end_date == sub.start_date
        if company.lifecycle == m.Lifecycle.CHURNED:
            assert chain[-1].status == m.SubscriptionStatus.CANCELLED
            assert chain[-1].cancelled_at <= company.churned_at
        else:
            assert company.churned_at is None
    for sub in m.Subscription.objects.all():
        assert sub.end_date is None or sub.end_date > sub.start_date
        if sub.status == m.SubscriptionStatus.CANCELLED:
            assert sub.cancelled_at is not None and sub.end_date is not None


def test_subscriptions_carry_their_terms_renewal_date(seeded):
    subscriptions = list(m.Subscription.objects.select_related("renewal"))
    assert all(sub.term_end and sub.term_end > sub.start_date for sub in subscriptions)
    for sub in subscriptions:
        renewal = getattr(sub, "renewal", None)
        if sub.end_date is None or sub.end_date > sub.term_end:
            continue
        if sub.end_date < sub.term_end:
            # Stopped mid-term: an upgrade that keeps the term, or a cancellation (churn).
            assert (renewal and renewal.term_end == sub.term_end) or sub.status == "cancelled"
        elif renewal is not None:
            # Renewed on its renewal date: the next term starts there.
            assert renewal.start_date == sub.term_end < renewal.term_end
    mid_term = [s for s in subscriptions if s.status == "cancelled" and s.end_date < s.term_end]
    at_term = [s for s in subscriptions if s.end_date == s.term_end]
    assert mid_term and at_term
    # Over the last 12 months most contracts that came up for renewal were renewed, and the
    # mid-term cancellations are not among them.
    year = custom_period(TODAY.replace(day=1) - timedelta(days=365), TODAY - timedelta(days=1))
    kpi = get_kpi("renewal_rate")
    result = kpi.value(year)
    assert result.denominator >= 10 and 60 <= result.value <= 100
    counted = set(kpi.counted_records(year).values_list("pk", flat=True))
    assert counted and not {sub.pk for sub in mid_term} & counted


def test_tickets_follow_their_messages_and_sla(seeded):
    sla = {p.priority: p for p in m.SLAPolicy.objects.all()}
    messages = defaultdict(list)
    for message in m.TicketMessage.objects.order_by("created_at", "id"):
        messages[message.ticket_id].append(message)
    today = _start_of_today()
    for ticket in m.Ticket.objects.all():
        policy = sla[ticket.priority]
        hours = float(policy.first_response_hours), float(policy.resolution_hours)
        assert ticket.first_response_due_at == ticket.created_at + timedelta(hours=hours[0])
        assert ticket.resolution_due_at == ticket.created_at + timedelta(hours=hours[1])
        thread = messages[ticket.pk]
        assert thread[0].author_kind == m.MessageAuthor.CUSTOMER
        assert thread[0].created_at == ticket.created_at
        replies = [
            x for x in thread if x.author_kind == m.MessageAuthor.AGENT and not x.is_internal
        ]
        assert ticket.agent_reply_count == len(replies)
        assert ticket.first_response_at == (replies[0].created_at if replies else None)
        done = ticket.status in m.DONE_STATUSES
        assert (ticket.resolved_at is not None) == done
        if done:
            assert ticket.resolved_at >= thread[-1].created_at
        answered = ticket.first_response_at or today
        resolved = ticket.resolved_at or today
        if ticket.first_response_due_at < min(answered, today):
            breach = ticket.first_response_due_at
        elif ticket.resolution_due_at < min(resolved, today):
            breach = ticket.resolution_due_at
        else:
            breach = None
        assert ticket.sla_breached_at == breach


def test_surveys_tasks_and_activities_respect_the_rules(seeded):
    for answer in m.SurveyAnswer.objects.select_related("ticket"):
        low, high = m.SCORE_RANGES[answer.kind]
        assert low <= answer.score <= high
        if answer.kind == m.SurveyKind.CSAT:
            assert answer.ticket.resolved_at <= answer.answered_at
    for task in m.Task.objects.all():
        assert (task.completed_at is not None) == (task.status == m.TaskStatus.DONE)
        assert task.lead_id or task.deal_id or task.ticket_id or task.company_id
    assert not m.Activity.objects.filter(
        lead=None, contact=None, company=None, deal=None, ticket=None
    ).exists()


def test_same_seed_gives_the_same_rows_and_another_seed_other_rows(seeded):
    first = _digest()
    call_command("seed_demo", "--scale", "small", "--reset", stdout=StringIO())
    assert _digest() == first
    call_command("seed_demo", "--scale", "small", "--reset", "--seed", "7", stdout=StringIO())
    assert _digest() != first


@pytest.mark.postgres
def test_copy_on_postgresql_writes_the_rows_bulk_create_writes(seeded):
    if connection.vendor != "postgresql":
        pytest.skip("COPY is the PostgreSQL writer")
    expected = _digest()
    reset_demo_records()
    seed_demo(scale="small", copy=True)
    assert _digest() == expected
    # The sequences moved past the ids the writer handed out.
    company = m.Company.objects.create(name="After the seed")
    assert company.pk > m.Company.objects.exclude(pk=company.pk).aggregate(last=Max("pk"))["last"]


def test_refuses_to_seed_over_existing_records(seeded):
    before = _counts()
    with pytest.raises(CommandError, match="--reset"):
        call_command("seed_demo", "--scale", "small", stdout=StringIO())
    assert _counts() == before


def test_if_empty_leaves_a_database_with_users_alone(seeded):
    before = _counts()
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "nothing to do" in out.getvalue()
    assert _counts() == before


def test_reset_also_clears_other_apps_links_to_the_demo_records(seeded):
    """A stored health score and a goal target's linked tasks must not block --reset."""
    from goals.models import Target
    from metrics.health import store_company_health
    from tests.goals.factories import make_goal, make_target

    store_company_health(day=timezone.localdate())
    goal = make_goal(owner=m.User.objects.get(username="carla"))
    make_target(goal, kind="tasks", tasks=list(m.Task.objects.all()[:3]))
    assert CompanyHealth.objects.exists()

    call_command("seed_demo", "--scale", "small", "--reset", stdout=StringIO())

    assert not CompanyHealth.objects.exists()
    assert not Target.tasks.through.objects.exists()
    assert m.Company.objects.exists()
    goal.delete()


# --- the demo shows each feature (issue 15, items 8-10) -------------------------------------


def _queue_counts(client, username: str) -> dict[str, int]:
    client.force_login(m.User.objects.get(username=username))
    response = client.get("/tickets/")
    assert response.status_code == 200
    return {key: count for key, _label, count in response.context["views"]}


def test_the_support_queue_has_work_on_the_first_run(seeded, client):
    working = m.Ticket.objects.exclude(status__in=m.DONE_STATUSES)
    statuses = set(working.values_list("status", flat=True))
    assert {m.TicketStatus.NEW, m.TicketStatus.OPEN, m.TicketStatus.PENDING} <= statuses
    assert working.filter(sla_breached_at__isnull=False).exists()
    assert working.filter(sla_breached_at__isnull=True).exists()
    # Unanswered tickets wait unassigned in the support team's queue.
    support = m.Team.objects.get(name="Support")
    assert not working.filter(assignee__isnull=True).exclude(team=support).exists()

    counts = _queue_counts(client, "bruno")
    for view in ("all", "mine", "unassigned", "breaching", "pending"):
        assert counts[view] > 0, view
    response = client.get("/tickets/", {"view": "mine"})
    assert response.context["page"].paginator.count == counts["mine"]


def test_the_help_centre_has_published_articles_agents_link(seeded, client):
    published = m.Article.objects.published()
    assert published.count() >= 10
    assert m.Article.objects.filter(status=m.ArticleStatus.DRAFT).exists()
    assert published.values("category").distinct().count() >= 5
    assert not published.filter(published_at__gte=_start_of_today()).exists()

    page = client.get("/help/")  # customers, no login
    assert page.status_code == 200
    article = published.order_by("title").first()
    assert article.title in page.content.decode()
    draft = m.Article.objects.filter(status=m.ArticleStatus.DRAFT).first()
    assert draft.title not in page.content.decode()
    assert client.get(f"/help/{article.slug}/").status_code == 200

    client.force_login(m.User.objects.get(username="bruno"))
    picked = client.get("/knowledge/picker/", {"q": "password"}).json()["results"]
    assert any(result["url"].endswith("/help/reset-your-password/") for result in picked)
    # Agents' replies point customers to the articles, never to one not yet published.
    linked = m.TicketMessage.objects.filter(
        author_kind=m.MessageAuthor.AGENT, body__contains="/help/"
    )
    assert linked.exists()
    published_at = dict(published.values_list("slug", "published_at"))
    for message in linked:
        slug = message.body.split("/help/", 1)[1].split("/", 1)[0]
        assert published_at[slug] < message.created_at


def test_custom_fields_add_something_on_the_records_where_they_mean_something(seeded, client):
    lead_fields = {str(f.verbose_name).lower() for f in m.Lead._meta.fields} | {
        f.name for f in m.Lead._meta.fields
    }
    for field in m.CustomField.objects.filter(record_type=m.RecordType.LEAD, is_active=True):
        bare_label = field.label.lower().removeprefix("lead ")
        bare_key = field.key.removeprefix("lead_")
        assert bare_label not in lead_fields and bare_key not in lead_fields, field.label
    for field in m.CustomField.objects.filter(record_type=m.RecordType.TASK, is_active=True):
        words = f"{field.key} {field.label}".lower()
        assert "lead" not in words and "deal" not in words, field.label
    # Each of the demo's fields holds values on its records.
    models = {
        m.RecordType.COMPANY: m.Company,
        m.RecordType.DEAL: m.Deal,
        m.RecordType.LEAD: m.Lead,
        m.RecordType.TASK: m.Task,
        m.RecordType.TICKET: m.Ticket,
    }
    active = m.CustomField.objects.filter(is_active=True)
    assert {field.record_type for field in active} == set(models)
    for field in active:
        assert models[field.record_type].objects.filter(custom__has_key=field.key).exists()

    client.force_login(m.User.objects.get(username="ana"))
    lead_form = client.get("/leads/new/").content.decode()
    assert "Product interest" in lead_form
    for label in ("Lead source", "Lead score", "Lead stage", "Deal value"):
        assert label not in lead_form
    task_form = client.get("/tasks/new/").content.decode()
    assert "Effort" in task_form
    for label in ("Lead source", "Deal value", "Lead score"):
        assert label not in task_form
    # The agent sees what part of the product a ticket is about.
    client.force_login(m.User.objects.get(username="bruno"))
    ticket = m.Ticket.objects.filter(assignee__username="bruno", custom__has_key="product_area")[0]
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Product area" in page and ticket.custom["product_area"] in page


def test_new_leads_are_recent_and_older_ones_moved_on(seeded):
    new = m.Lead.objects.filter(status=m.LeadStatus.NEW)
    assert new.exists()
    oldest = new.aggregate(oldest=Min("created_at"))["oldest"]
    assert oldest >= _start_of_today() - timedelta(days=NEW_LEAD_MAX_DAYS + 1)
    contacted = m.Lead.objects.filter(status=m.LeadStatus.CONTACTED)
    assert contacted.aggregate(oldest=Min("created_at"))["oldest"] >= _start_of_today() - (
        timedelta(days=180)
    )


def test_task_titles_vary_by_record_and_step(seeded):
    for tasks in (m.Task.objects.all(), m.Task.objects.filter(status=m.TaskStatus.OPEN)):
        titles = Counter(tasks.values_list("title", flat=True))
        total = sum(titles.values())
        assert total >= 50
        title, count = titles.most_common(1)[0]
        assert count <= 0.15 * total, (title, count, total)
    assert not m.Task.objects.filter(title="Next step").exists()
    # Every role has its own work on the list, the agent too.
    open_tasks = m.Task.objects.filter(status=m.TaskStatus.OPEN)
    assert {"ana", "marco", "bruno"} <= set(open_tasks.values_list("assignee__username", flat=True))
