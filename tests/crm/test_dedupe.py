"""Things that exist once: a public request sent twice, a customer's reply sent twice, a
contact per email and a company per domain or name made by conversions. The concurrent
versions of these run on PostgreSQL in tests/reliability/test_concurrent_dedupe.py."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import (
    Company,
    Contact,
    Deal,
    DedupeKey,
    Event,
    Lead,
    LeadStatus,
    MessageAuthor,
    SurveyInvitation,
    Ticket,
    TicketMessage,
)
from crm.services.support import DUPLICATE_WINDOW, customer_link_token
from tests.crm.factories import ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db

CONTACT = reverse("support-contact")
POST = {
    "name": "Rosa Parks",
    "email": "rosa@Example.ORG",
    "subject": "Cannot export",
    "message": "The export button does nothing.",
}


def age(queryset, by: timedelta) -> None:
    """Move rows back in time, as if they had been written `by` ago."""
    queryset.update(created_at=timezone.now() - by)


def written() -> tuple[int, ...]:
    return (
        Ticket.objects.count(),
        TicketMessage.objects.count(),
        Contact.objects.count(),
        Company.objects.count(),
        Deal.objects.count(),
        Event.objects.count(),
    )


# The public contact form


def test_the_same_request_twice_opens_one_ticket_for_one_contact_and_answers_alike(client):
    first = client.post(CONTACT, POST)
    before = written()

    second = client.post(CONTACT, {**POST, "email": " ROSA@example.org "})

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("support-thanks")
    assert written() == before
    assert Ticket.objects.count() == Contact.objects.count() == 1


def test_the_same_request_just_inside_the_window_is_still_the_first_one(client):
    client.post(CONTACT, POST)
    age(Ticket.objects.all(), DUPLICATE_WINDOW - timedelta(seconds=5))

    client.post(CONTACT, POST)

    assert Ticket.objects.count() == 1


def test_the_same_request_after_the_window_opens_a_new_ticket_for_the_same_contact(client):
    client.post(CONTACT, POST)
    age(Ticket.objects.all(), DUPLICATE_WINDOW + timedelta(seconds=1))

    response = client.post(CONTACT, POST)

    assert response.status_code == 302
    assert Ticket.objects.count() == 2
    assert Contact.objects.count() == 1
    assert Ticket.objects.values("contact").distinct().count() == 1


def test_a_new_contact_from_the_form_claims_its_email(client):
    client.post(CONTACT, POST)

    contact = Contact.objects.get()
    claim = DedupeKey.objects.get(scope="contact-email")
    assert (claim.key, claim.object_id) == ("rosa@example.org", contact.pk)


def test_older_duplicate_contacts_stay_and_the_oldest_gets_the_request(client):
    oldest = ContactFactory(email="rosa@example.org")
    ContactFactory(email="ROSA@example.org")

    client.post(CONTACT, POST)

    assert Ticket.objects.get().contact == oldest
    assert Contact.objects.count() == 2
    assert not DedupeKey.objects.exists()  # nothing was created, nothing was claimed


@pytest.mark.parametrize("change", ["delete", "new email"])
def test_a_claimed_email_whose_contact_is_gone_is_taken_over(client, agent, change):
    client.post(CONTACT, POST)
    contact = Contact.objects.get()
    if change == "delete":
        Ticket.objects.all().delete()
        services.record_delete(contact, actor=agent)
    else:
        services.record_update(contact, actor=agent, data={"email": "rosa@elsewhere.example"})

    response = client.post(CONTACT, {**POST, "subject": "Another question"})

    assert response.status_code == 302
    newest = Contact.objects.filter(email__iexact="rosa@example.org").get()
    assert newest.pk != contact.pk
    assert DedupeKey.objects.get(scope="contact-email").object_id == newest.pk


# Customer replies through the private link


@pytest.fixture
def ticket(agent):
    return services.ticket_create(
        actor=agent, data={"subject": "Login", "contact": ContactFactory(), "assignee": agent}
    )


def reply(client, ticket, body: str):
    return client.post(
        reverse("support-ticket", args=[customer_link_token(ticket)]), {"body": body}
    )


def customer_messages(ticket, body: str) -> int:
    return ticket.messages.filter(author_kind=MessageAuthor.CUSTOMER, body=body).count()


def _ticket_linked(response):
    from django.urls import resolve

    from crm.services.support import ticket_for_customer_token

    match = resolve(response["Location"])
    assert match.url_name == "support-ticket"
    return ticket_for_customer_token(match.kwargs["token"])


def test_the_same_reply_twice_is_one_message_and_answers_alike(client, ticket):
    first = reply(client, ticket, "Still broken")
    before = written()

    second = reply(client, ticket, "Still broken")

    assert first.status_code == second.status_code == 302
    # Back to the same ticket's page; its link is signed again, with the second's time.
    assert [_ticket_linked(response) for response in (first, second)] == [ticket, ticket]
    assert written() == before
    assert customer_messages(ticket, "Still broken") == 1


def test_the_same_reply_after_the_window_is_a_new_message(client, ticket):
    reply(client, ticket, "Still broken")
    age(TicketMessage.objects.all(), DUPLICATE_WINDOW + timedelta(seconds=1))

    reply(client, ticket, "Still broken")

    assert customer_messages(ticket, "Still broken") == 2


# Lead conversion


def test_two_leads_with_one_email_make_one_contact_and_one_company(rep):
    first = LeadFactory(email="ann@leeco.example", company_name="LeeCo")
    second = LeadFactory(email="Ann@LeeCo.example", company_name="LeeCo Ltd")

    one = services.lead_convert(lead=first, actor=rep)
    two = services.lead_convert(lead=second, actor=rep)

    assert (two.contact, two.company) == (one.contact, one.company)
    assert (two.created_contact, two.created_company) == (False, False)
    assert Contact.objects.count() == Company.objects.count() == 1
    claims = dict(DedupeKey.objects.values_list("scope", "key"))
    assert claims == {
        "contact-email": "ann@leeco.example",
        "company-domain": "leeco.example",
        "company-name": "leeco",
    }


def test_a_free_mail_company_is_claimed_by_its_name(rep):
    services.lead_convert(
        lead=LeadFactory(email="jo@gmail.com", company_name="Jo's Bakery"), actor=rep
    )
    other = LeadFactory(email="mo@gmail.com", company_name=" jo's bakery ")

    result = services.lead_convert(lead=other, actor=rep, use_matches=True)

    assert not result.created_company and Company.objects.count() == 1
    assert not DedupeKey.objects.filter(scope="company-domain").exists()


def test_a_conversion_that_finds_a_record_made_since_the_page_was_shown_is_refused(rep):
    # The page showed no match (use_matches=False), but another lead took the email since:
    # what the page posted is refused and nothing is written, as when the page is out of date.
    services.lead_convert(
        lead=LeadFactory(email="ann@leeco.example", company_name="LeeCo"), actor=rep
    )
    late = LeadFactory(email="ann@leeco.example", company_name="LeeCo")
    before = written()

    with pytest.raises(services.InvalidTransition):
        services.lead_convert(lead=late, actor=rep, use_matches=False)

    assert written() == before
    late.refresh_from_db()
    assert late.status == LeadStatus.NEW


def test_choosing_new_records_over_the_matches_still_makes_them(rep):
    services.lead_convert(
        lead=LeadFactory(email="ann@leeco.example", company_name="LeeCo"), actor=rep
    )
    lead = LeadFactory(email="ann@leeco.example", company_name="LeeCo")

    result = services.lead_convert(
        lead=lead, actor=rep, use_matches=False, new_contact=True, new_company=True
    )

    assert result.created_contact and result.created_company
    assert Contact.objects.count() == Company.objects.count() == 2


def test_a_claimed_company_the_user_cannot_see_is_not_linked_through_the_page(
    client, rep, sales_team, outsider, other_team
):
    theirs = LeadFactory(email="x@hidden.example", company_name="Hidden", owner=outsider)
    services.lead_convert(lead=theirs, actor=outsider)
    mine = LeadFactory(email="y@hidden.example", company_name="Hidden", owner=rep)
    client.force_login(rep)

    response = client.post(reverse("lead-convert", args=[mine.pk]), {"create_deal": "on"})

    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.status == LeadStatus.CONVERTED
    assert mine.converted_company not in (None, Lead.objects.get(pk=theirs.pk).converted_company)


def test_a_claim_whose_company_was_renamed_is_taken_over(rep, admin_user):
    one = services.lead_convert(
        lead=LeadFactory(email="ann@leeco.example", company_name="LeeCo"),
        actor=rep,
        create_deal=False,
    )
    services.record_update(
        one.company, actor=admin_user, data={"name": "Lee Holdings", "domain": "lee.example"}
    )

    two = services.lead_convert(
        lead=LeadFactory(email="bo@leeco.example", company_name="LeeCo"), actor=rep
    )

    assert two.created_company and two.company != one.company
    assert set(
        DedupeKey.objects.filter(scope__startswith="company").values_list("object_id", flat=True)
    ) == {two.company.pk}


# Survey emails


def test_a_survey_email_goes_once_and_a_failed_send_is_tried_again(monkeypatch):
    from smtplib import SMTPException

    from django.core import mail

    from crm.services import support

    invitation = services.survey_invite(kind="nps", contact=ContactFactory())
    real_send = support._send

    def failing_send(*args, **kwargs):
        raise SMTPException("mail server down")

    monkeypatch.setattr(support, "_send", failing_send)
    with pytest.raises(SMTPException):
        support.email_survey_invitation(invitation=invitation)
    invitation.refresh_from_db()
    assert invitation.sent_at is None  # the retry will send it

    monkeypatch.setattr(support, "_send", real_send)
    assert support.email_survey_invitation(invitation=invitation) is True
    stale = SurveyInvitation.objects.get(pk=invitation.pk)
    stale.sent_at = None  # a second worker that loaded the row before the first one sent it
    assert support.email_survey_invitation(invitation=stale) is False
    assert len(mail.outbox) == 1
