from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm import services
from crm.models import (
    ActivityKind,
    Company,
    Contact,
    Deal,
    Direction,
    Event,
    Lead,
    LeadStatus,
    Pipeline,
    Task,
)
from tests.crm.factories import CompanyFactory, ContactFactory, LeadFactory


def record_counts():
    return (
        Contact.objects.count(),
        Company.objects.count(),
        Deal.objects.count(),
        Task.objects.count(),
    )


@pytest.mark.django_db
def test_the_first_outbound_activity_sets_the_lead_response_time(rep):
    lead = LeadFactory(owner=rep)
    call = services.activity_log(actor=rep, kind=ActivityKind.CALL, subject="Intro call", lead=lead)

    lead.refresh_from_db()
    assert lead.first_response_at == call.occurred_at
    assert lead.status == LeadStatus.CONTACTED
    assert list(Event.objects.values_list("type", flat=True)) == [
        "activity.logged",
        "lead.responded",
    ]

    services.activity_log(actor=rep, kind=ActivityKind.EMAIL_SENT, lead=lead)
    lead.refresh_from_db()
    assert lead.first_response_at == call.occurred_at


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind, direction",
    [
        (ActivityKind.NOTE, Direction.OUTBOUND),
        (ActivityKind.EMAIL_RECEIVED, Direction.INBOUND),
        (ActivityKind.CALL, Direction.INTERNAL),
    ],
)
def test_notes_and_inbound_activities_are_not_a_response(rep, kind, direction):
    lead = LeadFactory(owner=rep)
    services.activity_log(actor=rep, kind=kind, direction=direction, lead=lead)

    lead.refresh_from_db()
    assert lead.first_response_at is None and lead.status == LeadStatus.NEW


@pytest.mark.django_db
def test_an_earlier_call_logged_late_becomes_the_first_response(rep):
    lead = LeadFactory(owner=rep, created_at=timezone.now() - timedelta(days=2))
    services.activity_log(actor=rep, kind=ActivityKind.EMAIL_SENT, lead=lead)
    earlier = timezone.now() - timedelta(days=1)

    services.activity_log(actor=rep, kind=ActivityKind.CALL, lead=lead, occurred_at=earlier)

    lead.refresh_from_db()
    assert lead.first_response_at == earlier


@pytest.mark.django_db
def test_an_activity_about_nothing_is_refused(rep):
    with pytest.raises(Exception) as refused:
        services.activity_log(actor=rep, kind=ActivityKind.CALL)
    assert "linked to at least one record" in str(refused.value)
    assert Event.objects.count() == 0


@pytest.mark.django_db
def test_qualifying_sets_the_time_once(rep):
    lead = LeadFactory()
    services.lead_qualify(lead=lead, actor=rep)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED and lead.qualified_at is not None

    with pytest.raises(services.InvalidTransition):
        services.lead_qualify(lead=lead, actor=rep)


@pytest.mark.django_db
def test_disqualifying_needs_a_reason(rep):
    lead = LeadFactory()
    with pytest.raises(services.InvalidTransition):
        services.lead_disqualify(lead=lead, actor=rep, reason="")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW

    services.lead_disqualify(lead=lead, actor=rep, reason="No budget")
    lead.refresh_from_db()
    assert (lead.status, lead.disqualified_reason) == (LeadStatus.UNQUALIFIED, "No budget")


@pytest.mark.django_db
def test_converting_a_new_lead_creates_contact_company_deal_and_follow_up(rep):
    lead = LeadFactory(
        name="Maria Silva", email="maria@northwind.example", company_name="Northwind", owner=rep
    )

    result = services.lead_convert(lead=lead, actor=rep, amount=Decimal("12000"))

    assert result.created_contact and result.created_company
    assert (result.contact.first_name, result.contact.last_name) == ("Maria", "Silva")
    assert result.contact.company == result.company
    assert (result.company.name, result.company.domain) == ("Northwind", "northwind.example")
    assert result.deal.source_lead == lead and result.deal.stage.name == "Prospecting"
    assert result.deal.amount == Decimal("12000") and result.deal.owner == rep
    assert result.task.deal == result.deal and result.task.assignee == rep
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert lead.converted_at is not None and lead.qualified_at is not None
    assert (lead.converted_contact, lead.converted_company, lead.converted_deal) == (
        result.contact,
        result.company,
        result.deal,
    )
    assert set(Event.objects.values_list("type", flat=True)) == {
        "company.created",
        "contact.created",
        "deal.created",
        "task.created",
        "lead.converted",
    }


@pytest.mark.django_db
def test_converting_reuses_an_existing_contact_and_company(rep):
    company = CompanyFactory(name="Northwind Traders", domain="northwind.example")
    contact = ContactFactory(email="Maria@Northwind.example", company=company)
    lead = LeadFactory(email="maria@northwind.example", company_name="Northwind")
    before = record_counts()

    result = services.lead_convert(lead=lead, actor=rep)

    assert (result.contact, result.company) == (contact, company)
    assert not result.created_contact and not result.created_company
    assert record_counts() == (before[0], before[1], before[2] + 1, before[3] + 1)


@pytest.mark.django_db
def test_converting_finds_the_company_by_email_domain(rep):
    company = CompanyFactory(domain="contoso.example")
    lead = LeadFactory(email="new.person@contoso.example", company_name="Contoso Ltd")

    result = services.lead_convert(lead=lead, actor=rep)

    assert result.company == company and result.created_contact
    assert result.contact.company == company


@pytest.mark.django_db
def test_a_free_mail_address_does_not_make_a_company_domain(rep):
    CompanyFactory(name="Someone Else", domain="gmail.com")
    lead = LeadFactory(email="jo@gmail.com", company_name="Jo's Bakery")

    result = services.lead_convert(lead=lead, actor=rep)

    assert result.company.name == "Jo's Bakery" and result.company.domain == ""


@pytest.mark.django_db
def test_the_rep_can_decline_the_matches(rep):
    ContactFactory(email="maria@northwind.example")
    lead = LeadFactory(email="maria@northwind.example", company_name="Northwind")

    result = services.lead_convert(lead=lead, actor=rep, use_matches=False)

    assert result.created_contact and result.created_company


@pytest.mark.django_db
@pytest.mark.parametrize("status", [LeadStatus.CONVERTED, LeadStatus.UNQUALIFIED])
def test_a_converted_or_unqualified_lead_cannot_be_converted(rep, status):
    lead = LeadFactory(
        status=status, converted_at=timezone.now() if status == "converted" else None
    )
    before = (record_counts(), Event.objects.count())

    with pytest.raises(services.InvalidTransition):
        services.lead_convert(lead=lead, actor=rep)

    assert (record_counts(), Event.objects.count()) == before


@pytest.mark.django_db
def test_a_failed_conversion_leaves_nothing_behind(rep):
    empty = Pipeline.objects.create(name="Empty")
    lead = LeadFactory(company_name="Fabrikam")

    with pytest.raises(services.InvalidTransition):
        services.lead_convert(lead=lead, actor=rep, pipeline=empty)

    assert record_counts() == (0, 0, 0, 0)
    assert Event.objects.count() == 0
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
    assert Lead.objects.get().converted_at is None


@pytest.mark.django_db
def test_an_activity_dated_before_the_lead_existed_is_not_its_response(rep):
    lead = LeadFactory(owner=rep)
    services.activity_log(
        actor=rep,
        kind=ActivityKind.CALL,
        lead=lead,
        occurred_at=lead.created_at - timedelta(days=1),
    )

    lead.refresh_from_db()
    assert lead.first_response_at is None and lead.status == LeadStatus.NEW
