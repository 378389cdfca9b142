"""The list pages of issue 19 run as many queries for 30 rows as for 3, for each role: the ticket
queue (also filtered by a company), My tasks, contacts, companies and deals sorted by a custom
field. Timings are measured in tests/bench/test_list_pages_bench.py, not here."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse, set_script_prefix
from django.utils import timezone

from crm import services
from crm.lists import pk_urls
from crm.models import FieldType, RecordType
from crm.views.tasks import day_bounds
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db

FEW, MANY = 3, 30


def count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(queries)


def same_count_for_few_and_many(client, user, url, add, params=None) -> int:
    """Queries of `url` with FEW rows made by `add(n)`, checked equal with MANY rows."""
    add(FEW)
    client.force_login(user)
    few = count_queries(client, url, params)
    add(MANY - FEW)
    many = count_queries(client, url, params)
    assert many == few, f"{url}: {few} queries for {FEW} rows, {many} for {MANY}"
    return many


@pytest.fixture
def acme(db):
    return CompanyFactory(name="Acme")


def add_tickets(company, **data):
    def add(n):
        for index in range(n):
            contact = ContactFactory(company=company)
            services.ticket_create(
                actor=None,
                data={
                    "subject": f"Help {index}",
                    "description": "Please",
                    "contact": contact,
                    "company": company,
                    "priority": ["low", "normal", "high", "urgent"][index % 4],
                    **data,
                },
            )

    return add


@pytest.mark.parametrize("persona", ["agent", "manager", "admin_user"])
def test_the_ticket_queue(client, request, persona, acme):
    user = request.getfixturevalue(persona)
    queries = same_count_for_few_and_many(client, user, reverse("tickets"), add_tickets(acme))
    assert queries <= 14


def test_the_ticket_queue_filtered_by_a_company(client, agent, acme):
    params = {"company": acme.pk}
    queries = same_count_for_few_and_many(
        client, agent, reverse("tickets"), add_tickets(acme), params
    )
    assert queries <= 15


def test_my_tasks(client, rep, sales_team):
    start, end = day_bounds()
    deal = DealFactory(owner=rep, team=sales_team)

    def add(n):
        for index in range(n):
            parent = TaskFactory(assignee=rep, due_at=start - timedelta(hours=index + 1), deal=deal)
            TaskFactory(assignee=rep, due_at=start + timedelta(minutes=index), parent=parent)
            TaskFactory(assignee=rep, due_at=end + timedelta(days=index))
            done = TaskFactory(assignee=rep)
            services.task_complete(task=done, actor=rep)

    queries = same_count_for_few_and_many(client, rep, reverse("tasks"), add)
    assert queries <= 11


def test_a_later_page_of_my_tasks(client, rep, sales_team):
    start, _end = day_bounds()

    def add(n):
        for index in range(n * 3):
            TaskFactory(assignee=rep, due_at=start - timedelta(hours=index + 1))

    params = {"overdue_page": "2"}
    same_count_for_few_and_many(client, rep, reverse("tasks"), add, params)


@pytest.mark.parametrize("persona", ["rep", "manager", "admin_user"])
def test_contacts(client, request, persona, sales_team):
    user = request.getfixturevalue(persona)
    rep = request.getfixturevalue("rep")

    def add(n):
        for _index in range(n):
            ContactFactory(owner=rep, team=sales_team)

    same_count_for_few_and_many(client, user, reverse("contacts"), add)


@pytest.mark.parametrize("persona", ["rep", "manager", "admin_user"])
def test_companies(client, request, persona, sales_team):
    user = request.getfixturevalue(persona)
    rep = request.getfixturevalue("rep")

    def add(n):
        for _index in range(n):
            CompanyFactory(owner=rep, team=sales_team)

    same_count_for_few_and_many(client, user, reverse("companies"), add)


@pytest.mark.parametrize("persona", ["rep", "manager", "admin_user"])
@pytest.mark.parametrize("sort", ["custom__region", "-custom__region"])
def test_deals_sorted_by_a_custom_field(client, request, persona, sort, sales_team):
    user = request.getfixturevalue(persona)
    rep = request.getfixturevalue("rep")
    CustomFieldFactory(
        record_type=RecordType.DEAL,
        key="region",
        field_type=FieldType.SELECT,
        choices=["APAC", "EMEA"],
    )
    regions = ["APAC", "EMEA", None]

    def add(n):
        for index in range(n):
            region = regions[index % 3]
            DealFactory(
                owner=rep,
                team=sales_team,
                custom={"region": region} if region else {},
                created_at=timezone.now() - timedelta(days=index),
            )

    same_count_for_few_and_many(client, user, reverse("deals"), add, {"sort": sort})


@pytest.mark.parametrize(
    "url_name", ["task-detail", "task-complete", "deal-detail", "ticket-detail"]
)
def test_pk_urls_are_what_reverse_gives(url_name, settings):
    """The rows' URLs, made from one reverse per batch, equal a reverse per row, under a
    script prefix too."""
    for prefix in ("/", "/crm/"):
        set_script_prefix(prefix)
        try:
            make = pk_urls(url_name)
            for pk in (1, 7, 987654321987654):
                assert make(pk) == reverse(url_name, args=[pk])
        finally:
            set_script_prefix("/")
