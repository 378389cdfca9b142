"""The "has had a ticket" mark of companies and contacts is kept by the database (crm 0051)
whatever writes the ticket, and never cleared; a support agent's companies and contacts are
still exactly the customers of the tickets they see, in every order of the lists."""

import pytest
from django.urls import reverse

from crm import services
from crm.access import visible
from crm.models import Company, Contact, Lifecycle, Ticket
from tests.crm.factories import CompanyFactory, ContactFactory
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = {"company": CompanyFactory, "contact": ContactFactory}


def marked(customer) -> bool:
    return type(customer).objects.filter(pk=customer.pk, had_ticket=True).exists()


def customers(field, count):
    extra = {"company": None} if field == "contact" else {}
    return CUSTOMERS[field].create_batch(count, **extra)


@pytest.mark.parametrize("field", CUSTOMERS)
def test_a_ticket_created_through_the_service_marks_its_customer(field):
    customer, other = customers(field, 2)
    services.ticket_create(actor=None, data={"subject": "Help", field: customer})
    assert marked(customer)
    assert not marked(other)


@pytest.mark.parametrize("field", CUSTOMERS)
def test_tickets_inserted_in_bulk_mark_each_of_their_customers(field):
    three = customers(field, 3)
    Ticket.objects.bulk_create(
        [Ticket(subject=f"Help {n}", **{field: customer}) for n, customer in enumerate(three[:2])]
    )
    assert [marked(customer) for customer in three] == [True, True, False]


@pytest.mark.parametrize("field", CUSTOMERS)
def test_a_ticket_moved_to_another_customer_marks_it_and_the_first_keeps_its_mark(field):
    first, second = customers(field, 2)
    ticket = services.ticket_create(actor=None, data={"subject": "Help", field: first})
    Ticket.objects.filter(pk=ticket.pk).update(**{field: second})
    assert marked(first) and marked(second)


@pytest.mark.parametrize("field", CUSTOMERS)
def test_a_save_carrying_a_stale_mark_does_not_clear_it(field):
    (customer,) = customers(field, 1)  # in memory: had_ticket False
    services.ticket_create(actor=None, data={"subject": "Help", field: customer})
    customer.save()  # every field, the mark's stale False too
    type(customer).objects.filter(pk=customer.pk).update(had_ticket=False)
    assert marked(customer)


def test_the_mark_is_not_a_field_of_the_forms(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("company-create"), {"name": "Acme", "lifecycle": "prospect", "had_ticket": "on"}
    )
    assert response.status_code == 302
    assert not Company.objects.get(name="Acme").had_ticket


def test_an_agent_reads_the_customers_of_their_tickets_and_no_other_in_every_order(
    client, agent, rep
):
    TeamFactory(name="Support", members=[agent])
    other_desk = TeamFactory(name="Other desk", members=[rep])
    theirs = [
        CompanyFactory(name="Zed", lifecycle=Lifecycle.PROSPECT, owner=rep),
        CompanyFactory(name="Alpha", lifecycle=Lifecycle.PROSPECT, owner=rep),
    ]
    moved_away = CompanyFactory(name="Moved", owner=rep)
    someone_elses = CompanyFactory(name="Elsewhere", owner=rep)
    CompanyFactory(name="Never", owner=rep)
    for company in theirs:
        contact = ContactFactory(last_name=company.name, company=company, owner=rep)
        data = {"subject": "Help", "company": company, "contact": contact, "assignee": agent}
        services.ticket_create(actor=None, data=data)
    moved = services.ticket_create(
        actor=None, data={"subject": "Help", "company": moved_away, "assignee": agent}
    )
    Ticket.objects.filter(pk=moved.pk).update(company=theirs[0])
    elsewhere = ContactFactory(last_name="Elsewhere", company=someone_elses, owner=rep)
    services.ticket_create(
        actor=None,
        data={
            "subject": "Help",
            "company": someone_elses,
            "contact": elsewhere,
            "team": other_desk,
        },
    )
    assert marked(moved_away) and marked(someone_elses) and marked(elsewhere)

    expected = {"Zed", "Alpha"}
    assert set(visible(Company, agent).values_list("name", flat=True)) == expected
    assert set(visible(Contact, agent).values_list("last_name", flat=True)) == expected
    client.force_login(agent)
    for route, orders in [
        ("companies", ["", "-lifecycle", "lifecycle", "-id", "name", "-created_at"]),
        ("contacts", ["", "-id", "stage", "-created_at"]),
    ]:
        for order in orders:
            response = client.get(reverse(route), {"sort": order} if order else {})
            assert response.status_code == 200
            rows = response.context["page_obj"]
            names = {row.name if route == "companies" else row.last_name for row in rows}
            assert names == expected, (route, order)


def test_an_agents_companies_offer_no_bulk_action_they_would_be_refused(client, agent, rep):
    # An agent reads their tickets' companies but may not change companies: the list has no
    # bulk form or row boxes, which posted would answer 403. Their contacts they may change.
    client.force_login(agent)
    companies = client.get(reverse("companies"))
    assert companies.context["bulk_form"] is None
    assert b'id="bulk-form"' not in companies.content
    assert (
        client.post(reverse("company-bulk"), {"ids": [], "action": "assign_owner"}).status_code
        == 403
    )
    assert client.get(reverse("contacts")).context["bulk_form"] is not None
    client.force_login(rep)
    assert b'id="bulk-form"' in client.get(reverse("companies")).content
