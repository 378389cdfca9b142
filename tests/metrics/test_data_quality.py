"""The data-quality page (issue 17): counts on a hand-built dataset, who may read them, the
records behind each count, the team scores and what the page costs."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.models import DealStatus, LeadSource, Lifecycle, TicketStatus
from metrics import quality
from metrics.registry import REGISTRY, all_kpis
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    SubscriptionFactory,
    TicketFactory,
    stage_named,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("data-quality")
CARD = reverse("data-quality-card")

# What the Sales manager sees of the dataset below; the admin also sees Enterprise's rows.
MANAGER_COUNTS = {
    "deals-without-amount": 1,
    "deals-without-close-date": 1,
    "won-deals-without-company": 1,
    "leads-without-source": 1,
    "tickets-closed-unanswered": 1,
    "customers-without-subscription": 1,
    "duplicate-leads": 2,
    "duplicate-contacts": 2,
    "duplicate-companies": 2,
    "open-deals-deactivated-owner": 1,
    "open-leads-deactivated-owner": 1,
    "open-tickets-deactivated-assignee": 0,
}
ADMIN_COUNTS = {
    **MANAGER_COUNTS,
    "deals-without-amount": 2,
    "deals-without-close-date": 2,
    "leads-without-source": 2,
    "duplicate-companies": 3,
}
CLOSE = date(2027, 1, 31)


def closed(status: str) -> dict:
    stage = stage_named("Won" if status == DealStatus.WON else "Lost")
    return {"status": status, "stage": stage, "closed_at": timezone.now()}


@pytest.fixture
def world(sales_team, other_team, rep, outsider):
    """Sales: 17 records, 13 of them with a problem. Enterprise: 3 records, all with one."""
    leaver = UserFactory(username="leo", is_active=False)
    sales_team.members.add(leaver)
    ours = {"owner": rep, "team": sales_team}
    theirs = {"owner": outsider, "team": other_team}
    paying = CompanyFactory(
        name="Paying", lifecycle=Lifecycle.CUSTOMER, customer_since=timezone.now(), **ours
    )
    SubscriptionFactory(company=paying)
    world = {
        "no_amount": DealFactory(name="Zero deal", amount=0, company=None, **ours),
        "clean_deal": DealFactory(expected_close_date=CLOSE, company=None, **ours),
        "won_alone": DealFactory(
            company=None, expected_close_date=CLOSE, **closed(DealStatus.WON), **ours
        ),
        "lost_zero": DealFactory(amount=0, company=None, **closed(DealStatus.LOST), **ours),
        "left_deal": DealFactory(
            expected_close_date=CLOSE, company=None, owner=leaver, team=sales_team
        ),
        "their_deal": DealFactory(name="Their zero deal", amount=0, company=None, **theirs),
        "no_source": LeadFactory(source=LeadSource.OTHER, **ours),
        "dupe_lead": LeadFactory(email="Same@prospect.example", **ours),
        "dupe_lead_too": LeadFactory(email="same@prospect.example", **ours),
        "left_lead": LeadFactory(owner=leaver, team=sales_team),
        "their_lead": LeadFactory(source=LeadSource.OTHER, **theirs),
        "unanswered": TicketFactory(
            status=TicketStatus.RESOLVED,
            created_at=timezone.now() - timedelta(hours=2),
            resolved_at=timezone.now(),
            assignee=rep,
            team=sales_team,
        ),
        "answered": TicketFactory(
            status=TicketStatus.CLOSED,
            first_response_at=timezone.now(),
            created_at=timezone.now() - timedelta(hours=2),
            resolved_at=timezone.now(),
            assignee=rep,
            team=sales_team,
        ),
        "unpaid": CompanyFactory(
            name="Unpaid", lifecycle=Lifecycle.CUSTOMER, customer_since=timezone.now(), **ours
        ),
        "paying": paying,
        "twin": CompanyFactory(name="Twin", domain="twin.example", **ours),
        "twin_too": CompanyFactory(name="Twin Ltd", domain="twin.example", **ours),
        "their_twin": CompanyFactory(name="Twin Inc", domain="twin.example", **theirs),
        "dupe_contact": ContactFactory(email="pat@paying.example", company=paying, **ours),
        "dupe_contact_too": ContactFactory(email="PAT@paying.example", company=paying, **ours),
    }
    return world


# --- the counts ---------------------------------------------------------------------------


def test_the_counts_of_a_hand_built_dataset_as_a_manager(world, manager):
    assert quality.counts(manager) == MANAGER_COUNTS


def test_an_admin_counts_every_team(world, admin_user):
    assert quality.counts(admin_user) == ADMIN_COUNTS


def test_the_page_shows_each_count_and_the_kpis_it_affects(client, world, manager):
    client.force_login(manager)

    response = client.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    for key, count in MANAGER_COUNTS.items():
        row = html.split(f'data-check="{key}"')[1].split("</tr>")[0]
        assert f">{count}<" in row, key
    row = html.split('data-check="deals-without-amount"')[1].split("</tr>")[0]
    assert reverse("kpi", args=["pipeline_value"]) in row
    assert str(REGISTRY["pipeline_value"].label) in row


def test_every_check_names_kpis_of_the_registry():
    all_kpis()
    for check in quality.CHECKS.values():
        assert check.kpi_keys
        assert set(check.kpi_keys) <= set(REGISTRY), check.key


def test_fixing_a_record_takes_it_off_the_count(world, manager):
    deal = world["no_amount"]
    deal.amount = Decimal("250.00")
    deal.save()
    cache.clear()

    assert quality.counts(manager)["deals-without-amount"] == 0


# --- the records to fix ---------------------------------------------------------------------


def test_a_check_lists_its_records_with_links_to_them(client, world, manager):
    client.force_login(manager)

    response = client.get(PAGE, {"check": "deals-without-amount"})

    html = response.content.decode()
    records = html.split('data-testid="quality-records"')[1]
    assert reverse("deal-detail", args=[world["no_amount"].pk]) in records
    assert "Zero deal" in records
    assert "Their zero deal" not in records
    assert reverse("deal-detail", args=[world["lost_zero"].pk]) not in records


def test_a_duplicate_check_links_to_the_merge_page(client, world, manager):
    client.force_login(manager)

    response = client.get(PAGE, {"check": "duplicate-companies"})

    records = response.content.decode().split('data-testid="quality-records"')[1]
    assert reverse("company-duplicates") in records
    assert reverse("company-detail", args=[world["twin"].pk]) in records
    assert reverse("company-detail", args=[world["their_twin"].pk]) not in records


def test_the_records_are_paginated(client, sales_team, manager, rep):
    DealFactory.create_batch(30, amount=0, company=None, owner=rep, team=sales_team)
    client.force_login(manager)

    first = client.get(PAGE, {"check": "deals-without-amount"}).content.decode()
    second = client.get(PAGE, {"check": "deals-without-amount", "page": "2"}).content.decode()

    assert first.count("data-record=") == 25
    assert second.count("data-record=") == 5


@pytest.mark.parametrize("page", ["x", "-1", "99999", "1e9", "", "2" * 400])
def test_a_hostile_page_number_still_answers(client, world, manager, page):
    client.force_login(manager)

    response = client.get(PAGE, {"check": "duplicate-leads", "page": page})

    assert response.status_code == 200
    assert response.content.decode().count("data-record=") == 2


@pytest.mark.parametrize("check", ["nope", "<script>", "deals-without-amount'--", "CHECKS"])
def test_an_unknown_check_is_not_found(client, world, manager, check):
    client.force_login(manager)

    assert client.get(PAGE, {"check": check}).status_code == 404


# --- who may read it ------------------------------------------------------------------------


@pytest.mark.parametrize("url", [PAGE, CARD])
def test_reps_and_agents_are_refused(client, world, rep, agent, url):
    for user in (rep, agent):
        client.force_login(user)
        assert client.get(url).status_code == 403


def test_the_page_takes_no_writes(client, world, manager):
    client.force_login(manager)

    assert client.post(PAGE, {"check": "duplicate-leads"}).status_code == 405
    assert client.post(CARD).status_code == 405


def test_a_manager_never_sees_another_teams_records_or_score(client, world, manager):
    client.force_login(manager)

    page = client.get(PAGE, {"check": "leads-without-source"}).content.decode()
    card = client.get(CARD).content.decode()

    assert reverse("lead-detail", args=[world["their_lead"].pk]) not in page
    assert "Enterprise" not in page
    assert "Enterprise" not in card


def test_the_nav_links_the_page_for_managers_only(client, world, manager, rep):
    client.force_login(manager)
    assert PAGE in client.get(reverse("dashboards")).content.decode()
    client.force_login(rep)
    assert PAGE not in client.get(reverse("dashboards")).content.decode()


# --- team scores ----------------------------------------------------------------------------


def test_a_team_score_is_the_share_of_its_records_without_a_problem(world, admin_user):
    scores = {score.name: score for score in quality.team_scores(admin_user)}

    assert (scores["Sales"].records, scores["Sales"].flawed) == (17, 13)
    assert scores["Sales"].score == round(100 * 4 / 17)
    assert (scores["Enterprise"].records, scores["Enterprise"].flawed) == (3, 3)
    assert scores["Enterprise"].score == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel workers: PostgreSQL")
def test_each_tally_runs_in_one_process_with_memory_to_hash_its_sets(world, admin_user):
    # Parallel workers would each build the checks' sets (every repeated email) again.
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        quality.team_scores(admin_user)
    statements = [query["sql"] for query in queries.captured_queries]
    grouped = [i for i, sql in enumerate(statements) if 'AS "team_id"' in sql]
    assert len(grouped) == len({check.model for check in quality.CHECKS.values()})
    for index in grouped:
        # And memory to hash those sets: with 4 MB a lead's repeated emails were grouped
        # again for each lead.
        assert "max_parallel_workers_per_gather" in statements[index - 1]
        assert "work_mem" in statements[index - 1]


@pytest.mark.parametrize("who", ["manager", "admin_user"])
def test_counts_and_scores_read_each_kind_of_record_once(client, world, who, request):
    # One tally per kind of record gives its checks' counts and its part of the team scores:
    # counting each check apart and the teams apart read 600k leads four times.
    client.force_login(request.getfixturevalue(who))
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PAGE).status_code == 200
    counting = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]

    assert len(counting) == len(quality.checked_models())
    for model in quality.checked_models():
        assert len([sql for sql in counting if f'FROM "{model._meta.db_table}"' in sql]) == 1


def test_a_team_without_records_has_no_score(sales_team, admin_user):
    assert [score.score for score in quality.team_scores(admin_user)] == [None]


def test_the_executive_dashboard_shows_the_card_to_managers(client, world, manager, rep):
    client.force_login(manager)
    dashboard = client.get(reverse("dashboard", args=["executive"])).content.decode()
    card = client.get(CARD).content.decode()

    assert CARD in dashboard
    assert f'data-team="{world["no_amount"].team_id}"' in card
    assert f">{round(100 * 4 / 17)} / 100<" in card
    assert PAGE in card
    client.force_login(rep)
    assert CARD not in client.get(reverse("dashboard", args=["executive"])).content.decode()


# --- cost -----------------------------------------------------------------------------------


def _page_queries(client) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PAGE, {"check": "deals-without-amount"}).status_code == 200
    return len(queries)


def test_the_page_costs_the_same_queries_on_3_or_30_problem_rows(client, sales_team, manager, rep):
    client.force_login(manager)
    owned = {"owner": rep, "team": sales_team}
    DealFactory.create_batch(3, amount=0, company=None, **owned)
    LeadFactory.create_batch(3, source=LeadSource.OTHER, **owned)
    few = _page_queries(client)

    DealFactory.create_batch(27, amount=0, company=None, **owned)
    LeadFactory.create_batch(27, source=LeadSource.OTHER, **owned)
    CompanyFactory.create_batch(27, domain="same.example", **owned)
    many = _page_queries(client)

    assert few == many


def test_a_second_read_comes_from_the_cache(client, world, manager):
    client.force_login(manager)
    client.get(PAGE)

    with CaptureQueriesContext(connection) as queries:
        client.get(PAGE)

    counting = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counting == []


def test_a_change_the_checks_do_not_read_keeps_the_counts_and_one_they_read_recounts(
    client, world, manager, rep, sales_team
):
    # A drag between open stages and a call logged change nothing a check reads: the page's
    # counts and scores stay cached. A new lead with no source is counted at once.
    from crm import services
    from crm.models import ActivityKind, Lead
    from tests.crm.factories import stage_named

    client.force_login(manager)
    client.get(PAGE)
    deal = world["clean_deal"]
    deal.refresh_from_db()
    moved_to = "Qualification" if deal.stage.name != "Qualification" else "Proposal"
    services.deal_move_stage(deal=deal, stage=stage_named(moved_to), actor=rep)
    services.activity_log(actor=rep, kind=ActivityKind.CALL, deal=deal)

    with CaptureQueriesContext(connection) as queries:
        client.get(PAGE)
    assert [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()] == []

    new = {"name": "New", "source": LeadSource.OTHER, "owner": rep, "team": sales_team}
    services.record_create(Lead, actor=rep, data=new)
    assert quality.counts(manager)["leads-without-source"] == 2
    html = client.get(PAGE).content.decode()
    row = html.split('data-check="leads-without-source"')[1].split("</tr>")[0]
    assert ">2<" in row


def _tables_counted(client) -> set[str]:
    """The record tables whose rows the page view counts (not read from the cache)."""
    tables = ("crm_deal", "crm_lead", "crm_contact", "crm_company", "crm_ticket")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PAGE).status_code == 200
    counting = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    return {table for table in tables for sql in counting if f'FROM "{table}"' in sql}


def test_a_change_recounts_the_checks_of_its_own_kind_of_record_alone(
    client, world, manager, rep, sales_team
):
    # A new deal without an amount: the deal checks and the teams' deals are counted again,
    # the leads' duplicate emails and the companies' subscriptions are not.
    from crm import services
    from crm.models import Subscription

    client.force_login(manager)
    client.get(PAGE)
    before = {score.name: score for score in quality.team_scores(manager)}["Sales"]
    services.deal_create(actor=rep, data={"name": "Zero", "amount": 0, "owner": rep})

    assert _tables_counted(client) == {"crm_deal"}
    assert quality.counts(manager)["deals-without-amount"] == 2
    after = {score.name: score for score in quality.team_scores(manager)}["Sales"]
    assert (after.records, after.flawed) == (before.records + 1, before.flawed + 1)

    # A subscription started for the unpaid customer: the companies are counted again.
    services.subscription_start(
        company=world["unpaid"],
        actor=rep,
        plan_name="Pro",
        monthly_value=100,
        start_date=timezone.localdate(),
    )
    assert Subscription.objects.filter(company=world["unpaid"]).exists()
    assert _tables_counted(client) == {"crm_company"}
    assert quality.counts(manager)["customers-without-subscription"] == 0


def test_the_checks_are_cached_under_every_kind_of_record_they_read(admin_user):
    from metrics.sources import WRITTEN_WITH, _kinds_by_table

    by_table = _kinds_by_table()
    UserFactory(is_active=False)  # the deactivated-owner checks name the people who left
    for check in quality.CHECKS.values():
        sql = str(check.records(admin_user).query)
        read = {
            WRITTEN_WITH.get(kind, kind) for table, kind in by_table.items() if f'"{table}"' in sql
        }
        cached_under = quality.kinds_read(check.model)
        assert read <= cached_under, (check.key, read - cached_under)


@pytest.mark.parametrize(
    ("language", "title", "check"),
    [
        ("pt-br", "Qualidade dos dados", "Leads sem origem"),
        ("es", "Calidad de los datos", "Leads sin origen"),
        ("it", "Qualità dei dati", "Lead senza fonte"),
    ],
)
def test_the_page_reads_in_the_readers_language(client, world, manager, language, title, check):
    """Needs the catalogues with var/i18n/quality.json merged."""
    client.force_login(manager)

    html = client.get(PAGE, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert title in html
    assert check in html


@pytest.mark.parametrize(
    ("check", "shown", "hidden"),
    [
        ("deals-without-amount", "no_amount", "clean_deal"),
        ("leads-without-source", "no_source", "dupe_lead"),
    ],
)
def test_the_list_link_filters_the_record_list_to_the_same_records(
    client, world, manager, check, shown, hidden
):
    client.force_login(manager)
    page = client.get(PAGE, {"check": check}).content.decode()
    link = page.split('data-testid="quality-list-link"')[0].rsplit('href="', 1)[1].split('"')[0]

    listed = client.get(link.replace("&amp;", "&")).content.decode()

    record_url = quality.CHECKS[check].record_url
    assert f'href="{record_url(world[shown])}"' in listed
    assert f'href="{record_url(world[hidden])}"' not in listed


@pytest.mark.parametrize("who", ["manager", "admin_user"])
def test_a_duplicate_count_is_the_number_of_records_its_list_shows(
    world, who, request, rep, sales_team
):
    """The duplicate counts add up the sizes of the groups of a key (one grouping): the same
    number as the rows whose key another row holds, for a group of three in mixed case, a pair
    split across teams, and rows alone with their key."""
    user = request.getfixturevalue(who)
    for email in ("sam@x.example", "SAM@x.example", "Sam@X.example", "alone@x.example"):
        LeadFactory(email=email, owner=rep, team=sales_team)
    for key in ("duplicate-leads", "duplicate-contacts", "duplicate-companies"):
        check = quality.CHECKS[key]
        assert check.count(user) == check.records(user).count() > 0, key


@pytest.mark.parametrize("who", ["manager", "admin_user"])
def test_every_count_on_the_page_is_the_number_of_records_its_list_holds(
    world, who, request, rep, sales_team
):
    # The page's counts come from one tally per kind of record; each check's list is its own
    # query: one number in both, for every check, with someone deactivated and a mixed-case
    # group of duplicate emails.
    user = request.getfixturevalue(who)
    for email in ("sam@x.example", "SAM@x.example", "Sam@X.example", "alone@x.example"):
        LeadFactory(email=email, owner=rep, team=sales_team)
    left = UserFactory(is_active=False)
    LeadFactory(owner=left, team=sales_team)
    cache.clear()

    counted = quality.counts(user)

    listed = {key: check.records(user).count() for key, check in quality.CHECKS.items()}
    assert counted == listed
    assert counted["open-leads-deactivated-owner"] > 0 and counted["duplicate-leads"] > 0


def test_a_checks_list_reads_its_count_and_a_page_seen_before_from_the_cache(
    client, world, manager
):
    client.force_login(manager)
    first = client.get(PAGE, {"check": "duplicate-companies"})

    with CaptureQueriesContext(connection) as queries:
        again = client.get(PAGE, {"check": "duplicate-companies"})

    assert again.status_code == 200
    assert again.context["page_obj"].paginator.count == MANAGER_COUNTS["duplicate-companies"]
    assert [item["record"] for item in again.context["items"]] == [
        item["record"] for item in first.context["items"]
    ]
    assert {item["record"].name for item in again.context["items"]} == {"Twin", "Twin Ltd"}
    searched = [q["sql"] for q in queries.captured_queries if "HAVING" in q["sql"]]
    assert not searched and not [q for q in queries.captured_queries if '"__count"' in q["sql"]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
@pytest.mark.parametrize("key", ["duplicate-leads", "duplicate-contacts", "duplicate-companies"])
def test_a_page_of_duplicates_looks_each_row_up_in_the_set_of_repeated_keys(world, admin_user, key):
    # Not a join of every row to the set: the newest rows are read until a page is found, each
    # looked up in the set built once (a page of 25 of 600k leads: 1.3 s joined).
    rows = quality.CHECKS[key].records(admin_user).order_by("-created_at", "-pk")[:25]
    plan = rows.values("pk").explain()

    assert "Join" not in plan and "SubPlan" in plan


@pytest.mark.parametrize(
    ("key", "table"),
    [
        ("open-deals-deactivated-owner", "crm_deal"),
        ("open-leads-deactivated-owner", "crm_lead"),
        ("open-tickets-deactivated-assignee", "crm_ticket"),
    ],
)
def test_with_nobody_deactivated_a_page_of_their_records_reads_none(admin_user, key, table):
    # The people who left are listed first: with none, no record is read (a page of them read
    # every open lead newest first, looking for one).
    rows = quality.CHECKS[key].records(admin_user).order_by("-created_at", "-pk")[:25]
    with CaptureQueriesContext(connection) as queries:
        assert list(rows) == []
    assert not [q for q in queries.captured_queries if f'"{table}"' in q["sql"]]


@pytest.mark.parametrize(("language", "shown"), [("en", "27,130"), ("pt-br", "27.130")])
def test_a_count_is_written_with_the_readers_thousands_separator(
    client, monkeypatch, manager, language, shown
):
    counted = dict.fromkeys(quality.CHECKS, 0) | {"duplicate-companies": 27130}
    monkeypatch.setattr(quality, "counts", lambda user, reader=None: counted)
    client.force_login(manager)

    html = client.get(PAGE, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    row = html.split('data-check="duplicate-companies"')[1].split("</tr>")[0]
    assert f">{shown}<" in row


def test_a_check_that_flags_none_of_the_readers_records_lists_them_without_a_query(
    client, world, manager
):
    # Looking for a first page of none read every record newest first (0.75 s for the closed
    # tickets never answered on the large seed, where there were none).
    assert MANAGER_COUNTS["open-tickets-deactivated-assignee"] == 0
    client.force_login(manager)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(PAGE, {"check": "open-tickets-deactivated-assignee"})

    assert response.status_code == 200
    assert response.context["items"] == []
    assert response.context["page_obj"].paginator.count == 0
    paged = [q["sql"] for q in queries.captured_queries if "LIMIT" in q["sql"]]
    assert not [sql for sql in paged if '"crm_ticket"' in sql]
