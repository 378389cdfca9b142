"""Contracts, and the company lifecycle that follows them (prospect → customer → churned)."""

from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Company, Lifecycle, Subscription, SubscriptionStatus, User

from .errors import InvalidTransition
from .events import event_record


def subscription_start(
    *,
    company: Company,
    actor: User | None,
    plan_name: str,
    monthly_value,
    start_date: date,
    end_date: date | None = None,
    term_end: date | None = None,
    renewal_of: Subscription | None = None,
) -> Subscription:
    """A new contract. Its term end (renewal date) is `term_end`, else its end: a contract
    with neither is month-to-month and never comes up for renewal."""
    subscription = Subscription(
        company=company,
        plan_name=plan_name,
        monthly_value=monthly_value,
        start_date=start_date,
        end_date=end_date,
        term_end=term_end or end_date,
        renewal_of=renewal_of,
    )
    subscription.full_clean()
    with transaction.atomic():
        subscription.save()
        event_record(
            type="subscription.renewed" if renewal_of else "subscription.started",
            instance=subscription,
            actor=actor,
            changes={"monthly_value": [None, monthly_value], "start_date": [None, start_date]},
        )
        _company_becomes_customer(company, since=_start_of_day(start_date), actor=actor)
    return subscription


def subscription_renew(
    *,
    subscription: Subscription,
    actor: User | None,
    end_date: date | None = None,
    term_end: date | None = None,
    monthly_value=None,
    plan_name: str | None = None,
) -> Subscription:
    """A new term starting where the old one ends; the old one is then complete."""
    with transaction.atomic():
        old = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if old.end_date is None:
            raise InvalidTransition(_("An open-ended subscription has nothing to renew."))
        if old.status == SubscriptionStatus.CANCELLED:
            raise InvalidTransition(_("A cancelled subscription cannot be renewed."))
        if Subscription.objects.filter(renewal_of=old).exists():
            raise InvalidTransition(_("This subscription was already renewed."))
        renewal = subscription_start(
            company=old.company,
            actor=actor,
            plan_name=plan_name or old.plan_name,
            monthly_value=old.monthly_value if monthly_value is None else monthly_value,
            start_date=old.end_date,
            end_date=end_date,
            term_end=term_end,
            renewal_of=old,
        )
        old.status = SubscriptionStatus.EXPIRED
        old.save(update_fields=["status", "updated_at"])
    return renewal


def subscription_cancel(
    *, subscription: Subscription, actor: User | None, end_date: date | None = None
) -> Subscription:
    """Stop a subscription at `end_date` (today by default); a company left with none churns.

    The term end stays: stopping before it is a mid-term cancellation (churn), stopping on it
    a renewal declined."""
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if subscription.status != SubscriptionStatus.ACTIVE:
            raise InvalidTransition(_("Only an active subscription can be cancelled."))
        end_date = end_date or timezone.localdate()
        if end_date <= subscription.start_date:
            raise InvalidTransition({"end_date": _("The end date must come after the start date.")})
        changes = {
            "status": [subscription.status, SubscriptionStatus.CANCELLED],
            "end_date": [subscription.end_date, end_date],
        }
        subscription.status = SubscriptionStatus.CANCELLED
        subscription.end_date = end_date
        subscription.cancelled_at = timezone.now()
        subscription.save(update_fields=["status", "end_date", "cancelled_at", "updated_at"])
        event_record(
            type="subscription.cancelled", instance=subscription, actor=actor, changes=changes
        )
        _company_churns_without_subscriptions(
            subscription.company, at=_start_of_day(end_date), actor=actor
        )
    return subscription


def subscription_expire(*, subscription: Subscription, actor: User | None) -> Subscription:
    """A term that ended without renewal."""
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if subscription.status != SubscriptionStatus.ACTIVE or subscription.end_date is None:
            raise InvalidTransition(_("Only an active subscription with an end date can expire."))
        if subscription.end_date > timezone.localdate():
            raise InvalidTransition(_("This subscription has not ended yet."))
        subscription.status = SubscriptionStatus.EXPIRED
        subscription.save(update_fields=["status", "updated_at"])
        event_record(
            type="subscription.expired",
            instance=subscription,
            actor=actor,
            changes={"status": [SubscriptionStatus.ACTIVE, SubscriptionStatus.EXPIRED]},
        )
        _company_churns_without_subscriptions(
            subscription.company, at=_start_of_day(subscription.end_date), actor=actor
        )
    return subscription


def _company_becomes_customer(company: Company, *, since: datetime, actor) -> None:
    company = Company.objects.select_for_update().get(pk=company.pk)
    if company.lifecycle == Lifecycle.CUSTOMER:
        return
    changes = {"lifecycle": [company.lifecycle, Lifecycle.CUSTOMER]}
    # A returning customer is a new customer from the day it comes back.
    changes["customer_since"] = [company.customer_since, since]
    company.lifecycle = Lifecycle.CUSTOMER
    company.customer_since = since
    company.churned_at = None
    company.save(update_fields=["lifecycle", "customer_since", "churned_at", "updated_at"])
    event_record(type="company.lifecycle_changed", instance=company, actor=actor, changes=changes)


def _company_churns_without_subscriptions(company: Company, *, at: datetime, actor) -> None:
    company = Company.objects.select_for_update().get(pk=company.pk)
    still_active = company.subscriptions.filter(status=SubscriptionStatus.ACTIVE).exists()
    if company.lifecycle != Lifecycle.CUSTOMER or still_active:
        return
    changes = {"lifecycle": [company.lifecycle, Lifecycle.CHURNED], "churned_at": [None, at]}
    company.lifecycle = Lifecycle.CHURNED
    company.churned_at = at
    company.save(update_fields=["lifecycle", "churned_at", "updated_at"])
    event_record(type="company.lifecycle_changed", instance=company, actor=actor, changes=changes)


def _start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
