"""The list pages' default orders are the indexes' orders (migration crm 0024): on PostgreSQL the
plan of each page's row query reads its index rather than sorting. The plans are taken with
sorting and whole-table scans discouraged, since on a few rows a sort would win anyway: what
is checked is that the index *can* serve the query, i.e. that the ORDER BY and the filter
still match the index's expressions and condition."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import services
from crm.models import Company, Contact
from tests.crm.factories import CompanyFactory, ContactFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans"),
]


def plan_of_rows_query(client, url, table: str, params=None) -> str:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params or {}).status_code == 200
    [sql] = [
        q["sql"]
        for q in queries
        if q["sql"].startswith(f'SELECT "{table}"."id"') and "LIMIT" in q["sql"]
    ]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        # Nor a partial order from another index finished by sorting each group.
        cursor.execute("SET LOCAL enable_incremental_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def plan_of(sql: str, *switched_off: str) -> str:
    """The plan of `sql` with whole-table and bitmap scans (and `switched_off`) discouraged."""
    with connection.cursor() as cursor:
        for setting in ("seqscan", "bitmapscan", *switched_off):
            cursor.execute(f"SET LOCAL enable_{setting} = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("view", ["all", "unassigned", "mine"])
def test_the_ticket_queue_reads_the_working_tickets_index(client, admin_user, view):
    for assignee in (None, admin_user):
        data = {"subject": "Help", "description": "Please", "contact": ContactFactory()}
        services.ticket_create(actor=None, data={**data, "assignee": assignee})
    client.force_login(admin_user)
    plan = plan_of_rows_query(client, reverse("tickets"), "crm_ticket", {"view": view})
    assert "ticket_working_queue" in plan, plan


def test_the_contacts_list_reads_its_index(client, admin_user):
    ContactFactory.create_batch(3)
    client.force_login(admin_user)
    plan = plan_of_rows_query(client, reverse("contacts"), "crm_contact")
    assert "contact_by_last_name" in plan, plan


def test_the_companies_list_reads_its_index(client, admin_user):
    CompanyFactory.create_batch(3)
    client.force_login(admin_user)
    plan = plan_of_rows_query(client, reverse("companies"), "crm_company")
    assert "company_by_name" in plan, plan


@pytest.mark.parametrize(
    "model, lookup, index",
    [
        (Contact, {"email__iexact": "Maria@Example.com"}, "contact_email_any_case"),
        (Company, {"name__iexact": "acme gmbh"}, "company_name_any_case"),
    ],
)
def test_a_leads_matches_are_found_through_the_any_case_indexes(model, lookup, index):
    """A lead's conversion and its duplicate warning look a contact up by email and a company
    by name in any case (crm 0025)."""
    ContactFactory.create_batch(3)
    sql, params = model.objects.filter(**lookup).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


def test_every_connection_runs_without_jit():
    # crm/settings.py: JIT cost a rep's ticket queue 60 ms at a million deals, saving nothing.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_the_queue_counts_read_the_working_tickets_index_alone(client, admin_user):
    for _ in range(3):
        data = {"subject": "Help", "description": "Please", "contact": ContactFactory()}
        services.ticket_create(actor=None, data=data)
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("tickets")).status_code == 200
    [sql] = [q["sql"] for q in queries if q["sql"].startswith('SELECT COUNT("crm_ticket"."id")')]
    plan = plan_of(sql)
    assert "Index Only Scan using ticket_working_queue" in plan, plan


def test_the_engagement_rate_reads_the_periods_activities_and_answers_from_their_indexes():
    from django.utils import timezone

    from metrics.periods import period_for
    from metrics.registry import get_kpi

    kpi, period = get_kpi("engagement_rate"), period_for("month", timezone.localdate())
    with CaptureQueriesContext(connection) as queries:
        kpi.value(period)
    [sql] = [q["sql"] for q in queries]
    plan = plan_of(sql)
    assert "Index Only Scan using activity_when_covering" in plan, plan
    assert "Index Only Scan using answer_when_covering" in plan, plan


def test_stage_velocity_reads_the_periods_stage_exits_from_their_index():
    from django.utils import timezone

    from metrics.periods import period_for
    from metrics.registry import get_kpi

    kpi, period = get_kpi("deal_velocity"), period_for("month", timezone.localdate())
    with CaptureQueriesContext(connection) as queries:
        kpi.value(period)
    [sql] = [q["sql"] for q in queries]
    plan = plan_of(sql)
    assert "Index Only Scan using stage_change_when_covering" in plan, plan


@pytest.mark.parametrize("field", ["owner", "team"])
def test_a_reps_or_teams_stage_velocity_reads_their_deal_ids_from_an_index(field, rep, sales_team):
    from django.utils import timezone

    from metrics.periods import period_for
    from metrics.registry import Segment, get_kpi

    kpi, period = get_kpi("deal_velocity"), period_for("month", timezone.localdate())
    value = rep.pk if field == "owner" else sales_team.pk
    deals_table_as_if_vacuumed()
    with CaptureQueriesContext(connection) as queries:
        kpi.value(period, Segment(field, str(value)))
    [sql] = [q["sql"] for q in queries]
    plan = plan_of(sql, "nestloop")
    assert f"Index Only Scan using deal_{field}_ids" in plan, plan


def test_a_reps_queue_joins_each_tickets_customer(client, rep, sales_team):
    for _ in range(3):
        contact = ContactFactory(owner=rep, team=sales_team, company=CompanyFactory(owner=rep))
        data = {"subject": "Help", "description": "Please", "contact": contact}
        services.ticket_create(actor=None, data=data)
    client.force_login(rep)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("tickets")).status_code == 200
    [sql] = [q["sql"] for q in queries if q["sql"].startswith('SELECT COUNT("crm_ticket"."id")')]
    plan = plan_of(sql, "hashjoin", "mergejoin")
    # The customer joined to each ticket and its owner and team read there, not a hashed set
    # of the team's every contact and company (whose rows would be aliased U0). Which index
    # each probe reads depends on the table's size and vacuum state, so it is not asserted.
    assert "crm_contact.owner_id = ANY" in plan and "crm_company.team_id =" in plan, plan


@pytest.mark.parametrize("key", ["win_rate", "deals_won_count", "apv", "net_new_revenue"])
def test_a_periods_closed_deals_are_read_from_their_index_alone(key):
    from django.utils import timezone

    from metrics.periods import period_for
    from metrics.registry import get_kpi

    kpi, period = get_kpi(key), period_for("month", timezone.localdate())
    deals_closed_over_three_years()
    with CaptureQueriesContext(connection) as queries:
        kpi.breakdown_parts(period, "owner")
    [sql] = [q["sql"] for q in queries]
    assert "Index Only Scan using deal_closed_when" in plan_of(sql), sql


def deals_closed_over_three_years():
    """A month's closed deals as a small slice of the table, and the table's statistics taken
    from them: otherwise the plan follows whatever statistics the tests before left (an empty
    table's guesses, or another test's rows), and an owner's index read whole can win."""
    from datetime import timedelta

    from django.utils import timezone

    from crm.models import Deal, DealStatus
    from tests.crm.factories import DealFactory, stage_named

    won, company = stage_named("Won"), CompanyFactory()
    now = timezone.now()
    Deal.objects.bulk_create(
        DealFactory.build(
            company=company,
            stage=won,
            status=DealStatus.WON,
            closed_at=now - timedelta(days=days),
            created_at=now - timedelta(days=days + 30),
        )
        for days in range(0, 1095, 3)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_deal")


def deals_table_as_if_vacuumed():
    """The deals' statistics taken, and their pages marked all-visible as a vacuum would (the
    large seed is vacuumed after loading; VACUUM cannot run inside a test's transaction, and
    the change to the catalogue is rolled back with it). Otherwise an index-only read costs
    the same table visits as any index's, and which index wins follows the tests before."""
    deals_closed_over_three_years()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pg_class SET relallvisible = relpages WHERE oid = 'crm_deal'::regclass"
        )


def tickets_table_as_if_vacuumed():
    """Tickets created and resolved over three years, their statistics taken and their pages
    marked all-visible (as deals_table_as_if_vacuumed): otherwise the plain created and
    resolved indexes can win on the rows the tests before left."""
    from datetime import timedelta

    from django.utils import timezone

    from crm.models import Ticket, TicketStatus
    from tests.crm.factories import TicketFactory

    now = timezone.now()
    tickets = TicketFactory.create_batch(365)
    for days, ticket in zip(range(0, 1095, 3), tickets, strict=True):
        ticket.created_at = now - timedelta(days=days + 2)
        ticket.first_response_at = now - timedelta(days=days + 1)
        ticket.resolved_at = now - timedelta(days=days)
        ticket.status = TicketStatus.RESOLVED
    Ticket.objects.bulk_update(
        tickets, ["created_at", "first_response_at", "resolved_at", "status"]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_ticket")
        cursor.execute(
            "UPDATE pg_class SET relallvisible = relpages WHERE oid = 'crm_ticket'::regclass"
        )


def test_the_pipeline_by_stage_chart_reads_the_open_deals_from_their_index_alone():
    from django.utils import timezone

    from metrics.charts import pipeline_by_stage
    from metrics.numbers import Reader
    from metrics.periods import period_for
    from metrics.registry import ALL

    with CaptureQueriesContext(connection) as queries:
        pipeline_by_stage(period_for("month", timezone.localdate()), ALL, Reader())
    [open_now, _closed_since] = [q["sql"] for q in queries]
    assert "Index Only Scan using deal_open_totals" in plan_of(open_now, "indexscan"), open_now


def test_the_csat_parts_read_each_answers_agent_and_team_from_the_index_alone():
    from django.utils import timezone

    from metrics.periods import period_for
    from metrics.registry import get_kpi

    kpi, period = get_kpi("csat"), period_for("month", timezone.localdate())
    with CaptureQueriesContext(connection) as queries:
        kpi.parts_by_owner_and_team(period)
    [sql] = [q["sql"] for q in queries]
    plan = plan_of(sql, "hashjoin", "mergejoin", "indexscan")
    assert "Index Only Scan using ticket_id_assignee_team" in plan, plan


@pytest.mark.parametrize(
    "key, index",
    [
        ("first_response_hours", "ticket_created_times"),
        ("sla_breach_rate", "ticket_created_times"),
        ("resolution_hours", "ticket_resolved_times"),
        ("fcr_rate", "ticket_resolved_times"),
    ],
)
def test_the_support_parts_read_a_periods_tickets_from_an_index_alone(key, index):
    from django.utils import timezone

    from metrics.periods import period_for
    from metrics.registry import get_kpi

    tickets_table_as_if_vacuumed()
    kpi, period = get_kpi(key), period_for("month", timezone.localdate())
    with CaptureQueriesContext(connection) as queries:
        kpi.parts_by_owner_and_team(period)
    [sql] = [q["sql"] for q in queries]
    plan = plan_of(sql)
    assert f"Index Only Scan using {index}" in plan, plan


def test_the_deals_without_an_amount_are_counted_from_their_own_index(admin_user):
    from metrics.quality import CHECKS

    check = CHECKS["deals-without-amount"]
    with CaptureQueriesContext(connection) as queries:
        check.records(admin_user).count()
    [sql] = [q["sql"] for q in queries]
    assert "deal_without_amount" in plan_of(sql), sql


@pytest.mark.parametrize(
    ("sort", "index"),
    [
        ("name", "deal_sort_name"),
        ("-name", "deal_sort_name"),
        ("amount", "deal_sort_amount"),
        ("-amount", "deal_sort_amount"),
        ("status", "deal_sort_status"),
        ("-kind", "deal_sort_kind"),
        ("expected_close_date", "deal_sort_close_a"),
        ("-expected_close_date", "deal_sort_close_d"),
    ],
)
def test_the_deals_list_sorted_by_its_own_columns_reads_an_index(
    client, rep, sales_team, sort, index
):
    """Each direction: a never-empty column is ordered plainly, so its one index is read
    backwards for the other (crm.lists._ordering)."""
    from tests.crm.factories import DealFactory

    DealFactory.create_batch(3, owner=rep, team=sales_team)
    client.force_login(rep)
    plan = plan_of_rows_query(client, reverse("deals"), "crm_deal", {"sort": sort})
    assert index in plan, plan


@pytest.mark.parametrize(
    ("list_name", "table", "factory", "sort", "index"),
    [
        ("leads", "crm_lead", "LeadFactory", "-score", "lead_sort_score"),
        ("leads", "crm_lead", "LeadFactory", "company_name", "lead_sort_company"),
        ("contacts", "crm_contact", "ContactFactory", "-lifecycle_stage", "contact_sort_lifecycle"),
        ("companies", "crm_company", "CompanyFactory", "industry", "company_sort_industry"),
    ],
)
def test_the_other_lists_sorted_by_their_own_columns_read_an_index(
    client, admin_user, list_name, table, factory, sort, index
):
    from tests.crm import factories

    getattr(factories, factory).create_batch(3)
    client.force_login(admin_user)
    plan = plan_of_rows_query(client, reverse(list_name), table, {"sort": sort})
    assert index in plan, plan


@pytest.mark.parametrize(
    "list_name, table, sort",
    [
        ("deals", "crm_deal", "company__name"),
        ("deals", "crm_deal", "-company__name"),
        ("contacts", "crm_contact", "company__name"),
    ],
)
def test_a_list_sorted_by_its_companys_name_walks_the_companies_name_index(
    client, admin_user, list_name, table, sort
):
    # The rows with a company are joined to it by an inner join, so the companies' name index
    # gives their order and the page stops the walk (crm.lists.ValuedFirst).
    from tests.crm.factories import DealFactory

    for _ in range(3):
        DealFactory(company=CompanyFactory(), contact=ContactFactory(company=CompanyFactory()))
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(list_name), {"sort": sort}).status_code == 200
    [sql] = [
        q["sql"]
        for q in queries
        if q["sql"].startswith(f'SELECT "{table}"."id"')
        and 'ORDER BY "crm_company"."name"' in q["sql"]
    ]
    # Each company's rows are put in id order by an incremental sort, one company at a time.
    plan = plan_of(sql, "sort", "hashjoin", "mergejoin")
    assert "company_by_name" in plan and "Nested Loop" in plan, plan
    assert "Left Join" not in plan, plan


@pytest.mark.parametrize("sort", ["customer_since", "-customer_since"])
def test_the_companies_sorted_by_customer_since_read_the_customers_index(client, admin_user, sort):
    from django.utils import timezone

    for _ in range(3):
        CompanyFactory(lifecycle="customer", customer_since=timezone.now())
    CompanyFactory()
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("companies"), {"sort": sort}).status_code == 200
    [sql] = [
        q["sql"]
        for q in queries
        if q["sql"].startswith('SELECT "crm_company"."id"')
        and 'ORDER BY "crm_company"."customer_since"' in q["sql"]
    ]
    # The same day's customers are put in id order by an incremental sort.
    plan = plan_of(sql, "sort")
    assert "company_customers" in plan, plan


@pytest.mark.parametrize(
    "list_name, table, sort, index",
    [
        ("companies", "crm_company", "-lifecycle", "company_sort_lifecycle"),
        ("companies", "crm_company", "-created_at", "company_newest"),
        ("contacts", "crm_contact", "lifecycle_stage", "contact_sort_lifecycle"),
        ("contacts", "crm_contact", "-created_at", "contact_newest"),
    ],
)
def test_an_agents_list_reads_its_pages_ids_from_the_sort_index_alone(
    client, agent, list_name, table, sort, index
):
    """An agent's rule also reaches their tickets' customers (a probe of the tickets per row):
    the page's ids come first, from an index carrying the owner, team and ticket mark, so the
    rows the rule drops are never read from the table."""
    customer = ContactFactory(company=CompanyFactory())
    services.ticket_create(
        actor=None,
        data={
            "subject": "Help",
            "description": "Please",
            "contact": customer,
            "company": customer.company,
            "assignee": agent,
        },
    )
    ContactFactory.create_batch(2, company=CompanyFactory())
    client.force_login(agent)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(list_name), {"sort": sort})
    assert response.status_code == 200
    [sql] = [
        q["sql"]
        for q in queries
        if q["sql"].startswith(f'SELECT "{table}"."id" AS "pk"') and "ORDER BY" in q["sql"]
    ]
    plan = plan_of(sql, "sort", "incremental_sort")
    assert f"Index Only Scan Backward using {index}" in plan or (
        f"Index Only Scan using {index}" in plan
    ), plan
