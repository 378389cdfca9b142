"""Factories for the records. State-changing fields are left at their defaults: tests that
need a won deal, a resolved ticket, etc. get there through the services."""

from decimal import Decimal

import factory
from django.utils import timezone

from crm import models as m


def default_pipeline() -> m.Pipeline:
    return m.Pipeline.objects.get(is_default=True)


def stage_named(name: str, pipeline: m.Pipeline | None = None) -> m.Stage:
    return (pipeline or default_pipeline()).stages.get(name=name)


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Company

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.example")
    industry = m.Industry.SOFTWARE
    size_band = m.SizeBand.SMALL


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    company = factory.SubFactory(CompanyFactory)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Lead

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"lead{n}@prospect.example")
    company_name = factory.Sequence(lambda n: f"Prospect {n}")
    source = m.LeadSource.WEB


class DealFactory(factory.django.DjangoModelFactory):
    """An open deal in the first stage of the default pipeline."""

    class Meta:
        model = m.Deal

    name = factory.Sequence(lambda n: f"Deal {n}")
    company = factory.SubFactory(CompanyFactory)
    pipeline = factory.LazyFunction(default_pipeline)
    stage = factory.LazyAttribute(lambda deal: deal.pipeline.first_stage())
    amount = Decimal("1000.00")


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Task

    title = factory.Sequence(lambda n: f"Task {n}")
    due_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(days=1))


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Ticket

    subject = factory.Sequence(lambda n: f"Ticket {n}")
    contact = factory.SubFactory(ContactFactory)
    company = factory.SelfAttribute("contact.company")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Subscription

    company = factory.SubFactory(CompanyFactory)
    plan_name = "Pro"
    monthly_value = Decimal("100.00")
    start_date = factory.LazyFunction(lambda: timezone.localdate())
    end_date = None
    # As the service: a fixed-term contract's end is its term end (renewal date) unless given.
    term_end = factory.SelfAttribute("end_date")


class ExpenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Expense

    spent_on = factory.LazyFunction(lambda: timezone.localdate())
    amount = Decimal("500.00")
    category = m.ExpenseCategory.ADS


class SurveyAnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.SurveyAnswer

    kind = m.SurveyKind.NPS
    score = 9
    contact = factory.SubFactory(ContactFactory)
    company = factory.SelfAttribute("contact.company")


class CustomFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.CustomField

    record_type = m.RecordType.DEAL
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.Sequence(lambda n: f"Field {n}")
    field_type = m.FieldType.TEXT
