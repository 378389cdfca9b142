"""The customer's side of support, without an account: the contact form, the emails, and the
private link to their own ticket. Bad input gets a clear answer and writes nothing."""

import pytest
from django.core import mail, signing
from django.core.cache import cache
from django.urls import reverse

from crm import services
from crm.models import Contact, Event, MessageAuthor, Ticket, TicketStatus
from crm.services.support import CUSTOMER_LINK_SALT, customer_link_token
from tests.crm.factories import ContactFactory

CONTACT = reverse("support-contact")
VALID = {
    "name": "Rosa Parks",
    "email": "rosa@Example.ORG",
    "subject": "Cannot export",
    "message": "The export button does nothing.",
}


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    # django-ratelimit counts in the cache: each test starts from zero.
    cache.clear()
    yield
    cache.clear()


def ticket_link(ticket) -> str:
    return reverse("support-ticket", args=[customer_link_token(ticket)])


def link_in(email) -> str:
    line = next(line for line in email.body.splitlines() if "/support/ticket/" in line)
    return line.strip().removeprefix("http://localhost:8000")


# The contact form


@pytest.mark.django_db
def test_the_contact_form_needs_no_login(client):
    response = client.get(CONTACT)

    assert response.status_code == 200
    assert 'data-testid="contact-form"' in response.content.decode()


@pytest.mark.django_db
def test_a_request_opens_a_ticket_for_a_new_contact_and_emails_a_private_link(
    client, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CONTACT, VALID)

    assert response.status_code == 302
    assert response.url == reverse("support-thanks")
    assert client.get(response.url).status_code == 200
    ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.channel, ticket.status) == ("Cannot export", "web", "new")
    assert ticket.contact.email == "rosa@example.org"
    assert (ticket.contact.first_name, ticket.contact.last_name) == ("Rosa", "Parks")
    assert ticket.messages.get().author_kind == MessageAuthor.CUSTOMER
    assert ticket.first_response_due_at is not None
    [email] = mail.outbox
    assert email.to == ["rosa@example.org"]
    assert f"#{ticket.pk}" in email.subject
    assert client.get(link_in(email)).status_code == 200


@pytest.mark.django_db
def test_a_known_email_reuses_its_contact_and_company(client):
    contact = ContactFactory(email="rosa@example.org")

    client.post(CONTACT, {**VALID, "email": "ROSA@example.org"})

    ticket = Ticket.objects.get()
    assert ticket.contact == contact and ticket.company == contact.company
    assert Contact.objects.count() == 1


@pytest.mark.django_db
def test_an_unassigned_web_ticket_is_in_every_agents_queue(client, agent):
    client.post(CONTACT, VALID)
    client.force_login(agent)

    response = client.get(reverse("tickets"), {"view": "unassigned"})

    assert [t.subject for t, _timer in response.context["rows"]] == ["Cannot export"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
        ({"subject": "   "}, "subject"),
        ({"message": "x" * 10_001}, "message"),
        ({"subject": "s" * 201}, "subject"),
        ({"website": "http://spam.example"}, "website"),
    ],
    ids=["bad-email", "no-name", "blank-subject", "huge-message", "long-subject", "honeypot"],
)
def test_bad_input_is_a_form_error_and_writes_nothing(client, change, field):
    response = client.post(CONTACT, {**VALID, **change})

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Ticket.objects.exists() and not Contact.objects.exists()
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_a_double_submission_opens_one_ticket(client):
    first = client.post(CONTACT, VALID)
    second = client.post(CONTACT, VALID)

    assert first.status_code == second.status_code == 302
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_a_flood_of_posts_is_throttled_with_a_429_page(client, settings):
    settings.CRM_PUBLIC_FORM_RATE = "3/m"
    for index in range(3):
        assert client.post(CONTACT, {**VALID, "subject": f"Try {index}"}).status_code == 302

    response = client.post(CONTACT, {**VALID, "subject": "One too many"})

    assert response.status_code == 429
    assert 'data-testid="throttled"' in response.content.decode()
    assert Ticket.objects.count() == 3
    assert client.get(CONTACT).status_code == 200  # reading the form is not throttled


@pytest.mark.django_db
def test_script_in_a_request_is_shown_as_text(client, admin_user):
    client.post(CONTACT, {**VALID, "message": "<script>alert('x')</script>"})
    ticket = Ticket.objects.get()
    client.force_login(admin_user)

    html = client.get(reverse("ticket-detail", args=[ticket.pk])).content.decode()

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html


# The private link


@pytest.fixture
def ticket(agent):
    return services.ticket_create(
        actor=agent,
        data={"subject": "Sync fails", "description": "Since Monday", "contact": ContactFactory()},
    )


@pytest.mark.django_db
def test_each_agent_reply_emails_the_private_link_and_notes_stay_internal(
    client, agent, ticket, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("ticket-reply", args=[ticket.pk]), {"body": "Secret", "internal": "1"})
        client.post(reverse("ticket-reply", args=[ticket.pk]), {"body": "Please update the app"})
    client.logout()

    [email] = mail.outbox
    assert email.to == [ticket.contact.email]
    assert "Please update the app" in email.body
    page = client.get(link_in(email))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Please update the app" in html and "Since Monday" in html
    assert "Secret" not in html


@pytest.mark.django_db
def test_a_customer_reply_through_the_link_reopens_a_resolved_ticket(client, agent, ticket):
    services.ticket_reply(ticket=ticket, actor=agent, body="Fixed it")
    services.ticket_resolve(ticket=ticket, actor=agent)

    response = client.post(ticket_link(ticket), {"body": "Still broken"})

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at, ticket.reopen_count) == (TicketStatus.OPEN, None, 1)
    # One agent reply but reopened: not a first-contact resolution any more.
    assert ticket.agent_reply_count == 1
    # The customer's message is not a response.
    assert ticket.messages.filter(author_kind="customer").count() == 2


@pytest.mark.django_db
def test_a_customer_reply_to_a_pending_ticket_puts_it_back_in_the_queue(client, agent, ticket):
    services.ticket_reply(ticket=ticket, actor=agent, body="Which version?", status="pending")

    client.post(ticket_link(ticket), {"body": "Version 3"})

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and ticket.reopen_count == 0


@pytest.mark.django_db
def test_the_same_reply_sent_twice_is_recorded_once(client, agent, ticket):
    services.ticket_reply(ticket=ticket, actor=agent, body="Fixed")
    services.ticket_resolve(ticket=ticket, actor=agent)

    client.post(ticket_link(ticket), {"body": "Not fixed"})
    client.post(ticket_link(ticket), {"body": "Not fixed"})

    ticket.refresh_from_db()
    assert ticket.reopen_count == 1
    assert ticket.messages.filter(author_kind="customer", body="Not fixed").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["", "   ", "x" * 10_001])
def test_a_bad_customer_reply_writes_nothing(client, ticket, body):
    response = client.post(ticket_link(ticket), {"body": body})

    assert response.status_code == 400
    assert ticket.messages.count() == 1


@pytest.mark.django_db
def test_customer_replies_are_throttled(client, ticket, settings):
    settings.CRM_PUBLIC_FORM_RATE = "2/m"
    client.post(ticket_link(ticket), {"body": "one"})
    client.post(ticket_link(ticket), {"body": "two"})

    response = client.post(ticket_link(ticket), {"body": "three"})

    assert response.status_code == 429
    assert ticket.messages.filter(author_kind="customer").count() == 3  # description + 2


@pytest.mark.django_db
def test_forged_altered_or_foreign_links_show_a_clear_page(client, ticket):
    other = services.ticket_create(
        actor=None, data={"subject": "Other", "contact": ContactFactory()}
    )
    good = customer_link_token(ticket)
    forged = signing.dumps({"t": other.pk, "c": other.contact_id}, salt="another-salt")
    swapped = signing.dumps({"t": other.pk, "c": ticket.contact_id}, salt=CUSTOMER_LINK_SALT)
    for token in ["sample", good[:-2] + "xx", forged, swapped, "a" * 500, "%00"]:
        response = client.get(reverse("support-ticket", args=[token]))
        assert response.status_code == 404, token
        assert 'data-testid="link-invalid"' in response.content.decode()
        assert (
            client.post(reverse("support-ticket", args=[token]), {"body": "hi"}).status_code == 404
        )
    assert ticket.messages.count() == 1 and other.messages.count() == 0


@pytest.mark.django_db
def test_a_link_stops_working_when_the_ticket_moves_to_another_contact(client, agent, ticket):
    link = ticket_link(ticket)
    services.ticket_update(ticket=ticket, actor=agent, data={"contact": ContactFactory()})

    assert client.get(link).status_code == 404


@pytest.mark.django_db
def test_an_expired_link_is_refused(client, ticket, monkeypatch):
    from datetime import timedelta

    from crm.services import support

    link = ticket_link(ticket)
    monkeypatch.setattr(support, "CUSTOMER_LINK_MAX_AGE", timedelta(seconds=-1))

    assert client.get(link).status_code == 404


@pytest.mark.django_db
def test_first_contact_resolution_inputs_through_the_pages(client, agent, ticket):
    from metrics.kpis.support import FIRST_CONTACT

    client.force_login(agent)
    reply = reverse("ticket-reply", args=[ticket.pk])
    client.post(reply, {"body": "Note to self", "internal": "1"})
    client.post(reply, {"body": "Fixed", "status": "resolved"})
    assert Ticket.objects.filter(FIRST_CONTACT, pk=ticket.pk).exists()

    client.logout()
    client.post(ticket_link(ticket), {"body": "It is back"})
    assert not Ticket.objects.filter(FIRST_CONTACT, pk=ticket.pk).exists()
    ticket.refresh_from_db()
    assert (ticket.agent_reply_count, ticket.reopen_count, ticket.status) == (1, 1, "open")
