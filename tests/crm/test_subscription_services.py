from datetime import date
from decimal import Decimal

import pytest

from crm import services
from crm.models import Event, Lifecycle, Subscription, SubscriptionStatus
from tests.crm.factories import CompanyFactory


@pytest.fixture
def company():
    return CompanyFactory()


def start(company, actor, **kwargs):
    values = {"plan_name": "Pro", "monthly_value": Decimal("250"), "start_date": date(2026, 1, 1)}
    values.update(kwargs)
    return services.subscription_start(company=company, actor=actor, **values)


@pytest.mark.django_db
def test_a_first_subscription_makes_the_company_a_customer(company, manager):
    start(company, manager)

    company.refresh_from_db()
    assert company.lifecycle == Lifecycle.CUSTOMER
    assert company.customer_since.date() == date(2026, 1, 1)
    assert list(Event.objects.values_list("type", flat=True)) == [
        "subscription.started",
        "company.lifecycle_changed",
    ]


@pytest.mark.django_db
def test_cancelling_the_last_subscription_churns_the_company(company, manager):
    subscription = start(company, manager)

    services.subscription_cancel(
        subscription=subscription, actor=manager, end_date=date(2026, 6, 1)
    )

    subscription.refresh_from_db()
    company.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED and subscription.cancelled_at
    assert subscription.end_date == date(2026, 6, 1)
    assert company.lifecycle == Lifecycle.CHURNED
    assert company.churned_at.date() == date(2026, 6, 1)


@pytest.mark.django_db
def test_a_company_with_another_active_subscription_stays_a_customer(company, manager):
    first = start(company, manager)
    start(company, manager, plan_name="Add-on", monthly_value=Decimal("50"))

    services.subscription_cancel(subscription=first, actor=manager, end_date=date(2026, 3, 1))

    company.refresh_from_db()
    assert company.lifecycle == Lifecycle.CUSTOMER and company.churned_at is None


@pytest.mark.django_db
def test_a_returning_customer_is_a_customer_again_from_its_new_start(company, manager):
    first = start(company, manager)
    services.subscription_cancel(subscription=first, actor=manager, end_date=date(2026, 3, 1))

    start(company, manager, start_date=date(2026, 9, 1))

    company.refresh_from_db()
    assert company.lifecycle == Lifecycle.CUSTOMER
    assert company.customer_since.date() == date(2026, 9, 1) and company.churned_at is None


@pytest.mark.django_db
def test_renewing_starts_a_new_term_where_the_old_one_ends(company, manager):
    old = start(company, manager, end_date=date(2027, 1, 1))

    renewal = services.subscription_renew(
        subscription=old, actor=manager, end_date=date(2028, 1, 1), monthly_value=Decimal("300")
    )

    old.refresh_from_db()
    assert renewal.renewal_of == old and renewal.start_date == date(2027, 1, 1)
    assert renewal.monthly_value == Decimal("300")
    assert old.status == SubscriptionStatus.EXPIRED
    with pytest.raises(services.InvalidTransition):
        services.subscription_renew(subscription=old, actor=manager)
    assert Subscription.objects.count() == 2


@pytest.mark.django_db
def test_an_open_ended_subscription_cannot_be_renewed(company, manager):
    with pytest.raises(services.InvalidTransition):
        services.subscription_renew(subscription=start(company, manager), actor=manager)
    assert Subscription.objects.count() == 1


@pytest.mark.django_db
def test_cancelling_before_the_start_is_refused(company, manager):
    subscription = start(company, manager)
    with pytest.raises(services.InvalidTransition):
        services.subscription_cancel(
            subscription=subscription, actor=manager, end_date=date(2025, 12, 1)
        )
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    company.refresh_from_db()
    assert company.lifecycle == Lifecycle.CUSTOMER


@pytest.mark.django_db
def test_a_negative_value_is_refused_and_nothing_changes(company, manager):
    with pytest.raises(Exception) as refused:
        start(company, manager, monthly_value=Decimal("-1"))
    assert "monthly_value" in refused.value.message_dict
    company.refresh_from_db()
    assert company.lifecycle == Lifecycle.PROSPECT and Event.objects.count() == 0


@pytest.mark.django_db
def test_a_fixed_term_contract_has_its_end_as_renewal_date_kept_on_cancelling(company, manager):
    monthly = start(company, manager)
    yearly = start(company, manager, end_date=date(2027, 1, 1))
    longer = start(company, manager, term_end=date(2027, 1, 1), plan_name="Evergreen yearly")
    renewal = services.subscription_renew(
        subscription=yearly, actor=manager, end_date=date(2028, 1, 1)
    )

    cancelled = services.subscription_cancel(
        subscription=renewal, actor=manager, end_date=date(2027, 6, 1)
    )

    assert monthly.term_end is None
    assert (yearly.term_end, longer.term_end, longer.end_date) == (
        date(2027, 1, 1),
        date(2027, 1, 1),
        None,
    )
    # Cancelled mid-term: the renewal date stays, so the KPIs see a mid-term cancellation.
    assert (cancelled.end_date, cancelled.term_end) == (date(2027, 6, 1), date(2028, 1, 1))


@pytest.mark.django_db
def test_a_term_end_before_the_start_is_refused_and_nothing_changes(company, manager):
    with pytest.raises(Exception) as refused:
        start(company, manager, term_end=date(2026, 1, 1))
    assert "The term end must come after the start date." in str(refused.value)
    assert not Subscription.objects.exists() and Event.objects.count() == 0


@pytest.mark.django_db
def test_the_migration_fills_the_term_end_where_it_can_be_derived(company, manager):
    from importlib import import_module

    from django.apps import apps

    fill_term_end = import_module("crm.migrations.0022_subscription_term_end").fill_term_end
    renewed = start(company, manager, end_date=date(2027, 1, 1))
    services.subscription_renew(subscription=renewed, actor=manager)
    scheduled = start(company, manager, end_date=date(2026, 7, 1))
    cancelled_mid_term = start(company, manager, end_date=date(2027, 1, 1))
    services.subscription_cancel(
        subscription=cancelled_mid_term, actor=manager, end_date=date(2026, 5, 1)
    )
    cancelled_open_ended = start(company, manager)
    services.subscription_cancel(
        subscription=cancelled_open_ended, actor=manager, end_date=date(2026, 5, 1)
    )
    open_ended = start(company, manager)
    # Rows from before the field: no term end, and a cancelled one without its event.
    no_event = start(company, manager, end_date=date(2026, 9, 1))
    Subscription.objects.filter(pk=no_event.pk).update(
        status=SubscriptionStatus.CANCELLED, cancelled_at=no_event.created_at
    )
    Subscription.objects.update(term_end=None)

    fill_term_end(apps, None)

    term_ends = dict(Subscription.objects.values_list("pk", "term_end"))
    assert term_ends[renewed.pk] == date(2027, 1, 1)
    assert term_ends[scheduled.pk] == date(2026, 7, 1)
    # The end it had before its cancellation, read from the event.
    assert term_ends[cancelled_mid_term.pk] == date(2027, 1, 1)
    assert term_ends[cancelled_open_ended.pk] is None
    assert term_ends[open_ended.pk] is None
    assert term_ends[no_event.pk] is None
    # The renewal that started in 2027 has no end: month-to-month.
    assert Subscription.objects.get(renewal_of=renewed).term_end is None
