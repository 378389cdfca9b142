"""Identical requests at the same moment make one row: each burst starts its requests together
(threads with their own database connections, released by a barrier) and counts every row
beyond the first as a duplicate side effect. Needs PostgreSQL: SQLite runs one writer at a
time, so nothing there can race."""

import threading
from datetime import date
from functools import partial

import pytest
from django.core import mail
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from crm import services
from crm.models import (
    Company,
    Contact,
    Lead,
    LeadStatus,
    MessageAuthor,
    Notification,
    Subscription,
    SurveyAnswer,
    SurveyInvitation,
    SurveyKind,
    Ticket,
    TicketMessage,
)
from crm.services.support import customer_link_token
from tests.crm.factories import ContactFactory, LeadFactory, SubscriptionFactory

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]

TRIES = 5
AT_ONCE = 3
UNFINISHED = object()


def race(*calls) -> list:
    """Run the calls at the same moment, each in its own thread and connection; their results
    in order, an exception standing for its result."""
    start = threading.Barrier(len(calls))
    results: list = [UNFINISHED] * len(calls)

    def run(index, call):
        try:
            start.wait(timeout=30)
            results[index] = call()
        except Exception as error:  # reported by the caller, which fails the test
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def post(path: str, data: dict, user=None):
    def call():
        client = Client()
        if user is not None:
            client.force_login(user)
        return client.post(path, data)

    return call


def check_answers(figures, results, what: str, ok=(302,), refused=(), refused_errors=()) -> None:
    """A 500 or an unexpected exception is a server error; a clear refusal a clean rejection."""
    for result in results:
        if result is UNFINISHED:
            figures.add("server_errors", f"{what}: still running after a minute")
        elif isinstance(result, refused_errors):
            figures.add("clean_rejections")
        elif isinstance(result, Exception):
            figures.add("server_errors", f"{what}: {result!r}")
        elif getattr(result, "status_code", None) in refused:
            figures.add("clean_rejections")
        elif hasattr(result, "status_code") and result.status_code not in ok:
            figures.add("server_errors", f"{what}: answered {result.status_code}")


def count_extra(figures, what: str, rows: int, expected: int = 1) -> None:
    if rows > expected:
        figures.add("duplicate_side_effects", f"{what}: {rows} rows", count=rows - expected)


@pytest.fixture
def open_forms(settings):
    # The bursts come from one address: the rate limit is not what is under test here.
    settings.CRM_PUBLIC_FORM_RATE = "10000/m"


def test_identical_public_requests_at_once_open_one_ticket_for_one_contact(
    figures, open_forms, eager_tasks
):
    for n in range(TRIES):
        email = f"rosa{n}@example.org"
        data = {"name": "Rosa Parks", "email": email, "subject": "Export", "message": "Broken"}
        figures.tried("bad_inputs")

        results = race(*[post(reverse("support-contact"), data)] * AT_ONCE)

        check_answers(figures, results, "public request")
        count_extra(figures, email, Ticket.objects.filter(contact__email=email).count())
        count_extra(figures, email, Contact.objects.filter(email=email).count())
        count_extra(figures, email, len([m for m in mail.outbox if m.to == [email]]))
    assert Ticket.objects.count() == TRIES


def test_identical_customer_replies_at_once_are_one_message(figures, open_forms, agent):
    for n in range(TRIES):
        ticket = services.ticket_create(
            actor=agent, data={"subject": f"Login {n}", "contact": ContactFactory()}
        )
        link = reverse("support-ticket", args=[customer_link_token(ticket)])
        figures.tried("bad_inputs")

        results = race(*[post(link, {"body": "Still broken"})] * AT_ONCE)

        check_answers(figures, results, "customer reply")
        replies = TicketMessage.objects.filter(
            ticket=ticket, author_kind=MessageAuthor.CUSTOMER, body="Still broken"
        )
        count_extra(figures, f"ticket {ticket.pk}", replies.count())
    assert TicketMessage.objects.filter(body="Still broken").count() == TRIES


def test_two_leads_with_one_email_converted_at_once_make_one_contact_and_one_company(figures, rep):
    for n in range(TRIES):
        email = f"ann{n}@leeco{n}.example"
        leads = [LeadFactory(email=email, company_name=f"LeeCo {n}") for _lead in range(2)]
        figures.tried("bad_inputs")

        results = race(
            *[
                partial(services.lead_convert, lead=lead, actor=rep, create_deal=False)
                for lead in leads
            ]
        )

        check_answers(figures, results, "lead convert")
        count_extra(figures, email, Contact.objects.filter(email=email).count())
        count_extra(figures, email, Company.objects.filter(domain=f"leeco{n}.example").count())
    assert Lead.objects.exclude(status=LeadStatus.CONVERTED).count() == 0


def test_two_leads_with_one_email_converted_at_once_through_the_pages(
    figures, rep, teammate, sales_team
):
    for n in range(TRIES):
        email = f"bo{n}@fabrikam{n}.example"
        leads = [
            LeadFactory(email=email, company_name=f"Fabrikam {n}", owner=owner)
            for owner in (rep, teammate)
        ]
        figures.tried("bad_inputs")

        results = race(
            *[
                post(reverse("lead-convert", args=[lead.pk]), {"deal_name": ""}, user=lead.owner)
                for lead in leads
            ]
        )

        # The second either finds the first's records or is told to look again (400).
        check_answers(figures, results, "lead convert page", refused=(400,))
        count_extra(figures, email, Contact.objects.filter(email=email).count())
        count_extra(figures, email, Company.objects.filter(domain=f"fabrikam{n}.example").count())
        assert Lead.objects.filter(email=email, status=LeadStatus.CONVERTED).exists()


def test_one_survey_link_answered_at_once_records_one_answer(figures, open_forms):
    for _n in range(TRIES):
        invitation = services.survey_invite(kind=SurveyKind.NPS, contact=ContactFactory())
        link = reverse("survey", args=[invitation.token])
        figures.tried("bad_inputs")

        results = race(*[post(link, {"score": "9", "comment": ""})] * AT_ONCE)

        check_answers(figures, results, "survey answer", ok=(200,), refused=(409,))
        answers = SurveyAnswer.objects.filter(contact=invitation.contact)
        count_extra(figures, f"invitation {invitation.pk}", answers.count())


def test_surveys_notifications_and_renewals_at_once_are_made_once(figures, agent):
    for n in range(TRIES):
        ticket = services.ticket_create(
            actor=agent, data={"subject": f"Resolved {n}", "contact": ContactFactory()}
        )
        services.ticket_resolve(ticket=ticket, actor=agent)
        old = SubscriptionFactory(start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))
        figures.tried("bad_inputs", count=3)

        surveys = race(
            *[partial(services.surveys_for_resolved_ticket, ticket_id=ticket.pk)] * AT_ONCE
        )
        notified = race(
            *[partial(services.notify, recipients=[agent], title="Milestone", key=f"m{n}")]
            * AT_ONCE
        )
        renewed = race(
            *[partial(services.subscription_renew, subscription=old, actor=agent)] * AT_ONCE
        )

        check_answers(figures, surveys + notified, "made once")
        check_answers(figures, renewed, "renewal", refused_errors=(services.InvalidTransition,))
        invitations = SurveyInvitation.objects.filter(ticket=ticket, kind=SurveyKind.CSAT)
        count_extra(figures, f"ticket {ticket.pk} survey", invitations.count())
        sent = [m for m in mail.outbox if m.to == [ticket.contact.email]]
        count_extra(figures, f"ticket {ticket.pk} survey email", len(sent))
        count_extra(figures, f"notification m{n}", Notification.objects.filter(key=f"m{n}").count())
        count_extra(
            figures, f"subscription {old.pk}", Subscription.objects.filter(renewal_of=old).count()
        )
