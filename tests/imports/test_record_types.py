"""Each record type imported through its service, a custom field included where it has them."""

from datetime import date
from decimal import Decimal

import pytest

from crm.models import (
    Company,
    Contact,
    Deal,
    DealStageChange,
    Event,
    Expense,
    FieldType,
    Lead,
    Subscription,
    Task,
    Ticket,
)
from imports.models import JobState
from tests.crm.factories import CompanyFactory, ContactFactory, CustomFieldFactory

from .conftest import csv_bytes, run, upload

pytestmark = pytest.mark.django_db


def imported(user, record_type, rows, capture, **options):
    job = run(upload(user, record_type, csv_bytes(rows)), capture=capture, **options)
    assert job.state == JobState.DONE, job.error
    assert job.failed_count == 0, list(job.rows.values_list("line", "error"))
    return job


def test_companies_with_a_custom_select(sales_team, capture):
    CustomFieldFactory(
        record_type="company",
        key="tier",
        label="Tier",
        field_type=FieldType.SELECT,
        choices=["gold", "silver"],
    )
    imported(
        sales_team["rep"],
        "company",
        # The domain as people type it: stored trimmed and lower-case, as any company's.
        [["Name", "Website", "Industry", "Tier"], ["Acme", " Acme.Example", "Software", "gold"]],
        capture,
    )
    acme = Company.objects.get(name="Acme")
    assert (acme.domain, acme.industry, acme.custom) == (
        "acme.example",
        "software",
        {"tier": "gold"},
    )
    assert acme.owner == sales_team["rep"]
    assert Event.objects.filter(type="company.created", record_id=acme.pk).exists()


def test_contacts_with_a_custom_date_and_their_company(sales_team, capture):
    rep = sales_team["rep"]
    company = CompanyFactory(name="Acme", owner=rep, team=sales_team["team"])
    CustomFieldFactory(
        record_type="contact", key="birthday", label="Birthday", field_type=FieldType.DATE
    )
    imported(
        rep,
        "contact",
        [
            ["First name", "Last name", "Email", "Company", "Birthday"],
            ["Rosa", "Parks", "rosa@example.org", "Acme", "24/02/1913"],
        ],
        capture,
    )
    rosa = Contact.objects.get(email="rosa@example.org")
    assert rosa.company == company
    assert rosa.custom == {"birthday": "1913-02-24"}


def test_leads_with_a_custom_number(sales_team, capture):
    CustomFieldFactory(record_type="lead", key="seats", label="Seats", field_type=FieldType.NUMBER)
    imported(
        sales_team["rep"],
        "lead",
        [
            ["Name", "Email", "Source", "Score", "Seats"],
            ["Rosa Parks", "rosa@example.org", "web", "80", "12"],
        ],
        capture,
    )
    lead = Lead.objects.get(email="rosa@example.org")
    assert (lead.score, lead.source, lead.custom) == (80, "web", {"seats": 12})


def test_deals_with_a_stage_and_a_custom_money_value(sales_team, capture):
    rep = sales_team["rep"]
    CompanyFactory(name="Acme", owner=rep, team=sales_team["team"])
    CustomFieldFactory(
        record_type="deal", key="setup_fee", label="Setup fee", field_type=FieldType.MONEY
    )
    imported(
        rep,
        "deal",
        [
            ["Name", "Company", "Amount", "Expected close", "Stage", "Setup fee"],
            ["Big one", "Acme", "1.234,50", "2030-06-30", "Qualification", "99.90"],
        ],
        capture,
    )
    deal = Deal.objects.get(name="Big one")
    assert deal.amount == Decimal("1234.50")
    assert deal.expected_close_date == date(2030, 6, 30)
    assert deal.stage.name == "Qualification"
    assert deal.custom == {"setup_fee": "99.90"}
    assert DealStageChange.objects.filter(deal=deal).count() == 1


def test_tasks_with_a_custom_checkbox_and_their_contact(sales_team, capture):
    rep = sales_team["rep"]
    contact = ContactFactory(email="rosa@example.org", owner=rep, team=sales_team["team"])
    CustomFieldFactory(
        record_type="task", key="billable", label="Billable", field_type=FieldType.CHECKBOX
    )
    imported(
        rep,
        "task",
        [
            ["Title", "Due", "Priority", "Contact", "Billable"],
            ["Call Rosa", "2030-01-02 09:30", "high", "rosa@example.org", "yes"],
        ],
        capture,
    )
    task = Task.objects.get(title="Call Rosa")
    assert (task.contact, task.priority, task.assignee) == (contact, "high", rep)
    assert task.custom == {"billable": True}


def test_tickets_with_a_custom_text(db, capture):
    from crm.models import Role
    from tests.factories import UserFactory

    agent = UserFactory(username="bruno", role=Role.SUPPORT_AGENT)
    CustomFieldFactory(record_type="ticket", key="order_ref", label="Order ref")
    imported(
        agent,
        "ticket",
        [
            ["Subject", "Description", "Priority", "Order ref"],
            ["Broken", "It broke", "urgent", "A-17"],
        ],
        capture,
    )
    ticket = Ticket.objects.get(subject="Broken")
    assert (ticket.priority, ticket.custom) == ("urgent", {"order_ref": "A-17"})
    assert ticket.messages.count() == 1


def test_subscriptions_and_the_company_they_make_a_customer(admin_user, capture):
    company = CompanyFactory(name="Acme")
    imported(
        admin_user,
        "subscription",
        [["Company", "Plan", "MRR", "Start"], ["Acme", "Pro", "100", "2025-01-01"]],
        capture,
    )
    subscription = Subscription.objects.get(company=company)
    assert (subscription.plan_name, subscription.monthly_value) == ("Pro", Decimal("100"))
    company.refresh_from_db()
    assert company.lifecycle == "customer"


def test_expenses(admin_user, capture):
    imported(
        admin_user,
        "expense",
        [
            ["Date", "Amount", "Category", "Description"],
            ["31/01/2025", "500", "Advertising", "Ads"],
        ],
        capture,
    )
    expense = Expense.objects.get()
    assert (expense.spent_on, expense.amount, expense.category) == (date(2025, 1, 31), 500, "ads")
