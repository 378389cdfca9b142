"""The engagement rate's engaged customers of the days before today are kept apart
(KPI.numerator_ids): a customer churned or a call logged today counts the month's customers
against the kept ids, without reading the days before again; a contact moved to another
company, a company merged into another, an activity logged back-dated or deleted reads them
again. At every step the parts are those counted from every record."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import models as m
from crm import services
from crm.models import Company
from crm.services.merge import record_merge
from metrics.numbers import Reader
from metrics.periods import custom_period
from metrics.registry import get_kpi
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    SubscriptionFactory,
    SurveyAnswerFactory,
)
from tests.metrics.test_dashboard_pages import at

pytestmark = pytest.mark.django_db

MARCH = custom_period(date(2026, 3, 1), date(2026, 3, 31))
NOON = at(2026, 3, 20, 12)


def customer(name, owner):
    return CompanyFactory(
        name=name, owner=owner, lifecycle=m.Lifecycle.CUSTOMER, customer_since=at(2025, 1, 1)
    )


def parts():
    """The Reader's parts by owner and team, checked against those counted from every record:
    (engaged, customers), and whether the engagements of the days before today were read."""
    kpi = get_kpi("engagement_rate")
    with CaptureQueriesContext(connection) as queries:
        found = Reader(now=NOON)._paired_parts(kpi, MARCH)
    assert sorted(found) == sorted(kpi.parts_by_owner_and_team(MARCH))
    read_the_days_before = any(
        "UNION" in query["sql"] and "< '2026-03-20" in query["sql"] for query in queries
    )
    engaged = sum(row["engaged_count"] for _owner, _team, row in found)
    customers = sum(row["customers"] for _owner, _team, row in found)
    return (engaged, customers), read_the_days_before


def call(actor, when, **links):
    return services.activity_log(actor=actor, kind="call", occurred_at=when, **links)


def test_the_engaged_customers_are_kept_until_an_engagement_a_contact_or_a_merge_moves_them(
    rep, teammate
):
    called = customer("Called", rep)
    through_contact = customer("Through a contact", rep)
    answered = customer("Answered", teammate)
    quiet = customer("Quiet", teammate)
    prospect = CompanyFactory(name="Prospect", owner=rep)
    subscription = SubscriptionFactory(company=called, start_date=date(2025, 1, 1))
    call(rep, at(2026, 3, 3), company=called)
    contact = ContactFactory(company=through_contact, owner=rep)
    call(rep, at(2026, 3, 4), contact=contact)
    SurveyAnswerFactory(contact__company=answered, company=answered, answered_at=at(2026, 3, 5))
    call(rep, at(2026, 3, 6), company=prospect)  # not a customer: not counted
    assert parts() == ((3, 4), True)
    assert parts() == ((3, 4), False)  # both kept

    # A customer churned (its last subscription cancelled): no engagement moves.
    services.subscription_cancel(subscription=subscription, actor=None)
    assert Company.objects.get(pk=called.pk).lifecycle == m.Lifecycle.CHURNED
    assert parts() == ((3, 4), False)

    today = call(teammate, at(2026, 3, 20, 9), company=quiet)  # a call of today
    assert parts() == ((4, 4), False)
    services.record_delete(today, actor=None)  # deleted
    assert parts() == ((3, 4), True)

    earlier = call(teammate, at(2026, 3, 9), company=quiet)  # logged back-dated
    assert parts() == ((4, 4), True)
    services.record_delete(earlier, actor=None)  # one of the days before deleted
    assert parts() == ((3, 4), True)

    # The contact moves to a company that had no engagement of its own.
    services.record_update(contact, actor=None, data={"company": quiet})
    assert parts() == ((3, 4), True)

    # The called company is merged into the one whose contact left: its call moves there
    # without an event of its own, and the merge's note on the timeline is of today.
    record_merge(keep=through_contact, remove=called, choices={}, actor=None)
    assert parts() == ((3, 3), True)
