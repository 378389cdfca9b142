"""The database itself refuses inconsistent rows, whatever code path writes them."""

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from crm import models as m
from tests.crm import factories as f
from tests.factories import UserFactory

# Migration 0005: a deal's status must be its stage's outcome, in the deal's own pipeline.
STAGE_TRIGGER = "deal status must match the outcome of its stage"


@pytest.fixture
def c(db):
    """The rows the bad rows point at."""
    pipeline = f.default_pipeline()
    other_pipeline = m.Pipeline.objects.create(name="Partners")
    company = f.CompanyFactory()
    now = timezone.now()
    return SimpleNamespace(
        now=now,
        today=timezone.localdate(),
        pipeline=pipeline,
        open=pipeline.first_stage(),
        won=f.stage_named("Won"),
        lost=f.stage_named("Lost"),
        other_open=m.Stage.objects.create(pipeline=other_pipeline, name="Intro", probability=10),
        company=company,
        deal=f.DealFactory(company=company),
        task=f.TaskFactory(),
        ticket=f.TicketFactory(created_at=now - timedelta(days=1)),
        field=f.CustomFieldFactory(record_type=m.RecordType.DEAL, key="region"),
    )


def already_notified(c, *, key: str) -> dict:
    """Fields of a notification its recipient already has (created inside the test's block)."""
    fields = {"recipient": UserFactory(), "title": "50 %", "key": key}
    m.Notification.objects.create(**fields)
    return fields


def already_claimed(**fields) -> dict:
    m.DedupeKey.objects.create(**fields)
    return fields


def deal(c, **fields):
    return {"name": "Bad deal", "pipeline": c.pipeline, "stage": c.open, **fields}


def subscription(c, **fields):
    return {
        "company": c.company,
        "plan_name": "Pro",
        "monthly_value": Decimal("10"),
        "start_date": c.today,
        **fields,
    }


def bad(constraint, model, fields, *, id, match=None):
    return pytest.param(constraint, model, fields, match or constraint, id=id)


# SQLite names the columns, not the constraint, when a unique index refuses a row.
UNIQUE_DEFAULT_PIPELINE = "one_default_pipeline|crm_pipeline.is_default"
UNIQUE_STAGE_NAME = "stage_name_unique_in_pipeline|crm_stage.pipeline_id, crm_stage.name"
UNIQUE_FIELD_KEY = "custom_field_key_unique|crm_customfield.record_type, crm_customfield.key"
UNIQUE_INVITATION = (
    "survey_invitation_once_per_ticket|crm_surveyinvitation.ticket_id, crm_surveyinvitation.kind"
)


def invitation(c, **fields):
    return {"token": "bad-row", "kind": "csat", "expires_at": c.now, **fields}


def second_invitation_for_ticket(c):
    # The first is written inside the refused block, so the rollback takes it too.
    m.SurveyInvitation.objects.create(**invitation(c, ticket=c.ticket, token="first"))
    return invitation(c, ticket=c.ticket, token="second")


BAD_NEW_ROWS = [
    # Deals
    bad(
        "deal_amount_not_negative",
        m.Deal,
        lambda c: deal(c, amount=Decimal("-1")),
        id="negative deal amount",
    ),
    bad(
        "deal_exchange_rate_positive",
        m.Deal,
        lambda c: deal(c, exchange_rate=0),
        id="zero exchange rate",
    ),
    bad(
        "deal_closed_has_closed_time",
        m.Deal,
        lambda c: deal(c, stage=c.won, status=m.DealStatus.WON),
        id="won deal without closed_at",
    ),
    bad(
        "deal_closed_has_closed_time",
        m.Deal,
        lambda c: deal(c, stage=c.lost, status=m.DealStatus.LOST),
        id="lost deal without closed_at",
    ),
    bad(
        "deal_closed_has_closed_time",
        m.Deal,
        lambda c: deal(c, closed_at=c.now),
        id="open deal with closed_at",
    ),
    bad(
        "deal_lost_reason_only_when_lost",
        m.Deal,
        lambda c: deal(
            c, stage=c.won, status=m.DealStatus.WON, closed_at=c.now, lost_reason="Price"
        ),
        id="lost_reason on a won deal",
    ),
    bad(
        "crm_deal_stage_matches",
        m.Deal,
        lambda c: deal(c, status=m.DealStatus.WON, closed_at=c.now),
        id="won deal in an open stage",
        match=STAGE_TRIGGER,
    ),
    bad(
        "crm_deal_stage_matches",
        m.Deal,
        lambda c: deal(c, stage=c.won),
        id="open deal in a won stage",
        match=STAGE_TRIGGER,
    ),
    bad(
        "crm_deal_stage_matches",
        m.Deal,
        lambda c: deal(c, stage=c.other_open),
        id="stage from another pipeline",
        match=STAGE_TRIGGER,
    ),
    bad(
        "stage_change_moves",
        m.DealStageChange,
        lambda c: {"deal": c.deal, "from_stage": c.open, "to_stage": c.open},
        id="stage change to the same stage",
    ),
    # Leads
    bad("lead_score_0_100", m.Lead, lambda c: {"name": "Bad", "score": 101}, id="lead score 101"),
    bad(
        "lead_converted_has_time",
        m.Lead,
        lambda c: {"name": "Bad", "status": m.LeadStatus.CONVERTED},
        id="converted lead without converted_at",
    ),
    bad(
        "lead_qualified_after_created",
        m.Lead,
        lambda c: {"name": "Bad", "created_at": c.now, "qualified_at": c.now - timedelta(hours=1)},
        id="lead qualified before creation",
    ),
    # Pipelines and stages
    bad(
        "stage_probability_0_100",
        m.Stage,
        lambda c: {"pipeline": c.pipeline, "name": "Bad", "probability": 120},
        id="stage probability 120",
    ),
    bad(
        "stage_won_is_certain",
        m.Stage,
        lambda c: {"pipeline": c.pipeline, "name": "Bad", "probability": 90, "outcome": "won"},
        id="won stage below 100",
    ),
    bad(
        "stage_lost_is_zero",
        m.Stage,
        lambda c: {"pipeline": c.pipeline, "name": "Bad", "probability": 10, "outcome": "lost"},
        id="lost stage above 0",
    ),
    bad(
        "stage_name_unique_in_pipeline",
        m.Stage,
        lambda c: {"pipeline": c.pipeline, "name": c.open.name, "probability": 10},
        id="duplicate stage name in a pipeline",
        match=UNIQUE_STAGE_NAME,
    ),
    bad(
        "one_default_pipeline",
        m.Pipeline,
        lambda c: {"name": "Second", "is_default": True},
        id="a second default pipeline",
        match=UNIQUE_DEFAULT_PIPELINE,
    ),
    # Surveys: each kind has its own scale.
    *[
        bad(
            "survey_score_in_range_of_kind",
            m.SurveyAnswer,
            lambda c, kind=kind, score=score: {"kind": kind, "score": score},
            id=f"{kind} score {score}",
        )
        for kind, score in [
            ("nps", 11),
            ("nps", -1),
            ("csat", 0),
            ("csat", 6),
            ("ces", 0),
            ("ces", 8),
        ]
    ],
    # Subscriptions
    bad(
        "subscription_value_not_negative",
        m.Subscription,
        lambda c: subscription(c, monthly_value=Decimal("-1")),
        id="negative subscription value",
    ),
    bad(
        "subscription_ends_after_start",
        m.Subscription,
        lambda c: subscription(c, end_date=c.today - timedelta(days=1)),
        id="subscription ending before it starts",
    ),
    bad(
        "subscription_ends_after_start",
        m.Subscription,
        lambda c: subscription(c, end_date=c.today),
        id="subscription ending the day it starts",
    ),
    bad(
        "subscription_term_ends_after_start",
        m.Subscription,
        lambda c: subscription(c, term_end=c.today),
        id="subscription term ending the day it starts",
    ),
    bad(
        "subscription_cancelled_has_dates",
        m.Subscription,
        lambda c: subscription(c, status=m.SubscriptionStatus.CANCELLED),
        id="cancelled subscription without dates",
    ),
    bad(
        "subscription_cancelled_has_dates",
        m.Subscription,
        lambda c: subscription(c, status=m.SubscriptionStatus.CANCELLED, cancelled_at=c.now),
        id="cancelled subscription without end date",
    ),
    # Expenses
    bad(
        "expense_amount_not_negative",
        m.Expense,
        lambda c: {"spent_on": c.today, "amount": Decimal("-1"), "category": "ads"},
        id="negative expense",
    ),
    # Tasks
    bad(
        "task_done_has_completed_time",
        m.Task,
        lambda c: {"title": "Bad", "status": m.TaskStatus.DONE},
        id="done task without completed_at",
    ),
    bad(
        "task_done_has_completed_time",
        m.Task,
        lambda c: {"title": "Bad", "completed_at": c.now},
        id="open task with completed_at",
    ),
    # Tickets
    bad(
        "ticket_resolved_has_time",
        m.Ticket,
        lambda c: {"subject": "Bad", "status": m.TicketStatus.RESOLVED},
        id="resolved ticket without resolved_at",
    ),
    bad(
        "ticket_resolved_has_time",
        m.Ticket,
        lambda c: {"subject": "Bad", "status": m.TicketStatus.CLOSED},
        id="closed ticket without resolved_at",
    ),
    bad(
        "ticket_response_after_creation",
        m.Ticket,
        lambda c: {
            "subject": "Bad",
            "created_at": c.now,
            "first_response_at": c.now - timedelta(minutes=1),
        },
        id="first response before creation",
    ),
    bad(
        "ticket_resolution_after_creation",
        m.Ticket,
        lambda c: {
            "subject": "Bad",
            "status": m.TicketStatus.RESOLVED,
            "created_at": c.now,
            "resolved_at": c.now - timedelta(minutes=1),
        },
        id="resolution before creation",
    ),
    bad(
        "ticket_note_is_by_an_agent",
        m.TicketMessage,
        lambda c: {"ticket": c.ticket, "author_kind": "customer", "is_internal": True, "body": "x"},
        id="internal note by a customer",
    ),
    # Companies
    bad(
        "company_customer_has_customer_since",
        m.Company,
        lambda c: {"name": "Bad", "lifecycle": m.Lifecycle.CUSTOMER},
        id="customer company without customer_since",
    ),
    bad(
        "company_churned_has_dates",
        m.Company,
        lambda c: {"name": "Bad", "lifecycle": m.Lifecycle.CHURNED, "customer_since": c.now},
        id="churned company without churned_at",
    ),
    bad(
        "company_churned_has_dates",
        m.Company,
        lambda c: {"name": "Bad", "lifecycle": m.Lifecycle.CHURNED, "churned_at": c.now},
        id="churned company without customer_since",
    ),
    bad(
        "lead_response_after_created",
        m.Lead,
        lambda c: {
            "name": "Early",
            "created_at": c.now,
            "first_response_at": c.now - timedelta(hours=1),
        },
        id="lead answered before it was created",
    ),
    bad(
        "company_churn_after_becoming_customer",
        m.Company,
        lambda c: {
            "name": "Bad",
            "lifecycle": m.Lifecycle.CHURNED,
            "customer_since": c.now,
            "churned_at": c.now - timedelta(days=1),
        },
        id="company churned before it became a customer",
    ),
    bad(
        "subscription_expired_has_end",
        m.Subscription,
        lambda c: subscription(c, status=m.SubscriptionStatus.EXPIRED),
        id="expired subscription without an end date",
    ),
    bad(
        "survey_kind_known",
        m.SurveyAnswer,
        lambda c: {"kind": "xyz", "score": 3},
        id="survey of an unknown kind",
    ),
    bad(
        "survey_invitation_kind_known",
        m.SurveyInvitation,
        lambda c: invitation(c, kind="xyz"),
        id="survey invitation of an unknown kind",
    ),
    bad(
        "survey_invitation_answered_has_answer",
        m.SurveyInvitation,
        lambda c: invitation(c, answered_at=c.now),
        id="answered invitation without its answer",
    ),
    bad(
        "survey_invitation_once_per_ticket",
        m.SurveyInvitation,
        lambda c: second_invitation_for_ticket(c),
        id="two invitations of one kind for a ticket",
        match=UNIQUE_INVITATION,
    ),
    # Knowledge base
    bad(
        "article_published_has_time",
        m.Article,
        lambda c: {"title": "Reset", "slug": "reset", "body": "x", "status": "published"},
        id="published article without a publication time",
    ),
    # Activities
    bad(
        "activity_is_about_a_record",
        m.Activity,
        lambda c: {"kind": m.ActivityKind.CALL, "subject": "Orphan"},
        id="activity linked to no record",
    ),
    # Configuration
    bad(
        "custom_field_key_unique",
        m.CustomField,
        lambda c: {"record_type": "deal", "key": "region", "label": "Region", "field_type": "text"},
        id="duplicate custom field key per record type",
        match=UNIQUE_FIELD_KEY,
    ),
    bad(
        "notification_once_per_key",
        m.Notification,
        lambda c: already_notified(c, key="goal:1:50"),
        id="the same keyed notification twice",
        match="UNIQUE|unique|duplicate",
    ),
    bad(
        "dedupe_key_once",
        m.DedupeKey,
        lambda c: already_claimed(scope="contact-email", key="rosa@example.org"),
        id="the same email claimed twice",
        match="UNIQUE|unique|duplicate",
    ),
]

BAD_UPDATES = [
    bad(
        "deal_amount_not_negative",
        m.Deal,
        lambda c: (c.deal, {"amount": Decimal("-5")}),
        id="deal amount made negative",
    ),
    bad(
        "crm_deal_stage_matches",
        m.Deal,
        lambda c: (c.deal, {"status": m.DealStatus.WON, "closed_at": c.now}),
        id="deal marked won without moving stage",
        match=STAGE_TRIGGER,
    ),
    bad(
        "crm_deal_stage_matches",
        m.Deal,
        lambda c: (c.deal, {"stage": c.other_open}),
        id="deal moved to another pipeline's stage",
        match=STAGE_TRIGGER,
    ),
    bad(
        "task_not_its_own_parent",
        m.Task,
        lambda c: (c.task, {"parent": c.task}),
        id="task its own parent",
    ),
    bad(
        "crm_stage_keeps_its_deals",
        m.Stage,
        lambda c: (c.open, {"outcome": m.StageOutcome.LOST}),
        id="stage with open deals turned into a lost stage",
        match="deals in this stage would no longer match",
    ),
    bad(
        "crm_stage_keeps_its_deals",
        m.Stage,
        lambda c: (c.open, {"pipeline": c.other_open.pipeline}),
        id="stage with deals moved to another pipeline",
        match="deals in this stage would no longer match",
    ),
    bad(
        "sla_targets_positive",
        m.SLAPolicy,
        lambda c: (m.SLAPolicy.objects.get(priority="low"), {"first_response_hours": 0}),
        id="zero hours SLA",
    ),
    bad(
        "sla_targets_positive",
        m.SLAPolicy,
        lambda c: (m.SLAPolicy.objects.get(priority="low"), {"resolution_hours": -1}),
        id="negative hours SLA",
    ),
]


def table(model):
    return list(model.objects.order_by("pk").values())


@pytest.mark.parametrize(("constraint", "model", "fields", "match"), BAD_NEW_ROWS)
def test_database_refuses_bad_new_row(c, constraint, model, fields, match):
    before = table(model)

    with pytest.raises(IntegrityError, match=match), transaction.atomic():
        model.objects.create(**fields(c))

    assert table(model) == before


@pytest.mark.parametrize(("constraint", "model", "change", "match"), BAD_UPDATES)
def test_database_refuses_bad_update(c, constraint, model, change, match):
    row, fields = change(c)
    before = table(model)

    with pytest.raises(IntegrityError, match=match), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**fields)

    assert table(model) == before


def test_every_constraint_has_a_refused_row():
    declared = {
        constraint.name
        for model in apps.get_app_config("crm").get_models()
        for constraint in model._meta.constraints
        if isinstance(constraint, models.BaseConstraint)
    }
    tested = {param.values[0] for param in [*BAD_NEW_ROWS, *BAD_UPDATES]}

    assert declared - tested == set()


@pytest.mark.parametrize(
    ("kind", "score"),
    [("nps", 0), ("nps", 10), ("csat", 1), ("csat", 5), ("ces", 1), ("ces", 7)],
)
def test_survey_scores_on_the_scale_are_accepted(db, kind, score):
    answer = m.SurveyAnswer.objects.create(kind=kind, score=score)

    assert m.SurveyAnswer.objects.filter(pk=answer.pk, score=score).exists()


def test_the_same_custom_field_key_is_fine_on_another_record_type(c):
    m.CustomField.objects.create(
        record_type="company", key="region", label="Region", field_type="text"
    )

    assert m.CustomField.objects.filter(key="region").count() == 2


def test_consistent_closed_deals_are_accepted(c):
    won = m.Deal.objects.create(**deal(c, stage=c.won, status="won", closed_at=c.now))
    lost = m.Deal.objects.create(
        **deal(c, stage=c.lost, status="lost", closed_at=c.now, lost_reason="Price")
    )

    assert set(m.Deal.objects.exclude(status="open")) == {won, lost}
