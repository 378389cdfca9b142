"""SLA breaches are stamped by the periodic task, not only when someone looks."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from crm import services
from crm.models import Event, Ticket
from crm.tasks import mark_sla_breaches
from tests.crm.factories import ContactFactory


def open_ticket(*, hours_ago: float, priority: str = "normal") -> Ticket:
    return services.ticket_create(
        actor=None,
        data={
            "subject": "Broken",
            "contact": ContactFactory(),
            "priority": priority,
            "created_at": timezone.now() - timedelta(hours=hours_ago),
        },
    )


def breached_at(ticket):
    ticket.refresh_from_db()
    return ticket.sla_breached_at


@pytest.mark.django_db
def test_an_unanswered_ticket_past_its_first_response_due_time_is_stamped(agent):
    late = open_ticket(hours_ago=9)  # normal: first response due after 8 h
    on_time = open_ticket(hours_ago=2)

    assert mark_sla_breaches.apply().get() == 1

    assert breached_at(late) == late.first_response_due_at
    assert breached_at(on_time) is None
    event = Event.objects.get(type="ticket.sla_breached")
    assert event.record_id == late.pk and event.changes["due"] == "first_response_due_at"


@pytest.mark.django_db
def test_an_answered_ticket_past_its_resolution_due_time_is_stamped(agent):
    ticket = open_ticket(hours_ago=30)
    services.ticket_reply(ticket=ticket, actor=agent, body="Looking")  # late response too
    answered_in_time = open_ticket(hours_ago=25)
    Ticket.objects.filter(pk=answered_in_time.pk).update(
        first_response_at=answered_in_time.created_at + timedelta(hours=1)
    )

    services.sla_mark_breaches()

    # The response was late first: the breach is dated when it was first missed.
    assert breached_at(ticket) == ticket.first_response_due_at
    assert breached_at(answered_in_time) == answered_in_time.resolution_due_at


@pytest.mark.django_db
def test_a_ticket_resolved_late_is_stamped_and_one_resolved_in_time_is_not(agent):
    late = open_ticket(hours_ago=3, priority="urgent")  # 1 h response, 4 h resolution
    Ticket.objects.filter(pk=late.pk).update(first_response_at=late.created_at + timedelta(hours=2))
    services.ticket_resolve(ticket=late, actor=agent)
    fine = open_ticket(hours_ago=0.5, priority="urgent")
    services.ticket_reply(ticket=fine, actor=agent, body="Done")
    services.ticket_resolve(ticket=fine, actor=agent)

    services.sla_mark_breaches()

    assert breached_at(late) == late.first_response_due_at
    assert breached_at(fine) is None


@pytest.mark.django_db
def test_running_twice_stamps_once(agent):
    ticket = open_ticket(hours_ago=9)

    assert services.sla_mark_breaches() == 1
    first = breached_at(ticket)
    assert services.sla_mark_breaches() == 0

    assert breached_at(ticket) == first
    assert Event.objects.filter(type="ticket.sla_breached").count() == 1


@pytest.mark.django_db
def test_time_passing_is_enough_to_breach(agent):
    ticket = open_ticket(hours_ago=0)

    assert services.sla_mark_breaches() == 0
    assert services.sla_mark_breaches(now=timezone.now() + timedelta(hours=9)) == 1

    assert breached_at(ticket) == ticket.first_response_due_at


@pytest.mark.django_db
def test_a_stamped_ticket_shows_in_the_breaching_view(client, agent):
    ticket = open_ticket(hours_ago=9)
    services.sla_mark_breaches()
    client.force_login(agent)

    response = client.get("/tickets/", {"view": "breaching"})

    assert [t.pk for t, _timer in response.context["rows"]] == [ticket.pk]


def test_the_task_is_scheduled_with_an_expiry_shorter_than_its_interval():
    entry = settings.CELERY_BEAT_SCHEDULE["mark-sla-breaches"]

    assert entry["task"] == "crm.mark_sla_breaches"
    assert 0 < entry["options"]["expires"] < entry["schedule"]
    nps = settings.CELERY_BEAT_SCHEDULE["send-nps-surveys-weekly"]
    assert nps["task"] == "crm.send_scheduled_nps_surveys" and nps["options"]["expires"]
