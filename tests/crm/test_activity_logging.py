"""Logging calls, emails, meetings and notes from a record's panels."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Activity, ActivityKind, Direction, LeadStatus
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}

FACTORIES = {
    "lead": LeadFactory,
    "contact": ContactFactory,
    "company": CompanyFactory,
    "deal": DealFactory,
}


def log_url(kind, pk):
    return reverse("activity-log", args=[kind, pk])


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_logging_an_activity_on_each_record_type(client, rep, sales_team, kind):
    record = FACTORIES[kind](owner=rep, team=sales_team)
    client.force_login(rep)
    response = client.post(
        log_url(kind, record.pk),
        {"kind": "meeting", "direction": "outbound", "subject": "Kick-off", "outcome": "Agreed"},
        **HTMX,
    )
    assert response.status_code == 200
    activity = Activity.objects.get()
    assert getattr(activity, f"{kind}_id") == record.pk
    assert (activity.kind, activity.subject, activity.outcome) == ("meeting", "Kick-off", "Agreed")
    assert activity.user == rep
    body = response.content.decode()
    assert 'data-testid="timeline"' in body and "Kick-off" in body


def test_call_in_two_clicks_sets_the_leads_first_response(client, rep, sales_team):
    lead = LeadFactory(owner=rep, team=sales_team, created_at=timezone.now() - timedelta(hours=2))
    client.force_login(rep)
    # The form's defaults are an outbound call now: picking "Call" and pressing "Log".
    response = client.post(
        log_url("lead", lead.pk), {"kind": "call", "direction": "outbound"}, **HTMX
    )
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.first_response_at is not None
    assert lead.status == LeadStatus.CONTACTED


def test_a_note_does_not_answer_a_lead(client, rep, sales_team):
    lead = LeadFactory(owner=rep, team=sales_team)
    client.force_login(rep)
    client.post(log_url("lead", lead.pk), {"kind": "note", "direction": "outbound", "body": "x"})
    lead.refresh_from_db()
    assert lead.first_response_at is None
    assert Activity.objects.get().direction == Direction.INTERNAL


def test_time_given_is_kept(client, rep, sales_team):
    deal = DealFactory(owner=rep, team=sales_team)
    client.force_login(rep)
    when = timezone.localtime() - timedelta(days=1)
    client.post(
        log_url("deal", deal.pk),
        {"kind": "call", "direction": "inbound", "occurred_at": when.strftime("%Y-%m-%dT%H:%M")},
        **HTMX,
    )
    activity = Activity.objects.get()
    assert activity.direction == Direction.INBOUND
    assert abs(activity.occurred_at - when) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "telepathy", "direction": "outbound"},
        {"kind": "call", "direction": "sideways"},
        {"kind": "call", "direction": "outbound", "occurred_at": "not a date"},
        {"kind": "call", "direction": "outbound", "subject": "x" * 201},
        {"kind": "call", "direction": "outbound", "occurred_at": "2999-01-01T10:00"},
    ],
)
def test_bad_input_shows_an_error_and_writes_nothing(client, rep, sales_team, data):
    lead = LeadFactory(owner=rep, team=sales_team)
    client.force_login(rep)
    response = client.post(log_url("lead", lead.pk), data)
    assert response.status_code == 400
    assert "invalid-feedback" in response.content.decode()
    assert not Activity.objects.exists()
    lead.refresh_from_db()
    assert lead.first_response_at is None
    # Through htmx the panels come back (200, so htmx swaps them) with the message.
    response = client.post(log_url("lead", lead.pk), data, **HTMX)
    assert response.status_code == 200
    assert "invalid-feedback" in response.content.decode()
    assert not Activity.objects.exists()


def test_bad_input_keeps_what_was_typed(client, rep, sales_team):
    lead = LeadFactory(owner=rep, team=sales_team)
    client.force_login(rep)
    response = client.post(
        log_url("lead", lead.pk),
        {"kind": "call", "direction": "outbound", "subject": "Keep me", "occurred_at": "nope"},
        **HTMX,
    )
    assert 'value="Keep me"' in response.content.decode()


def test_plain_post_redirects_back(client, rep, sales_team):
    company = CompanyFactory(owner=rep, team=sales_team)
    client.force_login(rep)
    response = client.post(
        log_url("company", company.pk),
        {"kind": "call", "direction": "outbound", "next": "/deals/?q=x"},
    )
    assert response.status_code == 302
    assert response.url == "/deals/?q=x"
    response = client.post(
        log_url("company", company.pk),
        {"kind": "call", "direction": "outbound", "next": "https://evil.example/"},
    )
    assert "evil" not in response.url


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_another_teams_record_is_404_and_untouched(
    client, rep, sales_team, outsider, other_team, kind
):
    record = FACTORIES[kind](owner=outsider, team=other_team)
    client.force_login(rep)
    response = client.post(log_url(kind, record.pk), {"kind": "call", "direction": "outbound"})
    assert response.status_code == 404
    assert not Activity.objects.exists()


def test_unknown_record_type_and_get_are_refused(client, rep, sales_team):
    lead = LeadFactory(owner=rep, team=sales_team)
    client.force_login(rep)
    assert client.post(log_url("user", rep.pk), {"kind": "call"}).status_code == 404
    assert client.get(log_url("lead", lead.pk)).status_code == 405


def test_manager_and_admin_can_log(client, rep, sales_team, manager, admin_user):
    deal = DealFactory(owner=rep, team=sales_team)
    for user in (manager, admin_user):
        client.force_login(user)
        response = client.post(log_url("deal", deal.pk), {"kind": "email_sent"}, **HTMX)
        assert response.status_code == 200
    assert Activity.objects.filter(deal=deal, kind=ActivityKind.EMAIL_SENT).count() == 2


def test_logging_on_a_ticket(client, agent, sales_team):
    ticket = TicketFactory(assignee=agent, team=sales_team)
    client.force_login(agent)
    response = client.post(log_url("ticket", ticket.pk), {"kind": "call"}, **HTMX)
    assert response.status_code == 200
    assert Activity.objects.get().ticket == ticket


def test_a_rep_who_only_reads_a_ticket_cannot_log_on_it(client, rep, sales_team):
    ticket = TicketFactory(assignee=rep, team=sales_team)
    client.force_login(rep)

    response = client.post(log_url("ticket", ticket.pk), {"kind": "call"}, **HTMX)

    assert response.status_code == 403
    assert not Activity.objects.exists()
