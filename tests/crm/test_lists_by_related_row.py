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
    TicketFactory,
    default_pipeline,
)
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

DEALS, COMPANIES = reverse("deals"), reverse("companies")
WALKED = "SELECT ARRAY(SELECT"


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


@pytest.mark.skipif(connection.vendor != "postgresql", reason="arrays of a subquery")
@pytest.mark.parametrize(("who", "walks"), [("admin_user", True), ("agent", True), ("rep", False)])
def test_the_related_rows_are_walked_for_a_reader_who_sees_every_owners_rows(
    client, request, who, walks
):
    for owner in owners_sharing_a_first_name():
        company = CompanyFactory(owner=owner)
        TicketFactory(contact=ContactFactory(company=company), company=company)
    client.force_login(request.getfixturevalue(who))

    with CaptureQueriesContext(connection) as queries:
        assert client.get(COMPANIES, {"sort": "owner__first_name"}).status_code == 200

    assert any(q["sql"].startswith(WALKED) for q in queries) is walks


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
