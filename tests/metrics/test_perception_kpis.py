"""Customer perception and engagement KPIs, on hand-worked answers around March 2026."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from crm import models as m
from metrics.kpis.perception import csat_average
from metrics.registry import Segment, get_kpi
from tests.crm.factories import CompanyFactory, ContactFactory, SurveyAnswerFactory, TicketFactory

pytestmark = pytest.mark.django_db

D = Decimal


def at(year, month, day, hour=0, minute=0):
    return timezone.make_aware(datetime(year, month, day, hour, minute))


def value(key, period, segment=None):
    return get_kpi(key).value(period, segment or Segment())


def answer(kind, score, answered_at=None, **fields):
    return SurveyAnswerFactory(
        kind=kind, score=score, answered_at=answered_at or at(2026, 3, 10), **fields
    )


def bulk_answers(kind, score, count, answered_at):
    m.SurveyAnswer.objects.bulk_create(
        m.SurveyAnswer(kind=kind, score=score, answered_at=answered_at) for _ in range(count)
    )


# NPS -----------------------------------------------------------------------------------


def test_nps_is_percent_promoters_minus_percent_detractors(march):
    for score in (9, 10, 10):
        answer("nps", score)
    answer("nps", 7)
    answer("nps", 8, answered_at=at(2026, 3, 31, 23, 59))
    answer("nps", 6, answered_at=at(2026, 3, 1))
    # Outside: the minute before, April 1, another survey.
    answer("nps", 10, answered_at=at(2026, 2, 28, 23, 59))
    answer("nps", 0, answered_at=at(2026, 4, 1))
    answer("csat", 1)

    result = value("nps", march)

    # 3 promoters, 2 passives, 1 detractor: (3 − 1) ÷ 6 × 100
    assert result.value == D("33.3333")
    assert (result.numerator, result.denominator) == (2, 6)
    assert get_kpi("nps").counted_records(march).count() == 6


def test_nps_worked_example_200_150_150_is_10(march):
    bulk_answers("nps", 10, 120, at(2026, 3, 5))
    bulk_answers("nps", 9, 80, at(2026, 3, 6))
    bulk_answers("nps", 7, 150, at(2026, 3, 7))
    bulk_answers("nps", 0, 50, at(2026, 3, 8))
    bulk_answers("nps", 6, 100, at(2026, 3, 9))

    result = value("nps", march)

    # 200 ÷ 500 = 40% promoters − 150 ÷ 500 = 30% detractors
    assert result.value == D("10")
    assert (result.numerator, result.denominator) == (50, 500)
    assert get_kpi("nps").bands.band_for(result.value) == "below"


def test_nps_ranges_from_minus_100_to_100(march):
    answer("nps", 3)
    assert value("nps", march).value == D("-100")
    m.SurveyAnswer.objects.all().delete()
    answer("nps", 9)
    assert value("nps", march).value == D("100")


def test_nps_without_answers_is_no_data(march):
    answer("nps", 10, answered_at=at(2026, 4, 1))

    result = value("nps", march)

    assert result.value is None
    assert result.denominator == 0


def test_nps_breaks_down_by_industry_and_ticket_channel(march):
    finance = CompanyFactory(industry=m.Industry.FINANCE)
    answer("nps", 10, company=finance, contact=ContactFactory(company=finance))
    answer("nps", 0, ticket=TicketFactory(channel=m.TicketChannel.CHAT))
    answer("nps", 9, ticket=TicketFactory(channel=m.TicketChannel.CHAT))

    by_industry = get_kpi("nps").breakdown(march, "industry")

    # finance: 1 promoter of 1; software (the factory default): (1 − 1) ÷ 2
    assert by_industry["finance"].value == D("100")
    assert by_industry["software"].value == D("0")
    assert value("nps", march, Segment("ticket_channel", "chat")).denominator == 2


# CSAT ----------------------------------------------------------------------------------


def test_csat_counts_answers_of_4_or_5(march):
    for score in (5, 4, 3, 1, 2):
        answer("csat", score)
    # Outside: the period, another survey.
    answer("csat", 5, answered_at=at(2026, 4, 1))
    answer("csat", 5, answered_at=at(2026, 2, 28, 23, 59))
    answer("ces", 5)

    result = value("csat", march)

    # 2 of 5 × 100
    assert result.value == D("40")
    assert (result.numerator, result.denominator) == (2, 5)
    assert get_kpi("csat").counted_records(march, numerator_only=True).count() == 2
    # (5 + 4 + 3 + 1 + 2) ÷ 5
    average = csat_average(march)
    assert average.value == D("3")
    assert (average.numerator, average.denominator) == (15, 5)


def test_csat_without_answers_is_no_data(march):
    answer("nps", 10)

    assert value("csat", march).value is None
    assert csat_average(march).value is None


def test_csat_average_follows_the_segment(march):
    retail = CompanyFactory(industry=m.Industry.RETAIL)
    answer("csat", 5, company=retail, contact=None)
    answer("csat", 2, company=retail, contact=None)
    answer("csat", 1)

    # (5 + 2) ÷ 2
    assert csat_average(march, Segment("industry", "retail")).value == D("3.5")


# CES -----------------------------------------------------------------------------------


def test_ces_is_the_mean_effort_score_and_lower_is_better(march):
    for score in (2, 3, 7):
        answer("ces", score)
    answer("ces", 1, answered_at=at(2026, 4, 1))
    answer("ces", 1, answered_at=at(2026, 2, 28, 23, 59))
    answer("csat", 1)

    result = value("ces", march)

    # (2 + 3 + 7) ÷ 3
    assert result.value == D("4")
    assert (result.numerator, result.denominator) == (12, 3)
    assert get_kpi("ces").higher_is_better is False
    assert get_kpi("ces").counted_records(march).count() == 3


def test_ces_without_answers_is_no_data(march):
    assert value("ces", march).value is None


# Engagement ----------------------------------------------------------------------------


def customer(name, since=None, churned=None, **fields):
    return CompanyFactory(
        name=name,
        lifecycle=m.Lifecycle.CHURNED if churned else m.Lifecycle.CUSTOMER,
        customer_since=since or at(2025, 1, 1),
        churned_at=churned,
        **fields,
    )


def activity(kind, when, **links):
    return m.Activity.objects.create(kind=kind, occurred_at=when, **links)


def test_engagement_rate_counts_customers_with_an_engagement_activity_or_answer(march):
    a = customer("A")
    activity(m.ActivityKind.MEETING, at(2026, 3, 31, 23, 59), company=a)
    b = customer("B")
    answer("csat", 3, company=b, contact=None, answered_at=at(2026, 3, 1))
    c = customer("C")
    activity(m.ActivityKind.NOTE, at(2026, 3, 5), company=c)
    activity(m.ActivityKind.MEETING, at(2026, 4, 1), company=c)
    activity(m.ActivityKind.CALL, at(2026, 2, 28, 23, 59), company=c)
    # Engaged through a contact only; joined in the middle of March.
    d = customer("D", since=at(2026, 3, 15))
    activity(m.ActivityKind.EMAIL_OPENED, at(2026, 3, 20), contact=ContactFactory(company=d))
    customer("E")
    # Not active customers in March: churned in February, a prospect.
    f = customer("F", churned=at(2026, 2, 20))
    activity(m.ActivityKind.MEETING, at(2026, 3, 3), company=f)
    prospect = CompanyFactory(name="G")
    activity(m.ActivityKind.MEETING, at(2026, 3, 3), company=prospect)

    result = value("engagement_rate", march)

    # A, B, D of A, B, C, D, E × 100
    assert result.value == D("60")
    assert (result.numerator, result.denominator) == (3, 5)
    drill = get_kpi("engagement_rate").counted_records(march, numerator_only=True)
    assert {company.name for company in drill} == {"A", "B", "D"}


def test_engagement_rate_without_customers_is_no_data(march):
    customer("late", since=at(2026, 4, 1))

    result = value("engagement_rate", march)

    assert result.value is None
    assert result.denominator == 0


def test_engagement_rate_breaks_down_by_owner(march, rep, teammate):
    a = customer("A", owner=rep)
    activity(m.ActivityKind.CALL, at(2026, 3, 3), company=a)
    customer("B", owner=rep)
    customer("C", owner=teammate)

    breakdown = get_kpi("engagement_rate").breakdown(march, "owner")

    # rep: 1 of 2; teammate: 0 of 1
    assert breakdown[str(rep.pk)].value == D("50")
    assert breakdown[str(teammate.pk)].value == D("0")


def test_a_page_of_engaged_customers_tests_each_customer_as_the_rate_counts_them(march, admin_user):
    # The drill-down's page reads each customer's engagement with a probe per source (an
    # activity or an answer, naming the company or one of its contacts): the same customers
    # as the sets the rate counts, newest first.
    by_company = customer("by company")
    activity(m.ActivityKind.CALL, at(2026, 3, 3), company=by_company)
    by_contact = customer("by contact")
    activity(m.ActivityKind.MEETING, at(2026, 3, 4), contact=ContactFactory(company=by_contact))
    answered = customer("answered")
    answer("nps", 9, company=answered, contact=None, answered_at=at(2026, 3, 5))
    answered_by_contact = customer("answered by a contact")
    answer(
        "ces",
        2,
        company=None,
        contact=ContactFactory(company=answered_by_contact),
        answered_at=at(2026, 3, 6),
    )
    quiet = customer("a note and April only")
    activity(m.ActivityKind.NOTE, at(2026, 3, 7), company=quiet)
    activity(m.ActivityKind.CALL, at(2026, 4, 1), company=quiet)
    answer("nps", 9, company=quiet, contact=None, answered_at=at(2026, 2, 28, 23, 59))
    kpi = get_kpi("engagement_rate")

    page = kpi.drill_down(march, user=admin_user, numerator_only=True, page=True)
    counted = kpi.counted_records(march, numerator_only=True)

    names = ["answered by a contact", "answered", "by contact", "by company"]
    assert [c.name for c in page.order_by("-pk")] == names
    assert [c.name for c in counted.order_by("-pk")] == names
    assert value("engagement_rate", march).numerator == 4
