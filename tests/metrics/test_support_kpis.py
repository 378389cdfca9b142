"""Support KPIs, on small hand-worked ticket sets around March 2026."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm import models as m
from metrics.periods import period_for
from metrics.registry import Segment, get_kpi
from tests.crm.factories import CompanyFactory, TicketFactory

pytestmark = pytest.mark.django_db

D = Decimal


def at(year, month, day, hour=0, minute=0):
    return timezone.make_aware(datetime(year, month, day, hour, minute))


def value(key, period, segment=None):
    return get_kpi(key).value(period, segment or Segment())


def resolved(created_at, resolved_at, **fields):
    return TicketFactory(
        created_at=created_at,
        resolved_at=resolved_at,
        status=m.TicketStatus.RESOLVED,
        **fields,
    )


# First response ------------------------------------------------------------------------


def test_first_response_hours_averages_answered_tickets_created_in_the_period(march):
    TicketFactory(
        created_at=at(2026, 3, 1),
        first_response_at=at(2026, 3, 1, 2),
        priority=m.TicketPriority.HIGH,
    )
    # Created on the last evening, answered in April: still a March ticket.
    TicketFactory(created_at=at(2026, 3, 31, 23), first_response_at=at(2026, 4, 1, 3))
    TicketFactory(created_at=at(2026, 3, 10, 9), first_response_at=at(2026, 3, 10, 9, 30))
    # Outside: unanswered, created the evening before, created on April 1.
    TicketFactory(created_at=at(2026, 3, 12))
    TicketFactory(created_at=at(2026, 2, 28, 23), first_response_at=at(2026, 3, 1, 1))
    TicketFactory(created_at=at(2026, 4, 1), first_response_at=at(2026, 4, 1, 1))

    result = value("first_response_hours", march)

    # (2 + 4 + 0.5) ÷ 3
    assert result.value == D("2.1667")
    assert (result.numerator, result.denominator) == (D("6.5"), 3)
    assert get_kpi("first_response_hours").counted_records(march).count() == 3
    breakdown = get_kpi("first_response_hours").breakdown(march, "ticket_priority")
    assert breakdown["high"].value == D("2")
    # (4 + 0.5) ÷ 2
    assert breakdown["normal"].value == D("2.25")


def test_first_response_hours_without_answered_tickets_is_no_data(march):
    TicketFactory(created_at=at(2026, 3, 12))

    result = value("first_response_hours", march)

    assert result.value is None
    assert result.denominator == 0


# Resolution ----------------------------------------------------------------------------


def test_resolution_hours_is_total_hours_over_tickets_resolved_in_the_period(march):
    # Created in February, resolved on the first instant of March.
    resolved(at(2026, 2, 27, 12), at(2026, 3, 1))
    resolved(at(2026, 3, 31, 20), at(2026, 3, 31, 23))
    # Outside: resolved on April 1, unresolved.
    resolved(at(2026, 3, 5), at(2026, 4, 1))
    TicketFactory(created_at=at(2026, 3, 5))

    result = value("resolution_hours", march)

    # (36 + 3) ÷ 2
    assert result.value == D("19.5")
    assert (result.numerator, result.denominator) == (D("39"), 2)
    assert get_kpi("resolution_hours").counted_records(march).count() == 2


def test_resolution_hours_worked_example_500_hours_over_100_tickets_is_5(march):
    company = CompanyFactory()
    start = at(2026, 3, 2)
    m.Ticket.objects.bulk_create(
        m.Ticket(
            subject=f"Ticket {index}",
            company=company,
            created_at=start,
            resolved_at=start + timedelta(hours=2 if index < 50 else 8),
            status=m.TicketStatus.RESOLVED,
        )
        for index in range(100)
    )

    result = value("resolution_hours", march)

    # 50 × 2 h + 50 × 8 h = 500 h; 500 ÷ 100
    assert result.value == D("5")
    assert (result.numerator, result.denominator) == (D("500"), 100)
    assert get_kpi("resolution_hours").bands.band_for(result.value) == "typical"


def test_resolution_hours_without_resolved_tickets_is_no_data(march):
    TicketFactory(created_at=at(2026, 3, 5))

    assert value("resolution_hours", march).value is None


def test_resolution_hours_breaks_down_by_assignee_and_industry(march, agent, rep):
    retail = CompanyFactory(industry=m.Industry.RETAIL)
    resolved(at(2026, 3, 2), at(2026, 3, 2, 1), assignee=agent, company=retail)
    resolved(at(2026, 3, 2), at(2026, 3, 2, 3), assignee=agent)
    resolved(at(2026, 3, 2), at(2026, 3, 2, 10), assignee=rep)

    by_owner = get_kpi("resolution_hours").breakdown(march, "owner")
    by_industry = get_kpi("resolution_hours").breakdown(march, "industry")

    # agent: (1 + 3) ÷ 2; rep: 10 ÷ 1
    assert by_owner[str(agent.pk)].value == D("2")
    assert by_owner[str(rep.pk)].value == D("10")
    assert by_industry["retail"].value == D("1")
    assert value("resolution_hours", march, Segment("industry", "software")).denominator == 2


# First contact resolution --------------------------------------------------------------


def test_fcr_rate_counts_one_reply_never_reopened_of_tickets_resolved(march):
    first_contact = resolved(at(2026, 3, 2), at(2026, 3, 2, 1), agent_reply_count=1, reopen_count=0)
    resolved(at(2026, 3, 2), at(2026, 3, 3), agent_reply_count=2, reopen_count=0)
    resolved(at(2026, 3, 2), at(2026, 3, 4), agent_reply_count=1, reopen_count=1)
    resolved(at(2026, 3, 2), at(2026, 3, 5), agent_reply_count=0, reopen_count=0)
    # Outside: resolved on April 1, or on the last minute of February.
    resolved(at(2026, 3, 2), at(2026, 4, 1), agent_reply_count=1)
    resolved(at(2026, 2, 2), at(2026, 2, 28, 23, 59), agent_reply_count=1)

    result = value("fcr_rate", march)

    # 1 ÷ 4 × 100
    assert result.value == D("25")
    assert (result.numerator, result.denominator) == (1, 4)
    drill = get_kpi("fcr_rate").counted_records(march, numerator_only=True)
    assert list(drill) == [first_contact]


def test_fcr_rate_without_resolved_tickets_is_no_data(march):
    TicketFactory(created_at=at(2026, 3, 2), agent_reply_count=1)

    assert value("fcr_rate", march).value is None


# SLA breaches --------------------------------------------------------------------------


def ticket_due(created_at, respond_in=2, resolve_in=24, **fields):
    due = {
        "first_response_due_at": created_at + timedelta(hours=respond_in),
        "resolution_due_at": created_at + timedelta(hours=resolve_in),
    }
    return TicketFactory(created_at=created_at, **{**due, **fields})


def test_sla_breach_rate_counts_tickets_that_missed_a_due_time(march):
    opened = at(2026, 3, 2, 8)
    breaches = [
        # First response late.
        ticket_due(opened, first_response_at=opened + timedelta(hours=3)),
        # Answered on time, resolved late.
        ticket_due(
            opened,
            first_response_at=opened + timedelta(hours=1),
            resolved_at=opened + timedelta(hours=30),
            status=m.TicketStatus.RESOLVED,
        ),
        # Never answered, due long ago.
        ticket_due(at(2026, 3, 20)),
        # Answered on time, never resolved, resolution due long ago.
        ticket_due(at(2026, 3, 25), first_response_at=at(2026, 3, 25, 1)),
        # Times look fine but the SLA job stamped it.
        ticket_due(
            opened,
            first_response_at=opened + timedelta(hours=1),
            resolved_at=opened + timedelta(hours=2),
            status=m.TicketStatus.RESOLVED,
            sla_breached_at=opened + timedelta(hours=1),
        ),
    ]
    # On time on both counts.
    ticket_due(
        opened,
        first_response_at=opened + timedelta(hours=2),
        resolved_at=opened + timedelta(hours=24),
        status=m.TicketStatus.RESOLVED,
    )
    # No SLA policy, so no due times: nothing to breach.
    TicketFactory(created_at=at(2026, 3, 3))
    # Answered and resolved on the due minutes themselves: not late.
    ticket_due(
        at(2026, 3, 31, 21),
        first_response_at=at(2026, 3, 31, 23),
        resolved_at=at(2026, 4, 1, 21),
        status=m.TicketStatus.RESOLVED,
    )
    # Outside: created the evening before and on April 1, both late.
    ticket_due(at(2026, 2, 28, 23), first_response_at=at(2026, 3, 2))
    ticket_due(at(2026, 4, 1), first_response_at=at(2026, 4, 2))

    result = value("sla_breach_rate", march)

    # 5 breached of 8 created in March × 100
    assert result.value == D("62.5")
    assert (result.numerator, result.denominator) == (5, 8)
    drill = get_kpi("sla_breach_rate").counted_records(march, numerator_only=True)
    assert set(drill) == set(breaches)


def test_sla_breach_rate_does_not_count_tickets_not_yet_due_in_a_running_period():
    today = period_for("month", timezone.localdate())
    opened = timezone.now() - timedelta(minutes=5)
    if opened - timedelta(hours=3) < today.start:
        pytest.skip("too close to the start of the month")
    ticket_due(opened)
    ticket_due(opened - timedelta(hours=3))

    result = value("sla_breach_rate", today)

    # The second is 1 hour past its 2-hour response time: 1 of 2 × 100. The month's end is
    # still ahead, but the first ticket is not due yet.
    assert result.value == D("50")


def test_sla_breach_rate_uses_due_times_set_from_the_policy(march, agent):
    from crm.services.tickets import ticket_create

    m.SLAPolicy.objects.update_or_create(
        priority=m.TicketPriority.URGENT,
        defaults={"first_response_hours": D("1"), "resolution_hours": D("4")},
    )
    contact = TicketFactory().contact
    ticket = ticket_create(
        actor=agent,
        data={"subject": "Down", "contact": contact, "priority": m.TicketPriority.URGENT},
    )
    # Move it into March: opened on March 3 at 10:00, answered at 11:30, due at 11:00.
    m.Ticket.objects.filter(pk=ticket.pk).update(
        created_at=at(2026, 3, 3, 10),
        first_response_due_at=at(2026, 3, 3, 11),
        resolution_due_at=at(2026, 3, 3, 14),
        first_response_at=at(2026, 3, 3, 11, 30),
        resolved_at=at(2026, 3, 3, 13),
        status=m.TicketStatus.RESOLVED,
    )

    result = value("sla_breach_rate", march)

    # 1 breached of 1
    assert result.value == D("100")
    breakdown = get_kpi("sla_breach_rate").breakdown(march, "ticket_priority")
    assert breakdown["urgent"].numerator == 1


def test_sla_breach_rate_without_tickets_is_no_data(march):
    ticket_due(at(2026, 4, 1))

    result = value("sla_breach_rate", march)

    assert result.value is None
    assert result.denominator == 0


def test_sla_breach_rate_breaks_down_by_channel_team_and_custom_field(march, sales_team):
    ticket_due(
        at(2026, 3, 2),
        channel=m.TicketChannel.CHAT,
        team=sales_team,
        custom={"tier": "gold"},
        first_response_at=at(2026, 3, 2, 5),
    )
    ticket_due(
        at(2026, 3, 2),
        channel=m.TicketChannel.CHAT,
        custom={"tier": "gold"},
        first_response_at=at(2026, 3, 2, 1),
        resolved_at=at(2026, 3, 2, 2),
        status=m.TicketStatus.RESOLVED,
    )
    ticket_due(at(2026, 3, 2), channel=m.TicketChannel.PHONE, custom={"tier": "silver"})

    by_channel = get_kpi("sla_breach_rate").breakdown(march, "ticket_channel")

    # chat: 1 late of 2; phone: 1 never answered of 1
    assert by_channel["chat"].value == D("50")
    assert by_channel["phone"].value == D("100")
    assert value("sla_breach_rate", march, Segment("team", str(sales_team.pk))).value == D("100")
    gold = value("sla_breach_rate", march, Segment("custom:tier", "gold"))
    assert (gold.numerator, gold.denominator) == (1, 2)
