"""Lists sorted by a record's owner, team or stage (crm.lists.ByRelatedRow): ordered by that
column, then by the related row's id and the record's own, the records without one last in
either direction. For a reader who may see the records of every owner (an admin; an agent's
customers) PostgreSQL reads them one related row at a time; the pages must be those of the one
sorted query, which SQLite and every other reader run."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import StageOutcome
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    TicketFactory,
    default_pipeline,
)
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

DEALS, COMPANIES, LEADS = reverse("deals"), reverse("companies"), reverse("leads")
WALKED = "ARRAY(SELECT"


def owners_sharing_a_first_name():
    """Three owners, two of them called the same, so their records must stay apart by owner."""
    return [UserFactory(first_name=name) for name in ("Zoe", "Ada", "Ada")]


def pages(client, url, sort, count):
    shown = []
    for number in range(1, count + 1):
        response = client.get(url, {"sort": sort, "page": number})
        assert response.status_code == 200
        shown.append([row["record"].pk for row in response.context["rows"]])
    return shown


def in_pages(ids, size=50):
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def expected_order(records, related, sort_key, descending):
    """The records with a related row by (its sort key, its id, theirs), then the others by id,
    in the direction asked."""
    valued = sorted(
        (r for r in records if related(r) is not None),
        key=lambda r: (sort_key(related(r)), related(r).pk, r.pk),
        reverse=descending,
    )
    empty = sorted((r for r in records if related(r) is None), key=lambda r: r.pk)
    return [r.pk for r in valued] + [r.pk for r in (empty[::-1] if descending else empty)]


@pytest.mark.parametrize("direction", ["", "-"])
def test_an_admins_deals_sorted_by_owner_page_through_owner_by_owner(client, admin_user, direction):
    owners = owners_sharing_a_first_name()
    deals = [DealFactory(owner=owners[n % 3]) for n in range(90)]
    deals += [DealFactory(owner=None) for _ in range(25)]
    client.force_login(admin_user)

    shown = pages(client, DEALS, f"{direction}owner__first_name", 3)

    order = expected_order(deals, lambda d: d.owner, lambda u: u.first_name, bool(direction))
    assert shown == in_pages(order)


@pytest.mark.parametrize("direction", ["", "-"])
def test_an_admins_deals_sorted_by_stage_page_through_stage_by_stage(client, admin_user, direction):
    open_stages = default_pipeline().stages.filter(outcome=StageOutcome.OPEN)
    stages = list(open_stages.order_by("-order"))  # created last to first
    deals = [DealFactory(stage=stages[n % len(stages)]) for n in range(120)]
    client.force_login(admin_user)

    shown = pages(client, DEALS, f"{direction}stage__order", 3)

    order = expected_order(deals, lambda d: d.stage, lambda s: s.order, bool(direction))
    assert shown == in_pages(order)


@pytest.mark.parametrize("direction", ["", "-"])
def test_an_agents_companies_sorted_by_team_are_their_customers_alone(client, agent, direction):
    teams = [TeamFactory(name=name) for name in ("West", "East")]
    customers = []
    for number in range(80):
        company = CompanyFactory(team=teams[number % 2] if number % 5 else None)
        if number % 3:  # a ticket nobody has taken: in the support queue, so the agent's
            TicketFactory(contact=ContactFactory(company=company), company=company)
            customers.append(company)
    client.force_login(agent)

    shown = pages(client, COMPANIES, f"{direction}team__name", 3)

    order = expected_order(customers, lambda c: c.team, lambda t: t.name, bool(direction))
    assert shown == in_pages(order, 25)[:3]
    assert sum(map(len, shown)) == len(customers) == 53


def reps_world(sales_team, teammate, factory=DealFactory):
    """Records a rep or manager of `sales_team` sees and does not: a teammate's in another
    team (theirs: one of their people), an outsider's in their team (theirs) and in another
    (not), two outsiders of the same first name, and records with no owner in each team."""
    other_team = TeamFactory(name="Other")
    outsiders = owners_sharing_a_first_name()
    deals = []
    for number in range(150):
        owner = [teammate, *outsiders, None][number % 5]
        team = sales_team if number % 3 else other_team
        deals.append(factory(owner=owner, team=team))
    return deals


def assert_pages_are_theirs(
    shown, records, teammate, sales_team, related, sort_key, direction, per_page=50
):
    """The pages shown are exactly the reader's records (the teammate's, or their team's) in
    the hand-sorted order, fewer than all of them."""
    theirs = [r for r in records if r.owner == teammate or r.team == sales_team]
    order = expected_order(theirs, related, sort_key, bool(direction))
    assert shown == in_pages(order, per_page)
    assert sum(map(len, shown)) == len(theirs) < len(records)


@pytest.mark.parametrize("direction", ["", "-"])
@pytest.mark.parametrize("who", ["rep", "manager"])
def test_a_reps_or_managers_deals_sorted_by_owner_are_theirs_owner_by_owner(
    client, request, sales_team, teammate, who, direction
):
    deals = reps_world(sales_team, teammate)
    client.force_login(request.getfixturevalue(who))

    shown = pages(client, DEALS, f"{direction}owner__first_name", 3)

    owner = (lambda d: d.owner, lambda u: u.first_name)
    assert_pages_are_theirs(shown, deals, teammate, sales_team, *owner, direction)


@pytest.mark.parametrize("direction", ["", "-"])
@pytest.mark.parametrize("who", ["rep", "manager"])
def test_a_reps_or_managers_deals_sorted_by_stage_are_theirs_stage_by_stage(
    client, request, sales_team, teammate, who, direction
):
    deals = reps_world(sales_team, teammate)
    open_stages = list(default_pipeline().stages.filter(outcome=StageOutcome.OPEN))
    for number, deal in enumerate(deals):
        deal.stage = open_stages[number % len(open_stages)]
        deal.save(update_fields=["stage"])
    client.force_login(request.getfixturevalue(who))

    shown = pages(client, DEALS, f"{direction}stage__order", 3)

    stage = (lambda d: d.stage, lambda s: s.order)
    assert_pages_are_theirs(shown, deals, teammate, sales_team, *stage, direction)


@pytest.mark.parametrize("direction", ["", "-"])
@pytest.mark.parametrize("who", ["rep", "manager"])
def test_a_reps_or_managers_leads_sorted_by_team_are_theirs_team_by_team(
    client, request, sales_team, teammate, who, direction
):
    leads = reps_world(sales_team, teammate, LeadFactory)
    leads += [LeadFactory(owner=teammate, team=None) for _ in range(4)]
    leads += [LeadFactory(owner=None, team=None) for _ in range(4)]
    client.force_login(request.getfixturevalue(who))

    shown = pages(client, LEADS, f"{direction}team__name", 5)  # 25 a page

    team = (lambda r: r.team, lambda t: t.name)
    assert_pages_are_theirs(shown, leads, teammate, sales_team, *team, direction, per_page=25)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="arrays of a subquery")
@pytest.mark.parametrize(
    ("who", "url", "sort", "walks"),
    [
        ("admin_user", COMPANIES, "owner__first_name", True),
        ("agent", COMPANIES, "owner__first_name", True),
        ("rep", COMPANIES, "owner__first_name", True),
        ("manager", COMPANIES, "-owner__first_name", True),
        ("rep", COMPANIES, "team__name", True),
        ("admin_user", DEALS, "stage__order", True),
        ("rep", DEALS, "stage__order", True),
        ("manager", DEALS, "-stage__order", True),
        # Sorted by a column of another table that is not a small one: the one sorted query.
        ("rep", DEALS, "company__name", False),
    ],
)
def test_which_readers_lists_are_walked_one_related_row_at_a_time(
    client, request, who, url, sort, walks, sales_team
):
    for owner in owners_sharing_a_first_name():
        company = CompanyFactory(owner=owner, team=sales_team)
        TicketFactory(contact=ContactFactory(company=company), company=company)
        DealFactory(owner=owner, team=sales_team)
    client.force_login(request.getfixturevalue(who))

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, {"sort": sort}).status_code == 200

    assert any(WALKED in q["sql"] for q in queries) is walks


@pytest.mark.parametrize("rows", [3, 60])
def test_the_walk_reads_a_constant_number_of_queries(
    client, admin_user, rows, django_assert_max_num_queries
):
    owners = owners_sharing_a_first_name()
    for number in range(rows):
        DealFactory(owner=owners[number % 3] if number % 4 else None)
    client.force_login(admin_user)

    # One query more than an unsorted list's for the page's rows read by id, and one for the
    # rows with no owner when the page reaches them.
    with django_assert_max_num_queries(17):
        response = client.get(DEALS, {"sort": "owner__first_name"})

    assert response.status_code == 200


@pytest.mark.parametrize("sort", ["owner__first_name", "-stage__order"])
@pytest.mark.parametrize("who", ["admin_user", "rep"])
def test_an_empty_list_sorted_by_a_related_row_answers(client, request, who, sort):
    # No deal matches: the page of none once read as an array of no rows, NULL (a 500).
    DealFactory(name="Something else")
    client.force_login(request.getfixturevalue(who))

    response = client.get(DEALS, {"sort": sort, "q": "nothing matches this"})

    assert response.status_code == 200
    assert response.context["rows"] == []
